"""No vault yet: create one, or build and open the demo."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Center, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, LoadingIndicator, Static

from smvault.domain.errors import SmvaultError
from smvault.services.vaults import vault_exists
from smvault.ui.literal import literal
from smvault.ui.widgets.secret_input import SecretInput


def demo_directory(vault_dir: Path) -> Path:
    return vault_dir.parent / "demo-vault"


class FirstRunScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        directory = self.app.vault.directory  # type: ignore[attr-defined]
        with Center():
            with Vertical(id="first-run-box"):
                yield Label("Welcome to smvault", classes="dialog-title")
                yield Static(literal(f"There is no vault at {directory} yet."), classes="dim")
                yield Label("Create a vault: you become its first operator")
                yield Input(placeholder="operator name (no spaces), e.g. jsmith", id="operator", compact=True)
                yield Input(placeholder="your work email (optional)", id="email", compact=True)
                yield Input(placeholder="your full name (optional)", id="name", compact=True)
                yield SecretInput(placeholder="passphrase (at least 8 characters)", id="passphrase", compact=True)
                yield SecretInput(placeholder="the same passphrase again", id="repeat", compact=True)
                yield Static("", id="first-run-error", classes="error")
                yield LoadingIndicator(id="first-run-busy")
                with Horizontal(classes="buttons"):
                    yield Button("Create vault", id="create", variant="primary")
                    yield Button("Open the demo instead", id="demo")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#first-run-busy").display = False
        self.query_one("#operator", Input).focus()

    def _busy(self, busy: bool, message: str = "") -> None:
        self.query_one("#first-run-busy").display = busy
        for button in self.query(Button):
            button.disabled = busy
        self.query_one("#first-run-error", Static).update(literal(message, placeholder=""))

    @on(Button.Pressed, "#create")
    @on(Input.Submitted, "#repeat")
    def create(self) -> None:
        value = {name: self.query_one(f"#{name}", Input).value for name in
                 ("operator", "email", "name", "passphrase", "repeat")}
        self.query_one("#passphrase", Input).value = ""
        self.query_one("#repeat", Input).value = ""
        if value["passphrase"] != value["repeat"]:
            self._busy(False, "The two passphrases differ; type them again.")
            self.query_one("#passphrase", Input).focus()
            return
        self.create_vault(value["operator"], value["passphrase"].encode(), value["email"] or None,
                          value["name"] or None)

    # A worker's default description is the repr of its arguments (the passphrase), and
    # Textual logs it: name the work instead.
    @work(exclusive=True, group="first-run", exit_on_error=False,
          description="create a vault")
    async def create_vault(self, operator: str, passphrase: bytes, email: str | None, name: str | None) -> None:
        app = self.app
        self._busy(True, "Creating the vault (Argon2id)…")
        try:
            await app.vault.create(operator, passphrase, email, name)  # type: ignore[attr-defined]
        except SmvaultError as exc:
            self._busy(False, str(exc))
            return
        except Exception as exc:  # noqa: BLE001
            app.show_error(exc)  # type: ignore[attr-defined]
            self._busy(False, "The vault was not created.")
            return
        app.show_main()  # type: ignore[attr-defined]

    @on(Button.Pressed, "#demo")
    def open_demo(self) -> None:
        self.build_demo()

    @work(exclusive=True, group="first-run", exit_on_error=False)
    async def build_demo(self) -> None:
        from smvault.services.demo import DEMO_OPERATOR, DEMO_PASSPHRASE, build_demo

        app = self.app
        target = demo_directory(app.vault.directory)  # type: ignore[attr-defined]
        self._busy(True, f"Building the demo vault in {target}…")
        try:
            if not vault_exists(target):
                await app.vault.run(build_demo, target, anchor_dir=app.anchor_dir,  # type: ignore[attr-defined]
                                    clock=app.clock)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001
            app.show_error(exc)  # type: ignore[attr-defined]
            self._busy(False, "The demo was not built.")
            return
        app.open_vault(target, operator=DEMO_OPERATOR,  # type: ignore[attr-defined]
                       hint=f"Demo passphrase: {DEMO_PASSPHRASE}  (published: it only opens the demo)")
