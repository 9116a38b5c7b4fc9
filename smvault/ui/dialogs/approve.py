"""Dual control at one terminal: a second operator approves a request with their own passphrase.

Used for ownership transfers and emergency access. The picker lists every operator of the
vault except the one unlocked now and the one who made the request (neither may approve).
The passphrase field is masked and emptied as soon as it is read. The caller's
`save(approver, passphrase)` runs the service's `approve_..._as` on the vault thread (Argon2
never blocks the event loop); a wrong passphrase is said here, the dialog stays open, and
nothing is written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from smvault.domain.errors import AuthenticationError, SmvaultError, UnknownOperatorError
from smvault.services.vaults import operator_names
from smvault.ui.dialogs.confirm import refusal_text
from smvault.ui.literal import clean, literal
from smvault.ui.widgets.secret_input import SecretInput

Save = Callable[[str, bytes], Awaitable[tuple[Any, SmvaultError | None]]]


def transfer_about(view: Any) -> Text:
    """What a transfer approval shows about the request (`view`: a TransferView)."""
    return Text.assemble(
        (clean(view.account_key), "bold"), f" → {clean(view.to_name)} <{clean(view.to_email)}>",
        f"\nRequested by {clean(view.requested_by)}. A different operator approves it here, "
        "typing their own passphrase; the approval goes into the access log.",
    )


class ApproveDialog(ModalScreen[Any]):
    """Dismisses with the approved request (what `save` returned), or None (escape).

    `view` with `title`/`about` left out is a TransferView (the dialog says what it is);
    other requests pass their own title, about text and requester."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, view: Any, current_operator: str, save: Save, *, title: str | None = None,
                 about: Text | None = None, requested_by: str | None = None,
                 work_name: str = "approve a transfer") -> None:
        super().__init__()
        self.view = view  # the request being approved
        self.current_operator = current_operator
        self.save = save
        self.title_text = title or f"Approve transfer {view.workflow_id}"
        self.about = about if about is not None else transfer_about(view)
        self.requested_by = requested_by if requested_by is not None else view.requested_by
        self.work_name = work_name  # the worker's description (Textual logs it)
        self.busy = False
        self.approvers: list[str] = []

    def compose(self) -> ComposeResult:
        try:
            names = operator_names(self.app.vault.directory)  # type: ignore[attr-defined]
        except SmvaultError:
            names = []
        excluded = {self.current_operator, self.requested_by}
        self.approvers = [name for name in names if name not in excluded]
        with Vertical(id="dialog", classes="grant-dialog wf-dialog wf-approve"):
            yield Label(Text(clean(self.title_text)), classes="dialog-title")
            yield Static(self.about, id="approve-about", classes="wf-section")
            if self.approvers:
                with Horizontal(classes="field-row"):
                    yield Label("Approver", classes="field-label")
                    yield Select([(literal(name), name) for name in self.approvers], value=self.approvers[0],
                                 allow_blank=False, id="approve-operator", compact=True)
                with Horizontal(classes="field-row"):
                    yield Label("Passphrase", classes="field-label")
                    yield SecretInput(placeholder="the approver's own passphrase", id="approve-passphrase",
                                      compact=True)
                message = ""
            else:
                message = (f"Nobody else can approve: this vault has no operator other than "
                           f"{clean(self.current_operator)} and the requester. Add one (smvault operator add).")
            yield Static(Text(message), id="approve-error", classes="wf-error error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="approve-cancel", compact=True)
                yield Button("Approve", id="approve-ok", variant="primary", compact=True,
                             disabled=not self.approvers)

    def on_mount(self) -> None:
        if self.approvers:
            self.query_one("#approve-passphrase", Input).focus()
        else:
            self.query_one("#approve-cancel", Button).focus()

    def error(self, message: Text | str) -> None:
        self.query_one("#approve-error", Static).update(message if isinstance(message, Text) else Text(message))

    @property
    def approver(self) -> str | None:
        if not self.approvers:
            return None
        value = self.query_one("#approve-operator", Select).value
        return value if isinstance(value, str) else None

    @on(Input.Submitted, "#approve-passphrase")
    @on(Button.Pressed, "#approve-ok")
    def submit(self) -> None:
        if self.busy or not self.approvers:
            return
        field = self.query_one("#approve-passphrase", Input)
        passphrase = field.value.encode()
        field.value = ""  # the passphrase stays on screen no longer than it takes to read it
        approver = self.approver
        if approver is None:
            self.error("Approver: pick an operator")
            return
        if approver == self.current_operator:  # not offered; refused all the same
            self.error(f"{clean(approver)} is unlocked now: a different operator must approve.")
            return
        if not passphrase:
            self.error(f"Passphrase: {clean(approver)} types their own passphrase")
            field.focus()
            return
        # A worker's default description is the repr of its arguments (the passphrase), and
        # Textual logs it: name the work instead.
        self.run_worker(self._approve(approver, passphrase), group="approve", exclusive=True,
                        exit_on_error=False, description=self.work_name)

    async def _approve(self, approver: str, passphrase: bytes) -> None:
        self.busy = True
        self.query_one("#approve-ok", Button).disabled = True
        self.error(f"Checking {clean(approver)}'s passphrase (Argon2id)…")
        try:
            result, refused = await self.save(approver, passphrase)
        finally:
            del passphrase
            self.busy = False
            self.query_one("#approve-ok", Button).disabled = False
        if refused is not None or result is None:
            if isinstance(refused, AuthenticationError) and not isinstance(refused, UnknownOperatorError):
                self.error(f"Wrong passphrase for {clean(approver)}: nothing was approved. The failed attempt "
                           "is recorded and goes into the access log at the next unlock.")
            else:
                self.error(refusal_text(refused) if refused is not None else "Not approved.")
            self.query_one("#approve-passphrase", Input).focus()
            return
        self.dismiss(result)

    @on(Button.Pressed, "#approve-cancel")
    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)
