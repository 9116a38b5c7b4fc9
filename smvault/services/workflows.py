"""Every workflow at a glance (offboardings, transfers, reviews, emergency access, post-incident
rotations): for lists and the dashboard.

Read-only and unlogged; each kind's own service (offboarding, transfer, review) moves them.
"""

from __future__ import annotations

from dataclasses import dataclass

from smvault.domain.workflow import WorkflowKind
from smvault.services.session import Session


@dataclass(frozen=True)
class WorkflowRow:
    id: int
    kind: str  # offboarding | transfer | review | emergency | post-incident
    state: str
    subject: str  # plain text: the leaver, "account → new owner", the review's scope,
    # "account for requester (incident)", or "incident ID"
    person_email: str | None
    account_key: str | None
    opened_at: str
    steps: int
    steps_done: int  # resolved and recorded; offboarding steps that resolved themselves count at close


def workflow_rows(session: Session, open_only: bool = True) -> list[WorkflowRow]:
    vault = session.vault
    summaries = vault.workflows.summaries(open_only)
    people = vault.people.labels()
    accounts = vault.accounts.by_ids({s[4] for s in summaries if s[4] is not None})
    incidents = _incidents(session, {s[1] for s in summaries}, open_only)
    rows = []
    for wid, kind, state, person_id, account_id, opened_at, steps, done in summaries:
        name, email = people.get(person_id, ("", None)) if person_id is not None else ("", None)
        account = accounts.get(account_id)
        if kind == WorkflowKind.TRANSFER:
            subject = f"{account.key if account else '?'} → {name}"
        elif kind == WorkflowKind.REVIEW:
            subject = f"access review {wid}"
        elif kind == WorkflowKind.EMERGENCY:
            subject = f"{account.key if account else '?'} for {name} ({incidents.get(wid, '?')})"
        elif kind == WorkflowKind.POST_INCIDENT:
            subject = f"incident {incidents.get(wid, '?')}"
        else:
            subject = name
        rows.append(WorkflowRow(wid, kind, state, subject, email, account.key if account else None,
                                opened_at, steps, done))
    return rows


def _incidents(session: Session, kinds: set[str], open_only: bool) -> dict[int, str]:
    """Workflow id -> incident id, for the break-glass kinds present (their data holds it)."""
    found = {}
    for kind in (WorkflowKind.EMERGENCY, WorkflowKind.POST_INCIDENT):
        if kind.value in kinds:
            for workflow, _, _ in session.vault.workflows.headers(kind, open_only):
                found[workflow.id] = str(workflow.data.get("incident", "?"))
    return found


def open_counts(session: Session) -> dict[str, int]:
    """Open workflows by kind; every kind present, zero included."""
    counts = session.vault.workflows.count_open()
    return {kind.value: counts.get(kind.value, 0) for kind in WorkflowKind}
