"""Passphrases and share words stay off the clipboard and out of Textual's debug log.

Textual's Input selects everything on focus and its ctrl+c / ctrl+x copy the real text even
when the field is masked; TEXTUAL_LOG makes Textual append every message (each keystroke's
Input.Changed with the value, each Paste's text) to a file. Both are checked in the real app.
"""

from __future__ import annotations

from textual import constants
from textual.widgets import Input

from smvault.services.demo import DEMO_PASSPHRASE
from smvault.ui.screens.first_run import FirstRunScreen
from smvault.ui.screens.unlock import UnlockScreen
from smvault.ui.widgets.secret_input import SecretInput

from .conftest import until
from .test_recovery_tui import make_kit, paste, to_recovery


def password_fields(app) -> list[Input]:
    return [field for field in app.screen.query(Input) if field.password]


async def test_ctrl_c_and_ctrl_x_in_a_share_field_copy_nothing(demo_dir, make_app):
    shares = make_kit(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_recovery(app, pilot)
        assert all(isinstance(field, SecretInput) for field in password_fields(app))
        await paste(app, pilot, 1, shares[0])
        await paste(app, pilot, 2, shares[1])
        field = app.screen.query_one("#share-1", Input)
        assert field.value == shares[0]
        # Focus comes back to a filled field (Input would select all of it), then copy.
        app.screen.query_one("#share-2", Input).focus()
        await pilot.pause()
        field.focus()
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.press("ctrl+shift+a", "ctrl+c")  # everything selected on purpose
        assert shares[0].split()[0] not in app.clipboard
        await pilot.press("ctrl+shift+a", "ctrl+x")
        assert shares[0].split()[0] not in app.clipboard
        assert field.value == shares[0]  # nothing cut either
        # Shown (the toggle) it is still not copied.
        await pilot.click("#recovery-show")
        field.focus()
        await pilot.press("ctrl+shift+a", "ctrl+c")
        assert not field.password and shares[0].split()[0] not in app.clipboard


async def test_ctrl_c_in_the_passphrase_field_copies_nothing(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen)
        assert [type(f) for f in password_fields(app)] == [SecretInput]
        field = app.screen.query_one("#passphrase", Input)
        await pilot.press(*DEMO_PASSPHRASE)
        field.blur()
        await pilot.pause()
        field.focus()  # Input's select_on_focus would select the whole passphrase here
        await pilot.pause()
        assert field.selection.is_empty
        await pilot.press("ctrl+c")
        await pilot.press("ctrl+shift+a", "ctrl+x")
        assert DEMO_PASSPHRASE not in app.clipboard and field.value == DEMO_PASSPHRASE


async def test_the_first_run_passphrase_fields_are_secret_fields(tmp_path, make_app):
    app = make_app(tmp_path / "new-vault")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, FirstRunScreen)
        assert [type(f) for f in password_fields(app)] == [SecretInput, SecretInput]


async def test_textual_log_is_turned_off_so_shares_and_passphrases_stay_out_of_it(
        demo_dir, make_app, tmp_path, monkeypatch):
    """TEXTUAL_LOG set as a developer would: the app turns Textual's log file off (a
    keystroke's Input.Changed and a Paste would be written down with their text)."""
    log = tmp_path / "textual.log"
    monkeypatch.setenv("TEXTUAL_LOG", str(log))
    monkeypatch.setattr(constants, "LOG_FILE", str(log))  # as read at import with the variable set
    shares = make_kit(demo_dir)
    app = make_app(demo_dir)
    assert app.silenced_logs == ["TEXTUAL_LOG"]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"wrong-passphrase")
        await to_recovery(app, pilot)
        await paste(app, pilot, 1, shares[0])
        await pilot.press(*" ", *shares[1].split()[0])  # typed too
        await until(pilot, lambda: "share 1" in str(app.screen.query_one("#share-1-status").render()))
    text = log.read_text() if log.exists() else ""
    words = shares[0].split()
    assert " ".join(words[:3]) not in text and "wrong-passphrase" not in text
    assert not any(" ".join(words[i:i + 3]) in text for i in range(len(words) - 2))


def test_run_tui_says_on_stderr_that_the_textual_log_is_off(demo_dir, tmp_path, monkeypatch, capsys):
    from smvault.ui.app import SmvaultApp
    from smvault.ui.launch import run_tui

    monkeypatch.setattr(constants, "LOG_FILE", str(tmp_path / "textual.log"))
    monkeypatch.setattr(SmvaultApp, "run", lambda self: self.vault.shutdown())  # no terminal: the start only
    run_tui(demo_dir)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TEXTUAL_LOG ignored" in err and "passphrases and shares" in err
    assert constants.LOG_FILE is None
