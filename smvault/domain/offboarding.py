"""Offboarding a leaver: the plan, how its steps resolve themselves, and when it may close.

Pure rules over facts the services read in bulk:

* the **plan** is generated from the data (grants, the log's disclosures to the leaver, the
  secrets' dates, the accounts' root of control), never typed by hand, and fixed at start;
* a step **resolves itself** when the fact it is about has changed since the workflow opened
  (a rotation after the last disclosure, a re-pointed recovery email...). This is derived on
  every read from the log entries after the workflow's `opened_seq` and the current tables,
  never written on read; closing persists what was derived. Log order is compared by `seq`,
  never by timestamp: timestamps have one-second resolution and collide;
* a person **learned** a secret when a disclosure named them as its recipient (`to`) or as
  the operator who saw it on their own screen while handing it to someone else (`by`; entries
  older than that field name the operator only by name, `op`). What the leaver learns after
  the workflow opened becomes a step of its own when no step covers it yet;
* the **guard**: no account the leaver is involved in may be left with fewer than two people
  able to regain control (the who-can count, with the leaver counted as left), unless a
  successor is named; open steps need an explicit override reason.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from smvault.domain.clock import parse_timestamp
from smvault.domain.control import MIN_CONTROLLERS, VAULT_LEVELS, ControlFacts, controller_ids
from smvault.domain.errors import PolicyError
from smvault.domain.models import Account, AccountStatus, Grant, Level, Person, SecretDates
from smvault.domain.workflow import Step, StepSpec


class StepKind(StrEnum):
    """Step kinds, in plan order."""

    REVOKE_GRANTS = "revoke-grants"
    REMOVE_PLATFORM_ADMIN = "remove-platform-admin"
    ROTATE_PASSWORD = "rotate-password"
    REENROL_TOTP = "reenrol-totp"
    REGENERATE_RECOVERY_CODES = "regenerate-recovery-codes"
    REPOINT_RECOVERY_EMAIL = "repoint-recovery-email"
    REPOINT_RECOVERY_PHONE = "repoint-recovery-phone"
    TRANSFER_OWNERSHIP = "transfer-ownership"
    ISSUE_NEW_KIT = "issue-new-kit"


# Platform-side work the vault cannot observe: only a note (evidence) resolves it.
MANUAL_KINDS = frozenset({StepKind.REMOVE_PLATFORM_ADMIN})
# Advice that does not hold the close: one share of an emergency kit opens nothing alone.
ADVISORY_KINDS = frozenset({StepKind.ISSUE_NEW_KIT})

# Secrets the plan is about, and the log actions that disclose or replace them.
PASSWORD, TOTP_SEED, RECOVERY_CODES = "password", "totp-seed", "recovery-codes"
# A live code expires within seconds: handing one out teaches nothing that outlives it.
LIVE_CODE_ACTIONS = frozenset({"totp.code"})
SET_ACTIONS = {
    "secret.password.set": PASSWORD,
    "secret.totp.set": TOTP_SEED,
    "secret.recovery-codes.add": RECOVERY_CODES,
}
IMPORTED = "import"  # a set entry's `via` when the value came from an import: never a rotation
# The step that makes a secret someone learned worthless again.
STEP_FOR_SECRET = {
    PASSWORD: StepKind.ROTATE_PASSWORD,
    TOTP_SEED: StepKind.REENROL_TOTP,
    RECOVERY_CODES: StepKind.REGENERATE_RECOVERY_CODES,
}
SECRET_OF_STEP = {kind: secret for secret, kind in STEP_FOR_SECRET.items()}
REVOKE_ACTION = "offboard.revoke-grants"


def is_manual(kind: str) -> bool:
    return kind in MANUAL_KINDS


def is_advisory(kind: str) -> bool:
    return kind in ADVISORY_KINDS


# --- facts ---------------------------------------------------------------------------------


class Learned(NamedTuple):
    """One log entry that disclosed a secret to the leaver (as operator or recipient)."""

    seq: int
    at: datetime
    action: str
    account_id: int
    secret: str  # password | totp-seed | recovery-codes


def learned_by(entry: Mapping[str, Any], person_id: int, operator_names: Collection[str] = ()) -> bool:
    """Whether a disclosure entry taught the person its value: as the recipient (`to`), or as
    the operator who saw it on their own screen (`by`; older entries name them only by `op`)."""
    if entry.get("to") is None:
        return False
    return person_id in (entry["to"], entry.get("by")) or entry.get("op") in operator_names


def replaced_secret(entry: Mapping[str, Any]) -> str | None:
    """Which secret a log entry replaced. New recovery codes replace what was seen only when
    they retired the old ones: `secret add-recovery-codes --keep-old` leaves those valid. A
    value brought in by an import (`"via": "import"`) replaced nothing: it may come from an
    old export, the very value the leaver (or a break-glass session) saw."""
    secret = SET_ACTIONS.get(entry.get("action"))
    detail = entry.get("detail") or {}
    if detail.get("via") == IMPORTED or (secret == RECOVERY_CODES and not detail.get("retired")):
        return None
    return secret


def secret_disclosed(entry: Mapping[str, Any]) -> str | None:
    """Which secret a disclosure entry handed over; None for live codes (they expire)."""
    action, what = entry.get("action"), entry.get("field")
    # A handover packet logs one entry per secret it holds, named like a reveal's.
    if action in ("secret.reveal", "secret.copy", "handover.create") and what in (PASSWORD, TOTP_SEED, RECOVERY_CODES):
        return what
    if action in ("totp.qr", "totp.export"):
        return TOTP_SEED  # a QR code, or an exported URI, carries the seed
    if action == "secret.recovery-code.use":
        return RECOVERY_CODES
    return None


def latest_learned(rows: Iterable[tuple[int, str, str, int | None, str | None]]) -> list[Learned]:
    """The last disclosure (by seq) of each secret of each account, from (seq, ts, action,
    account, field) rows in any order: the plan needs no other, and a heavy user of the
    vault has thousands of disclosures."""
    last: dict[tuple[int, str], tuple] = {}
    for seq, ts, action, account_id, what in rows:
        secret = secret_disclosed({"action": action, "field": what})
        if secret is None or account_id is None:
            continue
        seen = last.get((account_id, secret))
        if seen is None or seq > seen[0]:
            last[(account_id, secret)] = (seq, ts, action)
    return [Learned(seq, parse_timestamp(ts), action, account_id, secret)
            for (account_id, secret), (seq, ts, action) in last.items()]


# --- the plan ------------------------------------------------------------------------------


def _ordered(steps: list[tuple[str, StepSpec]]) -> list[StepSpec]:
    return [spec for _, spec in sorted(steps, key=lambda pair: pair[0])]


class Replacement(NamedTuple):
    """What the log says of one secret of one account: the latest entry that replaced it
    (`replaced_secret`; seq 0 and `at` None when none did: every value came by import) and
    the latest imported set (0: none)."""

    seq: int
    at: datetime | None
    imported_seq: int = 0


def _could_have_revealed(grants: Iterable[Grant], since: datetime | None) -> list[int]:
    """Grants allowing a reveal that were in force at some moment since `since` (None: ever):
    not revoked before it and not expired before it (revoked the same second counts)."""
    return sorted(
        g.id for g in grants
        if g.level in VAULT_LEVELS
        and (since is None or g.revoked_at is None or g.revoked_at >= since)
        and (since is None or g.expires_at is None or g.expires_at > since)
    )


def _after_replacement(seen: Learned | None, replaced: Replacement | None, stored_at: datetime | None) -> bool:
    """Whether a disclosure came after the secret's last replacement (`stored_at` None:
    nothing stored, nothing to replace): by log seq when the log holds the secret's sets, else
    by time, where the same second counts as after."""
    if seen is None or stored_at is None:
        return False
    if replaced is not None:
        return seen.seq > replaced.seq
    return seen.at >= stored_at


def build_plan(
    person: Person,
    grants: Iterable[Grant],
    learned: Iterable[Learned],
    accounts: Mapping[int, Account],
    secrets: Mapping[int, SecretDates],
    replaced: Mapping[tuple[int, str], Replacement] | None = None,
) -> list[StepSpec]:
    """The leaver's checklist, in the fixed order of StepKind, accounts by key within a kind.

    `grants` are every grant the person ever held (revoked ones included), `learned` every
    disclosure of a secret to them, `accounts` every account those name plus every account
    where they hold a role, `secrets` the dates of those accounts' stored secrets, `replaced`
    what the log says of each (account, secret)'s sets. The stored dates alone would trust an
    import (it updates them) to have replaced a value it may have brought back.
    """
    replaced = replaced or {}
    pid, name = person.id, person.name
    grants = list(grants)
    by_account: dict[int, list[Grant]] = {}
    for g in grants:
        by_account.setdefault(g.account_id, []).append(g)
    last: dict[tuple[int, str], Learned] = {}
    for item in sorted(learned, key=lambda x: x.seq):
        last[(item.account_id, item.secret)] = item
    dates = lambda aid: secrets.get(aid, SecretDates())  # noqa: E731

    open_grants = [g for g in grants if g.revoked_at is None]
    plan = [StepSpec(StepKind.REVOKE_GRANTS.value, data={
        "title": f"Revoke every vault grant {name} holds ({len(open_grants)} open)",
        "grants": sorted(g.id for g in open_grants),
    })]

    admins = []
    for g in open_grants:
        if g.level is Level.PLATFORM_ADMIN and g.account_id in accounts:
            key = accounts[g.account_id].key
            admins.append((key, StepSpec(StepKind.REMOVE_PLATFORM_ADMIN.value, g.account_id, g.id, {
                "title": f"Remove {name}'s admin role on {key} (platform side)", "account": key,
            })))
    plan += _ordered(admins)

    did, could = [], []
    for aid, account in accounts.items():
        rotated = dates(aid).password_at
        if rotated is None:
            continue
        seen = last.get((aid, PASSWORD))
        replacement = replaced.get((aid, PASSWORD))
        if _after_replacement(seen, replacement, rotated):
            did.append((account.key, StepSpec(StepKind.ROTATE_PASSWORD.value, aid, data={
                "title": f"Rotate the password of {account.key}: {name} learned it since its last rotation",
                "account": account.key, "learned": "did", "seq": seen.seq,
            })))
            continue
        basis = _could_have_revealed(by_account.get(aid, ()), replacement.at if replacement else rotated)
        if basis:
            could.append((account.key, StepSpec(StepKind.ROTATE_PASSWORD.value, aid, data={
                "title": f"Rotate the password of {account.key}: {name}'s grant could reveal it",
                "account": account.key, "learned": "could", "grants": basis,
            })))
    plan += _ordered(did) + _ordered(could)

    totp, codes = [], []
    for aid, account in accounts.items():
        seed = last.get((aid, TOTP_SEED))
        saw_seed = _after_replacement(seed, replaced.get((aid, TOTP_SEED)), dates(aid).totp_at)
        holder = account.totp_holder_id == pid
        if saw_seed or holder:
            why = " and ".join(w for w, on in (("saw the seed", saw_seed), ("holds the TOTP device", holder)) if on)
            totp.append((account.key, StepSpec(StepKind.REENROL_TOTP.value, aid, data={
                "title": f"Re-enrol TOTP on {account.key}: {name} {why}", "account": account.key,
                "holder": holder, "seq": seed.seq if saw_seed else None,
            })))
        # Codes count while one that existed when they were seen is still unused and no new
        # set has retired them since.
        saw_codes = last.get((aid, RECOVERY_CODES))
        # Codes imported since the last replacement may be the very codes seen: their date
        # (the import's) proves nothing.
        oldest = dates(aid).oldest_unused_code_at
        codes_set = replaced.get((aid, RECOVERY_CODES), Replacement(0, None))
        if (saw_codes is not None and oldest is not None and saw_codes.seq > codes_set.seq
                and (oldest <= saw_codes.at or codes_set.imported_seq > codes_set.seq)):
            codes.append((account.key, StepSpec(StepKind.REGENERATE_RECOVERY_CODES.value, aid, data={
                "title": f"Regenerate the recovery codes of {account.key}: {name} saw codes still valid",
                "account": account.key, "seq": saw_codes.seq,
            })))
    plan += _ordered(totp) + _ordered(codes)

    emails, phones, owned = [], [], []
    for aid, account in accounts.items():
        key = account.key
        if account.recovery_email_controller_id == pid:
            emails.append((key, StepSpec(StepKind.REPOINT_RECOVERY_EMAIL.value, aid, data={
                "title": f"Re-point the recovery email of {key} away from {name}", "account": key})))
        if account.recovery_phone_controller_id == pid:
            phones.append((key, StepSpec(StepKind.REPOINT_RECOVERY_PHONE.value, aid, data={
                "title": f"Re-point the recovery phone of {key} away from {name}", "account": key})))
        roles = [r for r, on in (("owner", account.owner_id == pid),
                                 ("backup owner", account.backup_owner_id == pid)) if on]
        if roles:
            role = " and ".join(roles)
            owned.append((key, StepSpec(StepKind.TRANSFER_OWNERSHIP.value, aid, data={
                "title": f"Move ownership of {key} ({name} is {role}): "
                         f"smvault transfer start {key} --to EMAIL",
                "account": key, "role": role,
            })))
    return plan + _ordered(emails) + _ordered(phones) + _ordered(owned)


def kit_step(person: Person, kit_id: str, custodians: Sequence[str]) -> StepSpec | None:
    """An advisory step when the leaver is a custodian of the current emergency kit
    (`custodians`: emails in share order): their share stays valid until a new kit replaces it."""
    share = _share_of(person.email, custodians)
    if share is None:
        return None
    return StepSpec(StepKind.ISSUE_NEW_KIT.value, data={
        "title": f"{person.name} holds share {share} of emergency kit {kit_id}: "
                 "issue a new kit (smvault kit create)",
        "kit": kit_id, "share": share,
    })


def _share_of(email: str, custodians: Sequence[str]) -> int | None:
    wanted = email.casefold()
    return next((i for i, custodian in enumerate(custodians, 1) if custodian.casefold() == wanted), None)


# --- resolution (derived, never written on read) -----------------------------------------------


class Resolution(NamedTuple):
    evidence: str
    by: str | None = None  # operator name, when a log entry says who
    at: str | None = None  # timestamp text of that entry
    seq: int | None = None


class Seen(NamedTuple):
    """When the leaver learned one secret since the workflow opened (log seqs)."""

    first: int
    last: int


@dataclass(frozen=True)
class SinceOpened:
    """What the log says happened after the workflow opened, indexed for the step rules."""

    sets: dict[tuple[int, str], Mapping[str, Any]] = field(default_factory=dict)  # latest replacement
    learned: dict[tuple[int, str], Seen] = field(default_factory=dict)  # disclosures the leaver learned
    revoked: Mapping[str, Any] | None = None  # latest revoke-grants entry for the leaver

    @classmethod
    def from_entries(cls, person_id: int, entries: Iterable[Mapping[str, Any]],
                     operator_names: Collection[str] = ()) -> SinceOpened:
        """`entries` are the log entries after `opened_seq` with the relevant actions;
        `operator_names` the leaver's operator names, for disclosures older than `by`."""
        return cls.collect(entries, lambda entry: learned_by(entry, person_id, operator_names),
                           revoked_for=person_id)

    @classmethod
    def collect(cls, entries: Iterable[Mapping[str, Any]], learned_from: Callable[[Mapping[str, Any]], bool],
                revoked_for: int | None = None) -> SinceOpened:
        """The replacements in `entries`, and the disclosures `learned_from` says count (a
        leaver's, or a break-glass session's: `domain.post_incident`)."""
        sets: dict[tuple[int, str], Mapping[str, Any]] = {}
        learned: dict[tuple[int, str], Seen] = {}
        revoked = None
        for entry in sorted(entries, key=lambda e: e["seq"]):
            action, account_id = entry.get("action"), entry.get("account")
            if action in SET_ACTIONS:
                secret = replaced_secret(entry)
                if secret is not None and account_id is not None:
                    sets[(account_id, secret)] = entry
            elif action == REVOKE_ACTION and revoked_for is not None and entry.get("person") == revoked_for:
                revoked = entry
            elif learned_from(entry):
                secret = secret_disclosed(entry)
                if secret is not None and account_id is not None:
                    seen = learned.get((account_id, secret))
                    learned[(account_id, secret)] = Seen(seen.first if seen else entry["seq"], entry["seq"])
        return cls(sets, learned, revoked)

    def last_learned(self, account_id: int, secret: str) -> int:
        seen = self.learned.get((account_id, secret))
        return seen.last if seen else 0

    def replaced_after_learning(self, account_id: int, secret: str) -> Mapping[str, Any] | None:
        """The latest replacement of the secret, if it came after the leaver last learned it."""
        entry = self.sets.get((account_id, secret))
        if entry is None or entry["seq"] <= self.last_learned(account_id, secret):
            return None
        return entry


