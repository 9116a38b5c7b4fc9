"""Grants: give, revoke, list."""

from __future__ import annotations

from datetime import datetime

from smvault.domain.clock import timestamp
from smvault.domain.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from smvault.domain.models import Grant, Level, Person, PersonStatus
from smvault.domain.workflow import WorkflowKind
from smvault.services.lookup import account_by_ref, person_by_email
from smvault.services.inputs import clean_text
from smvault.services.policy import require_manage
from smvault.services.session import Session


def parse_level(value: str) -> Level:
    try:
        return Level(value.strip().lower())
    except ValueError:
        options = ", ".join(level.value for level in Level)
        raise InvalidInputError(f"level must be one of {options}, got {value!r}") from None


def add_grant(
    session: Session,
    email: str,
    account_ref: str,
    level: str,
    expires_at: datetime | None = None,
    reason: str | None = None,
) -> Grant:
    person = person_by_email(session, email)
    account = account_by_ref(session, account_ref)
    lvl = parse_level(level)
    reason = clean_text(reason, "reason")
    if person.status(session.now().date()) is PersonStatus.LEFT:
        raise PolicyError(f"{person.email} has left: no new grants")
    if expires_at is not None and expires_at <= session.now():
        raise InvalidInputError("the expiry is in the past")
    with session.atomic():
        require_manage(session, account)
        if person.leave_on is not None:
            _refuse_if_offboarded(session, person)
        for existing in session.vault.grants.open_for(person.id, account.id):
            if existing.level is lvl:
                raise ConflictError(
                    f"{person.email} already holds {lvl.value} on {account.key} (grant {existing.id}); "
                    "revoke it first to change its expiry"
                )
        grant = session.vault.grants.add(
            person.id, account.id, lvl, session.operator.id, reason,
            timestamp(expires_at) if expires_at else None, session.ts(),
        )
        session.record(
            "grant.add", account=account.id, acct=account.key, person=person.id,
            detail={"grant": grant.id, "level": lvl.value, "email": person.email,
                    "expires": grant.expires_at and timestamp(grant.expires_at), "reason": reason},
        )
    return grant


def _refuse_if_offboarded(session: Session, person: Person) -> None:
    """Nobody whose offboarding is closed gets access again while they are still leaving
    (closing revoked everything they held; a new grant would undo it)."""
    latest = session.vault.workflows.find(WorkflowKind.OFFBOARDING, open_only=False, person_id=person.id)
    if latest and latest[0].closed:
        raise PolicyError(
            f"{person.email} has been offboarded (offboarding {latest[0].id} is closed): no new grants"
        )


def revoke_grants(session: Session, email: str, account_ref: str, level: str | None = None) -> list[Grant]:
    """Revoke the person's open grants on the account (all levels, or just `level`)."""
    person = person_by_email(session, email)
    account = account_by_ref(session, account_ref)
    lvl = parse_level(level) if level else None
    with session.atomic():
        require_manage(session, account)
        targets = [g for g in session.vault.grants.open_for(person.id, account.id) if lvl in (None, g.level)]
        if not targets:
            raise NotFoundError(f"{person.email} holds no open grant on {account.key}")
        for grant in targets:
            session.vault.grants.revoke(grant.id, session.operator.id, session.ts())
        session.record(
            "grant.revoke", account=account.id, acct=account.key, person=person.id,
            detail={"grants": [g.id for g in targets], "levels": [g.level.value for g in targets],
                    "email": person.email},
        )
    return targets


def list_grants(
    session: Session, email: str | None = None, account_ref: str | None = None, include_inactive: bool = False
) -> list[Grant]:
    grants_repo = session.vault.grants
    if email:
        grants = grants_repo.of_person(person_by_email(session, email).id, include_inactive)
    elif account_ref:
        grants = grants_repo.of_account(account_by_ref(session, account_ref).id, include_inactive)
    else:
        grants = grants_repo.all(include_inactive)
    if account_ref and email:
        account = account_by_ref(session, account_ref)
        grants = [g for g in grants if g.account_id == account.id]
    if not include_inactive:
        live = in_force_ids(session, grants)
        grants = [g for g in grants if g.id in live]
    return grants


def in_force_ids(session: Session, grants: list[Grant]) -> set[int]:
    """Ids of the grants that work right now: active (not revoked, not expired) and held by
    someone who has not left. Leavers are looked up once, however many grants."""
    left = session.vault.people.left_ids(session.now().date())
    now = session.now()
    return {g.id for g in grants if g.active(now) and g.person_id not in left}
