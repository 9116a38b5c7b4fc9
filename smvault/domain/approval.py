"""Dual control: who may be the second pair of eyes on another operator's request. Pure rules.

Shared by every request one operator makes and a different one approves (ownership transfer,
emergency access): the approver is never the requester (by operator or by person), is not a
person who has left or is leaving, and is no operator whose passphrase the requester could
hold: one the requester added who still has the first passphrase the requester chose for
them, one added by a break-glass (recovery) session who still has the passphrase chosen
there (by whoever held the kit's shares, possibly the requester), or one added once the
request was already made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from smvault.domain.errors import PolicyError


@dataclass(frozen=True)
class Approver:
    """What the approval rule needs to know about the operator who would approve."""

    operator_id: int
    person_id: int
    name: str
    added_by: int | None  # the operator who added them (None: the vault's first operator, or
    # one added by a break-glass session: see added_in_break_glass)
    own_passphrase: bool  # they changed the passphrase their adder chose (or chose it themself)
    created_at: datetime
    added_after_request: bool  # their `operator.add` log entry comes after the request's
    person_active: bool  # their person has neither left nor a leave date set
    # Added by a recovery session: whoever held the kit's shares chose their passphrase (and
    # `own_passphrase` is False until they change it).
    added_in_break_glass: bool = False


@dataclass(frozen=True)
class Request:
    """The request being approved, as the rule sees it."""

    requester_id: int  # operator id
    requester_person_id: int
    opened_at: datetime
    a: str  # how messages name it: "a transfer", "emergency access"
    this: str  # "this transfer", "this emergency access"


def require_second_operator(request: Request, approver: Approver,
                            excluded: tuple[int, str] | None = None) -> None:
    """Raise PolicyError unless `approver` may approve `request`.

    `excluded` is (person id, refusal) for a person with a stake in the outcome who may not
    approve either (a transfer's new owner); checked right after the requester."""
    if approver.operator_id == request.requester_id or approver.person_id == request.requester_person_id:
        raise PolicyError(
            f"the operator who requested {request.a} cannot approve it: a different operator "
            "must approve with their own passphrase"
        )
    if excluded is not None and approver.person_id == excluded[0]:
        raise PolicyError(excluded[1])
    if not approver.person_active:
        raise PolicyError(f"operator '{approver.name}' cannot approve: their person has left or is leaving")
    if approver.added_in_break_glass and not approver.own_passphrase:
        raise PolicyError(
            f"operator '{approver.name}' was added during a break-glass session and still has the "
            "passphrase chosen then: they must first set their own ('smvault operator passwd'), "
            "or another operator must approve"
        )
    if approver.added_by == request.requester_id and not approver.own_passphrase:
        raise PolicyError(
            f"operator '{approver.name}' was added by the operator who requested {request.this} and "
            "still has the passphrase chosen then: they must first set their own "
            "('smvault operator passwd'), or another operator must approve"
        )
    # The log orders events within a second, and cannot be set back like a clock.
    if approver.added_after_request or approver.created_at > request.opened_at:
        raise PolicyError(
            f"operator '{approver.name}' was added after {request.this} was requested: an operator "
            "who already existed when it was requested must approve"
        )
