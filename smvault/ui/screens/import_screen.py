"""Import accounts and secrets from another tool's export: a preview first, then one transaction.

Preview (ctrl+r, or enter in the file's field) reads the file and plans the import on the vault
thread (`services.importer.read_import` and `plan_import`: nothing is written or logged). The
preview lists what would be created, updated or left unchanged, the authenticator entries no
account matches, the items deliberately left out (notes) and every problem, each by where it
is in the file and which field. Import (ctrl+o) is offered once a preview has something to
write and no problem blocks it (or "Skip bad items" is ticked); it asks for confirmation, then
`apply_import` writes everything in one transaction or nothing. An import only fills the secrets
the vault lacks: a stored one that differs is kept (a note) unless "Replace stored secrets" is
ticked; the changes table says of each secret whether it is new or replaces a stored one.

An encrypted file (`PasswordNeeded`) makes the screen ask for the file's password in a masked
field (`SecretInput`). The password is emptied from the field as soon as it is used, and the
file's contents read (which hold secrets) are dropped when the screen is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static

from smvault.domain.errors import SmvaultError
from smvault.domain.imports import FORMATS, PasswordNeeded
from smvault.services.importer import (
    ImportFile,
    ImportPlan,
    ImportResult,
    PlannedChange,
    apply_import,
    plan_import,
    read_import,
)
from smvault.services.session import Session
from smvault.ui.commands import bindings
from smvault.ui.dialogs.confirm import ConfirmDialog
from smvault.ui.literal import clean
from smvault.ui.widgets.secret_input import SecretInput
from smvault.ui.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from smvault.ui.app import SmvaultApp

FORMAT_LABELS = {
    "csv": "csv: inventory spreadsheet",
    "bitwarden": "bitwarden: JSON export",
    "keepass": "keepass: .kdbx database",
    "aegis": "aegis: JSON backup",
    "2fas": "2fas: .2fas backup",
    "otpauth": "otpauth: list of otpauth:// URIs",
    "google-migration": "google-migration: otpauth-migration:// URIs",
    "handover": "handover: smvault handover packet",
}

CHANGE_COLUMNS = (
    Column("what", "What", max_width=10),
    Column("where", "Where", max_width=30),
    Column("account", "Account", max_width=30),
    Column("fields", "Fields", max_width=40),
    Column("secrets", "Secrets", max_width=30),
)
PROBLEM_COLUMNS = (
    Column("kind", "Kind", max_width=8),
    Column("where", "Where", max_width=30),
    Column("field", "Field", max_width=16),
    Column("message", "Problem", max_width=60),
)
START = "Choose the format and the file, then Preview (ctrl+r): nothing is written before Import."


# -- what runs on the vault thread ------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """A file read and the plan made of it, with what the plan was made for."""

    imported: ImportFile
    plan: ImportPlan
    create_missing: bool
    replace_secrets: bool = False


def preview_import(session: Session, path: Path, fmt: str, password: bytes | None, create_missing: bool,
                   replace_secrets: bool = False) -> Preview:
    return replan(session, read_import(path, fmt, password=password), create_missing, replace_secrets)


def replan(session: Session, imported: ImportFile, create_missing: bool, replace_secrets: bool = False) -> Preview:
    plan = plan_import(session, imported, create_missing=create_missing, replace_secrets=replace_secrets)
    return Preview(imported, plan, create_missing, replace_secrets)


# -- presentation -----------------------------------------------------------------------------


def listed(names: tuple[str, ...]) -> str:
    """A change's fields or secrets on one line: their names, never a value."""
    return ", ".join(clean(name) for name in names)


def secrets_listed(change: PlannedChange) -> str:
    """A change's secrets, each with what it does: new, replaces a stored one, kept (the vault's
    differs and stays), or only raises the stored HOTP counter."""
    shown = []
    for name in change.secrets:
        if name in change.replaces:
            what = "replaces"
        elif name == "totp" and change.counter_raised:
            what = "counter raised"
        else:
            what = "new"
        shown.append(f"{clean(name)} ({what})")
    shown += [f"{clean(name)} (kept)" for name in change.kept]
    return ", ".join(shown)


def replaced_count(plan: ImportPlan) -> int:
    return sum(len(change.replaces) for change in plan.creates + plan.updates)


def kept_count(plan: ImportPlan) -> int:
    return sum(len(change.kept) for change in plan.creates + plan.updates + plan.unchanged)


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else words or word + 's'}"


def change_rows(plan: ImportPlan) -> list[tuple[int, tuple]]:
    rows: list[tuple] = []
    for what, changes in (("create", plan.creates), ("update", plan.updates), ("unchanged", plan.unchanged)):
        for change in changes:
            rows.append((what, clean(change.where), clean(change.account_key), listed(change.fields),
                         secrets_listed(change)))
    for entry in plan.unmatched:
        rows.append(("unmatched", clean(entry.where), clean(entry.label) or clean(entry.title), "", "totp"))
    return list(enumerate(rows))


