"""Offboarding a leaver: a plan generated from the data, steps that resolve themselves, a
guarded close, and a report for HR and audit.

The rules live in `domain.offboarding`; this module reads the facts (a constant number of
queries, however many grants the leaver holds) and persists what the rules decide. Every
mutation is one transaction with one log entry: offboard.start, offboard.revoke-grants,
offboard.step, offboard.close, offboard.report. Reads (plan, status) log nothing.

Any operator may run an offboarding, including revoking every grant the leaver holds without
a 'manage' grant on each account: taking a leaver's access away only reduces risk, and the
close would do it anyway (SECURITY.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from smvault.domain.clock import timestamp
from smvault.domain.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from smvault.domain.models import Account, Grant, Person, PersonStatus
from smvault.domain.offboarding import (
    LEARNING_ACTIONS,
    REVOKE_ACTION,
    SET_ACTIONS,
    OpenStep,
    Resolution,
    SinceOpened,
    StepKind,
    blocking_accounts,
    build_plan,
    check_close,
    involved_account_ids,
    is_manual,
    latest_learned,
    people_named,
    resolve,
)
from smvault.domain.report import Checkpoint, Report, Table
from smvault.domain.workflow import Step, StepSpec, Workflow, WorkflowKind
from smvault.services.inputs import clean_text
from smvault.services.lookup import person_by_email
from smvault.services.people import DISCLOSURE_ACTIONS
from smvault.services.session import Session

OPEN, CLOSED, PLAN = "open", "closed", "plan"
CLOSE_ACTION = "offboard.close"
# Step kinds that make an account part of the guard even after the role has moved on.
_ROLE_KINDS = frozenset({StepKind.REMOVE_PLATFORM_ADMIN, StepKind.REENROL_TOTP, StepKind.REPOINT_RECOVERY_EMAIL,
                         StepKind.REPOINT_RECOVERY_PHONE, StepKind.TRANSFER_OWNERSHIP})


@dataclass(frozen=True)
class PlanStep:
    position: int  # 1-based, stable: what `offboard step EMAIL N` takes
    kind: str
    title: str  # one plain sentence
    account_key: str | None
    learned: str | None  # "did" | "could" for rotate-password, else None
    done: bool
    auto: bool  # resolves itself when a fact in the vault changes
    manual: bool  # only a note resolves it (platform-side work)
    evidence: str | None
    done_by: str | None  # operator name
    done_at: str | None  # timestamp text


@dataclass(frozen=True)
class OffboardingView:
    workflow_id: int | None  # None for a dry run
    person_email: str
    person_name: str
    leave_on: date | None
    state: str  # "plan" (dry run) | "open" | "closed"
    opened_at: str | None
    opened_by: str | None
    steps: tuple[PlanStep, ...]
    blocking: tuple[tuple[str, int], ...]  # (account key, controllers without the leaver) < 2
    successor_email: str | None
    override_reason: str | None
    closed_at: str | None
    closed_by: str | None

    @property
    def open_steps(self) -> tuple[PlanStep, ...]:
        return tuple(s for s in self.steps if not s.done)


# --- reading the facts (constant number of queries) -------------------------------------------


@dataclass
class _Facts:
    """Current facts about the leaver, read once per view."""

    grants: list[Grant]  # every grant they ever held, revoked ones included
    accounts: dict[int, Account]  # the steps' accounts, grant accounts and role accounts (current)
    resolutions: dict[int, Resolution] = field(default_factory=dict)  # derived, by step position

    @property
    def open_grants(self) -> list[Grant]:
        return [g for g in self.grants if g.revoked_at is None]


def _read(session: Session, person: Person, account_ids: set[int]) -> _Facts:
    grants = session.vault.grants.of_person(person.id, include_revoked=True)
    accounts = session.vault.accounts.involving(person.id, account_ids | {g.account_id for g in grants})
    return _Facts(grants, accounts)


def _plan_specs(session: Session, person: Person) -> tuple[list[StepSpec], _Facts]:
    """The leaver's plan from the data: their grants, what the log says they learned, the
    accounts those name or where they hold a role, and those accounts' secret dates."""
    vault = session.vault
    learned = latest_learned(vault.log.disclosures_to(person.id, LEARNING_ACTIONS))
    facts = _read(session, person, {item.account_id for item in learned})
    dates = vault.secrets.dates_for(set(facts.accounts))
    return build_plan(person, facts.grants, learned, facts.accounts, dates), facts


