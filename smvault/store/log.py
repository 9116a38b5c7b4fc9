"""The access log table: appending chained entries and reading them back as a stream."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from smvault.domain.logchain import (
    ChainLink,
    VerifyResult,
    canonical_body,
    entry_hash,
    entry_mac,
    genesis_hash,
    verify_rows,
)
from smvault.store.connection import Connection

_FETCH = 4096
_ROWS_SQL = (
    "SELECT seq, prev_hash, body, entry_hash, mac, key_epoch FROM log WHERE seq > ? ORDER BY seq"
)


class AccessLog:
    """Append-only access log over one connection. Appends must run inside a transaction."""

    def __init__(self, conn: Connection, vault_id: str) -> None:
        self._conn = conn
        self._genesis = ChainLink(0, genesis_hash(vault_id))

    @property
    def genesis(self) -> ChainLink:
        return self._genesis

    def create_key_epoch(self, now: str) -> int:
        """A fresh MAC key; later entries use it (after a rekey the removed operator lacks it)."""
        row = self._conn.execute("SELECT coalesce(max(epoch), 0) FROM log_keys").fetchone()
        epoch = row[0] + 1
        self._conn.execute(
            "INSERT INTO log_keys (epoch, key, created_at) VALUES (?, ?, ?)",
            (epoch, os.urandom(32), now),
        )
        return epoch

    def keys(self) -> dict[int, bytes]:
        return dict(self._conn.execute("SELECT epoch, key FROM log_keys"))

    def head(self) -> ChainLink:
        row = self._conn.execute(
            "SELECT seq, entry_hash FROM log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return ChainLink(row[0], bytes(row[1])) if row else self._genesis

    def append(self, fields: Mapping[str, Any]) -> ChainLink:
        """Chain one entry onto the head. The caller's BEGIN IMMEDIATE serialises writers."""
        if not self._conn.in_transaction:
            raise RuntimeError("log appends must run inside the action's transaction")
        head = self.head()
        epoch, key = self._conn.execute(
            "SELECT epoch, key FROM log_keys ORDER BY epoch DESC LIMIT 1"
        ).fetchone()
        seq = head.seq + 1
        body = canonical_body({**fields, "seq": seq})
        digest = entry_hash(head.entry_hash, body.encode())
        self._conn.execute(
            "INSERT INTO log (seq, prev_hash, body, entry_hash, mac, key_epoch) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (seq, head.entry_hash, body, digest, entry_mac(key, digest), epoch),
        )
        return ChainLink(seq, digest)

    def hash_at(self, seq: int) -> bytes | None:
        row = self._conn.execute("SELECT entry_hash FROM log WHERE seq = ?", (seq,)).fetchone()
        return bytes(row[0]) if row else None

    def raw_rows(self, after_seq: int = 0) -> Iterator[tuple]:
        """(seq, prev_hash, body bytes, entry_hash, mac, key_epoch) in order, streamed."""
        conn = self._conn
        previous = conn.text_factory
        conn.text_factory = bytes  # skip UTF-8 decoding: the chain hashes the stored bytes
        try:
            cursor = conn.execute(_ROWS_SQL, (after_seq,))
            while batch := cursor.fetchmany(_FETCH):
                yield from batch
        finally:
            conn.text_factory = previous

    def verify(self, start: ChainLink | None = None) -> VerifyResult:
        """Stream the chain from `start` (default: genesis) to the head; never loads it whole."""
        start = start or self._genesis
        return verify_rows(
            self.raw_rows(start.seq),
            start=start,
            keys=self.keys(),
            expected_first_seq=start.seq + 1,
        )

    def entries(
        self,
        *,
        limit: int | None = None,
        account_id: int | None = None,
        recipient_id: int | None = None,
        actions: tuple[str, ...] = (),
        operator: str | None = None,
        action_prefix: str | None = None,
        after_seq: int | None = None,
        newest_first: bool = True,
    ) -> list[dict[str, Any]]:
        """Parsed entries, filtered through the expression indexes (account, recipient) and
        the primary key (`after_seq`). `operator` matches the name exactly but ignoring
        ASCII case; `action_prefix` matches the start of the action ("secret." finds
        "secret.reveal"). Those two have no index: without an indexed filter, a rare value
        means reading the log back to its first entry (LIMIT stops the scan early)."""
        where, params = [], []
        if after_seq is not None:
            where.append("seq > ?")
            params.append(after_seq)
        if account_id is not None:
            where.append("json_extract(body, '$.account') = ?")
            params.append(account_id)
        if recipient_id is not None:
            where.append("json_extract(body, '$.to') = ?")
            params.append(recipient_id)
        if actions:
            where.append(f"json_extract(body, '$.action') IN ({','.join('?' * len(actions))})")
            params.extend(actions)
        if operator is not None:
            where.append("json_extract(body, '$.op') = ? COLLATE NOCASE")
            params.append(operator)
        if action_prefix:
            where.append("substr(json_extract(body, '$.action'), 1, ?) = ?")
            params.extend((len(action_prefix), action_prefix))
        sql = "SELECT body FROM log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq " + ("DESC" if newest_first else "ASC")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [json.loads(body) for (body,) in self._conn.execute(sql, params)]

    def count(self) -> int:
        return self.head().seq

    # --- added for offboarding (new methods; the ones above are unchanged) ---------------

    # Who learned a disclosed value: its recipient (`to`), or the operator who saw it on their
    # screen while handing it to someone else (`by`, only when it differs from `to`). Entries
    # older than `by` name that operator only by `op`: the last leg finds those through the
    # partial index of schema v5. The legs are disjoint, so UNION ALL never repeats an entry.
    _LEARNED_LEGS = (
        "json_extract(body, '$.to') = :person",
        "json_extract(body, '$.by') = :person",
        "json_extract(body, '$.for') IS NOT NULL AND json_extract(body, '$.by') IS NULL"
        " AND json_extract(body, '$.op') IN (SELECT value FROM json_each(:names))"
        " AND json_extract(body, '$.to') != :person",
    )

    def _learned_by(self, columns: str, person_id: int, actions: tuple[str, ...]) -> list[tuple]:
        # The person's operator names, removed operators included (names are never reused),
        # as a list the index can be searched with (an IN over a subquery scans it).
        names = [name for (name,) in self._conn.execute("SELECT name FROM operators WHERE person_id = ?",
                                                        (person_id,))]
        legs = self._LEARNED_LEGS if names else self._LEARNED_LEGS[:2]
        action = "json_extract(body, '$.action') IN (SELECT value FROM json_each(:actions))"
        sql = " UNION ALL ".join(f"SELECT {columns} FROM log WHERE {leg} AND {action}" for leg in legs)
        params = {"person": person_id, "actions": json.dumps(list(actions)), "names": json.dumps(names)}
        return self._conn.execute(sql, params).fetchall()

    def disclosures_to(self, person_id: int, actions: tuple[str, ...]) -> list[tuple]:
        """(seq, ts, action, account, field) of the entries with these actions that disclosed
        something to a person (recipient or operator), in no particular order. Found through
        the disclosure indexes; the fields are extracted in SQL, so no entry body is parsed in
        Python, and with no ORDER BY the covering indexes answer without reading the table."""
        return self._learned_by(
            "seq, json_extract(body, '$.ts'), json_extract(body, '$.action'),"
            " json_extract(body, '$.account'), json_extract(body, '$.field')", person_id, actions)

    def learned_entries(self, person_id: int, actions: tuple[str, ...]) -> list[dict[str, Any]]:
        """Parsed entries with these actions that disclosed something to a person, as
        recipient or as the operator who handed it over, oldest first."""
        rows = sorted(self._learned_by("seq, body", person_id, actions))
        return [json.loads(body) for _, body in rows]

    # The actions that set a secret; the same literal list as log_secret_set's WHERE (v5),
    # so SQLite can see the query is within that partial index.
    _SECRET_SETS = "('secret.password.set', 'secret.totp.set', 'secret.recovery-codes.add')"

    def latest_secret_sets(self, account_ids: set[int]) -> dict[tuple[int, str], tuple[int, str | None, int]]:
        """(account, action) -> (seq, ts, imported seq) for each account's sets of a password, a
        TOTP seed or recovery codes, through the log_secret_set index: `seq` and `ts` of the
        latest entry that replaced the secret (0 and None when none did), `imported seq` of the
        latest imported set (0 when none). Recovery codes added beside the old ones (`"retired":
        0`) replaced nothing, nor did imported values (`"via": "import"`), as in
        domain.offboarding.replaced_secret."""
        if not account_ids:
            return {}
        rows = self._conn.execute(
            "SELECT s.account, s.action, s.replaced, json_extract(l.body, '$.ts'), s.imported FROM ("
            " SELECT json_extract(body, '$.account') AS account, json_extract(body, '$.action') AS action,"
            "  max(CASE WHEN json_extract(body, '$.detail.via') IS 'import' THEN 0"
            "   WHEN json_extract(body, '$.detail.retired') IS NULL OR json_extract(body, '$.detail.retired') > 0"
            "   THEN seq ELSE 0 END) AS replaced,"
            "  max(CASE WHEN json_extract(body, '$.detail.via') IS 'import' THEN seq ELSE 0 END) AS imported"
            " FROM log WHERE json_extract(body, '$.account') IN (SELECT value FROM json_each(?))"
            f" AND json_extract(body, '$.action') IN {self._SECRET_SETS}"
            " GROUP BY 1, 2) s LEFT JOIN log l ON l.seq = s.replaced",
            (json.dumps(sorted(account_ids)),),
        )
        return {(account_id, action): (seq, ts, imported) for account_id, action, seq, ts, imported in rows}

    def entries_about(self, after_seq: int, *, person_id: int, operator_names: tuple[str, ...] = (),
                      account_actions: tuple[str, ...], person_actions: tuple[str, ...]) -> list[dict[str, Any]]:
        """Parsed entries after `after_seq`, oldest first, that are one of `account_actions`
        (on any account), or disclose anything to the person (as recipient `to`, as operator
        `by`, or, in entries older than `by`, as one of `operator_names` in `op`), or one of
        `person_actions` about the person. One range scan from `after_seq`; only the matching
        bodies are parsed in Python."""
        def marks(values: tuple[str, ...]) -> str:
            return ",".join("?" * len(values)) or "NULL"

        sql = (
            "SELECT body FROM log WHERE seq > ? AND ("
            f"json_extract(body, '$.action') IN ({marks(account_actions)})"
            " OR json_extract(body, '$.to') = ? OR json_extract(body, '$.by') = ?"
            " OR (json_extract(body, '$.to') IS NOT NULL"
            f"  AND json_extract(body, '$.op') IN ({marks(operator_names)}))"
            f" OR (json_extract(body, '$.action') IN ({marks(person_actions)})"
            "  AND json_extract(body, '$.person') = ?)) ORDER BY seq"
        )
        params = (after_seq, *account_actions, person_id, person_id, *operator_names, *person_actions, person_id)
        return [json.loads(body) for (body,) in self._conn.execute(sql, params)]

    # --- added for break-glass (new methods; the ones above are unchanged) ---------------

    # Every entry of a break-glass session (or made under an emergency grant) carries
    # `bg = {"id", "incident"}`; schema v6's partial index log_break_glass holds only those,
    # so both queries read a handful of rows however long the log is. The IS NOT NULL term
    # repeats the index's WHERE so SQLite sees the query is within it.

    def break_glass_entries(self, bg_id: str) -> list[dict[str, Any]]:
        """Parsed entries of one break-glass session (by `bg.id`), oldest first."""
        rows = self._conn.execute(
            "SELECT body FROM log WHERE json_extract(body, '$.bg.id') IS NOT NULL"
            " AND json_extract(body, '$.bg.id') = ? ORDER BY seq", (bg_id,))
        return [json.loads(body) for (body,) in rows]

    def break_glass_actions(self, action: str) -> list[dict[str, Any]]:
        """Parsed break-glass entries with this action (e.g. every `breakglass.unlock`), oldest first."""
        # INDEXED BY: without it SQLite prefers walking the whole log in seq order.
        rows = self._conn.execute(
            "SELECT body FROM log INDEXED BY log_break_glass WHERE json_extract(body, '$.bg.id') IS NOT NULL"
            " AND json_extract(body, '$.action') = ? ORDER BY seq", (action,))
        return [json.loads(body) for (body,) in rows]

    def kit_created(self, kit_id: str) -> dict[str, Any] | None:
        """The first `kit.create` entry for this kit id, or None (schema v6's log_kit_create
        index holds only `kit.create` entries, so this reads a handful of rows)."""
        row = self._conn.execute(
            "SELECT body FROM log INDEXED BY log_kit_create"
            " WHERE json_extract(body, '$.action') = 'kit.create'"
            " AND json_extract(body, '$.detail.kit_id') = ? ORDER BY seq LIMIT 1", (kit_id,)).fetchone()
        return json.loads(row[0]) if row else None

    # --- added for governance reports (new methods; the ones above are unchanged) ---------

    def first_seq_at(self, ts: str) -> int:
        """The seq of the first entry dated `ts` or later (the head's seq + 1 when none is),
        bisecting the primary key: about twenty look-ups however long the log. Timestamps
        follow log order, except where a machine's clock was behind (store.log_clock): such
        a step moves the boundary by as much, seconds against a report's ninety days."""
        low, high = 1, self.head().seq + 1
        while low < high:
            middle = (low + high) // 2
            row = self._conn.execute(
                "SELECT json_extract(body, '$.ts') FROM log WHERE seq >= ? ORDER BY seq LIMIT 1", (middle,)
            ).fetchone()
            if row is not None and row[0] < ts:
                low = middle + 1
            else:
                high = middle
        return low

    def account_users_since(self, first_seq: int) -> list[tuple]:
        """The distinct (account id, recipient person id `to`, operator name `op`) of the
        entries from `first_seq` on that name an account: who touched which account (an entry
        handed to someone else names both; its `by` is always `op`'s person). One range scan
        of the primary key, no entry parsed in Python. NOT INDEXED: otherwise SQLite walks the
        whole log_account index (every entry naming an account, however old)."""
        return self._conn.execute(
            "SELECT DISTINCT json_extract(body, '$.account'), json_extract(body, '$.to'),"
            " json_extract(body, '$.op') FROM log NOT INDEXED"
            " WHERE seq >= ? AND json_extract(body, '$.account') IS NOT NULL",
            (first_seq,),
        ).fetchall()
