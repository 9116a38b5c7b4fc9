"""How the main screens look, at 80x24 and 160x48, on the fixed demo with a fixed clock.

Review the report (snapshot_report.html) before accepting changes with --snapshot-update.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import unlock

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


@pytest.fixture
def snap_app(demo_dir, make_app, monkeypatch):
    # A relative vault path keeps the temporary directory's name out of the pictures.
    monkeypatch.chdir(demo_dir.parent)
    return make_app(Path(demo_dir.name))


def after_unlock(*keys: str):
    async def run_before(pilot) -> None:
        await unlock(pilot.app, pilot)
        for key in keys:
            await pilot.press(key)
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()

    return run_before


@SIZES
def test_unlock_screen(snap_compare, snap_app, size):
    assert snap_compare(snap_app, terminal_size=size)


@SIZES
def test_dashboard(snap_compare, snap_app, size):
    assert snap_compare(snap_app, terminal_size=size, run_before=after_unlock())


@SIZES
def test_accounts_with_a_live_code(snap_compare, snap_app, size):
    # The tour's TOTP account, found with the filter; then its live code (fixed clock).
    keys = ["2", "slash", *"northwind", "escape", "t"]
    assert snap_compare(snap_app, terminal_size=size, run_before=after_unlock(*keys))


@SIZES
def test_people(snap_compare, snap_app, size):
    assert snap_compare(snap_app, terminal_size=size, run_before=after_unlock("3"))


@SIZES
def test_log(snap_compare, snap_app, size):
    assert snap_compare(snap_app, terminal_size=size, run_before=after_unlock("4"))


@SIZES
def test_help(snap_compare, snap_app, size):
    assert snap_compare(snap_app, terminal_size=size, run_before=after_unlock("f1"))
