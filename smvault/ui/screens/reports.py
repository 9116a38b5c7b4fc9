"""Reports: pick one, build it on the vault thread, read it, write it to a private file.

The list shows every report of `services.reports.REPORTS`; the highlighted one's description
is shown under it. Enter builds it (`services.reports.build_report`, which logs `report.run`:
so highlighting alone builds nothing). The report's facts sit on top and one of its tables
below, in a `VirtualTable` (an access matrix can have 50,000 rows); `t` moves to the next
table and `/` filters the one shown. `w` writes the report shown (not a new one) to a file
chosen in `WriteReportDialog`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from smvault.domain.errors import SmvaultError
from smvault.domain.report import Report, Table
from smvault.services.reports import REPORTS, build_report
from smvault.ui.commands import bindings
from smvault.ui.dialogs.write_report import WriteReportDialog
from smvault.ui.literal import clean
from smvault.ui.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from smvault.ui.app import SmvaultApp

CHOOSE = "Highlight a report and press enter to build it (building one is logged: report.run)."
COLUMN_MAX_WIDTH = 40


def table_columns(table: Table) -> tuple[Column, ...]:
    """One column per header; numeric (right-aligned, sorted as numbers) when every cell is a number."""
    columns = []
    for index, header in enumerate(table.headers):
        values = [row[index] for row in table.rows if index < len(row) and row[index] is not None]
        numeric = bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        columns.append(Column(f"c{index}", clean(header) or " ", numeric=numeric, max_width=COLUMN_MAX_WIDTH))
    return tuple(columns)


def table_rows(table: Table) -> list[tuple[int, tuple]]:
    """Rows keyed by position, each padded or cut to the header's width (cells shown literally)."""
    width = len(table.headers)
    return [(i, (tuple(row) + (None,) * width)[:width]) for i, row in enumerate(table.rows)]


def facts_text(report: Report) -> Text:
    text = Text()
    for label, value in report.facts:
        if text:
            text.append(" · ")
        text.append(f"{clean(label)}: ", style="bold")
        text.append(clean(value, "—"))
    return text


