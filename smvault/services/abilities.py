"""What the session's operator may do on one account, and everything the TUI's account
pane shows, read in one call on the vault thread.

The abilities come from the same rules the use cases enforce (services.policy): a screen
that offers an action the service would refuse, or hides one it would allow, is a bug.
Nothing here discloses a secret or writes to the log.
"""

from __future__ import annotations

from dataclasses import dataclass

from smvault.domain.errors import PolicyError
from smvault.domain.models import Account, Disclosure, Level, Person, level_allows
from smvault.services.accounts import AccountDetail, account_detail
from smvault.services.control import WhoCan, who_can
from smvault.services.grants import in_force_ids
from smvault.services.logs import search
from smvault.services.policy import levels_in_force, require_manage
from smvault.services.session import Session

HISTORY_LIMIT = 20


@dataclass(frozen=True)
class Abilities:
    """What the operator's grants in force allow on one account (not whether anything is
    stored: the caller checks the account's CredentialState for that)."""

    code: bool  # live TOTP/HOTP codes
    password: bool  # reveal or copy the password
    seed: bool  # reveal the TOTP seed
    qr: bool  # show the seed as a QR code
    recovery: bool  # hand out a recovery code
    manage: bool  # change secrets and grants (including the unmanaged-account bootstrap)

    @classmethod
    def none(cls) -> Abilities:
        return cls(False, False, False, False, False, False)


def _abilities(session: Session, account: Account, levels: list[Level] | None = None) -> Abilities:
    if levels is None:
        levels = levels_in_force(session, session.person, account)

    def allows(what: Disclosure) -> bool:
        return any(level_allows(level, what) for level in levels)

    try:
        # The very rule every write uses, so the unmanaged-account bootstrap is included.
        require_manage(session, account)
        manage = True
    except PolicyError:
        manage = False
    return Abilities(
        code=allows(Disclosure.CODE),
        password=allows(Disclosure.PASSWORD),
        seed=allows(Disclosure.TOTP_SEED),
        qr=allows(Disclosure.QR),
        recovery=allows(Disclosure.RECOVERY_CODES),
        manage=manage,
    )


def abilities(session: Session, ref: str) -> Abilities:
    """The session operator's abilities on the account PLATFORM:HANDLE (or id)."""
    return _abilities(session, account_detail(session, ref).account)


@dataclass(frozen=True)
class AccountView:
    """The account pane: detail, who can regain control, what the operator may do, the
    people it names, which grants are in force, the TOTP period and the recent log."""

    detail: AccountDetail
    who: WhoCan
    abilities: Abilities
    levels: tuple[Level, ...]  # the operator's levels in force on this account
    people: dict[int, Person]  # everyone the pane names: owner, controllers, grant holders
    in_force: frozenset[int]  # ids of the account's grants that work right now
    totp_period: int | None  # seconds per code (None: no seed, or HOTP)
    history: list[dict]  # this account's log entries, newest first

    @property
    def account(self) -> Account:
        return self.detail.account

    def name(self, person_id: int | None) -> str | None:
        person = self.people.get(person_id) if person_id is not None else None
        return person.name if person else None


def account_view(session: Session, ref: str, history: int = HISTORY_LIMIT) -> AccountView:
    """Everything the account pane shows, in one read (no log entry, no secret value)."""
    detail = account_detail(session, ref)
    account = detail.account
    who = who_can(session, account.key)
    a = account
    ids = {g.person_id for g in detail.grants} | set(who.people)
    ids |= {pid for pid in (a.owner_id, a.recovery_email_controller_id, a.recovery_phone_controller_id,
                            a.totp_holder_id) if pid is not None}
    people = session.vault.people.by_ids(ids)
    levels = levels_in_force(session, session.person, account)
    # The period comes from the metadata: the seed itself is never read to draw the pane.
    period = detail.credentials.totp_period if detail.credentials.totp_kind != "hotp" else None
    return AccountView(
        detail=detail,
        who=who,
        abilities=_abilities(session, account, levels),
        levels=tuple(levels),
        people=people,
        in_force=frozenset(in_force_ids(session, detail.grants)),
        totp_period=period,
        history=search(session, account_ref=str(account.id), limit=history) if history else [],
    )

