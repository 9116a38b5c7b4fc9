"""Emergency ("break-glass") access to one account: request, approve or wait, veto, end, lapse.

Log actions, each in the transaction of its change and each carrying the request's `bg`
marker (`{"id": "emergency-<workflow id>", "incident": ...}`): breakglass.request,
breakglass.approve (activates it), breakglass.activate (its waiting period ended unvetoed),
breakglass.needs-approval (its waiting period no longer counts), breakglass.veto,
breakglass.end (by the requester, or by the system with a note), breakglass.lapse; and
breakglass.policy for a tier's waiting period. Disclosures made under active access, or
handed to its holder by another operator (`--for`), carry the same marker (services.secrets).
The rules live in `domain.emergency` and `domain.approval`.

Active access is a real 'reveal' grant that expires at the end of the window, so reveal,
copy, QR and TOTP work unchanged and stop by themselves. `sweep` (run after every unlock,
and at the start of every change here) moves what the clock decided: a waiting period that
ended activates the access (once the requester and the wait's setter are checked again), an
expired window lapses it, a grant revoked by hand ends it, and so does this machine's clock
behind the log, for the session operator's OWN access only (see domain.emergency). Closing
access that was active opens the post-incident rotation of what was disclosed under it
(services.post_incident).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from smvault.domain import emergency as rules
from smvault.domain.approval import Request, require_second_operator
from smvault.domain.clock import parse_timestamp, timestamp
from smvault.domain.emergency import EmergencyState
from smvault.domain.errors import ConflictError, NotFoundError, PolicyError
from smvault.domain.models import Account, Disclosure, Level, Operator, Person, PersonStatus, parse_tier
from smvault.domain.workflow import Workflow, WorkflowKind, require_open
from smvault.services.approval import approver_facts, confirm_approver
from smvault.services.inputs import clean_text
from smvault.services.lookup import account_by_ref
from smvault.services.policy import may_disclose
from smvault.services.session import Session, require_operator
from smvault.store.emergency import EmergencyAccess
from smvault.store.log_clock import LogClock
from smvault.store.settings import Settings

KIND = WorkflowKind.EMERGENCY


@dataclass(frozen=True)
class EmergencyView:
    """One emergency access request as the CLI and the TUI show it."""

    id: int
    account: Account
    requester: str  # operator name
    state: str  # waiting | requested | active | vetoed | lapsed | ended
    reason: str
    incident: str
    minutes: int
    requested_at: datetime
    wait_until: datetime | None
    approved_by: str | None  # operator name; None when its waiting period activated it
    starts_at: datetime | None
    expires_at: datetime | None
    vetoed_by: str | None
    post_incident_id: int | None
    approval: str | None = None  # "cli" | "same-terminal" | "wait" (how it became active)
    veto_reason: str | None = None
    ended_by: str | None = None  # operator name; None when it lapsed or the system ended it
    end_note: str | None = None  # why the system ended it, when it did
    closed_at: datetime | None = None
    grant_id: int | None = None
    wait_note: str | None = None  # why a configured waiting period did not apply

    @property
    def bg_id(self) -> str:
        return rules.bg_id(self.id)

    def time_left(self, now: datetime) -> timedelta | None:
        """Time left on active access (zero once over); None unless active."""
        return rules.time_left(self.state, self.expires_at, now)

    def wait_left(self, now: datetime) -> timedelta | None:
        """Time left in the waiting period (zero once over); None unless waiting."""
        if self.state != EmergencyState.WAITING or self.wait_until is None:
            return None
        return max(self.wait_until - now, timedelta(0))


# -- reading ---------------------------------------------------------------------------------


def _moment(text: str | None) -> datetime | None:
    return parse_timestamp(text) if text else None


def _operator_name(session: Session, operator_id: int | None) -> str | None:
    if operator_id is None:
        return None
    operator = session.vault.operators.get(operator_id)
    return operator.name if operator else f"operator {operator_id}"


def _view(session: Session, workflow: Workflow) -> EmergencyView:
    data = workflow.data
    return EmergencyView(
        id=workflow.id,
        account=session.vault.accounts.get(workflow.account_id),
        requester=_operator_name(session, workflow.opened_by) or "?",
        state=workflow.state,
        reason=data.get("reason", ""),
        incident=data.get("incident", ""),
        minutes=data.get("minutes", rules.DEFAULT_MINUTES),
        requested_at=workflow.opened_at,
        wait_until=_moment(data.get("wait_until")),
        approved_by=_operator_name(session, data.get("approved_by")),
        starts_at=_moment(data.get("starts_at")),
        expires_at=_moment(data.get("expires_at")),
        vetoed_by=_operator_name(session, data.get("vetoed_by")),
        post_incident_id=data.get("post_incident_id"),
        approval=data.get("approval"),
        veto_reason=data.get("veto_reason"),
        ended_by=_operator_name(session, data.get("ended_by")),
        end_note=data.get("end_note"),
        closed_at=workflow.closed_at,
        grant_id=data.get("grant_id"),
        wait_note=data.get("wait_note"),
    )


_MAX_ID = 2**63 - 1  # SQLite's largest integer: a longer number is no request's id


def _load(session: Session, request_id: int | str) -> Workflow:
    text = str(request_id).strip()
    workflow = session.vault.workflows.get(int(text)) if text.isdigit() and int(text) <= _MAX_ID else None
    if workflow is None or workflow.kind is not KIND:
        raise NotFoundError(f"no emergency access request {text}")
    return workflow


def emergency_status(session: Session, request_id: int | str | None = None, *,
                     include_closed: bool = False) -> list[EmergencyView]:
    """One request (by id), or every open one (every one with `include_closed`), newest first."""
    if request_id is not None:
        return [_view(session, _load(session, request_id))]
    headers = session.vault.workflows.headers(KIND, open_only=not include_closed)
    return [_view(session, workflow) for workflow, _, _ in headers]


def active_access(session: Session) -> list[EmergencyView]:
    """The session operator's emergency access in force right now (for the red banner): its
    grant neither expired nor revoked (a grant revoked by hand ends it; the sweep records that)."""
    if session.person.id is None:  # a recovery session holds no grant of its own
        return []
    ids = EmergencyAccess(session.vault.conn).in_force_for(session.person.id, session.ts())
    return [_view(session, session.vault.workflows.get(workflow_id)) for workflow_id in ids]


def _log_now(session: Session) -> datetime | None:
    """The latest time the log has seen (its newest entries, written by any machine)."""
    latest = LogClock(session.vault.conn).latest()
    return parse_timestamp(latest) if latest else None


def require_clock(session: Session) -> None:
    """Refuse (PolicyError) while this machine's clock is behind the log: to start a wait or
    a window, and to disclose under an emergency grant (the operator's own, or `--for` its
    holder: services.secrets), whose window is checked with this clock. The sweep at unlock
    ends the operator's own access in that case; this also covers a value handed to someone
    else's access, and a log that moved ahead since."""
    log_now = _log_now(session)
    if rules.clock_behind(session.now(), log_now):
        raise PolicyError(rules.clock_refusal(session.now(), log_now))


