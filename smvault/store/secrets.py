"""Secret values: passwords, TOTP seeds, recovery codes. Encrypted at rest by SQLCipher."""

from __future__ import annotations

import json
from datetime import datetime

from smvault.domain.models import CredentialState, RecoveryCode, SecretDates
from smvault.domain.otp import OtpParams
from smvault.store.connection import Connection
from smvault.store.rows import ts_or_none


class Secrets:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def set_password(self, account_id: int, value: str, now: str) -> None:
        self._conn.execute(
            "INSERT INTO passwords (account_id, value, rotated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (account_id) DO UPDATE SET value = excluded.value, rotated_at = excluded.rotated_at",
            (account_id, value, now),
        )

    def password(self, account_id: int) -> tuple[str, datetime] | None:
        row = self._conn.execute(
            "SELECT value, rotated_at FROM passwords WHERE account_id = ?", (account_id,)
        ).fetchone()
        return (row[0], ts_or_none(row[1])) if row else None

    def set_totp(self, account_id: int, params: OtpParams, now: str) -> None:
        self._conn.execute(
            "INSERT INTO totp_secrets (account_id, secret, kind, algorithm, digits, period, counter, enrolled_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET "
            "secret = excluded.secret, kind = excluded.kind, algorithm = excluded.algorithm, "
            "digits = excluded.digits, period = excluded.period, counter = excluded.counter, "
            "enrolled_at = excluded.enrolled_at",
            (account_id, params.secret, params.kind, params.algorithm, params.digits,
             params.period, params.counter, now),
        )

    def totp(self, account_id: int) -> OtpParams | None:
        row = self._conn.execute(
            "SELECT secret, kind, algorithm, digits, period, counter FROM totp_secrets WHERE account_id = ?",
            (account_id,),
        ).fetchone()
        if not row:
            return None
        return OtpParams(secret=bytes(row[0]), kind=row[1], algorithm=row[2], digits=row[3],
                         period=row[4], counter=row[5])

    def advance_hotp(self, account_id: int) -> None:
        self._conn.execute(
            "UPDATE totp_secrets SET counter = counter + 1 WHERE account_id = ?", (account_id,)
        )

    def add_recovery_codes(self, account_id: int, codes: list[str], now: str) -> None:
        self._conn.executemany(
            "INSERT INTO recovery_codes (account_id, code, created_at) VALUES (?, ?, ?)",
            [(account_id, code, now) for code in codes],
        )

    def retire_unused_recovery_codes(self, account_id: int, now: str) -> int:
        """Mark older unused codes used: a regenerated set invalidates the previous one."""
        cursor = self._conn.execute(
            "UPDATE recovery_codes SET used_at = ? WHERE account_id = ? AND used_at IS NULL",
            (now, account_id),
        )
        return cursor.rowcount

    def recovery_codes(self, account_id: int, unused_only: bool = False) -> list[RecoveryCode]:
        sql = "SELECT id, account_id, code, created_at, used_at FROM recovery_codes WHERE account_id = ?"
        if unused_only:
            sql += " AND used_at IS NULL"
        rows = self._conn.execute(sql + " ORDER BY id", (account_id,))
        return [RecoveryCode(r[0], r[1], r[2], ts_or_none(r[3]), ts_or_none(r[4])) for r in rows]

    def mark_recovery_code_used(self, code_id: int, now: str) -> None:
        self._conn.execute("UPDATE recovery_codes SET used_at = ? WHERE id = ?", (now, code_id))

    def password_rotations(self) -> dict[int, datetime]:
        """When each stored password was set, by account id (never the values)."""
        rows = self._conn.execute("SELECT account_id, rotated_at FROM passwords")
        return {account_id: ts_or_none(rotated_at) for account_id, rotated_at in rows}

    def counts(self) -> dict[str, int]:
        """How many passwords, TOTP seeds and unused recovery codes the vault holds."""
        passwords, seeds, codes = self._conn.execute(
            "SELECT (SELECT count(*) FROM passwords), (SELECT count(*) FROM totp_secrets), "
            "(SELECT count(*) FROM recovery_codes WHERE used_at IS NULL)"
        ).fetchone()
        return {"passwords": passwords, "totp_seeds": seeds, "recovery_codes_unused": codes}

    def state(self, account_id: int) -> CredentialState:
        pw = self._conn.execute(
            "SELECT rotated_at FROM passwords WHERE account_id = ?", (account_id,)
        ).fetchone()
        totp = self._conn.execute(
            "SELECT kind, period FROM totp_secrets WHERE account_id = ?", (account_id,)
        ).fetchone()
        total, unused = self._conn.execute(
            "SELECT count(*), coalesce(sum(used_at IS NULL), 0) FROM recovery_codes WHERE account_id = ?",
            (account_id,),
        ).fetchone()
        return CredentialState(
            has_password=pw is not None,
            password_rotated_at=ts_or_none(pw[0]) if pw else None,
            has_totp_seed=totp is not None,
            totp_kind=totp[0] if totp else None,
            totp_period=totp[1] if totp else None,
            recovery_codes_total=total,
            recovery_codes_unused=unused,
        )

    # --- added for offboarding (new methods; the ones above are unchanged) ---------------

    def dates_for(self, account_ids: set[int]) -> dict[int, SecretDates]:
        """When each account's password and TOTP seed were set and its oldest unused recovery
        code was stored (never the values), for several accounts in one query."""
        if not account_ids:
            return {}
        rows = self._conn.execute(
            "SELECT ids.value, p.rotated_at, t.enrolled_at,"
            " (SELECT min(r.created_at) FROM recovery_codes r"
            "  WHERE r.account_id = ids.value AND r.used_at IS NULL)"
            " FROM json_each(?) ids"
            " LEFT JOIN passwords p ON p.account_id = ids.value"
            " LEFT JOIN totp_secrets t ON t.account_id = ids.value",
            (json.dumps(sorted(account_ids)),),
        )
        return {aid: SecretDates(ts_or_none(pw), ts_or_none(seed), ts_or_none(code))
                for aid, pw, seed, code in rows}

    # --- added for governance reports (new methods; the ones above are unchanged) ----------

    def recovery_code_counts(self) -> dict[int, tuple[int, int]]:
        """(codes stored, codes unused) by account id, for accounts with any (never the codes)."""
        rows = self._conn.execute(
            "SELECT account_id, count(*), coalesce(sum(used_at IS NULL), 0) FROM recovery_codes GROUP BY account_id"
        )
        return {account_id: (total, unused) for account_id, total, unused in rows}
