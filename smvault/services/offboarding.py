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

from smvault.domain.clock import parse_timestamp, timestamp
from smvault.domain.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from smvault.domain.models import Account, Grant, Person, PersonStatus
from smvault.domain.offboarding import (
    LIVE_CODE_ACTIONS,
    REVOKE_ACTION,
    SET_ACTIONS,
    OpenStep,
    Replacement,
    Resolution,
    SinceOpened,
    StepKind,
    blocking_accounts,
    build_plan,
    check_close,
    involved_account_ids,
    is_advisory,
    is_manual,
    kit_step,
    latest_learned,
    learned_after_start,
    people_named,
    resolve,
    resolve_kit_step,
)
from smvault.domain.report import Report, Table
from smvault.domain.workflow import Step, StepSpec, Workflow, WorkflowKind
from smvault.services.checkpoints import checkpoint_of
from smvault.services.emergency import end_for_person
from smvault.services.inputs import clean_text
from smvault.services.lookup import person_by_email
from smvault.services.names import operator_names
from smvault.services.people import DISCLOSURE_ACTIONS
from smvault.services.session import Session

OPEN, CLOSED, PLAN = "open", "closed", "plan"
CLOSE_ACTION = "offboard.close"
# What can teach a leaver a secret: every disclosure but a live code, which expires.
LEARNING_ACTIONS = tuple(a for a in DISCLOSURE_ACTIONS if a not in LIVE_CODE_ACTIONS)
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
    advisory: bool = False  # listed for the record: an open one does not hold the close


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
    extra: list[Step] = field(default_factory=list)  # learned after the start, not saved yet
    kit: tuple[str, str, tuple[str, ...]] | None = None  # the current emergency kit, once read
    kit_read: bool = False

    @property
    def open_grants(self) -> list[Grant]:
        return [g for g in self.grants if g.revoked_at is None]


def _read(session: Session, person: Person, account_ids: set[int]) -> _Facts:
    grants = session.vault.grants.of_person(person.id, include_revoked=True)
    accounts = session.vault.accounts.involving(person.id, account_ids | {g.account_id for g in grants})
    return _Facts(grants, accounts)


def _kit(session: Session, facts: _Facts) -> tuple[str, str, tuple[str, ...]] | None:
    """(kit id, created at, custodians' emails) of the vault's current emergency kit, or None.
    Read from the keyring file (no unlock, no query), at most once per view."""
    if not facts.kit_read:
        from smvault.services.kit import kit_info  # the kit module loads SLIP-39: only when needed

        info = kit_info(session.vault.directory)
        facts.kit = (info.kit_id, info.created_at, tuple(info.custodians)) if info else None
        facts.kit_read = True
    return facts.kit


def _replacements(session: Session, account_ids: set[int]) -> dict[tuple[int, str], Replacement]:
    """(account, secret) -> what the log says of its latest replacement and import."""
    sets = session.vault.log.latest_secret_sets(account_ids)
    return {(account_id, SET_ACTIONS[action]): Replacement(seq, parse_timestamp(ts) if ts else None, imported)
            for (account_id, action), (seq, ts, imported) in sets.items()}


def _plan_specs(session: Session, person: Person) -> tuple[list[StepSpec], _Facts]:
    """The leaver's plan from the data: their grants, what the log says they learned, the
    accounts those name or where they hold a role, and those accounts' secret dates."""
    vault = session.vault
    learned = latest_learned(vault.log.disclosures_to(person.id, LEARNING_ACTIONS))
    facts = _read(session, person, {item.account_id for item in learned})
    ids = set(facts.accounts)
    specs = build_plan(person, facts.grants, learned, facts.accounts, vault.secrets.dates_for(ids),
                       _replacements(session, ids))
    kit = _kit(session, facts)
    custodian = kit_step(person, kit[0], kit[2]) if kit else None
    return specs + ([custodian] if custodian else []), facts


def _own_operator_names(session: Session, person: Person) -> tuple[str, ...]:
    """The leaver's operator names, if they are an operator: disclosure entries older than
    the `by` field name the operator who saw a value only by name."""
    return tuple(o.name for o in session.vault.operators.active() if o.person_id == person.id)


