"""Creating and unlocking a vault, and the unlocked session every use case runs in."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from smvault.domain.clock import Clock, system_clock, timestamp
from smvault.domain.errors import (
    AuthenticationError,
    IntegrityError,
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
from smvault.store.vault import Vault

# Tests and the demo make many vaults; this switch picks a cheap Argon2id profile for NEW
# slots only. Its name says what it is; SECURITY.md documents it.
INSECURE_KDF_ENV = "SMVAULT_INSECURE_TEST_KDF"


def slot_profile() -> KdfProfile:
    return TEST_PROFILE if os.environ.get(INSECURE_KDF_ENV) == "1" else DEFAULT_PROFILE


def check_operator_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or has_control_chars(name) or any(c.isspace() for c in name):
        raise UsageError("an operator name is 1-64 characters with no spaces or control characters")
    return name


def check_passphrase(passphrase: bytes) -> bytes:
    if len(passphrase) < 8:
        raise UsageError("a passphrase needs at least 8 characters")
    return passphrase


@dataclass
class Session:
    """An unlocked vault and the operator acting in it."""

    vault: Vault
    operator: Operator
    person: Person
    clock: Clock
    anchor: AnchorFile
    closed: bool = False

    def now(self) -> datetime:
        return self.clock()

    def ts(self) -> str:
        return timestamp(self.clock())

    def record(self, action: str, **fields: Any) -> ChainLink:
        """Append one log entry; call inside the action's own transaction."""
        entry = {"ts": self.ts(), "op": self.operator.name, "action": action}
        entry.update({k: v for k, v in fields.items() if v is not None})
        return self.vault.log.append(entry)

    def atomic(self):
        return self.vault.atomic()

    def close(self, failing: bool = False) -> None:
        """Move this machine's anchor to the head of the log, then close (idempotent).

        When the command is already failing (`failing`), a failure to move the anchor must
        not replace the real error: the anchor simply stays where it was.
        """
        if self.closed:
            return
        self.closed = True
        try:
            self.anchor.write(self.vault.log.head())
        except Exception:
            if not failing:
                raise
        finally:
            self.vault.close()

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
    import uuid  # creation only: keeps `platform` off every command's start-up

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
            log_unlock(session)
            from smvault.services.operators import finish_interrupted_removals

            finish_interrupted_removals(session)
    except BaseException:
        vault.close()
        raise
    return session


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
            session.record(
                "vault.unlock-failed",
                detail={
                    "operator": str(event.get("operator"))[:200],
                    "at": event.get("ts"),
                    "reason": event.get("reason"),
                },
            )
        session.record("vault.unlock")
    failures.clear(directory)
    # Anchor what was just verified now, not only at close: a command killed half way
    # must still leave this machine knowing the log reached this far.
    session.anchor.write(session.vault.log.head())
