"""A blocking alert about the vault's integrity: acknowledge it, or accept this copy with a reason."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from smvault.ui.literal import literal


class IntegrityAlert(ModalScreen[str | None]):
    """Dismisses with None (stay locked) or the operator's reason for accepting this copy."""

    BINDINGS = [("escape", "stay_locked", "Stay locked")]

    def __init__(self, message: str, *, can_reanchor: bool) -> None:
        super().__init__()
        self.message = message
        self.can_reanchor = can_reanchor

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="alert"):
            yield Label("The vault failed its integrity check", classes="dialog-title")
            yield Static(literal(self.message), id="alert-message")
            if self.can_reanchor:
                yield Static(
                    "If you restored an older backup on purpose, you may accept this copy as "
                    "this machine's reference. The reason is written to the access log.",
                    classes="dim",
                )
                yield Input(placeholder="Why this copy is the right one (required)", id="reason")
            with Horizontal(classes="buttons"):
                yield Button("I understand, stay locked", id="stay", variant="primary")
                if self.can_reanchor:
                    yield Button("Accept this copy and open", id="accept", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    @on(Button.Pressed, "#stay")
    def action_stay_locked(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#accept")
    @on(Input.Submitted, "#reason")
    def accept(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.notify("Give a reason: it goes into the access log.", severity="warning", markup=False)
            self.query_one("#reason", Input).focus()
            return
        self.dismiss(reason)
