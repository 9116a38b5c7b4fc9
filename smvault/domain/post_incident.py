"""After break-glass: make safe again whatever a break-glass session or emergency grant touched. Pure rules.

A break-glass session (a recovery unlock with a kit's shares, or the disclosures made under
one emergency grant) is known by its `bg.id`: every log entry it wrote carries it. Its
post-incident workflow is a checklist generated from those entries, one per incident id
(a second session for the same incident appends its steps to the open workflow):

* one **rotation** step per account and secret disclosed in the session: a password revealed
  or copied is rotated, a TOTP seed shown (revealed, or as a QR code) is re-enrolled,
  recovery codes revealed or handed out are regenerated. A live TOTP *code* gets no step: it
  expires within seconds and teaches nothing that outlives it (offboarding's rule too);
* for a recovery session, **issue a new emergency kit**: the shares used are now known to
  whoever typed them in;
* for each operator a recovery session added, **have them set their own passphrase, or
  remove them**: whoever held the shares chose the one they have;
* **review the log** of the session (its seq range), resolved with a note.

Steps resolve themselves like offboarding's (its helpers are reused): a rotation step once the
secret was replaced after its last disclosure in any session of the workflow, by log seq; the
kit step once the kit in force is none of the kits the workflow's recovery sessions opened
with; an added operator's step on their `operator.passwd`, or their removal, after they were
added. Derived on every read, persisted at close. Closing needs every step done, or an
override reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from smvault.domain.errors import InvalidInputError
from smvault.domain.offboarding import (
    PASSWORD,
    RECOVERY_CODES,
    SECRET_OF_STEP,
    STEP_FOR_SECRET,
    TOTP_SEED,
    OpenStep,
    Resolution,
    Seen,
    SinceOpened,
    check_close,
    logged_resolution,
    replacement,
    secret_disclosed,
)
from smvault.domain.workflow import Step, StepSpec

OPEN, CLOSED = "open", "closed"
RECOVERY, EMERGENCY = "recovery", "emergency"
ORIGINS = (RECOVERY, EMERGENCY)

NEW_KIT = "new-kit"
OPERATOR_ADDED = "added-operator"
REVIEW_LOG = "review-log"
ROTATION_KINDS = frozenset(STEP_FOR_SECRET.values())
# Only a note resolves these; the kit step is vault work a note cannot stand for.
MANUAL_KINDS = frozenset({REVIEW_LOG})

UNLOCK_ACTION = "breakglass.unlock"  # the first entry of a recovery session
KIT_ACTION = "kit.create"
OPERATOR_ADD_ACTION = "operator.add"
# What settles an added operator's step: their own passphrase, or their removal.
OPERATOR_SETTLING_ACTIONS = ("operator.passwd", "operator.remove")
RECOVERY_PREFIX = "recovery-"
EMERGENCY_PREFIX = "emergency-"


def origin_of(bg_id: str) -> str:
    if bg_id.startswith(RECOVERY_PREFIX):
        return RECOVERY
    if bg_id.startswith(EMERGENCY_PREFIX):
        return EMERGENCY
    raise InvalidInputError(f"not a break-glass session id: {bg_id!r}")


def short_id(bg_id: str) -> str:
    """`recovery-1a2b3c4d` for a recovery session (its uuid is long), the id itself otherwise."""
    return bg_id[:len(RECOVERY_PREFIX) + 8] if bg_id.startswith(RECOVERY_PREFIX) else bg_id


def session_label(bg_id: str) -> str:
    if bg_id.startswith(EMERGENCY_PREFIX):
        return f"emergency access {bg_id[len(EMERGENCY_PREFIX):]}"
    return f"break-glass session {short_id(bg_id)}"


# --- what one session did -------------------------------------------------------------------


@dataclass(frozen=True)
class SessionLog:
    """One break-glass session as its log entries show it."""

    bg_id: str
    origin: str
    first_seq: int
    last_seq: int
    unlock_seq: int | None  # recovery: its `breakglass.unlock` entry (the shares were used there)
    kit_id: str | None  # recovery: the kit whose shares opened it
    disclosed: dict[tuple[int, str], Seen]  # (account, secret) -> first and last disclosure seqs
    account_keys: dict[int, str]  # as the entries named them
    operators_added: dict[str, int] = field(default_factory=dict)  # name -> its operator.add seq

    @classmethod
    def from_entries(cls, bg_id: str, entries: Iterable[Mapping[str, Any]]) -> SessionLog | None:
        """None when no entry carries the id (an emergency grant nothing was shown under)."""
        entries = sorted(entries, key=lambda e: e["seq"])
        if not entries:
            return None
        disclosed: dict[tuple[int, str], Seen] = {}
        keys: dict[int, str] = {}
        added: dict[str, int] = {}
        unlock_seq = kit_id = None
        for entry in entries:
            if entry.get("action") == UNLOCK_ACTION:
                unlock_seq = entry["seq"]
                kit_id = (entry.get("detail") or {}).get("kit")
            if entry.get("action") == OPERATOR_ADD_ACTION:
                name = (entry.get("detail") or {}).get("operator")
                if isinstance(name, str):
                    added.setdefault(name, entry["seq"])
            secret, account_id = secret_disclosed(entry), entry.get("account")
            if secret is None or account_id is None:
                continue
            seen = disclosed.get((account_id, secret))
            disclosed[(account_id, secret)] = Seen(seen.first if seen else entry["seq"], entry["seq"])
            if entry.get("acct"):
                keys[account_id] = entry["acct"]
        return cls(bg_id, origin_of(bg_id), entries[0]["seq"], entries[-1]["seq"], unlock_seq, kit_id,
                   disclosed, keys, added)


def since_sessions(sessions: Iterable[SessionLog], replacements: Iterable[Mapping[str, Any]]) -> SinceOpened:
    """Offboarding's index of "learned" and "replaced", for the workflow's sessions: what any of
    them disclosed, and the latest replacement of each secret (from `replacements`, the
    secret-setting entries of the accounts concerned)."""
    since = SinceOpened.collect(replacements, lambda entry: False)
    learned: dict[tuple[int, str], Seen] = {}
    for item in sessions:
        for key, seen in item.disclosed.items():
            before = learned.get(key)
            learned[key] = Seen(min(seen.first, before.first), max(seen.last, before.last)) if before else seen
    return SinceOpened(since.sets, learned, None)


# --- the steps --------------------------------------------------------------------------------

_ROTATION_TITLES = {
    PASSWORD: "Rotate the password of {key}: it was shown during {label}",
    TOTP_SEED: "Re-enrol TOTP on {key}: its seed was shown during {label}",
    RECOVERY_CODES: "Regenerate the recovery codes of {key}: codes were handed out during {label}",
}
_SECRET_ORDER = {PASSWORD: 0, TOTP_SEED: 1, RECOVERY_CODES: 2}


def _rotation_covered(steps: Sequence[Step], account_id: int, secret: str, last_seen: int) -> bool:
    """An open step about the secret covers any disclosure (its resolution looks at the last
    one); a step resolved by a note covers only what was disclosed before the note."""
    kind = STEP_FOR_SECRET[secret].value
    for step in steps:
        if step.kind != kind or step.account_id != account_id:
            continue
        if not step.done:
            return True
        done_seq = step.data.get("done_seq")
        if done_seq is None or done_seq >= last_seen:
            return True
    return False


def new_steps(session: SessionLog, steps: Sequence[Step], account_keys: Mapping[int, str]) -> list[StepSpec]:
    """The steps `session` adds to a workflow that already has `steps` (none for a new one):
    rotations it needs that no step covers (secret order, then account key), the kit step for
    a recovery session when no open one exists, then a review of its log. `account_keys` are
    the accounts' current keys (the entries' own are the fallback)."""
    label = session_label(session.bg_id)
    rotations = []
    for (account_id, secret), seen in session.disclosed.items():
        if _rotation_covered(steps, account_id, secret, seen.last):
            continue
        key = account_keys.get(account_id) or session.account_keys.get(account_id) or f"account {account_id}"
        rotations.append(((_SECRET_ORDER[secret], key), StepSpec(STEP_FOR_SECRET[secret].value, account_id, data={
            "title": _ROTATION_TITLES[secret].format(key=key, label=label),
            "account": key, "bg_id": session.bg_id, "seq": seen.last,
        })))
    specs = [spec for _, spec in sorted(rotations, key=lambda pair: pair[0])]
    if session.origin == RECOVERY and not any(s.kind == NEW_KIT and not s.done for s in steps):
        kit = f"kit {session.kit_id[:8]}" if session.kit_id else "the current kit"
        specs.append(StepSpec(NEW_KIT, data={
            "title": f"Issue a new emergency kit ('smvault kit create'): the shares of {kit} "
                     f"were used during {label} and are now known",
            "bg_id": session.bg_id,
        }))
    known = {s.data.get("operator") for s in steps if s.kind == OPERATOR_ADDED}
    for name, seq in sorted(session.operators_added.items(), key=lambda item: item[1]):
        if name in known:
            continue
        specs.append(StepSpec(OPERATOR_ADDED, data={
            "title": f"Operator {name} was added during {label}: have them set their own passphrase "
                     f"('smvault operator passwd'), or remove them",
            "operator": name, "bg_id": session.bg_id, "seq": seq,
        }))
    specs += review_steps(session, steps)
    return specs


def review_title(session: SessionLog, first: int, last: int, rest: bool = False) -> str:
    what = "the rest of the log" if rest else "the log"
    return (f"Review {what} of {session_label(session.bg_id)} (log seq {first} to {last}): "
            "what was done, by whom, and why")


def review_steps(session: SessionLog, steps: Sequence[Step]) -> list[StepSpec]:
    """A review of the session's entries when no step covers them yet; a review resolved by a
    note before the session's last entry leaves the entries after it to a new step. (An open
    review step of the session is widened by `widened_review` instead.)"""
    mine = [s for s in steps if s.kind == REVIEW_LOG and s.data.get("bg_id") == session.bg_id]
    if any(not s.done for s in mine):
        return []
    reviewed = max((s.data.get("last_seq", 0) for s in mine), default=None)
    if reviewed is not None and reviewed >= session.last_seq:
        return []
    first = session.first_seq if reviewed is None else reviewed + 1
    return [StepSpec(REVIEW_LOG, data={
        "title": review_title(session, first, session.last_seq, rest=reviewed is not None),
        "bg_id": session.bg_id, "first_seq": first, "last_seq": session.last_seq,
    })]


def widened_review(session: SessionLog, step: Step) -> dict[str, Any] | None:
    """New data for an open review step of the session whose range ends before the session's
    last entry (a session that kept going after its workflow was opened); else None."""
    if step.done or step.kind != REVIEW_LOG or step.data.get("bg_id") != session.bg_id:
        return None
    if step.data.get("last_seq", 0) >= session.last_seq:
        return None
    first = step.data.get("first_seq", session.first_seq)
    rest = first > session.first_seq
    return {**step.data, "last_seq": session.last_seq,
            "title": review_title(session, first, session.last_seq, rest=rest)}


# --- resolution (derived, never written on read) ---------------------------------------------------


@dataclass(frozen=True)
class KitFacts:
    """What the kit step is resolved from."""

    current: str | None  # the id of the kit in force (the vault's record of its keyring)
    used: frozenset[str | None]  # the kits the workflow's recovery sessions opened with
    current_created: Mapping[str, Any] | None  # the `kit.create` entry of the kit in force
    created_after: Mapping[str, Any] | None  # the first `kit.create` after the last recovery unlock


def kit_resolution(kit: KitFacts) -> Resolution | None:
    """Done once the kit in force is none of the kits the sessions used: a `kit.create` entry
    alone is not enough (a kit whose rekey failed is logged by nobody, one whose entry was lost
    is logged at the next unlock), and the kit in force is the fact that matters. A session
    whose kit is unknown falls back on the first `kit.create` after its unlock."""
    known = {kit_id for kit_id in kit.used if kit_id and kit_id != "?"}
    if len(known) != len(kit.used):
        entry = kit.created_after
        if entry is None:
            return None
        kit_id = (entry.get("detail") or {}).get("kit_id")
        what = f"new emergency kit {kit_id} created" if kit_id else "new emergency kit created"
        return logged_resolution(what, entry)
    if kit.current is None or kit.current in known:
        return None
    if kit.current_created is not None:
        return logged_resolution(f"new emergency kit {kit.current} created", kit.current_created)
    return Resolution(f"emergency kit {kit.current} is in force; the session's kit is not")


def operator_resolution(name: str, settling: Sequence[Mapping[str, Any]]) -> Resolution | None:
    """An added operator's step: done by their first `operator.passwd`, or their removal, in
    `settling` (those entries after they were added, by log order)."""
    for entry in settling:
        action, detail = entry.get("action"), entry.get("detail") or {}
        if action == "operator.passwd" and entry.get("op") == name:
            return logged_resolution(f"{name} set their own passphrase", entry)
        if action == "operator.remove" and detail.get("operator") == name:
            return logged_resolution(f"operator {name} removed", entry)
    return None


def resolve(step: Step, since: SinceOpened, kit_created: Mapping[str, Any] | None, *,
            kit: KitFacts | None = None,
            settling: Sequence[Mapping[str, Any]] = ()) -> Resolution | None:
    """Whether an open step's fact holds now. `kit` says which kit is in force and which the
    sessions used (without it, `kit_created`, the first `kit.create` entry after the
    workflow's last recovery unlock, decides); `settling` are the `operator.passwd` and
    `operator.remove` entries after the workflow's first session began, oldest first."""
    if step.kind in ROTATION_KINDS and step.account_id is not None:
        return replacement(since, step.account_id, SECRET_OF_STEP[step.kind])
    if step.kind == NEW_KIT:
        facts = kit or KitFacts(None, frozenset({None}), None, kit_created)
        return kit_resolution(facts)
    if step.kind == OPERATOR_ADDED:
        name, added_seq = step.data.get("operator"), step.data.get("seq", 0)
        return operator_resolution(name, [e for e in settling if e["seq"] > added_seq])
    return None


def is_manual(kind: str) -> bool:
    return kind in MANUAL_KINDS


def note_refusal(kind: str) -> str | None:
    """Why a note cannot resolve a step of this kind (None: it can)."""
    if kind == NEW_KIT:
        return ("issuing a new emergency kit is vault work a note cannot stand for: run "
                "'smvault kit create' (the step then resolves itself)")
    if kind == OPERATOR_ADDED:
        return ("a note cannot stand for an operator's own passphrase: they run 'smvault operator "
                "passwd', or another operator removes them (the step then resolves itself)")
    return None


def require_closable(workflow_id: int, open_steps: Sequence[Step], override: str | None) -> None:
    """Offboarding's close rule without its guard: every step done, or an override reason."""
    check_close(f"post-incident {workflow_id}", (),
                [OpenStep(s.position, s.kind, s.data.get("account")) for s in open_steps], False, override)

