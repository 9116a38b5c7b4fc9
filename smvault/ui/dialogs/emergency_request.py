"""Request emergency access to one account: a reason, an incident id, how many minutes.

The caller's `save(reason, incident, minutes)` runs `services.emergency.request_access`
(through `dialogs.confirm.attempt`), so a refusal (you already hold the password, the account
is retired, a bad incident id) is shown here and the dialog stays open with what was typed.
It dismisses with what `save` returned (the request), or None when cancelled.

`approve_emergency` is the same-terminal approval that follows a request needing one (and
`a` in the Workflows tab when the requester is unlocked); `announce_emergency` says where a
request stands.
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

from smvault.domain.emergency import DEFAULT_MINUTES, MAX_MINUTES
from smvault.domain.errors import SmvaultError
from smvault.services import emergency
from smvault.ui.dialogs.approve import ApproveDialog
from smvault.ui.dialogs.confirm import attempt, refusal_text
from smvault.ui.literal import clean

Save = Callable[[str, str, int], Awaitable[tuple[Any, SmvaultError | None]]]


def wait_text(wait_minutes: int | None) -> str:
    if wait_minutes is None:
        return ("A second operator approves it (at this terminal, with their own passphrase, right "
                "after you ask).")
    return (f"This account's tier waits {wait_minutes} min before the access starts by itself; "
            "any other operator can veto it meanwhile, or approve it sooner.")


class EmergencyRequestDialog(ModalScreen[Any]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, *, account_key: str, wait_minutes: int | None, save: Save) -> None:
        super().__init__()
        self.account_key = account_key
        self.wait_minutes = wait_minutes
        self.save = save
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="grant-dialog wf-dialog wf-emergency"):
            yield Label(Text(f"Emergency access to {clean(self.account_key)}"), classes="dialog-title")
            yield Static(Text(
                "Time-boxed access to the password and live TOTP codes, as a reveal grant. "
                f"{wait_text(self.wait_minutes)} Everything is logged with the incident; when it ends, "
                "a post-incident workflow asks to rotate what was revealed.", style="dim"),
                id="emergency-about", classes="wf-field-help")
            with Horizontal(classes="field-row"):
                yield Label("Reason", classes="field-label")
                yield Input(placeholder="why you need it now (logged)", id="emergency-reason", compact=True)
            with Horizontal(classes="field-row"):
                yield Label("Incident", classes="field-label")
                yield Input(placeholder="incident id, e.g. INC-2041", id="emergency-incident", compact=True)
            with Horizontal(classes="field-row"):
                yield Label("Minutes", classes="field-label")
                yield Input(str(DEFAULT_MINUTES), placeholder=f"1 to {MAX_MINUTES}", id="emergency-minutes",
                            type="integer", compact=True)
            yield Static("", id="emergency-error", classes="wf-error error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="emergency-cancel", compact=True)
                yield Button("Request access", id="emergency-ok", variant="error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#emergency-reason", Input).focus()

    def error(self, message: Text | str) -> None:
        self.query_one("#emergency-error", Static).update(message if isinstance(message, Text) else Text(message))

    @on(Input.Submitted)
    @on(Button.Pressed, "#emergency-ok")
    def submit(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        if self.busy:
            return
        fields = {name: self.query_one(f"#emergency-{name}", Input) for name in ("reason", "incident", "minutes")}
        reason = fields["reason"].value.strip()
        incident = fields["incident"].value.strip()
        if (isinstance(event, Input.Submitted) and event.input is not fields["minutes"]
                and event.value.strip() and not (reason and incident)):
            self.focus_next()  # enter moves on until the form is filled
            return
        if not reason:
            self.error("Reason: say why you need this account now; it goes into the access log")
            fields["reason"].focus()
            return
        if not incident:
            self.error("Incident: the id of the incident this access is for")
            fields["incident"].focus()
            return
        try:
            minutes = int(fields["minutes"].value.strip() or DEFAULT_MINUTES)
        except ValueError:
            minutes = -1
        if not 1 <= minutes <= MAX_MINUTES:
            self.error(f"Minutes: a whole number from 1 to {MAX_MINUTES}")
            fields["minutes"].focus()
            return
        self._save(reason, incident, minutes)

    @work(exclusive=True, group="emergency-request", exit_on_error=False)
    async def _save(self, reason: str, incident: str, minutes: int) -> None:
        self.busy = True
        self.error("Requesting…")
        try:
            result, refused = await self.save(reason, incident, minutes)
        finally:
            self.busy = False
        if refused is not None or result is None:
            self.error(refusal_text(refused) if refused is not None else "Not requested.")
            return
        self.dismiss(result)

    @on(Button.Pressed, "#emergency-cancel")
    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)


async def approve_emergency(app: Any, request: emergency.EmergencyView) -> emergency.EmergencyView | None:
    """The same-terminal approval modal for an emergency request; the approved request, or None."""
    async def save(approver: str, passphrase: bytes):
        return await attempt(app, emergency.approve_access_as, request.id, approver, passphrase)

    about = Text.assemble(
        (clean(request.account.key), "bold"), f" for {clean(request.requester)}",
        f" · incident {clean(request.incident)} · {request.minutes} min",
        "\nReason: ", clean(request.reason),
        (f"\nWaiting period not used: {clean(request.wait_note)}." if request.wait_note else "", "yellow"),
        ("\nA different operator approves it here, typing their own passphrase; the approval "
         "goes into the access log. Escape leaves it waiting for approval.", "dim"),
    )
    approved = await app.push_screen_wait(ApproveDialog(
        request, app.vault.operator_name or "", save, title=f"Approve emergency access {request.id}",
        about=about, requested_by=request.requester, work_name="approve emergency access"))
    return approved


def announce_emergency(widget, request: emergency.EmergencyView) -> None:
    """A toast saying where a request stands: active until when, waiting until when, or
    waiting for an approval."""
    key = clean(request.account.key)
    if request.state == "active":
        until = f" until {request.expires_at:%H:%M} UTC" if request.expires_at else ""
        widget.notify(f"Emergency access to {key} is active{until} (approved by {clean(request.approved_by)}). "
                      "Every disclosure is logged with the incident.", title="Emergency access", markup=False,
                      severity="warning", timeout=10)
    elif request.state == "waiting":
        at = f"{request.wait_until:%H:%M} UTC" if request.wait_until else "the end of the wait"
        widget.notify(f"Emergency access to {key} requested: it starts by itself at {at} unless another "
                      "operator vetoes it (v in Workflows) or approves it sooner (a).",
                      title="Emergency access", markup=False, timeout=10)
    else:
        widget.notify(f"Emergency access {request.id} to {key} is {request.state}: a second operator "
                      "approves it (a in Workflows, or smvault breakglass approve).",
                      title="Emergency access", markup=False, timeout=10)
