"""A fast, virtual, read-only table: only the lines on screen are ever rendered.

`VirtualTable` holds rows as plain tuples and renders them through the Line API, so
setting 5,000 rows, filtering them on every keystroke and sorting them stay cheap (the
built-in `DataTable` builds a renderable per cell and re-adds rows to filter).

Rendering rules:

* Every cell is converted to text once, in `set_rows` (`None` shows as an empty cell),
  with control characters removed by `smvault.domain.text.printable` - no ESC/OSC
  sequence reaches the terminal. Text is emitted as literal `Segment`s: markup such as
  ``[@click=app.quit]x[/]`` is never parsed and shows exactly as typed.
* Cells wider than their column are truncated with "…" (wide characters are measured
  with `rich.cells.cell_len`). Numeric columns are right-aligned and sort numerically.
* Fit-content column widths are measured once per `set_rows` (over every row, capped by
  `Column.max_width`) and stay fixed while filtering, so columns never jitter.
* When the columns are wider than the widget the table scrolls horizontally (the virtual
  width is the total column width; the header scrolls sideways with the rows). Columns
  are never shrunk to fit.
* The first line is a sticky header (it does not scroll vertically); clicking a header
  cell sorts by that column, and the sorted column shows ▲ (ascending) or ▼.

The filter and the sort survive `set_rows`; the cursor stays on the same row key across
`set_rows`, `set_filter` and `sort_by` while that row is visible, and otherwise goes back
to the first row. `RowHighlighted` is posted whenever the highlighted row key changes
(with `row_key=None`, `index=-1` when the table becomes empty).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from smvault.domain.text import has_control_chars, printable

__all__ = ["Column", "VirtualTable"]

ELLIPSIS = "…"
SORT_ASCENDING = "▲"
SORT_DESCENDING = "▼"
CELL_PADDING = 1  # blank cells on each side of every column


@dataclass(frozen=True)
class Column:
    """One column of a `VirtualTable`."""

    key: str
    """Stable id, used by `VirtualTable.sort_by`."""
    label: str
    """Header text (shown literally)."""
    width: int | None = None
    """Fixed width in cells, or None to fit the content (capped by `max_width`)."""
    max_width: int = 40
    """Cap on a fit-content column's width."""
    numeric: bool = False
    """Right-aligned; sorts numerically (cells that are not numbers sort last)."""
    min_width: int = 3
    """Floor on a fit-content column's width."""


def _fit(text: str, width: int, right: bool) -> str:
    """`text` padded or truncated (with an ellipsis) to exactly `width` cells."""
    size = len(text) if text.isascii() else cell_len(text)
    if size <= width:
        pad = " " * (width - size)
        return pad + text if right else text + pad
    if width <= 1:
        return ELLIPSIS[:width]
    if text.isascii():
        return text[: width - 1] + ELLIPSIS
    cut = set_cell_size(text, width - 1)
    # set_cell_size pads with a space where it splits a wide character; keep only text.
    while cut and not text.startswith(cut):
        cut = cut[:-1]
    pad = " " * (width - 1 - cell_len(cut))
    return pad + cut + ELLIPSIS if right else cut + ELLIPSIS + pad


