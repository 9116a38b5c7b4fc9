"""Printing results: aligned text for people, JSON for scripts. User text is made printable."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import Enum
from pathlib import Path

import click

from smvault.domain.clock import timestamp
from smvault.domain.errors import UsageError
from smvault.domain.text import printable


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


def _cannot_write(path: Path, exc: OSError) -> UsageError:
    return UsageError(f"cannot write the report to {path}: {exc.strerror or exc}")


def write_report(path: Path, make: Callable[[], str]) -> None:
    """Write the text `make()` returns to `path`: private (mode 0600), whole or not at all.

    Reports name people and their access, and making one is logged, so the order matters:
    a temporary file is created next to the target (exclusively, never through a symlink)
    BEFORE `make` runs, and an unwritable place fails with nothing logged. The text is
    written and synced there, then renamed over the target: an existing file is never
    truncated before the new one is complete, and a symlink at the target is replaced,
    not followed. On any failure the temporary file is removed."""
    temporary = path.parent / f".{path.name[:200]}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    finished = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            text = make()
            try:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as exc:
                raise _cannot_write(path, exc) from None
        try:
            os.replace(temporary, path)
        except OSError as exc:
            raise _cannot_write(path, exc) from None
        finished = True
    finally:
        if not finished:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    with contextlib.suppress(OSError):  # make the rename itself durable
        directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
