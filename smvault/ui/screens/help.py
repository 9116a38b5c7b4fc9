"""Every key and command, generated from the command table so it cannot drift."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from smvault.ui.commands import SCOPE_TITLES, in_scope


def help_table(settings) -> Table:
    table = Table(box=None, show_header=False, expand=True, padding=(0, 1))
    table.add_column("key", style="bold", no_wrap=True, width=12)
    table.add_column("what")
    for scope, title in SCOPE_TITLES.items():
        table.add_row(Text(title, style="bold underline"), "")
        for command in in_scope(scope):
            keys = command.key_display or " ".join(command.key.split(","))
            table.add_row(Text(keys), Text(f"{command.title}: {command.help}"))
        table.add_row("", "")
    table.add_row(Text("ctrl+p"), Text("Command palette: search every command that can run now."))
    table.add_row("", "")
    table.add_row(Text("Timers", style="bold underline"), "")
    table.add_row(Text(""), Text(
        f"revealed password hides after {settings.reveal_seconds:g} s; clipboard cleared after "
        f"{settings.clipboard_seconds:g} s; live codes stop after {settings.code_seconds:g} s; "
        f"the vault locks after {settings.idle_seconds:g} s without input."))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [("escape,q,question_mark,f1", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="help"):
            yield Label("smvault — keys and commands  (escape closes)", classes="dialog-title")
            with VerticalScroll():
                yield Static(help_table(self.app.settings))  # type: ignore[attr-defined]

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
