"""The facts dual control needs about an approver, and the same-terminal passphrase check.

Shared by ownership transfers and emergency access: the rule itself is `domain.approval`.
"""

from __future__ import annotations

from collections.abc import Callable

from smvault.domain.approval import Approver
from smvault.domain.errors import UnknownOperatorError, WrongPassphraseError
from smvault.domain.models import Operator, PersonStatus
from smvault.services.session import Session
from smvault.store import failures


def approver_facts(session: Session, operator: Operator, opened_seq: int) -> Approver:
    """What `domain.approval` needs about `operator`, for a request made when the log's head
    was `opened_seq`."""
    vault = session.vault
    person = vault.people.get(operator.person_id)
    # The log's order cannot be set back like a clock: was the operator added after the request?
    added_later = any(
        (e.get("detail") or {}).get("operator") == operator.name
        for e in vault.log.entries(actions=("operator.add",), after_seq=opened_seq)
    )
    return Approver(
        operator_id=operator.id, person_id=operator.person_id, name=operator.name,
        added_by=vault.operators.added_by(operator.id), created_at=operator.created_at,
        own_passphrase=vault.operators.has_own_passphrase(operator.id),
        added_in_break_glass=vault.operators.added_in_break_glass(operator.id) is not None,
        added_after_request=added_later,
        person_active=person.status(session.now().date()) is PersonStatus.ACTIVE,
    )


def confirm_approver(session: Session, approver: str, passphrase: bytes,
                     check: Callable[[Operator], None]) -> Operator:
    """The operator `approver`, once `check` (the request's policy) accepts them and
    `passphrase` opens their keyring slot: a second operator at the same terminal.

    Policy first (cheap, and no passphrase is asked for a refusal), then the Argon2 check,
    outside any write transaction: the caller checks the policy again under the lock. A
    wrong passphrase raises WrongPassphraseError and writes nothing to the vault: it is
    noted beside it like a failed unlock, and the next unlock logs it (vault.unlock-failed).
    """
    operator = session.vault.operators.by_name(approver)
    if operator is None:
        raise UnknownOperatorError(f"unknown operator '{approver}'")
    check(operator)
    try:
        session.vault.check_passphrase(operator.name, passphrase)
    except WrongPassphraseError:
        failures.record(session.vault.directory, operator.name, session.ts(), "approval")
        raise
    return operator
