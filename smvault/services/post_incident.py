"""Post-incident rotation: after a break-glass session (recovery unlock) or an emergency grant,
a workflow that makes safe again everything it disclosed.

The rules live in `domain.post_incident`; this module reads the facts (the session's entries
through the log's `bg.id` index, the latest replacement of each secret concerned) and
persists what the rules decide. One workflow per incident id while it is open: a second
session for the same incident appends its steps. Steps resolve themselves on every read
and are persisted at close, as offboarding's do.

Log actions, each in the transaction of its change: post-incident.open,
post-incident.extend, post-incident.step, post-incident.close. Opening and extending are
housekeeping the vault does itself (at a recovery session's lock, at a lapse, at the unlock
after a recovery session that never locked); working and closing the workflow is any
operator's job, never a recovery session's.
"""

from __future__ import annotations

from dataclasses import dataclass

from smvault.domain import post_incident as rules
from smvault.domain.clock import timestamp
from smvault.domain.emergency import check_incident
from smvault.domain.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from smvault.domain.offboarding import SET_ACTIONS, Resolution
from smvault.domain.post_incident import SessionLog
from smvault.domain.workflow import Step, Workflow, WorkflowKind, require_open
from smvault.services.inputs import clean_text
from smvault.services.names import operator_names
from smvault.services.session import Session
from smvault.store.vault import recorded_kit

KIND = WorkflowKind.POST_INCIDENT


@dataclass(frozen=True)
class IncidentStep:
    position: int  # 1-based, stable: what `incident step ID N` takes
    kind: str  # rotate-password | reenrol-totp | regenerate-recovery-codes | new-kit | review-log
    title: str
    account_key: str | None
    bg_id: str | None  # the session the step is about
    done: bool
    auto: bool  # resolves itself when a fact in the vault changes
    manual: bool  # only a note resolves it
    evidence: str | None
    done_by: str | None
    done_at: str | None


@dataclass(frozen=True)
class IncidentSession:
    """One break-glass session the workflow is about."""

    bg_id: str
    origin: str  # recovery | emergency
    reason: str | None
    first_seq: int
    last_seq: int
    source_workflow_id: int | None  # the emergency request, for an emergency grant
    locked: bool  # False: a recovery session found at a later unlock (it never locked)


@dataclass(frozen=True)
class PostIncidentView:
    workflow_id: int
    incident: str
    state: str  # open | closed
    opened_at: str
    opened_by: str  # an operator name, or who else opened it
    sessions: tuple[IncidentSession, ...]
    steps: tuple[IncidentStep, ...]
    override_reason: str | None
    closed_at: str | None
    closed_by: str | None

    @property
    def open_steps(self) -> tuple[IncidentStep, ...]:
        return tuple(s for s in self.steps if not s.done)


@dataclass(frozen=True)
class PostIncidentRow:
    workflow_id: int
    incident: str
    state: str
    opened_at: str
    sessions: int
    steps: int
    steps_done: int  # recorded; steps that resolved themselves count at close


# --- reading the facts ------------------------------------------------------------------------


def _session_log(session: Session, bg_id: str) -> SessionLog | None:
    return SessionLog.from_entries(bg_id, session.vault.log.break_glass_entries(bg_id))


def _session_logs(session: Session, workflow: Workflow) -> list[SessionLog]:
    logs = (_session_log(session, item["bg_id"]) for item in workflow.data.get("sessions", ()))
    return [log for log in logs if log is not None]


def _replacements(session: Session, account_ids: set[int], after_seq: int) -> list[dict]:
    """Entries that set a secret of these accounts after `after_seq` (per account, through
    the log_account index)."""
    found: list[dict] = []
    for account_id in sorted(account_ids):
        found += session.vault.log.entries(account_id=account_id, actions=tuple(SET_ACTIONS),
                                           after_seq=after_seq, newest_first=False)
    return found


def _derive(session: Session, workflow: Workflow) -> dict[int, Resolution]:
    """Which open steps have resolved themselves, by position (derived, never written on read)."""
    pending = [s for s in workflow.steps if not s.done]
    if not pending:
        return {}
    logs = _session_logs(session, workflow)
    first = min((log.first_seq for log in logs), default=workflow.opened_seq)
    accounts = {s.account_id for s in pending if s.kind in rules.ROTATION_KINDS and s.account_id is not None}
    since = rules.since_sessions(logs, _replacements(session, accounts, first))
    kit = _kit_facts(session, logs) if any(s.kind == rules.NEW_KIT for s in pending) else None
    settling = []
    if any(s.kind == rules.OPERATOR_ADDED for s in pending):
        settling = session.vault.log.entries(after_seq=first, actions=rules.OPERATOR_SETTLING_ACTIONS,
                                             newest_first=False)
    resolutions = {}
    for step in pending:
        resolution = rules.resolve(step, since, kit.created_after if kit else None, kit=kit, settling=settling)
        if resolution is not None:
            resolutions[step.position] = resolution
    return resolutions


