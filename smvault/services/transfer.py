"""Ownership transfer: request, approve (a different operator), work the checklist, close.

Log actions: transfer.start, transfer.approve, transfer.step, transfer.close, transfer.cancel
(one each per call, in the same transaction as the change). The rules live in
`domain.transfer`; this module reads the facts they need and persists what they decide.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from smvault.domain import transfer as rules
from smvault.domain.clock import parse_timestamp, timestamp
from smvault.domain.errors import ConflictError, NotFoundError, PolicyError
from smvault.domain.models import Account, MfaMethod, Operator, Person, PersonStatus
from smvault.domain.transfer import TransferState
from smvault.domain.workflow import Step, StepState, Workflow, WorkflowKind, require_open, require_step_open
from smvault.services.approval import approver_facts, confirm_approver
from smvault.services.inputs import clean_text
from smvault.services.lookup import account_by_ref, person_by_email
from smvault.services.people import DISCLOSURE_ACTIONS
from smvault.services.policy import require_manage
from smvault.services.session import Session, require_operator

# What the auto steps read: the secrets stored, and every way one is disclosed (a reveal, a
# copy, a QR code, a handover packet, a TOTP export...; domain.transfer sorts them out).
_FACT_ACTIONS = ("secret.password.set", "secret.totp.set", *DISCLOSURE_ACTIONS)


@dataclass(frozen=True)
class TransferStepView:
    position: int
    kind: str
    title: str
    done: bool
    auto: bool  # resolved by a fact in the vault (or, for update-root-of-control, by closing)
    manual: bool  # resolved by a note (platform-side work)
    evidence: str | None
    done_by: str | None  # operator name
    done_at: str | None  # timestamp text
    not_before: date | None  # a waiting period (YouTube ~7 days) shown as a date, once it is known
    wait: str | None = None  # the open wait in words: "not before 2026-11-10" or
    #                          "after step 1 is done, then 7 days" (no date before its start)


@dataclass(frozen=True)
class TransferView:
    workflow_id: int
    account_key: str
    template: str
    from_email: str | None
    to_email: str
    to_name: str
    state: str  # requested | approved | closed | cancelled
    requested_by: str
    approved_by: str | None
    opened_at: str
    steps: tuple[TransferStepView, ...]
    blockers: tuple[str, ...]  # why it cannot close now (empty = can)
    approved_at: str | None = None
    approval: str | None = None  # "cli" (own unlock) | "same-terminal" (passphrase typed in a modal)
    closed_by: str | None = None
    closed_at: str | None = None
    cancel_reason: str | None = None

    @property
    def open_steps(self) -> tuple[TransferStepView, ...]:
        return tuple(s for s in self.steps if not s.done)


# -- reading ---------------------------------------------------------------------------------


def _load(session: Session, ident: str | int) -> Workflow:
    """A workflow id, or an account (its open transfer, else its latest)."""
    text = str(ident).strip()
    workflows = session.vault.workflows
    if text.isdigit():
        workflow = workflows.get(int(text))
        if workflow is None or workflow.kind is not WorkflowKind.TRANSFER:
            raise NotFoundError(f"no transfer {text}")
        return workflow
    account = account_by_ref(session, text)
    found = (workflows.find(WorkflowKind.TRANSFER, account_id=account.id)
             or workflows.find(WorkflowKind.TRANSFER, open_only=False, account_id=account.id))
    if not found:
        raise NotFoundError(f"no transfer for {account.key}")
    return found[0]


def _is_open(workflow: Workflow) -> bool:
    return workflow.state in rules.OPEN_STATES


def _facts(session: Session, workflow: Workflow) -> dict[str, rules.Fact]:
    """Auto step facts from the account's log since the approval (none before it)."""
    approved_seq = workflow.data.get("approved_seq")
    if approved_seq is None:
        return {}
    entries = session.vault.log.entries(account_id=workflow.account_id, actions=_FACT_ACTIONS,
                                        after_seq=approved_seq, newest_first=False)
    old_owner = workflow.data.get("from_owner_id")
    old_operators = session.vault.operators.names_of(old_owner) if old_owner is not None else set()
    return rules.auto_facts(entries, approved_seq, old_owner, old_operators)


