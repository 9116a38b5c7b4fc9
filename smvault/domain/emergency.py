"""Emergency ("break-glass") access to one account: scoped, time-boxed, dual-controlled. Pure rules.

An operator whose grants do not allow an account's password asks for it with a reason and an
incident id. A second operator approves it (the approver rules of `domain.approval`), or,
where the account's tier has a waiting period, it activates by itself once the wait has
passed unvetoed:

    requested --approve--------------------------> active --expires_at--> lapsed
    waiting ---approve (early) / the wait passes--> active --end--------> ended
    waiting ---the wait no longer counts-----------> requested  (its policy changed, its setter could not approve)
    waiting | requested --veto (another operator)--> vetoed
    waiting | requested --end (the requester)------> ended      (also: an offboarding of theirs starts)
    active ---veto (another operator)--------------> vetoed     (stopped at once)
    active ---grant revoked by hand / its holder's clock set back--> ended   (the system ends it)

Active access is a real 'reveal' grant that expires at `expires_at`, so it stops working by
itself even when nothing sweeps. Closing access that was active (lapse, end, veto) opens the
post-incident rotation of whatever was disclosed under it. Every log entry of a request, and
every disclosure made under it, carries its `bg` marker (id and incident).

Waits and windows are timed with the local clock. The log's newest entries say what time the
vault has already seen (`clock_behind`, with `CLOCK_SLACK` for honest machines' clocks that
differ a little): while the local clock is behind that, nothing starts on this machine (no
request, approval or activation at the end of a wait), and the session operator's OWN active
access ends (it is used here, so a slow clock here would stretch it). Other people's access is
used, and timed, on their machines: a clock behind here never ends it. A window the log has
seen end lapses, whatever the local clock says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from smvault.domain.clock import timestamp
from smvault.domain.errors import ConflictError, InvalidInputError, PolicyError
from smvault.domain.models import AccountStatus
from smvault.domain.text import has_control_chars


class EmergencyState(StrEnum):
    WAITING = "waiting"  # the tier has a waiting period: activates when it ends unvetoed
    REQUESTED = "requested"  # needs a second operator's approval
    ACTIVE = "active"  # the grant is in force until expires_at
    VETOED = "vetoed"  # another operator stopped it (before or during the access)
    LAPSED = "lapsed"  # its time ran out
    ENDED = "ended"  # the requester ended it (or withdrew it before it started)


PENDING_STATES = frozenset({EmergencyState.WAITING, EmergencyState.REQUESTED})
OPEN_STATES = PENDING_STATES | {EmergencyState.ACTIVE}

DEFAULT_MINUTES = 60
MAX_MINUTES = 480
MAX_WAIT_MINUTES = 7 * 24 * 60
MAX_INCIDENT_LENGTH = 64
WAIT_KEY_PREFIX = "breakglass.wait.tier."


def check_minutes(minutes: int) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInputError(f"minutes must be a whole number from 1 to {MAX_MINUTES}, got {minutes!r}")
    return minutes


def check_incident(incident: str | None) -> str:
    """An incident id as the incident tracker spells it: no spaces or control characters."""
    text = (incident or "").strip()
    if not text:
        raise InvalidInputError("incident is required (the id of the incident this access is for)")
    if len(text) > MAX_INCIDENT_LENGTH:
        raise InvalidInputError(f"incident is longer than {MAX_INCIDENT_LENGTH} characters")
    if has_control_chars(text) or any(c.isspace() for c in text):
        raise InvalidInputError("incident must have no spaces or control characters")
    return text


def check_wait(minutes: int | None) -> int | None:
    """A tier's waiting period in minutes; None means no wait (a second operator approves)."""
    if minutes is None:
        return None
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_WAIT_MINUTES:
        raise InvalidInputError(
            f"a waiting period is 1 to {MAX_WAIT_MINUTES} minutes (or off), got {minutes!r}")
    return minutes


def wait_key(tier: int) -> str:
    return f"{WAIT_KEY_PREFIX}{tier}"