def problem_rows(plan: ImportPlan) -> list[tuple[int, tuple]]:
    rows = [("problem", clean(p.where), clean(p.field), clean(p.message)) for p in plan.problems]
    rows += [("note", clean(p.where), clean(p.field), clean(p.message)) for p in plan.notes]
    return list(enumerate(rows))


def summary_text(plan: ImportPlan) -> Text:
    text = Text(f"Preview of {clean(plan.source)} ({plan.format}), nothing written yet: ", style="bold")
    text.append(", ".join([f"{len(plan.creates)} to create", f"{len(plan.updates)} to update",
                           f"{len(plan.unchanged)} unchanged",
                           plural(len(plan.unmatched), "unmatched OTP entry", "unmatched OTP entries"),
                           plural(len(plan.problems), "problem"), plural(len(plan.notes), "note")]) + ".")
    return text


class ImportScreen(Screen[ImportResult | None]):
    """Dismisses with the import's result, or None when left without importing."""

    BINDINGS = bindings("import")

    def __init__(self) -> None:
        super().__init__()
        self.preview: Preview | None = None
        self.busy = False
        self.asking_password = False
        # Kept to empty it when the screen goes: by then its children can no longer be queried.
        self.password_field = SecretInput(
            placeholder="the file's password (enter previews it; never stored or logged)",
            id="import-password", compact=True)

    @property
    def smvault(self) -> SmvaultApp:
        return cast("SmvaultApp", self.app)

    def command_scopes(self) -> dict[str, DOMNode]:
        return {"import": self}

    def compose(self) -> ComposeResult:
        with Vertical(id="import-body"):
            yield from self._form()
        yield Footer()

    def _form(self) -> ComposeResult:
        yield Label("Import accounts and secrets from another tool's export", classes="dialog-title")
        with Horizontal(classes="field-row"):
            yield Label("Format", classes="field-label")
            yield Select([(FORMAT_LABELS.get(f, f), f) for f in FORMATS], value=FORMATS[0], allow_blank=False,
                         id="import-format", compact=True)
        with Horizontal(classes="field-row"):
            yield Label("File", classes="field-label")
            yield Input(placeholder="path of the export file (enter previews it)", id="import-path", compact=True)
        with Horizontal(classes="field-row", id="import-password-row"):
            yield Label("Password", classes="field-label")
            yield self.password_field
        with Horizontal(classes="field-row", id="import-options"):
            yield Checkbox("Create missing accounts", id="import-create-missing", compact=True,
                           tooltip="Create an account for each authenticator entry no account matches")
            yield Checkbox("Skip bad items", id="import-skip-bad", compact=True)
            yield Checkbox("Replace stored secrets", id="import-replace-secrets", compact=True,
                           tooltip="A stored secret that differs from the file's is kept unless this is ticked")
        yield Static(Text(START, style="dim"), id="import-summary")
        table = VirtualTable(CHANGE_COLUMNS, id="import-changes")
        table.empty_text = "No preview yet."
        yield table
        problems = VirtualTable(PROBLEM_COLUMNS, id="import-problems")
        problems.empty_text = "No problems, no notes."
        yield problems
        yield Static("", id="import-detail")
        yield Static("", id="import-error", classes="error")
        with Horizontal(classes="buttons"):
            yield Button("Back", id="import-back", compact=True)
            yield Button("Preview", id="import-preview", compact=True)
            yield Button("Import", id="import-apply", variant="primary", compact=True, disabled=True)

    def on_mount(self) -> None:
        self.query_one("#import-password-row").display = False
        self.query_one("#import-problems").display = False
        self.query_one("#import-error").display = False
        self.query_one("#import-format", Select).focus()

    def on_unmount(self) -> None:
        self.forget()

    def forget(self) -> None:
        """Drop the password typed and the file read (both can hold secrets)."""
        self.preview = None
        self.password_field.value = ""

    # -- the form ---------------------------------------------------------------------------

    @property
    def create_missing(self) -> bool:
        return self.query_one("#import-create-missing", Checkbox).value

    @property
    def replace_secrets(self) -> bool:
        return self.query_one("#import-replace-secrets", Checkbox).value

    @property
    def skip_bad(self) -> bool:
        return self.query_one("#import-skip-bad", Checkbox).value

    @on(Select.Changed, "#import-format")
    @on(Input.Changed, "#import-path")
    def _source_changed(self, event: Select.Changed | Input.Changed) -> None:
        """Another file or format: the preview and the password were for the old one."""
        event.stop()
        if self.preview is None and not self.asking_password:
            return
        self.preview = None
        self._ask_password(False)
        self._show_plan()

    @on(Checkbox.Changed, "#import-create-missing, #import-replace-secrets")
    def _plan_option_changed(self, event: Checkbox.Changed) -> None:
        """Planned with other options: plan again from the file already read."""
        event.stop()
        preview = self.preview
        if preview is not None and (preview.create_missing, preview.replace_secrets) != (
                self.create_missing, self.replace_secrets):
            self.replan_preview()

    @on(Checkbox.Changed, "#import-skip-bad")
    def _skip_bad_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._update_state()

    def _ask_password(self, ask: bool) -> None:
        self.asking_password = ask
        self.query_one("#import-password-row").display = ask
        if not ask:
            self.password_field.value = ""

    def _error(self, message: str | Text) -> None:
        line = self.query_one("#import-error", Static)
        line.update(message if isinstance(message, Text) else Text(message))
        line.display = bool(message)

    # -- preview ----------------------------------------------------------------------------

    @on(Input.Submitted, "#import-path, #import-password")
    @on(Button.Pressed, "#import-preview")
    def _preview_requested(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        self.action_preview()

    def action_preview(self) -> None:
        if self.busy:
            return
        text = self.query_one("#import-path", Input).value.strip()
        if not text:
            self._error("File: give the path of the export file.")
            self.query_one("#import-path", Input).focus()
            return
        field = self.password_field
        if self.asking_password and not field.value:
            self._error("Password: the file is encrypted; type its password.")
            field.focus()
            return
        password = field.value.encode("utf-8") if self.asking_password else None
        field.value = ""  # used once, never kept on screen
        fmt = str(self.query_one("#import-format", Select).value)
        self.run_preview(Path(text).expanduser(), fmt, password, self.create_missing, self.replace_secrets)

    # The default description is the repr of the arguments: the file's password.
    @work(exclusive=True, group="import", exit_on_error=False, description="preview an import")
    async def run_preview(self, path: Path, fmt: str, password: bytes | None, create_missing: bool,
                          replace_secrets: bool) -> None:
        self.preview = None
        self._set_busy(True, "Reading the file…")
        try:
            preview = await self.smvault.vault.call(preview_import, path, fmt, password, create_missing,
                                                    replace_secrets)
        except PasswordNeeded as exc:
            self._set_busy(False)
            self._ask_password(True)
            self._show_plan()
            self._error(f"{clean(str(exc))}. Type the file's password, then enter.")
            self.password_field.focus()
            return
        except SmvaultError as exc:
            self._set_busy(False)
            self._show_plan()
            self._error(f"Not read: {clean(str(exc))}")
            field = "#import-password" if self.asking_password else "#import-path"
            self.query_one(field).focus()
            return
        except Exception as exc:  # noqa: BLE001 - shown (never its text), never a traceback
            self._set_busy(False)
            self.smvault.show_error(exc)
            self._show_plan()
            self._error("Not read: an internal error.")
            return
        self._ask_password(False)
        self.preview = preview
        self._set_busy(False)
        self._show_plan()
        self._focus_after_preview()

    @work(exclusive=True, group="import", exit_on_error=False, description="plan an import again")
    async def replan_preview(self) -> None:
        previous = self.preview
        if previous is None:
            return
        self._set_busy(True, "Planning again…")
        try:
            preview = await self.smvault.vault.call(replan, previous.imported, self.create_missing,
                                                    self.replace_secrets)
        except SmvaultError as exc:
            self.preview = None
            self._set_busy(False)
            self._show_plan()
            self._error(f"Not planned: {clean(str(exc))}")
            return
        except Exception as exc:  # noqa: BLE001 - shown (never its text), never a traceback
            self.preview = None
            self._set_busy(False)
            self.smvault.show_error(exc)
            self._show_plan()
            return
        self.preview = preview
        self._set_busy(False)
        self._show_plan()

    def _focus_after_preview(self) -> None:
        if self.query_one("#import-apply", Button).disabled:
            target = "#import-problems" if self.preview and self.preview.plan.problems else "#import-changes"
        else:
            target = "#import-apply"
        self.query_one(target).focus()

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.busy = busy
        self._error(Text(message, style="dim") if message else "")
        for widget in self.query("Input, Select, Checkbox, Button"):
            widget.disabled = busy
        self._update_state()

    def _show_plan(self) -> None:
        """The preview's summary and tables (or the empty form's)."""
        changes = self.query_one("#import-changes", VirtualTable)
        problems = self.query_one("#import-problems", VirtualTable)
        preview = self.preview
        if preview is None:
            self.query_one("#import-summary", Static).update(Text(START, style="dim"))
            changes.empty_text = "No preview yet."
            changes.set_rows([])
            problems.set_rows([])
            problems.display = False
            self.query_one("#import-detail", Static).update("")
        else:
            plan = preview.plan
            self.query_one("#import-summary", Static).update(summary_text(plan))
            changes.empty_text = "Nothing to create or update."
            changes.set_rows(change_rows(plan))
            problems.set_rows(problem_rows(plan))
            problems.display = bool(plan.problems or plan.notes)
            self._show_detail(problems if plan.problems else changes)
        self._update_state()

    @on(VirtualTable.RowHighlighted, "#import-changes, #import-problems")
    def _row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        event.stop()
        if event.table.has_focus:
            self._show_detail(event.table)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, VirtualTable):
            self._show_detail(event.widget)

    def _show_detail(self, table: VirtualTable) -> None:
        """The highlighted row in full: a long problem is cut in its column."""
        key = table.cursor_row_key
        cells = table.row_cells(key) if key is not None else None
        line = self.query_one("#import-detail", Static)
        if cells is None:
            line.update("")
        elif table.id == "import-problems":
            kind, where, field, message = cells
            line.update(Text(f"{kind}: {where}: {field + ': ' if field else ''}{message}"))
        else:
            what, where, account, fields, secrets = cells
            text = f"{what}: {where}: {account}"
            text += f" · fields: {fields}" if fields else ""
            text += f" · secrets: {secrets}" if secrets else ""
            line.update(Text(text))

    # -- import -----------------------------------------------------------------------------

    def blocked_reason(self) -> str | None:
        """Why Import is not offered now (None: it is)."""
        preview = self.preview
        if preview is None:
            return "preview the file first"
        plan = preview.plan
        if plan.blocked and not self.skip_bad:
            return (f"{plural(len(plan.problems), 'problem')} in the file: fix it, or tick Skip bad items "
                    "to import the rest")
        if plan.empty:
            kept = kept_count(plan)
            if kept and not preview.replace_secrets:
                return (f"nothing to create or update ({plural(kept, 'stored secret')} kept: "
                        "tick Replace stored secrets to replace them)")
            return "nothing to create or update"
        return None

    def _update_state(self) -> None:
        why = self.blocked_reason()
        self.query_one("#import-apply", Button).disabled = self.busy or why is not None
        if self.preview is not None and not self.busy:
            self._error(Text(f"Import not offered: {why}.", style="bold") if why else "")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply":
            return True if not self.busy and self.blocked_reason() is None else None
        if action == "preview":
            return True if not self.busy else None
        return True

    @on(Button.Pressed, "#import-apply")
    def _apply_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_apply()

    def action_apply(self) -> None:
        if self.busy or self.preview is None or self.blocked_reason() is not None:
            return
        self.confirm_and_apply(self.preview, self.skip_bad)

    @work(exclusive=True, group="import", exit_on_error=False, description="import a file")
    async def confirm_and_apply(self, preview: Preview, skip_bad: bool) -> None:
        plan = preview.plan
        body = Text()
        body.append(f"Create {plural(len(plan.creates), 'account')} and update {len(plan.updates)} from ")
        body.append(clean(plan.source))
        body.append(f" ({plan.format}), in one transaction: all of it or nothing. Logged.")
        if replaced := replaced_count(plan):
            body.append(f"\nThis replaces {plural(replaced, 'stored secret')} with the file's.")
        if plan.problems and skip_bad:
            body.append(f"\n{plural(plan.skipped, 'bad item')} left out (their problems are listed in the preview).")
        if plan.unmatched:
            body.append(f"\n{plural(len(plan.unmatched), 'authenticator entry', 'authenticator entries')} "
                        "matching no account: not imported.")
        confirmed = await self.app.push_screen_wait(ConfirmDialog("Import?", body, confirm="Import"))
        if not confirmed or self.preview is not preview:
            return
        self._set_busy(True, "Importing…")
        try:
            result = await self.smvault.vault.call(apply_import, preview.imported,
                                                   create_missing=preview.create_missing, skip_bad=skip_bad,
                                                   replace_secrets=preview.replace_secrets)
        except SmvaultError as exc:
            self._set_busy(False)
            self._error(f"Not imported (nothing was changed): {clean(str(exc))}")
            return
        except Exception as exc:  # noqa: BLE001 - shown (never its text), never a traceback
            self._set_busy(False)
            self.smvault.show_error(exc)
            self._error("Not imported (nothing was changed): an internal error.")
            return
        self.forget()
        self.notify(f"Imported from {clean(plan.source)}: {result.created} created, "
                    f"{result.updated} updated, {result.skipped} skipped.",
                    title="Imported", markup=False, timeout=8)
        self.dismiss(result)

    # -- leaving ----------------------------------------------------------------------------

    @on(Button.Pressed, "#import-back")
    def _back_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_back()

    def action_back(self) -> None:
        if self.busy:
            return
        self.forget()
        self.dismiss(None)
