"""Text read from a file: its bytes as text or JSON (errors name the file and the line), the
titles that name items in messages, and the check every text value from JSON goes through."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from smvault.domain.imports.model import ImportFileError, ItemProblem
from smvault.domain.text import printable

MAX_TITLE_SHOWN = 60


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 (a leading BOM is dropped, as spreadsheets write one); an error names the line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ImportFileError(f"{source}:{line}: not UTF-8 text (byte {exc.start})") from None


def numbered_lines(data: bytes, source: str) -> Iterator[tuple[str, str]]:
    """("FILE:LINE", line) for each stripped line of a line format, blank lines and lines
    starting with '#' skipped."""
    # split on '\n' only, so line numbers agree with an editor's (str.splitlines also breaks on
    # form feeds and Unicode separators)
    for number, line in enumerate(decode_text(data, source).split("\n"), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield f"{source}:{number}", line


def load_json(data: bytes, source: str) -> Any:
    text = decode_text(data, source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{source}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    except RecursionError:
        raise ImportFileError(f"{source}: not valid JSON (nested too deeply)") from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise ImportFileError(f"{source}: not valid JSON (a number has too many digits)") from None


def is_unicode(text: str) -> bool:
    """False when `text` holds lone surrogates ("\\ud800" is valid JSON): no terminal can print
    them and no database stores them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_title(title: str) -> str:
    """An item's name as messages show it: no control characters, lone surrogates replaced,
    at most MAX_TITLE_SHOWN characters."""
    shown = printable(title).strip().encode("utf-8", "replace").decode("utf-8")
    if len(shown) > MAX_TITLE_SHOWN:
        shown = shown[:MAX_TITLE_SHOWN - 3] + "..."
    return shown


def titled(where: str, title: object) -> str:
    """`where` and the item's name when it has one: 'export.json: item 3 (Test 3)'."""
    shown = shown_title(title) if isinstance(title, str) else ""
    return f"{where} ({shown})" if shown else where


def check_text(value: object, field: str) -> str | None:
    """A text value from a JSON file as written (never stripped), None when absent or empty.
    Passwords, recovery codes and notes come through here: a value that is not text, or not
    valid Unicode, is an ItemProblem naming the field (never quoting the value). CSV, XML and
    protobuf text is decoded strictly, so it cannot hold lone surrogates."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ItemProblem(field, "must be text")
    if not is_unicode(value):
        raise ItemProblem(field, "is not valid Unicode text")
    return value
