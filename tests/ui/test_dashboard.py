"""The dashboard on the demo vault: counts, risks grouped by kind, enter opens the account."""

from __future__ import annotations

from textual.widgets import TabbedContent

from smvault.services.demo import DEMO_OPERATOR, DEMO_PASSPHRASE, TOUR
from smvault.services.overview import RISK_KINDS, RISK_TITLES, overview
from smvault.services.session import unlock as unlock_vault
from smvault.ui.views.dashboard import TILES, CountTiles, DashboardView

from .conftest import FakeClock, head, log_actions, unlock, until


def overview_of(directory):
    """The overview computed straight on the vault, at the demo's instant (as the app's clock)."""
    with unlock_vault(directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), check=False, clock=FakeClock()) as s:
        return overview(s)


async def open_dashboard(app, pilot) -> DashboardView:
    await unlock(app, pilot)
    view = app.screen.query_one("#dashboard", DashboardView)
    await until(pilot, lambda: view.overview is not None)
    await pilot.pause()
    return view


async def test_tiles_and_risk_groups_match_the_overview_and_enter_opens_the_account(demo_dir, make_app):
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_dashboard(app, pilot)
        tiles = view.query_one(CountTiles)
        shown_counts = dict(tiles.counts)
        shown_tiles = tiles.plain()
        table = view.table
        keys = table.visible_row_keys
        shown_titles = dict(table._group_titles)

        # The single-controller account of the demo is in the first group.
        target = next(key for key, risk in view.risks.items()
                      if key[0] == "under-controlled" and risk.account_key == TOUR["single_controller"])
        assert table.move_cursor_to_key(target)
        await pilot.pause()
        assert TOUR["single_controller"] in str(view.query_one("#dash-detail").render())
        assert view.check_action("open", ()) is True
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.query_one(TabbedContent).active == "tab-accounts")

    expected = overview_of(demo_dir)
    # Counts: every tile shows what the services compute on the vault (the unlock included).
    assert shown_counts == expected.counts
    for key, label in TILES:
        assert f"{expected.counts[key]:,} {label}" in shown_tiles
    # Risks: one group row per non-empty kind, in RISK_KINDS order, with its count, then its rows.
    expected_keys = []
    for kind in RISK_KINDS:
        if expected.risks[kind]:
            expected_keys.append((kind, None))
            expected_keys += [(kind, i) for i in range(len(expected.risks[kind]))]
            assert shown_titles[(kind, None)] == f"{RISK_TITLES[kind]} ({len(expected.risks[kind])})"
    assert keys == expected_keys
    assert any(r.account_key == TOUR["single_controller"] for r in expected.risks["under-controlled"])
    # The dashboard reads metadata only: the unlock is the only entry.
    assert log_actions(demo_dir, before) == ["vault.unlock"]


async def test_group_rows_are_skipped_by_the_cursor_and_enter_on_them_does_nothing(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_dashboard(app, pilot)
        table = view.table
        # The first row is a group row: the cursor starts on the first risk under it.
        assert table.visible_row_keys[0] == (RISK_KINDS[0], None)
        assert table.cursor_row_key == (RISK_KINDS[0], 0)
        await pilot.press("up")
        assert table.cursor_row_key == (RISK_KINDS[0], 0)
        # Down past the end of the first group lands on the first risk of the next group.
        first = len(view.overview.risks[RISK_KINDS[0]])
        table.move_cursor_to_key((RISK_KINDS[0], first - 1))
        await pilot.press("down")
        second = next(kind for kind in RISK_KINDS[1:] if view.overview.risks[kind])
        assert table.cursor_row_key == (second, 0)
        await pilot.press("up")
        assert table.cursor_row_key == (RISK_KINDS[0], first - 1)
        # A click can still put the cursor on a group row: open is greyed out and does nothing.
        assert table.move_cursor_to_key((second, None))
        await pilot.pause()
        assert view.check_action("open", ()) is None
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one(TabbedContent).active == "tab-dashboard"


async def test_readable_at_80x24_and_uses_the_room_at_160x48(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_dashboard(app, pilot)
        assert view.query_one(CountTiles).size.height <= 2
        assert view.table.size.height - 1 >= 11  # header + a group row + at least ten risks
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        tiles = view.query_one(CountTiles)
        assert tiles.size.height == 4  # one row of boxes: number above label
        assert view.table.size.height - 1 >= 30
        detail_width = view.table.column_widths[1]
        assert detail_width > 80  # the detail column is wide enough for whole sentences
        assert view.table.size.width >= sum(view.table.column_widths) + 4  # no sideways scrolling