# -- the waiting period per tier -------------------------------------------------------------


def _settings(session: Session) -> Settings:
    return Settings(session.vault.conn)


def _wait_settings(session: Session) -> dict[int, rules.WaitSetting]:
    return rules.wait_settings(_settings(session).with_prefix(rules.WAIT_KEY_PREFIX))


def wait_policy(session: Session) -> dict[int, int]:
    """Tier -> waiting minutes; a tier that is absent has no wait (a second operator approves)."""
    return {tier: setting.minutes for tier, setting in _wait_settings(session).items()}


def set_wait_policy(session: Session, tier: int, minutes: int | None) -> dict[int, int]:
    """Give accounts of `tier` a waiting period of `minutes` (None: none, approval needed).

    A waiting period lets a request activate with nobody's approval, unless another
    operator vetoes it in time: it is a standing approval by whoever set it, and counts for
    a request only when that operator could approve the request (domain.approval)."""
    require_operator(session)
    tier = parse_tier(tier)
    minutes = rules.check_wait(minutes)
    key = rules.wait_key(tier)
    with session.atomic():
        before = wait_policy(session).get(tier)
        setting = rules.WaitSetting(minutes, session.operator.id, session.ts()) if minutes else None
        _settings(session).put(key, setting.encode() if setting else None)
        session.record("breakglass.policy", detail={"tier": tier, "wait_minutes": minutes, "before": before})
    return wait_policy(session)


def _setter_refusal(session: Session, setting: rules.WaitSetting, request: Request, opened_seq: int) -> str | None:
    """Why a waiting period does not count for `request` (None: it does). It is a standing
    approval by whoever set it, so it counts only when they could approve the request."""
    setter = session.vault.operators.get(setting.set_by) if setting.set_by is not None else None
    if setter is None or setter.removed_at is not None:
        return "this tier's waiting period does not count: the operator who set it was removed"
    try:
        require_second_operator(request, approver_facts(session, setter, opened_seq))
    except PolicyError as refused:
        return f"this tier's waiting period does not count: {refused.message}"
    return None