@dataclass(frozen=True)
class WaitSetting:
    """A tier's waiting period, and who set it (a standing approval by that operator)."""

    minutes: int
    set_by: int | None  # operator id
    set_at: str | None  # timestamp

    def encode(self) -> str:
        return json.dumps({"minutes": self.minutes, "set_by": self.set_by, "set_at": self.set_at}, sort_keys=True)


def wait_settings(stored: dict[str, str]) -> dict[int, WaitSetting]:
    """Tier -> its waiting period, from the stored settings (key -> JSON text). Tiers without
    one are absent; an unreadable value counts as no wait (approval needed: the safe side)."""
    found = {}
    for key, value in stored.items():
        tier = key.removeprefix(WAIT_KEY_PREFIX)
        if not key.startswith(WAIT_KEY_PREFIX) or not tier.isdigit():
            continue
        try:
            entry = json.loads(value)
            found[int(tier)] = WaitSetting(check_wait(entry["minutes"]), entry.get("set_by"), entry.get("set_at"))
        except (ValueError, TypeError, KeyError, InvalidInputError):
            continue
    return dict(sorted(found.items()))


def wait_changed(tier: int, minutes: int | None, set_by: int | None, current: WaitSetting | None) -> str | None:
    """Why the waiting period a request started under no longer stands (None: it does): a
    standing approval counts only as long as it stays what it was when the request was made."""
    if current is None:
        return f"the waiting period of tier {tier} was turned off during the wait"
    if (current.minutes, current.set_by) != (minutes, set_by):
        return f"the waiting period of tier {tier} changed during the wait (now {current.minutes} min)"
    return None


def require_may_request(*, person_active: bool, holds_password: bool, account_key: str,
                        account_status: AccountStatus) -> None:
    """Emergency access is for an operator who cannot get in otherwise, on a live account."""
    if not person_active:
        raise PolicyError("an operator who has left or is leaving cannot request emergency access")
    if holds_password:
        raise PolicyError(
            f"you already hold a grant on {account_key} that allows its password: "
            "emergency access is for an account you cannot open otherwise"
        )
    if account_status is AccountStatus.RETIRED:
        raise PolicyError(f"{account_key} is retired: no emergency access to a retired account")


