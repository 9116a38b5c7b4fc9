"""Ownership transfer: moving an account to a new owner under dual control. Pure rules.

A transfer is requested by one operator, approved by a different one, worked through as a
checklist (platform steps from a template, then the steps every transfer shares), and closed
only when every step is resolved and every waiting period has passed:

    requested --approve--> approved --close--> closed
        \\______________________\\--cancel--> cancelled

Steps resolve in two ways. Manual steps (platform-side work) take a note as evidence. Auto
steps are resolved by a fact in the vault's log after the approval (a new password, a new
TOTP seed, the new seed shown as a QR code), compared by log sequence number, not by clock:
two entries in the same second still have an order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from smvault.domain import approval
from smvault.domain.errors import ConflictError, InvalidInputError
from smvault.domain.models import Account
from smvault.domain.offboarding import IMPORTED, PASSWORD, TOTP_SEED, secret_disclosed
from smvault.domain.workflow import Step, StepSpec


class TransferState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_STATES = frozenset({TransferState.REQUESTED, TransferState.APPROVED})

# The steps every transfer ends with.
ROTATE_PASSWORD = "rotate-password"
REENROL_TOTP = "reenrol-totp"
QR_ENROL = "qr-enrol"
UPDATE_ROOT = "update-root-of-control"
AUTO_KINDS = frozenset({ROTATE_PASSWORD, REENROL_TOTP, QR_ENROL, UPDATE_ROOT})


@dataclass(frozen=True)
class StepTemplate:
    kind: str
    title: str  # format fields: {new} (new owner), {old} (current owner), {account}
    wait_days: int = 0  # cannot be resolved until this many days after the step before it


def _t(kind: str, title: str, wait_days: int = 0) -> StepTemplate:
    return StepTemplate(kind, title, wait_days)


TEMPLATES: dict[str, tuple[StepTemplate, ...]] = {
    "meta": (
        _t("meta-add-admin", "In Meta Business Settings (business portfolio > People), add {new} "
           "as an admin with full control of {account}"),
        _t("meta-confirm-2fa", "Confirm {new} has two-factor authentication on their Facebook "
           "account (Meta requires it of admins)"),
        _t("meta-remove-old", "Remove {old}'s full control in Business Settings; keep at least two "
           "admins with full control, as Meta recommends"),
    ),
    "instagram": (
        _t("ig-in-portfolio", "Check {account} is a professional account connected to the "
           "company's Meta business portfolio"),
        _t("ig-assign-owner", "In the business portfolio, give {new} full control of {account} "
           "(ownership moves through the Meta portfolio, not the app)"),
        _t("ig-remove-old", "Remove {old}'s access to {account} in the business portfolio"),
        _t("ig-contact-email", "Change the account's contact email to an address {new}'s team "
           "controls"),
    ),
    "x": (
        _t("x-change-email", "Change {account}'s email to an address {new} controls, confirm it, "
           "and record it (`smvault account update {account} --login-id ...`)"),
        _t("x-change-phone", "Change {account}'s phone number to one {new} controls"),
        _t("x-end-sessions", "End every other session (Settings > Security > Apps and sessions) "
           "so {old} is signed out"),
    ),
    "linkedin": (
        _t("li-add-super-admin", "Add {new} as a super admin of the {account} page"),
        _t("li-remove-old", "Demote or remove {old} as super admin"),
    ),
    "youtube": (
        _t("yt-invite-owner", "In the brand account's permissions, invite {new} as an Owner; "
           "they accept the invitation"),
        _t("yt-make-primary", "The primary owner makes {new} primary owner (only the primary "
           "owner can; YouTube requires about 7 days as an Owner first)", wait_days=7),
        _t("yt-remove-old", "Remove {old} as owner of the brand account"),
    ),
    "tiktok": (
        _t("tt-assign-admin", "In TikTok Business Center, assign {new} as an admin of {account}"),
        _t("tt-transfer-ownership", "Transfer Business Center ownership to {new}"),
        _t("tt-remove-old", "Remove {old} from Business Center"),
    ),
    "generic": (
        _t("hand-over", "On the platform, give {new} the owner or admin role of {account} "
           "(or the login)"),
        _t("remove-old", "Remove {old}'s platform-side role or access"),
    ),
}

COMMON_STEPS: tuple[StepTemplate, ...] = (
    _t(ROTATE_PASSWORD, "Rotate the password after approval (`smvault secret set-password "
       "{account} --generate`): whatever {old} knew stops working"),
    _t(REENROL_TOTP, "Store a new TOTP seed after approval (`smvault secret set-totp {account}`); "
       "{new} enrols their authenticator from the vault seed via the QR modal or "
       "`smvault secret reveal {account} --field totp-seed`"),
    _t(QR_ENROL, "{new} enrols the new seed: the QR code shown in the vault (or a seed reveal) "
       "after the last seed was stored, and not to {old}; a note is accepted only when the "
       "account's MFA is not TOTP"),
    _t(UPDATE_ROOT, "Make {new} the owner in the vault and re-point the recovery email, recovery "
       "phone and TOTP device that {old} controlled (done by closing the transfer)"),
)

PLATFORM_TEMPLATES = {
    "facebook": "meta",
    "instagram": "instagram",
    "x": "x",
    "linkedin": "linkedin",
    "youtube": "youtube",
    "tiktok": "tiktok",
}


def template_for(platform: str, requested: str | None = None) -> str:
    """The template named, or the platform's own (generic when it has none)."""
    if requested is None:
        return PLATFORM_TEMPLATES.get(platform, "generic")
    name = requested.strip().lower()
    if name not in TEMPLATES:
        raise InvalidInputError(
            f"unknown transfer template {requested!r}: expected one of {', '.join(TEMPLATES)}"
        )
    return name


