"""The vault directory as one object: keyring + database + repositories + log."""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import json
import os
from collections.abc import Callable
from pathlib import Path

from smvault.domain.errors import (
    AuthenticationError,
    ConflictError,
    IntegrityError,
    NotFoundError,
    SmvaultError,
    UsageError,
    WrongPassphraseError,
)
from smvault.store import keyring as keyrings
from smvault.store.accounts import Accounts
from smvault.store.connection import (
    DB_FILE,
    Connection,
    Transactions,
    connect,
    page_integrity_problems,
)
from smvault.store.files import fsync_dir
from smvault.store.grants import Grants
from smvault.store.keyring import Keyring
from smvault.store.log import AccessLog
from smvault.store.migrations import migrate
from smvault.store.operators import Operators
from smvault.store.people import People
from smvault.store.secrets import Secrets
from smvault.store.workflows import Workflows

BACKUP_MEMBERS = (keyrings.KEYRING_FILE, DB_FILE)


class Vault:
    """An open, keyed vault. Owned by the thread that opened it."""

    def __init__(self, directory: Path, conn: Connection, key: bytes, keyring: Keyring) -> None:
        self.directory = directory
        self.conn = conn
        self._key = key  # kept for backups and rekeys; Python cannot wipe it on close
        self.keyring = keyring
        self.vault_id = keyring.vault_id
        self.tx = Transactions(conn)
        self.people = People(conn)
        self.accounts = Accounts(conn)
        self.grants = Grants(conn)
        self.secrets = Secrets(conn)
        self.operators = Operators(conn)
        self.workflows = Workflows(conn)
        self.log = AccessLog(conn, self.vault_id)

    def __repr__(self) -> str:
        return f"Vault({str(self.directory)!r}, vault_id={self.vault_id!r})"

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def create(cls, directory: Path, keyring: Keyring, key: bytes, now: str) -> Vault:
        if directory.exists() and any(directory.iterdir()):
            raise ConflictError(f"{directory} is not empty: a vault needs a directory of its own")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Owner-only from the first byte; SQLite gives -wal and -shm the same mode.
        os.close(os.open(directory / DB_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        conn = connect(directory / DB_FILE, key, create=True)
        vault = cls(directory, conn, key, keyring)
        migrate(conn, vault.tx, now)
        with vault.tx.atomic():
            conn.execute("INSERT INTO meta (key, value) VALUES ('vault_id', ?)", (keyring.vault_id,))
            conn.execute("INSERT INTO meta (key, value) VALUES ('created_at', ?)", (now,))
            _write_record(vault, _RECORD, keyrings.public_record(keyring))
            vault.log.create_key_epoch(now)
        keyrings.save(directory, keyring)
        return vault

    @classmethod
    def open(cls, directory: Path, operator: str, passphrase: bytes, now: str) -> Vault:
        """Unlock with one operator's passphrase; finishes or rolls back an interrupted rekey."""
        return cls._open_with(
            directory, lambda keyring: keyrings.unlock(keyring, operator, passphrase), now
        )

    @classmethod
    def open_recovery(cls, directory: Path, recovery_secret: bytes, now: str) -> Vault:
        """Unlock with the emergency kit's recovery secret (the combined shares).

        Same handling of an interrupted rekey as `open`. A rekey that replaced the kit and
        stopped before promoting its keyring holds the new kit only in the pending keyring,
        so shares that do not match keyring.json are tried against the pending one too.
        """
        return cls._open_with(
            directory,
            lambda keyring: keyrings.unlock_recovery(keyring, recovery_secret),
            now,
            retry_pending_on=(IntegrityError, keyrings.WrongSharesError),
        )

    @classmethod
    def _open_with(
        cls,
        directory: Path,
        unlock: Callable[[Keyring], bytes],
        now: str,
        retry_pending_on: tuple[type[Exception], ...] = (IntegrityError,),
    ) -> Vault:
        if not directory.is_dir():
            raise NotFoundError(f"no vault at {directory}")
        current = keyrings.load(directory)
        pending = keyrings.load_pending(directory)
        db_path = directory / DB_FILE
        if not db_path.exists():
            raise IntegrityError(f"the vault at {directory} has a keyring but no {DB_FILE}")
        try:
            key = unlock(current)
            conn = connect(db_path, key)
            keyring = current
            if pending is not None:  # the rekey never reached the database: drop it
                keyrings.discard_pending(directory)
        except retry_pending_on as first:
            if pending is None:
                raise
            try:
                key = unlock(pending)
                conn = connect(db_path, key)
            except IntegrityError:
                if isinstance(first, AuthenticationError):
                    # the pending keyring never reached the database: the first answer stands
                    raise first from None
                raise
            keyrings.commit_pending(directory)
            keyring = pending
        vault = cls(directory, conn, key, keyring)
        try:
            stored_id = conn.execute("SELECT value FROM meta WHERE key = 'vault_id'").fetchone()
            if stored_id is None or stored_id[0] != keyring.vault_id:
                raise IntegrityError("the keyring and the database belong to different vaults")
            migrate(conn, vault.tx, now)
        except BaseException:
            vault.close()
            raise
        return vault

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def atomic(self):
        return self.tx.atomic()

    # -- keys ------------------------------------------------------------------------------

    def save_keyring(self, keyring: Keyring) -> None:
        keyrings.save(self.directory, keyring)
        self.keyring = keyring

    def rekey(self, new_keyring: Keyring, new_key: bytes, *,
              after_pending: Callable[[], None] | None = None) -> None:
        """Two-phase: pending keyring on disk, rekey the database, then promote the keyring.

        A crash between the steps leaves a pending keyring that the next open resolves by
        trying both keys (see `open`). `after_pending` runs once the pending file is written.
        """
        keyrings.save_pending(self.directory, new_keyring)
        if after_pending is not None:
            after_pending()
        self.conn.execute(f"PRAGMA rekey = \"x'{new_key.hex()}'\"")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        keyrings.commit_pending(self.directory)
        self._key = new_key
        self.keyring = new_keyring

    def check_passphrase(self, operator: str, passphrase: bytes) -> None:
        """Return when `passphrase` opens `operator`'s slot (as on disk now) to this vault's key.

        For a second operator confirming an action at the same terminal (dual control).
        Raises WrongPassphraseError (or UnknownOperatorError); messages never hold the passphrase.
        """
        key = keyrings.unlock(keyrings.load(self.directory), operator, passphrase)
        if not hmac.compare_digest(key, self._key):  # a slot sealed to some other key
            raise WrongPassphraseError(f"wrong passphrase for operator '{operator}'")

    # -- integrity and backups -------------------------------------------------------------

    def page_problems(self) -> list[str]:
        return page_integrity_problems(self.conn)

    def export_database(self, target: Path) -> None:
        """A consistent encrypted copy through sqlcipher_export (it sees rows still in the WAL)."""
        if target.exists():
            target.unlink()
        self.conn.execute(
            f"ATTACH DATABASE ? AS backup KEY \"x'{self._key.hex()}'\"", (str(target),)
        )
        try:
            self.conn.execute("SELECT sqlcipher_export('backup')")
        finally:
            self.conn.execute("DETACH DATABASE backup")

    def write_backup(self, target: Path) -> None:
        """One file (tar) with the keyring and an exported database; atomic at `target`."""
        import tarfile  # backups only: kept off the start-up path of every command
        import tempfile

        target = target.resolve()
        if target.is_dir():
            raise UsageError(f"{target} is a directory: give a file name for the backup")
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".smvault-backup-") as tmp:
            staging = Path(tmp)
            self.export_database(staging / DB_FILE)
            # The keyring as on disk now, not as this session opened it: another process may
            # have added an operator since, and the database (with its record of the
            # keyring, see check_keyring_record) already says so.
            keyrings.save(staging, keyrings.load(self.directory))
            partial = staging / "backup.tar"
            with tarfile.open(partial, "w") as tar:
                for name in BACKUP_MEMBERS:
                    tar.add(staging / name, arcname=name)
            os.chmod(partial, 0o600)
            with open(partial, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(partial, target)
        fsync_dir(target.parent)


def unpack_backup(backup: Path, directory: Path) -> None:
    """Extract a backup file into a new, empty vault directory."""
    import tarfile

    if directory.exists() and any(directory.iterdir()):
        raise ConflictError(f"{directory} is not empty: restore into a new directory")
    try:
        with tarfile.open(backup, "r") as tar:
            names = sorted(tar.getnames())
            if names != sorted(BACKUP_MEMBERS):
                raise IntegrityError(f"{backup} is not an smvault backup (holds {names[:5]})")
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            for name in BACKUP_MEMBERS:
                member = tar.getmember(name)
                source = tar.extractfile(member)
                if source is None:
                    raise IntegrityError(f"{backup}: {name} is not a regular file")
                fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    while chunk := source.read(1 << 20):
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
    except FileNotFoundError:
        raise NotFoundError(f"no backup file at {backup}") from None
    except tarfile.TarError:
        raise IntegrityError(f"{backup} is not a readable smvault backup") from None
    fsync_dir(directory)


def translate_database_error(exc: BaseException) -> IntegrityError | None:
    """SQLCipher's page HMAC failures and SQLite corruption, in words for the user."""
    import sqlcipher3

    if isinstance(exc, sqlcipher3.DatabaseError) and not isinstance(exc, sqlcipher3.IntegrityError):
        text = str(exc)
        if "malformed" in text or "not a database" in text or "corrupt" in text:
            return IntegrityError(
                "the vault database is damaged (a page failed its integrity check): "
                "restore from a backup"
            )
    return None


def _fresh_keyring(vault: Vault) -> Keyring:
    """The keyring as on disk now. Callers hold the database write lock, so another
    process's keyring change has either landed or not started: never build on a stale copy."""
    if not vault.tx.in_transaction:
        raise RuntimeError("keyring changes must run inside a database transaction")
    return keyrings.load(vault.directory)


# -- the keyring's public record -----------------------------------------------------------------
#
# keyring.json is a plain file: whoever can write it, and nothing else, can put a public key of
# their own in place of an operator's or the emergency kit's. Nothing opens with such a slot,
# but the next rekey (an operator's removal, a new kit) would seal the NEW vault key to it.
# So the encrypted database keeps the keyring's public half (meta `keyring_public`: canonical
# JSON of keyring.public_record), written with every keyring change smvault makes (in the
# transaction of an operator's addition; in steps, below, for the others), and every change
# compares keyring.json with it before sealing anything to a key read from disk.
#
# A rekey cannot share a transaction with anything (PRAGMA rekey commits), and a file write
# cannot share one with the database: a change first commits the keyring it is about to write
# as `keyring_public_pending`, then writes (and rekeys), then makes that the record. A crash
# at any point leaves keyring.json equal to the record or to the pending one, and
# `check_keyring_record` (every checked unlock) settles which. A pending record also keeps
# other keyring writers out (ConflictError) while the change runs outside the write lock.

_RECORD, _PENDING_RECORD = "keyring_public", "keyring_public_pending"


def _read_record(vault: Vault, key: str) -> dict | None:
    row = vault.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    try:
        record = json.loads(row[0])
    except ValueError:
        record = None
    if not isinstance(record, dict):
        raise IntegrityError("the vault's record of its keyring is damaged: restore from a backup")
    return record


def _write_record(vault: Vault, key: str, record: dict | None) -> None:
    if record is None:
        vault.conn.execute("DELETE FROM meta WHERE key = ?", (key,))
    else:
        vault.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, keyrings.record_json(record))
        )


