"""Record the day someone leaves: from that day their grants stop counting.

The dialog only asks; the caller writes (`services.people.mark_leaving(s, email, day)`).
A day already past is allowed (recording a departure after the fact): the person then shows
as left at once.
"""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from smvault.ui.dialogs.grant_add import parse_day
from smvault.ui.literal import clean


def _today(app: object) -> date | None:
    clock = getattr(app, "clock", None)
    return clock().date() if callable(clock) else None


def leaving_hint(day: date | None, today: date | None) -> str:
    """What the chosen day means, said in a line."""
    if day is None or today is None:
        return ""
    days = (day - today).days
    if days > 1:
        return f"In {days} days: they show as leaving until then, as left from that day."
    if days == 1:
        return "Tomorrow: they show as leaving today, as left from tomorrow."
    if days == 0:
        return "Today: they show as left at once, and none of their grants count any more."
    return f"{-days} day{'s' if days < -1 else ''} ago: they show as left at once, and none of their grants count."


class MarkLeavingDialog(ModalScreen[date | None]):
    """Dismisses with the leaving day, or None (escape)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, *, person_name: str, email: str, current: date | None) -> None:
        super().__init__()
        self.person_name = person_name
        self.email = email
        self.current = current

    def compose(self) -> ComposeResult:
        name = clean(self.person_name) or clean(self.email)
        with Vertical(id="dialog", classes="grant-dialog mark-leaving"):
            yield Label(Text(f"Leaving date: {name}"), classes="dialog-title")
            yield Static(Text(f"{name} <{clean(self.email)}>"))
            yield Static(Text(
                "From that day (UTC) their grants stop counting: nobody may give them a code, "
                "a password or a seed, and they show as left. Until then they show as leaving. "
                "The grants themselves stay on record until you revoke them."
                + (f" Currently recorded: {self.current.isoformat()}." if self.current else ""),
                style="dim",
            ), id="leaving-explain")
            with Horizontal(classes="field-row"):
                yield Label("Leaves on", classes="field-label")
                yield Input(value=self.current.isoformat() if self.current else "", placeholder="YYYY-MM-DD",
                            id="leaving-date", compact=True)
            yield Static("", id="leaving-hint", classes="dim")
            yield Static("", id="leaving-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="leaving-cancel", compact=True)
                yield Button("Save", id="leaving-ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#leaving-date", Input).focus()
        self._update_hint(self.query_one("#leaving-date", Input).value)

    def _update_hint(self, text: str) -> None:
        self.query_one("#leaving-hint", Static).update(Text(leaving_hint(parse_day(text), _today(self.app))))

    @on(Input.Changed, "#leaving-date")
    def _changed(self, event: Input.Changed) -> None:
        self._update_hint(event.value)

    @on(Input.Submitted, "#leaving-date")
    @on(Button.Pressed, "#leaving-ok")
    def submit(self) -> None:
        text = self.query_one("#leaving-date", Input).value.strip()
        error = self.query_one("#leaving-error", Static)
        if not text:
            error.update(Text("Leaving date: enter the day as YYYY-MM-DD"))
            self.query_one("#leaving-date", Input).focus()
            return
        day = parse_day(text)
        if day is None:
            error.update(Text("Leaving date: write the day as YYYY-MM-DD (e.g. 2026-11-30)"))
            self.query_one("#leaving-date", Input).focus()
            return
        error.update(Text(""))
        self.dismiss(day)

    @on(Button.Pressed, "#leaving-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
