"""Workflow records and their steps (the rules that move them live in the domain)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from smvault.domain.workflow import Step, StepSpec, StepState, Workflow, WorkflowKind
from smvault.store.connection import Connection
from smvault.store.rows import ts_or_none

_WF_COLUMNS = ("id, kind, state, person_id, account_id, opened_by, opened_at, opened_seq, "
               "closed_by, closed_at, data")
_STEP_COLUMNS = ("id, workflow_id, position, kind, account_id, grant_id, data, state, outcome, "
                 "done_by, done_at, evidence")


def _step(row) -> Step:
    return Step(
        id=row[0], workflow_id=row[1], position=row[2], kind=row[3], account_id=row[4],
        grant_id=row[5], data=json.loads(row[6]), state=StepState(row[7]), outcome=row[8],
        done_by=row[9], done_at=ts_or_none(row[10]), evidence=row[11],
    )


def _workflow(row, steps: tuple[Step, ...]) -> Workflow:
    return Workflow(
        id=row[0], kind=WorkflowKind(row[1]), state=row[2], person_id=row[3], account_id=row[4],
        opened_by=row[5], opened_at=ts_or_none(row[6]), opened_seq=row[7], closed_by=row[8],
        closed_at=ts_or_none(row[9]), data=json.loads(row[10]), steps=steps,
    )


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


class Workflows:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, kind: WorkflowKind, state: str, *, person_id: int | None, account_id: int | None,
            opened_by: int | None, opened_at: str, opened_seq: int, data: dict[str, Any],
            steps: Iterable[StepSpec]) -> Workflow:
        cursor = self._conn.execute(
            "INSERT INTO workflows (kind, state, person_id, account_id, opened_by, opened_at, "
            "opened_seq, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (kind.value, state, person_id, account_id, opened_by, opened_at, opened_seq, _json(data)),
        )
        workflow_id = cursor.lastrowid
        self.add_steps(workflow_id, steps)
        return self.get(workflow_id)

    def add_steps(self, workflow_id: int, steps: Iterable[StepSpec]) -> None:
        start = self._conn.execute(
            "SELECT coalesce(max(position), 0) FROM workflow_steps WHERE workflow_id = ?", (workflow_id,)
        ).fetchone()[0]
        self._conn.executemany(
            "INSERT INTO workflow_steps (workflow_id, position, kind, account_id, grant_id, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(workflow_id, start + i, s.kind, s.account_id, s.grant_id, _json(s.data))
             for i, s in enumerate(steps, 1)],
        )

    def get(self, workflow_id: int) -> Workflow | None:
        row = self._conn.execute(f"SELECT {_WF_COLUMNS} FROM workflows WHERE id = ?", (workflow_id,)).fetchone()
        if row is None:
            return None
        steps = tuple(_step(r) for r in self._conn.execute(
            f"SELECT {_STEP_COLUMNS} FROM workflow_steps WHERE workflow_id = ? ORDER BY position",
            (workflow_id,),
        ))
        return _workflow(row, steps)

    def find(self, kind: WorkflowKind, *, open_only: bool = True, person_id: int | None = None,
             account_id: int | None = None) -> list[Workflow]:
        """Workflows of a kind (newest first), optionally about one person or account."""
        where, params = ["kind = ?"], [kind.value]
        if open_only:
            where.append("closed_at IS NULL")
        if person_id is not None:
            where.append("person_id = ?")
            params.append(person_id)
        if account_id is not None:
            where.append("account_id = ?")
            params.append(account_id)
        ids = [r[0] for r in self._conn.execute(
            f"SELECT id FROM workflows WHERE {' AND '.join(where)} ORDER BY id DESC", params)]
        return [self.get(i) for i in ids]

    def summaries(self, open_only: bool = True) -> list[tuple]:
        """(id, kind, state, person_id, account_id, opened_at, steps, steps done) of every
        workflow, newest first, in one query: lists and dashboards need no step rows."""
        sql = ("SELECT w.id, w.kind, w.state, w.person_id, w.account_id, w.opened_at,"
               " count(s.id), count(s.done_at) FROM workflows w"
               " LEFT JOIN workflow_steps s ON s.workflow_id = w.id")
        if open_only:
            sql += " WHERE w.closed_at IS NULL"
        return self._conn.execute(sql + " GROUP BY w.id ORDER BY w.id DESC").fetchall()

    def count_open(self) -> dict[str, int]:
        return dict(self._conn.execute(
            "SELECT kind, count(*) FROM workflows WHERE closed_at IS NULL GROUP BY kind"))

    def set_state(self, workflow_id: int, state: str, data: dict[str, Any] | None = None) -> None:
        if data is None:
            self._conn.execute("UPDATE workflows SET state = ? WHERE id = ?", (state, workflow_id))
        else:
            self._conn.execute("UPDATE workflows SET state = ?, data = ? WHERE id = ?",
                               (state, _json(data), workflow_id))

    def close(self, workflow_id: int, state: str, closed_by: int, closed_at: str,
              data: dict[str, Any] | None = None) -> None:
        self._conn.execute(
            "UPDATE workflows SET state = ?, closed_by = ?, closed_at = ?, data = coalesce(?, data) "
            "WHERE id = ?",
            (state, closed_by, closed_at, _json(data) if data is not None else None, workflow_id),
        )

    def complete_step(self, step_id: int, done_by: int, done_at: str, evidence: str | None,
                      outcome: str | None = None) -> None:
        """Resolve a step once: the WHERE makes a second resolution a no-op the caller sees."""
        cursor = self._conn.execute(
            "UPDATE workflow_steps SET state = 'done', done_by = ?, done_at = ?, evidence = ?, "
            "outcome = ? WHERE id = ? AND state = 'open'",
            (done_by, done_at, evidence, outcome, step_id),
        )
        if cursor.rowcount != 1:
            raise RuntimeError(f"step {step_id} was not open")

    def set_step_data(self, step_id: int, data: dict[str, Any]) -> None:
        self._conn.execute("UPDATE workflow_steps SET data = ? WHERE id = ?", (_json(data), step_id))

    # Added for access reviews and roster sync (new methods; the ones above are unchanged).

    def headers(self, kind: WorkflowKind, open_only: bool = True) -> list[tuple[Workflow, int, int]]:
        """Workflows of a kind without their step rows, each with (steps, steps done), newest
        first, in one query: a list of reviews must not load every snapshotted grant."""
        sql = (f"SELECT {', '.join('w.' + c.strip() for c in _WF_COLUMNS.split(','))},"
               " count(s.id), count(s.done_at) FROM workflows w"
               " LEFT JOIN workflow_steps s ON s.workflow_id = w.id WHERE w.kind = ?")
        if open_only:
            sql += " AND w.closed_at IS NULL"
        rows = self._conn.execute(sql + " GROUP BY w.id ORDER BY w.id DESC", (kind.value,))
        return [(_workflow(r[:11], ()), r[11], r[12]) for r in rows]

    def person_ids(self, kind: WorkflowKind, open_only: bool = False) -> set[int]:
        """People who have (or had, unless `open_only`) a workflow of this kind about them."""
        sql = "SELECT DISTINCT person_id FROM workflows WHERE kind = ? AND person_id IS NOT NULL"
        if open_only:
            sql += " AND closed_at IS NULL"
        return {r[0] for r in self._conn.execute(sql, (kind.value,))}

    def open_headers(self) -> dict[int, Workflow]:
        """Every open workflow's record without its steps, by id, in one query (no join)."""
        rows = self._conn.execute(f"SELECT {_WF_COLUMNS} FROM workflows WHERE closed_at IS NULL")
        return {r[0]: _workflow(r, ()) for r in rows}

    def header(self, workflow_id: int) -> Workflow | None:
        """The workflow record without its steps (one row, however many steps it has)."""
        row = self._conn.execute(f"SELECT {_WF_COLUMNS} FROM workflows WHERE id = ?", (workflow_id,)).fetchone()
        return _workflow(row, ()) if row else None

    def step_at(self, workflow_id: int, position: int) -> Step | None:
        row = self._conn.execute(
            f"SELECT {_STEP_COLUMNS} FROM workflow_steps WHERE workflow_id = ? AND position = ?",
            (workflow_id, position),
        ).fetchone()
        return _step(row) if row else None