def _derive(session: Session, person: Person, steps: Sequence[Step], opened_seq: int,
            facts: _Facts | None = None, workflow_id: int = 0) -> _Facts:
    """From the log after `opened_seq` (one query) and the current tables (read here unless
    `facts` already holds them): the steps for secrets learned since (`extra`, positioned
    after `steps`), and which open steps have resolved themselves."""
    vault = session.vault
    names = _own_operator_names(session, person)
    entries = vault.log.entries_about(opened_seq, person_id=person.id, operator_names=names,
                                      account_actions=tuple(SET_ACTIONS), person_actions=(REVOKE_ACTION,))
    since = SinceOpened.from_entries(person.id, entries, names)
    learned_ids = {account_id for account_id, _ in since.learned}
    if facts is None:
        facts = _read(session, person, {s.account_id for s in steps if s.account_id is not None} | learned_ids)
    elif learned_ids - set(facts.accounts):
        facts.accounts.update(vault.accounts.by_ids(learned_ids - set(facts.accounts)))
    first = max((s.position for s in steps), default=0) + 1
    facts.extra = [Step(0, workflow_id, position, spec.kind, spec.account_id, spec.grant_id, spec.data)
                   for position, spec in enumerate(learned_after_start(person, steps, since, facts.accounts), first)]
    pending = [s for s in (*steps, *facts.extra) if not s.done]
    wanted = {pid for s in pending for pid in people_named(s.kind, facts.accounts.get(s.account_id))
              if pid is not None}
    labels = {pid: f"{p.name} <{p.email}>" for pid, p in vault.people.by_ids(wanted).items()}
    open_count = len(facts.open_grants)
    for step in pending:
        if step.kind == StepKind.ISSUE_NEW_KIT:
            found = resolve_kit_step(person.email, _kit(session, facts))
        else:
            found = resolve(step.kind, step.account_id, step.data, person.id, since, open_count,
                            facts.accounts, labels)
        if found is not None:
            facts.resolutions[step.position] = found
    return facts


def _save_learned(session: Session, person: Person, workflow: Workflow) -> tuple[Workflow, _Facts, list[int]]:
    """Inside a mutation: save the steps for secrets learned since the start (at the
    positions the views showed them), so a note can resolve them and the close records them.
    Returns the workflow as saved, its facts and the positions added."""
    facts = _derive(session, person, workflow.steps, workflow.opened_seq, workflow_id=workflow.id)
    added = [s.position for s in facts.extra]
    if added:
        session.vault.workflows.add_steps(
            workflow.id, [StepSpec(s.kind, s.account_id, s.grant_id, s.data) for s in facts.extra])
        workflow = session.vault.workflows.get(workflow.id)
        facts.extra = []
    return workflow, facts, added


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


def _ts(moment: datetime | None) -> str | None:
    return timestamp(moment) if moment is not None else None


def _plan_step(step: Step, derived: Resolution | None, names: dict[int, str]) -> PlanStep:
    manual = is_manual(step.kind)
    common = dict(position=step.position, kind=step.kind, title=step.data.get("title", step.kind),
                  account_key=step.data.get("account"), learned=step.data.get("learned"),
                  auto=not manual, manual=manual, advisory=is_advisory(step.kind))
    if step.done:
        return PlanStep(**common, done=True, evidence=step.evidence,
                        done_by=names.get(step.done_by) or step.data.get("resolved_by"), done_at=_ts(step.done_at))
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
    data = workflow.data
    if workflow.closed:  # frozen at close: what was derived then was persisted then
        steps, resolutions = workflow.steps, {}
        blocking = tuple((key, count) for key, count in data.get("blocking", ()))
    else:
        facts = _derive(session, person, workflow.steps, workflow.opened_seq, workflow_id=workflow.id)
        steps, resolutions = (*workflow.steps, *facts.extra), facts.resolutions
        blocking = tuple(_blocking(session, person, workflow.steps, facts, workflow.opened_at))
    names = operator_names(session, {workflow.opened_by, workflow.closed_by, *(s.done_by for s in steps)})
    leave_on = data.get("leave_on")
    return OffboardingView(
        workflow_id=workflow.id, person_email=person.email, person_name=person.name,
        leave_on=person.leave_on or (date.fromisoformat(leave_on) if leave_on else None),
        state=CLOSED if workflow.closed else OPEN,
        opened_at=_ts(workflow.opened_at), opened_by=names.get(workflow.opened_by),
        steps=tuple(_plan_step(s, resolutions.get(s.position), names) for s in steps),
        blocking=blocking, successor_email=data.get("successor_email"),
        override_reason=data.get("override"), closed_at=_ts(workflow.closed_at),
        closed_by=names.get(workflow.closed_by),
    )