def _kit_facts(session: Session, logs: list[SessionLog]) -> rules.KitFacts:
    """The kit in force (the vault's record of its keyring) against the kits the workflow's
    recovery sessions opened with (their `breakglass.unlock` entries)."""
    log = session.vault.log
    recovery = [item for item in logs if item.origin == rules.RECOVERY]
    current = recorded_kit(session.vault)
    current_id = current["kit_id"] if current else None
    unlocks = [item.unlock_seq for item in recovery if item.unlock_seq is not None]
    created_after = None
    if unlocks:
        found = log.entries(after_seq=max(unlocks), actions=(rules.KIT_ACTION,), newest_first=False, limit=1)
        created_after = found[0] if found else None
    return rules.KitFacts(
        current=current_id,
        used=frozenset(item.kit_id for item in recovery),
        current_created=log.kit_created(current_id) if current_id else None,
        created_after=created_after,
    )


def _ts(moment) -> str | None:
    return timestamp(moment) if moment is not None else None


def _step(step: Step, derived: Resolution | None, names: dict[int, str]) -> IncidentStep:
    manual = rules.is_manual(step.kind)
    common = dict(position=step.position, kind=step.kind, title=step.data.get("title", step.kind),
                  account_key=step.data.get("account"), bg_id=step.data.get("bg_id"),
                  auto=not manual, manual=manual)
    if step.done:
        return IncidentStep(**common, done=True, evidence=step.evidence,
                            done_by=names.get(step.done_by) or step.data.get("resolved_by"),
                            done_at=_ts(step.done_at))
    if derived is not None:
        return IncidentStep(**common, done=True, evidence=derived.evidence, done_by=derived.by, done_at=derived.at)
    return IncidentStep(**common, done=False, evidence=None, done_by=None, done_at=None)


def _view(session: Session, workflow: Workflow) -> PostIncidentView:
    derived = {} if workflow.closed else _derive(session, workflow)
    names = operator_names(session, {workflow.opened_by, workflow.closed_by, *(s.done_by for s in workflow.steps)})
    data = workflow.data
    sessions = tuple(IncidentSession(
        bg_id=item["bg_id"], origin=item["origin"], reason=item.get("reason"), first_seq=item["first_seq"],
        last_seq=item["last_seq"], source_workflow_id=item.get("source_workflow_id"),
        locked=item.get("locked", True),
    ) for item in data.get("sessions", ()))
    return PostIncidentView(
        workflow_id=workflow.id, incident=data.get("incident", ""), state=workflow.state,
        opened_at=_ts(workflow.opened_at),
        opened_by=names.get(workflow.opened_by) or data.get("opener", "the system"),
        sessions=sessions,
        steps=tuple(_step(s, derived.get(s.position), names) for s in workflow.steps),
        override_reason=data.get("override"), closed_at=_ts(workflow.closed_at),
        closed_by=names.get(workflow.closed_by),
    )


_MAX_ID = 2**63 - 1  # SQLite's largest integer: a larger id is no workflow (not an OverflowError)


def _load(session: Session, workflow_id: int | str) -> Workflow:
    text = str(workflow_id).strip()
    workflow = session.vault.workflows.get(int(text)) if text.isdigit() and int(text) <= _MAX_ID else None
    if workflow is None or workflow.kind is not KIND:
        raise NotFoundError(f"no post-incident workflow {text} (see 'smvault incident list')")
    return workflow


def _open_for_incident(session: Session, incident: str) -> Workflow | None:
    for workflow, _, _ in session.vault.workflows.headers(KIND, open_only=True):
        if workflow.data.get("incident") == incident:
            return session.vault.workflows.get(workflow.id)
    return None


# --- opening and extending (housekeeping) -----------------------------------------------------------


def _opener(session: Session, by_system: bool) -> str:
    """Who opened it, in words (`opened_by` is NULL unless an operator did)."""
    actor = session.operator.name if session.break_glass is None else rules.session_label(session.break_glass.id)
    if by_system:
        return f"the system (at the unlock of {actor})"
    return actor if session.break_glass is None else f"{actor} (at its lock)"


def _session_record(facts: SessionLog, reason: str, source_workflow_id: int | None, locked: bool) -> dict:
    return {"bg_id": facts.bg_id, "origin": facts.origin, "reason": reason, "first_seq": facts.first_seq,
            "last_seq": facts.last_seq, "unlock_seq": facts.unlock_seq, "kit_id": facts.kit_id,
            "source_workflow_id": source_workflow_id, "locked": locked}


