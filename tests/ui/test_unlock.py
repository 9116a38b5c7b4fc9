"""Unlocking in the real app: right passphrase, wrong passphrase, older copy of the vault."""

from __future__ import annotations

import shutil

from smvault.services.demo import DEMO_OPERATOR

from smvault.ui.screens.main import MainScreen
from smvault.ui.screens.unlock import UnlockScreen

from .conftest import head, log_actions, unlock, until


async def test_right_passphrase_opens_the_dashboard_and_logs_one_unlock(demo_dir, make_app):
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.vault.operator_name == DEMO_OPERATOR
    assert log_actions(demo_dir, before) == ["vault.unlock"]


async def test_wrong_passphrase_shows_inline_is_recorded_and_logged_at_next_unlock(demo_dir, make_app):
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot, passphrase="not the passphrase")
        assert isinstance(app.screen, UnlockScreen)
        error = str(app.screen.query_one("#unlock-error").render())
        assert "Wrong passphrase for demo" in error and "recorded" in error
        assert not app.vault.unlocked
        assert app.screen.query_one("#passphrase").value == ""
        await unlock(app, pilot)
        assert isinstance(app.screen, MainScreen)
    assert log_actions(demo_dir, before) == ["vault.unlock-failed", "vault.unlock"]


async def test_older_copy_is_a_blocking_alert_and_stays_locked(demo_dir, make_app, tmp_path):
    from smvault.ui.dialogs.alert import IntegrityAlert

    old = tmp_path / "old-copy"
    shutil.copytree(demo_dir, old)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:  # moves this machine's anchor forward
        await unlock(app, pilot)
    shutil.rmtree(demo_dir)
    shutil.copytree(old, demo_dir)  # the older copy comes back under the same path
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot, wait=False)
        await until(pilot, lambda: isinstance(app.screen, IntegrityAlert))
        assert "older copy" in str(app.screen.query_one("#alert-message").render())
        await pilot.press("enter")  # "I understand, stay locked" has the focus
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen) and not app.vault.unlocked