def plan_offboarding(session: Session, email: str, on: date | None = None) -> OffboardingView:
    """The plan `start` would create, with what already holds today; changes nothing."""
    person = person_by_email(session, email)
    specs, facts = _plan_specs(session, person)
    steps = _as_steps(specs)
    facts = _derive(session, person, steps, session.vault.log.head().seq, facts)
    return OffboardingView(
        workflow_id=None, person_email=person.email, person_name=person.name,
        leave_on=on or person.leave_on, state=PLAN, opened_at=None, opened_by=None,
        steps=tuple(_plan_step(s, facts.resolutions.get(s.position), {}) for s in steps),
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
        # A leaver keeps no emergency access, nor a request that could still start.
        emergency = end_for_person(session, person, f"the requester's offboarding started "
                                                    f"(leave date {person.leave_on.isoformat()})")
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
        if emergency:
            detail["emergency_ended"] = emergency
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
    secret rotated outside the vault). Revoking grants is vault work a note cannot stand for."""
    note = clean_text(note, "note", required=True)
    person = person_by_email(session, email)
    vault = session.vault
    with session.atomic():
        workflow = _open(session, person)
        workflow, facts, added = _save_learned(session, person, workflow)
        step = workflow.step_at(position)
        if step.kind == StepKind.REVOKE_GRANTS:
            raise ConflictError(
                f"step {position} of offboarding {workflow.id} is revoking vault grants, which a note cannot "
                f"stand for: run 'smvault offboard revoke-grants {person.email}' (closing also revokes them)"
            )
        if step.done:
            raise ConflictError(f"step {position} of offboarding {workflow.id} is already resolved: {step.evidence}")
        derived = facts.resolutions.get(position)
        if derived is not None:
            raise ConflictError(
                f"step {position} of offboarding {workflow.id} has already resolved itself: {derived.evidence}"
            )
        vault.workflows.complete_step(step.id, session.operator.id, session.ts(), note)
        detail = {"workflow": workflow.id, "position": position, "kind": step.kind, "note": note}
        if added:
            detail["steps_added"] = added
        link = session.record("offboard.step", account=step.account_id, acct=step.data.get("account"),
                              person=person.id, detail=detail)
        # Where the note sits in the log: a secret learned again after it needs a new step.
        vault.workflows.set_step_data(step.id, {**step.data, "done_seq": link.seq})
    return _view(session, person, vault.workflows.get(workflow.id))


def _successor(session: Session, person: Person, email: str) -> Person:
    """Who takes over the accounts the leaver leaves short: an operator who is staying, since
    adding controllers and rotating secrets is vault work."""
    successor = person_by_email(session, email)
    if successor.id == person.id:
        raise InvalidInputError(f"the successor must be someone other than {person.email}")
    status = successor.status(session.now().date())
    if status is not PersonStatus.ACTIVE:
        raise PolicyError(
            f"successor {successor.email} is {status.value} (leave date {successor.leave_on}): "
            "name an operator who is staying"
        )
    if successor.id not in session.vault.operators.person_ids():
        raise PolicyError(
            f"successor {successor.email} is not an operator: name an operator who is staying, "
            "someone who can fix the accounts in the vault"
        )
    return successor


def close_offboarding(session: Session, email: str, successor: str | None = None,
                      override: str | None = None) -> OffboardingView:
    """Close the offboarding: the guard and open steps first (PolicyError), then in one
    transaction save the steps for secrets learned since the start, persist what resolved
    itself, revoke any grant the leaver still holds and record the outcome, naming the
    successor against every account left short."""
    override = clean_text(override, "override reason")
    person = person_by_email(session, email)
    heir = _successor(session, person, successor) if successor else None
    vault = session.vault
    with session.atomic():
        workflow = _open(session, person)
        workflow, facts, added = _save_learned(session, person, workflow)
        blocking = _blocking(session, person, workflow.steps, facts, workflow.opened_at)
        derived = facts.resolutions
        # Revoking grants is vault work the close does itself: it is never "left open". Advice
        # (a new emergency kit) is listed but does not hold the close.
        unresolved = [s for s in workflow.steps
                      if not s.done and s.position not in derived and s.kind != StepKind.REVOKE_GRANTS]
        still_open = [s for s in unresolved if not is_advisory(s.kind)]
        advice_open = [s.position for s in unresolved if is_advisory(s.kind)]
        check_close(person.name, blocking,
                    [OpenStep(s.position, s.kind, s.data.get("account")) for s in still_open],
                    heir is not None, override)
        now = session.ts()
        # Before the grants: each emergency request's own entry names the grant it revokes.
        emergency = end_for_person(session, person, f"the requester's offboarding closed (offboarding {workflow.id})")
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
                      "done": len(workflow.steps) - len(still_open) - len(advice_open),
                      "resolved_themselves": sorted(derived),
                      "open": [s.position for s in still_open],
                      "learned_after_start": added,
                      **({"advisory_open": advice_open} if advice_open else {})},
            "successor": outcome["successor_email"], "override": override,
            "blocking": [{"account": key, "controllers": count, "successor": outcome["successor_email"]}
                         for key, count in blocking],
            "revoked_grants": revoked,
            **({"emergency_ended": emergency} if emergency else {}),
        })
    return _view(session, person, vault.workflows.get(workflow.id))


# --- the report ---------------------------------------------------------------------------------


def _step_state(step: PlanStep, closed: bool) -> str:
    if step.done:
        return "done"
    if closed:
        return "open at close (advisory)" if step.advisory else "open at close (override)"
    return "open (advisory)" if step.advisory else "open"


def offboarding_report(session: Session, email: str) -> Report:
    """The offboarding for HR and audit: facts, steps with evidence, the accounts left short
    and who took them over, what the person learned, which grants it revoked; ends with the
    checkpoint of its own log entry."""
    person = person_by_email(session, email)
    vault = session.vault
    workflow = _latest(session, person)
    view = _view(session, person, workflow)
    learned = vault.log.learned_entries(person.id, DISCLOSURE_ACTIONS)
    revoking = [e for e in vault.log.entries(after_seq=workflow.opened_seq, actions=(REVOKE_ACTION, CLOSE_ACTION),
                                             newest_first=False)
                if e.get("person") == person.id and e.get("detail", {}).get("workflow") == workflow.id]
    how = {gid: f"{e['action']} (log seq {e['seq']})" for e in revoking
           for gid in e["detail"].get("grants", e["detail"].get("revoked_grants", ()))}
    grants = [g for g in vault.grants.of_person(person.id, include_revoked=True) if g.id in how]
    keys = {aid: a.key for aid, a in vault.accounts.by_ids({g.account_id for g in grants}).items()}
    names = operator_names(session, {g.revoked_by for g in grants})
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
        Table("Accounts below two controllers without the leaver", ("account", "controllers", "successor"),
              tuple((key, count, view.successor_email) for key, count in view.blocking)),
        Table("What the person learned (disclosures to them or by them)",
              ("seq", "ts", "action", "account", "field", "recipient", "by operator"),
              tuple((e["seq"], e["ts"], e["action"], e.get("acct"), e.get("field"), e.get("to_email"), e.get("op"))
                    for e in learned)),
        Table("Grants revoked by this offboarding", ("grant", "account", "level", "revoked at", "revoked by", "how"),
              tuple((g.id, keys.get(g.account_id), g.level.value, _ts(g.revoked_at), names.get(g.revoked_by),
                     how[g.id]) for g in grants)),
    )
    with session.atomic():
        link = session.record("offboard.report", person=person.id, detail={"workflow": workflow.id})
    checkpoint = checkpoint_of(session, link)
    return Report(f"Offboarding of {view.person_name}", facts, tables, checkpoint,
                  data={"workflow_id": view.workflow_id, "person_email": view.person_email, "state": view.state})
