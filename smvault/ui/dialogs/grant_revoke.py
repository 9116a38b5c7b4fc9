"""Take away one grant on an account: pick it from the list, read the sentence, confirm.

The dialog only asks; the caller revokes (`services.grants.revoke_grants(s, email, key,
level)`) with the `(email, level)` it returns.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from smvault.ui.literal import clean


def revoke_sentence(account_key: str, email: str, name: str, level: str) -> Text:
    """'Revoke reveal on x:acme from Jane Doe <jane@acme.example>?' as literal text."""
    who = f"{clean(name)} <{clean(email)}>" if name else f"<{clean(email)}>"
    return Text(f"Revoke {clean(level)} on {clean(account_key)} from {who}?")


class RevokeGrantDialog(ModalScreen[tuple[str, str] | None]):
    """Dismisses with (email, level) of the grant to revoke, or None (escape)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, *, account_key: str, grants: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.account_key = account_key
        self.grants = list(grants)  # (email, name, level)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="grant-dialog grant-revoke"):
            yield Label(Text(f"Revoke access to {clean(self.account_key)}"), classes="dialog-title")
            if self.grants:
                yield Static(Text("Pick the grant (enter), then confirm with Revoke.", style="dim"))
            options = [
                Option(Text.assemble(f"{clean(name)} <{clean(email)}>  ", (clean(level), "bold")), id=str(i))
                for i, (email, name, level) in enumerate(self.grants)
            ]
            yield OptionList(*options, id="revoke-list", compact=True)
            yield Static(Text(""), id="revoke-sentence", classes="notice")
            yield Static(
                Text("They lose this access at once; the revocation goes into the access log."
                     if self.grants else f"Nobody holds an open grant on {clean(self.account_key)}."),
                classes="dim",
            )
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="revoke-cancel", compact=True)
                yield Button("Revoke", id="revoke-ok", variant="error", compact=True, disabled=not self.grants)

    def on_mount(self) -> None:
        options = self.query_one("#revoke-list", OptionList)
        if self.grants:
            options.highlighted = 0
            options.focus()
            self._show_sentence(0)
        else:
            self.query_one("#revoke-cancel", Button).focus()

    @property
    def selected(self) -> tuple[str, str, str] | None:
        index = self.query_one("#revoke-list", OptionList).highlighted
        return self.grants[index] if index is not None and 0 <= index < len(self.grants) else None

    def _show_sentence(self, index: int | None) -> None:
        sentence = self.query_one("#revoke-sentence", Static)
        if index is None or not 0 <= index < len(self.grants):
            sentence.update(Text(""))
            return
        email, name, level = self.grants[index]
        sentence.update(revoke_sentence(self.account_key, email, name, level))

    @on(OptionList.OptionHighlighted, "#revoke-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_sentence(event.option_index)

    @on(OptionList.OptionSelected, "#revoke-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        """Enter on a grant: the sentence says what will happen; Revoke (focused) confirms."""
        self._show_sentence(event.option_index)
        self.query_one("#revoke-ok", Button).focus()

    @on(Button.Pressed, "#revoke-ok")
    def confirm(self) -> None:
        chosen = self.selected
        if chosen is not None:
            email, _name, level = chosen
            self.dismiss((email, level))

    @on(Button.Pressed, "#revoke-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