def step_templates(template: str) -> tuple[StepTemplate, ...]:
    return TEMPLATES[template] + COMMON_STEPS


def plan_steps(template: str, account_key: str, new_label: str, old_label: str | None) -> list[StepSpec]:
    """The steps of a new transfer; titles are written with the names at request time, so
    the checklist the approver approved is the checklist that is worked through."""
    names = {"new": new_label, "old": old_label or "the previous owner", "account": account_key}
    return [
        StepSpec(t.kind, data={"title": t.title.format(**names),
                               **({"wait_days": t.wait_days} if t.wait_days else {})})
        for t in step_templates(template)
    ]


def is_auto(kind: str) -> bool:
    return kind in AUTO_KINDS


# -- dual control ---------------------------------------------------------------------------


# The approver rules every dual-controlled request shares (domain.approval); `Approver` is
# re-exported here for the transfer's callers.
Approver = approval.Approver


def require_approvable(state: str, requester_id: int, requester_person_id: int, approver: Approver,
                       new_owner_id: int, opened_at: datetime) -> None:
    """A second pair of eyes (domain.approval), who is not the person receiving the account
    either, on a transfer that is still only requested."""
    if state == TransferState.APPROVED:
        raise ConflictError("this transfer is already approved")
    if state != TransferState.REQUESTED:
        raise ConflictError(f"this transfer is {state}: only a requested transfer can be approved")
    request = approval.Request(requester_id, requester_person_id, opened_at, "a transfer", "this transfer")
    approval.require_second_operator(request, approver, excluded=(
        new_owner_id, "the new owner cannot approve the transfer of an account to themself"))


# -- steps: waits, notes, facts -------------------------------------------------------------


def note_refusal(kind: str, mfa_is_totp: bool) -> str | None:
    """Why a note cannot resolve a step of this kind (None: a note is the evidence)."""
    if kind == UPDATE_ROOT:
        return "is done by closing the transfer (`smvault transfer close`)"
    if kind == ROTATE_PASSWORD:
        return ("resolves itself when a new password is stored after approval "
                "(`smvault secret set-password ACCOUNT --generate`)")
    if kind in (REENROL_TOTP, QR_ENROL) and mfa_is_totp:
        return ("resolves itself when a new TOTP seed is stored after approval and then shown "
                "as a QR code; a note is accepted only when the account's MFA is not TOTP")
    return None


@dataclass(frozen=True)
class Fact:
    """A log entry that resolves an auto step."""

    seq: int
    op: str
    ts: str
    evidence: str


def _fact(entry: Mapping[str, Any], what: str) -> Fact:
    op = entry.get("op", "?")
    return Fact(entry["seq"], op, entry.get("ts", ""), f"{what} (log entry {entry['seq']} by {op})")


# The secrets the auto steps are about, as offboarding names what a disclosure handed over
# (a reveal, a copy, a QR code, a handover packet, a TOTP export): one list of disclosures.
_STEP_SECRETS = {PASSWORD: "password", TOTP_SEED: "seed"}
# How an entry that showed the seed reads in the QR step's evidence.
_SEED_SHOWN = {"totp.qr": "QR code", "secret.reveal": "seed revealed", "handover.create": "handover packet",
               "totp.export": "TOTP export"}


def _shows(entry: Mapping[str, Any]) -> str | None:
    """"password" or "seed" when the entry disclosed that secret to someone, else None."""
    return _STEP_SECRETS.get(secret_disclosed(entry) or "")