def _wait_for(session: Session, account: Account) -> tuple[rules.WaitSetting | None, str | None]:
    """(the tier's waiting period, None) when the session's operator may rely on it; (None,
    why not) when its setter could not approve their request; (None, None) when the tier has
    none."""
    setting = _wait_settings(session).get(account.tier)
    if setting is None:
        return None, None
    request = Request(session.operator.id, session.person.id, session.now(),
                      "emergency access", "this emergency access")
    refusal = _setter_refusal(session, setting, request, session.vault.log.head().seq)
    return (None, refusal) if refusal else (setting, None)


def _request_of(session: Session, workflow: Workflow) -> Request:
    requester = session.vault.operators.get(workflow.opened_by)
    return Request(requester.id, requester.person_id, workflow.opened_at,
                   "emergency access", "this emergency access")


def _wait_void(session: Session, workflow: Workflow) -> str | None:
    """At the end of a wait: why the waiting period it started under no longer counts (None:
    it still does). The policy must be the one the request was made under (not turned off or
    changed since), and its setter must still be able to approve the request (not removed,
    not leaving)."""
    data = workflow.data
    tier = session.vault.accounts.get(workflow.account_id).tier
    current = _wait_settings(session).get(tier)
    changed = rules.wait_changed(tier, data.get("wait_minutes"), data.get("wait_set_by"), current)
    if changed:
        return changed
    return _setter_refusal(session, current, _request_of(session, workflow), workflow.opened_seq)


# -- changing --------------------------------------------------------------------------------


def _entry(workflow: Workflow, account: Account) -> dict:
    """The fields every emergency log entry carries."""
    return {"account": account.id, "acct": account.key, "person": workflow.person_id,
            "bg": rules.marker(workflow.id, workflow.data["incident"])}


def _is_requester(operator: Operator, workflow: Workflow) -> bool:
    return operator.id == workflow.opened_by or operator.person_id == workflow.person_id


def _open_request(session: Session, account: Account) -> Workflow | None:
    """The session operator's open request on `account` (at most one; None in a recovery
    session, whose synthetic person makes none)."""
    if session.person.id is None:
        return None
    existing = session.vault.workflows.find(KIND, person_id=session.person.id, account_id=account.id)
    return existing[0] if existing else None


def open_request_id(session: Session, account_ref: int | str) -> int | None:
    """The id of the session operator's open emergency request on that account, if any
    (None in a recovery session)."""
    workflow = _open_request(session, account_by_ref(session, str(account_ref)))
    return workflow.id if workflow is not None else None


def _refuse_open_request(session: Session, account: Account) -> None:
    """One open request per requester and account: name the one they have."""
    existing = _open_request(session, account)
    if existing is not None:
        view = _view(session, existing)
        raise rules.already_open(view.id, account.key, view.state, session.now(), view.wait_until,
                                 view.expires_at)


def request_access(session: Session, account_ref: str, *, reason: str, incident: str,
                   minutes: int = rules.DEFAULT_MINUTES) -> EmergencyView:
    """Ask for emergency access to one account (state "waiting" or "requested")."""
    require_operator(session)
    account = account_by_ref(session, account_ref)
    reason = clean_text(reason, "reason", required=True)
    incident = rules.check_incident(incident)
    minutes = rules.check_minutes(minutes)
    sweep(session)  # a request that just lapsed no longer blocks a new one
    vault = session.vault
    with session.atomic():
        # First: with access already active, the requester holds the password through it.
        _refuse_open_request(session, account)
        rules.require_may_request(
            person_active=session.person.status(session.now().date()) is PersonStatus.ACTIVE,
            holds_password=may_disclose(session, session.person, account, Disclosure.PASSWORD),
            account_key=account.key, account_status=account.status,
        )
        require_clock(session)  # a wait measured from a clock set back would end early
        setting, wait_note = _wait_for(session, account)
        state, wait_until = rules.first_state(session.now(), setting.minutes if setting else None)
        data = {"reason": reason, "incident": incident, "minutes": minutes,
                "wait_until": timestamp(wait_until) if wait_until else None}
        if setting:  # the standing approval it relies on, checked again when the wait ends
            data.update(wait_minutes=setting.minutes, wait_set_by=setting.set_by)
        if wait_note:
            data["wait_note"] = wait_note
        workflow = vault.workflows.add(
            KIND, state, person_id=session.person.id, account_id=account.id,
            opened_by=session.operator.id, opened_at=session.ts(), opened_seq=vault.log.head().seq,
            data=data, steps=(),
        )
        session.record("breakglass.request", **_entry(workflow, account), detail={
            "workflow": workflow.id, "reason": reason, "minutes": minutes, "state": state.value,
            "wait_until": data["wait_until"],
        })
        return _view(session, workflow)


