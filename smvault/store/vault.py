"""The vault directory as one object: keyring + database + repositories + log."""

from __future__ import annotations

import contextlib
import hmac
import os
from pathlib import Path

from smvault.domain.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
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
            vault.log.create_key_epoch(now)
        keyrings.save(directory, keyring)
        return vault

    @classmethod
    def open(cls, directory: Path, operator: str, passphrase: bytes, now: str) -> Vault:
        """Unlock with one operator's passphrase; finishes or rolls back an interrupted rekey."""
        if not directory.is_dir():
            raise NotFoundError(f"no vault at {directory}")
        current = keyrings.load(directory)
        pending = keyrings.load_pending(directory)
        db_path = directory / DB_FILE
        if not db_path.exists():
            raise IntegrityError(f"the vault at {directory} has a keyring but no {DB_FILE}")
        try:
            key = keyrings.unlock(current, operator, passphrase)
            conn = connect(db_path, key)
            keyring = current
            if pending is not None:  # the rekey never reached the database: drop it
                keyrings.discard_pending(directory)
        except IntegrityError:
            if pending is None:
                raise
            key = keyrings.unlock(pending, operator, passphrase)
            conn = connect(db_path, key)
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

    def rekey(self, new_keyring: Keyring, new_key: bytes) -> None:
        """Two-phase: pending keyring on disk, rekey the database, then promote the keyring.

        A crash between the steps leaves a pending keyring that the next open resolves by
        trying both keys (see `open`).
        """
        keyrings.save_pending(self.directory, new_keyring)
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
            keyrings.save(staging, self.keyring)
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


def add_operator_slot(vault: Vault, name: str, passphrase: bytes, profile) -> None:
    current = _fresh_keyring(vault)
    vault.save_keyring(keyrings.with_operator(current, name, passphrase, vault._key, profile))


def change_operator_passphrase(vault: Vault, name: str, old: bytes, new: bytes, profile) -> None:
    current = _fresh_keyring(vault)
    vault.save_keyring(keyrings.with_passphrase(current, name, old, new, profile))


def remove_operator_slot(vault: Vault, name: str) -> None:
    """Drop the slot and rekey: the removed operator may have kept the old vault key."""
    new_key = os.urandom(32)
    vault.rekey(keyrings.without_operator(vault.keyring, name, new_key), new_key)
