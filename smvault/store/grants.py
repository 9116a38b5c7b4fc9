"""Grants: person x account x level."""

from __future__ import annotations

import json
from datetime import datetime

from smvault.domain.clock import parse_timestamp
from smvault.domain.models import Grant, Level
from smvault.store.connection import Connection
from smvault.store.rows import ts_or_none

_COLUMNS = "id, person_id, account_id, level, granted_by, reason, created_at, expires_at, revoked_at, revoked_by"


def _grant(row) -> Grant:
    return Grant(
        id=row[0],
        person_id=row[1],
        account_id=row[2],
        level=Level(row[3]),
        granted_by=row[4],
        reason=row[5],
        created_at=ts_or_none(row[6]),
        expires_at=ts_or_none(row[7]),
        revoked_at=ts_or_none(row[8]),
        revoked_by=row[9],
    )


class Grants:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, person_id: int, account_id: int, level: Level, granted_by: int,
            reason: str | None, expires_at: str | None, now: str) -> Grant:
        cursor = self._conn.execute(
            "INSERT INTO grants (person_id, account_id, level, granted_by, reason, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (person_id, account_id, level.value, granted_by, reason, now, expires_at),
        )
        return self.get(cursor.lastrowid)

    def get(self, grant_id: int) -> Grant | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM grants WHERE id = ?", (grant_id,)).fetchone()
        return _grant(row) if row else None

    def open_for(self, person_id: int, account_id: int) -> list[Grant]:
        """Unrevoked grants (possibly expired) of one person on one account."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM grants WHERE person_id = ? AND account_id = ? AND revoked_at IS NULL",
            (person_id, account_id),
        )
        return [_grant(r) for r in rows]

    def of_person(self, person_id: int, include_revoked: bool = False) -> list[Grant]:
        sql = f"SELECT {_COLUMNS} FROM grants WHERE person_id = ?"
        if not include_revoked:
            sql += " AND revoked_at IS NULL"
        return [_grant(r) for r in self._conn.execute(sql + " ORDER BY account_id, level", (person_id,))]

    def of_account(self, account_id: int, include_revoked: bool = False) -> list[Grant]:
        sql = f"SELECT {_COLUMNS} FROM grants WHERE account_id = ?"
        if not include_revoked:
            sql += " AND revoked_at IS NULL"
        return [_grant(r) for r in self._conn.execute(sql + " ORDER BY person_id, level", (account_id,))]

    def all(self, include_revoked: bool = False) -> list[Grant]:
        sql = f"SELECT {_COLUMNS} FROM grants"
        if not include_revoked:
            sql += " WHERE revoked_at IS NULL"
        return [_grant(r) for r in self._conn.execute(sql + " ORDER BY account_id, person_id, level")]

    def revoke(self, grant_id: int, operator_id: int, now: str) -> None:
        self._conn.execute(
            "UPDATE grants SET revoked_at = ?, revoked_by = ? WHERE id = ?", (now, operator_id, grant_id)
        )

    # Canonical timestamps sort lexically, so "in force" is decided in SQL without parsing.
    _IN_FORCE = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"

    def in_force_pairs(self, account_id: int, now: str) -> list[tuple[int, str]]:
        return self._conn.execute(
            f"SELECT person_id, level FROM grants WHERE account_id = ? AND {self._IN_FORCE}",
            (account_id, now),
        ).fetchall()

    def path_grants_by_account(self, now: str) -> dict[int, list[tuple[int, str]]]:
        """Grants in force that can put someone on a control path: platform-admin, and
        reveal/manage held by a current operator (nobody else can use the vault path).
        A plain table scan (+revoked_at) beats walking the partial index for every row."""
        by_account: dict[int, list[tuple[int, str]]] = {}
        for account_id, person_id, level in self._conn.execute(
            "SELECT account_id, person_id, level FROM grants "
            "WHERE +revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND ("
            " level = 'platform-admin' OR (level IN ('reveal', 'manage') AND person_id IN"
            " (SELECT person_id FROM operators WHERE removed_at IS NULL)))",
            (now,),
        ):
            pairs = by_account.get(account_id)  # not setdefault: no new list per row
            if pairs is None:
                by_account[account_id] = [(person_id, level)]
            else:
                pairs.append((person_id, level))
        return by_account

    # The read models below scan the table (+revoked_at): walking an index and looking up
    # each of tens of thousands of rows costs more than reading the table once.

    def in_force_counts_by_person(self, now: str) -> dict[int, int]:
        """Number of active (not revoked, not expired) grants per holder; holders with none
        are absent. Whether a holder has left is the caller's business."""
        counts: dict[int, int] = {}
        for (person_id,) in self._conn.execute(
            "SELECT person_id FROM grants WHERE +revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
            (now,),
        ):
            counts[person_id] = counts.get(person_id, 0) + 1
        return counts

    def count_in_force(self, now: str, today: str) -> int:
        """Active grants held by people who have not left (`today` is an ISO date): all
        active grants (one scan) minus the leavers' (through the person index)."""
        return self._conn.execute(
            "SELECT (SELECT count(*) FROM grants WHERE +revoked_at IS NULL"
            "        AND (expires_at IS NULL OR expires_at > ?1))"
            " - (SELECT count(*) FROM grants WHERE revoked_at IS NULL"
            "    AND (expires_at IS NULL OR expires_at > ?1) AND person_id IN"
            "    (SELECT id FROM people WHERE leave_on IS NOT NULL AND leave_on <= ?2))",
            (now, today),
        ).fetchone()[0]

    def expired_open(self, now: str) -> list[tuple[int, int, int, Level, datetime]]:
        """Grants past their expiry that nobody revoked, newest expiry first, as
        (grant id, person id, account id, level, expires_at): there can be thousands."""
        rows = self._conn.execute(
            "SELECT id, person_id, account_id, level, expires_at FROM grants"
            " WHERE +revoked_at IS NULL AND expires_at <= ? ORDER BY expires_at DESC, id DESC",
            (now,),
        )
        return [(gid, pid, aid, Level(level), parse_timestamp(expires)) for gid, pid, aid, level, expires in rows]

    def in_force_for(self, person_id: int, account_id: int, now: str) -> list[str]:
        rows = self._conn.execute(
            f"SELECT level FROM grants WHERE person_id = ? AND account_id = ? AND {self._IN_FORCE}",
            (person_id, account_id, now),
        )
        return [r[0] for r in rows]

    # --- added for offboarding (new methods; the ones above are unchanged) ---------------

    def path_grants_for(self, account_ids: set[int], now: str) -> dict[int, list[tuple[int, str]]]:
        """`path_grants_by_account` restricted to some accounts, through the account index."""
        by_account: dict[int, list[tuple[int, str]]] = {}
        if not account_ids:
            return by_account
        for account_id, person_id, level in self._conn.execute(
            "SELECT account_id, person_id, level FROM grants"
            " WHERE account_id IN (SELECT value FROM json_each(?1))"
            " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2) AND ("
            " level = 'platform-admin' OR (level IN ('reveal', 'manage') AND person_id IN"
            " (SELECT person_id FROM operators WHERE removed_at IS NULL)))",
            (json.dumps(sorted(account_ids)), now),
        ):
            by_account.setdefault(account_id, []).append((person_id, level))
        return by_account

    def revoke_many(self, grant_ids: list[int], operator_id: int, now: str) -> None:
        """Revoke several grants in one statement (those already revoked keep their record)."""
        self._conn.execute(
            "UPDATE grants SET revoked_at = ?, revoked_by = ? "
            "WHERE id IN (SELECT value FROM json_each(?)) AND revoked_at IS NULL",
            (now, operator_id, json.dumps(sorted(grant_ids))),
        )

    # --- added for governance reports (new methods; the ones above are unchanged) ----------

    def in_force_rows(self, now: str, person_ids: set[int] | None = None) -> list[tuple]:
        """Every grant in force (optionally only those of some people), joined to its holder,
        account and granting operator in one query, ordered by holder name, email, account
        key and level: (grant id, person id, account id, person name, email, leave_on,
        platform, handle, level, granted by operator name, created_at, expires_at).
        Plain stored values; a report over tens of thousands of grants builds no objects."""
        sql = (
            "SELECT g.id, g.person_id, g.account_id, p.name, p.email, p.leave_on, a.platform, a.handle,"
            " g.level, o.name, g.created_at, g.expires_at FROM grants g"
            " JOIN people p ON p.id = g.person_id JOIN accounts a ON a.id = g.account_id"
            " LEFT JOIN operators o ON o.id = g.granted_by"
            " WHERE +g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > ?1)"
        )
        params: tuple = (now,)
        if person_ids is not None:
            sql += " AND g.person_id IN (SELECT value FROM json_each(?2))"
            params = (now, json.dumps(sorted(person_ids)))
        sql += " ORDER BY p.name, p.email, a.platform, a.handle, g.level"
        return self._conn.execute(sql, params).fetchall()
