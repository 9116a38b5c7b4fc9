"""Roster sync: compare an HR export with the vault's people, and apply it all or nothing.

The plan (a dry run) reads the file and the vault once and logs nothing. Applying runs in
ONE outer transaction: every person change goes through its usual service (add_person,
update_person, mark_leaving, offboarding.start_offboarding), each nested as a savepoint
with its own log entry, so the log reads as if each change had been made by hand. Any
failure rolls every change back, log entries included.

People missing from the file are only listed unless `mark_missing` asks for them to leave
today; operators missing from it are never marked (domain.roster).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from smvault.domain import csvfile
from smvault.domain.errors import InvalidInputError
from smvault.domain.imports.model import MAX_FILE_BYTES
from smvault.domain.roster import (
    FIELDS,
    RosterPlan,
    RosterRow,
    diff_roster,
    parse_roster,
)
from smvault.domain.workflow import WorkflowKind
from smvault.services.input_files import read_capped
from smvault.services.session import Session

__all__ = ["RosterPlan", "RosterResult", "apply_roster_sync", "load_mapping", "plan_roster_sync"]


@dataclass(frozen=True)
class RosterResult:
    plan: RosterPlan  # what was applied
    added: int
    updated: int
    marked_leaving: int  # people given a (new) leave date, new hires with an end date included
    offboardings: tuple[str, ...]  # emails of the people whose offboarding was opened


def read_text(path: Path, what: str) -> str:
    """A CSV or mapping file's text (roster sync and reconciliation read their files so):
    UTF-8, at most MAX_FILE_BYTES; InvalidInputError naming the file otherwise."""
    data = read_capped(Path(path), MAX_FILE_BYTES, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InvalidInputError(
            f"{path}:{line}: not UTF-8 text (byte {exc.start}); export the file as CSV UTF-8"
        ) from None


def load_mapping(columns: Sequence[str] = (), mapping_file: Path | None = None, *,
                 fields: Sequence[str] = FIELDS, what: str = "roster") -> dict[str, str]:
    """field -> header from a mapping file's [columns] table, overridden by FIELD=HEADER flags.
    `fields` and `what` are another CSV reader's (the import inventory's, reconciliation's)."""
    mapping = {}
    if mapping_file:
        mapping = csvfile.parse_mapping_toml(read_text(mapping_file, "mapping file"), str(mapping_file), fields, what)
    mapping.update(csvfile.parse_column_flags(columns, fields, what))
    return mapping


def _rows(path: Path, mapping: dict[str, str] | None) -> list[RosterRow]:
    return parse_roster(read_text(path, "roster file"), str(path), mapping)  # it checks the mapping


def _diff(session: Session, rows: list[RosterRow], source: str, mark_missing: bool) -> RosterPlan:
    """One read of the people, the offboarded ids and the operators; the rest is in memory."""
    vault = session.vault
    return diff_roster(source, rows, vault.people.all(), session.now().date(),
                       vault.workflows.person_ids(WorkflowKind.OFFBOARDING),
                       operator_ids=vault.operators.person_ids(), mark_missing=mark_missing)


def plan_roster_sync(session: Session, path: Path, mapping: dict[str, str] | None = None,
                     mark_missing: bool = False) -> RosterPlan:
    """What `apply_roster_sync` would do; writes nothing. A bad file raises RosterFileError
    (an InvalidInputError) listing every bad row."""
    return _diff(session, _rows(path, mapping), str(path), mark_missing)


def apply_roster_sync(session: Session, path: Path, mapping: dict[str, str] | None = None,
                      mark_missing: bool = False) -> RosterResult:
    """Apply the plan in one transaction: add new people, update changed ones, give leavers
    their leave date and open their offboarding; with `mark_missing`, people missing from
    the file (operators aside) leave today the same way. A bad file, or any failure half
    way, changes nothing."""
    from smvault.services import offboarding  # written alongside; only apply needs it
    from smvault.services.people import add_person, mark_leaving, update_person

    rows = _rows(path, mapping)  # a bad file fails before the transaction opens
    opened = []
    marked = 0
    with session.atomic():
        plan = _diff(session, rows, str(path), mark_missing)  # inside: what is applied is what was compared
        for new in plan.new:
            row = new.row
            add_person(session, row.name, row.email, row.team, None, (row.type or "employee"))
            if new.leave_on is not None:
                mark_leaving(session, row.email, new.leave_on)
                marked += 1
        for change in plan.changed:
            update_person(session, change.person.email, **change.updates())
        for leaver in (*plan.leaving, *plan.marked_gone):
            if leaver.opens_offboarding:
                offboarding.start_offboarding(session, leaver.person.email, on=leaver.on)
                opened.append(leaver.person.email)
            else:
                mark_leaving(session, leaver.person.email, leaver.on)
            marked += 1
    return RosterResult(plan, len(plan.new), len(plan.changed), marked, tuple(opened))