def _require_requester_may_start(session: Session, workflow: Workflow) -> None:
    """The requester as they are now: not removed, not leaving or left, not offboarded
    (PolicyError). A request made while they could ask must not outlive that."""
    vault = session.vault
    requester = vault.operators.get(workflow.opened_by)
    person = vault.people.get(workflow.person_id)
    offboarded = None
    if person.leave_on is not None:  # the grants' rule: a closed offboarding is final while leaving
        latest = vault.workflows.find(WorkflowKind.OFFBOARDING, open_only=False, person_id=person.id)
        offboarded = latest[0].id if latest and latest[0].closed else None
    rules.require_requester_may_start(
        operator_removed=requester is None or requester.removed_at is not None,
        person_active=person.status(session.now().date()) is PersonStatus.ACTIVE,
        offboarded=offboarded,
    )


def _check_approver(session: Session, workflow: Workflow, approver: Operator) -> None:
    require_open(workflow)
    rules.require_approvable(workflow.state)
    _require_requester_may_start(session, workflow)
    require_clock(session)
    require_second_operator(_request_of(session, workflow), approver_facts(session, approver, workflow.opened_seq))


def _activate(session: Session, workflow: Workflow, start: datetime, approver: Operator | None,
              how: str) -> Workflow:
    """Grant 'reveal' for the window that starts at `start`; one entry (approve or activate).
    Raises PolicyError when the requester may no longer have it, ConflictError when they
    hold 'reveal' already."""
    vault = session.vault
    account = vault.accounts.get(workflow.account_id)
    now = session.ts()
    _require_requester_may_start(session, workflow)
    revoked_expired = None
    for grant in vault.grants.open_for(workflow.person_id, account.id):
        if grant.level is not Level.REVEAL:
            continue
        if grant.active(session.now()):
            raise ConflictError(
                f"the requester already holds 'reveal' on {account.key} (grant {grant.id}): "
                "emergency access is not needed; the requester ends it"
            )
        # Expired but never revoked: it blocks a new one (one open grant per level).
        vault.grants.revoke(grant.id, session.operator.id, now)
        revoked_expired = grant.id
    starts_at, expires_at = rules.window(start, workflow.data["minutes"])
    grant = vault.grants.add(
        workflow.person_id, account.id, Level.REVEAL, approver.id if approver else None,
        rules.grant_reason(workflow.data["incident"]), timestamp(expires_at), now,
    )
    data = {**workflow.data, "approved_by": approver.id if approver else None, "approval": how,
            "grant_id": grant.id, "starts_at": timestamp(starts_at), "expires_at": timestamp(expires_at)}
    action = "breakglass.approve" if approver else "breakglass.activate"
    session.record(action, **_entry(workflow, account), detail={
        "workflow": workflow.id, "grant": grant.id, "starts_at": data["starts_at"],
        "expires_at": data["expires_at"],
        **({"revoked_expired_grant": revoked_expired} if revoked_expired is not None else {}),
        **({"approver": approver.name, "how": how} if approver else {"wait_until": workflow.data.get("wait_until")}),
    })
    vault.workflows.set_state(workflow.id, EmergencyState.ACTIVE, data=data)
    return vault.workflows.get(workflow.id)


def _approve(session: Session, request_id: int | str, approver: Operator, how: str) -> EmergencyView:
    with session.atomic():
        workflow = _load(session, request_id)
        _check_approver(session, workflow, approver)
        return _view(session, _activate(session, workflow, session.now(), approver, how))


def approve_access(session: Session, request_id: int | str) -> EmergencyView:
    """Approve as the session's operator (the CLI: the approver unlocked the vault themself).
    Access starts now, also when a waiting period is still running."""
    require_operator(session)
    sweep(session)
    return _approve(session, request_id, session.operator, "cli")


