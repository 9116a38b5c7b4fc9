"""Roster sync: read an HR export (CSV text) and compare it with the people in the vault.

Pure: the caller reads the file and the vault; this module parses, validates every row
(reporting each bad one as FILE:LINE: field: problem, line 1 being the header) and works
out the plan: new people, changed people, people leaving, people missing from the file.

Rules worth knowing:
- Columns are found by header name, ignoring case, spaces, '_' and '-' ("End Date" is
  end_date); a mapping (field -> header) names other headers. Only email and name are
  required; a column that is absent, or a cell that is empty, leaves the vault's value alone.
- A sync never clears a leave date (the vault has no "un-leave"): a conflict is a note.
- Status words: active; leaving (needs an end date); terminated, inactive, left (ended:
  leaves on the end date, or today if none is given).
- People missing from the file are only listed, unless the caller asks to mark them
  (`mark_missing`: an export filtered by mistake must not offboard half the company).
  Operators are never marked by a sync: they are listed with a warning instead.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from smvault.domain.errors import InvalidInputError, UsageError
from smvault.domain.models import Person, PersonStatus, PersonType, normalize_email
from smvault.domain.text import has_control_chars, printable

FIELDS = ("email", "name", "team", "type", "status", "end_date")
REQUIRED = ("email", "name")
MAX_TEXT = 500  # as services.inputs.clean_text
# Addresses on the reserved .invalid domain are placeholders (an operator created without an
# email), not HR identities: missing from an HR file says nothing about them.
PLACEHOLDER_SUFFIX = ".invalid"


class RosterStatus(StrEnum):
    ACTIVE = "active"
    LEAVING = "leaving"
    ENDED = "ended"


STATUS_WORDS = {
    "active": RosterStatus.ACTIVE,
    "leaving": RosterStatus.LEAVING,
    "terminated": RosterStatus.ENDED,
    "inactive": RosterStatus.ENDED,
    "left": RosterStatus.ENDED,
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RosterFileError(InvalidInputError):
    """The file cannot be applied; `problems` lists every reason, one line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        self.summary = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {source}: nothing was applied"
        super().__init__(f"{self.summary}: " + "; ".join(problems))


def header_key(name: str) -> str:
    """How headers are compared: "End Date", "end_date" and "END-DATE" are the same column."""
    return " ".join(name.replace("_", " ").replace("-", " ").lower().split())


def field_name(value: str) -> str:
    name = value.strip().lower().replace("-", "_").replace(" ", "_")
    if name not in FIELDS:
        raise UsageError(f"unknown roster field {value!r}: expected one of {', '.join(FIELDS)}")
    return name


def check_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """field -> header, fields checked, headers non-empty text."""
    clean = {}
    for field, header in mapping.items():
        if not isinstance(header, str) or not header.strip():
            raise UsageError(f"roster field {field!r}: the header name must be non-empty text")
        clean[field_name(field)] = header.strip()
    return clean


def parse_column_flags(values: Iterable[str]) -> dict[str, str]:
    """`--column email="Work Email"` values (FIELD=HEADER) as a mapping."""
    mapping = {}
    for value in values:
        field, sep, header = value.partition("=")
        if not sep:
            raise UsageError(f"--column {value!r}: give FIELD=HEADER, e.g. email=\"Work Email\"")
        mapping[field] = header
    return check_mapping(mapping)