def _derive(session: Session, person: Person, steps: Sequence[Step], opened_seq: int,
            facts: _Facts | None = None) -> _Facts:
    """Which open steps have resolved themselves, from the log after `opened_seq` (one query)
    and the current tables (read here unless `facts` already holds them)."""
    vault = session.vault
    if facts is None:
        facts = _read(session, person, {s.account_id for s in steps if s.account_id is not None})
    entries = vault.log.entries_about(
        opened_seq, person_id=person.id, account_ids={s.account_id for s in steps if s.account_id is not None},
        account_actions=tuple(SET_ACTIONS), person_actions=(REVOKE_ACTION,),
    )
    since = SinceOpened.from_entries(person.id, entries)
    pending = [s for s in steps if not s.done]
    wanted = {pid for s in pending for pid in people_named(s.kind, facts.accounts.get(s.account_id))
              if pid is not None}
    names = {pid: f"{p.name} <{p.email}>" for pid, p in vault.people.by_ids(wanted).items()}
    open_count = len(facts.open_grants)
    for step in pending:
        found = resolve(step.kind, step.account_id, step.data, person.id, since, open_count, facts.accounts, names)
        if found is not None:
            facts.resolutions[step.position] = found
    return facts


def _blocking(session: Session, person: Person, steps: Sequence[Step], facts: _Facts,
              since: datetime) -> list[tuple[str, int]]:
    """Accounts the leaver is involved in that fewer than two others could regain."""
    vault = session.vault
    ids = involved_account_ids(person.id, facts.grants, facts.accounts.values(), since)
    ids |= {s.account_id for s in steps if s.kind in _ROLE_KINDS and s.account_id is not None}
    return blocking_accounts(
        person.id,
        vault.accounts.control_facts_for(ids),
        facts.accounts,
        vault.grants.path_grants_for(ids, session.ts()),
        vault.operators.person_ids(),
        vault.people.left_ids(session.now().date()),
    )


class _OperatorNames:
    """Operator names by id, each looked up once (a handful per workflow)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._names: dict[int, str | None] = {}

    def __call__(self, operator_id: int | None) -> str | None:
        if operator_id is None:
            return None
        if operator_id not in self._names:
            operator = self._session.vault.operators.get(operator_id)
            self._names[operator_id] = operator.name if operator else f"operator {operator_id}"
        return self._names[operator_id]


def _ts(moment: datetime | None) -> str | None:
    return timestamp(moment) if moment is not None else None


def _plan_step(step: Step, derived: Resolution | None, names: _OperatorNames) -> PlanStep:
    manual = is_manual(step.kind)
    common = dict(position=step.position, kind=step.kind, title=step.data.get("title", step.kind),
                  account_key=step.data.get("account"), learned=step.data.get("learned"),
                  auto=not manual, manual=manual)
    if step.done:
        return PlanStep(**common, done=True, evidence=step.evidence,
                        done_by=names(step.done_by) or step.data.get("resolved_by"), done_at=_ts(step.done_at))
    if derived is not None:
        return PlanStep(**common, done=True, evidence=derived.evidence, done_by=derived.by, done_at=derived.at)
    return PlanStep(**common, done=False, evidence=None, done_by=None, done_at=None)


def _as_steps(specs: Iterable[StepSpec]) -> list[Step]:
    """A dry run's specs as unsaved steps (id 0), positioned as `start` would save them."""
    return [Step(0, 0, i, s.kind, s.account_id, s.grant_id, s.data) for i, s in enumerate(specs, 1)]


# --- finding the workflow ---------------------------------------------------------------------


def _latest(session: Session, person: Person) -> Workflow:
    found = session.vault.workflows.find(WorkflowKind.OFFBOARDING, open_only=False, person_id=person.id)
    if not found:
        raise NotFoundError(f"no offboarding for {person.email}: start one with 'smvault offboard start'")
    return next((w for w in found if not w.closed), found[0])