def _backup_generation(vault: Vault) -> int | None:
    """The generation of keyring.json.bak (None: none, or unreadable)."""
    path = vault.directory / (keyrings.KEYRING_FILE + keyrings.BACKUP_SUFFIX)
    try:
        return keyrings.from_json(path.read_bytes(), source=path.name).generation
    except (OSError, SmvaultError):
        return None


def _edited(vault: Vault, disk: Keyring, problems: list[str]) -> IntegrityError:
    """The refusal of an edited keyring.json. keyring.json.bak is worth restoring only while it
    is of the same generation: after a rekey it holds the previous vault key, which opens
    nothing any more."""
    backup = _backup_generation(vault)
    if backup == disk.generation:
        restore = ("Restore keyring.json from a backup of this vault (or keyring.json.bak, the copy"
                   " from before its last change) and try again")
    else:
        restore = "Restore the vault from a backup" + (
            " (keyring.json.bak is from before its last rekey: it opens nothing)" if backup is not None else "")
    return IntegrityError("; ".join(problems) + ": the file was edited, and no key is sealed to it. " + restore)


def _unrecorded_stale(vault: Vault, kr: Keyring, record: dict) -> frozenset[str]:
    """Slots the record does not hold, for names that are no operator of the vault: an
    `operator add` that stopped after writing the file, or a slot someone else put there.
    Harmless while no key is sealed to them: no rekey does, and the next unlock removes them
    (services.operators.finish_interrupted_removals)."""
    recorded = record.get("operators") or {}
    active = {op.name for op in vault.operators.active()}
    return frozenset(name for name in kr.slots if name not in recorded and name not in active)