_AFTER_START_TITLES = {
    PASSWORD: "Rotate the password of {key}: {name} learned it after the offboarding started",
    TOTP_SEED: "Re-enrol TOTP on {key}: {name} saw the seed after the offboarding started",
    RECOVERY_CODES: "Regenerate the recovery codes of {key}: {name} saw codes after the offboarding started",
}


def learned_after_start(person: Person, steps: Iterable[Step], since: SinceOpened,
                        accounts: Mapping[int, Account]) -> list[StepSpec]:
    """Steps for secrets the leaver learned after the workflow opened that no step covers, in
    the order first learned: appended after the existing steps, so no position ever moves.

    A step covers a secret while it is open, or when a note resolved it after the leaver last
    learned the secret (`done_seq`, the seq of the note's entry); a secret learned again after
    the note needs a step of its own."""
    covered = set()
    for step in steps:
        secret = SECRET_OF_STEP.get(step.kind)
        if secret is None or step.account_id is None:
            continue
        done_seq = step.data.get("done_seq")
        if not step.done or done_seq is None or done_seq >= since.last_learned(step.account_id, secret):
            covered.add((step.account_id, secret))
    specs = []
    for (account_id, secret), seen in sorted(since.learned.items(), key=lambda item: item[1].first):
        if (account_id, secret) in covered:
            continue
        account = accounts.get(account_id)
        key = account.key if account else f"account {account_id}"
        data: dict[str, Any] = {"title": _AFTER_START_TITLES[secret].format(key=key, name=person.name),
                                "account": key, "seq": seen.first, "after_start": True}
        if secret == PASSWORD:
            data["learned"] = "did"
        elif secret == TOTP_SEED:
            data["holder"] = False
        specs.append(StepSpec(STEP_FOR_SECRET[secret].value, account_id, data=data))
    return specs


