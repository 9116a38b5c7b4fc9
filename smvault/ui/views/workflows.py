"""Workflows: offboardings, transfers, reviews, emergency access and post-incident rotations.

A table of every workflow (open ones first, newest first), fed by `services.workflows`;
beside it (wide) or below it (narrow) the highlighted workflow read through its own
service (offboarding, transfer, review): its facts, what blocks closing it, and its steps in
a second table, so `n` (note), `q` (QR) and `p` (rotate password) act on the highlighted step.
Every write is one service call (which logs it); the view then reloads and tells the other
views (`changed()`).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.message import Message
from textual.widgets import Static

from smvault.domain.clock import parse_timestamp
from smvault.domain.post_incident import NEW_KIT, OPERATOR_ADDED, note_refusal, session_label
from smvault.services import emergency as emergency_service
from smvault.services import offboarding as offboarding_service
from smvault.services import post_incident as post_incident_service
from smvault.services import review as review_service
from smvault.services import transfer as transfer_service
from smvault.services.secrets import set_password, totp_qr
from smvault.services.session import Session
from smvault.services.workflows import WorkflowRow, workflow_rows
from smvault.ui.commands import bindings
from smvault.ui.dialogs.approve import ApproveDialog
from smvault.ui.dialogs.close_offboarding import CloseOffboardingDialog, closing_open_steps, guard_text
from smvault.ui.dialogs.confirm import ConfirmDialog, attempt
from smvault.ui.dialogs.emergency_request import announce_emergency, approve_emergency
from smvault.ui.dialogs.qr import QrDialog
from smvault.ui.dialogs.step_note import StepNoteDialog
from smvault.ui.literal import clean
from smvault.ui.views.base import View
from smvault.ui.widgets.break_glass_banner import time_left_text
from smvault.ui.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from smvault.ui.app import SmvaultApp

LIST_COLUMNS = (
    Column("kind", "Kind", max_width=13),
    Column("subject", "Subject", max_width=26),
    Column("state", "State", max_width=9),
    Column("progress", "Done", numeric=True, max_width=7),
    Column("opened", "Opened (UTC)", width=16),
)
STEP_COLUMNS = (
    Column("done", "", width=3),
    Column("position", "#", numeric=True, max_width=4),
    Column("title", "Step", max_width=44),
    Column("account", "Account", max_width=24),
    Column("note", "About", max_width=20),
    Column("evidence", "Evidence", max_width=32),
    Column("by", "By", max_width=26),
)

# Emergency access closes as vetoed, lapsed or ended (domain.emergency).
CLOSED_STATES = frozenset({"closed", "cancelled", "vetoed", "lapsed", "ended"})
_EMERGENCY_PENDING = frozenset({"waiting", "requested"})
# Post-incident steps a note never resolves (domain.post_incident.note_refusal says why):
# what the About column says instead.
_NOT_BY_NOTE_ABOUT = {NEW_KIT: "smvault kit create", OPERATOR_ADDED: "passwd, or remove"}
# Transfer steps a note never resolves (the service says why): keep `n` greyed out on them.
_TRANSFER_NOT_BY_NOTE = frozenset({"rotate-password", "update-root-of-control"})
_QR_STEPS = frozenset({"qr-enrol", "reenrol-totp"})
_ACTIONS = frozenset({"open", "note", "revoke_grants", "close", "approve", "qr", "rotate", "keep", "revoke",
                      "veto", "end"})
# What a break-glass (recovery) session may do here: read, and show a QR (a disclosure).
_RECOVERY_ALLOWED = frozenset({"open", "qr"})


class ShowWorkflow(Message):
    """Open the workflows view on this workflow (by id)."""

    def __init__(self, workflow_id: int) -> None:
        super().__init__()
        self.workflow_id = workflow_id


@dataclass(frozen=True)
class StepLine:
    """One step (or one review item) as the steps table shows it, whatever the kind."""

    position: int
    kind: str
    title: str
    done: bool
    account_key: str | None
    about: str  # did/could learn, waits until, auto/manual, keep/revoke
    evidence: str | None
    who: str | None
    when: str | None
    not_before: date | None = None
    auto: bool = False
    manual: bool = False
    no_note: str | None = None  # an open step a note cannot resolve: why (and what does)


@dataclass(frozen=True)
class Shown:
    """The highlighted workflow, read in one go on the vault thread."""

    row: WorkflowRow
    view: Any  # OffboardingView | TransferView | ReviewView
    steps: tuple[StepLine, ...]

    @property
    def kind(self) -> str:
        return self.row.kind

    @property
    def state(self) -> str:
        return str(self.view.state)

    @property
    def is_open(self) -> bool:
        return self.state not in CLOSED_STATES


def when(ts: object) -> str:
    """A stored timestamp as "YYYY-MM-DD HH:MM" (UTC); anything else as given."""
    if not ts:
        return ""
    try:
        return f"{parse_timestamp(str(ts)):%Y-%m-%d %H:%M}"
    except ValueError:
        return clean(ts)


def _offboarding_lines(view: Any) -> tuple[StepLine, ...]:
    lines = []
    for s in view.steps:
        if s.learned:
            about = f"{s.learned} learn"
        else:
            about = "auto" if s.auto else ("manual" if s.manual else "")
        lines.append(StepLine(s.position, s.kind, s.title, s.done, s.account_key, about, s.evidence,
                              s.done_by, s.done_at, None, s.auto, s.manual))
    return tuple(lines)


def _transfer_lines(view: Any) -> tuple[StepLine, ...]:
    lines = []
    for s in view.steps:
        if s.not_before is not None and not s.done:
            about = f"not before {s.not_before.isoformat()}"
        else:
            about = "auto" if s.auto else "manual"
        lines.append(StepLine(s.position, s.kind, s.title, s.done, view.account_key, about, s.evidence,
                              s.done_by, s.done_at, s.not_before, s.auto, s.manual))
    return tuple(lines)


def _post_incident_lines(view: Any) -> tuple[StepLine, ...]:
    lines = []
    for s in view.steps:
        refusal = None if s.done else note_refusal(s.kind)
        if refusal is not None:
            about = _NOT_BY_NOTE_ABOUT.get(s.kind, "not by a note")
        else:
            about = "auto" if s.auto else "manual"
        lines.append(StepLine(s.position, s.kind, s.title, s.done, s.account_key, about, s.evidence,
                              s.done_by, s.done_at, None, s.auto, s.manual, refusal))
    return tuple(lines)


def _review_lines(view: Any) -> tuple[StepLine, ...]:
    return tuple(
        StepLine(i.position, "decision", f"{i.level}: {i.person_name} <{i.person_email}>",
                 i.decision is not None, i.account_key, i.decision or "undecided",
                 " · ".join(x for x in (i.reason, i.effect) if x) or None, i.decided_by, i.decided_at)
        for i in view.items
    )


def load_shown(session: Session, row: WorkflowRow) -> Shown:
    """The workflow of `row` through its own service (a read: nothing is logged)."""
    if row.kind == "emergency":
        return Shown(row, emergency_service.emergency_status(session, row.id)[0], ())
    if row.kind == "post-incident":
        view = post_incident_service.post_incident_status(session, row.id)
        return Shown(row, view, _post_incident_lines(view))
    if row.kind == "offboarding":
        view = offboarding_service.offboarding_status(session, row.person_email)
        return Shown(row, view, _offboarding_lines(view))
    if row.kind == "transfer":
        view = transfer_service.transfer_status(session, str(row.id))
        return Shown(row, view, _transfer_lines(view))
    view = review_service.review_status(session, row.id)
    return Shown(row, view, _review_lines(view))


def _clock(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


def emergency_facts(view: Any, now: datetime) -> Text:
    """Emergency access in two lines: what and for whom, then where it stands."""
    text = Text(f"Emergency access {view.id}: {clean(view.account.key)}", style="bold")
    text.append(f" for {clean(view.requester)} · incident {clean(view.incident)}")
    parts = [view.state, f"{view.minutes} min", f"requested {_clock(view.requested_at)}"]
    if view.approved_by:
        how = " at the same terminal" if view.approval == "same-terminal" else ""
        parts.append(f"approved by {clean(view.approved_by)}{how}")
    elif view.approval == "wait":
        parts.append("started after its wait, unvetoed")
    left = view.time_left(now)
    if left is not None:
        parts.append(f"until {_clock(view.expires_at)} ({time_left_text(left)} left)")
    if view.vetoed_by:
        parts.append(f"vetoed by {clean(view.vetoed_by)}: {clean(view.veto_reason)}")
    if view.ended_by:
        parts.append(f"ended by {clean(view.ended_by)}")
    if view.end_note:
        parts.append(clean(view.end_note))
    if view.post_incident_id is not None:
        parts.append(f"post-incident workflow {view.post_incident_id}")
    parts.append(f"reason: {clean(view.reason)}")
    text.append("\n" + " · ".join(p for p in parts if p), style="dim")
    return text


def after_access(state_before: str, post_incident_id: int | None) -> str:
    """What stopping emergency access opened (a sentence to append to a toast)."""
    if post_incident_id is not None:
        return f" Post-incident workflow {post_incident_id} opened: rotate what was revealed."
    if state_before == "active":
        return " Nothing was revealed under it: nothing to rotate."
    return ""


def emergency_guard(view: Any, me: str | None, now: datetime) -> tuple[Text, str]:
    """What happens next to open emergency access, and who may do it."""
    mine = view.requester == me
    if view.state == "requested":
        who = "a second operator approves it (a)" if mine else "a approves it"
        stop = "e withdraws it" if mine else "v vetoes it"
        return Text(f"Waiting for approval: {who}; {stop}."), "notice"
    if view.state == "waiting":
        left = view.wait_left(now)
        when_ = f"at {_clock(view.wait_until)}" + (f" (in {time_left_text(left)})" if left is not None else "")
        stop = "e withdraws it" if mine else "v vetoes it"
        return Text(f"Starts by itself {when_} unless vetoed: a approves it sooner; {stop}."), "notice"
    stop = "e ends it early" if mine else "v stops it at once"
    return Text(f"Active: a reveal grant until {_clock(view.expires_at)}; {stop}. "
                "When it ends, a post-incident workflow lists what to rotate."), "error"


def _list_cells(row: WorkflowRow) -> tuple:
    return (row.kind, row.subject, row.state, f"{row.steps_done}/{row.steps}", when(row.opened_at))


def _step_cells(line: StepLine) -> tuple:
    by = " ".join(x for x in (clean(line.who), when(line.when)) if x)
    return ("[x]" if line.done else "[ ]", line.position, line.title, line.account_key or "", line.about,
            line.evidence or "", by)


class _Table(VirtualTable, inherit_bindings=False):
    """A VirtualTable whose enter is left to the view's `open` command (shown in the footer)."""

    BINDINGS = [b for b in VirtualTable.BINDINGS if getattr(b, "key", None) != "enter"]


