"""Offboard someone: their leaving date, then the plan (a dry run) before anything is written.

The plan comes from `services.offboarding.plan_offboarding` (reads only, logs nothing) and is
read again when a valid leaving date is typed. Start dismisses with a `StartOffboarding`;
the caller writes (`services.offboarding.start_offboarding`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from smvault.services.offboarding import plan_offboarding
from smvault.ui.dialogs.close_offboarding import guard_text
from smvault.ui.dialogs.grant_add import parse_day
from smvault.ui.literal import clean
from smvault.ui.widgets.virtual_table import Column, VirtualTable

PLAN_COLUMNS = (
    Column("position", "#", numeric=True, max_width=4),
    Column("title", "Step", max_width=46),
    Column("account", "Account", max_width=24),
    Column("learned", "Learned", max_width=12),
)


@dataclass(frozen=True)
class StartOffboarding:
    on: date | None  # the leaving date to record (None: keep the one recorded)


def plan_summary(plan) -> Text:
    """How many steps of each kind, did-learn and could-learn rotations apart."""
    counts: dict[str, int] = {}
    for step in plan.steps:
        label = step.kind
        if step.kind == "rotate-password" and step.learned:
            label = f"rotate-password ({step.learned} learn)"
        counts[label] = counts.get(label, 0) + 1
    parts = [f"{n} {label}" for label, n in counts.items()]
    return Text(f"Plan (dry run, nothing written yet): {len(plan.steps)} step"
                f"{'s' if len(plan.steps) != 1 else ''}" + (": " + ", ".join(parts) if parts else "."))


class StartOffboardingDialog(ModalScreen[StartOffboarding | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, *, person_name: str, email: str, leave_on: date | None) -> None:
        super().__init__()
        self.person_name = person_name
        self.email = email
        self.leave_on = leave_on
        self.plan = None  # the last plan read

    def compose(self) -> ComposeResult:
        name = clean(self.person_name) or clean(self.email)
        with Vertical(id="dialog", classes="grant-dialog wf-dialog wf-start-offboarding"):
            yield Label(Text(f"Offboard {name} <{clean(self.email)}>"), classes="dialog-title")
            with Horizontal(classes="field-row"):
                yield Label("Leaves on", classes="field-label")
                yield Input(value=self.leave_on.isoformat() if self.leave_on else "",
                            placeholder="YYYY-MM-DD (UTC); empty keeps the date recorded",
                            id="offboard-date", compact=True)
            yield Static(Text("Reading the plan…", style="dim"), id="offboard-summary", classes="wf-section")
            table = VirtualTable(PLAN_COLUMNS, id="offboard-plan", classes="wf-plan")
            table.empty_text = "nothing to do: no grants, no secrets learned, nothing owned"
            yield table
            yield Static(Text(""), id="offboard-guard", classes="wf-section")
            yield Static("", id="offboard-error", classes="wf-error error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="offboard-cancel", compact=True)
                yield Button("Start offboarding", id="offboard-ok", variant="primary", compact=True,
                             disabled=True)

    def on_mount(self) -> None:
        self.query_one("#offboard-date", Input).focus()
        self.read_plan(self.leave_on)

    @work(exclusive=True, group="offboard-plan", exit_on_error=False)
    async def read_plan(self, on: date | None) -> None:
        plan = await self.app.service(plan_offboarding, self.email, on)  # type: ignore[attr-defined]
        self.show_plan(plan)

    def show_plan(self, plan) -> None:
        self.plan = plan
        table = self.query_one("#offboard-plan", VirtualTable)
        guard = self.query_one("#offboard-guard", Static)
        if plan is None:
            self.query_one("#offboard-summary", Static).update(Text("The plan could not be read."))
            table.set_rows([])
            guard.update(Text(""))
            self.query_one("#offboard-ok", Button).disabled = True
            return
        self.query_one("#offboard-summary", Static).update(plan_summary(plan))
        table.set_rows([
            (step.position, (step.position, step.title, step.account_key or "",
                             f"{step.learned} learn" if step.learned else ""))
            for step in plan.steps
        ])
        guard.update(guard_text(plan.blocking))
        guard.set_classes("wf-section " + ("error" if plan.blocking else "dim"))
        self.query_one("#offboard-ok", Button).disabled = False

    @on(Input.Changed, "#offboard-date")
    def _date_changed(self, event: Input.Changed) -> None:
        # The plan does not depend on the date (only its header would): read once, at mount.
        if parse_day(event.value.strip()) is not None:
            self.query_one("#offboard-error", Static).update("")

    @on(Input.Submitted, "#offboard-date")
    @on(Button.Pressed, "#offboard-ok")
    def submit(self) -> None:
        error = self.query_one("#offboard-error", Static)
        text = self.query_one("#offboard-date", Input).value.strip()
        day = parse_day(text) if text else None
        if text and day is None:
            error.update(Text("Leaves on: write the day as YYYY-MM-DD (e.g. 2026-11-30), or leave it empty"))
            self.query_one("#offboard-date", Input).focus()
            return
        if day is None and self.leave_on is None:
            error.update(Text("Leaves on: this person has no leaving date yet; give one (YYYY-MM-DD)"))
            self.query_one("#offboard-date", Input).focus()
            return
        if self.plan is None:
            error.update(Text("The plan is still being read: look at it first, then start."))
            return
        self.dismiss(StartOffboarding(day))

    @on(Button.Pressed, "#offboard-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
