"""The dashboard: what the vault holds, and what needs attention first.

Read-only and unlogged: it reads metadata (who, which account, when), never a secret value.
A fixed handful of queries whatever the vault's size; nothing runs once per account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from smvault.domain.governance import channel_problems, leave_phrase, names_of
from smvault.domain.models import AccountStatus, MfaMethod, Person, PersonStatus
from smvault.domain.risks import rotation_days, rotation_due, rotation_overdue
from smvault.services.control import MIN_CONTROLLERS, under_controlled
from smvault.services.session import Session
from smvault.services.workflows import open_counts

RISK_KINDS = (
    "under-controlled",
    "owner-leaving",
    "recovery-email",
    "no-mfa",
    "rotation-overdue",
    "grant-expired",
)

RISK_TITLES = {
    "under-controlled": "Fewer than two people can regain control",
    "owner-leaving": "Owner is leaving or has left",
    "recovery-email": "Recovery email is personal or held by a leaver",
    "no-mfa": "No two-factor authentication",
    "rotation-overdue": "Password rotation overdue",
    "grant-expired": "Expired grants never revoked",
}


@dataclass(frozen=True)
class Risk:
    kind: str  # one of RISK_KINDS
    account_key: str | None  # "platform:handle" to navigate to, or None
    person_email: str | None  # person to navigate to, or None
    subject: str  # what the row names (account key or person name), plain text
    detail: str  # one short plain-text sentence: why it is a risk


@dataclass(frozen=True)
class Overview:
    # accounts (retired included), people, operators, grants_in_force (held by people who
    # have not left), leaving, left, passwords, totp_seeds, recovery_codes_unused, log_entries,
    # open_offboarding, open_transfer, open_review (workflows not yet closed)
    counts: dict[str, int]
    risks: dict[str, list[Risk]]  # every kind of RISK_KINDS, in that order; most severe first


class _Acct(NamedTuple):
    """The account fields the rules read, in the order the store returns them."""

    id: int
    platform: str
    handle: str
    tier: int
    status: str
    owner_id: int | None
    recovery_email: str | None
    recovery_email_controller_id: int | None
    mfa: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.handle}"


def overview(session: Session) -> Overview:
    """Counts and every risk, as of the session's clock. Logs nothing, reads no secret."""
    vault = session.vault
    now = session.now()
    today = now.date()
    now_ts = session.ts()

    rows = vault.accounts.column_rows(_Acct._fields[1:], ordered=False)  # each list sorts itself
    accounts = [a for a in map(_Acct._make, rows) if a.status != AccountStatus.RETIRED.value]
    by_id = {a.id: a for a in accounts}  # retired accounts are never risks: not in here
    leavers = {p.id: p for p in vault.people.with_leave_date()}  # leaving and left
    left_count = sum(1 for p in leavers.values() if p.status(today) is PersonStatus.LEFT)
    labels = vault.people.labels()  # (name, email) by id, for every person a row names
    expired = [g for g in vault.grants.expired_open(now_ts)  # (id, person, account, level, expiry)
               if g[2] in by_id and not _has_left(leavers.get(g[1]), today)]
    secrets = vault.secrets.counts()
    counts = {
        "accounts": len(rows),
        "people": len(labels),
        "operators": len(vault.operators.person_ids()),
        "grants_in_force": vault.grants.count_in_force(now_ts, today.isoformat()),
        "leaving": len(leavers) - left_count,
        "left": left_count,
        "passwords": secrets["passwords"],
        "totp_seeds": secrets["totp_seeds"],
        "recovery_codes_unused": secrets["recovery_codes_unused"],
        "log_entries": vault.log.count(),
        **{f"open_{kind}": n for kind, n in open_counts(session).items()},
    }
    risks = {
        "under-controlled": _under_controlled(under_controlled(session), labels),
        "owner-leaving": _owner_leaving(accounts, leavers, today),
        "recovery-email": _recovery_email(accounts, leavers, today),
        "no-mfa": _no_mfa(accounts),
        "rotation-overdue": _rotation_overdue(by_id, vault.secrets.password_rotations(), now),
        "grant-expired": _grant_expired(expired, by_id, labels),
    }
    return Overview(counts, risks)


