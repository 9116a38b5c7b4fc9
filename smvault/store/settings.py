"""Vault-wide settings: named values in the `meta` table (beside the vault id and creation time).

Settings are inside the encrypted database, so changing one needs the vault key, and the
service that changes one logs it in the same transaction.
"""

from __future__ import annotations

from smvault.store.connection import Connection

# Keys the vault itself writes (once at creation; the keyring's record, store.vault): a
# setting never overwrites them.
_RESERVED = frozenset({"vault_id", "created_at", "keyring_public", "keyring_public_pending"})


class Settings:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def with_prefix(self, prefix: str) -> dict[str, str]:
        """Every setting whose key starts with `prefix` (exact, case-sensitive)."""
        rows = self._conn.execute(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key", (len(prefix), prefix)
        )
        return dict(rows)

    def put(self, key: str, value: str | None) -> None:
        """Set `key` to `value`; None removes it."""
        if key in _RESERVED:
            raise ValueError(f"{key} is not a setting")
        if value is None:
            self._conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
