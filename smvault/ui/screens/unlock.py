"""Unlock: pick the operator, type the passphrase; Argon2 runs off the event loop.

Break glass (ctrl+g, or its button) leads to the recovery screen, where custodians open the
vault with emergency-kit shares instead; only when the vault has a kit.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Center, Horizontal, Vertical
from textual.dom import DOMNode
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, LoadingIndicator, Select, Static

from smvault.domain.errors import (
    AuthenticationError,
    IntegrityError,
    SmvaultError,
    UnknownOperatorError,
)
from smvault.services import logs
from smvault.services.kit import kit_info
from smvault.services.session import log_unlock
from smvault.services.vaults import operator_names
from smvault.ui.commands import bindings
from smvault.ui.literal import clean, literal
from smvault.ui.screens.recovery import NO_KIT
from smvault.ui.widgets.secret_input import SecretInput


class UnlockScreen(Screen[None]):
    BINDINGS = bindings("unlock")
    busy: reactive[bool] = reactive(False)

    def command_scopes(self) -> dict[str, DOMNode]:
        """The palette's commands here: the unlock screen's own (Break glass)."""
        return {"unlock": self}

    def compose(self) -> ComposeResult:
        app = self.app
        directory = app.vault.directory  # type: ignore[attr-defined]
        try:
            names = operator_names(directory)
        except SmvaultError:
            names = []
        hint = app.operator_hint  # type: ignore[attr-defined]
        default = hint if hint in names else (names[0] if names else Select.BLANK)
        reason_shown = bool(app.lock_reason)  # type: ignore[attr-defined]
        with Center():
            with Vertical(id="unlock-box", classes="-reason" if reason_shown else ""):
                yield Label("smvault", classes="dialog-title")
                yield Static(literal(f"Vault: {directory}"), classes="dim")
                reason = Static(literal(app.lock_reason or ""), id="lock-reason", classes="notice")  # type: ignore[attr-defined]
                reason.display = reason_shown
                yield reason
                yield Label("Operator")
                yield Select([(literal(name), name) for name in names], value=default, allow_blank=False,
                             id="operator") if names else Static("this vault has no operators", classes="error")
                yield Label("Passphrase")
                yield SecretInput(placeholder="passphrase", id="passphrase")
                if app.unlock_hint:  # type: ignore[attr-defined]
                    yield Static(literal(app.unlock_hint), id="hint", classes="dim")  # type: ignore[attr-defined]
                yield Static("", id="unlock-error", classes="error")
                yield LoadingIndicator(id="unlock-busy")
                with Horizontal(id="unlock-buttons"):
                    yield Button("Unlock", id="unlock", variant="primary")
                    yield Button("Break glass", id="break-glass", variant="error",
                                 tooltip="Open with emergency-kit shares from custodians (ctrl+g)")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#passphrase", Input).focus()
        self.query_one("#unlock-busy").display = False

    def watch_busy(self, busy: bool) -> None:
        self.query_one("#unlock-busy").display = busy
        self.query_one("#unlock", Button).disabled = busy
        self.query_one("#break-glass", Button).disabled = busy
        self.refresh_bindings()  # ctrl+g waits too
        self.query_one("#passphrase", Input).disabled = busy
        if busy:
            self.query_one("#unlock-error", Static).update("Deriving the key (Argon2id)…")

    @on(Input.Submitted, "#passphrase")
    @on(Button.Pressed, "#unlock")
    def submit(self) -> None:
        if self.busy:
            return
        field = self.query_one("#passphrase", Input)
        passphrase = field.value.encode()
        field.value = ""
        select = self.query("#operator")
        if not select:
            return
        operator = select.first(Select).value
        if not passphrase:
            self.show_error("Type the passphrase first.")
            return
        self.unlock(str(operator), passphrase)

    def show_lock_reason(self, reason: str) -> None:
        """Why the vault locked, told after the screen was built (closing a break-glass session
        says which post-incident workflow it opened)."""
        line = self.query_one("#lock-reason", Static)
        line.update(literal(reason))
        line.display = True
        self.query_one("#unlock-box").add_class("-reason")

    def show_error(self, message: str) -> None:
        self.query_one("#unlock-error", Static).update(literal(message, placeholder=""))
        self.query_one("#passphrase", Input).focus()

    # A worker's default description is the repr of its arguments (the passphrase), and
    # Textual logs it: name the work instead.
    @work(exclusive=True, group="unlock", exit_on_error=False,
          description="unlock the vault")
    async def unlock(self, operator: str, passphrase: bytes) -> None:
        app = self.app
        self.busy = True
        try:
            await app.vault.unlock(operator, passphrase)  # type: ignore[attr-defined]
        except UnknownOperatorError as exc:
            self.busy = False
            self.show_error(str(exc))
            return
        except AuthenticationError:
            self.busy = False
            self.show_error(f"Wrong passphrase for {operator} (or a damaged key slot). "
                            "This failed attempt is recorded and goes into the access log at the next unlock.")
            return
        except IntegrityError as exc:
            self.busy = False
            self.show_error("")
            await self.integrity_alert(str(exc), operator, passphrase)
            return
        except Exception as exc:  # noqa: BLE001 - shown inline, never a traceback
            self.busy = False
            app.show_error(exc)  # type: ignore[attr-defined]
            self.show_error("Not unlocked.")
            return
        app.show_main()  # type: ignore[attr-defined]

    async def integrity_alert(self, message: str, operator: str, passphrase: bytes) -> None:
        from smvault.ui.dialogs.alert import IntegrityAlert

        anchor_problem = "older copy" in message or "cut or rewritten" in message
        reason = await self.app.push_screen_wait(IntegrityAlert(message, can_reanchor=anchor_problem))
        if reason is None:
            self.show_error("Still locked: the vault failed its integrity check.")
            return
        app = self.app
        self.busy = True
        try:
            await app.vault.unlock(operator, passphrase, check=False)  # type: ignore[attr-defined]
            await app.vault.call(logs.reanchor, reason)  # type: ignore[attr-defined]
            await app.vault.call(log_unlock)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001
            await app.vault.lock()  # type: ignore[attr-defined]
            self.busy = False
            app.show_error(exc)  # type: ignore[attr-defined]
            self.show_error("Not unlocked.")
            return
        app.show_main()  # type: ignore[attr-defined]

    # -- break glass --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "break_glass":
            return None if self.busy else True
        return True

    @on(Button.Pressed, "#break-glass")
    def action_break_glass(self) -> None:
        if not self.busy:
            self._break_glass()

    @work(exclusive=True, group="break-glass", exit_on_error=False, description="read the emergency kit")
    async def _break_glass(self) -> None:
        app = self.app
        try:
            kit = await app.vault.run(kit_info, app.vault.directory)  # type: ignore[attr-defined]
        except SmvaultError as exc:
            self.show_error(f"Cannot read the emergency kit: {clean(str(exc))}")
            return
        if kit is None:
            self.show_error(NO_KIT)
            return
        self.query_one("#passphrase", Input).value = ""
        app.show_recovery(kit)  # type: ignore[attr-defined]
