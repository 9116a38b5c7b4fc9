"""People: everyone who holds, held or controls access."""

from __future__ import annotations

from datetime import date

from smvault.domain.models import Person, PersonType
from smvault.store.connection import Connection
from smvault.store.rows import date_or_none

_COLUMNS = "id, name, email, team, region, type, manager_id, leave_on"


def _person(row) -> Person:
    return Person(
        id=row[0],
        name=row[1],
        email=row[2],
        team=row[3],
        region=row[4],
        type=PersonType(row[5]),
        manager_id=row[6],
        leave_on=date_or_none(row[7]),
    )


class People:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, name: str, email: str, team: str | None, region: str | None,
            type_: PersonType, manager_id: int | None, now: str) -> Person:
        cursor = self._conn.execute(
            "INSERT INTO people (name, email, team, region, type, manager_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (name, email, team, region, type_.value, manager_id, now),
        )
        return self.get(cursor.lastrowid)

    def get(self, person_id: int) -> Person | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM people WHERE id = ?", (person_id,)
        ).fetchone()
        return _person(row) if row else None

    def by_email(self, email: str) -> Person | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM people WHERE email = ?", (email,)
        ).fetchone()
        return _person(row) if row else None

    def all(self) -> list[Person]:
        return [_person(r) for r in self._conn.execute(f"SELECT {_COLUMNS} FROM people ORDER BY name, email")]

    def by_ids(self, ids: set[int]) -> dict[int, Person]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM people WHERE id IN ({marks})", list(ids))
        return {r[0]: _person(r) for r in rows}

    def update(self, person_id: int, changes: dict[str, object]) -> Person:
        allowed = {"name", "email", "team", "region", "type", "manager_id", "leave_on"}
        if not changes:
            return self.get(person_id)
        assert set(changes) <= allowed, changes
        sets = ", ".join(f"{k} = ?" for k in changes)
        values = [v.isoformat() if isinstance(v, date) else getattr(v, "value", v) for v in changes.values()]
        self._conn.execute(f"UPDATE people SET {sets} WHERE id = ?", [*values, person_id])
        return self.get(person_id)

    def labels(self) -> dict[int, tuple[str, str]]:
        """Every person's (name, email) by id: what list views show of the people an account
        names, without building thousands of Person objects."""
        return {pid: (name, email) for pid, name, email in self._conn.execute("SELECT id, name, email FROM people")}

    def count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM people").fetchone()[0]

    def with_leave_date(self) -> list[Person]:
        """Everyone marked as leaving, whether the day has come (left) or not (leaving)."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM people WHERE leave_on IS NOT NULL ORDER BY leave_on, name"
        )
        return [_person(r) for r in rows]

    def left_ids(self, today: date) -> set[int]:
        rows = self._conn.execute(
            "SELECT id FROM people WHERE leave_on IS NOT NULL AND leave_on <= ?", (today.isoformat(),)
        )
        return {r[0] for r in rows}
