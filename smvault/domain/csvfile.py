"""CSV exports with a header line, read under one set of rules (roster sync, inventory
reconciliation), so that a file refused by one is refused by the other for the same reason.

- Columns are found by header name, ignoring case, spaces, '_' and '-' ("End Date" is
  end_date); a mapping (field -> header) names other headers. A mapped or required header
  that is absent refuses the whole file at line 1, listing what the header has.
- A byte-order mark and CRLF line ends are fine; blank lines, and rows of empty cells as
  spreadsheets export them, are skipped; a row with more non-empty cells than the header
  is a problem. Cells are trimmed.
- Every problem reads FILE:LINE: field: problem, LINE being the physical line where the
  record starts (a quoted cell may span lines; the header is line 1). The reader collects
  them all, and `finish` raises them together as the caller's CsvFileError subclass.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from smvault.domain.errors import InvalidInputError, UsageError
from smvault.domain.text import printable


class CsvFileError(InvalidInputError):
    """The file cannot be used; `problems` lists every reason, one line each. Subclasses
    say what did not happen (`outcome`)."""

    outcome = "nothing was done"

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        self.summary = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {source}: {self.outcome}"
        super().__init__(f"{self.summary}: " + "; ".join(problems))


def shown(value: str) -> str:
    """A cell as messages quote it: control characters removed, long values cut."""
    value = printable(value)
    return repr(value if len(value) <= 60 else value[:57] + "...")


# --- mapping: field -> header ------------------------------------------------------------------
# `fields` and `what` name the reader's fields and its kind of file in messages
# ("unknown roster field 'x': expected one of email, name, ...").


def header_key(name: str) -> str:
    """How headers are compared: "End Date", "end_date" and "END-DATE" are the same column."""
    return " ".join(name.replace("_", " ").replace("-", " ").lower().split())


def field_name(value: str, fields: Sequence[str], what: str) -> str:
    name = value.strip().lower().replace("-", "_").replace(" ", "_")
    if name not in fields:
        raise UsageError(f"unknown {what} field {value!r}: expected one of {', '.join(fields)}")
    return name


def check_mapping(mapping: Mapping[str, str], fields: Sequence[str], what: str) -> dict[str, str]:
    """field -> header, fields checked, headers non-empty text."""
    clean = {}
    for field, header in mapping.items():
        if not isinstance(header, str) or not header.strip():
            raise UsageError(f"{what} field {field!r}: the header name must be non-empty text")
        clean[field_name(field, fields, what)] = header.strip()
    return clean


def parse_column_flags(values: Iterable[str], fields: Sequence[str], what: str) -> dict[str, str]:
    """`--column FIELD=HEADER` values as a mapping."""
    mapping = {}
    for value in values:
        field, sep, header = value.partition("=")
        if not sep:
            raise UsageError(f"--column {value!r}: give FIELD=HEADER, e.g. {fields[0]}=\"Column Name\"")
        mapping[field] = header
    return check_mapping(mapping, fields, what)


def parse_mapping_toml(text: str, source: str, fields: Sequence[str], what: str) -> dict[str, str]:
    """A mapping file: a `[columns]` table of field = "Header"."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{source}: not valid TOML ({exc})") from None
    columns = document.get("columns")
    if not isinstance(columns, dict):
        raise InvalidInputError(f'{source}: expected a [columns] table of field = "Header"')
    try:
        return check_mapping(columns, fields, what)
    except UsageError as exc:
        raise InvalidInputError(f"{source}: {exc.message}") from None


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """What a kind of file holds."""

    fields: tuple[str, ...]
    required: tuple[str, ...]
    what: str  # "roster", "inventory": names the fields in mapping errors
    error: type[CsvFileError]
    refuse_empty: bool = False  # whether a header with no row under it is refused ("FILE: no rows")


class Record:
    """One non-blank row: its cells by field, and where to report a problem with it."""

    def __init__(self, reader: CsvReader, line: int, cells: list[str]) -> None:
        self._reader = reader
        self.line = line
        self._cells = cells
        self.failed = False  # a problem was reported for this row

    def cell(self, field: str) -> str:
        """The field's trimmed cell; "" when the file has no such column or the row is short."""
        i = self._reader.columns.get(field)
        return self._cells[i].strip() if i is not None and i < len(self._cells) else ""

    def bad(self, field: str, problem: str) -> None:
        self.failed = True
        self._reader.problem(self.line, field, problem)


class CsvReader:
    """The records of CSV `text` (iterate once), then `finish()`. A bad header or mapping
    raises at once: `layout.error` for the header, UsageError for the mapping."""

    def __init__(self, text: str, source: str, layout: Layout, mapping: Mapping[str, str] | None = None) -> None:
        self.source = source
        self.layout = layout
        self.problems: list[str] = []
        mapping = check_mapping(mapping or {}, layout.fields, layout.what)
        self._reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
        try:
            header = next(self._reader, None)
        except csv.Error as exc:
            raise layout.error(source, [f"{source}:1: {exc}"]) from None
        if header is None or not any(h.strip() for h in header):
            raise layout.error(source, [f"{source}:1: expected a header line ({', '.join(layout.required)}, ...)"])
        self.header = header
        self.columns = self._columns(mapping)

    def _columns(self, mapping: Mapping[str, str]) -> dict[str, int]:
        """field -> column index; a mapped or required header that is absent is an error."""
        index: dict[str, int] = {}
        for i, name in enumerate(self.header):
            index.setdefault(header_key(name), i)  # the first of two same-named columns wins
        columns, missing = {}, []
        for field in self.layout.fields:
            wanted = mapping.get(field, field)
            if header_key(wanted) in index:
                columns[field] = index[header_key(wanted)]
            elif field in mapping or field in self.layout.required:
                missing.append(f"{self.source}:1: {field}: no column {shown(wanted)} in the header")
        if missing:
            found = ", ".join(shown(h.strip()) for h in self.header)
            raise self.layout.error(self.source, [*missing, f"{self.source}:1: the header has: {found}"])
        return columns

    def problem(self, line: int, field: str, problem: str) -> None:
        self.problems.append(f"{self.source}:{line}: {field}: {problem}")

    def __iter__(self) -> Iterator[Record]:
        width = len(self.header)
        last = self._reader.line_num
        while True:
            line = last + 1  # a quoted cell may span lines: report where the record starts
            try:
                cells = next(self._reader, None)
            except csv.Error as exc:  # a NUL byte, a runaway quoted cell: the rest cannot be trusted
                self.problems.append(f"{self.source}:{line}: {exc}")
                return
            if cells is None:
                return
            last = self._reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                self.problem(line, "row", f"{len(cells)} cells, but the header has {width}")
                continue
            yield Record(self, line, cells)

    def finish(self, rows: int) -> None:
        """Raise every problem found (`rows`: how many the caller kept), "FILE: no rows" too
        when the layout refuses an empty file."""
        if self.layout.refuse_empty and rows == 0 and not self.problems:
            self.problems.append(f"{self.source}: no rows")
        if self.problems:
            raise self.layout.error(self.source, self.problems)