def logged_resolution(what: str, entry: Mapping[str, Any]) -> Resolution:
    """`what` happened, with the log entry that says so (who, when, seq) as evidence."""
    op = entry.get("op")
    return Resolution(f"{what} by {op} at {entry['ts']} (log seq {entry['seq']})", op, entry["ts"], entry["seq"])


_REPLACED = {PASSWORD: "password set", TOTP_SEED: "TOTP seed re-enrolled",
             RECOVERY_CODES: "new recovery codes stored"}


def replacement(since: SinceOpened, account_id: int, secret: str) -> Resolution | None:
    """A step about a secret someone learned resolves with the secret's latest replacement
    after they last learned it (by log seq), with that entry as evidence."""
    entry = since.replaced_after_learning(account_id, secret)
    return logged_resolution(_REPLACED[secret], entry) if entry else None


def _label(names: Mapping[int, str], pid: int | None) -> str:
    return names.get(pid, f"person {pid}") if pid is not None else "nobody"


def resolve(
    kind: str,
    account_id: int | None,
    data: Mapping[str, Any],
    person_id: int,
    since: SinceOpened,
    open_grants: int,
    accounts: Mapping[int, Account],
    names: Mapping[int, str],
) -> Resolution | None:
    """Whether the step's fact has changed since the workflow opened, and the evidence.

    `open_grants` is how many unrevoked grants the leaver holds now, `accounts` the current
    records of the steps' accounts, `names` labels for the people evidence names.
    """
    if kind == StepKind.REVOKE_GRANTS:
        if open_grants:
            return None
        if since.revoked is not None:
            return logged_resolution("grants revoked", since.revoked)
        return Resolution("holds no open grant")
    if kind in MANUAL_KINDS or account_id is None:
        return None
    if kind in (StepKind.ROTATE_PASSWORD, StepKind.REGENERATE_RECOVERY_CODES):
        return replacement(since, account_id, SECRET_OF_STEP[kind])
    account = accounts.get(account_id)
    if kind == StepKind.REENROL_TOTP:
        found = replacement(since, account_id, TOTP_SEED)
        if found:
            return found
        # A device changing hands is enough only when the leaver never saw the seed itself.
        saw_seed = data.get("seq") is not None or (account_id, TOTP_SEED) in since.learned
        if data.get("holder") and not saw_seed and account and account.totp_holder_id != person_id:
            return Resolution(f"TOTP device now held by {_label(names, account.totp_holder_id)}")
        return None
    if account is None:
        return None
    if kind == StepKind.REPOINT_RECOVERY_EMAIL and account.recovery_email_controller_id != person_id:
        return Resolution(f"recovery email now controlled by {_label(names, account.recovery_email_controller_id)}")
    if kind == StepKind.REPOINT_RECOVERY_PHONE and account.recovery_phone_controller_id != person_id:
        return Resolution(f"recovery phone now controlled by {_label(names, account.recovery_phone_controller_id)}")
    if kind == StepKind.TRANSFER_OWNERSHIP and person_id not in (account.owner_id, account.backup_owner_id):
        return Resolution(f"owner now {_label(names, account.owner_id)}, "
                          f"backup owner {_label(names, account.backup_owner_id)}")
    return None


