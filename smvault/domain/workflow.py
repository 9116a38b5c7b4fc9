"""What every workflow shares: a record with steps, each step resolved once with evidence.

Offboarding, ownership transfer and access review (`domain.offboarding`, `domain.transfer`,
`domain.review`) are state machines over these records. The records are plain values: the
rules that move them are pure functions, and `services` persists what they decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from smvault.domain.errors import ConflictError, NotFoundError


class WorkflowKind(StrEnum):
    OFFBOARDING = "offboarding"
    TRANSFER = "transfer"
    REVIEW = "review"
    EMERGENCY = "emergency"  # scoped, time-boxed access to one account (domain.emergency)
    POST_INCIDENT = "post-incident"  # rotation after a break-glass session or grant


class StepState(StrEnum):
    OPEN = "open"
    DONE = "done"


@dataclass(frozen=True)
class StepSpec:
    """A step to create: what it is about, and its kind-specific facts (JSON-able)."""

    kind: str
    account_id: int | None = None
    grant_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    id: int
    workflow_id: int
    position: int
    kind: str
    account_id: int | None
    grant_id: int | None
    data: dict[str, Any]
    state: StepState = StepState.OPEN
    outcome: str | None = None  # review: keep | revoke; otherwise None
    done_by: int | None = None  # operator id
    done_at: datetime | None = None
    evidence: str | None = None

    @property
    def done(self) -> bool:
        return self.state is StepState.DONE


@dataclass(frozen=True)
class Workflow:
    id: int
    kind: WorkflowKind
    state: str  # kind-specific: offboarding open|closed; transfer requested|approved|closed|cancelled; review open|closed
    person_id: int | None
    account_id: int | None
    opened_by: int | None  # None: opened by a break-glass session, or by the system at a lapse
    opened_at: datetime
    opened_seq: int  # the log's head when the workflow started: later entries are "since"
    closed_by: int | None = None
    closed_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def step_at(self, position: int) -> Step:
        for step in self.steps:
            if step.position == position:
                return step
        raise NotFoundError(f"{self.kind.value} {self.id} has no step {position}")

    @property
    def open_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if not s.done)


def require_open(workflow: Workflow) -> None:
    if workflow.closed:
        raise ConflictError(f"{workflow.kind.value} {workflow.id} is already {workflow.state}")


def require_step_open(workflow: Workflow, step: Step) -> None:
    require_open(workflow)
    if step.done:
        raise ConflictError(
            f"step {step.position} of {workflow.kind.value} {workflow.id} is already done "
            "and cannot be changed"
        )
