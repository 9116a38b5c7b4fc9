"""Request an account's transfer to a new owner: who, and (optionally) which step template.

The dialog only asks; the caller writes (`services.transfer.start_transfer`) with the
returned `TransferRequest`. The new owner is picked from everyone who has not left, filtered
as you type (the grant dialog's chooser); the template defaults to the platform's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static

from smvault.domain.transfer import TEMPLATES, template_for
from smvault.services import people as people_service
from smvault.ui.dialogs.grant_add import Chooser, person_choices
from smvault.ui.literal import clean

DEFAULT = "default"  # the Select's value for "the platform's own template"


@dataclass(frozen=True)
class TransferRequest:
    email: str
    template: str | None  # None: the platform's own


class StartTransferDialog(ModalScreen[TransferRequest | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, *, account_key: str, owner: str | None = None) -> None:
        super().__init__()
        self.account_key = account_key
        self.owner = owner  # the current owner's name, shown for context

    def compose(self) -> ComposeResult:
        platform = self.account_key.split(":", 1)[0]
        own = template_for(platform)
        with Vertical(id="dialog", classes="grant-dialog wf-dialog wf-start-transfer"):
            yield Label(Text(f"Transfer {clean(self.account_key)} to a new owner"), classes="dialog-title")
            yield Static(Text(
                f"Owner now: {clean(self.owner) or 'nobody'}. The request waits for a second operator's "
                "approval; then its steps are worked through and closing it makes the new owner the owner.",
                style="dim"), classes="wf-field-help")
            yield Chooser("New owner", "people", "type to filter: name, email or team", id="transfer-person")
            with Horizontal(classes="field-row"):
                yield Label("Template", classes="field-label")
                options = [(Text(f"{own} (this platform's own)"), DEFAULT)]
                options += [(Text(name), name) for name in TEMPLATES if name != own]
                yield Select(options, value=DEFAULT, allow_blank=False, id="transfer-template", compact=True)
            yield Static("", id="transfer-error", classes="wf-error error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="transfer-cancel", compact=True)
                yield Button("Request transfer", id="transfer-ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one(Chooser).filter_input.focus()
        self.load_people()

    @work(group="transfer-people", exit_on_error=False)
    async def load_people(self) -> None:
        chooser = self.query_one(Chooser)
        rows = await self.app.service(people_service.people_rows)  # type: ignore[attr-defined]
        if rows is None:
            chooser.failed()
        else:
            chooser.set_choices(person_choices(rows))

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#transfer-ok", Button).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#transfer-ok")
    def submit(self) -> None:
        chooser = self.query_one(Chooser)
        error = self.query_one("#transfer-error", Static)
        if not chooser.loaded:
            error.update(Text("New owner: the list is still loading; try again in a moment"))
            return
        email = chooser.selected
        if email is None:
            typed = clean(chooser.filter_input.value).strip()
            why = f"nothing matches “{typed}”" if typed else "the list is empty"
            error.update(Text(f"New owner: pick one from the list ({why})"))
            chooser.filter_input.focus()
            return
        template = self.query_one("#transfer-template", Select).value
        self.dismiss(TransferRequest(email, None if template == DEFAULT else str(template)))

    @on(Button.Pressed, "#transfer-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
