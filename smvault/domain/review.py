"""Access review: a snapshot of the grants in force, each decided once (keep or revoke).

A review is a workflow whose steps are the grants it snapshotted. A decision resolves its
step for good (outcome keep|revoke): it cannot be changed, and the review closes only when
every grant has one. These rules are pure; `services.review` applies them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from smvault.domain.errors import InvalidInputError, PolicyError
from smvault.domain.models import Account, Grant
from smvault.domain.workflow import StepSpec, Workflow, require_open

KEEP = "keep"
REVOKE = "revoke"
DECISIONS = (KEEP, REVOKE)
OPEN = "open"
CLOSED = "closed"
STEP_KIND = "grant"


def parse_decision(value: str) -> str:
    decision = value.strip().lower()
    if decision not in DECISIONS:
        raise InvalidInputError(f"decision must be keep or revoke, got {value!r}")
    return decision


def check_due(due: date | None, today: date) -> None:
    if due is not None and due < today:
        raise InvalidInputError(f"the due date {due.isoformat()} is in the past (today is {today.isoformat()})")


@dataclass(frozen=True)
class Holder:
    """What a review step remembers of a grant's holder, as it was at the snapshot."""

    name: str
    email: str


def in_scope(grants: Iterable[Grant], now: datetime) -> list[Grant]:
    """The grants a review snapshots: every one not revoked and not expired, including those
    of people who have left: access a leaver still holds is exactly what a review must catch."""
    return [g for g in grants if g.active(now)]


def snapshot_steps(grants: Iterable[Grant], accounts: Mapping[int, Account],
                   holders: Mapping[int, Holder], left_ids: Collection[int] = ()) -> list[StepSpec]:
    """One step per grant, ordered by account key, holder email and level, so positions read
    like a report. The step keeps the facts as they were: a renamed account or person later
    does not change what was reviewed. A holder who had left at the snapshot is marked."""
    rows = []
    for grant in grants:
        account, holder = accounts[grant.account_id], holders[grant.person_id]
        rows.append((account.key, holder.email, grant.level.value, grant, holder))
    rows.sort(key=lambda r: r[:3])
    return [
        StepSpec(kind=STEP_KIND, grant_id=grant.id, account_id=grant.account_id, data={
            "person_id": grant.person_id, "person_email": holder.email, "person_name": holder.name,
            "level": level, "account_key": key,
            **({"holder_left": True} if grant.person_id in left_ids else {}),
        })
        for key, _, level, grant, holder in rows
    ]


def require_not_own(grant: Grant, reviewer_person_id: int, review_id: int, position: int) -> None:
    """Nobody vouches for their own access: another operator decides on it."""
    if grant.person_id == reviewer_person_id:
        raise PolicyError(
            f"review {review_id} item {position} is your own grant: another operator must decide on it"
        )


def progress(workflow: Workflow) -> tuple[int, int]:
    """(decided, total)."""
    return sum(1 for s in workflow.steps if s.done), len(workflow.steps)


def require_closable(workflow: Workflow) -> None:
    require_open(workflow)
    decided, total = progress(workflow)
    if decided < total:
        raise PolicyError(
            f"review {workflow.id} cannot close: {total - decided} of {total} undecided "
            "(every grant needs keep or revoke)"
        )


def is_overdue(due: date | None, state: str, today: date) -> bool:
    """Past its due day and still open (due day itself is still on time)."""
    return due is not None and state == OPEN and today > due
