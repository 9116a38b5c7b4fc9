"""Creating and unlocking a vault, and the unlocked session every use case runs in."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from smvault.domain.clock import Clock, system_clock, timestamp
from smvault.domain.errors import (
    AuthenticationError,
    IntegrityError,
    PolicyError,
    UnknownOperatorError,
    UsageError,
)
from smvault.domain.logchain import ChainLink, check_anchor
from smvault.domain.models import Operator, Person, PersonType, normalize_email
from smvault.domain.text import has_control_chars
from smvault.services.inputs import clean_text
from smvault.store import failures
from smvault.store import keyring as keyrings
from smvault.store.anchor import AnchorFile, default_anchor_dir
from smvault.store.kdf import DEFAULT_PROFILE, TEST_PROFILE, KdfProfile
from smvault.store.vault import Vault, check_keyring_record

# Tests and the demo make many vaults; this switch picks a cheap Argon2id profile for NEW
# slots only. Its name says what it is; SECURITY.md documents it.
INSECURE_KDF_ENV = "SMVAULT_INSECURE_TEST_KDF"


def slot_profile() -> KdfProfile:
    return TEST_PROFILE if os.environ.get(INSECURE_KDF_ENV) == "1" else DEFAULT_PROFILE


def check_operator_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or has_control_chars(name) or any(c.isspace() for c in name):
        raise UsageError("an operator name is 1-64 characters with no spaces or control characters")
    if name.lower() == BREAK_GLASS_NAME:
        raise UsageError(f"'{BREAK_GLASS_NAME}' is reserved: it names recovery sessions in the log")
    return name


def check_passphrase(passphrase: bytes) -> bytes:
    if len(passphrase) < 8:
        raise UsageError("a passphrase needs at least 8 characters")
    return passphrase


# --- break-glass (recovery) sessions ------------------------------------------------------------

# How a recovery session appears in the log (`op`) and in messages; no operator may take it.
BREAK_GLASS_NAME = "break-glass"
BREAK_GLASS_REFUSAL = "a break-glass session can read and reveal secrets; unlock as an operator to change anything"
UNLOCK_ACTION, LOCK_ACTION = "breakglass.unlock", "breakglass.lock"

# What a recovery session may write to the log, hence do: every change records its entry in
# its own transaction, so refusing the entry (Session.record) rolls the change back. The
# allow-list is the one choke point; `require_manage` refuses earlier with the same words.
RECOVERY_ACTIONS = frozenset({
    UNLOCK_ACTION, LOCK_ACTION, "vault.unlock-failed",
    # disclosures: reveal on every account
    "secret.reveal", "secret.copy", "totp.code", "totp.qr", "secret.recovery-code.use",
    # restoring access when the operators are locked out (the person only as part of it)
    "operator.add",
    # reading, which logs itself: reports, checkpoints, exports (never a backup: see below)
    "log.verify", "log.checkpoint", "log.export", "offboard.report", "review.report",
    "report.run", "reconcile.run",
})

# Refusals that say more than BREAK_GLASS_REFUSAL. A backup holds the keyring with the kit's
# recovery slot: it would open, for ever, with the shares this session has just made known.
RECOVERY_REFUSALS = {
    "vault.backup": "a break-glass session cannot take a backup: it would open for ever with the"
                    " shares used now. Unlock as an operator (after issuing a new kit) to take one",
}


def check_recovery_inputs(reason: str, incident: str) -> tuple[str, str]:
    """A recovery session's reason (required, no control characters) and incident id
    (domain.emergency.check_incident), cleaned; InvalidInputError otherwise."""
    from smvault.domain.emergency import check_incident

    return clean_text(reason, "reason", required=True), check_incident(incident)


def _recovery_may_record(action: str, fields: dict[str, Any]) -> bool:
    if action in RECOVERY_ACTIONS:
        return True
    # `operator add` may create the new operator's person: its entry names the operator.
    return action == "person.add" and bool((fields.get("detail") or {}).get("operator"))


@dataclass(frozen=True)
class BreakGlass:
    """What marks a recovery session: every entry it records carries `marker`."""

    id: str  # "recovery-<uuid4>"
    incident: str
    reason: str
    kit_id: str
    members: tuple[int, ...]  # the shares' member indexes (1-based)
    started_at: datetime
    custodians: tuple[str, ...] = ()  # the emails of the custodians whose shares were used

    @property
    def marker(self) -> dict[str, str]:
        return {"id": self.id, "incident": self.incident}


def _break_glass_actor(started_at: datetime) -> tuple[Operator, Person]:
    """The synthetic operator and person a recovery session acts as. Neither is a row: their
    ids are None, so nothing can point at them (a workflow, a grant, `added_by` stay NULL)
    and disclosures name no recipient (`to`): the `bg` marker says who saw what."""
    operator = Operator(id=None, name=BREAK_GLASS_NAME, person_id=None, created_at=started_at)  # type: ignore[arg-type]
    person = Person(id=None, name="break-glass session", email="break-glass@recovery.invalid")  # type: ignore[arg-type]
    return operator, person


def require_operator(session: Session) -> None:
    """Refuse (PolicyError) in a recovery session: for changes that do something before their
    log entry (a rekey, a file) and would otherwise get past the allow-list."""
    if session.break_glass is not None:
        raise PolicyError(BREAK_GLASS_REFUSAL)


# --- the session -----------------------------------------------------------------------------------


@dataclass
class Session:
    """An unlocked vault and the operator acting in it (a synthetic one for a recovery
    session: `break_glass` is set, `operator.id` and `person.id` are None)."""

    vault: Vault
    operator: Operator
    person: Person
    clock: Clock
    anchor: AnchorFile
    closed: bool = False
    break_glass: BreakGlass | None = None
    post_incident_id: int | None = None  # a recovery session, once locked: the workflow it opened or extended
    _system_work: int = field(default=0, repr=False)

    def now(self) -> datetime:
        return self.clock()

    def ts(self) -> str:
        return timestamp(self.clock())

    def record(self, action: str, *, marked: bool = True, **fields: Any) -> ChainLink:
        """Append one log entry; call inside the action's own transaction.

        In a recovery session, an action outside RECOVERY_ACTIONS is refused (PolicyError),
        which rolls the caller's transaction back; every entry carries the `bg` marker, except
        the vault's own bookkeeping about other things (`marked=False`: failed unlocks of
        others noted at this unlock, a kit's missing entry), which is not the session's doing."""
        if self.break_glass is not None and not self._system_work and not _recovery_may_record(action, fields):
            refusal = RECOVERY_REFUSALS.get(action) or f"{BREAK_GLASS_REFUSAL} (refused: {action})"
            raise PolicyError(refusal)
        entry = {"ts": self.ts(), "op": self.operator.name, "action": action}
        entry.update({k: v for k, v in fields.items() if v is not None})
        if self.break_glass is not None and marked:
            entry["bg"] = self.break_glass.marker
        return self.vault.log.append(entry)

    @contextlib.contextmanager
    def system_work(self) -> Iterator[None]:
        """Housekeeping the vault does by itself at unlock and lock (opening a post-incident
        workflow): a recovery session may record it. Its entries still carry the marker."""
        self._system_work += 1
        try:
            yield
        finally:
            self._system_work -= 1

    def atomic(self):
        return self.vault.atomic()

    def close(self, failing: bool = False) -> None:
        """Move this machine's anchor to the head of the log, then close (idempotent).

        A recovery session first logs its lock and opens (or extends) the post-incident
        workflow of what it did. When the command is already failing (`failing`), a failure
        here must not replace the real error: the next unlock opens the workflow instead
        (services.post_incident.cover_unlocked_sessions), the anchor stays where it was.
        """
        if self.closed:
            return
        self.closed = True
        problems: list[Exception] = []
        try:
            if self.break_glass is not None:
                try:
                    self._lock_break_glass()
                except Exception as exc:
                    problems.append(exc)
            try:
                self.anchor.write(self.vault.log.head())
            except Exception as exc:
                problems.append(exc)
        finally:
            self.vault.close()
        if problems and not failing:
            raise problems[0]

    def _lock_break_glass(self) -> None:
        from smvault.services.post_incident import open_post_incident  # it imports this module

        bg = self.break_glass
        with self.atomic():
            self.record(LOCK_ACTION, detail={"incident": bg.incident, "started_at": timestamp(bg.started_at)})
        with self.system_work():
            workflow = open_post_incident(self, bg_id=bg.id, incident=bg.incident, reason=bg.reason,
                                          origin="recovery")
        self.post_incident_id = workflow.id if workflow is not None else None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(failing=exc_type is not None)


def create_vault(
    directory: Path,
    operator_name: str,
    passphrase: bytes,
    *,
    email: str | None = None,
    person_name: str | None = None,
    clock: Clock = system_clock,
    anchor_dir: Path | None = None,
    profile: KdfProfile | None = None,
) -> Session:
    """A new vault whose first operator is also its first person; returns it unlocked."""
    operator_name = check_operator_name(operator_name)
    check_passphrase(passphrase)
    # An operator is a person; without an address, use the reserved .invalid domain, which
    # the operator can correct later with `person update`.
    email = normalize_email(email) if email else f"{operator_name.lower()}@operator.invalid"
    now = timestamp(clock())
    vault_id = str(uuid.uuid4())
    key = os.urandom(32)
    keyring = keyrings.with_operator(
        keyrings.new_keyring(vault_id), operator_name, passphrase, key, profile or slot_profile()
    )
    vault = Vault.create(directory, keyring, key, now)
    try:
        with vault.atomic():
            person = vault.people.add(
                clean_text(person_name, "name") or operator_name, email, None, None, PersonType.EMPLOYEE, None, now
            )
            operator = vault.operators.add(operator_name, person.id, now)
        session = Session(vault, operator, person, clock, _anchor(anchor_dir, directory, vault_id))
        with session.atomic():
            session.record("vault.create", detail={"vault_id": vault_id})
            session.record("operator.add", person=person.id, detail={"operator": operator_name})
    except BaseException:
        vault.close()
        raise
    return session


def _anchor(anchor_dir: Path | None, directory: Path, vault_id: str) -> AnchorFile:
    return AnchorFile(anchor_dir or default_anchor_dir(), directory, vault_id)


def unlock(
    directory: Path,
    operator_name: str,
    passphrase: bytes,
    *,
    clock: Clock = system_clock,
    anchor_dir: Path | None = None,
    check: bool = True,
) -> Session:
    """Unlock as one operator.

    With `check`, the log must still extend this machine's anchor and everything appended
    since must verify; then the unlock (and any failed unlocks noted since) are logged.
    Without it (log verify, restore), nothing is checked or logged: the caller does both.
    """
    now = timestamp(clock())
    try:
        vault = Vault.open(directory, operator_name, passphrase, now)
    except AuthenticationError as exc:
        failures.record(directory, operator_name, now, type(exc).__name__)
        raise
    try:
        operator = vault.operators.by_name(operator_name)
        if operator is None:
            failures.record(directory, operator_name, now, "removed operator")
            raise UnknownOperatorError(f"operator {operator_name!r} has been removed from this vault")
        person = vault.people.get(operator.person_id)
        session = Session(vault, operator, person, clock, _anchor(anchor_dir, directory, vault.vault_id))
        if check:
            verify_since_anchor(session)
            check_keyring_record(vault)
            log_unlock(session)
            from smvault.services.operators import finish_interrupted_removals

            finish_interrupted_removals(session)
            after_unlock(session)
    except BaseException:
        vault.close()
        raise
    return session


def unlock_recovery(
    directory: Path,
    shares: list[str],
    *,
    reason: str,
    incident: str,
    clock: Clock = system_clock,
    anchor_dir: Path | None = None,
    check: bool = True,
) -> Session:
    """Unlock with K of the emergency kit's shares: a break-glass session.

    It needs a reason and an incident id, acts as the synthetic operator "break-glass",
    marks every entry it records with `bg` (id, incident), may read everything, disclose any
    secret and add an operator, and nothing else (Session.record). Wrong or too few shares
    raise ShareProblem or WrongPassphraseError and are noted like a failed unlock; the
    unlock is checked (anchor, log) and logged (`breakglass.unlock`) as any other. Closing
    it opens the post-incident workflow.
    """
    from smvault.domain.shares import ShareProblem
    from smvault.services.kit import recover_from_shares

    reason, incident = check_recovery_inputs(reason, incident)
    started = clock()
    now = timestamp(started)
    try:
        recovered = recover_from_shares(directory, shares)
        vault = Vault.open_recovery(directory, recovered.secret, now)
    except (ShareProblem, AuthenticationError) as exc:
        # Which shares failed, and how, stays out of the file: the error told the person.
        failures.record(directory, BREAK_GLASS_NAME, now, f"recovery: {type(exc).__name__}")
        raise
    try:
        bg = BreakGlass(id=f"recovery-{uuid.uuid4()}", incident=incident, reason=reason,
                        kit_id=recovered.kit.kit_id, members=recovered.members, started_at=started,
                        custodians=recovered.custodians)
        operator, person = _break_glass_actor(started)
        session = Session(vault, operator, person, clock, _anchor(anchor_dir, directory, vault.vault_id),
                          break_glass=bg)
        if check:
            verify_since_anchor(session)
            check_keyring_record(vault)
            log_unlock(session)
            after_unlock(session)
    except BaseException:
        vault.close()
        raise
    return session


def after_unlock(session: Session) -> None:
    """What every checked unlock (operator or recovery) does once it is logged: log the kit in
    force if its `kit.create` entry was lost (a crash after its rekey), open the post-incident
    workflow of any recovery session that ended without locking (a crash, a kill), then let
    emergency access move on with the clock."""
    # Imported here: these modules import this one.
    from smvault.services.emergency import sweep
    from smvault.services.kit import log_unlogged_kit
    from smvault.services.post_incident import cover_unlocked_sessions

    log_unlogged_kit(session)
    cover_unlocked_sessions(session)
    sweep(session)


def verify_since_anchor(session: Session) -> None:
    """Raise IntegrityError if the vault is older than this machine's anchor or its log fails."""
    log = session.vault.log
    anchor = session.anchor.read()
    head = log.head()
    start = log.genesis
    if anchor is not None:
        damage = check_anchor(anchor, log.hash_at(anchor.seq) if anchor.seq else anchor.entry_hash, head.seq)
        if damage is not None:
            raise IntegrityError(
                f"{damage}. This machine last saw log entry {anchor.seq}; the vault's log ends at "
                f"{head.seq}. This is an older copy of the vault, or its log was cut or rewritten. "
                "Run 'smvault log verify' for details; if you restored a backup on purpose, "
                "use 'smvault log reanchor --reason TEXT'."
            )
        start = anchor
    result = log.verify(start)
    if not result.ok:
        raise IntegrityError(f"access log verification failed: {result.damage}")


def log_unlock(session: Session) -> None:
    directory = session.vault.directory
    failed = failures.pending(directory)
    with session.atomic():
        for event in failed:
            # Not the recovery session's doing: no `bg` marker, even when it notes them.
            session.record(
                "vault.unlock-failed", marked=False,
                detail={
                    "operator": str(event.get("operator"))[:200],
                    "at": event.get("ts"),
                    "reason": event.get("reason"),
                },
            )
        bg = session.break_glass
        if bg is None:
            session.record("vault.unlock")
        else:
            session.record(UNLOCK_ACTION, detail={
                "reason": bg.reason, "incident": bg.incident, "kit": bg.kit_id,
                "members": list(bg.members), "custodians": list(bg.custodians),
            })
    failures.clear(directory)
    # Anchor what was just verified now, not only at close: a command killed half way
    # must still leave this machine knowing the log reached this far.
    session.anchor.write(session.vault.log.head())