class ReportsScreen(Screen[None]):
    BINDINGS = bindings("reports")

    def __init__(self) -> None:
        super().__init__()
        self.report: Report | None = None  # the report shown
        self.report_name: str | None = None
        self.table_index = 0
        self.building: str | None = None  # the report being built, while it is

    @property
    def smvault(self) -> SmvaultApp:
        return cast("SmvaultApp", self.app)

    def command_scopes(self) -> dict[str, DOMNode]:
        return {"reports": self}

    def compose(self) -> ComposeResult:
        yield Label("Reports  (enter builds the highlighted one; escape goes back)", classes="dialog-title")
        with Horizontal(id="reports-body"):
            with Vertical(id="reports-side"):
                yield OptionList(*[Option(Text(name), id=name) for name in REPORTS], id="reports-list", compact=True)
                yield Static("", id="reports-about", classes="dim")
            with Vertical(id="report-pane"):
                yield Static(Text(CHOOSE, style="dim"), id="report-title")
                yield Static("", id="report-facts")
                yield Static("", id="report-table-title", classes="dim")
                yield Input(placeholder="filter this table (/)", id="report-filter", compact=True)
                yield Vertical(id="report-table-box")
                yield Static("", id="report-row")
                yield Static("", id="report-error", classes="error")
        yield Footer()

    def on_mount(self) -> None:
        for widget_id in ("#report-facts", "#report-table-title", "#report-filter", "#report-row", "#report-error"):
            self.query_one(widget_id).display = False
        listing = self.query_one("#reports-list", OptionList)
        listing.highlighted = 0
        listing.focus()

    # -- choosing and building ------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#reports-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id or ""
        self.query_one("#reports-about", Static).update(Text(clean(REPORTS.get(name, ""))))

    @on(OptionList.OptionSelected, "#reports-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        # One build at a time: each is logged, and the vault thread runs them in turn anyway.
        if event.option.id and self.building is None:
            self.building = event.option.id
            self.build(event.option.id)

    @work(exclusive=True, group="report", exit_on_error=False, description="build a report")
    async def build(self, name: str) -> None:
        self._error("")
        self.query_one("#report-title", Static).update(Text(f"Building {name}…", style="dim"))
        pane = self.query_one("#report-pane")
        pane.loading = True
        try:
            report = await self.smvault.vault.call(build_report, name)
        except SmvaultError as exc:
            self._failed(name, clean(str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - shown (never its text), never a traceback
            self.smvault.show_error(exc)
            self._failed(name, "an internal error")
            return
        finally:
            pane.loading = False
            self.building = None
        self.report, self.report_name, self.table_index = report, name, 0
        await self._show()
        self.refresh_bindings()

    def _failed(self, name: str, why: str) -> None:
        self._error(f"The {name} report was not built: {why}")
        self.notify(f"The {name} report was not built: {why}", title="Report", severity="error",
                    markup=False, timeout=8)
        self.query_one("#report-title", Static).update(self._title_text())

    def _error(self, message: str) -> None:
        line = self.query_one("#report-error", Static)
        line.update(Text(message))
        line.display = bool(message)

    def _title_text(self) -> Text:
        if self.report is None:
            return Text(CHOOSE, style="dim")
        text = Text(clean(self.report.title), style="bold")
        text.append(f"  ({clean(self.report_name)})", style="dim")
        return text

    async def _show(self) -> None:
        """The report's title and facts, and its table number `table_index`."""
        report = self.report
        if report is None:
            return
        self.query_one("#report-title", Static).update(self._title_text())
        facts = self.query_one("#report-facts", Static)
        facts.update(facts_text(report))
        facts.display = bool(report.facts)
        await self._show_table()

    async def _show_table(self) -> None:
        report = self.report
        if report is None:
            return
        box = self.query_one("#report-table-box")
        focused = self.focused is not None and self.focused.parent is box
        await box.remove_children()
        title = self.query_one("#report-table-title", Static)
        filter_box = self.query_one("#report-filter", Input)
        if not report.tables:
            title.update(Text("This report has no table."))
            title.display = True
            filter_box.display = False
            return
        table = report.tables[self.table_index]
        count = len(report.tables)
        text = Text(f"Table {self.table_index + 1} of {count}: ")
        text.append(clean(table.title), style="bold")
        text.append(f" ({len(table.rows):,} row{'s' if len(table.rows) != 1 else ''})")
        if count > 1:
            text.append(" · t: next table")
        title.update(text)
        title.display = True
        widget = VirtualTable(table_columns(table), id="report-table")
        widget.empty_text = "(none)"
        await box.mount(widget)
        widget.set_rows(table_rows(table))
        filter_box.display = self.query_one("#report-row").display = len(table.rows) > 0
        filter_box.value = ""
        if focused:
            widget.focus()

    @on(VirtualTable.RowHighlighted, "#report-table")
    def _row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        """The highlighted row in full, header by header: a cell may be cut in its column."""
        event.stop()
        cells = event.table.row_cells(event.row_key) if event.row_key is not None else None
        text = Text()
        if cells is not None:
            for column, value in zip(event.table.columns, cells):
                if text:
                    text.append(" · ")
                text.append(f"{column.label}: ", style="bold")
                text.append(clean(value, "—"))
        self.query_one("#report-row", Static).update(text)

    # -- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "write":
            return True if self.report is not None else None
        if action == "next_table":
            return True if self.report is not None and len(self.report.tables) > 1 else None
        return True

    async def action_next_table(self) -> None:
        if self.report is not None and len(self.report.tables) > 1:
            self.table_index = (self.table_index + 1) % len(self.report.tables)
            await self._show_table()

    def action_filter(self) -> None:
        field = self.query_one("#report-filter", Input)
        if field.display:
            field.focus()

    @on(Input.Changed, "#report-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        for table in self.query("#report-table").results(VirtualTable):
            table.set_filter(event.value)

    @on(Input.Submitted, "#report-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        for table in self.query("#report-table").results(VirtualTable):
            table.focus()

    def action_write(self) -> None:
        if self.report is None or self.report_name is None:
            return
        now = self.smvault.clock()
        suggested = f"smvault-{self.report_name}-{now:%Y-%m-%d}.md"
        self.app.push_screen(WriteReportDialog(self.report, self.report_name, suggested), self._written)

    def _written(self, path: str | None) -> None:
        if path is not None:
            self.notify(f"Wrote the {self.report_name} report to {path} (readable by you only).",
                        title="Report written", markup=False, timeout=8)

    def action_back(self) -> None:
        if self.focused is self.query_one("#report-filter"):
            # Escape leaves the filter box first (the filter stays applied).
            for table in self.query("#report-table").results(VirtualTable):
                table.focus()
            return
        self.dismiss(None)
