"""Close an offboarding: what still blocks it, a successor, an override reason.

Shows the guard (accounts that would be left with fewer than two people able to regain
control) and the steps still open, then asks for a successor's email (optional: it lifts the
guard) and an override reason (optional: needed to close with steps open). The caller's
`save(successor, override)` runs `services.offboarding.close_offboarding`; its refusal (a
PolicyError naming what blocks) is shown here and the dialog stays open.
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

Save = Callable[[str | None, str | None], Awaitable[tuple[Any, SmvaultError | None]]]
SHOWN_STEPS = 3  # open steps listed by name; the rest are counted
SHOWN_ACCOUNTS = 3  # blocking accounts listed by name; the rest are counted


def guard_text(blocking, shown: int = SHOWN_ACCOUNTS) -> Text:
    """The guard in a sentence or two (`blocking`: (account key, controllers without the
    leaver)): the first few accounts by name, the rest counted."""
    if not blocking:
        return Text("Guard passes: every account keeps at least two people able to regain control.")
    named = ", ".join(f"{clean(key)} {count}" for key, count in blocking[:shown])
    more = f", +{len(blocking) - shown} more" if len(blocking) > shown else ""
    accounts = "account" if len(blocking) == 1 else "accounts"
    return Text(f"Guard: {len(blocking)} {accounts} left below two controllers ({named}{more}): "
                "closing needs a successor.")


def closing_open_steps(steps) -> list:
    """The steps that would be left open by a close: revoking grants is not one of them
    (closing revokes whatever the leaver still holds)."""
    return [s for s in steps if not s.done and s.kind != "revoke-grants"]


def open_steps_text(steps) -> Text:
    open_steps = closing_open_steps(steps)
    if not open_steps:
        return Text("Every step is done (closing revokes any grant still held).")
    text = Text(f"{len(open_steps)} step{'s' if len(open_steps) != 1 else ''} still open "
                "(closing needs an override reason):")
    for step in open_steps[:SHOWN_STEPS]:
        text.append(f"\n  {step.position}. {clean(step.title)}")
    if len(open_steps) > SHOWN_STEPS:
        text.append(f"\n  … and {len(open_steps) - SHOWN_STEPS} more", style="dim")
    return text


class CloseOffboardingDialog(ModalScreen[Any]):
    """Dismisses with the closed offboarding (what `save` returned), or None (escape)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, view: Any, save: Save) -> None:
        super().__init__()
        self.view = view  # the OffboardingView as it stood when the dialog opened
        self.save = save
        self.busy = False

    def compose(self) -> ComposeResult:
        view = self.view
        with Vertical(id="dialog", classes="grant-dialog wf-dialog wf-close"):
            yield Label(Text(f"Close the offboarding of {clean(view.person_name)}"), classes="dialog-title")
            yield Static(guard_text(view.blocking), id="close-guard",
                         classes="wf-section " + ("error" if view.blocking else "dim"))
            yield Static(open_steps_text(view.steps), id="close-steps", classes="wf-section")
            with Horizontal(classes="field-row"):
                yield Label("Successor", classes="field-label")
                yield Input(placeholder="email of an operator who takes over (optional; lifts the guard)",
                            id="close-successor", compact=True)
            with Horizontal(classes="field-row"):
                yield Label("Override", classes="field-label")
                yield Input(placeholder="why close with steps open (optional; logged, in reports)",
                            id="close-override", compact=True)
            yield Static("", id="close-error", classes="wf-error error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="close-cancel", compact=True)
                yield Button("Close offboarding", id="close-ok", variant="warning", compact=True)

    def on_mount(self) -> None:
        self.query_one("#close-successor", Input).focus()

    def error(self, message: Text | str) -> None:
        self.query_one("#close-error", Static).update(message if isinstance(message, Text) else Text(message))

    @on(Input.Submitted)
    @on(Button.Pressed, "#close-ok")
    def submit(self) -> None:
        if self.busy:
            return
        successor = self.query_one("#close-successor", Input).value.strip() or None
        override = self.query_one("#close-override", Input).value.strip() or None
        self._save(successor, override)

    @work(exclusive=True, group="close-offboarding", exit_on_error=False)
    async def _save(self, successor: str | None, override: str | None) -> None:
        self.busy = True
        self.error("Closing…")
        try:
            result, refused = await self.save(successor, override)
        finally:
            self.busy = False
        if refused is not None or result is None:
            self.error(refusal_text(refused) if refused is not None else "Not closed.")
            return
        self.dismiss(result)

    @on(Button.Pressed, "#close-cancel")
    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)
