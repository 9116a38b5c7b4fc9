"""Access review rules: pure functions over workflow records."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from smvault.domain import review as rules
from smvault.domain.errors import ConflictError, InvalidInputError, PolicyError
from smvault.domain.models import Account, Grant, Level
from smvault.domain.workflow import Step, StepState, Workflow, WorkflowKind

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)


def test_decisions_are_keep_or_revoke():
    assert rules.parse_decision(" Revoke ") == "revoke"
    assert rules.parse_decision("keep") == "keep"
    with pytest.raises(InvalidInputError, match="keep or revoke, got 'drop'"):
        rules.parse_decision("drop")


def test_due_date_may_be_today_but_not_past():
    rules.check_due(date(2026, 11, 2), date(2026, 11, 2))
    rules.check_due(None, date(2026, 11, 2))
    with pytest.raises(InvalidInputError, match="2026-11-01 is in the past"):
        rules.check_due(date(2026, 11, 1), date(2026, 11, 2))


def test_overdue_only_after_the_due_day_and_while_open():
    due = date(2026, 11, 2)
    assert not rules.is_overdue(due, "open", date(2026, 11, 2))
    assert rules.is_overdue(due, "open", date(2026, 11, 3))
    assert not rules.is_overdue(due, "closed", date(2026, 11, 3))
    assert not rules.is_overdue(None, "open", date(2030, 1, 1))


def test_snapshot_steps_sorted_by_account_holder_level_with_facts():
    accounts = {1: Account(1, "x", "zeta"), 2: Account(2, "instagram", "acme")}
    holders = {10: rules.Holder("Bob", "bob@example.com"), 11: rules.Holder("Ann", "ann@example.com")}
    grants = [Grant(100, 10, 1, Level.REVEAL, None, None, NOW), Grant(101, 11, 2, Level.MANAGE, None, None, NOW),
              Grant(102, 10, 2, Level.CODE_ONLY, None, None, NOW), Grant(103, 11, 2, Level.CODE_ONLY, None, None, NOW)]
    steps = rules.snapshot_steps(grants, accounts, holders)
    assert [s.grant_id for s in steps] == [103, 101, 102, 100]
    assert steps[0].kind == "grant" and steps[0].account_id == 2
    assert steps[0].data == {"person_id": 11, "person_email": "ann@example.com", "person_name": "Ann",
                             "level": "code-only", "account_key": "instagram:acme"}


def _workflow(outcomes, state="open"):
    steps = tuple(
        Step(id=i, workflow_id=7, position=i, kind="grant", account_id=1, grant_id=100 + i, data={},
             state=StepState.DONE if o else StepState.OPEN, outcome=o)
        for i, o in enumerate(outcomes, 1)
    )
    closed = NOW if state == "closed" else None
    return Workflow(7, WorkflowKind.REVIEW, state, None, None, 1, NOW, 5, closed_at=closed, steps=steps)


def test_close_needs_every_item_decided():
    assert rules.progress(_workflow(["keep", None, "revoke"])) == (2, 3)
    with pytest.raises(PolicyError, match="1 of 3 undecided"):
        rules.require_closable(_workflow(["keep", None, "revoke"]))
    rules.require_closable(_workflow(["keep", "revoke"]))
    with pytest.raises(ConflictError, match="already closed"):
        rules.require_closable(_workflow(["keep"], state="closed"))


def test_scope_is_every_grant_not_revoked_nor_expired_whoever_holds_it():
    from datetime import timedelta

    grants = [Grant(1, 10, 1, Level.REVEAL, None, None, NOW),
              Grant(2, 11, 1, Level.REVEAL, None, None, NOW, revoked_at=NOW),
              Grant(3, 12, 1, Level.REVEAL, None, None, NOW, expires_at=NOW),
              Grant(4, 13, 1, Level.REVEAL, None, None, NOW, expires_at=NOW + timedelta(days=1))]
    assert [g.id for g in rules.in_scope(grants, NOW)] == [1, 4]


def test_a_holder_who_left_is_marked_in_the_snapshot():
    accounts = {1: Account(1, "x", "zeta")}
    holders = {10: rules.Holder("Bob", "bob@example.com"), 11: rules.Holder("Ann", "ann@example.com")}
    grants = [Grant(100, 10, 1, Level.REVEAL, None, None, NOW), Grant(101, 11, 1, Level.REVEAL, None, None, NOW)]
    steps = rules.snapshot_steps(grants, accounts, holders, left_ids={10})
    assert [(s.grant_id, s.data.get("holder_left", False)) for s in steps] == [(101, False), (100, True)]


def test_nobody_decides_on_their_own_grant():
    grant = Grant(100, 10, 1, Level.MANAGE, None, None, NOW)
    rules.require_not_own(grant, 11, 7, 3)
    with pytest.raises(PolicyError, match="review 7 item 3 is your own grant"):
        rules.require_not_own(grant, 10, 7, 3)
