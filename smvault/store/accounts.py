"""Accounts and their root of control."""

from __future__ import annotations

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

    def update(self, account_id: int, changes: dict[str, object]) -> Account:
        assert set(changes) <= set(ACCOUNT_EDITABLE), changes
        if changes:
            sets = ", ".join(f"{k} = ?" for k in changes)
            values = [_db_value(v) for v in changes.values()]
            self._conn.execute(f"UPDATE accounts SET {sets} WHERE id = ?", [*values, account_id])
        return self.get(account_id)

    # One query for every fact the control rule needs (domain.control.ControlFacts order).
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

    def all_control_facts(self, exclude_status: str = "retired") -> list[ControlFacts]:
        rows = self._conn.execute(self._CONTROL_FACTS + " WHERE a.status != ?", (exclude_status,))
        return list(map(ControlFacts._make, rows))
