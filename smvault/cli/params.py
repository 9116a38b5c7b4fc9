"""Parsing option values into domain types, with errors that name the option."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from smvault.domain.clock import end_of_day, parse_timestamp
from smvault.domain.report import FORMATS as REPORT_FORMATS


class DateParam(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD)", param, ctx)


class ExpiryParam(click.ParamType):
    """A date (good through that day, UTC) or a full ISO timestamp."""

    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        try:
            if len(value) == 10:
                return end_of_day(date.fromisoformat(value))
            return parse_timestamp(value)
        except ValueError:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD) or timestamp", param, ctx)


DATE = DateParam()
EXPIRY = ExpiryParam()
# A request's or workflow's id (or a step's position): a positive number SQLite can hold; a
# larger one is a usage error (exit 2), not an OverflowError.
ID = click.IntRange(1, 2**63 - 1)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")

# A report's --format and --out (report, reconcile, offboard report, review report).
format_option = click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS), default="md", show_default=True,
                             help="Markdown, JSON, or CSV (formula-safe for spreadsheets).")
out_option = click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
                          help="Write to this file (created private, mode 0600) instead of stdout.")