def _minutes(left: timedelta) -> int:
    """Whole minutes, rounded up: '1 min left' until the very end."""
    return max(0, -(-int(left.total_seconds()) // 60))


def already_open(request_id: int, account_key: str, state: str, now: datetime,
                 wait_until: datetime | None, expires_at: datetime | None) -> ConflictError:
    """The refusal of a second request while the requester's first on the account is open."""
    if state == EmergencyState.ACTIVE and expires_at is not None:
        where = f"active, {_minutes(expires_at - now)} min left"
    elif state == EmergencyState.WAITING and wait_until is not None:
        where = f"waiting, activates in {_minutes(wait_until - now)} min unless vetoed"
    else:
        where = f"{state}, awaiting a second operator's approval"
    return ConflictError(
        f"you already have emergency request {request_id} on {account_key} ({where}): "
        f"end it first with 'smvault breakglass end {request_id}'"
    )


def require_requester_may_start(*, operator_removed: bool, person_active: bool, offboarded: int | None) -> None:
    """When access would start (approval, or the end of the wait), the requester must still be
    someone who could request it: an operator who was not removed, of a person neither
    offboarded (`offboarded`: the id of their closed offboarding) nor leaving."""
    if operator_removed:
        raise PolicyError("the operator who requested this emergency access has been removed: it cannot start")
    if offboarded is not None:
        raise PolicyError(
            f"the requester has been offboarded (offboarding {offboarded} is closed): "
            "this emergency access cannot start")
    if not person_active:
        raise PolicyError(
            "the requester has left or is leaving (a leave date is set): this emergency access cannot start")


def first_state(now: datetime, wait_minutes: int | None) -> tuple[EmergencyState, datetime | None]:
    """The state of a new request and, with a waiting period, when it ends."""
    if wait_minutes is None:
        return EmergencyState.REQUESTED, None
    return EmergencyState.WAITING, now + timedelta(minutes=wait_minutes)


def window(start: datetime, minutes: int) -> tuple[datetime, datetime]:
    """(starts_at, expires_at) of access that starts at `start`."""
    return start, start + timedelta(minutes=minutes)


def require_approvable(state: str) -> None:
    if state == EmergencyState.ACTIVE:
        raise ConflictError("this emergency access is already active")
    if state not in PENDING_STATES:
        raise ConflictError(f"this emergency access is {state}: only a waiting or requested one can be approved")


def require_vetoable(state: str, is_requester: bool) -> None:
    """Any operator but the requester (as operator or as person) may veto an open request."""
    if state not in OPEN_STATES:
        raise ConflictError(f"this emergency access is already {state}")
    if is_requester:
        raise PolicyError(
            "the operator who requested emergency access cannot veto it: they end it with "
            "'smvault breakglass end ID'"
        )


def require_endable(state: str, is_requester: bool) -> None:
    if state not in OPEN_STATES:
        raise ConflictError(f"this emergency access is already {state}")
    if not is_requester:
        raise PolicyError(
            "only the operator who requested emergency access can end it: another operator "
            "stops it with 'smvault breakglass veto ID --reason TEXT'"
        )


class Due(StrEnum):
    ACTIVATE = "activate"
    LAPSE = "lapse"
    END = "end"  # the system ends it: its grant was revoked by hand, or its holder's clock went back


# How far the local clock may trail the log's newest entries (written on other machines, whose
# clocks differ by a little: unsynchronised laptops drift by minutes) before time-boxed
# decisions stop trusting it. It bounds how far a clock set back can stretch a window.
CLOCK_SLACK = timedelta(minutes=5)


def clock_behind(now: datetime, log_now: datetime | None) -> bool:
    """Whether the local clock is behind what the log has already seen (set back, or far off):
    waits and time boxes are measured with it, so it must not run backwards."""
    return log_now is not None and now + CLOCK_SLACK < log_now


def clock_behind_note(now: datetime, log_now: datetime) -> str:
    return (f"this machine's clock ({timestamp(now)}) is behind the vault's log, whose newest entries "
            f"are dated up to {timestamp(log_now)}")


def clock_refusal(now: datetime, log_now: datetime) -> str:
    return f"{clock_behind_note(now, log_now)}: emergency access is timed with this clock, so set it right first"


def due(state: str, wait_until: datetime | None, expires_at: datetime | None, now: datetime, *,
        log_now: datetime | None = None, grant_revoked: bool = False, held_here: bool = False) -> Due | None:
    """What the clock says must happen to an open request now (None: nothing yet).

    `log_now` is the latest time the log has seen: a window the log has seen end lapses
    whatever the local clock says; while the local clock is behind the log, nothing
    activates, and active access `held_here` (the session operator's own: its grant is used
    on this machine, so this clock would stretch it) ends. Anyone else's is left alone: it
    is used, and timed, on their machine, and this clock says nothing about theirs.
    `grant_revoked`: the active access's grant was revoked by hand ('grant revoke')."""
    behind = clock_behind(now, log_now)
    if state == EmergencyState.WAITING and wait_until is not None and wait_until <= now and not behind:
        return Due.ACTIVATE
    if state == EmergencyState.ACTIVE:
        if expires_at is not None and (expires_at <= now or (log_now is not None and expires_at <= log_now)):
            return Due.LAPSE
        if grant_revoked or (behind and held_here):
            return Due.END
    return None


def time_left(state: str, expires_at: datetime | None, now: datetime) -> timedelta | None:
    """How long active access has left (zero once it is over); None unless active."""
    if state != EmergencyState.ACTIVE or expires_at is None:
        return None
    return max(expires_at - now, timedelta(0))


def bg_id(workflow_id: int) -> str:
    return f"emergency-{workflow_id}"


def marker(workflow_id: int, incident: str) -> dict[str, str]:
    """The `bg` field of every log entry about, or made under, emergency access."""
    return {"id": bg_id(workflow_id), "incident": incident}


def grant_reason(incident: str) -> str:
    return f"break-glass {incident}"
