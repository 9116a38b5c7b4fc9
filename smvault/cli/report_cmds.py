"""report NAME: governance reports (access matrix, leavers, MFA coverage, rotation...)."""

from __future__ import annotations

from pathlib import Path

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_report
from smvault.cli.params import format_option, out_option
from smvault.domain.governance import REPORTS, check_report_name


_NAMES = "\n".join(f"  {name:<18} {description}" for name, description in REPORTS.items())


@click.command("report", help=f"""Run the governance report NAME: tables for audit, ending with a
log checkpoint (logged as report.run). Reports name people and their access, never a secret.

\b
{_NAMES}""")
@click.argument("name")
@format_option
@out_option
@pass_options
def report(opts: Options, name: str, fmt: str, out: Path | None) -> None:
    from smvault.services.reports import build_report

    check_report_name(name)  # before the passphrase is asked for
    emit_report(opts, lambda session: build_report(session, name), fmt, out)


COMMANDS = [report]