def open_post_incident(session: Session, *, bg_id: str, incident: str, reason: str, origin: str,
                       source_workflow_id: int | None = None, by_system: bool = False,
                       locked: bool = True) -> Workflow | None:
    """Open the post-incident workflow of the break-glass session `bg_id` (its entries carry
    that `bg.id`), or append its steps to the incident's open one. Returns the workflow; None
    when an emergency grant disclosed nothing (nothing to rotate, nothing to review).

    `by_system`: opened by the vault itself (a lapse, a session found unlocked), not by the
    session's operator: `opened_by` stays NULL. `locked=False` marks a recovery session that
    ended without locking. Logs post-incident.open or post-incident.extend (nothing when the
    session is already fully covered)."""
    if origin not in rules.ORIGINS or rules.origin_of(bg_id) != origin:
        raise InvalidInputError(f"origin must match the session id ({', '.join(rules.ORIGINS)})")
    incident = check_incident(incident)
    reason = clean_text(reason, "reason")
    vault = session.vault
    with session.atomic():
        facts = _session_log(session, bg_id)
        if facts is None or (origin == rules.EMERGENCY and not facts.disclosed):
            return None
        keys = {aid: a.key for aid, a in vault.accounts.by_ids({aid for aid, _ in facts.disclosed}).items()}
        existing = _open_for_incident(session, incident)
        record = _session_record(facts, reason, source_workflow_id, locked)
        if existing is None:
            specs = rules.new_steps(facts, (), keys)
            workflow = vault.workflows.add(
                KIND, rules.OPEN, person_id=None, account_id=None,
                opened_by=None if by_system else session.operator.id, opened_at=session.ts(),
                opened_seq=vault.log.head().seq,
                data={"incident": incident, "sessions": [record], "opener": _opener(session, by_system)},
                steps=specs,
            )
            session.record("post-incident.open", detail={
                "workflow": workflow.id, "incident": incident, "session": bg_id, "origin": origin,
                "source_workflow": source_workflow_id, "steps": len(specs), "locked": locked})
            return workflow
        return _extend(session, existing, facts, record, keys)


def _extend(session: Session, workflow: Workflow, facts: SessionLog, record: dict, keys: dict[int, str]) -> Workflow:
    vault = session.vault
    specs = rules.new_steps(facts, workflow.steps, keys)
    widened = []
    for step in workflow.steps:
        data = rules.widened_review(facts, step)
        if data is not None:
            vault.workflows.set_step_data(step.id, data)
            widened.append(step.position)
    sessions = list(workflow.data.get("sessions", ()))
    known = next((i for i, item in enumerate(sessions) if item["bg_id"] == facts.bg_id), None)
    if known is None:
        sessions.append(record)
    else:  # a session seen before (found unlocked while it was still running): now it locked
        record = {**sessions[known], "last_seq": facts.last_seq, "locked": record["locked"] or sessions[known]["locked"]}
        if record == sessions[known] and not specs and not widened:
            return workflow
        sessions[known] = record
    if specs:
        vault.workflows.add_steps(workflow.id, specs)
    vault.workflows.set_state(workflow.id, workflow.state, data={**workflow.data, "sessions": sessions})
    updated = vault.workflows.get(workflow.id)
    session.record("post-incident.extend", detail={
        "workflow": workflow.id, "incident": workflow.data.get("incident"), "session": facts.bg_id,
        "origin": facts.origin, "steps_added": [s.position for s in updated.steps[len(workflow.steps):]],
        "widened": widened})
    return updated


def cover_unlocked_sessions(session: Session) -> list[Workflow]:
    """Open the post-incident workflow of every recovery session that logged its unlock but
    is in no post-incident workflow: it never locked (killed, crashed, power lost). Runs at
    every checked unlock; the current recovery session is left to its own lock.

    A recovery session still running in another process looks the same: its workflow opens
    early, and its lock later appends what it did since."""
    # Headers only (one query): every unlock runs this, and closed workflows pile up.
    covered = {item["bg_id"] for workflow, _, _ in session.vault.workflows.headers(KIND, open_only=False)
               for item in workflow.data.get("sessions", ())}
    current = session.break_glass.id if session.break_glass is not None else None
    opened = []
    for entry in session.vault.log.break_glass_actions(rules.UNLOCK_ACTION):
        bg = entry.get("bg") or {}
        bg_id = bg.get("id")
        if not bg_id or bg_id in covered or bg_id == current:
            continue
        with session.system_work():
            workflow = open_post_incident(
                session, bg_id=bg_id, incident=bg.get("incident") or "unknown",
                reason=(entry.get("detail") or {}).get("reason"), origin=rules.RECOVERY,
                by_system=True, locked=False)
        covered.add(bg_id)
        if workflow is not None:
            opened.append(workflow)
    return opened