def auto_facts(entries: Iterable[Mapping[str, Any]], approved_seq: int,
               previous_owner_id: int | None = None,
               previous_owner_operators: Collection[str] = ()) -> dict[str, Fact]:
    """Auto step kind -> the log entry after the approval that resolves it.

    `entries` are the account's log entries (any order). What counts is the secret in force:
    the LAST password and the LAST TOTP seed stored after the approval. The QR step needs that
    seed shown (QR code, seed reveal, handover packet or TOTP export) after it was stored:
    showing an older seed enrols nothing useful, so a newer seed reopens the step. A step stays
    open while the previous owner knows the secret in force: they stored it, or it was
    disclosed to them in any way, a packet or an export they wrote included (as its recipient
    `to`, or as the operator who handed it over, `by`). An imported value (`"via": "import"`)
    is never new: it may be one the previous owner knows. `previous_owner_operators` are the
    operator names that are the previous owner (matched against an entry's `op`).
    """
    ordered = sorted((e for e in entries if e["seq"] > approved_seq), key=lambda e: e["seq"])
    password = seed = shown = None
    for entry in ordered:
        action = entry.get("action")
        learned_by_old = previous_owner_id is not None and (
            previous_owner_id in (entry.get("to"), entry.get("by"))
            or entry.get("op") in previous_owner_operators)
        # Stored by the previous owner, or imported (maybe from a file they had): not new to them.
        stale = learned_by_old or (entry.get("detail") or {}).get("via") == IMPORTED
        if action == "secret.password.set":
            password = None if stale else entry
        elif action == "secret.totp.set":
            seed, shown = (None if stale else entry), None
        elif _shows(entry) == "password" and learned_by_old:
            password = None
        elif _shows(entry) == "seed" and seed is not None:
            if learned_by_old:
                seed = shown = None
            elif shown is None:
                shown = entry
    found: dict[str, Fact] = {}
    if password is not None:
        found[ROTATE_PASSWORD] = _fact(password, "new password stored")
    if seed is not None:
        found[REENROL_TOTP] = _fact(seed, "new TOTP seed stored")
    if shown is not None:
        how = _SEED_SHOWN.get(shown.get("action"), "seed shown")
        found[QR_ENROL] = _fact(shown, f"new seed shown for enrolment: {how}")
    return found


@dataclass(frozen=True)
class Wait:
    """A waiting period before a step may be resolved (YouTube: 7 days as an Owner first)."""

    days: int
    after: str  # what the count starts from: "approval" or "step N"
    until: date | None  # the first day the step may be resolved; None until `after` happened

    def over(self, today: date) -> bool:
        return self.until is not None and self.until <= today

    def describe(self) -> str:
        if self.until is not None:
            return f"not before {self.until.isoformat()}"
        if self.after == "approval":
            return f"after approval, then {self.days} days"
        return f"after {self.after} is done, then {self.days} days"

    def waits(self) -> str:
        """For a sentence about the step: "waits until DATE" or "waits: after step 1 ..."."""
        return f"waits until {self.until.isoformat()}" if self.until else f"waits: {self.describe()}"


def wait_for(steps: Sequence[Step], position: int, approved_at: datetime | None) -> Wait | None:
    """The waiting period of a step, None when it has none.

    Counted from when the step before it was resolved (from approval when it is the first
    step). Until that has happened there is no date to show, only what it waits for: a date
    computed from today would move every day.
    """
    index = next(i for i, s in enumerate(steps) if s.position == position)
    days = int(steps[index].data.get("wait_days", 0))
    if not days:
        return None
    if index > 0:
        before = steps[index - 1]
        after, start = f"step {before.position}", before.done_at if before.done else None
    else:
        after, start = "approval", approved_at
    return Wait(days, after, start.date() + timedelta(days=days) if start else None)


# -- closing --------------------------------------------------------------------------------

# Root-of-control fields that follow the owner: whatever the old owner controlled moves to the
# new owner. The backup owner stays (it is a separate choice) unless it is the new owner.
_FOLLOW_OWNER = ("recovery_email_controller_id", "recovery_phone_controller_id", "totp_holder_id")


def ownership_changes(account: Account, old_owner_id: int | None, new_owner_id: int) -> dict[str, tuple]:
    """Column -> (before, after) for the account fields a closed transfer changes."""
    changes: dict[str, tuple] = {}
    if account.owner_id != new_owner_id:
        changes["owner_id"] = (account.owner_id, new_owner_id)
    if account.backup_owner_id == new_owner_id:
        changes["backup_owner_id"] = (new_owner_id, None)
    if old_owner_id is not None:
        for column in _FOLLOW_OWNER:
            if getattr(account, column) == old_owner_id:
                changes[column] = (old_owner_id, new_owner_id)
    return changes


@dataclass(frozen=True)
class StepStatus:
    position: int
    kind: str
    done: bool
    wait: Wait | None = None


def blockers(state: str, steps: Iterable[StepStatus], today: date,
             extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Why the transfer cannot close now; empty means it can."""
    if state in (TransferState.CLOSED, TransferState.CANCELLED):
        return (f"the transfer is {state}",)
    found = []
    if state == TransferState.REQUESTED:
        found.append("not approved yet: a second operator must approve it")
    for step in steps:
        if step.done or step.kind == UPDATE_ROOT:
            continue
        if step.wait is not None and not step.wait.over(today):
            found.append(f"step {step.position} {step.wait.waits()}")
        else:
            found.append(f"step {step.position} ({step.kind}) is not done")
    found.extend(extra)
    return tuple(found)