def _without(kr: Keyring, names: frozenset[str]) -> Keyring:
    return dataclasses.replace(kr, slots={n: slot for n, slot in kr.slots.items() if n not in names})


def _checked_keyring(vault: Vault) -> tuple[Keyring, frozenset[str]]:
    """keyring.json as on disk now, checked against the record (IntegrityError naming what
    differs), and the names of its unrecorded stale slots (never sealed to). Runs inside the
    caller's transaction: the write lock keeps other keyring writers out meanwhile."""
    disk = _fresh_keyring(vault)
    if _read_record(vault, _PENDING_RECORD) is not None:
        raise ConflictError(
            "a change of this vault's keys is under way (in another smvault process, or one that"
            " stopped half way): unlock the vault again, then retry"
        )
    record = _read_record(vault, _RECORD)
    if record is None:
        # Trust on first use: a vault from before this record takes keyring.json as it is
        # now (it opened the database, so no slot was swapped that matters yet); from here
        # on, every change is checked against it.
        record = keyrings.public_record(disk)
        _write_record(vault, _RECORD, record)
    stale = _unrecorded_stale(vault, disk, record)
    problems = keyrings.record_differences(disk, record, unrecorded_ok=stale)
    if problems:
        raise _edited(vault, disk, problems)
    return disk, stale