def _numeric_key(value: object, text: str) -> float | None:
    """A float to sort `value` by, or None when it is not a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        try:
            number = float(text.replace(",", "").replace("_", "").strip())
        except (TypeError, ValueError, OverflowError):
            return None
    return None if math.isnan(number) else number


class VirtualTable(ScrollView, can_focus=True):
    """Rows are tuples of plain values; only visible lines are rendered."""

    ALLOW_SELECT = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "up", "cursor_up", "Up", show=False, id="table.cursor_up",
            tooltip="Move the cursor to the previous row",
        ),
        Binding(
            "down", "cursor_down", "Down", show=False, id="table.cursor_down",
            tooltip="Move the cursor to the next row",
        ),
        Binding(
            "pageup", "cursor_page_up", "Page up", show=False, id="table.page_up",
            tooltip="Move the cursor one page up",
        ),
        Binding(
            "pagedown", "cursor_page_down", "Page down", show=False, id="table.page_down",
            tooltip="Move the cursor one page down",
        ),
        Binding(
            "home", "cursor_first", "First row", show=False, id="table.first",
            tooltip="Move the cursor to the first row",
        ),
        Binding(
            "end", "cursor_last", "Last row", show=False, id="table.last",
            tooltip="Move the cursor to the last row",
        ),
        Binding(
            "enter", "select_cursor", "Open", show=False, id="table.select",
            tooltip="Open the highlighted row",
        ),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--even-row",
        "virtual-table--empty",
    }
    """
    | Class | Description |
    | :- | :- |
    | `virtual-table--header` | The sticky header line. |
    | `virtual-table--cursor` | The cursor row (dimmer while the table is not focused). |
    | `virtual-table--even-row` | Every other row, when `zebra_stripes` is on. |
    | `virtual-table--empty` | The "no matching rows" line. |
    """

    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        height: 1fr;

        &:focus {
            background-tint: $foreground 5%;
            & > .virtual-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .virtual-table--header {
                background-tint: $foreground 5%;
            }
        }

        &:dark > .virtual-table--even-row {
            background: $surface-darken-1 40%;
        }

        & > .virtual-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .virtual-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }

        & > .virtual-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }

        & > .virtual-table--even-row {
            background: $surface-lighten-1 50%;
        }

        & > .virtual-table--empty {
            color: $text-muted;
            text-style: italic;
        }
    }
    """

    zebra_stripes: reactive[bool] = reactive(False)
    """Shade every other row."""

    class RowHighlighted(Message):
        """The highlighted row changed (its key differs from the previous one)."""

        def __init__(self, table: VirtualTable, row_key: Hashable | None, index: int) -> None:
            self.table = table
            """The table."""
            self.row_key = row_key
            """Key of the highlighted row, or None when the table shows no rows."""
            self.index = index
            """Position of the row among the visible rows (-1 when there is none)."""
            super().__init__()

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowSelected(Message):
        """Enter was pressed (or a row double-clicked)."""

        def __init__(self, table: VirtualTable, row_key: Hashable, index: int) -> None:
            self.table = table
            """The table."""
            self.row_key = row_key
            """Key of the selected row."""
            self.index = index
            """Position of the row among the visible rows."""
            super().__init__()

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        if not columns:
            raise ValueError("a VirtualTable needs at least one column")
        keys = [column.key for column in columns]
        if len(set(keys)) != len(keys):
            raise ValueError("column keys must be unique")
        self._columns: tuple[Column, ...] = tuple(columns)
        self._column_index = {key: i for i, key in enumerate(keys)}
        self._labels = [printable(column.label) for column in self._columns]
        self._empty_text = "no matching rows"

        # All rows, in the order given to set_rows.
        self._keys: list[Hashable] = []
        self._raw: list[tuple] = []
        self._text: list[tuple[str, ...]] = []
        self._haystack: list[str] = []
        self._position: dict[Hashable, int] = {}
        self._sort_keys: dict[int, list] = {}

        # What is shown: indexes into the lists above, sorted then filtered.
        self._order: list[int] = []
        self._visible: list[int] = []
        self._filter = ""  # case-folded
        self._filter_text = ""  # as given
        self._sort_column: int | None = None
        self._sort_reverse = False

        self._cursor = 0
        self._highlighted: Hashable | None = None
        self._widths: list[int] = []
        self._layout_widths()

        self._row_text_cache: LRUCache[int, str] = LRUCache(1024)
        self._line_cache: LRUCache[tuple, Strip] = LRUCache(1024)
        self._base_style: Style | None = None
        self.virtual_size = Size(self._total_width, 2)

    # ------------------------------------------------------------------ public API

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    @property
    def column_widths(self) -> tuple[int, ...]:
        """Content width of each column (without the padding on either side)."""
        return tuple(self._widths)

    @property
    def row_count(self) -> int:
        """Number of visible (filtered) rows."""
        return len(self._visible)

    @property
    def total_count(self) -> int:
        """Number of rows given to `set_rows`."""
        return len(self._keys)

    @property
    def filter_text(self) -> str:
        """The text last given to `set_filter`."""
        return self._filter_text

    @property
    def empty_text(self) -> str:
        """Shown (dim) in place of the rows when no row is visible."""
        return self._empty_text

    @empty_text.setter
    def empty_text(self, text: str) -> None:
        self._empty_text = text
        self.refresh()

    @property
    def sort_column(self) -> str | None:
        """Key of the column the rows are sorted by, or None."""
        return None if self._sort_column is None else self._columns[self._sort_column].key

    @property
    def sort_reverse(self) -> bool:
        return self._sort_reverse

    @property
    def cursor_index(self) -> int:
        """Position of the cursor among the visible rows, or -1 when there is none."""
        return self._cursor if self._visible else -1

    @property
    def cursor_row_key(self) -> Hashable | None:
        if not self._visible:
            return None
        return self._keys[self._visible[self._cursor]]

    @property
    def visible_row_keys(self) -> list[Hashable]:
        """Keys of the visible rows, in display order (a new list)."""
        keys = self._keys
        return [keys[i] for i in self._visible]

    def row_cells(self, row_key: Hashable) -> tuple | None:
        """The cells given to `set_rows` for `row_key` (filtered out or not), or None."""
        position = self._position.get(row_key)
        return None if position is None else self._raw[position]

    def set_rows(self, rows: Sequence[tuple[Hashable, Sequence[object]]]) -> None:
        """Replace every row with `(row_key, cells)` pairs; keeps filter, sort and cursor key."""
        previous = self.cursor_row_key
        ncols = len(self._columns)
        keys: list[Hashable] = []
        raw: list[tuple] = []
        texts: list[tuple[str, ...]] = []
        haystack: list[str] = []
        position: dict[Hashable, int] = {}
        for row_key, cells in rows:
            cells = tuple(cells)
            if len(cells) != ncols:
                raise ValueError(f"row {row_key!r} has {len(cells)} cells, expected {ncols}")
            if row_key in position:
                raise ValueError(f"duplicate row key {row_key!r}")
            text = tuple(["" if value is None else str(value) for value in cells])
            joined = "\0".join(text)
            if has_control_chars("".join(text)):
                text = tuple([printable(cell) for cell in text])
                joined = "\0".join(text)
            position[row_key] = len(keys)
            keys.append(row_key)
            raw.append(cells)
            texts.append(text)
            haystack.append(joined.casefold())
        self._keys, self._raw, self._text = keys, raw, texts
        self._haystack, self._position = haystack, position
        self._sort_keys.clear()
        self._layout_widths()
        self._clear_caches()
        self._order = self._sorted_order()
        self._visible = self._filtered(self._order)
        self._after_change(previous)

    def set_filter(self, text: str) -> None:
        """Show only rows where some cell contains `text` (case-insensitive); "" shows all."""
        self._filter_text = text
        needle = printable(text).casefold()
        if needle == self._filter:
            return
        previous = self.cursor_row_key
        narrowing = bool(self._filter) and self._filter in needle
        self._filter = needle
        # Typing one more character can only narrow the current selection.
        self._visible = self._filtered(self._visible if narrowing else self._order)
        self._after_change(previous)

    def sort_by(self, column_key: str, reverse: bool | None = None) -> None:
        """Sort by a column; `reverse=None` toggles on the same column, else ascending."""
        try:
            column = self._column_index[column_key]
        except KeyError:
            raise KeyError(f"no column {column_key!r}") from None
        if reverse is None:
            reverse = (not self._sort_reverse) if column == self._sort_column else False
        previous = self.cursor_row_key
        self._sort_column, self._sort_reverse = column, reverse
        self._order = self._sorted_order()
        self._visible = self._filtered(self._order)
        self._after_change(previous)

    def move_cursor_to_key(self, row_key: Hashable) -> bool:
        """Put the cursor on `row_key`; False (cursor unchanged) if that row is not visible."""
        index = self._visible_index(row_key)
        if index is None:
            return False
        self._move_cursor(index)
        return True

    # ------------------------------------------------------------------ model

    def _layout_widths(self) -> None:
        widths = []
        for i, column in enumerate(self._columns):
            if column.width is not None:
                widths.append(max(1, column.width))
                continue
            # Room for the label and a sort arrow, so sorting never changes the layout.
            width = cell_len(self._labels[i]) + 2
            cap = max(column.max_width, column.min_width)
            for text in self._text:
                cell = text[i]
                size = len(cell) if cell.isascii() else cell_len(cell)
                if size > width:
                    width = size
                    if width >= cap:
                        break
            widths.append(max(column.min_width, min(width, cap)))
        self._widths = widths
        self._total_width = sum(widths) + 2 * CELL_PADDING * len(widths)

    def _sorted_order(self) -> list[int]:
        count = len(self._keys)
        column = self._sort_column
        if column is None:
            return list(range(count))
        keys = self._sort_keys.get(column)
        if keys is None:
            keys = self._sort_keys[column] = self._column_sort_keys(column)
        known = [i for i in range(count) if keys[i] is not None]
        unknown = [i for i in range(count) if keys[i] is None]
        known.sort(key=keys.__getitem__, reverse=self._sort_reverse)
        if unknown:
            # Empty cells (and, in numeric columns, cells that are not numbers) go last in
            # both directions, ordered by their text.
            texts = self._text
            unknown.sort(key=lambda i: texts[i][column].casefold())
        return known + unknown

    def _column_sort_keys(self, column: int) -> list:
        texts = self._text
        if self._columns[column].numeric:
            raw = self._raw
            return [_numeric_key(raw[i][column], texts[i][column]) for i in range(len(texts))]
        # Empty cells sort last in both directions (key None).
        return [text[column].casefold() or None for text in texts]

    def _filtered(self, candidates: list[int]) -> list[int]:
        needle = self._filter
        if not needle:
            return list(candidates)
        haystack = self._haystack
        return [i for i in candidates if needle in haystack[i]]

    def _visible_index(self, row_key: Hashable) -> int | None:
        position = self._position.get(row_key)
        if position is None:
            return None
        try:
            return self._visible.index(position)
        except ValueError:
            return None

    def _after_change(self, previous: Hashable | None) -> None:
        """Rows, filter or order changed: restore the cursor, resize, repaint."""
        index = self._visible_index(previous) if previous is not None else None
        self._cursor = 0 if index is None else index
        self.virtual_size = Size(self._total_width, 1 + max(1, len(self._visible)))
        self._scroll_cursor_into_view()
        self.refresh()
        self._post_highlighted()

    def _post_highlighted(self) -> None:
        key = self.cursor_row_key
        if key == self._highlighted:
            return
        self._highlighted = key
        self.post_message(self.RowHighlighted(self, key, self.cursor_index))

    # ------------------------------------------------------------------ cursor

    @property
    def _body_height(self) -> int:
        """Rows that fit under the header."""
        return max(0, self.scrollable_content_region.height - 1)

    def _move_cursor(self, index: int) -> None:
        if not self._visible:
            return
        index = max(0, min(index, len(self._visible) - 1))
        old = self._cursor
        if index != old:
            self._cursor = index
            self.refresh_line(old + 1)
            self.refresh_line(index + 1)
        self._scroll_cursor_into_view()
        self._post_highlighted()

    def _scroll_cursor_into_view(self) -> None:
        height = self._body_height
        if height <= 0:
            return
        top = self.scroll_offset.y
        if self._cursor < top:
            target = self._cursor
        elif self._cursor >= top + height:
            target = self._cursor - height + 1
        else:
            return
        self.scroll_to(y=target, animate=False, force=True)

    def action_cursor_up(self) -> None:
        self._move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._move_cursor(self._cursor + 1)

    def action_cursor_page_up(self) -> None:
        page = max(1, self._body_height)
        self.scroll_to(y=self.scroll_offset.y - page, animate=False, force=True)
        self._move_cursor(self._cursor - page)

    def action_cursor_page_down(self) -> None:
        page = max(1, self._body_height)
        self.scroll_to(y=self.scroll_offset.y + page, animate=False, force=True)
        self._move_cursor(self._cursor + page)

    def action_cursor_first(self) -> None:
        self._move_cursor(0)

    def action_cursor_last(self) -> None:
        self._move_cursor(len(self._visible) - 1)

    def action_select_cursor(self) -> None:
        key = self.cursor_row_key
        if key is not None:
            self.post_message(self.RowSelected(self, key, self._cursor))

    # ------------------------------------------------------------------ events

    def _column_at(self, x: int) -> int | None:
        edge = 0
        for i, width in enumerate(self._widths):
            edge += width + 2 * CELL_PADDING
            if x < edge:
                return i
        return None

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        event.stop()
        scroll_x, scroll_y = self.scroll_offset
        if offset.y == 0:
            column = self._column_at(offset.x + scroll_x)
            if column is not None:
                self.sort_by(self._columns[column].key)
            return
        index = scroll_y + offset.y - 1
        if 0 <= index < len(self._visible):
            self._move_cursor(index)
            if event.chain == 2:
                self.action_select_cursor()

    def _on_resize(self, event: events.Resize) -> None:
        self._scroll_cursor_into_view()

    def watch_zebra_stripes(self) -> None:
        self._clear_caches()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._clear_caches()
        self.refresh()

    # ------------------------------------------------------------------ rendering

    def _clear_caches(self) -> None:
        self._row_text_cache.clear()
        self._line_cache.clear()

    def _row_text(self, position: int) -> str:
        text = self._row_text_cache.get(position)
        if text is None:
            pad = " " * CELL_PADDING
            cells = self._text[position]
            text = "".join(
                [
                    pad + _fit(cells[i], width, column.numeric) + pad
                    for i, (column, width) in enumerate(zip(self._columns, self._widths))
                ]
            )
            self._row_text_cache[position] = text
        return text

    def _header_text(self) -> str:
        pad = " " * CELL_PADDING
        parts = []
        for i, (column, width) in enumerate(zip(self._columns, self._widths)):
            label = self._labels[i]
            if i == self._sort_column:
                arrow = SORT_DESCENDING if self._sort_reverse else SORT_ASCENDING
                label = _fit(label, max(0, width - 2), False).rstrip() + " " + arrow
            parts.append(pad + _fit(label, width, column.numeric) + pad)
        return "".join(parts)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._base_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._base_style = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        base = self._base_style or self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("virtual-table--header")
            strip = Strip([Segment(self._header_text(), style)])
            return strip.crop_extend(scroll_x, scroll_x + width, style)
        visible = self._visible
        index = scroll_y + y - 1
        if not visible:
            if y != 1 or not self._empty_text:
                return Strip.blank(width, base)
            style = base + self.get_component_rich_style("virtual-table--empty")
            text = " " * CELL_PADDING + printable(self._empty_text)
            strip = Strip([Segment(text, style)])
            return strip.crop_extend(0, width, base)
        if index >= len(visible):
            return Strip.blank(width, base)
        position = visible[index]
        is_cursor = index == self._cursor
        even = self.zebra_stripes and not index % 2
        cache_key = (position, is_cursor, even, self.has_focus, scroll_x, width, base)
        strip = self._line_cache.get(cache_key)
        if strip is None:
            style = base
            if even:
                style += self.get_component_rich_style("virtual-table--even-row")
            if is_cursor:
                style += self.get_component_rich_style("virtual-table--cursor")
            strip = Strip([Segment(self._row_text(position), style)])
            strip = strip.crop_extend(scroll_x, scroll_x + width, style)
            self._line_cache[cache_key] = strip
        return strip
