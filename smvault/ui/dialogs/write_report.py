"""Write a report already built to a file: a path and a format (Markdown, CSV or JSON).

The file is written by `services.private_files.write_private` on the vault thread: mode 0600,
whole or not at all, never inside the vault's own directory. A file already there is replaced
only after a second Write (the dialog says so first). A refusal (a missing folder, no
permission, a place in the vault's directory) is shown here and the dialog stays open. It
dismisses with the path written, or None when cancelled.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from smvault.domain.errors import SmvaultError, UsageError
from smvault.domain.report import FORMATS, Report
from smvault.services.private_files import refuse_inside, write_private
from smvault.ui.literal import clean

FORMAT_NAMES = {"md": "Markdown (.md)", "csv": "CSV (.csv)", "json": "JSON (.json)"}


def write_report(directory: Path, path: Path, report: Report, fmt: str, *, replace: bool = False) -> bool:
    """On the vault thread (file-system calls can hang on a dead mount): never into the
    vault's own directory (a report written over the keyring or the database would destroy
    the vault), then privately, whole or not at all. Without `replace`, a name already taken
    (a dangling symlink included) is left alone and False returned, so the dialog can ask;
    write_private refuses one that appears meanwhile."""
    refuse_inside(path, directory)
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name")
    if not replace and os.path.lexists(path):
        return False
    write_private(path, lambda: report.render(fmt), "report", replace=replace)
    return True


def format_of(path: str) -> str | None:
    """The format a path's extension names, if it names one."""
    suffix = Path(path.strip()).suffix.lower().removeprefix(".")
    return suffix if suffix in FORMATS else None


class WriteReportDialog(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, report: Report, name: str, suggested: str) -> None:
        super().__init__()
        self.report = report
        self.report_name = name
        self.suggested = suggested
        self.replace_ok: Path | None = None  # the existing file a second Write may replace
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="grant-dialog wf-dialog write-report"):
            yield Label(Text(f"Write the {clean(self.report_name)} report to a file"), classes="dialog-title")
            with Horizontal(classes="field-row"):
                yield Label("File", classes="field-label")
                yield Input(value=self.suggested, placeholder="path of the file to write", id="write-path",
                            compact=True)
            with Horizontal(classes="field-row"):
                yield Label("Format", classes="field-label")
                yield Select([(FORMAT_NAMES[f], f) for f in FORMATS], value=format_of(self.suggested) or "md",
                             allow_blank=False, id="write-format", compact=True)
            yield Static(Text("Written readable by you only (mode 0600), whole or not at all. "
                              "It names people and their access: keep it like the vault."),
                         id="write-about", classes="dim")
            yield Static("", id="write-error", classes="wf-error error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="write-cancel", compact=True)
                yield Button("Write", id="write-ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#write-path", Input).focus()

    def error(self, message: str, style: str = "") -> None:
        self.query_one("#write-error", Static).update(Text(message, style=style))

    @on(Input.Changed, "#write-path")
    def _path_changed(self, event: Input.Changed) -> None:
        self.replace_ok = None
        self.error("")
        fmt = format_of(event.value)
        select = self.query_one("#write-format", Select)
        if fmt is not None and select.value != fmt:
            select.value = fmt

    @on(Select.Changed, "#write-format")
    def _format_changed(self, event: Select.Changed) -> None:
        """A new format renames a path that ends in another format's extension."""
        field = self.query_one("#write-path", Input)
        current = format_of(field.value)
        if current is not None and current != event.value:
            path = field.value.strip()
            field.value = path[: len(path) - len(current)] + str(event.value)

    @on(Input.Submitted, "#write-path")
    @on(Button.Pressed, "#write-ok")
    def submit(self) -> None:
        if self.busy:
            return
        text = self.query_one("#write-path", Input).value.strip()
        if not text:
            self.error("File: give the path of the file to write.")
            return
        path = Path(text).expanduser()
        fmt = str(self.query_one("#write-format", Select).value)
        self._write(path, fmt, text)

    @work(exclusive=True, group="write-report", exit_on_error=False, description="write a report")
    async def _write(self, path: Path, fmt: str, text: str) -> None:
        self.busy = True
        self.error("Writing…")
        vault = self.app.vault  # type: ignore[attr-defined]
        try:
            written = await vault.run(write_report, vault.directory, path, self.report, fmt,
                                      replace=self.replace_ok == path)
            if not written:
                self.replace_ok = path
                self.error(f"{clean(text)} exists: Write again to replace it.", style="bold")
                return
        except SmvaultError as exc:
            self.error(f"Not written: {clean(str(exc))}")
            return
        except Exception as exc:  # noqa: BLE001 - shown by the app (never its text), not raised
            self.app.show_error(exc)  # type: ignore[attr-defined]
            self.error("Not written: an internal error.")
            return
        finally:
            self.busy = False
        self.dismiss(clean(str(path)))

    @on(Button.Pressed, "#write-cancel")
    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)