def approve_access_as(session: Session, request_id: int | str, approver: str, passphrase: bytes) -> EmergencyView:
    """Approve at the same terminal: a different operator types their own passphrase.

    Checked as `approve_access` (the same approver rules), then the passphrase against the
    approver's slot before anything is written; a wrong one raises WrongPassphraseError,
    writes nothing to the vault and is noted for the next unlock to log. The entry's `op` is
    the session's operator; its detail names the approver and says "same-terminal"."""
    require_operator(session)
    sweep(session)
    operator = confirm_approver(
        session, approver, passphrase, lambda op: _check_approver(session, _load(session, request_id), op))
    return _approve(session, request_id, operator, "same-terminal")


def _close(session: Session, workflow: Workflow, state: EmergencyState, action: str,
           closed_by: int | None, detail: dict, data: dict) -> Workflow:
    """Close a request: revoke its grant, log `action`, and open the post-incident rotation
    when access had been active (anything could have been disclosed)."""
    vault = session.vault
    account = vault.accounts.get(workflow.account_id)
    was_active = workflow.state == EmergencyState.ACTIVE
    grant_id = workflow.data.get("grant_id")
    if grant_id is not None:
        detail = {"grant": grant_id, **detail}
        grant = vault.grants.get(grant_id)
        if grant is not None and grant.revoked_at is None:
            vault.grants.revoke(grant_id, closed_by, session.ts())
            detail["revoked_grant"] = grant_id
    session.record(action, **_entry(workflow, account), detail={
        "workflow": workflow.id, "was": workflow.state, **detail})
    data = {**workflow.data, **data}
    if was_active:
        data["post_incident_id"] = _open_post_incident(session, workflow, by_system=closed_by is None)
    vault.workflows.close(workflow.id, state, closed_by, session.ts(), data=data)
    return vault.workflows.get(workflow.id)


def _open_post_incident(session: Session, workflow: Workflow, by_system: bool) -> int | None:
    """The post-incident workflow of what was disclosed under the access (None: nothing was).
    `by_system`: at a lapse, which the vault records itself, not the sweeping operator."""
    from smvault.services.post_incident import open_post_incident  # it imports the session

    opened = open_post_incident(
        session, bg_id=rules.bg_id(workflow.id), incident=workflow.data["incident"],
        reason=workflow.data["reason"], origin="emergency", source_workflow_id=workflow.id,
        by_system=by_system,
    )
    return opened.id if opened is not None else None


def veto_access(session: Session, request_id: int | str, reason: str) -> EmergencyView:
    """Another operator stops a request: while it waits or awaits approval it never starts;
    once active, the grant is revoked at once and the post-incident rotation opens."""
    require_operator(session)
    reason = clean_text(reason, "reason", required=True)
    sweep(session)
    with session.atomic():
        workflow = _load(session, request_id)
        rules.require_vetoable(workflow.state, _is_requester(session.operator, workflow))
        closed = _close(session, workflow, EmergencyState.VETOED, "breakglass.veto", session.operator.id,
                        {"reason": reason},
                        {"vetoed_by": session.operator.id, "veto_reason": reason})
        return _view(session, closed)


def end_access(session: Session, request_id: int | str) -> EmergencyView:
    """The requester ends their access early, or withdraws a request that has not started."""
    require_operator(session)
    sweep(session)
    with session.atomic():
        workflow = _load(session, request_id)
        rules.require_endable(workflow.state, _is_requester(session.operator, workflow))
        closed = _close(session, workflow, EmergencyState.ENDED, "breakglass.end", session.operator.id,
                        {}, {"ended_by": session.operator.id})
        return _view(session, closed)


def _facts(session: Session, workflow: Workflow) -> tuple[datetime | None, datetime | None, bool]:
    """(wait_until, expires_at, grant revoked) of an open request, for `rules.due`."""
    data = workflow.data
    revoked = False
    if workflow.state == EmergencyState.ACTIVE and data.get("grant_id") is not None:
        grant = session.vault.grants.get(data["grant_id"])
        revoked = grant is None or grant.revoked_at is not None
    return _moment(data.get("wait_until")), _moment(data.get("expires_at")), revoked


def _held_here(session: Session, workflow: Workflow) -> bool:
    """Whether the request is the session operator's own: its grant is used on this machine."""
    return _is_requester(session.operator, workflow)


def _due(session: Session, workflow: Workflow, log_now: datetime | None) -> rules.Due | None:
    wait_until, expires_at, revoked = _facts(session, workflow)
    return rules.due(workflow.state, wait_until, expires_at, session.now(), log_now=log_now,
                     grant_revoked=revoked, held_here=_held_here(session, workflow))