def check_keyring_record(vault: Vault) -> None:
    """At every checked unlock: keyring.json must match the vault's record of it; raises
    IntegrityError naming what differs.

    What an interrupted change leaves is no alarm: a pending record the file never reached
    (the change stopped before its write or rekey, or the open undid it) is dropped; a file
    that reached it (the change stopped before making it the record) makes it the record;
    an unrecorded slot of no operator (an `operator add` that stopped after its file write)
    is tolerated, and removed by the unlock. A vault without a record records its keyring now
    (trust on first use)."""
    with vault.tx.atomic():
        disk = keyrings.load(vault.directory)
        record = _read_record(vault, _RECORD)
        pending = _read_record(vault, _PENDING_RECORD)
        if record is None:  # trust on first use, as in _checked_keyring
            _write_record(vault, _RECORD, keyrings.public_record(disk))
            _write_record(vault, _PENDING_RECORD, None)
            return
        problems = keyrings.record_differences(
            disk, record, unrecorded_ok=_unrecorded_stale(vault, disk, record)
        )
        if not problems:
            # A pending keyring FILE means a rekey is between its steps in another process:
            # its record is still needed. (The open resolves our own leftovers first.)
            if pending is not None and keyrings.load_pending(vault.directory) is None:
                _write_record(vault, _PENDING_RECORD, None)
            return
        if pending is not None and not keyrings.record_differences(
            disk, pending, unrecorded_ok=_unrecorded_stale(vault, disk, pending)
        ):
            _write_record(vault, _RECORD, pending)
            _write_record(vault, _PENDING_RECORD, None)
            return
        raise _edited(vault, disk, problems)


def recorded_kit(vault: Vault) -> dict | None:
    """The emergency kit in force as the vault records it (kit_id, identifier, threshold,
    custodians, created_at, public_key), or None when it has none."""
    record = _read_record(vault, _RECORD)
    if record is None:  # not recorded yet (checked=False sessions): the keyring it opened with
        record = keyrings.public_record(vault.keyring)
    recovery = record.get("recovery")
    return recovery if isinstance(recovery, dict) else None


@dataclasses.dataclass(frozen=True)
class _Staged:
    checked: Keyring  # keyring.json as checked
    new: Keyring  # the keyring to write
    record: dict  # its record: `new` without the unrecorded stale slots


def _stage(vault: Vault, build: Callable[[Keyring, frozenset[str]], Keyring]) -> _Staged:
    """Step 1 of a change outside one transaction: check keyring.json, build the next keyring
    from it and commit its record as pending."""
    if vault.tx.in_transaction:
        raise RuntimeError("this keyring change commits in steps: call it outside a transaction")
    with vault.tx.atomic():
        disk, stale = _checked_keyring(vault)
        new = build(disk, stale)
        record = keyrings.public_record(_without(new, stale))
        _write_record(vault, _PENDING_RECORD, record)
    return _Staged(disk, new, record)


def _settle(vault: Vault, staged: _Staged) -> None:
    """The last step, inside a transaction: the keyring written is now the record."""
    _write_record(vault, _RECORD, staged.record)
    _write_record(vault, _PENDING_RECORD, None)


def _drop_unused_pending(vault: Vault) -> None:
    """After a change failed: drop its pending record if keyring.json never got there (so the
    session can go on changing keys); otherwise the next unlock settles it. Best effort."""
    with contextlib.suppress(Exception):
        if vault.tx.in_transaction:
            return
        with vault.tx.atomic():
            record = _read_record(vault, _RECORD)
            if record is None or keyrings.load_pending(vault.directory) is not None:
                return
            disk = keyrings.load(vault.directory)
            if not keyrings.record_differences(disk, record, unrecorded_ok=_unrecorded_stale(vault, disk, record)):
                _write_record(vault, _PENDING_RECORD, None)