def _has_left(person: Person | None, today: date) -> bool:
    return person is not None and person.status(today) is PersonStatus.LEFT


def _under_controlled(flagged, labels: dict[int, tuple[str, str]]) -> list[Risk]:
    rows = []
    for account, report in sorted(flagged, key=lambda f: (f[0].tier, f[1].controller_count, f[0].key)):
        count = report.controller_count
        if count == 0:
            detail = f"Nobody can regain control; at least {MIN_CONTROLLERS} people are needed"
        else:
            who = "person" if count == 1 else "people"
            detail = (f"Only {count} {who} can regain control ({names_of(report.controller_ids, labels)}); "
                      f"at least {MIN_CONTROLLERS} are needed")
        if report.excluded_left_ids:
            detail += f"; {names_of(report.excluded_left_ids, labels)} left and no longer count"
        rows.append(Risk("under-controlled", account.key, None, account.key, detail + "."))
    return rows


def _owner_leaving(accounts: list[_Acct], leavers: dict[int, Person], today: date) -> list[Risk]:
    found = [(a, leavers[a.owner_id]) for a in accounts if a.owner_id in leavers]
    found.sort(key=lambda f: (f[0].tier, not _has_left(f[1], today), f[1].leave_on, f[0].key))
    return [
        Risk("owner-leaving", a.key, owner.email, a.key,
             f"Its owner {owner.name} {leave_phrase(owner.leave_on, today)}.")
        for a, owner in found
    ]


def _recovery_email(accounts: list[_Acct], leavers: dict[int, Person], today: date) -> list[Risk]:
    # The rule of the recovery-channels report (domain.governance), so the two agree.
    found = []
    for a in accounts:
        reasons = channel_problems(a.recovery_email, a.recovery_email_controller_id, email=True,
                                   leavers=leavers, today=today)
        if reasons:
            found.append((a.tier, a.key, a.recovery_email, leavers.get(a.recovery_email_controller_id), reasons))
    found.sort(key=lambda f: f[:2])
    rows = []
    for _, key, address, leaver, reasons in found:
        address = f" {address}" if address else ""
        rows.append(Risk("recovery-email", key, leaver.email if leaver else None, key,
                         f"Its recovery email{address} is {' and is '.join(reasons)}."))
    return rows


def _no_mfa(accounts: list[_Acct]) -> list[Risk]:
    found = [a for a in accounts if a.mfa == MfaMethod.NONE.value]
    found.sort(key=lambda a: (a.tier, a.status != AccountStatus.ACTIVE.value, a.key))
    return [
        Risk("no-mfa", a.key, None, a.key,
             f"No second factor: the password alone logs in to this tier {a.tier} account.")
        for a in found
    ]


def _rotation_overdue(by_id: dict[int, _Acct], rotations: dict[int, datetime], now: datetime) -> list[Risk]:
    found = []
    for account_id, rotated_at in rotations.items():
        account = by_id.get(account_id)  # None: retired
        if account is not None and rotation_overdue(rotated_at, account.tier, now):
            found.append((account.tier, rotation_due(rotated_at, account.tier), account.key, rotated_at))
    found.sort()  # tier 0 first, then the longest overdue
    return [
        Risk("rotation-overdue", key, None, key,
             f"Password last set on {rotated_at.date().isoformat()}, due for rotation on "
             f"{due.date().isoformat()} (tier {tier}: every {rotation_days(tier)} days).")
        for tier, due, key, rotated_at in found
    ]


def _grant_expired(expired, by_id: dict[int, _Acct], labels: dict[int, tuple[str, str]]) -> list[Risk]:
    rows = []
    for _, person_id, account_id, level, expires_at in expired:  # newest expiry first
        key = by_id[account_id].key
        name, email = labels.get(person_id, (f"person {person_id}", None))
        rows.append(Risk(
            "grant-expired", key, email, key,
            f"{name}'s {level.value} grant expired on {expires_at.isoformat(' ', 'minutes')[:16]} UTC "
            "and was never revoked.",
        ))
    return rows
