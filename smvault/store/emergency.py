"""Emergency access in force, looked up on every disclosure (kept to one small query).

Emergency requests are workflows of kind 'emergency' (store.workflows holds them); these
answer the questions the reveal path and the banner ask, through the index of open workflows
(workflows_open: few rows) and the grants' primary key, without loading any workflow or step.

Access is in force while its 'reveal' grant is: the request is active and open, and the
grant it made is neither revoked nor expired. The grant is what the reveal path checks, so
the marker follows it exactly (whatever the window's start, or a clock set back after it).
"""

from __future__ import annotations

from smvault.store.connection import Connection

_IN_FORCE = (
    "FROM workflows w JOIN grants g ON g.id = json_extract(w.data, '$.grant_id')"
    " AND g.person_id = w.person_id AND g.account_id = w.account_id"
    " WHERE w.kind = 'emergency' AND w.closed_at IS NULL AND w.state = 'active'"
    " AND g.revoked_at IS NULL AND g.expires_at > :now"
)


class EmergencyAccess:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def in_force(self, account_id: int, now: str, operator_person_id: int,
                 recipient_id: int | None = None) -> tuple[int, str] | None:
        """(workflow id, incident) of emergency access to the account in force at `now` (a
        canonical timestamp; they sort lexically) held by the operator's person or by the
        recipient's, or None. When both hold one, the operator's: their access is what put
        the value on this screen (then the newest, should one person somehow hold two)."""
        return self._conn.execute(
            "SELECT w.id, json_extract(w.data, '$.incident') " + _IN_FORCE +
            " AND w.account_id = :account AND w.person_id IN (:operator, :recipient)"
            " ORDER BY w.person_id = :operator DESC, w.id DESC LIMIT 1",
            {"account": account_id, "now": now, "operator": operator_person_id,
             "recipient": recipient_id if recipient_id is not None else operator_person_id},
        ).fetchone()

    def in_force_for(self, person_id: int, now: str) -> list[int]:
        """Ids of the person's emergency access in force at `now`, newest first."""
        rows = self._conn.execute(
            "SELECT w.id " + _IN_FORCE + " AND w.person_id = :person ORDER BY w.id DESC",
            {"person": person_id, "now": now},
        )
        return [row[0] for row in rows]