def _rekey_recorded(vault: Vault, build: Callable[[Keyring, frozenset[str]], Keyring], new_key: bytes) -> None:
    """Check, stage, rekey, settle (see above). Unrecorded stale slots are left out of the new
    keyring: the new vault key is sealed only to keys the record vouches for.

    What remains: between the staging transaction and the rekey, and between the rekey and
    settling, no write lock is held (PRAGMA rekey commits any transaction). Another process's
    keyring writers are refused meanwhile by the pending record, but an unlock in another
    process at that moment sees our pending keyring file as a leftover and discards it, as
    opens always have: rekeys assume no other process is using the vault."""
    staged = _stage(vault, lambda disk, stale: build(_without(disk, stale), stale))

    def restage() -> None:
        # An unlock elsewhere between the staging commit and the pending file's write saw a
        # pending record the file never reached and dropped it; left dropped, a crash after
        # the promotion would leave keyring.json matching no record ("edited" at every
        # unlock). With the pending file now on disk, unlocks keep the record: write it again.
        with vault.tx.atomic():
            _write_record(vault, _PENDING_RECORD, staged.record)

    try:
        vault.rekey(staged.new, new_key, after_pending=restage)
    except BaseException:
        _drop_unused_pending(vault)
        raise
    with vault.tx.atomic():
        _settle(vault, staged)


def add_operator_slot(vault: Vault, name: str, passphrase: bytes, profile) -> None:
    """Inside the transaction that adds the operator's row: the record gets the new public key
    in it too. A crash between the file write and the commit leaves a slot of no operator,
    which the next unlock tolerates and removes."""
    disk, stale = _checked_keyring(vault)
    new = keyrings.with_operator(disk, name, passphrase, vault._key, profile)
    _write_record(vault, _RECORD, keyrings.public_record(_without(new, stale)))
    vault.save_keyring(new)


def change_operator_passphrase(vault: Vault, name: str, old: bytes, new: bytes, profile) -> None:
    """The key pair stays, so the record does; keyring.json is still checked against it."""
    disk, _ = _checked_keyring(vault)
    vault.save_keyring(keyrings.with_passphrase(disk, name, old, new, profile))


def remove_operator_slot(vault: Vault, name: str) -> None:
    """Drop the slot and rekey: the removed operator may have kept the old vault key."""
    new_key = os.urandom(keyrings.VAULT_KEY_LEN)

    def without(kr: Keyring, _stale: frozenset[str]) -> Keyring:
        if name in kr.slots:
            return keyrings.without_operator(kr, name, new_key)
        return keyrings.resealed(kr, new_key)  # an unrecorded slot: left out already

    _rekey_recorded(vault, without, new_key)


def set_recovery_slot(vault: Vault, recovery_secret: bytes, **kit) -> None:
    """The vault's first emergency kit: add the recovery slot, sealing the current vault key.

    Runs outside a transaction, in steps (see above): the new kit's record is committed as
    pending before keyring.json names it, so a crash after the file write is no alarm. The
    caller logs `kit.create` afterwards (the next unlock logs a missing one: services.kit).
    `kit` holds kit_id, identifier, threshold, custodians, created_at (see keyring.with_recovery).
    """
    staged = _stage(
        vault, lambda disk, _stale: keyrings.with_recovery(disk, recovery_secret, vault._key, **kit)
    )
    try:
        with vault.tx.atomic():
            # The pending record kept other writers out; an unlock elsewhere may have dropped
            # it as a leftover, so make sure nothing changed the file meanwhile.
            if keyrings.to_json(_fresh_keyring(vault)) != keyrings.to_json(staged.checked):
                raise ConflictError("the keyring changed while the kit was being created: try again")
            _settle(vault, staged)
            vault.save_keyring(staged.new)
    except BaseException:
        _drop_unused_pending(vault)
        raise


def replace_recovery_slot(vault: Vault, recovery_secret: bytes, **kit) -> None:
    """A new emergency kit in place of the old one: rekey to a new vault key.

    Old shares together with an old keyring copy (keyring.json.bak, a stray copy) would
    still open the old vault key; after the rekey that key opens nothing. Every operator slot
    is resealed to the new key and the old recovery slot is dropped for the new one.
    The keyring is read and checked under the write lock (see _rekey_recorded for what
    remains outside it); the caller logs it afterwards.
    """
    new_key = os.urandom(keyrings.VAULT_KEY_LEN)

    def with_new_kit(kr: Keyring, _stale: frozenset[str]) -> Keyring:
        without_old_kit = keyrings.resealed(kr, new_key, recovery=None)
        return keyrings.with_recovery(without_old_kit, recovery_secret, new_key, **kit)

    _rekey_recorded(vault, with_new_kit, new_key)
