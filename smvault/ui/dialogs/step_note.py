"""Resolve a workflow step with a note (its evidence), or give a review decision its reason.

The caller passes `save(note)`: the service call (through `dialogs.confirm.attempt`), so a
refusal (the step waits until a date, it resolves itself, it was already done) is shown here
and the dialog stays open with the note still typed. It dismisses with what `save` returned,
or None when cancelled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from smvault.domain.errors import SmvaultError
from smvault.ui.dialogs.confirm import refusal_text
from smvault.ui.literal import clean

Save = Callable[[str], Awaitable[tuple[Any, SmvaultError | None]]]


class StepNoteDialog(ModalScreen[Any]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, about: Text, save: Save, *, label: str = "Note", ok: str = "Resolve",
                 placeholder: str = "what was done, where, by whom (goes into the access log)") -> None:
        super().__init__()
        self.title_text = title
        self.about = about
        self.save = save
        self.label = label
        self.ok = ok
        self.placeholder = placeholder
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="grant-dialog wf-dialog wf-note"):
            yield Label(Text(clean(self.title_text)), classes="dialog-title")
            yield Static(self.about, id="note-about")
            with Horizontal(classes="field-row"):
                yield Label(self.label, classes="field-label")
                yield Input(placeholder=self.placeholder, id="note-text", compact=True)
            yield Static("", id="note-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="note-cancel", compact=True)
                yield Button(self.ok, id="note-ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#note-text", Input).focus()

    def error(self, message: Text | str) -> None:
        self.query_one("#note-error", Static).update(message if isinstance(message, Text) else Text(message))

    @on(Input.Submitted, "#note-text")
    @on(Button.Pressed, "#note-ok")
    def submit(self) -> None:
        if self.busy:
            return
        note = self.query_one("#note-text", Input).value.strip()
        if not note:
            self.error(f"{self.label}: write what was done; it is the step's evidence")
            self.query_one("#note-text", Input).focus()
            return
        self._save(note)

    @work(exclusive=True, group="step-note", exit_on_error=False)
    async def _save(self, note: str) -> None:
        self.busy = True
        self.error("Saving…")
        try:
            result, refused = await self.save(note)
        finally:
            self.busy = False
        if refused is not None or result is None:
            self.error(refusal_text(refused) if refused is not None else "Not done.")
            self.query_one("#note-text", Input).focus()
            return
        self.dismiss(result)

    @on(Button.Pressed, "#note-cancel")
    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)
