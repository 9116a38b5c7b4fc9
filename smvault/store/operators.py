"""Operators: people allowed to unlock the vault (each has a keyring slot)."""

from __future__ import annotations

from smvault.domain.models import Operator
from smvault.store.connection import Connection
from smvault.store.rows import ts_or_none

_COLUMNS = "id, name, person_id, created_at, removed_at"


def _operator(row) -> Operator:
    return Operator(row[0], row[1], row[2], ts_or_none(row[3]), ts_or_none(row[4]))


class Operators:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, name: str, person_id: int, now: str) -> Operator:
        cursor = self._conn.execute(
            "INSERT INTO operators (name, person_id, created_at) VALUES (?, ?, ?)",
            (name, person_id, now),
        )
        return self.get(cursor.lastrowid)

    def get(self, operator_id: int) -> Operator | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM operators WHERE id = ?", (operator_id,)).fetchone()
        return _operator(row) if row else None

    def by_name(self, name: str) -> Operator | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM operators WHERE name = ? AND removed_at IS NULL", (name,)
        ).fetchone()
        return _operator(row) if row else None

    def active(self) -> list[Operator]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM operators WHERE removed_at IS NULL ORDER BY name"
        )
        return [_operator(r) for r in rows]

    def remove(self, operator_id: int, now: str) -> None:
        self._conn.execute("UPDATE operators SET removed_at = ? WHERE id = ?", (now, operator_id))

    def person_ids(self) -> set[int]:
        rows = self._conn.execute("SELECT person_id FROM operators WHERE removed_at IS NULL")
        return {r[0] for r in rows}
