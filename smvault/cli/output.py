"""Printing results: aligned text for people, JSON for scripts. User text is made printable."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import click

from smvault.domain.clock import timestamp
from smvault.domain.text import printable

if TYPE_CHECKING:
    from smvault.domain.report import Report
    from smvault.services.session import Session


def plain(value: object) -> object:
    """A JSON-ready version of a value (dates as ISO text, enums as their value)."""
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


def emit_json(data: object) -> None:
    # ensure_ascii escapes every control character, so JSON output is terminal-safe too.
    click.echo(json.dumps(plain(data), indent=2, ensure_ascii=True, sort_keys=False))


def cell(value: object) -> str:
    value = plain(value)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return printable(str(value))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    if not rows:
        click.echo("(none)")


def fields(pairs: Sequence[tuple[str, object]]) -> None:
    width = max(len(k) for k, _ in pairs)
    for key, value in pairs:
        click.echo(f"{key.ljust(width)}  {cell(value)}")


def say(message: str) -> None:
    click.echo(printable(message, single_line=False))


def warn(message: str) -> None:
    click.echo(f"smvault: {printable(message, single_line=False)}", err=True)


def plural(count: int, word: str) -> str:
    """`count` and `word`, with an s unless there is exactly one: "1 account", "3 accounts"."""
    return f"{count} {word}" + ("" if count == 1 else "s")


def emit_report(opts, build: Callable[[Session], Report], fmt: str, out: Path | None) -> None:
    """Print the report `build(session)` makes, rendered as `fmt`, or write it to `out`:
    private, whole or not at all, replacing an existing file, committed only once the file is
    in place (services.private_files.write_logged says how). `out` is checked before the
    vault is opened: never inside the vault's directory, in a directory that exists."""
    if out is None:
        with opts.session() as session:
            text = build(session).render(fmt)
        click.echo(text, nl=False)
        return
    from smvault.services.private_files import check_target, write_logged

    check_target(out, opts.vault_dir, "report")
    with opts.session() as session:
        write_logged(session, out, lambda: build(session).render(fmt), "report")
    say(f"Wrote {out}.")
