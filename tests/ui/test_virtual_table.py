"""VirtualTable: rendering, filter, sort, cursor, messages, literal (hostile) cells."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region

from smvault.ui.widgets.virtual_table import Column, VirtualTable

COLUMNS = [
    Column("name", "Name"),
    Column("count", "Count", numeric=True),
    Column("note", "Note", max_width=20),
]


def make_rows(n: int = 5000):
    return [(f"k{i}", (f"Account {i:04d}", (i * 37) % 1000, f"note {i % 7}")) for i in range(n)]


class TableApp(App):
    def __init__(self, columns=COLUMNS) -> None:
        super().__init__()
        self.columns = columns
        self.highlighted: list[object] = []
        self.selected: list[object] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(self.columns, id="table")

    def on_mount(self) -> None:
        self.query_one(VirtualTable).focus()

    def on_virtual_table_row_highlighted(self, message: VirtualTable.RowHighlighted) -> None:
        assert message.control is message.table
        self.highlighted.append(message.row_key)

    def on_virtual_table_row_selected(self, message: VirtualTable.RowSelected) -> None:
        self.selected.append(message.row_key)


def run(scenario, columns=COLUMNS, size=(80, 24)) -> None:
    """Run `scenario(app, table, pilot)` inside a headless app."""

    async def main() -> None:
        app = TableApp(columns)
        async with app.run_test(size=size) as pilot:
            table = app.query_one(VirtualTable)
            await scenario(app, table, pilot)

    asyncio.run(main())


def lines(table: VirtualTable) -> list[str]:
    """The table's lines as the compositor gets them (through the widget's line cache)."""
    return [strip.text for strip in table.render_lines(Region(0, 0, *table.outer_size))]


def shown_keys(table: VirtualTable) -> list[object]:
    """Row keys on screen, read back from the first column of the rendered lines."""
    names = [line.split("  ")[0].strip() for line in lines(table)[1:]]
    by_name = {table.row_cells(key)[0]: key for key in table.visible_row_keys}
    return [by_name[name] for name in names if name in by_name]


def test_large_table_shows_header_and_first_rows():
    async def scenario(app, table, pilot):
        table.set_rows(make_rows())
        await pilot.pause()
        assert (table.row_count, table.total_count) == (5000, 5000)
        screen = lines(table)
        assert len(screen) == 24
        assert screen[0].split() == ["Name", "Count", "Note"]
        assert screen[1].split() == ["Account", "0000", "0", "note", "0"]
        assert screen[2].split() == ["Account", "0001", "37", "note", "1"]
        assert all(len(line) == 80 for line in screen)
        assert table.cursor_row_key == "k0"
        assert app.highlighted == ["k0"]
        assert table.virtual_size.height == 5001

    run(scenario)


def test_filter_narrows_rows_and_keeps_the_cursor_key():
    async def scenario(app, table, pilot):
        table.set_rows(make_rows(200))
        await pilot.pause()
        widths = table.column_widths
        assert table.move_cursor_to_key("k123")
        table.set_filter("ACCOUNT 012")  # case-insensitive; k120..k129 match
        await pilot.pause()
        assert table.row_count == 10
        assert table.visible_row_keys == [f"k{i}" for i in range(120, 130)]
        assert table.cursor_row_key == "k123" and table.cursor_index == 3
        assert table.column_widths == widths  # no jitter while filtering
        assert app.highlighted == ["k0", "k123"]

        table.set_filter("account 0124")  # cursor row filtered out: back to row 0
        await pilot.pause()
        assert table.visible_row_keys == ["k124"]
        assert table.cursor_row_key == "k124"
        assert app.highlighted[-1] == "k124"
        assert lines(table)[1].split()[:2] == ["Account", "0124"]

        table.set_filter("no such thing")
        await pilot.pause()
        assert table.row_count == 0 and table.cursor_row_key is None
        assert table.cursor_index == -1
        assert lines(table)[1].strip() == "no matching rows"
        assert app.highlighted[-1] is None

        table.empty_text = "nothing here"
        assert lines(table)[1].strip() == "nothing here"

        table.set_filter("")
        await pilot.pause()
        assert table.row_count == 200 and table.cursor_row_key == "k0"
        assert table.filter_text == ""
        # Cells are separate: a match never spans two cells.
        table.set_filter("0000 0")
        assert table.row_count == 0
        # Matches any cell, including the non-first ones.
        table.set_filter("NOTE 3")
        assert table.row_count == len([i for i in range(200) if i % 7 == 3])

    run(scenario)


def test_sort_toggles_on_numeric_and_text_columns():
    rows = [
        ("a", ("banana", 10, "x")),
        ("b", ("Apple", 9, "y")),
        ("c", ("cherry", 100, "z")),
        ("d", ("apple pie", "n/a", "w")),
        ("e", ("", 1.5, "v")),
    ]

    async def scenario(app, table, pilot):
        table.set_rows(rows)
        table.move_cursor_to_key("c")
        table.sort_by("count")
        await pilot.pause()
        # Numbers sort numerically (not as text); non-numbers go last either way.
        assert table.visible_row_keys == ["e", "b", "a", "c", "d"]
        assert "Count ▲" in lines(table)[0]
        assert table.cursor_row_key == "c" and table.cursor_index == 3
        assert (table.sort_column, table.sort_reverse) == ("count", False)

        table.sort_by("count")  # same column toggles
        await pilot.pause()
        assert table.visible_row_keys == ["c", "a", "b", "e", "d"]
        assert "Count ▼" in lines(table)[0]
        assert table.cursor_row_key == "c" and table.cursor_index == 0

        table.sort_by("name")  # another column starts ascending, case-insensitive
        await pilot.pause()
        assert table.visible_row_keys == ["b", "d", "a", "c", "e"]  # empty last
        header = lines(table)[0]
        assert "Name ▲" in header and "▼" not in header
        table.sort_by("name")
        assert table.visible_row_keys == ["c", "a", "d", "b", "e"]
        table.sort_by("name", reverse=True)  # explicit direction does not toggle
        assert table.sort_reverse is True
        table.sort_by("name", reverse=False)
        assert table.visible_row_keys == ["b", "d", "a", "c", "e"]

        # Sort and filter survive new rows.
        table.set_filter("apple")
        table.set_rows(rows + [("f", ("APPLE CORE", 1, "u"))])
        assert table.visible_row_keys == ["b", "f", "d"]
        with pytest.raises(KeyError):
            table.sort_by("nope")

    run(scenario)


def test_keyboard_navigation_moves_the_cursor_and_posts_highlighted():
    async def scenario(app, table, pilot):
        table.set_rows(make_rows(1000))
        await pilot.pause()
        page = 23  # 24 lines minus the header

        await pilot.press("down", "down")
        assert table.cursor_row_key == "k2"
        await pilot.press("up")
        assert table.cursor_row_key == "k1"
        await pilot.press("up", "up")  # stops at the top; no message for no change
        assert table.cursor_row_key == "k0"
        await pilot.pause()
        assert app.highlighted == ["k0", "k1", "k2", "k1", "k0"]

        await pilot.press("pagedown")
        assert table.cursor_index == page
        assert f"k{page}" in shown_keys(table)
        await pilot.press("end")
        assert table.cursor_row_key == "k999"
        assert shown_keys(table)[-1] == "k999"
        assert lines(table)[0].split() == ["Name", "Count", "Note"]  # sticky header
        assert table.scroll_offset.y == 1000 - page
        await pilot.press("end")  # no change, no message
        await pilot.press("pageup")
        assert table.cursor_index == 999 - page
        assert f"k{999 - page}" in shown_keys(table)
        await pilot.press("home")
        assert table.cursor_row_key == "k0" and table.scroll_offset.y == 0
        assert shown_keys(table)[0] == "k0"
        await pilot.pause()
        assert app.highlighted[5:] == [f"k{page}", "k999", f"k{999 - page}", "k0"]

        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.selected == ["k1"]

        # The cursor line (second row) is styled apart from the others, and dimmer
        # while the table is not focused.
        def row_styles():
            strips = table.render_lines(Region(0, 1, table.outer_size.width, 3))
            return [next(iter(strip)).style for strip in strips]

        focused = row_styles()
        assert focused[1] != focused[0] and focused[0] == focused[2]
        app.set_focus(None)
        await pilot.pause()
        blurred = row_styles()
        assert blurred[1] != blurred[0] and blurred[1].bgcolor != focused[1].bgcolor

        assert row_styles()[0] == row_styles()[2]
        table.move_cursor_to_key("k5")
        table.zebra_stripes = True
        await pilot.pause()
        zebra = row_styles()
        assert zebra[0] != zebra[1] and zebra[0] == zebra[2]

    run(scenario)


def test_bindings_have_ids_and_descriptions():
    bindings = [b for b in VirtualTable.BINDINGS]
    assert {b.key for b in bindings} >= {"up", "down", "pageup", "pagedown", "home", "end", "enter"}
    for binding in bindings:
        assert binding.id and binding.id.startswith("table.")
        assert binding.description and binding.tooltip


HOSTILE = [
    ("click", "[@click=app.quit]x[/]"),
    ("slash", "pass[/]word"),
    ("link", "[link=https://e.x]x[/link]"),
    ("osc", "a\x1b]52;c;ZXZpbA==\x07b"),
    ("csi", "\x1b[31mred"),
]


def test_markup_and_control_characters_render_literally():
    columns = [Column("key", "Key"), Column("value", "Value")]

    async def scenario(app, table, pilot):
        table.set_rows([(key, (key, value)) for key, value in HOSTILE])
        await pilot.pause()
        screen = lines(table)
        values = [line[len(" slash  "):].strip() for line in screen[1:6]]
        assert values == [
            "[@click=app.quit]x[/]",
            "pass[/]word",
            "[link=https://e.x]x[/link]",
            "a]52;c;ZXZpbA==b",
            "[31mred",
        ]
        for y in range(table.size.height):
            for segment in table.render_line(y):
                assert "\x1b" not in segment.text and "\x07" not in segment.text
                assert segment.style is None or not segment.style.link
                assert segment.style is None or not segment.style.meta

        # Selecting or clicking the "[@click=app.quit]" row does not quit the app.
        await pilot.press("enter")
        await pilot.click(VirtualTable, offset=(10, 1))
        await pilot.click(VirtualTable, offset=(10, 1), times=2)
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert app.selected == ["click", "click"]

        # The filter matches what is shown (control characters removed).
        table.set_filter("a]52")
        assert table.visible_row_keys == ["osc"]
        table.set_filter("\x1b[31")
        assert table.visible_row_keys == ["csi"]
        assert table.row_cells("osc") == ("osc", "a\x1b]52;c;ZXZpbA==\x07b")

    run(scenario, columns)


def test_clicks_sort_by_header_and_move_the_cursor():
    async def scenario(app, table, pilot):
        table.set_rows(make_rows(100))
        await pilot.pause()
        name_width = table.column_widths[0] + 2
        count_x = name_width + 2  # inside the Count header cell

        await pilot.click(VirtualTable, offset=(count_x, 0))
        assert (table.sort_column, table.sort_reverse) == ("count", False)
        counts = [table.row_cells(key)[1] for key in table.visible_row_keys]
        assert counts == sorted(counts)
        await pilot.click(VirtualTable, offset=(count_x, 0))
        assert table.sort_reverse is True
        assert "Count ▼" in lines(table)[0]
        await pilot.click(VirtualTable, offset=(1, 0))
        assert (table.sort_column, table.sort_reverse) == ("name", False)

        await pilot.click(VirtualTable, offset=(3, 5))  # fifth row
        assert table.cursor_index == 4 and table.cursor_row_key == "k4"
        await pilot.pause()
        assert app.highlighted[-1] == "k4"
        assert app.selected == []

    run(scenario)


def test_widths_truncation_and_wide_characters():
    columns = [
        Column("name", "Name", max_width=8),
        Column("fixed", "Fixed", width=4),
        Column("n", "N", numeric=True),
    ]

    async def scenario(app, table, pilot):
        table.set_rows(
            [
                (1, ("abcdefghijkl", "wxyz", 5)),
                (2, ("日本語のテキスト", "toolong", 12345)),
                (3, (None, None, None)),
            ]
        )
        await pilot.pause()
        assert table.column_widths == (8, 4, 5)
        screen = lines(table)
        assert screen[1] == " abcdefg…  wxyz      5 ".ljust(80)
        assert screen[2] == " 日本語…   too…  12345 ".ljust(80 - 3)  # 3 double-width
        assert screen[3].strip() == ""
        table.set_filter("12345")
        assert lines(table)[1] == screen[2]  # widths unchanged by the filter

    run(scenario, columns)


def test_wide_tables_scroll_horizontally():
    columns = [Column(f"c{i}", f"Column {i}", width=12) for i in range(10)]

    async def scenario(app, table, pilot):
        table.set_rows([(i, tuple(f"r{i}c{j}" for j in range(10))) for i in range(50)])
        await pilot.pause()
        assert table.virtual_size.width == 140
        assert lines(table)[0].startswith(" Column 0 ")
        table.scroll_to(x=28, animate=False)
        await pilot.pause()
        screen = lines(table)
        assert screen[0].startswith(" Column 2 ")
        assert screen[1].startswith(" r0c2 ")

    run(scenario, columns)


def test_set_rows_keeps_the_cursor_key_and_validates():
    async def scenario(app, table, pilot):
        await pilot.pause()
        assert lines(table)[0].split() == ["Name", "Count", "Note"]
        assert lines(table)[1].strip() == "no matching rows"
        assert app.highlighted == [] and table.cursor_row_key is None
        table.set_rows(make_rows(50))
        assert table.move_cursor_to_key("k40")
        assert not table.move_cursor_to_key("missing")
        table.set_rows(make_rows(60)[::-1])
        await pilot.pause()
        assert table.cursor_row_key == "k40" and table.cursor_index == 19
        assert shown_keys(table).count("k40") == 1
        table.set_rows(make_rows(10))  # cursor row gone: first row
        await pilot.pause()
        assert table.cursor_row_key == "k0"
        assert app.highlighted == ["k0", "k40", "k0"]
        assert table.row_cells("k3") == ("Account 0003", 111, "note 3")
        assert table.row_cells("k40") is None
        with pytest.raises(ValueError):
            table.set_rows([("x", ("a", 1, "b")), ("x", ("c", 2, "d"))])
        with pytest.raises(ValueError):
            table.set_rows([("x", ("a", 1))])
        table.set_rows([])
        await pilot.pause()
        assert table.row_count == 0 and app.highlighted[-1] is None
        assert lines(table)[1].strip() == "no matching rows"

    run(scenario)
