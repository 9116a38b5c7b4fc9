"""Unlocking in the real app: right passphrase, wrong passphrase, older copy of the vault."""

from __future__ import annotations

import shutil

from smvault.services.demo import DEMO_OPERATOR, DEMO_PASSPHRASE

from smvault.ui.screens.main import MainScreen
from smvault.ui.screens.unlock import UnlockScreen

from .conftest import head, log_actions, new_entries, screen_text, unlock, until


async def test_right_passphrase_opens_the_dashboard_and_logs_one_unlock(demo_dir, make_app, worker_descriptions):
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.vault.operator_name == DEMO_OPERATOR
    assert log_actions(demo_dir, before) == ["vault.unlock"]
    assert "unlock the vault" in worker_descriptions
    assert not [d for d in worker_descriptions if DEMO_PASSPHRASE in d]


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


async def test_accepting_an_older_copy_needs_a_reason_and_is_logged(demo_dir, make_app, tmp_path):
    from smvault.ui.dialogs.alert import IntegrityAlert

    old = tmp_path / "old-copy"
    shutil.copytree(demo_dir, old)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
    shutil.rmtree(demo_dir)
    shutil.copytree(old, demo_dir)
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await unlock(app, pilot, wait=False)
        await until(pilot, lambda: isinstance(app.screen, IntegrityAlert))
        await pilot.click("#accept")  # no reason yet: refused, the dialog stays
        await pilot.pause()
        assert isinstance(app.screen, IntegrityAlert)
        await pilot.click("#reason")
        for char in "restored backup":
            await pilot.press(char)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
    entries = new_entries(demo_dir, before)
    assert [e["action"] for e in entries] == ["log.reanchor", "vault.unlock"]
    assert entries[0]["detail"]["reason"] == "restored backup"


async def test_first_run_creates_a_vault_and_opens_it(tmp_path, make_app, worker_descriptions):
    from smvault.ui.screens.first_run import FirstRunScreen

    directory = tmp_path / "new-vault"
    app = make_app(directory)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, FirstRunScreen)
        screen = app.screen
        for field, value in (("operator", "jsmith"), ("email", "j.smith@example.com"),
                             ("passphrase", "long enough passphrase"), ("repeat", "a different one")):
            screen.query_one(f"#{field}").value = value
        await pilot.click("#create")
        await pilot.pause()
        assert "differ" in str(screen.query_one("#first-run-error").render())
        assert not (directory / "keyring.json").exists()
        screen.query_one("#passphrase").value = "long enough passphrase"
        screen.query_one("#repeat").value = "long enough passphrase"
        await pilot.click("#create")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.vault.operator_name == "jsmith"
        assert "create a vault" in worker_descriptions
        assert not [d for d in worker_descriptions if "long enough passphrase" in d]
    from smvault.services.session import unlock as unlock_vault

    with unlock_vault(directory, "jsmith", b"long enough passphrase", check=False) as s:
        assert [e["action"] for e in s.vault.log.entries(newest_first=False)] == [
            "vault.create", "operator.add"]
        assert s.person.email == "j.smith@example.com"


async def test_first_run_can_build_and_open_the_demo(tmp_path, make_app):
    from smvault.services.demo import DEMO_PASSPHRASE

    app = make_app(tmp_path / "vault")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.click("#demo")
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen), attempts=1500)
        assert app.vault.directory == tmp_path / "demo-vault"
        assert DEMO_PASSPHRASE in str(app.screen.query_one("#hint").render())
        await unlock(app, pilot)
        assert isinstance(app.screen, MainScreen)


async def test_operator_names_are_shown_literally_on_the_unlock_screen(tmp_path, make_app):
    from smvault.services.session import create_vault

    create_vault(tmp_path / "v", "[b]x[/b]", b"long enough passphrase").close()
    app = make_app(tmp_path / "v")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "[b]x[/b]" in screen_text(app)
        await unlock(app, pilot, passphrase="long enough passphrase")
        assert isinstance(app.screen, MainScreen) and app.vault.operator_name == "[b]x[/b]"