def _effective_steps(workflow: Workflow, facts: dict[str, rules.Fact]) -> tuple[Step, ...]:
    """The steps as they stand: open auto steps whose fact is in the log count as done."""
    return tuple(
        replace(s, state=StepState.DONE, done_at=parse_timestamp(facts[s.kind].ts),
                evidence=facts[s.kind].evidence)
        if not s.done and s.kind in facts else s
        for s in workflow.steps
    )


def _operator_name(session: Session, operator_id: int | None) -> str | None:
    if operator_id is None:
        return None
    operator = session.vault.operators.get(operator_id)
    return operator.name if operator else f"operator {operator_id}"


def _approved_at(workflow: Workflow):
    value = workflow.data.get("approved_at")
    return parse_timestamp(value) if value else None


def _email_or_nobody(session: Session, person_id: int | None) -> str:
    person = session.vault.people.get(person_id) if person_id is not None else None
    return person.email if person else "nobody"


def _extra_blockers(session: Session, workflow: Workflow, account: Account, new_owner: Person) -> list[str]:
    found = []
    if account.owner_id not in (workflow.data.get("from_owner_id"), new_owner.id):
        found.append(f"the owner of {account.key} changed since the transfer was requested "
                     f"(now {_email_or_nobody(session, account.owner_id)}): cancel it and start a new one")
    if new_owner.status(session.now().date()) is not PersonStatus.ACTIVE:
        found.append(f"the new owner {new_owner.email} has left or is leaving")
    return found


def _view(session: Session, workflow: Workflow) -> TransferView:
    vault = session.vault
    account = vault.accounts.get(workflow.account_id)
    new_owner = vault.people.get(workflow.person_id)
    from_id = workflow.data.get("from_owner_id")
    old_owner = vault.people.get(from_id) if from_id is not None else None
    facts = _facts(session, workflow) if _is_open(workflow) else {}
    steps = _effective_steps(workflow, facts)
    today = session.now().date()
    approved_at = _approved_at(workflow)
    views, status = [], []
    for recorded, step in zip(workflow.steps, steps):
        fact = facts.get(step.kind) if not recorded.done else None
        wait = rules.wait_for(steps, step.position, approved_at)
        status.append(rules.StepStatus(step.position, step.kind, step.done, wait))
        waiting = wait is not None and _is_open(workflow) and not step.done and not wait.over(today)
        views.append(TransferStepView(
            position=step.position, kind=step.kind, title=step.data.get("title", step.kind),
            done=step.done, auto=rules.is_auto(step.kind), manual=not rules.is_auto(step.kind),
            evidence=step.evidence,
            done_by=fact.op if fact else _operator_name(session, step.done_by),
            done_at=timestamp(step.done_at) if step.done_at else None,
            not_before=wait.until if wait else None,
            wait=wait.describe() if waiting else None,
        ))
    extra = _extra_blockers(session, workflow, account, new_owner) if _is_open(workflow) else []
    data = workflow.data
    return TransferView(
        workflow_id=workflow.id,
        account_key=account.key,
        template=data.get("template", "generic"),
        from_email=old_owner.email if old_owner else None,
        to_email=new_owner.email,
        to_name=new_owner.name,
        state=workflow.state,
        requested_by=_operator_name(session, workflow.opened_by),
        approved_by=_operator_name(session, data.get("approved_by")),
        opened_at=timestamp(workflow.opened_at),
        steps=tuple(views),
        blockers=rules.blockers(workflow.state, status, today, extra),
        approved_at=data.get("approved_at"),
        approval=data.get("approval"),
        closed_by=_operator_name(session, workflow.closed_by),
        closed_at=timestamp(workflow.closed_at) if workflow.closed_at else None,
        cancel_reason=data.get("cancel_reason"),
    )


def transfer_status(session: Session, ident: str) -> TransferView:
    """`ident` is a transfer id, or an account (its open transfer, else its latest)."""
    return _view(session, _load(session, ident))


# -- changing --------------------------------------------------------------------------------


def _label(person: Person) -> str:
    return f"{person.name} ({person.email})"


def _entry(workflow: Workflow, account: Account) -> dict:
    """The fields every transfer log entry carries."""
    return {"account": account.id, "acct": account.key, "person": workflow.person_id}


