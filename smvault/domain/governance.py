"""Governance reports: which reports there are, and the rules that turn vault facts into
their rows.

Pure: services.reports reads the vault (a few bulk queries) and hands plain values here.
The names and descriptions (REPORTS) live here so that the CLI can list them in its help
without loading the vault code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from smvault.domain.clock import parse_timestamp
from smvault.domain.control import MIN_CONTROLLERS
from smvault.domain.emergency import EmergencyState
from smvault.domain.errors import UsageError
from smvault.domain.models import PLATFORMS, MfaMethod, Person, PersonStatus, email_domain
from smvault.domain.risks import is_personal_email
from smvault.domain.workflow import WorkflowKind

# Dormancy: no logged activity on an account, or no logged use of a grant, for this long.
DORMANT_DAYS = 90
# An account "runs low" on recovery codes at this many unused ones or fewer.
LOW_RECOVERY_CODES = 2

# name -> what it lists, in the order menus show them.
REPORTS: dict[str, str] = {
    "access-matrix": "Every grant in force: person, account, level, who granted it, when, until when",
    "controllers": f"Accounts fewer than {MIN_CONTROLLERS} people could regain control of",
    "leavers": "People leaving or left who still hold grants or control an account",
    "mfa": "Two-factor coverage by platform and method; accounts with none or unknown",
    "rotation": "Passwords overdue for rotation by tier; accounts with no password stored",
    "recovery-channels": "Recovery emails on personal mailboxes; recovery email or phone held by a leaver; "
                         "no controller recorded",
    "dormant": f"Accounts dormant or untouched for {DORMANT_DAYS} days; grants unused for {DORMANT_DAYS} days",
    "workflows": "Open workflows: who opened them, when they are due, how far along they are",
    "recovery-codes": f"Accounts with {LOW_RECOVERY_CODES} or fewer unused recovery codes",
}


def check_report_name(name: str) -> str:
    """The name if it is a report's (UsageError listing every name otherwise)."""
    if name not in REPORTS:
        raise UsageError(f"unknown report {name!r}: expected one of {', '.join(REPORTS)}")
    return name


MFA_METHODS = tuple(m.value for m in MfaMethod)
# Methods that are a second factor; unknown and none are not.
SECOND_FACTORS = frozenset({MfaMethod.TOTP.value, MfaMethod.SMS.value, MfaMethod.SECURITY_KEY.value})


def person_status(leave_on: str | None, today: date) -> PersonStatus:
    """As Person.status, from a stored leave date (ISO text)."""
    if leave_on is None:
        return PersonStatus.ACTIVE
    return PersonStatus.LEFT if date.fromisoformat(leave_on) <= today else PersonStatus.LEAVING


def dormancy_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=DORMANT_DAYS)


# --- mfa ----------------------------------------------------------------------------------------


def mfa_coverage(accounts: Iterable[tuple[str, str]]) -> list[tuple[Any, ...]]:
    """(platform, method) pairs as one row per platform present, in PLATFORMS order:
    platform, a count per method (MFA_METHODS order), accounts with a second factor, total;
    then an "all platforms" row."""
    counts: dict[str, dict[str, int]] = {}
    for platform, method in accounts:
        row = counts.setdefault(platform, dict.fromkeys(MFA_METHODS, 0))
        row[method] = row.get(method, 0) + 1
    order = [p for p in PLATFORMS if p in counts] + sorted(set(counts) - set(PLATFORMS))
    rows = [_coverage_row(p, counts[p]) for p in order]
    total = {m: sum(counts[p].get(m, 0) for p in counts) for m in MFA_METHODS}
    return [*rows, _coverage_row("all platforms", total)]


def _coverage_row(label: str, by_method: Mapping[str, int]) -> tuple[Any, ...]:
    covered = sum(n for m, n in by_method.items() if m in SECOND_FACTORS)
    return (label, *(by_method.get(m, 0) for m in MFA_METHODS), covered, sum(by_method.values()))


# --- names and dates, as the dashboard words them -------------------------------------------------


def names_of(ids: Iterable[int], labels: Mapping[int, tuple[str, str]]) -> str:
    """The people's names, sorted, comma-separated; `labels`: id -> (name, email)."""
    return ", ".join(sorted(labels[i][0] if i in labels else f"person {i}" for i in ids))


def leave_phrase(leave_on: date, today: date) -> str:
    """'left on 2026-10-12' or 'leaves on 2026-11-05'."""
    verb = "left" if leave_on <= today else "leaves"
    return f"{verb} on {leave_on.isoformat()}"


# --- recovery channels -----------------------------------------------------------------------

NO_CONTROLLER = "no controller recorded"


def channel_problems(address: str | None, controller_id: int | None, *, email: bool,
                     leavers: Mapping[int, Person], today: date) -> list[str]:
    """Why a recovery channel (an email or a phone) is at risk, each reason worded to follow
    "it is": a personal mailbox, or a controller who is leaving or has left (`leavers`:
    everyone leaving or left, by id). Empty when it is not at risk. The dashboard's
    recovery-email risks are exactly the emails with a reason. A channel nobody is recorded
    as controlling is a gap in the records, not a risk by itself: see `no_controller`."""
    problems = []
    if email and is_personal_email(address):
        problems.append(f"a personal mailbox ({email_domain(address)})")
    if controller_id in leavers:
        leaver = leavers[controller_id]
        problems.append(f"controlled by {leaver.name}, who {leave_phrase(leaver.leave_on, today)}")
    return problems


def no_controller(address: str | None, controller_id: int | None) -> bool:
    """Whether the account has this recovery channel, and nobody is recorded as its controller."""
    return address is not None and controller_id is None


# --- workflows -----------------------------------------------------------------------------------

# The moment an open emergency request's state ends by itself: the wait, or the access window.
_EMERGENCY_DEADLINES = {EmergencyState.WAITING: "wait_until", EmergencyState.ACTIVE: "expires_at"}


def workflow_due(kind: str, state: str, data: Mapping[str, Any], now: datetime,
                 leave_on: date | None = None) -> tuple[str, bool]:
    """When an open workflow should be finished, as text ("" when it has no deadline), and
    whether that moment has passed: a review's due day; an offboarding's leave date (the
    leaver's current one, `leave_on`, else the one it started with: the leaver should be
    done with by then); emergency access: the end of the wait (while waiting), then of the
    access window (while active); a request waiting for an approval has none.
    Transfers and post-incident rotations have none."""
    if kind == WorkflowKind.OFFBOARDING and leave_on is not None:
        return leave_on.isoformat(), now.date() > leave_on
    if kind == WorkflowKind.REVIEW or kind == WorkflowKind.OFFBOARDING:
        day = data.get("due") if kind == WorkflowKind.REVIEW else data.get("leave_on")
        if not day:
            return "", False
        return day, now.date() > date.fromisoformat(day)
    if kind == WorkflowKind.EMERGENCY:
        # As domain.emergency.due reads them: a request keeps its old wait_until once it
        # needs an approval instead (REQUESTED), and that moment is then no deadline.
        field = _EMERGENCY_DEADLINES.get(state)
        moment = data.get(field) if field else None
        if not moment:
            return "", False
        return moment, now > parse_timestamp(moment)
    return "", False