# --- reading ---------------------------------------------------------------------------------------


def post_incident_status(session: Session, workflow_id: int | str) -> PostIncidentView:
    return _view(session, _load(session, workflow_id))


def post_incidents(session: Session, open_only: bool = True) -> list[PostIncidentRow]:
    """Post-incident workflows, newest first, without reading their steps' facts."""
    return [PostIncidentRow(w.id, w.data.get("incident", ""), w.state, _ts(w.opened_at),
                            len(w.data.get("sessions", ())), steps, done)
            for w, steps, done in session.vault.workflows.headers(KIND, open_only=open_only)]


# --- working it (operators) --------------------------------------------------------------------------


def _emergency_requests(session: Session, workflow: Workflow) -> list[Workflow]:
    """The emergency access requests whose disclosures the workflow covers."""
    requests = []
    for item in workflow.data.get("sessions", ()):
        if item.get("origin") != rules.EMERGENCY:
            continue
        source = item.get("source_workflow_id")
        if source is None:  # the session id names the request too: "emergency-<id>"
            tail = str(item.get("bg_id", ""))[len(rules.EMERGENCY_PREFIX):]
            source = int(tail) if tail.isdigit() else None
        request = session.vault.workflows.get(int(source)) if source is not None else None
        if request is not None:
            requests.append(request)
    return requests


def _require_not_covered(session: Session, workflow: Workflow, what: str) -> None:
    """The person whose emergency access the workflow covers does not sign it off: what they
    saw, and why, is what the others review (PolicyError)."""
    operator = session.operator
    for request in _emergency_requests(session, workflow):
        if operator.id == request.opened_by or operator.person_id == request.person_id:
            raise PolicyError(
                f"post-incident {workflow.id} covers your own emergency access (request {request.id}): "
                f"another operator must {what}"
            )


def resolve_post_incident_step(session: Session, workflow_id: int | str, position: int, note: str) -> PostIncidentView:
    """Resolve an open step with a note as its evidence (the log reviewed; a secret rotated
    outside the vault). The kit step resolves only by creating a kit."""
    note = clean_text(note, "note", required=True)
    vault = session.vault
    with session.atomic():
        workflow = _load(session, workflow_id)
        require_open(workflow)
        step = workflow.step_at(position)
        if step.done:
            raise ConflictError(f"step {position} of post-incident {workflow.id} is already resolved: {step.evidence}")
        _require_not_covered(session, workflow, "resolve its steps with a note")
        refusal = rules.note_refusal(step.kind)
        if refusal:
            raise ConflictError(f"step {position} of post-incident {workflow.id}: {refusal}")
        derived = _derive(session, workflow).get(position)
        if derived is not None:
            raise ConflictError(
                f"step {position} of post-incident {workflow.id} has already resolved itself: {derived.evidence}")
        vault.workflows.complete_step(step.id, session.operator.id, session.ts(), note)
        link = session.record("post-incident.step", account=step.account_id, acct=step.data.get("account"),
                              detail={"workflow": workflow.id, "incident": workflow.data.get("incident"),
                                      "position": position, "kind": step.kind, "note": note})
        # Where the note sits in the log: a disclosure after it needs a step of its own.
        vault.workflows.set_step_data(step.id, {**step.data, "done_seq": link.seq})
        return _view(session, vault.workflows.get(workflow.id))


def close_post_incident(session: Session, workflow_id: int | str, override: str | None = None) -> PostIncidentView:
    """Close once every step is done (resolved itself or by a note); open steps need an
    override reason (PolicyError otherwise). What resolved itself is persisted."""
    override = clean_text(override, "override reason")
    vault = session.vault
    with session.atomic():
        workflow = _load(session, workflow_id)
        require_open(workflow)
        derived = _derive(session, workflow)
        still_open = [s for s in workflow.steps if not s.done and s.position not in derived]
        if override is not None and still_open:
            _require_not_covered(session, workflow, "close it over open steps")
        rules.require_closable(workflow.id, still_open, override)
        now = session.ts()
        for step in workflow.steps:
            found = derived.get(step.position)
            if step.done or found is None:
                continue
            vault.workflows.complete_step(step.id, None, found.at or now, found.evidence)
            vault.workflows.set_step_data(step.id, {**step.data, "resolved_by": found.by, "derived": True})
        vault.workflows.close(workflow.id, rules.CLOSED, session.operator.id, now,
                              {**workflow.data, "override": override})
        session.record("post-incident.close", detail={
            "workflow": workflow.id, "incident": workflow.data.get("incident"),
            "steps": {"total": len(workflow.steps), "done": len(workflow.steps) - len(still_open),
                      "resolved_themselves": sorted(derived), "open": [s.position for s in still_open]},
            "override": override})
        return _view(session, vault.workflows.get(workflow.id))
