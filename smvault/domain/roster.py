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

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from smvault.domain import csvfile
from smvault.domain.csvfile import CsvFileError
from smvault.domain.errors import InvalidInputError
from smvault.domain.inputs import text_problem
from smvault.domain.models import Person, PersonStatus, PersonType, normalize_email

FIELDS = ("email", "name", "team", "type", "status", "end_date")
REQUIRED = ("email", "name")
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


class RosterFileError(CsvFileError):
    """The file cannot be applied; `problems` lists every reason, one line each."""

    outcome = "nothing was applied"


LAYOUT = csvfile.Layout(FIELDS, REQUIRED, "roster", RosterFileError, refuse_empty=True)  # with --mark-missing, an empty file would mark everyone leaving


@dataclass(frozen=True)
class RosterRow:
    line: int  # physical line where the record starts (the header is line 1)
    email: str
    name: str
    team: str | None  # None: not given, leave the vault's value
    type: PersonType | None
    status: RosterStatus
    end_date: date | None


def _parse_row(record: csvfile.Record) -> RosterRow | None:
    cell, bad = record.cell, record.bad
    email = cell("email")
    if not email:
        bad("email", "missing")
    else:
        try:
            email = normalize_email(email)
        except InvalidInputError:
            bad("email", f"{csvfile.shown(email)} is not an email address")
    name = cell("name")
    if not name:
        bad("name", "missing")
    elif problem := text_problem(name):
        bad("name", problem)
    team = cell("team") or None
    if team and (problem := text_problem(team)):
        bad("team", problem)
    type_ = None
    if raw := cell("type"):
        try:
            type_ = PersonType(raw.lower())
        except ValueError:
            bad("type", f"{csvfile.shown(raw)} is not {', '.join(t.value for t in PersonType)}")
    status = RosterStatus.ACTIVE
    if raw := cell("status"):
        if raw.lower() in STATUS_WORDS:
            status = STATUS_WORDS[raw.lower()]
        else:
            bad("status", f"{csvfile.shown(raw)} is not one of {', '.join(STATUS_WORDS)}")
    end_date = None
    if raw := cell("end_date"):
        try:
            if not _DATE.match(raw):
                raise ValueError
            end_date = date.fromisoformat(raw)
        except ValueError:
            bad("end_date", f"{csvfile.shown(raw)} is not a date (YYYY-MM-DD)")
    elif status is RosterStatus.LEAVING:
        bad("end_date", "missing: status 'leaving' needs an end date")
    if record.failed:
        return None
    return RosterRow(record.line, email, name, team, type_, status, end_date)


def parse_roster(text: str, source: str, mapping: Mapping[str, str] | None = None) -> list[RosterRow]:
    """Every row of the CSV `text`, or RosterFileError listing every bad row.

    `source` names the file in messages. A byte-order mark and CRLF line ends are fine;
    blank lines (and rows of empty cells, as spreadsheets export) are skipped.
    """
    reader = csvfile.CsvReader(text, source, LAYOUT, mapping)
    rows: list[RosterRow] = []
    first_line: dict[str, int] = {}
    for record in reader:
        row = _parse_row(record)
        if row is None:
            continue
        if row.email in first_line:
            record.bad("email", f"{row.email} is listed twice (lines {first_line[row.email]} and {row.line})")
            continue
        first_line[row.email] = row.line
        rows.append(row)
    reader.finish(len(rows))
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