def resolve_kit_step(email: str, kit: tuple[str, str, Sequence[str]] | None) -> Resolution | None:
    """A kit step resolves itself once the current kit (`kit`: its id, creation time and
    custodians' emails, or None: no kit) no longer lists the leaver."""
    if kit is None:
        return Resolution("the vault has no emergency kit any more")
    kit_id, created_at, custodians = kit
    if _share_of(email, custodians) is not None:
        return None
    return Resolution(f"emergency kit {kit_id} (created {created_at}) does not list them", at=created_at)


def people_named(kind: str, account: Account | None) -> tuple[int | None, ...]:
    """Whom a step's evidence may name (to look their labels up in one query)."""
    if account is None:
        return ()
    return {
        StepKind.REENROL_TOTP: (account.totp_holder_id,),
        StepKind.REPOINT_RECOVERY_EMAIL: (account.recovery_email_controller_id,),
        StepKind.REPOINT_RECOVERY_PHONE: (account.recovery_phone_controller_id,),
        StepKind.TRANSFER_OWNERSHIP: (account.owner_id, account.backup_owner_id),
    }.get(kind, ())


# --- the guard and the close rules -------------------------------------------------------------


def involved_account_ids(person_id: int, grants: Iterable[Grant], accounts: Iterable[Account],
                         since: datetime) -> set[int]:
    """Accounts the guard checks: those of every grant the leaver held when the workflow
    opened or got since (revoking first does not hide an account from the guard), and those
    where they are owner, backup owner, recovery email/phone controller or TOTP holder."""
    ids = {g.account_id for g in grants if g.revoked_at is None or g.revoked_at >= since}
    for a in accounts:
        if person_id in (a.owner_id, a.backup_owner_id, a.recovery_email_controller_id,
                         a.recovery_phone_controller_id, a.totp_holder_id):
            ids.add(a.id)
    return ids


