"""Opening the SQLCipher database: keying, safe pragmas, and telling damage from a wrong key.

This module and its siblings are the only code that imports sqlcipher3.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import sqlcipher3

from smvault.domain.errors import IntegrityError, SmvaultError

DB_FILE = "vault.db"
BUSY_TIMEOUT_MS = 15_000

DatabaseError = sqlcipher3.DatabaseError
Connection = sqlcipher3.Connection


class StoreError(SmvaultError):
    title = "Vault"


def _raw_key_pragma(key: bytes) -> str:
    if len(key) != 32:
        raise ValueError("vault key must be 32 bytes")
    # A raw key skips SQLCipher's own PBKDF2: the key already came out of Argon2id + AEAD.
    return f"PRAGMA key = \"x'{key.hex()}'\""


def connect(path: Path, key: bytes, *, create: bool = False) -> Connection:
    """A keyed connection with smvault's pragmas, probed so a bad key or page 1 fails here."""
    if not create and not path.exists():
        raise StoreError(f"no vault database at {path}")
    conn = sqlcipher3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        # Before keying: otherwise SQLCipher logs decryption errors to stderr, over the TUI.
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(_raw_key_pragma(key))
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _probe(conn, path)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit that returned is on disk (every logged action is durable).
        conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        conn.close()
        raise
    return conn


def _probe(conn: Connection, path: Path) -> None:
    # SQLCipher only notices a wrong key (or a damaged page 1) on the first read.
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except DatabaseError:
        raise IntegrityError(
            f"the vault database {path.name} cannot be decrypted with this vault's key: "
            "its first page or its schema is damaged, or the file belongs to another vault"
        ) from None


def page_integrity_problems(conn: Connection, limit: int = 20) -> list[str]:
    """Pages whose HMAC fails (cipher_integrity_check) plus SQLite's own structural check."""
    problems = [row[0] for row in conn.execute("PRAGMA cipher_integrity_check")][:limit]
    if problems:
        # SQLite's own check would trip over the same unreadable pages; report what we have.
        return problems
    try:
        quick = [row[0] for row in conn.execute(f"PRAGMA quick_check({limit})")]
    except DatabaseError as exc:
        return [f"structural check failed: {exc}"]
    return [p for p in quick if p != "ok"]


class Transactions:
    """BEGIN IMMEDIATE at the outermost level, SAVEPOINTs inside, rollback on any error.

    IMMEDIATE takes the write lock at once, so two processes appending to the log queue up
    instead of both reading the same chain head.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._depth = 0
        self._owner = threading.get_ident()

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Connection]:
        if threading.get_ident() != self._owner:
            raise RuntimeError("the vault connection is used from a thread that does not own it")
        conn = self._conn
        if self._depth == 0:
            conn.execute("BEGIN IMMEDIATE")
        else:
            conn.execute(f"SAVEPOINT sp{self._depth}")
        self._depth += 1
        try:
            yield conn
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                conn.execute("ROLLBACK")
            else:
                conn.execute(f"ROLLBACK TO sp{self._depth}")
                conn.execute(f"RELEASE sp{self._depth}")
            raise
        else:
            self._depth -= 1
            if self._depth == 0:
                conn.execute("COMMIT")
            else:
                conn.execute(f"RELEASE sp{self._depth}")

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0