def _open(session: Session, person: Person) -> Workflow:
    workflow = _latest(session, person)
    if workflow.closed:
        raise ConflictError(f"the offboarding of {person.email} (offboarding {workflow.id}) is already closed")
    return workflow


# --- views ------------------------------------------------------------------------------------


def _view(session: Session, person: Person, workflow: Workflow) -> OffboardingView:
    names = _OperatorNames(session)
    data = workflow.data
    if workflow.closed:  # frozen at close: what was derived then was persisted then
        steps = tuple(_plan_step(s, None, names) for s in workflow.steps)
        blocking = tuple((key, count) for key, count in data.get("blocking", ()))
    else:
        facts = _derive(session, person, workflow.steps, workflow.opened_seq)
        steps = tuple(_plan_step(s, facts.resolutions.get(s.position), names) for s in workflow.steps)
        blocking = tuple(_blocking(session, person, workflow.steps, facts, workflow.opened_at))
    leave_on = data.get("leave_on")
    return OffboardingView(
        workflow_id=workflow.id, person_email=person.email, person_name=person.name,
        leave_on=person.leave_on or (date.fromisoformat(leave_on) if leave_on else None),
        state=CLOSED if workflow.closed else OPEN,
        opened_at=_ts(workflow.opened_at), opened_by=names(workflow.opened_by), steps=steps,
        blocking=blocking, successor_email=data.get("successor_email"),
        override_reason=data.get("override"), closed_at=_ts(workflow.closed_at),
        closed_by=names(workflow.closed_by),
    )


def plan_offboarding(session: Session, email: str, on: date | None = None) -> OffboardingView:
    """The plan `start` would create, with what already holds today; changes and logs nothing."""
    person = person_by_email(session, email)
    specs, facts = _plan_specs(session, person)
    steps = _as_steps(specs)
    facts = _derive(session, person, steps, session.vault.log.head().seq, facts)
    names = _OperatorNames(session)
    return OffboardingView(
        workflow_id=None, person_email=person.email, person_name=person.name,
        leave_on=on or person.leave_on, state=PLAN, opened_at=None, opened_by=None,
        steps=tuple(_plan_step(s, facts.resolutions.get(s.position), names) for s in steps),
        blocking=tuple(_blocking(session, person, steps, facts, session.now())),
        successor_email=None, override_reason=None, closed_at=None, closed_by=None,
    )


def offboarding_status(session: Session, email: str) -> OffboardingView:
    """The person's open offboarding, else their last closed one."""
    person = person_by_email(session, email)
    return _view(session, person, _latest(session, person))


# --- mutations (one transaction, one log entry each) ---------------------------------------------


def start_offboarding(session: Session, email: str, on: date | None = None) -> OffboardingView:
    """Open the person's offboarding with its plan; `on` sets (or moves) their leave date."""
    person = person_by_email(session, email)
    if on is None and person.leave_on is None:
        raise InvalidInputError(f"{person.email} has no leave date: give --on DATE")
    vault = session.vault
    with session.atomic():
        already = vault.workflows.find(WorkflowKind.OFFBOARDING, open_only=True, person_id=person.id)
        if already:
            raise ConflictError(
                f"offboarding {already[0].id} of {person.email} is already open "
                f"(started {_ts(already[0].opened_at)}): see 'smvault offboard status'"
            )
        previous = person.leave_on
        if on is not None and on != previous:
            person = vault.people.update(person.id, {"leave_on": on})
        specs, _ = _plan_specs(session, person)
        workflow = vault.workflows.add(
            WorkflowKind.OFFBOARDING, OPEN, person_id=person.id, account_id=None,
            opened_by=session.operator.id, opened_at=session.ts(), opened_seq=vault.log.head().seq,
            data={"leave_on": person.leave_on.isoformat(), "email": person.email}, steps=specs,
        )
        detail = {"workflow": workflow.id, "email": person.email, "leave_on": person.leave_on.isoformat(),
                  "steps": len(specs)}
        if previous is not None and previous != person.leave_on:
            detail["previous_leave_on"] = previous.isoformat()
        session.record("offboard.start", person=person.id, detail=detail)
    return _view(session, person, vault.workflows.get(workflow.id))


