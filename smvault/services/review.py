"""Access reviews: snapshot the grants in force, decide each (keep or revoke), close, report.

Log actions: review.start, review.decide, review.close, review.report (one each).

Who may decide: a decision on a grant needs the same right as revoking it by hand,
`policy.require_manage` on the grant's account, for keep as well as revoke: a reviewer
vouches for access to an account they are responsible for. Any operator may start, close
(once every grant is decided), read and report on a review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from smvault.domain import review as rules
from smvault.domain.clock import timestamp
from smvault.domain.errors import InvalidInputError, NotFoundError
from smvault.domain.models import normalize_platform
from smvault.domain.report import Report, Table
from smvault.domain.workflow import Workflow, WorkflowKind, require_step_open
from smvault.services.checkpoints import checkpoint_of
from smvault.services.inputs import clean_text
from smvault.services.names import operator_names
from smvault.services.policy import require_manage
from smvault.services.session import Session


@dataclass(frozen=True)
class ReviewItem:
    position: int
    grant_id: int
    account_key: str
    person_email: str
    person_name: str
    level: str
    decision: str | None  # keep | revoke | None
    reason: str | None
    decided_by: str | None  # operator name
    decided_at: str | None
    effect: str | None = None  # what the decision did: "grant revoked", "already revoked at ...", "kept"
    holder_left: bool = False  # the holder had left at the snapshot: leftover access


@dataclass(frozen=True)
class ReviewView:
    workflow_id: int
    platform: str | None  # None: every platform
    due: date | None
    state: str  # open | closed
    opened_by: str
    opened_at: str
    items: tuple[ReviewItem, ...]
    decided: int
    total: int
    closed_by: str | None = None
    closed_at: str | None = None
    overdue: bool = False  # past due and still open

    @property
    def scope(self) -> str:
        return self.platform or "all platforms"


@dataclass(frozen=True)
class ReviewSummary:
    """A review in a list: no items (a review can hold tens of thousands)."""

    workflow_id: int
    platform: str | None
    due: date | None
    state: str
    opened_by: str
    opened_at: str
    decided: int
    total: int
    overdue: bool

    @property
    def scope(self) -> str:
        return self.platform or "all platforms"


def _due(workflow: Workflow) -> date | None:
    due = workflow.data.get("due")
    return date.fromisoformat(due) if due else None


def _view(session: Session, workflow: Workflow) -> ReviewView:
    names = operator_names(session, {workflow.opened_by, workflow.closed_by, *(s.done_by for s in workflow.steps)})
    items = tuple(
        ReviewItem(
            position=s.position, grant_id=s.grant_id, account_key=s.data["account_key"],
            person_email=s.data["person_email"], person_name=s.data["person_name"], level=s.data["level"],
            decision=s.outcome, reason=s.data.get("reason"), decided_by=names.get(s.done_by),
            decided_at=s.done_at and timestamp(s.done_at), effect=s.evidence,
            holder_left=bool(s.data.get("holder_left")),
        )
        for s in workflow.steps
    )
    decided, total = rules.progress(workflow)
    due = _due(workflow)
    return ReviewView(
        workflow_id=workflow.id, platform=workflow.data.get("platform"), due=due, state=workflow.state,
        opened_by=names[workflow.opened_by], opened_at=timestamp(workflow.opened_at), items=items,
        decided=decided, total=total, closed_by=names.get(workflow.closed_by),
        closed_at=workflow.closed_at and timestamp(workflow.closed_at),
        overdue=rules.is_overdue(due, workflow.state, session.now().date()),
    )


def _review(session: Session, review_id: int, with_steps: bool = True) -> Workflow:
    workflows = session.vault.workflows
    workflow = workflows.get(review_id) if with_steps else workflows.header(review_id)
    if workflow is None or workflow.kind is not WorkflowKind.REVIEW:
        raise NotFoundError(f"no access review {review_id}")
    return workflow


def start_review(session: Session, platform: str | None = None, due: date | None = None) -> ReviewView:
    """Snapshot every grant not revoked and not expired (optionally only on one platform's
    accounts), those of people who have left included and marked."""
    platform = normalize_platform(platform) if platform else None
    today = session.now().date()
    rules.check_due(due, today)
    vault = session.vault
    with session.atomic():
        live = rules.in_scope(vault.grants.all(), session.now())
        accounts = vault.accounts.by_ids({g.account_id for g in live})
        scope = [g for g in live if platform is None or accounts[g.account_id].platform == platform]
        if not scope:
            where = f" on {platform} accounts" if platform else ""
            raise InvalidInputError(f"no grants in force{where}: nothing to review")
        holders = {pid: rules.Holder(name, email) for pid, (name, email) in vault.people.labels().items()}
        left = vault.people.left_ids(today)
        workflow = vault.workflows.add(
            WorkflowKind.REVIEW, rules.OPEN, person_id=None, account_id=None,
            opened_by=session.operator.id, opened_at=session.ts(), opened_seq=vault.log.head().seq,
            data={"platform": platform, "due": due and due.isoformat()},
            steps=rules.snapshot_steps(scope, accounts, holders, left),
        )
        session.record("review.start", detail={
            "review": workflow.id, "scope": platform or "all", "count": len(scope),
            "holders_left": sum(1 for g in scope if g.person_id in left), "due": due and due.isoformat(),
        })
    return _view(session, workflow)


def review_status(session: Session, review_id: int) -> ReviewView:
    return _view(session, _review(session, review_id))


def list_reviews(session: Session, include_closed: bool = False) -> list[ReviewSummary]:
    """Reviews, newest first (open ones only unless `include_closed`)."""
    headers = session.vault.workflows.headers(WorkflowKind.REVIEW, open_only=not include_closed)
    names = operator_names(session, {w.opened_by for w, _, _ in headers})
    today = session.now().date()
    return [
        ReviewSummary(w.id, w.data.get("platform"), _due(w), w.state, names[w.opened_by],
                      timestamp(w.opened_at), done, total, rules.is_overdue(_due(w), w.state, today))
        for w, total, done in headers
    ]


def decide(session: Session, review_id: int, position: int, decision: str, reason: str) -> ReviewView:
    """Keep or revoke one snapshotted grant, for good. A revoke takes effect now, in the same
    transaction: the grant is revoked unless someone revoked it already (then the decision
    records that, and nothing else changes). Nobody decides on their own grant.

    The decision itself touches one step; the returned view (the contract) reads the whole
    review once: about 60 ms for 5,000 items, most of it loading the step rows."""
    decision = rules.parse_decision(decision)
    reason = clean_text(reason, "reason", required=True)
    vault = session.vault
    with session.atomic():
        # One step, not the whole snapshot: a review can hold tens of thousands of grants.
        workflow = _review(session, review_id, with_steps=False)
        step = vault.workflows.step_at(workflow.id, position)
        if step is None:
            raise NotFoundError(f"review {workflow.id} has no step {position}")
        require_step_open(workflow, step)
        account = vault.accounts.get(step.account_id)
        require_manage(session, account)
        grant = vault.grants.get(step.grant_id)
        rules.require_not_own(grant, session.person.id, workflow.id, position)
        revoked = False
        if grant.revoked_at is not None:
            effect = f"grant already revoked at {timestamp(grant.revoked_at)}"
        elif decision == rules.REVOKE:
            vault.grants.revoke(grant.id, session.operator.id, session.ts())
            revoked, effect = True, "grant revoked"
        else:
            effect = "kept"
        vault.workflows.set_step_data(step.id, {**step.data, "reason": reason})
        vault.workflows.complete_step(step.id, session.operator.id, session.ts(), effect, outcome=decision)
        session.record(
            "review.decide", account=account.id, acct=account.key, person=grant.person_id,
            detail={"review": workflow.id, "position": position, "grant": grant.id,
                    "decision": decision, "reason": reason, "revoked": revoked},
        )
    return review_status(session, review_id)


def close_review(session: Session, review_id: int) -> ReviewView:
    """Close a review whose every grant is decided (PolicyError otherwise)."""
    vault = session.vault
    with session.atomic():
        workflow = _review(session, review_id)
        rules.require_closable(workflow)
        kept = sum(1 for s in workflow.steps if s.outcome == rules.KEEP)
        vault.workflows.close(workflow.id, rules.CLOSED, session.operator.id, session.ts())
        session.record("review.close", detail={
            "review": workflow.id, "total": len(workflow.steps), "kept": kept,
            "revoked": len(workflow.steps) - kept,
        })
        workflow = vault.workflows.get(workflow.id)
    return _view(session, workflow)


def review_report(session: Session, review_id: int) -> Report:
    """The review's decisions and who made them, ending with a log checkpoint: the
    "review.report" entry this call records (open or closed reviews alike)."""
    view = review_status(session, review_id)
    with session.atomic():
        link = session.record("review.report", detail={
            "review": view.workflow_id, "state": view.state, "decided": view.decided, "total": view.total,
        })
    checkpoint = checkpoint_of(session, link)
    kept = sum(1 for i in view.items if i.decision == rules.KEEP)
    revoked = sum(1 for i in view.items if i.decision == rules.REVOKE)
    facts = (
        ("Review", view.workflow_id),
        ("Scope", view.scope),
        ("Due", view.due.isoformat() if view.due else "none"),
        ("State", view.state + (" (overdue)" if view.overdue else "")),
        ("Opened by", view.opened_by),
        ("Opened at", view.opened_at),
        ("Closed by", view.closed_by or ""),
        ("Closed at", view.closed_at or ""),
        ("Progress", f"{view.decided} of {view.total} decided ({kept} kept, {revoked} revoked)"),
    )
    table = Table(
        "Decisions",
        ("position", "account", "person", "email", "level", "grant", "decision", "reason", "effect",
         "decided by", "decided at", "holder left"),
        tuple((i.position, i.account_key, i.person_name, i.person_email, i.level, i.grant_id,
               i.decision or "undecided", i.reason or "", i.effect or "", i.decided_by or "",
               i.decided_at or "", "yes" if i.holder_left else "") for i in view.items),
    )
    return Report(f"Access review {view.workflow_id}", facts, (table,), checkpoint,
                  data={"review": view.workflow_id, "state": view.state, "decided": view.decided,
                        "total": view.total})