class StepsTable(_Table, inherit_bindings=False):
    BINDINGS = [*_Table.BINDINGS, Binding("escape", "back", "Back to the list", show=False)]

    def action_back(self) -> None:
        self.screen.query_one("#wf-table", VirtualTable).focus()


class WorkflowsView(View):
    scope = "workflows"
    BINDINGS = bindings("workflows")

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: dict[int, WorkflowRow] = {}
        # Steps done as the workflow's own service counts them (offboarding steps that
        # resolved themselves count there before the close records them): id -> (done, total).
        self.progress: dict[int, tuple[int, int]] = {}
        self.shown: Shown | None = None  # what the detail pane shows
        self.wanted: int | None = None  # the workflow the pane should show
        self._acting = False  # a command's dialog or vault call is under way

    def compose(self) -> ComposeResult:
        with Container(id="wf-body"):
            table = _Table(LIST_COLUMNS, id="wf-table")
            table.empty_text = "loading…"
            yield table
            with Vertical(id="wf-detail"):
                yield Static(Text("No workflow selected.", style="dim"), id="wf-facts")
                yield Static(Text(""), id="wf-guard")
                steps = StepsTable(STEP_COLUMNS, id="wf-steps")
                steps.empty_text = "no steps"
                yield steps
                yield Static(Text(""), id="wf-step")

    # -- parts ------------------------------------------------------------------------------

    @property
    def smvault(self) -> SmvaultApp:
        return cast("SmvaultApp", self.app)

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#wf-table", VirtualTable)

    @property
    def steps_table(self) -> VirtualTable:
        return self.query_one("#wf-steps", VirtualTable)

    @property
    def selected(self) -> WorkflowRow | None:
        key = self.table.cursor_row_key
        return self.rows.get(key) if isinstance(key, int) else None

    @property
    def current(self) -> Shown | None:
        """The pane's workflow, only when it is the highlighted one (else actions wait)."""
        row = self.selected
        shown = self.shown
        return shown if shown is not None and row is not None and shown.row.id == row.id else None

    @property
    def current_step(self) -> StepLine | None:
        shown = self.current
        if shown is None:
            return None
        key = self.steps_table.cursor_row_key
        return next((s for s in shown.steps if s.position == key), None)

    # -- View -------------------------------------------------------------------------------

    async def load(self) -> None:
        rows = await self.smvault.service(workflow_rows, False)
        table = self.table
        if rows is None:
            table.empty_text = "could not read the workflows"
            return
        # Open ones first, newest first in each group.
        rows.sort(key=lambda r: (r.state in CLOSED_STATES, -r.id))
        self.rows = {r.id: r for r in rows}
        self.progress = {}
        table.empty_text = "no workflows yet: o in People offboards, T in Accounts transfers"
        self._set_list_rows()
        self.update_bindings()
        self.load_detail(table.cursor_row_key, force=True)

    def _set_list_rows(self) -> None:
        rows = []
        for row in self.rows.values():
            cells = list(_list_cells(row))
            if row.id in self.progress:
                done, total = self.progress[row.id]
                cells[3] = f"{done}/{total}"
            rows.append((row.id, tuple(cells)))
        self.table.set_rows(rows)

    def focus_default(self) -> None:
        self.table.focus()

    def focus_filter(self) -> None:
        self.table.focus()  # workflows are few: no filter box

    async def show_workflow(self, workflow_id: int) -> None:
        """Put the cursor on a workflow (after starting one elsewhere) and show it."""
        await self.ensure_loaded()
        if not self.table.move_cursor_to_key(workflow_id):
            await self.load()
            if not self.table.move_cursor_to_key(workflow_id):
                self.notify(f"No workflow {workflow_id}.", severity="warning", markup=False)
                return
        self.table.focus()
        self.update_bindings()
        self.load_detail(workflow_id)

    # -- the list -----------------------------------------------------------------------------

    @on(VirtualTable.RowHighlighted, "#wf-table")
    def _highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        event.stop()
        self.update_bindings()
        self.load_detail(event.row_key)

    @on(VirtualTable.RowSelected, "#wf-table")
    def _selected(self, event: VirtualTable.RowSelected) -> None:  # a double click
        event.stop()
        self.action_open()

    # -- the detail pane --------------------------------------------------------------------

    def load_detail(self, key: Hashable | None, force: bool = False) -> None:
        workflow_id = key if isinstance(key, int) else None
        if workflow_id == self.wanted and not force and self.shown is not None:
            return
        self.wanted = workflow_id
        row = self.rows.get(workflow_id) if workflow_id is not None else None
        if row is None:
            self.show_detail(None)
            return
        if self.shown is None or self.shown.row.id != workflow_id:
            self.query_one("#wf-facts", Static).update(Text(f"Reading {clean(row.subject)}…", style="dim"))
        self._detail_loader(row)

    @work(exclusive=True, group="workflow-detail", exit_on_error=False)
    async def _detail_loader(self, row: WorkflowRow) -> None:
        shown = await self.smvault.service(load_shown, row)
        if self.wanted != row.id:
            return
        self.show_detail(shown)

    def show_detail(self, shown: Shown | None) -> None:
        previous = self.shown
        self.shown = shown
        facts = self.query_one("#wf-facts", Static)
        guard = self.query_one("#wf-guard", Static)
        steps = self.steps_table
        if shown is None:
            facts.update(Text("No workflow selected." if not self.rows else "Could not read this workflow.",
                              style="dim"))
            guard.update(Text(""))
            guard.set_classes("")
            steps.set_rows([])
            self.show_step(None)
            self.update_bindings()
            return
        progress = (sum(1 for s in shown.steps if s.done), len(shown.steps))
        if self.progress.get(shown.row.id, (shown.row.steps_done, shown.row.steps)) != progress:
            self.progress[shown.row.id] = progress
            self._set_list_rows()
        facts.update(self._facts(shown))
        # Emergency access has no steps: its facts may take the room, wrapped, narrow too.
        facts.set_class(shown.kind == "emergency", "-wrap")
        line, style = self._guard(shown)
        guard.update(line)
        guard.set_classes(style)
        keep = steps.cursor_row_key if previous is not None and previous.row.id == shown.row.id else None
        steps.empty_text = {"review": "no grants in scope",
                            "emergency": "emergency access has no steps (a approve · v veto · e end)"
                            }.get(shown.kind, "no steps")
        steps.set_rows([(s.position, _step_cells(s)) for s in shown.steps])
        if keep is not None:
            steps.move_cursor_to_key(keep)
        elif shown.kind != "review":
            # Start on the first step still open: that is where the work is.
            first_open = next((s.position for s in shown.steps if not s.done), None)
            if first_open is not None:
                steps.move_cursor_to_key(first_open)
        self.show_step(self.current_step)
        self.update_bindings()

    def _facts(self, shown: Shown) -> Text:
        view, kind = shown.view, shown.kind
        text = Text()
        if kind == "offboarding":
            text.append(f"Offboarding {clean(view.person_name)}", style="bold")
            text.append(f" <{clean(view.person_email)}>")
            done = sum(1 for s in view.steps if s.done)
            parts = [view.state, f"leaves {view.leave_on.isoformat()}" if view.leave_on else "no leaving date",
                     f"{done}/{len(view.steps)} steps done"]
            if view.opened_at:
                parts.append(f"opened {when(view.opened_at)} by {clean(view.opened_by)}")
            if view.closed_at:
                parts.append(f"closed {when(view.closed_at)} by {clean(view.closed_by)}")
            if view.successor_email:
                parts.append(f"successor {clean(view.successor_email)}")
            if view.override_reason:
                parts.append(f"override: {clean(view.override_reason)}")
        elif kind == "transfer":
            text.append(f"Transfer {view.workflow_id}: {clean(view.account_key)}", style="bold")
            text.append(f" → {clean(view.to_name)} <{clean(view.to_email)}>")
            done = sum(1 for s in view.steps if s.done)
            parts = [view.state, f"{done}/{len(view.steps)} steps done"]
            if view.approved_by:
                how = " at the same terminal" if getattr(view, "approval", None) == "same-terminal" else ""
                parts.append(f"approved by {clean(view.approved_by)}{how}")
            parts += [f"requested {when(view.opened_at)} by {clean(view.requested_by)}",
                      f"from {clean(view.from_email) or 'no owner'}", f"template {clean(view.template)}"]
            if getattr(view, "closed_at", None):
                parts.append(f"{view.state} {when(view.closed_at)} by {clean(view.closed_by)}")
            if getattr(view, "cancel_reason", None):
                parts.append(f"reason: {clean(view.cancel_reason)}")
        elif kind == "emergency":
            return emergency_facts(view, self.smvault.clock())
        elif kind == "post-incident":
            text.append(f"Post-incident {view.workflow_id}: incident {clean(view.incident)}", style="bold")
            done = sum(1 for s in view.steps if s.done)
            sessions = ", ".join(session_label(s.bg_id) + ("" if s.locked else " (never locked)")
                                 for s in view.sessions)
            parts = [view.state, f"{done}/{len(view.steps)} steps done",
                     f"opened {when(view.opened_at)} by {clean(view.opened_by)}", f"after {clean(sessions)}"]
            if view.closed_at:
                parts.append(f"closed {when(view.closed_at)} by {clean(view.closed_by)}")
            if view.override_reason:
                parts.append(f"override: {clean(view.override_reason)}")
        else:
            text.append(f"Access review {view.workflow_id}: {clean(view.platform) or 'all platforms'}",
                        style="bold")
            parts = [view.state, f"{view.decided} of {view.total} decided"]
            if view.due:
                parts.append(f"due {view.due.isoformat()}" + (" (overdue)" if getattr(view, "overdue", False) else ""))
            parts.append(f"opened {when(view.opened_at)} by {clean(view.opened_by)}")
            if getattr(view, "closed_at", None):
                parts.append(f"closed {when(view.closed_at)} by {clean(view.closed_by)}")
        text.append("\n" + " · ".join(p for p in parts if p), style="dim")
        return text  # (narrow: each line is cut with an ellipsis by the stylesheet)

    def _guard(self, shown: Shown) -> tuple[Text, str]:
        """What stands between this workflow and closing it, in a line or two."""
        view, kind = shown.view, shown.kind
        if not shown.is_open:
            return Text(""), ""
        if kind == "offboarding":
            if view.blocking:
                return guard_text(view.blocking), "error"
            open_steps = len(closing_open_steps(view.steps))
            if open_steps:
                return Text(f"Guard passes. {open_steps} step{'s' if open_steps != 1 else ''} still open: "
                            "closing now needs an override reason."), "notice"
            return Text("Guard passes and every step is done: c closes it."), "dim"
        if kind == "transfer":
            if view.blockers:
                first = "; ".join(clean(b) for b in view.blockers[:2])
                more = f" (+{len(view.blockers) - 2} more)" if len(view.blockers) > 2 else ""
                return Text(f"Cannot close yet: {first}{more}."), "notice"
            return Text("Nothing blocks closing: c closes it and makes the new owner the owner."), "dim"
        if kind == "emergency":
            return emergency_guard(view, self.smvault.vault.operator_name, self.smvault.clock())
        if kind == "post-incident":
            still = [s for s in view.steps if not s.done]
            if not still:
                return Text("Every step is done: c closes it."), "dim"
            kit = " New kit: smvault kit create." if any(s.kind == NEW_KIT for s in still) else ""
            # Short: narrow, the guard has two or three lines.
            return Text(f"{len(still)} step{'s' if len(still) != 1 else ''} open: p rotates a password, n notes a "
                        f"step done; closing now needs an override reason.{kit}"), "notice"
        undecided = view.total - view.decided
        if undecided:
            return Text(f"{undecided} grant{'s' if undecided != 1 else ''} still to decide "
                        "(k keep, x revoke); it closes at 100 %."), "notice"
        return Text("Every grant is decided: c closes the review."), "dim"

    @on(VirtualTable.RowHighlighted, "#wf-steps")
    def _step_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        event.stop()
        self.show_step(self.current_step)
        self.update_bindings()

    @on(VirtualTable.RowSelected, "#wf-steps")
    def _step_selected(self, event: VirtualTable.RowSelected) -> None:  # a double click
        event.stop()

    def show_step(self, line: StepLine | None) -> None:
        """The whole of the highlighted step (the table's columns may be cut)."""
        target = self.query_one("#wf-step", Static)
        if line is None:
            target.update(Text(""))
            return
        text = Text()
        text.append(f"{'[x]' if line.done else '[ ]'} {line.position}. ", style="bold")
        text.append(clean(line.title))
        # Most telling first: narrow, each line is cut with an ellipsis by the stylesheet.
        details = [clean(line.about)]
        if line.no_note:
            details.append(f"n is off: {line.no_note}")
        if line.evidence:
            details.append(f"evidence: {clean(line.evidence)}")
        if line.done:
            by = " ".join(x for x in (clean(line.who), when(line.when)) if x)
            details.append(f"done by {by}" if by else "done")
        details.append(clean(line.account_key))
        text.append("\n" + " · ".join(d for d in details if d), style="dim")
        target.update(text)

    # -- what is allowed now ---------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in _ACTIONS:
            return True
        if action == "open":
            return True if self.selected is not None else None
        if action not in _RECOVERY_ALLOWED and self.smvault.vault.break_glass is not None:
            return None  # a break-glass session reads and discloses; it changes nothing else
        shown = self.current
        if shown is None or not shown.is_open:
            return None
        kind, view, step = shown.kind, shown.view, self.current_step
        if kind == "emergency":
            mine = view.requester == self.smvault.vault.operator_name
            if action == "approve":
                allowed = view.state in _EMERGENCY_PENDING
            elif action == "veto":
                allowed = not mine
            elif action == "end":
                allowed = mine
            else:
                allowed = False
            return True if allowed else None
        if action in ("veto", "end"):
            return None
        open_step = step is not None and not step.done
        if action == "note":
            if kind == "offboarding":
                # Any open step takes a note (work done outside the vault) except revoking
                # grants: that is vault work, R (or the close) does it.
                allowed = open_step and step.kind != "revoke-grants"  # type: ignore[union-attr]
            elif kind == "transfer":
                allowed = (open_step and view.state == "approved"
                           and step.kind not in _TRANSFER_NOT_BY_NOTE)  # type: ignore[union-attr]
            elif kind == "post-incident":
                # The service's own rule: a note stands for no vault work (a new kit, an
                # added operator's own passphrase).
                allowed = open_step and note_refusal(step.kind) is None  # type: ignore[union-attr]
            else:
                allowed = False
        elif action == "revoke_grants":
            allowed = kind == "offboarding" and any(s.kind == "revoke-grants" and not s.done for s in view.steps)
        elif action == "close":
            allowed = kind != "review" or view.decided == view.total
        elif action == "approve":
            allowed = kind == "transfer" and view.state == "requested"
        elif action == "qr":
            allowed = (open_step and step.kind in _QR_STEPS and bool(step.account_key)  # type: ignore[union-attr]
                       and (kind != "transfer" or view.state == "approved"))
        elif action == "rotate":
            allowed = (open_step and step.kind == "rotate-password" and bool(step.account_key)  # type: ignore[union-attr]
                       and (kind != "transfer" or view.state == "approved"))
        else:  # keep, revoke: a review decision
            allowed = kind == "review" and open_step
        return True if allowed else None

    # -- commands ---------------------------------------------------------------------------

    def action_open(self) -> None:
        steps = self.steps_table
        if steps.has_focus:
            self.table.focus()
        elif self.selected is not None:
            steps.focus()

    async def after_write(self, workflow_id: int) -> None:
        """The vault changed: tell the other views, reread the list and this workflow."""
        self.changed()
        await self.load()
        self.table.move_cursor_to_key(workflow_id)
        self.load_detail(workflow_id, force=True)

    def _run(self, job) -> None:
        """Dialogs and vault calls wait in a worker, so keys (ctrl+l) still work meanwhile;
        one action at a time (a key pressed twice does not write twice)."""
        if self._acting:
            job.close()
            return
        self._acting = True

        async def run() -> None:
            try:
                await job
            finally:
                self._acting = False

        self.run_worker(run(), group="workflow-action", exit_on_error=False)

    def _subject(self, shown: Shown) -> str:
        view = shown.view
        if shown.kind == "offboarding":
            return f"the offboarding of {clean(view.person_name)}"
        if shown.kind == "transfer":
            return f"transfer {view.workflow_id} of {clean(view.account_key)}"
        if shown.kind == "post-incident":
            return f"post-incident {view.workflow_id} (incident {clean(view.incident)})"
        if shown.kind == "emergency":
            return f"emergency access {view.id} to {clean(view.account.key)}"
        return f"access review {view.workflow_id}"

    # n: resolve a step with a note -----------------------------------------------------------

    def action_note(self) -> None:
        shown, step = self.current, self.current_step
        if shown is not None and step is not None and self.check_action("note", ()):
            self._run(self._note(shown, step))

    async def _note(self, shown: Shown, step: StepLine) -> None:
        app = self.smvault
        if shown.kind == "offboarding":
            async def save(note: str):
                return await attempt(app, offboarding_service.resolve_offboarding_step, shown.view.person_email,
                                     step.position, note)
        elif shown.kind == "post-incident":
            async def save(note: str):
                return await attempt(app, post_incident_service.resolve_post_incident_step, shown.row.id,
                                     step.position, note)
        else:
            async def save(note: str):
                return await attempt(app, transfer_service.resolve_transfer_step, str(shown.row.id),
                                     step.position, note)
        about = Text.assemble((f"Step {step.position}: ", "bold"), clean(step.title),
                              ("\n" + self._subject(shown) + (f" · {clean(step.account_key)}" if step.account_key
                                                              else ""), "dim"))
        result = await app.push_screen_wait(StepNoteDialog(f"Resolve step {step.position} with a note", about, save))
        if result is None:
            return
        self.notify(f"Step {step.position} of {self._subject(shown)} resolved.", title="Step done", markup=False)
        await self.after_write(shown.row.id)

    # R: revoke every grant of the leaver -----------------------------------------------------

    def action_revoke_grants(self) -> None:
        shown = self.current
        if shown is not None and self.check_action("revoke_grants", ()):
            self._run(self._revoke_grants(shown))

    async def _revoke_grants(self, shown: Shown) -> None:
        view = shown.view
        who = f"{clean(view.person_name)} <{clean(view.person_email)}>"
        ok = await self.app.push_screen_wait(ConfirmDialog(
            "Revoke every grant", Text(f"Revoke every grant {who} holds, on every account, now? They lose "
                                       "all vault access at once; one entry goes into the access log."),
            confirm="Revoke all", variant="error"))
        if not ok:
            return
        count = await self.smvault.service(offboarding_service.revoke_leaver_grants, view.person_email)
        if count is None:
            return
        self.notify(f"Revoked {count} grant{'s' if count != 1 else ''} of {who}.", title="Grants revoked",
                    markup=False)
        await self.after_write(shown.row.id)

    # c: close ---------------------------------------------------------------------------------

    def action_close(self) -> None:
        shown = self.current
        if shown is not None and self.check_action("close", ()):
            self._run(self._close(shown))

    async def _close(self, shown: Shown) -> None:
        app = self.smvault
        if shown.kind == "offboarding":
            async def save(successor: str | None, override: str | None):
                return await attempt(app, offboarding_service.close_offboarding, shown.view.person_email,
                                     successor=successor, override=override)

            result = await app.push_screen_wait(CloseOffboardingDialog(shown.view, save))
        elif shown.kind == "transfer":
            result = await app.service(transfer_service.close_transfer, str(shown.row.id))
        elif shown.kind == "post-incident":
            result = await self._close_post_incident(shown)
        else:
            result = await app.service(review_service.close_review, shown.row.id)
        if result is None:
            return
        self.notify(f"Closed {self._subject(shown)}.", title="Closed", markup=False)
        await self.after_write(shown.row.id)

    async def _close_post_incident(self, shown: Shown) -> Any:
        """Every step done: close at once. Otherwise an override reason, asked in a dialog that
        shows the service's refusal and stays open."""
        app = self.smvault
        workflow_id = shown.row.id
        still = [s for s in shown.steps if not s.done]
        if not still:
            return await app.service(post_incident_service.close_post_incident, workflow_id)

        async def save(override: str):
            return await attempt(app, post_incident_service.close_post_incident, workflow_id, override)

        about = Text(f"{len(still)} step{'s' if len(still) != 1 else ''} still open:")
        for step in still[:3]:
            about.append(f"\n  {step.position}. {clean(step.title)}")
        if len(still) > 3:
            about.append(f"\n  … and {len(still) - 3} more", style="dim")
        about.append("\nClosing with steps open needs a reason; it goes into the access log.", style="dim")
        return await app.push_screen_wait(StepNoteDialog(
            f"Close post-incident {workflow_id}", about, save, label="Override", ok="Close",
            placeholder="why close with steps open (logged)"))

    # a: approve a transfer (dual control) -------------------------------------------------------

    def action_approve(self) -> None:
        shown = self.current
        if shown is not None and self.check_action("approve", ()):
            self._run(self._approve(shown))

    async def _approve(self, shown: Shown) -> None:
        app = self.smvault
        if shown.kind == "emergency":
            await self._approve_emergency(shown)
            return

        async def save(approver: str, passphrase: bytes):
            return await attempt(app, transfer_service.approve_transfer_as, str(shown.row.id), approver, passphrase)

        result = await app.push_screen_wait(ApproveDialog(shown.view, app.vault.operator_name or "", save))
        if result is None:
            return
        self.notify(f"Approved {self._subject(shown)} (by {clean(result.approved_by)}).", title="Approved",
                    markup=False)
        await self.after_write(shown.row.id)

    async def _approve_emergency(self, shown: Shown) -> None:
        """The requester is unlocked: a second operator approves at this terminal (their
        passphrase). Anyone else unlocked approves as themself: they already typed theirs."""
        app = self.smvault
        view = shown.view
        if view.requester == app.vault.operator_name:
            result = await approve_emergency(app, view)
        else:
            ok = await app.push_screen_wait(ConfirmDialog(
                f"Approve emergency access {view.id}", Text.assemble(
                    f"Approve, as {clean(app.vault.operator_name)}, emergency access to ",
                    (clean(view.account.key), "bold"), f" for {clean(view.requester)} "
                    f"({view.minutes} min from now, incident {clean(view.incident)})?\nReason: {clean(view.reason)}"
                    "\nThe approval goes into the access log."), confirm="Approve", variant="error"))
            result = await app.service(emergency_service.approve_access, view.id) if ok else None
        if result is None:
            return
        announce_emergency(self, result)
        await self.after_write(shown.row.id)

    # v / e: stop emergency access ---------------------------------------------------------------

    def action_veto(self) -> None:
        shown = self.current
        if shown is not None and self.check_action("veto", ()):
            self._run(self._veto(shown))

    async def _veto(self, shown: Shown) -> None:
        app = self.smvault
        view = shown.view

        async def save(reason: str):
            return await attempt(app, emergency_service.veto_access, view.id, reason)

        effect = ("Its grant is revoked at once and the post-incident workflow opens."
                  if view.state == "active" else "It never starts.")
        about = Text.assemble(("Veto: ", "bold"), f"emergency access to {clean(view.account.key)} for "
                              f"{clean(view.requester)}, incident {clean(view.incident)}.",
                              (f"\n{effect} A veto cannot be undone.", "dim"))
        result = await app.push_screen_wait(StepNoteDialog(
            f"Veto emergency access {view.id}", about, save, label="Reason", ok="Veto",
            placeholder="why it must not go ahead (goes into the access log)"))
        if result is None:
            return
        opened = after_access(view.state, result.post_incident_id)
        self.notify(f"Vetoed emergency access {view.id} to {clean(view.account.key)}.{opened}",
                    title="Vetoed", markup=False)
        await self.after_write(shown.row.id)

    def action_end(self) -> None:
        shown = self.current
        if shown is not None and self.check_action("end", ()):
            self._run(self._end(shown))

    async def _end(self, shown: Shown) -> None:
        view = shown.view
        active = view.state == "active"
        ok = await self.app.push_screen_wait(ConfirmDialog(
            f"End emergency access {view.id}", Text(
                f"End your emergency access to {clean(view.account.key)} now? " + (
                    "Its grant is revoked and the post-incident workflow opens for what was revealed."
                    if active else "The request is withdrawn before it starts.")),
            confirm="End access" if active else "Withdraw", variant="warning"))
        if not ok:
            return
        result = await self.smvault.service(emergency_service.end_access, view.id)
        if result is None:
            return
        opened = after_access(view.state, result.post_incident_id)
        self.notify(f"Ended emergency access {view.id} to {clean(view.account.key)}.{opened}",
                    title="Ended", markup=False)
        await self.after_write(shown.row.id)

    # q: the QR code for re-enrolment ----------------------------------------------------------

    def action_qr(self) -> None:
        shown, step = self.current, self.current_step
        if shown is not None and step is not None and step.account_key and self.check_action("qr", ()):
            self._run(self._qr(shown, step.account_key))

    async def _qr(self, shown: Shown, key: str) -> None:
        revealed = await self.smvault.service(totp_qr, key)
        if revealed is None:
            return
        self.changed()  # logged: the log view and the account's recent entries move
        self.load_detail(shown.row.id, force=True)  # showing it may resolve a step
        await self.app.push_screen_wait(QrDialog(key, str(revealed.value)))

    # p: rotate the password ---------------------------------------------------------------------

    def action_rotate(self) -> None:
        shown, step = self.current, self.current_step
        if shown is not None and step is not None and step.account_key and self.check_action("rotate", ()):
            self._run(self._rotate(shown, step.account_key))

    async def _rotate(self, shown: Shown, key: str) -> None:
        ok = await self.app.push_screen_wait(ConfirmDialog(
            "Rotate the password", Text(
                f"Store a new generated password for {clean(key)} in the vault now? It is not shown "
                "here: copy it from the Accounts view (c) and set it on the platform, or the old one "
                "stays the one that works. The change goes into the access log."),
            confirm="Rotate"))
        if not ok:
            return
        generated = await self.smvault.service(set_password, key)
        if generated is None:
            return
        del generated  # never shown, never kept
        self.notify(f"Rotated the password of {clean(key)}: a new one is stored in the vault.",
                    title="Password rotated", markup=False)
        await self.after_write(shown.row.id)

    # k / x: review decisions --------------------------------------------------------------------

    def action_keep(self) -> None:
        self._decide("keep")

    def action_revoke(self) -> None:
        self._decide("revoke")

    def _decide(self, decision: str) -> None:
        shown, step = self.current, self.current_step
        if shown is not None and step is not None and self.check_action(decision, ()):
            self._run(self._decision(shown, step, decision))

    async def _decision(self, shown: Shown, step: StepLine, decision: str) -> None:
        app = self.smvault

        async def save(reason: str):
            return await attempt(app, review_service.decide, shown.row.id, step.position, decision, reason)

        effect = "The grant is revoked at once." if decision == "revoke" else "The grant stays."
        about = Text.assemble((f"{decision.capitalize()}: ", "bold"), clean(step.title),
                              f" on {clean(step.account_key)}", (f"\n{effect} A decision cannot be changed.", "dim"))
        result = await app.push_screen_wait(StepNoteDialog(
            f"{decision.capitalize()} this grant", about, save, label="Reason", ok=decision.capitalize(),
            placeholder="why (goes into the access log and the review's report)"))
        if result is None:
            return
        self.notify(f"{decision.capitalize()}: {clean(step.title)} on {clean(step.account_key)}.",
                    title="Decided", markup=False)
        await self.after_write(shown.row.id)
