"""The dashboard: what the vault holds (count tiles) and what needs attention first (risks).

One service call (`services.overview.overview`) fills the whole view: it reads metadata only,
logs nothing and costs a fixed handful of queries whatever the vault's size. The risks are
rows of ONE table, grouped by kind in `RISK_KINDS` order under a header row per group; enter
on a risk opens its account (or its person) in the other views.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.strip import Strip
from textual.widgets import Static

from smvault.services.overview import RISK_KINDS, RISK_TITLES, Overview, Risk, overview
from smvault.ui.commands import bindings
from smvault.ui.literal import clean
from smvault.ui.messages import ShowAccount, ShowPerson
from smvault.ui.views.base import View
from smvault.ui.widgets.virtual_table import Column, VirtualTable

# (key in Overview.counts, label) in the order the tiles show them.
TILES: tuple[tuple[str, str], ...] = (
    ("accounts", "accounts"),
    ("people", "people"),
    ("operators", "operators"),
    ("grants_in_force", "grants in force"),
    ("leaving", "leaving"),
    ("left", "left"),
    ("log_entries", "log entries"),
)

# One tile for every workflow not yet closed (the Workflows tab, 5, lists them by kind).
WORKFLOW_KEYS = ("open_offboarding", "open_transfer", "open_review", "open_emergency", "open_post-incident")
WORKFLOW_LABEL = "open workflows"  # "open workflow" when there is one

TILE_SEPARATOR = "  ·  "
BOXED_MIN_WIDTH = 100  # from this width the tiles are boxes in one row, number above label


class _TilesRenderable:
    """The count tiles, laid out for the width they are given when rendered: one row of boxes
    (number above label) when wide, otherwise "120 accounts · 64 people · …" packed onto as
    few lines as fit, a tile never split across two lines."""

    def __init__(self, tiles: list[tuple[str, str]]) -> None:
        self.tiles = tiles  # (number, label)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if width >= BOXED_MIN_WIDTH:
            table = Table(box=box.ROUNDED, show_header=False, expand=True, padding=(0, 1))
            for _ in self.tiles:
                table.add_column(justify="center", ratio=1, no_wrap=True)
            table.add_row(*[Text.assemble((number, "bold"), "\n", label) for number, label in self.tiles])
            yield table
            return
        lines: list[Text] = []
        line = Text(no_wrap=True, overflow="ellipsis")
        for number, label in self.tiles:
            tile = Text.assemble((number, "bold"), " ", label)
            if line.cell_len and line.cell_len + len(TILE_SEPARATOR) + tile.cell_len > width:
                lines.append(line)
                line = Text(no_wrap=True, overflow="ellipsis")
            if line.cell_len:
                line.append(TILE_SEPARATOR, "dim")
            line.append_text(tile)
        lines.append(line)
        yield from lines


class CountTiles(Static):
    """What the vault holds, from `Overview.counts`."""

    counts: dict[str, int] | None = None

    def show(self, counts: Mapping[str, int] | None) -> None:
        self.counts = None if counts is None else dict(counts)
        if counts is None:
            self.update(Text("The counts could not be read.", style="italic"))
            return
        self.update(_TilesRenderable([(f"{number:,}", label) for number, label in self.numbers()]))

    def numbers(self) -> list[tuple[int, str]]:
        """(number, label) of every tile, the open workflows last."""
        counts = self.counts or {}
        tiles = [(counts.get(key, 0), label) for key, label in TILES]
        open_workflows = sum(counts.get(key, 0) for key in WORKFLOW_KEYS)
        tiles.append((open_workflows, WORKFLOW_LABEL.removesuffix("s") if open_workflows == 1 else WORKFLOW_LABEL))
        return tiles

    def plain(self) -> str:
        """The tiles as one line of text ("120 accounts · 64 people · …")."""
        if self.counts is None:
            return ""
        return TILE_SEPARATOR.join(f"{number:,} {label}" for number, label in self.numbers())


class RiskTable(VirtualTable, inherit_bindings=False):
    """A VirtualTable whose group rows span the whole line (the group's title and count).

    The cursor steps over group rows, clicking a column header does not sort (that would
    scatter the groups), and enter is left to the dashboard's own `open` binding, so the
    footer shows "Open" and greys it out when nothing can be opened.
    """

    BINDINGS = [b for b in VirtualTable.BINDINGS if getattr(b, "key", None) != "enter"]
    COMPONENT_CLASSES = VirtualTable.COMPONENT_CLASSES | {"risk-table--group"}
    DEFAULT_CSS = """
    RiskTable > .risk-table--group {
        text-style: bold;
        color: $accent;
    }
    """

    def __init__(self, columns, **kwargs) -> None:
        super().__init__(columns, **kwargs)
        self._group_titles: dict[Hashable, str] = {}
        self._row_order: list[Hashable] = []

    def set_groups(self, rows, group_titles: Mapping[Hashable, str]) -> None:
        """Set rows where the keys in `group_titles` are group rows showing that title."""
        self._group_titles = dict(group_titles)
        self.set_rows(rows)

    def is_group(self, row_key: Hashable | None) -> bool:
        return row_key in self._group_titles

    def set_rows(self, rows) -> None:
        super().set_rows(rows)
        self._row_order = self.visible_row_keys
        self._step_off_group(+1)

    def set_filter(self, text: str) -> None:
        super().set_filter(text)
        self._row_order = self.visible_row_keys
        self._step_off_group(+1)

    def sort_by(self, column_key: str, reverse: bool | None = None) -> None:
        """Groups keep the order the overview gives (most severe first): no sorting."""

    # -- the cursor never rests on a group row when moved with the keyboard -----------------

    def _step_off_group(self, step: int) -> None:
        if not self.is_group(self.cursor_row_key):
            return
        index = self.cursor_index
        for target in (index + step, index - step):
            if 0 <= target < len(self._row_order) and not self.is_group(self._row_order[target]):
                self.move_cursor_to_key(self._row_order[target])
                return

    def action_cursor_up(self) -> None:
        super().action_cursor_up()
        self._step_off_group(-1)

    def action_cursor_down(self) -> None:
        super().action_cursor_down()
        self._step_off_group(+1)

    def action_cursor_page_up(self) -> None:
        super().action_cursor_page_up()
        self._step_off_group(-1)

    def action_cursor_page_down(self) -> None:
        super().action_cursor_page_down()
        self._step_off_group(+1)

    def action_cursor_first(self) -> None:
        super().action_cursor_first()
        self._step_off_group(+1)

    def action_cursor_last(self) -> None:
        super().action_cursor_last()
        self._step_off_group(-1)

    # -- rendering: a group row is its title across the whole line --------------------------

    def render_line(self, y: int) -> Strip:
        if y > 0 and self._group_titles:
            scroll_x, scroll_y = self.scroll_offset
            index = scroll_y + y - 1
            if 0 <= index < len(self._row_order):
                title = self._group_titles.get(self._row_order[index])
                if title is not None:
                    width = self.size.width
                    style = self.rich_style + self.get_component_rich_style("risk-table--group")
                    if index == self.cursor_index:
                        style += self.get_component_rich_style("virtual-table--cursor")
                    return Strip([Segment(" " + title, style)]).crop_extend(scroll_x, scroll_x + width, style)
        return super().render_line(y)


class DashboardView(View):
    """Counts on top, then every risk the overview found, grouped by kind."""

    scope = "dashboard"
    BINDINGS = bindings("dashboard")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.overview: Overview | None = None
        self.risks: dict[Hashable, Risk] = {}  # row key (kind, index) -> risk

    def compose(self) -> ComposeResult:
        yield CountTiles(id="dash-tiles")
        table = RiskTable(
            [Column("subject", "Account or person", max_width=32, min_width=12),
             Column("detail", "Why it needs attention", max_width=124)],
            id="dash-risks",
        )
        table.empty_text = "Reading the vault…"
        yield table
        yield Static("", id="dash-detail", markup=False)

    @property
    def table(self) -> RiskTable:
        return self.query_one("#dash-risks", RiskTable)

    async def load(self) -> None:
        result = await self.app.service(overview)  # type: ignore[attr-defined]
        self.show(result)

    def show(self, result: Overview | None) -> None:
        self.overview = result
        tiles = self.query_one(CountTiles)
        table = self.table
        self.risks = {}
        if result is None:
            tiles.show(None)
            table.empty_text = "The overview could not be read."
            table.set_groups([], {})
            self._describe(None)
            return
        tiles.show(result.counts)
        rows: list[tuple[Hashable, tuple[str, str]]] = []
        titles: dict[Hashable, str] = {}
        for kind in RISK_KINDS:
            found = result.risks.get(kind) or []
            if not found:
                continue
            group = (kind, None)
            titles[group] = f"{RISK_TITLES.get(kind, kind)} ({len(found):,})"
            rows.append((group, ("", "")))
            for index, risk in enumerate(found):
                key = (kind, index)
                self.risks[key] = risk
                rows.append((key, ("  " + clean(risk.subject), clean(risk.detail))))
        table.empty_text = "Nothing needs attention: the overview found no risk."
        table.set_groups(rows, titles)
        self._describe(table.cursor_row_key)
        self.update_bindings()

    # -- the highlighted row ----------------------------------------------------------------

    @property
    def current_risk(self) -> Risk | None:
        if not self.is_mounted:
            return None
        return self.risks.get(self.table.cursor_row_key)  # type: ignore[arg-type]

    @on(VirtualTable.RowHighlighted, "#dash-risks")
    def _highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        event.stop()
        self._describe(event.row_key)
        self.update_bindings()

    @on(VirtualTable.RowSelected, "#dash-risks")
    def _selected(self, event: VirtualTable.RowSelected) -> None:  # a double click
        event.stop()
        self.action_open()

    def _describe(self, row_key: Hashable | None) -> None:
        """The whole of the highlighted risk under the table (the detail column may be cut)."""
        line = Text(no_wrap=False)
        risk = self.risks.get(row_key)  # type: ignore[arg-type]
        if risk is not None:
            line.append(clean(risk.subject), "bold")
            line.append(": " + clean(risk.detail))
            target = _target(risk)
            if target:
                line.append(f"  enter opens {target}.", "dim")
        elif row_key is not None and self.table.is_group(row_key):
            kind = row_key[0]  # type: ignore[index]
            line.append(f"{RISK_TITLES.get(kind, kind)}: move down to the rows of this group.", "dim")
        self.query_one("#dash-detail", Static).update(line)

    # -- commands ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            risk = self.current_risk
            return True if risk is not None and _target(risk) else None
        return True

    def action_open(self) -> None:
        risk = self.current_risk
        if risk is None:
            return  # a group row, or nothing: enter does nothing
        if risk.account_key:
            self.post_message(ShowAccount(risk.account_key))
        elif risk.person_email:
            self.post_message(ShowPerson(risk.person_email))

    def focus_default(self) -> None:
        self.table.focus()

    def focus_filter(self) -> None:
        self.table.focus()  # nothing to filter here: the risks are few and grouped


def _target(risk: Risk) -> str:
    if risk.account_key:
        return "the account"
    if risk.person_email:
        return "the person"
    return ""