def start_transfer(session: Session, account_ref: str, to_email: str, template: str | None = None) -> TransferView:
    """Request a transfer of `account_ref` to the person `to_email` (state "requested")."""
    account = account_by_ref(session, account_ref)
    new_owner = person_by_email(session, to_email)
    name = rules.template_for(account.platform, template)
    vault = session.vault
    with session.atomic():
        require_manage(session, account)
        existing = vault.workflows.find(WorkflowKind.TRANSFER, account_id=account.id)
        if existing:
            raise ConflictError(
                f"{account.key} already has an open transfer ({existing[0].id}, "
                f"{existing[0].state}): close or cancel it first"
            )
        if new_owner.status(session.now().date()) is not PersonStatus.ACTIVE:
            raise PolicyError(
                f"{new_owner.email} has left or is leaving ({new_owner.leave_on.isoformat()}): "
                "an account cannot be transferred to them"
            )
        if account.owner_id == new_owner.id:
            raise ConflictError(f"{new_owner.email} already owns {account.key}")
        old_owner = vault.people.get(account.owner_id) if account.owner_id is not None else None
        workflow = vault.workflows.add(
            WorkflowKind.TRANSFER, TransferState.REQUESTED, person_id=new_owner.id,
            account_id=account.id, opened_by=session.operator.id, opened_at=session.ts(),
            opened_seq=vault.log.head().seq,
            data={"template": name, "from_owner_id": account.owner_id, "to_owner_id": new_owner.id},
            steps=rules.plan_steps(name, account.key, _label(new_owner),
                                   _label(old_owner) if old_owner else None),
        )
        session.record("transfer.start", **_entry(workflow, account), detail={
            "workflow": workflow.id, "template": name,
            "from": old_owner.email if old_owner else None, "to": new_owner.email,
        })
        return _view(session, workflow)


def _approve(session: Session, ident: str, approver: Operator, how: str) -> TransferView:
    vault = session.vault
    with session.atomic():
        workflow = _load(session, ident)
        _check_approver(session, workflow, approver)
        account = vault.accounts.get(workflow.account_id)
        link = session.record("transfer.approve", **_entry(workflow, account), detail={
            "workflow": workflow.id, "approver": approver.name, "how": how,
        })
        # The approval's own log position: auto steps count only facts after it.
        vault.workflows.set_state(workflow.id, TransferState.APPROVED, data={
            **workflow.data, "approved_by": approver.id, "approved_at": session.ts(),
            "approved_seq": link.seq, "approval": how,
        })
        return _view(session, vault.workflows.get(workflow.id))


def _check_approver(session: Session, workflow: Workflow, approver: Operator) -> None:
    require_open(workflow)
    requester = session.vault.operators.get(workflow.opened_by)
    rules.require_approvable(workflow.state, requester.id, requester.person_id,
                             approver_facts(session, approver, workflow.opened_seq), workflow.person_id,
                             workflow.opened_at)


def approve_transfer(session: Session, ident: str) -> TransferView:
    """Approve as the session's operator (the CLI: the approver unlocked the vault themself)."""
    require_operator(session)  # a recovery session has no operator to be the second pair of eyes
    return _approve(session, ident, session.operator, "cli")


def approve_transfer_as(session: Session, ident: str, approver: str, passphrase: bytes) -> TransferView:
    """Approve at the same terminal: a different operator types their own passphrase.

    The passphrase is checked against the approver's keyring slot before anything is written;
    a wrong one raises WrongPassphraseError and writes nothing to the vault: it is noted
    beside it like a failed unlock, and the next unlock logs it (vault.unlock-failed). The
    entry's `op` is the session's operator; its detail names the approver and says
    "same-terminal".
    """
    # Policy, then the passphrase outside the write transaction (services.approval); then
    # `_approve` checks the policy again under the lock.
    require_operator(session)
    operator = confirm_approver(
        session, approver, passphrase, lambda op: _check_approver(session, _load(session, ident), op))
    return _approve(session, ident, operator, "same-terminal")