def _needs_approval(session: Session, workflow: Workflow, note: str) -> Workflow:
    """The waiting period no longer counts: the request waits for a second operator instead."""
    account = session.vault.accounts.get(workflow.account_id)
    session.record("breakglass.needs-approval", **_entry(workflow, account), detail={
        "workflow": workflow.id, "note": note, "wait_until": workflow.data.get("wait_until")})
    session.vault.workflows.set_state(workflow.id, EmergencyState.REQUESTED,
                                      data={**workflow.data, "wait_note": note})
    return session.vault.workflows.get(workflow.id)


def _end_note(session: Session, workflow: Workflow, log_now: datetime | None) -> str:
    """Why the system ends active access that has not run out: its grant was revoked by hand,
    or its holder's own clock is behind the log (see `rules.due`)."""
    grant_id = workflow.data.get("grant_id")
    grant = session.vault.grants.get(grant_id) if grant_id is not None else None
    if grant is None or grant.revoked_at is not None:
        who = _operator_name(session, grant.revoked_by) if grant else None
        return (f"its grant {grant_id} was revoked" + (f" by {who}" if who else "")
                + (f" at {timestamp(grant.revoked_at)}" if grant and grant.revoked_at else ""))
    return (f"{rules.clock_behind_note(session.now(), log_now)}: the access is used on that machine,"
            " and a clock set back would stretch it")


def _settle(session: Session, workflow_id: int) -> Workflow | None:
    """Apply what the clock decided for one open request, in one transaction; None when
    nothing was due."""
    with session.atomic():
        workflow = session.vault.workflows.get(workflow_id)
        if workflow.closed:
            return None
        log_now = _log_now(session)
        due = _due(session, workflow, log_now)
        if due is rules.Due.ACTIVATE:
            void = _wait_void(session, workflow)
            if void:
                return _needs_approval(session, workflow, void)
            try:
                with session.atomic():
                    return _activate(session, workflow, _moment(workflow.data["wait_until"]), None, "wait")
            except (ConflictError, PolicyError) as unneeded:
                note = unneeded.message
                return _close(session, workflow, EmergencyState.ENDED, "breakglass.end", None,
                              {"note": note}, {"end_note": note})
        if due is rules.Due.LAPSE:
            return _close(session, workflow, EmergencyState.LAPSED, "breakglass.lapse", None,
                          {"expires_at": workflow.data.get("expires_at")}, {})
        if due is rules.Due.END:
            note = _end_note(session, workflow, log_now)
            return _close(session, workflow, EmergencyState.ENDED, "breakglass.end", None,
                          {"note": note}, {"end_note": note})
        return None


def sweep(session: Session) -> list[EmergencyView]:
    """Activate requests whose waiting period ended unvetoed (or, when that period no longer
    counts, leave them to a second operator's approval), lapse access whose window is over,
    and end access whose grant was revoked by hand, or the session operator's own while this
    machine's clock is behind the log (never anyone else's: see `rules.due`) (revoked,
    closed, post-incident rotation opened). Returns what changed.

    Cheap when nothing is due (a query over the open workflows, and with one open, the log's
    newest entries and its grant), so every unlock runs it. A recovery session leaves it to
    the next operator's unlock: it changes nothing else."""
    if session.break_glass is not None:  # its entries would carry its own marker, not ours
        return []
    changed: dict[int, Workflow] = {}
    headers = session.vault.workflows.headers(KIND)
    if not headers:
        return []
    log_now = _log_now(session)
    for workflow, _, _ in headers:
        if _due(session, workflow, log_now) is None:
            continue  # the common case: no write transaction at all
        # Activation, then the lapse when the whole window is already over.
        while (settled := _settle(session, workflow.id)) is not None:
            changed[settled.id] = settled
    return [_view(session, workflow) for workflow in changed.values()]


def end_for_person(session: Session, person: Person, why: str) -> list[int]:
    """Inside the caller's transaction (an offboarding starting or closing): end every open
    emergency request of the person, each with its own entry (and, when it was active, its
    post-incident rotation). Returns their ids."""
    ended = []
    for workflow in session.vault.workflows.find(KIND, person_id=person.id):
        _close(session, workflow, EmergencyState.ENDED, "breakglass.end", session.operator.id,
               {"note": why}, {"end_note": why})
        ended.append(workflow.id)
    return ended