def revoke_leaver_grants(session: Session, email: str) -> int:
    """Revoke every grant the leaver still holds (expired ones too), in one logged action."""
    person = person_by_email(session, email)
    vault = session.vault
    with session.atomic():
        workflow = _open(session, person)
        targets = vault.grants.of_person(person.id)
        if not targets:
            raise NotFoundError(f"{person.email} holds no open grant")
        ids = [g.id for g in targets]
        vault.grants.revoke_many(ids, session.operator.id, session.ts())
        session.record(REVOKE_ACTION, person=person.id,
                       detail={"workflow": workflow.id, "email": person.email, "grants": ids})
    return len(ids)


def resolve_offboarding_step(session: Session, email: str, position: int, note: str) -> OffboardingView:
    """Resolve an open step with a note as its evidence (work done on the platform, or a
    secret rotated outside the vault)."""
    note = clean_text(note, "note", required=True)
    person = person_by_email(session, email)
    vault = session.vault
    with session.atomic():
        workflow = _open(session, person)
        step = workflow.step_at(position)
        if step.done:
            raise ConflictError(f"step {position} of offboarding {workflow.id} is already resolved: {step.evidence}")
        derived = _derive(session, person, [step], workflow.opened_seq).resolutions.get(position)
        if derived is not None:
            raise ConflictError(
                f"step {position} of offboarding {workflow.id} has already resolved itself: {derived.evidence}"
            )
        vault.workflows.complete_step(step.id, session.operator.id, session.ts(), note)
        session.record(
            "offboard.step", account=step.account_id, acct=step.data.get("account"), person=person.id,
            detail={"workflow": workflow.id, "position": position, "kind": step.kind, "note": note},
        )
    return _view(session, person, vault.workflows.get(workflow.id))


def _successor(session: Session, person: Person, email: str) -> Person:
    successor = person_by_email(session, email)
    if successor.id == person.id:
        raise InvalidInputError(f"the successor must be someone other than {person.email}")
    status = successor.status(session.now().date())
    if status is not PersonStatus.ACTIVE:
        raise PolicyError(
            f"successor {successor.email} is {status.value} (leave date {successor.leave_on}): "
            "name someone who is staying"
        )
    return successor


def close_offboarding(session: Session, email: str, successor: str | None = None,
                      override: str | None = None) -> OffboardingView:
    """Close the offboarding: the guard and open steps first (PolicyError), then in one
    transaction persist what resolved itself, revoke any grant the leaver still holds and
    record the outcome."""
    override = clean_text(override, "override reason")
    person = person_by_email(session, email)
    heir = _successor(session, person, successor) if successor else None
    vault = session.vault
    with session.atomic():
        workflow = _open(session, person)
        facts = _derive(session, person, workflow.steps, workflow.opened_seq)
        blocking = _blocking(session, person, workflow.steps, facts, workflow.opened_at)
        derived = facts.resolutions
        # Revoking grants is vault work the close does itself: it is never "left open".
        still_open = [s for s in workflow.steps
                      if not s.done and s.position not in derived and s.kind != StepKind.REVOKE_GRANTS]
        check_close(person.name, blocking,
                    [OpenStep(s.position, s.kind, s.data.get("account")) for s in still_open],
                    heir is not None, override)
        now = session.ts()
        for step in workflow.steps:
            found = derived.get(step.position)
            if step.done or found is None:
                continue
            vault.workflows.complete_step(step.id, None, found.at or now, found.evidence)
            vault.workflows.set_step_data(step.id, {**step.data, "resolved_by": found.by, "derived": True})
        revoked = [g.id for g in facts.open_grants]
        if revoked:
            vault.grants.revoke_many(revoked, session.operator.id, now)
            for step in workflow.steps:
                if step.kind == StepKind.REVOKE_GRANTS and not step.done:
                    vault.workflows.complete_step(
                        step.id, session.operator.id, now,
                        f"{len(revoked)} grant(s) revoked when the offboarding closed (grants "
                        + ", ".join(map(str, revoked)) + ")",
                    )
        outcome = {
            "successor_id": heir.id if heir else None,
            "successor_email": heir.email if heir else None,
            "override": override,
            "blocking": [list(pair) for pair in blocking],
            "revoked_at_close": revoked,
        }
        vault.workflows.close(workflow.id, CLOSED, session.operator.id, now, {**workflow.data, **outcome})
        session.record(CLOSE_ACTION, person=person.id, detail={
            "workflow": workflow.id, "email": person.email,
            "steps": {"total": len(workflow.steps),
                      "done": len(workflow.steps) - len(still_open),
                      "resolved_themselves": sorted(derived),
                      "open": [s.position for s in still_open]},
            "successor": outcome["successor_email"], "override": override,
            "blocking": outcome["blocking"], "revoked_grants": revoked,
        })
    return _view(session, person, vault.workflows.get(workflow.id))