def resolve_transfer_step(session: Session, ident: str, position: int, note: str) -> TransferView:
    """Resolve a manual step with a note as its evidence.

    Needs 'manage' on the account (services.policy.require_manage), and the new owner cannot
    vouch for the steps of their own transfer."""
    note = clean_text(note, "note", required=True)
    vault = session.vault
    with session.atomic():
        workflow = _load(session, ident)
        require_open(workflow)
        if workflow.state != TransferState.APPROVED:
            raise PolicyError(
                f"transfer {workflow.id} is not approved yet: no step can be resolved before a "
                "second operator approves it"
            )
        account = vault.accounts.get(workflow.account_id)
        require_manage(session, account)
        if session.person.id == workflow.person_id:
            raise PolicyError(
                f"{session.person.email} receives {account.key} in transfer {workflow.id} and "
                "cannot resolve its steps: another operator records the evidence"
            )
        step = workflow.step_at(position)
        require_step_open(workflow, step)
        facts = _facts(session, workflow)
        if step.kind in facts:
            raise ConflictError(f"step {position} is already done: {facts[step.kind].evidence}")
        refusal = rules.note_refusal(step.kind, account.mfa is MfaMethod.TOTP)
        if refusal:
            raise PolicyError(f"step {position} ({step.kind}) {refusal}")
        wait = rules.wait_for(_effective_steps(workflow, facts), position, _approved_at(workflow))
        if wait is not None and not wait.over(session.now().date()):
            why = (f"waits until {wait.until.isoformat()}: it cannot be resolved before that day"
                   if wait.until else f"cannot be resolved yet: {wait.describe()}")
            raise PolicyError(f"step {position} ({step.kind}) {why}")
        vault.workflows.complete_step(step.id, session.operator.id, session.ts(), note)
        session.record("transfer.step", **_entry(workflow, account), detail={
            "workflow": workflow.id, "step": position, "kind": step.kind, "note": note,
        })
        return _view(session, vault.workflows.get(workflow.id))


def _persist_facts(session: Session, workflow: Workflow) -> None:
    """Record the auto steps the log resolved, with the entry's operator and time."""
    facts = _facts(session, workflow)
    for step in workflow.steps:
        fact = facts.get(step.kind)
        if step.done or fact is None:
            continue
        operator = session.vault.operators.by_name(fact.op)
        session.vault.workflows.complete_step(
            step.id, operator.id if operator else session.operator.id, fact.ts, fact.evidence)


def _person_ref(session: Session, person_id: int | None) -> dict:
    person = session.vault.people.get(person_id) if person_id is not None else None
    return {"id": person_id, "email": person.email if person else None}


def close_transfer(session: Session, ident: str) -> TransferView:
    """Close an approved transfer whose steps are done: the account gets its new owner."""
    vault = session.vault
    with session.atomic():
        workflow = _load(session, ident)
        require_open(workflow)
        account = vault.accounts.get(workflow.account_id)
        require_manage(session, account)
        blockers = _view(session, workflow).blockers
        if blockers:
            raise PolicyError(f"transfer {workflow.id} cannot close: {'; '.join(blockers)}")
        _persist_facts(session, workflow)
        changes = rules.ownership_changes(account, workflow.data.get("from_owner_id"), workflow.person_id)
        vault.accounts.update(account.id, {column: after for column, (_, after) in changes.items()})
        listed = [{"field": column, "before": _person_ref(session, before),
                   "after": _person_ref(session, after)} for column, (before, after) in changes.items()]
        root = next(s for s in workflow.steps if s.kind == rules.UPDATE_ROOT)
        vault.workflows.complete_step(root.id, session.operator.id, session.ts(), _evidence(listed))
        vault.workflows.close(workflow.id, TransferState.CLOSED, session.operator.id, session.ts())
        session.record("transfer.close", **_entry(workflow, account), detail={
            "workflow": workflow.id, "changes": listed,
        })
        return _view(session, vault.workflows.get(workflow.id))


def _evidence(listed: list[dict]) -> str:
    if not listed:
        return "nothing to change: the account already named the new owner"
    return "; ".join(f"{c['field']}: {c['before']['email'] or '-'} -> {c['after']['email'] or '-'}"
                     for c in listed)


def cancel_transfer(session: Session, ident: str, reason: str) -> TransferView:
    """Any operator may cancel an open transfer; the account is left as it is."""
    reason = clean_text(reason, "reason", required=True)
    vault = session.vault
    with session.atomic():
        workflow = _load(session, ident)
        require_open(workflow)
        account = vault.accounts.get(workflow.account_id)
        _persist_facts(session, workflow)  # what did happen stays on the record
        vault.workflows.close(workflow.id, TransferState.CANCELLED, session.operator.id, session.ts(),
                              data={**workflow.data, "cancel_reason": reason})
        session.record("transfer.cancel", **_entry(workflow, account), detail={
            "workflow": workflow.id, "reason": reason,
        })
        return _view(session, vault.workflows.get(workflow.id))
