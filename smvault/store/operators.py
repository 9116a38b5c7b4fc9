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

    def add(self, name: str, person_id: int, now: str, added_by: int | None = None,
            added_in_break_glass: str | None = None) -> Operator:
        """`added_by`: the operator who added this one (None for a vault's first operator,
        and for one added by a recovery session, whose id is `added_in_break_glass`)."""
        if added_in_break_glass is not None:
            cursor = self._conn.execute(
                "INSERT INTO operators (name, person_id, created_at, added_in_break_glass)"
                " VALUES (?, ?, ?, ?)",
                (name, person_id, now, added_in_break_glass),
            )
            return self.get(cursor.lastrowid)
        if added_by is None:  # also the path of a vault created before schema v4 (tests)
            cursor = self._conn.execute(
                "INSERT INTO operators (name, person_id, created_at) VALUES (?, ?, ?)",
                (name, person_id, now),
            )
        else:
            cursor = self._conn.execute(
                "INSERT INTO operators (name, person_id, created_at, added_by) VALUES (?, ?, ?, ?)",
                (name, person_id, now, added_by),
            )
        return self.get(cursor.lastrowid)

    def added_by(self, operator_id: int) -> int | None:
        """The id of the operator who added this one; None for the first operator."""
        row = self._conn.execute("SELECT added_by FROM operators WHERE id = ?", (operator_id,)).fetchone()
        return row[0] if row else None

    def passphrase_changed(self, operator_id: int, now: str) -> None:
        self._conn.execute("UPDATE operators SET passphrase_changed_at = ? WHERE id = ?", (now, operator_id))

    def added_in_break_glass(self, operator_id: int) -> str | None:
        """The id of the recovery session that added this operator, or None."""
        row = self._conn.execute(
            "SELECT added_in_break_glass FROM operators WHERE id = ?", (operator_id,)
        ).fetchone()
        return row[0] if row else None

    def has_own_passphrase(self, operator_id: int) -> bool:
        """True once the operator changed the passphrase chosen by whoever added them (and
        always for a vault's first operator, who chose theirs). One added by a recovery
        session has a passphrase chosen by whoever held the shares: not their own either."""
        row = self._conn.execute(
            "SELECT (added_by IS NULL AND added_in_break_glass IS NULL)"
            " OR passphrase_changed_at IS NOT NULL FROM operators WHERE id = ?",
            (operator_id,),
        ).fetchone()
        return bool(row and row[0])

    def names_of(self, person_id: int) -> set[str]:
        """The names of every operator (removed ones too) who is this person."""
        rows = self._conn.execute("SELECT name FROM operators WHERE person_id = ?", (person_id,))
        return {r[0] for r in rows}

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

    # --- added for governance reports (new methods; the ones above are unchanged) ----------

    def person_ids_by_name(self) -> dict[str, int]:
        """Every operator name (removed operators too: the log still names them) -> person id."""
        return dict(self._conn.execute("SELECT name, person_id FROM operators"))