# --- the report ---------------------------------------------------------------------------------


def _step_state(step: PlanStep, closed: bool) -> str:
    if step.done:
        return "done"
    return "open at close (override)" if closed else "open"


def offboarding_report(session: Session, email: str) -> Report:
    """The offboarding for HR and audit: facts, steps with evidence, what the person learned,
    which grants it revoked; ends with the checkpoint of its own log entry."""
    person = person_by_email(session, email)
    vault = session.vault
    workflow = _latest(session, person)
    view = _view(session, person, workflow)
    learned = vault.log.entries(recipient_id=person.id, actions=DISCLOSURE_ACTIONS, newest_first=False)
    revoking = [e for e in vault.log.entries(after_seq=workflow.opened_seq, actions=(REVOKE_ACTION, CLOSE_ACTION),
                                             newest_first=False)
                if e.get("person") == person.id and e.get("detail", {}).get("workflow") == workflow.id]
    how = {gid: f"{e['action']} (log seq {e['seq']})" for e in revoking
           for gid in e["detail"].get("grants", e["detail"].get("revoked_grants", ()))}
    grants = [g for g in vault.grants.of_person(person.id, include_revoked=True) if g.id in how]
    keys = {aid: a.key for aid, a in vault.accounts.by_ids({g.account_id for g in grants}).items()}
    names = _OperatorNames(session)
    closed = view.state == CLOSED
    done = sum(1 for s in view.steps if s.done)
    facts = (
        ("person", f"{view.person_name} <{view.person_email}>"),
        ("leave date", view.leave_on.isoformat() if view.leave_on else None),
        ("offboarding", view.workflow_id),
        ("state", view.state),
        ("opened", f"{view.opened_at} by {view.opened_by}"),
        ("closed", f"{view.closed_at} by {view.closed_by}" if closed else None),
        ("steps done", f"{done} of {len(view.steps)}"),
        ("successor", view.successor_email),
        ("override reason", view.override_reason),
    )
    tables = (
        Table("Steps", ("position", "kind", "account", "learned", "state", "evidence", "by", "at"),
              tuple((s.position, s.kind, s.account_key, s.learned, _step_state(s, closed), s.evidence,
                     s.done_by, s.done_at) for s in view.steps)),
        Table("Accounts below two controllers without the leaver", ("account", "controllers"),
              tuple(view.blocking)),
        Table("What the person learned (disclosures to them)",
              ("seq", "ts", "action", "account", "field", "by operator"),
              tuple((e["seq"], e["ts"], e["action"], e.get("acct"), e.get("field"), e.get("op")) for e in learned)),
        Table("Grants revoked by this offboarding", ("grant", "account", "level", "revoked at", "revoked by", "how"),
              tuple((g.id, keys.get(g.account_id), g.level.value, _ts(g.revoked_at), names(g.revoked_by), how[g.id])
                    for g in grants)),
    )
    with session.atomic():
        link = session.record("offboard.report", person=person.id, detail={"workflow": workflow.id})
    checkpoint = Checkpoint(vault.vault_id, link.seq, link.entry_hash.hex(), session.ts())
    return Report(f"Offboarding of {view.person_name}", facts, tables, checkpoint,
                  data={"workflow_id": view.workflow_id, "person_email": view.person_email, "state": view.state})
