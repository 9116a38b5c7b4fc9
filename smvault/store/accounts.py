"""Accounts and their root of control."""

from __future__ import annotations

import json

from smvault.domain.control import ControlFacts
from smvault.domain.models import ACCOUNT_EDITABLE, Account, AccountStatus, MfaMethod
from smvault.store.connection import Connection

_FIELDS = ("id", "platform", "handle", *ACCOUNT_EDITABLE)
_COLUMNS = ", ".join(_FIELDS)


def _account(row) -> Account:
    values = dict(zip(_FIELDS, row))
    values["status"] = AccountStatus(values["status"])
    values["mfa"] = MfaMethod(values["mfa"])
    values["company_owned"] = bool(values["company_owned"])
    return Account(**values)


def _db_value(value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    return getattr(value, "value", value)


class Accounts:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, platform: str, handle: str, fields: dict[str, object], now: str) -> Account:
        assert set(fields) <= set(ACCOUNT_EDITABLE), fields
        names = ["platform", "handle", *fields, "created_at"]
        values = [platform, handle, *(_db_value(v) for v in fields.values()), now]
        cursor = self._conn.execute(
            f"INSERT INTO accounts ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            values,
        )
        return self.get(cursor.lastrowid)

    def get(self, account_id: int) -> Account | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return _account(row) if row else None

    def by_key(self, platform: str, handle: str) -> Account | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM accounts WHERE platform = ? AND handle = ?", (platform, handle)
        ).fetchone()
        return _account(row) if row else None

    def all(self) -> list[Account]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM accounts ORDER BY platform, handle")
        return [_account(r) for r in rows]

    def by_ids(self, ids: set[int]) -> dict[int, Account]:
        """One query however many ids (passed as one JSON array, not one parameter each)."""
        if not ids:
            return {}
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM accounts WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(ids)),),
        )
        return {r[0]: _account(r) for r in rows}

    def count(self, exclude_status: str | None = None) -> int:
        sql, params = "SELECT count(*) FROM accounts", ()
        if exclude_status is not None:
            sql, params = sql + " WHERE status != ?", (exclude_status,)
        return self._conn.execute(sql, params).fetchone()[0]

    def column_rows(
        self, names: tuple[str, ...], exclude_status: str | None = None, ordered: bool = True
    ) -> list[tuple]:
        """(id, *names) of every account as stored (plain values, no Account objects),
        ordered by platform, handle unless `ordered` is false (a plain table scan, cheaper):
        list views and bulk checks over thousands of accounts need a few fields each, and
        building full records costs more than the query."""
        assert set(names) <= set(_FIELDS), names
        sql = f"SELECT id, {', '.join(names)} FROM accounts" if names else "SELECT id FROM accounts"
        params: tuple = ()
        if exclude_status is not None:
            sql += " WHERE status != ?"
            params = (exclude_status,)
        if ordered:
            sql += " ORDER BY platform, handle"
        return self._conn.execute(sql, params).fetchall()

    def update(self, account_id: int, changes: dict[str, object]) -> Account:
        assert set(changes) <= set(ACCOUNT_EDITABLE), changes
        if changes:
            sets = ", ".join(f"{k} = ?" for k in changes)
            values = [_db_value(v) for v in changes.values()]
            self._conn.execute(f"UPDATE accounts SET {sets} WHERE id = ?", [*values, account_id])
        return self.get(account_id)

    # One account's facts for the control rule (domain.control.ControlFacts order).
    _CONTROL_FACTS = """
        SELECT a.id, a.login_id, a.mfa, a.recovery_email_controller_id,
               a.recovery_phone_controller_id, a.totp_holder_id,
               EXISTS (SELECT 1 FROM passwords p WHERE p.account_id = a.id),
               EXISTS (SELECT 1 FROM totp_secrets t WHERE t.account_id = a.id),
               (SELECT count(*) FROM recovery_codes r WHERE r.account_id = a.id AND r.used_at IS NULL)
        FROM accounts a"""

    def control_facts(self, account_id: int) -> ControlFacts | None:
        row = self._conn.execute(self._CONTROL_FACTS + " WHERE a.id = ?", (account_id,)).fetchone()
        return ControlFacts._make(row) if row else None

    def all_control_facts(self, exclude_status: str | None = "retired") -> list[ControlFacts]:
        """Facts of every account, except those in `exclude_status` (None: every account).

        The same facts as `control_facts`, read differently: one pass over each secrets
        table instead of three correlated look-ups per account is cheaper on large vaults.
        """
        conn = self._conn
        passwords = {r[0] for r in conn.execute("SELECT account_id FROM passwords")}
        seeds = {r[0] for r in conn.execute("SELECT account_id FROM totp_secrets")}
        codes = dict(conn.execute(
            "SELECT account_id, count(*) FROM recovery_codes WHERE used_at IS NULL GROUP BY account_id"
        ))
        sql = ("SELECT id, login_id, mfa, recovery_email_controller_id, recovery_phone_controller_id,"
               " totp_holder_id FROM accounts")
        rows = conn.execute(sql + " WHERE status != ?", (exclude_status,)) if exclude_status else conn.execute(sql)
        return [
            ControlFacts(aid, login, mfa, email_by, phone_by, holder, aid in passwords, aid in seeds,
                         codes.get(aid, 0))
            for aid, login, mfa, email_by, phone_by, holder in rows
        ]

    # --- added for offboarding (new methods; the ones above are unchanged) ---------------

    def involving(self, person_id: int, ids: set[int] | frozenset[int] = frozenset()) -> dict[int, Account]:
        """The accounts in `ids` and every account where the person is owner, backup owner,
        recovery email/phone controller or TOTP holder, in one scan (those columns have no
        index: one pass over the table beats five look-ups)."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM accounts WHERE id IN (SELECT value FROM json_each(?1))"
            " OR ?2 IN (owner_id, backup_owner_id, recovery_email_controller_id,"
            " recovery_phone_controller_id, totp_holder_id)",
            (json.dumps(sorted(ids)), person_id),
        )
        return {r[0]: _account(r) for r in rows}

    def control_facts_for(self, ids: set[int]) -> list[ControlFacts]:
        """`control_facts` of several accounts in one query."""
        if not ids:
            return []
        rows = self._conn.execute(
            self._CONTROL_FACTS + " WHERE a.id IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(ids)),),
        )
        return [ControlFacts._make(r) for r in rows]