def parse_mapping_toml(text: str, source: str) -> dict[str, str]:
    """A mapping file: a `[columns]` table of field = "Header"."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{source}: not valid TOML ({exc})") from None
    columns = document.get("columns")
    if not isinstance(columns, dict):
        raise InvalidInputError(f'{source}: expected a [columns] table of field = "Header"')
    try:
        return check_mapping(columns)
    except UsageError as exc:
        raise InvalidInputError(f"{source}: {exc.message}") from None


@dataclass(frozen=True)
class RosterRow:
    line: int  # physical line where the record starts (the header is line 1)
    email: str
    name: str
    team: str | None  # None: not given, leave the vault's value
    type: PersonType | None
    status: RosterStatus
    end_date: date | None


def _columns(header: list[str], mapping: Mapping[str, str], source: str) -> dict[str, int]:
    """field -> column index; a mapped or required header that is absent is an error."""
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(header_key(name), i)  # the first of two same-named columns wins
    columns, missing = {}, []
    for field in FIELDS:
        wanted = mapping.get(field, field)
        if header_key(wanted) in index:
            columns[field] = index[header_key(wanted)]
        elif field in mapping or field in REQUIRED:
            missing.append(f"{source}:1: {field}: no column {wanted!r} in the header")
    if missing:
        found = ", ".join(repr(h.strip()) for h in header)
        raise RosterFileError(source, [*missing, f"{source}:1: the header has: {found}"])
    return columns


def _shown(value: str) -> str:
    value = printable(value)
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _text_problem(value: str) -> str | None:
    if has_control_chars(value):
        return "contains control characters"
    if len(value) > MAX_TEXT:
        return f"longer than {MAX_TEXT} characters"
    return None


def _parse_row(cells: list[str], columns: dict[str, int], line: int, source: str,
               problems: list[str]) -> RosterRow | None:
    def cell(field: str) -> str:
        i = columns.get(field)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    def bad(field: str, problem: str) -> None:
        problems.append(f"{source}:{line}: {field}: {problem}")

    before = len(problems)
    email = cell("email")
    if not email:
        bad("email", "missing")
    else:
        try:
            email = normalize_email(email)
        except InvalidInputError:
            bad("email", f"{_shown(email)} is not an email address")
    name = cell("name")
    if not name:
        bad("name", "missing")
    elif problem := _text_problem(name):
        bad("name", problem)
    team = cell("team") or None
    if team and (problem := _text_problem(team)):
        bad("team", problem)
    type_ = None
    if raw := cell("type"):
        try:
            type_ = PersonType(raw.lower())
        except ValueError:
            bad("type", f"{_shown(raw)} is not {', '.join(t.value for t in PersonType)}")
    status = RosterStatus.ACTIVE
    if raw := cell("status"):
        if raw.lower() in STATUS_WORDS:
            status = STATUS_WORDS[raw.lower()]
        else:
            bad("status", f"{_shown(raw)} is not one of {', '.join(STATUS_WORDS)}")
    end_date = None
    if raw := cell("end_date"):
        try:
            if not _DATE.match(raw):
                raise ValueError
            end_date = date.fromisoformat(raw)
        except ValueError:
            bad("end_date", f"{_shown(raw)} is not a date (YYYY-MM-DD)")
    elif status is RosterStatus.LEAVING:
        bad("end_date", "missing: status 'leaving' needs an end date")
    if len(problems) > before:
        return None
    return RosterRow(line, email, name, team, type_, status, end_date)


def parse_roster(text: str, source: str, mapping: Mapping[str, str] | None = None) -> list[RosterRow]:
    """Every row of the CSV `text`, or RosterFileError listing every bad row.

    `source` names the file in messages. A byte-order mark and CRLF line ends are fine;
    blank lines (and rows of empty cells, as spreadsheets export) are skipped.
    """
    mapping = check_mapping(mapping or {})
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise RosterFileError(source, [f"{source}:1: {exc}"]) from None
    if header is None or not any(h.strip() for h in header):
        raise RosterFileError(source, [f"{source}:1: expected a header line (email, name, ...)"])
    columns = _columns(header, mapping, source)
    rows: list[RosterRow] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    last = reader.line_num
    while True:
        line = last + 1  # a quoted cell may span lines: report where the record starts
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            problems.append(f"{source}:{line}: {exc}")
            break
        if cells is None:
            break
        last = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            problems.append(f"{source}:{line}: row: {len(cells)} cells, but the header has {len(header)}")
            continue
        row = _parse_row(cells, columns, line, source, problems)
        if row is None:
            continue
        if row.email in first_line:
            problems.append(f"{source}:{line}: email: {row.email} is listed twice "
                            f"(lines {first_line[row.email]} and {line})")
            continue
        first_line[row.email] = line
        rows.append(row)
    if problems:
        raise RosterFileError(source, problems)
    return rows


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewPerson:
    row: RosterRow
    leave_on: date | None  # an end date in the future: added, then marked leaving


@dataclass(frozen=True)
class Change:
    field: str  # name | team | type
    old: str | None
    new: str


@dataclass(frozen=True)
class ChangedPerson:
    person: Person
    line: int
    changes: tuple[Change, ...]

    def updates(self) -> dict[str, str]:
        return {c.field: c.new for c in self.changes}


@dataclass(frozen=True)
class Leaver:
    person: Person
    on: date  # the leave date to record
    why: str  # "end date" | "status terminated" | "not in the file"
    line: int | None  # None when gone from the file
    opens_offboarding: bool  # False when the person already has (or had) an offboarding


@dataclass(frozen=True)
class Note:
    """Something in the file the sync shows but does not apply."""

    line: int | None
    email: str
    text: str


@dataclass(frozen=True)
class RosterPlan:
    source: str
    rows: int
    new: tuple[NewPerson, ...]
    changed: tuple[ChangedPerson, ...]
    leaving: tuple[Leaver, ...]  # the file gives an end date or an ended status
    gone: tuple[Leaver, ...]  # in the vault, not left, missing from the file (operators aside)
    notes: tuple[Note, ...]
    unchanged: int
    mark_missing: bool = False  # whether `gone` leave today; otherwise they are only listed
    missing_operators: tuple[Person, ...] = ()  # missing from the file, never marked by a sync

    @property
    def marked_gone(self) -> tuple[Leaver, ...]:
        """The people missing from the file that applying marks leaving today."""
        return self.gone if self.mark_missing else ()

    @property
    def empty(self) -> bool:
        return not (self.new or self.changed or self.leaving or self.marked_gone)


def _leave_date(row: RosterRow, current: date | None, today: date) -> date | None:
    """When the file says the person leaves: the end date, or today for an ended status
    without one (keeping an earlier leave date that has already passed)."""
    if row.end_date is not None:
        return row.end_date
    if row.status is RosterStatus.ENDED:
        return current if current is not None and current <= today else today
    return None


def _changes(person: Person, row: RosterRow) -> tuple[Change, ...]:
    changes = []
    if row.name != person.name:
        changes.append(Change("name", person.name, row.name))
    if row.team is not None and row.team != person.team:
        changes.append(Change("team", person.team, row.team))
    if row.type is not None and row.type is not person.type:
        changes.append(Change("type", person.type.value, row.type.value))
    return tuple(changes)


def diff_roster(source: str, rows: list[RosterRow], people: Iterable[Person], today: date,
                offboarded: Collection[int] = frozenset(), operator_ids: Collection[int] = frozenset(),
                mark_missing: bool = False) -> RosterPlan:
    """What applying `rows` would change. `offboarded`: ids of people who have (or had) an
    offboarding; for them a new leave date is recorded without opening another.
    `operator_ids`: people who are operators, never marked leaving for a missing row (the
    one running the sync would lock themselves out). `mark_missing`: whether the people
    missing from the file are to leave today, or only be listed."""
    by_email = {p.email: p for p in people}
    new, changed, leaving, notes = [], [], [], []
    unchanged = 0
    for row in rows:
        person = by_email.get(row.email)
        if person is None:
            on = _leave_date(row, None, today)
            if on is not None and on <= today:
                notes.append(Note(row.line, row.email, f"not in the vault and already left ({on.isoformat()}): not added"))
            else:
                new.append(NewPerson(row, on))
            continue
        changes = _changes(person, row)
        if changes:
            changed.append(ChangedPerson(person, row.line, changes))
        on = _leave_date(row, person.leave_on, today)
        if on is not None and on != person.leave_on:
            why = "end date" if row.end_date is not None else f"status {row.status.value}"
            leaving.append(Leaver(person, on, why, row.line, person.id not in offboarded))
        elif on is None and person.leave_on is not None:
            notes.append(Note(row.line, row.email,
                              f"{person.status(today).value} ({person.leave_on.isoformat()}) in the vault, "
                              "active in the file: a sync does not clear a leave date"))
        elif not changes:
            unchanged += 1
    in_file = {row.email for row in rows}
    gone, operators = [], []
    for p in sorted(by_email.values(), key=lambda p: p.email):
        if p.email in in_file or p.status(today) is PersonStatus.LEFT or p.email.endswith(PLACEHOLDER_SUFFIX):
            continue
        if p.id in operator_ids:
            operators.append(p)
            continue
        gone.append(Leaver(p, today, "not in the file", None, p.id not in offboarded))
    return RosterPlan(source, len(rows), tuple(new), tuple(changed), tuple(leaving), tuple(gone),
                      tuple(notes), unchanged, mark_missing, tuple(operators))
