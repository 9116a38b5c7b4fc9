"""Ask before an action that cannot be undone, and run a dialog's own service call.

`ConfirmDialog` dismisses with True (confirmed) or False. `attempt` is for dialogs that write
themselves so that a refusal (a guard, a wrong passphrase) is shown inside the dialog, which
stays open, instead of in a toast after it closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from smvault.domain.errors import SmvaultError
from smvault.ui.literal import clean

T = TypeVar("T")


async def attempt(app: App, fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T | None, SmvaultError | None]:
    """Run `fn(session, ...)` on the vault thread: (result, None), or (None, the refusal).

    A refusal (any SmvaultError) comes back for the dialog to show; anything else is shown
    by the app as an internal error (never its text) and returned as a generic refusal.
    """
    try:
        return await app.vault.call(fn, *args, **kwargs), None  # type: ignore[attr-defined]
    except SmvaultError as exc:
        return None, exc
    except Exception as exc:  # noqa: BLE001 - shown, never raised into the UI
        app.show_error(exc)  # type: ignore[attr-defined]
        return None, SmvaultError("not done: an internal error (nothing was changed)")


REFUSAL_LIMIT = 230  # characters: about three lines of a dialog at 80 columns


def refusal_text(exc: SmvaultError, limit: int = REFUSAL_LIMIT) -> Text:
    """A refusal as literal text: its title, then the service's message (cut to `limit`, so
    a long list of open steps never pushes a dialog's buttons off an 80x24 screen)."""
    message = f"{exc.title}: {clean(str(exc))}"
    if len(message) > limit:
        message = message[: limit - 1].rstrip() + "…"
    return Text(message)


class ConfirmDialog(ModalScreen[bool]):
    """Dismisses with True when confirmed; escape or Cancel give False."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, body: Text, *, confirm: str = "Confirm", variant: str = "primary") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm_label = confirm
        self.variant = variant

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="grant-dialog wf-dialog wf-confirm"):
            yield Label(Text(clean(self.title_text)), classes="dialog-title")
            yield Static(self.body, id="confirm-body")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="confirm-cancel", compact=True)
                yield Button(self.confirm_label, id="confirm-ok", variant=self.variant, compact=True)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.query_one("#confirm-ok", Button).focus()

    @on(Button.Pressed, "#confirm-ok")
    def confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
