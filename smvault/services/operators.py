"""Operators: the people who can unlock the vault, each with a keyring slot."""

from __future__ import annotations

from smvault.domain.errors import ConflictError, NotFoundError, PolicyError
from smvault.domain.models import Operator, PersonType, normalize_email
from smvault.services.inputs import clean_text
from smvault.services.session import Session, check_operator_name, check_passphrase, slot_profile
from smvault.store.vault import add_operator_slot, change_operator_passphrase, remove_operator_slot


def list_operators(session: Session) -> list[tuple[Operator, str]]:
    people = session.vault.people.by_ids(session.vault.operators.person_ids())
    return [(op, people[op.person_id].email) for op in session.vault.operators.active()]


def add_operator(
    session: Session, name: str, passphrase: bytes, email: str | None = None, person_name: str | None = None
) -> Operator:
    name = check_operator_name(name)
    check_passphrase(passphrase)
    vault = session.vault
    if name in vault.keyring.slots or vault.operators.by_name(name):
        raise ConflictError(f"operator {name!r} already exists")
    email = normalize_email(email) if email else f"{name.lower()}@operator.invalid"
    with session.atomic():
        person = vault.people.by_email(email)
        if person is None:
            person_name = clean_text(person_name, "name") or name
            person = vault.people.add(person_name, email, None, None, PersonType.EMPLOYEE, None, session.ts())
            # Naming the operator lets a recovery session record it (services.session).
            session.record("person.add", person=person.id, detail={"email": email, "operator": name})
        # A recovery session's operator id is None: added_by stays NULL, and the session's id
        # says who chose this passphrase (whoever held the shares: not the operator's own).
        bg = session.break_glass
        operator = vault.operators.add(name, person.id, session.ts(), added_by=session.operator.id,
                                       added_in_break_glass=bg.id if bg is not None else None)
        session.record("operator.add", person=person.id, detail={"operator": name})
        # The slot is written inside the transaction: if it fails, the record rolls back.
        add_operator_slot(vault, name, passphrase, slot_profile())
    return operator


def change_passphrase(session: Session, old: bytes, new: bytes) -> None:
    check_passphrase(new)
    with session.atomic():
        session.record("operator.passwd", detail={"operator": session.operator.name})
        session.vault.operators.passphrase_changed(session.operator.id, session.ts())
        change_operator_passphrase(session.vault, session.operator.name, old, new, slot_profile())


def remove_operator(session: Session, name: str) -> None:
    """Remove an operator, rekey the database and reseal the remaining slots."""
    vault = session.vault
    operator = vault.operators.by_name(name)
    if operator is None:
        raise NotFoundError(f"no operator {name!r}")
    if operator.id == session.operator.id:
        raise PolicyError("an operator cannot remove themselves: ask another operator")
    with session.atomic():
        vault.operators.remove(operator.id, session.ts())
        session.record("operator.remove", person=operator.person_id, detail={"operator": name})
    finish_removal(session, name)


def finish_removal(session: Session, name: str) -> None:
    """Rekey without `name`'s slot, then start a new log MAC key the removed operator never saw."""
    vault = session.vault
    if name in vault.keyring.slots:
        remove_operator_slot(vault, name)
    with session.atomic():
        epoch = vault.log.create_key_epoch(session.ts())
        session.record("log.key-rotated", detail={"epoch": epoch, "reason": f"operator {name} removed"})


def finish_interrupted_removals(session: Session) -> list[str]:
    """Slots whose operator the vault records as removed (a crash mid-removal): finish them."""
    active = {op.name for op in session.vault.operators.active()}
    stale = [name for name in session.vault.keyring.slots if name not in active]
    for name in stale:
        finish_removal(session, name)
    return stale
