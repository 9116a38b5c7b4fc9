"""Who may see or change what. Every refusal is a PolicyError (exit 5)."""

from __future__ import annotations

from smvault.domain.errors import PolicyError
from smvault.domain.models import Account, Disclosure, Level, Person, PersonStatus, level_allows
from smvault.services.session import BREAK_GLASS_REFUSAL, Session


def levels_in_force(session: Session, person: Person, account: Account) -> list[Level]:
    # A recovery session reads and reveals everything (its entries say so, and its lock opens
    # the rotation of what it saw); it changes nothing, so it holds no 'manage'.
    if session.break_glass is not None and person is session.person:
        return [Level.REVEAL]
    if person.status(session.now().date()) is PersonStatus.LEFT:
        return []
    return [Level(v) for v in session.vault.grants.in_force_for(person.id, account.id, session.ts())]


def may_disclose(session: Session, person: Person, account: Account, what: Disclosure) -> bool:
    return any(level_allows(level, what) for level in levels_in_force(session, person, account))


def require_disclosure(
    session: Session, account: Account, what: Disclosure, recipient: Person | None = None
) -> None:
    """The operator sees what they hand over, so both the operator and the recipient need it."""
    for person, role in ((session.person, "operator"), (recipient, "recipient")):
        if person is None:
            continue
        if not may_disclose(session, person, account, what):
            raise PolicyError(
                f"{role} {person.email} holds no grant on {account.key} that allows "
                f"{what.value} (grant level 'reveal' or 'manage' needed"
                + (", or 'code-only' for codes)" if what is Disclosure.CODE else ")")
            )


def require_manage(session: Session, account: Account) -> None:
    """Changing secrets or grants needs 'manage' on the account.

    An account that nobody manages (no 'manage' grant in force) can be taken in hand by any
    operator: otherwise a new account, or one whose only manager left, could never be fixed.
    A recovery session never may.
    """
    if session.break_glass is not None:
        raise PolicyError(BREAK_GLASS_REFUSAL)
    if Level.MANAGE in levels_in_force(session, session.person, account):
        return
    now = session.ts()
    managers = [
        pid
        for pid, level in session.vault.grants.in_force_pairs(account.id, now)
        if level == Level.MANAGE
    ]
    left = session.vault.people.left_ids(session.now().date())
    if any(pid not in left for pid in managers):
        raise PolicyError(
            f"operator {session.person.email} needs a 'manage' grant on {account.key} "
            "to change its secrets or grants"
        )