def blocking_accounts(
    person_id: int,
    facts: Iterable[ControlFacts],
    accounts: Mapping[int, Account],
    grants_by_account: Mapping[int, Sequence[tuple[int, str]]],
    operator_person_ids: Collection[int],
    left_ids: Collection[int],
    minimum: int = MIN_CONTROLLERS,
) -> list[tuple[str, int]]:
    """(account key, controllers without the leaver) for each non-retired account that would
    be left with fewer than `minimum` people able to regain control: the who-can rule, with
    the leaver counted as left. Sorted by count, then key."""
    gone = set(left_ids) | {person_id}
    found = []
    for f in facts:
        account = accounts.get(f.account_id)
        if account is None or account.status is AccountStatus.RETIRED:
            continue
        count = len(controller_ids(f, grants_by_account.get(f.account_id, ()), operator_person_ids, gone))
        if count < minimum:
            found.append((account.key, count))
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


class OpenStep(NamedTuple):
    position: int
    kind: str
    account_key: str | None


def _some(items: Sequence[str], limit: int = 8) -> str:
    """A list short enough for a one-line error; the status command shows them all."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def check_close(person_name: str, blocking: Sequence[tuple[str, int]], open_steps: Sequence[OpenStep],
                successor: bool, override: str | None) -> None:
    """Refuse (PolicyError) a close the rules do not allow; the guard is checked first."""
    if blocking and not successor:
        listed = _some([f"{key} ({count})" for key, count in blocking])
        raise PolicyError(
            f"cannot close: {len(blocking)} account(s) would be left with fewer than "
            f"{MIN_CONTROLLERS} people able to regain control without {person_name}: {listed}. "
            "Add controllers, or name a successor (--successor EMAIL)"
        )
    if open_steps and not override:
        listed = _some([f"{s.position} {s.kind}" + (f" {s.account_key}" if s.account_key else "")
                        for s in open_steps])
        raise PolicyError(
            f"cannot close: {len(open_steps)} step(s) still open ({listed}). Resolve them, "
            "or close with an override reason (--override REASON)"
        )

