"""Idle lock, ctrl+l, and the clipboard: nothing revealed survives a lock."""

from __future__ import annotations

from smvault.ui.screens.main import MainScreen
from smvault.ui.screens.unlock import UnlockScreen

from .conftest import head, log_actions, unlock


async def test_idle_lock_after_the_configured_time_returns_to_the_unlock_screen(demo_dir, make_app, ui_clock):
    before = head(demo_dir)
    app = make_app(demo_dir, idle_seconds=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        assert isinstance(app.screen, MainScreen)
        ui_clock.advance(seconds=59)
        await app.tick()
        assert isinstance(app.screen, MainScreen), "locked too early"
        await pilot.press("2")  # input resets the idle timer
        ui_clock.advance(seconds=59)
        await app.tick()
        assert isinstance(app.screen, MainScreen), "input did not count as activity"
        ui_clock.advance(seconds=61)
        await app.tick()
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen) and not app.vault.unlocked
        assert "locked after 60 s without input" in str(app.screen.query_one("#lock-reason").render())
        assert not app.query(MainScreen) and all(not isinstance(s, MainScreen) for s in app.screen_stack)
    assert log_actions(demo_dir, before) == ["vault.unlock"]


async def test_ctrl_l_locks_and_clears_the_clipboard(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        app.copy_secret("s3cret-value", "a test value")
        assert app.clipboard == "s3cret-value"
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen) and not app.vault.unlocked
        assert app.clipboard == "" and app.clipboard_what is None
        # Unlock again: the app works after a lock.
        await unlock(app, pilot)
        assert isinstance(app.screen, MainScreen)


async def test_clipboard_is_cleared_after_its_timeout_and_the_toast_names_no_secret(demo_dir, make_app, ui_clock):
    app = make_app(demo_dir, clipboard_seconds=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        app.copy_secret("s3cret-value", "a test value")
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("Copied a test value" in m and "in 30 s" in m for m in messages)
        assert not any("s3cret-value" in m for m in messages)
        ui_clock.advance(seconds=10)
        await app.tick()
        status = str(app.screen.query_one("#status").render())
        assert "clipboard: a test value" in status and "clears in 20 s" in status
        ui_clock.advance(seconds=21)
        await app.tick()
        assert app.clipboard == ""
        assert "clipboard" not in str(app.screen.query_one("#status").render())


async def test_quitting_clears_the_clipboard_and_closes_the_session(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        app.copy_secret("s3cret-value", "a test value")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == 0, "ctrl+q did not quit"
        assert app.clipboard == ""
    assert not app.vault.unlocked


async def test_a_crash_report_shows_no_local_values(demo_dir, make_app):
    # Textual's default crash report prints every frame's locals; a revealed password would
    # be one of them.
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        revealed = "-".join(["hunter2", "very", "secret"])  # never in the source the report quotes
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            app._fatal_error()
        printed = "".join(s.text for renderable in app._exit_renderables for s in renderable.segments)
        app._exit_renderables.clear()  # printed on exit otherwise (into the test's output)
        assert revealed
    assert "RuntimeError" in printed and "boom" in printed
    assert "hunter2-very-secret" not in printed
