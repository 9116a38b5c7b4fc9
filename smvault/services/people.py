"""People: add, list, show, update, mark leaving."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from smvault.domain.errors import ConflictError, InvalidInputError
from smvault.domain.models import Grant, Person, PersonStatus, PersonType, normalize_email
from smvault.services.inputs import clean_text
from smvault.services.lookup import person_by_email
from smvault.services.session import Session

DISCLOSURE_ACTIONS = ("secret.reveal", "secret.copy", "totp.code", "totp.qr", "secret.recovery-code.use",
                      "handover.create", "totp.export")


def _person_type(value: str | PersonType) -> PersonType:
    try:
        return PersonType(value)
    except ValueError:
        raise InvalidInputError(
            f"type must be one of {', '.join(t.value for t in PersonType)}, got {value!r}"
        ) from None


def add_person(
    session: Session,
    name: str,
    email: str,
    team: str | None = None,
    region: str | None = None,
    type_: str = "employee",
    manager_email: str | None = None,
) -> Person:
    email = normalize_email(email)
    name = clean_text(name, "name", required=True)
    manager = person_by_email(session, manager_email) if manager_email else None
    with session.atomic():
        if session.vault.people.by_email(email):
            raise ConflictError(f"a person with email {email} already exists")
        person = session.vault.people.add(
            name, email, clean_text(team, "team"), clean_text(region, "region"), _person_type(type_),
            manager.id if manager else None, session.ts(),
        )
        session.record("person.add", person=person.id, detail={"email": email})
    return person


def list_people(session: Session) -> list[Person]:
    return session.vault.people.all()


def update_person(session: Session, who: str, /, **changes: object) -> Person:
    """Change the fields given (None = leave as is); `who` is the person's current email."""
    person = person_by_email(session, who)
    clean: dict[str, object] = {}
    for field, value in changes.items():
        if value is None:
            continue
        if field == "email":
            clean["email"] = normalize_email(str(value))
        elif field == "type":
            clean["type"] = _person_type(str(value))
        elif field == "manager":
            clean["manager_id"] = person_by_email(session, str(value)).id
        elif field in ("name", "team", "region"):
            clean[field] = clean_text(str(value), field, required=field == "name")
        else:
            raise InvalidInputError(f"unknown person field {field!r}")
    if not clean:
        raise InvalidInputError("nothing to update: give at least one field")
    with session.atomic():
        if "email" in clean and clean["email"] != person.email:
            if session.vault.people.by_email(clean["email"]):
                raise ConflictError(f"a person with email {clean['email']} already exists")
        updated = session.vault.people.update(person.id, clean)
        session.record(
            "person.update", person=person.id,
            detail={k: getattr(v, "value", v) for k, v in clean.items()},
        )
    return updated


def mark_leaving(session: Session, email: str, on: date) -> Person:
    person = person_by_email(session, email)
    with session.atomic():
        updated = session.vault.people.update(person.id, {"leave_on": on})
        session.record("person.leave", person=person.id, detail={"on": on.isoformat()})
    return updated


@dataclass(frozen=True)
class PersonDetail:
    person: Person
    grants: list[Grant]
    learned: list[dict]  # log entries disclosing something to this person, newest first


def person_detail(session: Session, email: str) -> PersonDetail:
    person = person_by_email(session, email)
    grants = session.vault.grants.of_person(person.id)
    learned = session.vault.log.entries(recipient_id=person.id, actions=DISCLOSURE_ACTIONS)
    return PersonDetail(person, grants, learned)


@dataclass(frozen=True)
class PersonRow:
    """One line of the people table: plain strings ("" for unset)."""

    id: int
    name: str
    email: str
    team: str
    type: str
    status: str  # active | leaving | left, as of the session's today
    leave_on: date | None
    grants_in_force: int  # active grants (not revoked, not expired); 0 once the person has left


def people_rows(session: Session) -> list[PersonRow]:
    """Everyone, ordered by name then email, with one grouped count of grants in force."""
    today = session.now().date()
    counts = session.vault.grants.in_force_counts_by_person(session.ts())
    rows = []
    for person in session.vault.people.all():
        status = person.status(today)
        rows.append(PersonRow(
            id=person.id,
            name=person.name,
            email=person.email,
            team=person.team or "",
            type=person.type.value,
            status=status.value,
            leave_on=person.leave_on,
            # As services.grants.in_force_ids: a leaver's grants stop working the day they leave.
            grants_in_force=0 if status is PersonStatus.LEFT else counts.get(person.id, 0),
        ))
    return rows
