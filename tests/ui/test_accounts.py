"""The accounts view on the demo vault: filter, sort, reveal, copy, live codes, QR, grants,
a code-only operator, literal user text. Each flow checks the screen AND the vault's log."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smvault.domain import otp
from smvault.domain.errors import InvalidInputError
from smvault.services import accounts, grants, people, secrets
from smvault.services.demo import (
    DEMO_OPERATOR,
    DEMO_OPERATOR_EMAIL,
    DEMO_PASSPHRASE,
    SECOND_OPERATOR,
    TOUR,
)
from smvault.services.session import unlock as unlock_vault
from smvault.ui.screens.main import MainScreen
from smvault.ui.views.accounts import AccountsView
from smvault.ui.widgets.account_detail import MASK, AccountDetailPane
from smvault.ui.widgets.live_code import PAUSED_TEXT, format_code

from .conftest import head, log_actions, new_entries, screen_text, unlock, until

TOTP = TOUR["totp"]  # instagram:northwind: password, TOTP seed, recovery codes; demo manages it
CODE_ONLY = "x:northwind"  # made code-only for the demo operator in a setup step
WIDE = (160, 48)


# -- the vault, read outside the app (never logged: check=False) ---------------------------


def _session(directory):
    return unlock_vault(directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), check=False)


def stored_password(directory, key: str) -> str:
    with _session(directory) as s:
        platform, handle = key.split(":", 1)
        account = s.vault.accounts.by_key(platform, handle)
        return s.vault.secrets.password(account.id)[0]


def stored_totp(directory, key: str) -> otp.OtpParams:
    with _session(directory) as s:
        platform, handle = key.split(":", 1)
        return s.vault.secrets.totp(s.vault.accounts.by_key(platform, handle).id)


# -- the app -----------------------------------------------------------------------------


async def open_accounts(app, pilot) -> AccountsView:
    await unlock(app, pilot)
    assert isinstance(app.screen, MainScreen)
    await pilot.press("2")
    view = app.screen.query_one("#accounts", AccountsView)
    await until(pilot, lambda: view.table.total_count > 0)
    await app.workers.wait_for_complete()
    await pilot.pause()
    return view


async def show(app, pilot, view: AccountsView, key: str) -> AccountDetailPane:
    await view.show_account(key)
    await app.workers.wait_for_complete()
    await until(pilot, lambda: view.data is not None and view.data.account.key == key)
    await app.workers.wait_for_complete()
    await pilot.pause()
    return view.pane


async def settle(app, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


# -- table, filter, sort ---------------------------------------------------------------------


async def test_filter_as_you_type_shrinks_the_table_and_puts_the_cursor_on_a_match(demo_dir, make_app):
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        table = view.table
        total = table.row_count
        assert total == table.total_count > 100
        assert "instagram" in screen_text(app) and f"{total} accounts" in screen_text(app)
        await pilot.press("slash")
        assert view.filter_input.has_focus
        counts = []
        for char in "tidewater":
            await pilot.press(char)
            counts.append(table.row_count)
        assert counts == sorted(counts, reverse=True) and 0 < counts[-1] < total
        assert all("tidewater" in str(k) for k in table.visible_row_keys)
        assert "tidewater" in str(table.cursor_row_key)
        await pilot.press("escape")
        assert table.has_focus
        await settle(app, pilot)
        assert f"{counts[-1]} of {total} accounts" in screen_text(app)
        assert view.data is not None and view.data.account.key == table.cursor_row_key
        # An exact handle wins the cursor, whatever sorts first.
        await pilot.press("slash")
        for _ in "tidewater":
            await pilot.press("backspace")
        for char in "northwind":
            await pilot.press(char)
        assert table.cursor_row_key == TOTP
        # s cycles the sort column, S reverses it.
        await pilot.press("escape", "s")
        assert table.sort_column == "platform" and not table.sort_reverse
        await pilot.press("s")
        assert table.sort_column == "handle"
        await pilot.press("S")
        assert table.sort_column == "handle" and table.sort_reverse
        assert table.cursor_row_key == TOTP  # the cursor stays on its row
    assert log_actions(demo_dir, before) == ["vault.unlock"]


async def test_layout_narrow_keeps_six_rows_and_wide_puts_the_pane_beside(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_accounts(app, pilot)
        table, pane = view.table, view.pane
        rows = table.scrollable_content_region.height - 1  # minus the header
        assert rows >= 6
        assert pane.region.y >= table.region.bottom
        shown = [line for line in screen_text(app).splitlines() if line.startswith(" facebook ")]
        assert len(shown) >= 6
        # The pane scrolls what was just disclosed into view.
        await show(app, pilot, view, TOTP)
        await pilot.press("t")
        await settle(app, pilot)
        assert pane.live_code.code and format_code(pane.live_code.code) in screen_text(app)
        await pilot.press("r")
        await settle(app, pilot)
        assert pane.password.value and pane.password.value in screen_text(app)
    app = make_app(demo_dir)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        table, pane = view.table, view.pane
        assert pane.region.x >= table.region.right and pane.region.y == table.region.y
        assert pane.region.width >= 52
        # Every column fits beside the pane at 160 columns.
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert "Status" in screen_text(app) and "Root of control" in screen_text(app)


async def test_show_account_clears_a_filter_that_hides_it(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        await pilot.press("slash", *"tidewater")
        assert TOTP not in view.table.visible_row_keys
        pane = await show(app, pilot, view, TOTP)
        assert view.table.cursor_row_key == TOTP and view.filter_input.value == ""
        text = screen_text(app)
        assert f"{TOTP}  ·  active" in text
        assert "Helen Achebe" in text  # owner and recovery email controller
        assert pane.view_data.who.report.controller_count >= 2


# -- password: reveal, auto-hide, copy -----------------------------------------------------


async def test_reveal_shows_the_password_then_hides_it_after_reveal_seconds(demo_dir, make_app, ui_clock):
    password = stored_password(demo_dir, TOTP)
    before = head(demo_dir)
    app = make_app(demo_dir, reveal_seconds=20)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        pane = await show(app, pilot, view, TOTP)
        assert MASK in screen_text(app) and password not in screen_text(app)
        await pilot.press("r")
        await settle(app, pilot)
        assert pane.password.value == password
        assert password in screen_text(app) and "hides in 20 s" in screen_text(app)
        ui_clock.advance(seconds=3)
        await app.tick()
        await pilot.pause()
        assert "hides in 17 s" in screen_text(app)
        ui_clock.advance(seconds=18)
        await app.tick()
        await pilot.pause()
        assert pane.password.value is None
        assert password not in screen_text(app) and MASK in screen_text(app)
        # The reveal is in the pane's history.
        assert view.data.history[0]["action"] == "secret.reveal"
    new = new_entries(demo_dir, before)
    assert [e["action"] for e in new] == ["vault.unlock", "secret.reveal"]
    assert (new[1]["acct"], new[1]["field"], new[1]["to_email"]) == (TOTP, "password", DEMO_OPERATOR_EMAIL)


async def test_h_and_moving_the_cursor_hide_what_is_revealed(demo_dir, make_app):
    password = stored_password(demo_dir, TOTP)
    app = make_app(demo_dir)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        pane = await show(app, pilot, view, TOTP)
        await pilot.press("r")
        await settle(app, pilot)
        assert password in screen_text(app)
        await pilot.press("h")
        await pilot.pause()
        assert pane.password.value is None and password not in screen_text(app)
        await pilot.press("r", "t")
        await settle(app, pilot)
        assert pane.password.value == password and pane.live_code.code is not None
        view.table.focus()
        await pilot.press("down")
        await settle(app, pilot)
        assert view.key != TOTP
        assert pane.password.value is None and pane.live_code.code is None
        assert password not in screen_text(app)
        view.hide_all()  # the lock's hook: nothing to hide, nothing breaks


async def test_copy_password_fills_then_clears_the_clipboard(demo_dir, make_app, ui_clock):
    password = stored_password(demo_dir, TOTP)
    before = head(demo_dir)
    app = make_app(demo_dir, clipboard_seconds=30)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        await show(app, pilot, view, TOTP)
        await pilot.press("c")
        await settle(app, pilot)
        assert app.clipboard == password
        assert app.clipboard_what == f"the password of {TOTP}"
        assert password not in screen_text(app)  # copied, not shown
        assert not any(password in n.message for n in app._notifications)
        ui_clock.advance(seconds=31)
        await app.tick()
        await pilot.pause()
        assert app.clipboard == "" and app.clipboard_what is None
    assert log_actions(demo_dir, before) == ["vault.unlock", "secret.copy"]


# -- codes -----------------------------------------------------------------------------------


async def test_live_totp_code_rolls_over_with_the_clock_one_log_entry_per_code(demo_dir, make_app, ui_clock):
    params = stored_totp(demo_dir, TOTP)
    before = head(demo_dir)
    app = make_app(demo_dir, code_seconds=120)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        pane = await show(app, pilot, view, TOTP)
        live = pane.live_code
        await pilot.press("t")
        await settle(app, pilot)
        first, left = otp.current_code(params, ui_clock().timestamp())
        assert live.code == first
        text = screen_text(app)
        assert format_code(first) in text and f"changes in {left} s" in text
        assert "pauses in 120 s" in text
        ui_clock.advance(seconds=10)
        await app.tick()
        await pilot.pause()
        assert live.code == first and f"changes in {left - 10} s" in screen_text(app)
        assert log_actions(demo_dir, before) == ["vault.unlock", "totp.code"]
        # Past the period boundary: the next code, fetched (and logged) once.
        ui_clock.advance(seconds=20)
        await app.tick()
        await app.tick()
        await until(pilot, lambda: live.code is not None)
        await settle(app, pilot)
        second, _ = otp.current_code(params, ui_clock().timestamp())
        assert live.code == second and format_code(second) in screen_text(app)
        assert log_actions(demo_dir, before) == ["vault.unlock", "totp.code", "totp.code"]
        # y copies a fresh code through the clipboard (its own entry).
        await pilot.press("y")
        await settle(app, pilot)
        assert app.clipboard == second
        # After code_seconds the codes stop: no code on screen, no more entries.
        ui_clock.advance(seconds=95)
        await app.tick()
        await pilot.pause()
        assert live.code is None and PAUSED_TEXT in screen_text(app)
        assert format_code(second) not in screen_text(app)
        ui_clock.advance(seconds=60)
        await app.tick()
        await settle(app, pilot)
    new = new_entries(demo_dir, before)
    assert [e["action"] for e in new] == ["vault.unlock", "totp.code", "totp.code", "totp.code"]
    assert [e["detail"].get("via") for e in new[1:]] == [None, None, "clipboard"]
    assert {e["acct"] for e in new[1:]} == {TOTP}


async def test_hotp_shows_one_code_per_press_and_steam_shows_letters(demo_dir, make_app, ui_clock):
    hotp_key, steam_key = "other:press-wire-portal", "other:northwind-steam"
    hotp, steam = stored_totp(demo_dir, hotp_key), stored_totp(demo_dir, steam_key)
    assert (hotp.kind, steam.kind) == ("hotp", "steam")
    before = head(demo_dir)
    app = make_app(demo_dir, code_seconds=60)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        pane = await show(app, pilot, view, hotp_key)
        live = pane.live_code
        codes = []
        for _ in range(2):
            previous = live.code
            await pilot.press("t")
            # The action awaits the vault thread; on a busy machine that outlasts one pause.
            await until(pilot, lambda: live.code is not None and live.code != previous)
            await settle(app, pilot)
            codes.append(live.code)
            text = screen_text(app)
            assert format_code(live.code) in text and "changes in" not in text, text
        assert codes == [otp.hotp(hotp.secret, hotp.counter + i, hotp.digits, hotp.algorithm) for i in range(2)]
        ui_clock.advance(seconds=45)
        await app.tick()
        assert live.code == codes[1]  # no period: it stays until code_seconds
        ui_clock.advance(seconds=20)
        await app.tick()
        await pilot.pause()
        assert live.code is None and format_code(codes[1]) not in screen_text(app)

        pane = await show(app, pilot, view, steam_key)
        await pilot.press("t")
        await settle(app, pilot)
        expected, left = otp.current_code(steam, ui_clock().timestamp())
        assert pane.live_code.code == expected and not expected.isdigit()
        text = screen_text(app)
        assert expected in text and f"changes in {left} s" in text, text
    new = new_entries(demo_dir, before)
    assert [(e["action"], e["acct"]) for e in new[1:]] == [
        ("totp.code", hotp_key), ("totp.code", hotp_key), ("totp.code", steam_key)]


async def test_codes_stop_when_the_view_is_left(demo_dir, make_app, ui_clock):
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        pane = await show(app, pilot, view, TOTP)
        await pilot.press("t")
        await settle(app, pilot)
        assert pane.live_code.code is not None
        await pilot.press("1")  # the dashboard: nobody sees the code any more
        await pilot.pause()
        ui_clock.advance(seconds=90)
        await app.tick()
        await settle(app, pilot)
        assert pane.live_code.code is None and not pane.live_code.waiting
    assert log_actions(demo_dir, before) == ["vault.unlock", "totp.code"]


async def test_use_a_recovery_code_shows_it_and_counts_it(demo_dir, make_app, ui_clock):
    before = head(demo_dir)
    app = make_app(demo_dir, reveal_seconds=20)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        pane = await show(app, pilot, view, TOTP)
        creds = view.data.detail.credentials
        unused, total = creds.recovery_codes_unused, creds.recovery_codes_total
        assert f"{unused} of {total} unused" in screen_text(app)
        await pilot.press("u")
        await settle(app, pilot)
        code = pane.recovery.value
        assert code and code in screen_text(app)
        assert f"{unused - 1} of {total} unused" in screen_text(app)
        ui_clock.advance(seconds=21)
        await app.tick()
        await pilot.pause()
        assert pane.recovery.value is None and code not in screen_text(app)
    assert log_actions(demo_dir, before) == ["vault.unlock", "secret.recovery-code.use"]


async def test_qr_modal_is_logged_and_drawn_in_blocks(demo_dir, make_app):
    from smvault.ui.dialogs.qr import QrDialog

    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        await show(app, pilot, view, TOTP)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, QrDialog))
        await pilot.pause()
        text = screen_text(app)
        assert sum(text.count(block) for block in "█▀▄") > 100
        assert "logged" in text and "otpauth" not in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
    assert log_actions(demo_dir, before) == ["vault.unlock", "totp.qr"]


# -- grants ------------------------------------------------------------------------------------


async def test_add_and_revoke_a_grant_through_the_dialogs(demo_dir, make_app):
    from smvault.ui.dialogs.grant_add import AddGrantDialog
    from smvault.ui.dialogs.grant_revoke import RevokeGrantDialog

    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        pane = await show(app, pilot, view, TOTP)
        assert "kenji.sato@northwind.example" not in screen_text(app)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, AddGrantDialog))
        dialog = app.screen
        assert dialog.account_key == TOTP
        await until(pilot, lambda: dialog.query_one("#grant-person").loaded)
        await pilot.press(*"kenji.sato")
        await pilot.click("#level-code-only")
        await pilot.click("#grant-reason")
        await pilot.press(*"cover")
        await pilot.click("#grant-ok")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await settle(app, pilot)
        text = screen_text(app)
        assert "kenji.sato@northwind.example" in text and "Kenji Sato  code-only  in force" in text
        assert any(g.level.value == "code-only" and pane.view_data.people[g.person_id].name == "Kenji Sato"
                   for g in pane.view_data.detail.grants)
        assert log_actions(demo_dir, before) == ["vault.unlock", "grant.add"]

        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, RevokeGrantDialog))
        dialog = app.screen
        index = next(i for i, (email, _, level) in enumerate(dialog.grants)
                     if email == "kenji.sato@northwind.example" and level == "code-only")
        dialog.query_one("#revoke-list").highlighted = index
        await pilot.pause()
        await pilot.click("#revoke-ok")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await settle(app, pilot)
        assert "Kenji Sato  code-only" not in screen_text(app)
        assert all(pane.view_data.people[g.person_id].name != "Kenji Sato" for g in pane.view_data.detail.grants)
        assert "grant.revoke" in screen_text(app)  # the pane's recent activity
    new = new_entries(demo_dir, before)
    assert [e["action"] for e in new] == ["vault.unlock", "grant.add", "grant.revoke"]
    assert new[1]["detail"]["level"] == "code-only" and new[1]["detail"]["reason"] == "cover"
    assert new[2]["detail"]["levels"] == ["code-only"] and new[2]["acct"] == TOTP


async def test_cancelled_grant_dialog_writes_nothing(demo_dir, make_app):
    from smvault.ui.dialogs.grant_add import AddGrantDialog

    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        await show(app, pilot, view, TOTP)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, AddGrantDialog))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await settle(app, pilot)
    assert log_actions(demo_dir, before) == ["vault.unlock"]


# -- a code-only operator ------------------------------------------------------------------


@pytest.fixture
def code_only_dir(demo_dir, ui_clock):
    """The second operator (who manages x:northwind) leaves the demo operator only a
    code-only grant there."""
    with unlock_vault(demo_dir, SECOND_OPERATOR, DEMO_PASSPHRASE.encode(), clock=ui_clock) as s:
        grants.revoke_grants(s, DEMO_OPERATOR_EMAIL, CODE_ONLY)
        grants.add_grant(s, DEMO_OPERATOR_EMAIL, CODE_ONLY, "code-only", reason="test")
    return demo_dir


async def test_code_only_grant_allows_codes_and_disables_the_rest(code_only_dir, make_app, ui_clock):
    params = stored_totp(code_only_dir, CODE_ONLY)
    password = stored_password(code_only_dir, CODE_ONLY)
    before = head(code_only_dir)
    app = make_app(code_only_dir)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        pane = await show(app, pilot, view, CODE_ONLY)
        data = view.data
        assert data.detail.credentials.has_password and data.detail.credentials.recovery_codes_unused
        for action in ("reveal", "copy_password", "qr", "use_recovery_code", "add_grant", "revoke_grant"):
            assert not view.check_action(action, ()), action
        for action in ("code", "copy_code", "hide", "sort"):
            assert view.check_action(action, ()), action
        assert "codes only, never the seed" in screen_text(app)
        assert "Your access: code-only" in screen_text(app)
        await pilot.press("r", "c", "e", "u", "g", "x")  # disabled: nothing happens
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen) and pane.password.value is None
        await pilot.press("t")
        await settle(app, pilot)
        assert pane.live_code.code == otp.current_code(params, ui_clock().timestamp())[0]
        assert password not in screen_text(app)
        # The footer greys out (does not hide) what this grant does not allow.
        footer = {b.binding.action: b.enabled for b in app.screen.active_bindings.values()}
        assert footer["reveal"] is False and footer["qr"] is False and footer["code"] is True
    assert log_actions(code_only_dir, before) == ["vault.unlock", "totp.code"]


async def test_nothing_stored_means_nothing_to_disclose(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        await show(app, pilot, view, "facebook:northwindoutfitters")  # no password, no seed, no codes
        for action in ("reveal", "copy_password", "code", "copy_code", "qr", "use_recovery_code"):
            assert not view.check_action(action, ()), action
        text = screen_text(app)
        assert "no password in the vault" in text and "no TOTP seed in the vault" in text


# -- user text is literal --------------------------------------------------------------------


HOSTILE_HANDLE = "[@click=app.quit]x[/]"
HOSTILE_NAME = "pass[/]word"
HOSTILE_NOTES = "[link=https://e.x]x[/link] [b]not bold[/b]"
OSC52 = "\x1b]52;c;ZXZpbA==\x07"


@pytest.fixture
def hostile_dir(demo_dir, ui_clock):
    with unlock_vault(demo_dir, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), clock=ui_clock) as s:
        people.add_person(s, HOSTILE_NAME, "markup@northwind.example", team="[red]team[/red]")
        accounts.add_account(s, "other", HOSTILE_HANDLE, brand="[b]brand[/b]", notes=HOSTILE_NOTES,
                             owner="markup@northwind.example", login_id="[i]login[/i]",
                             recovery_email="markup@northwind.example",
                             recovery_email_controller="markup@northwind.example")
        grants.add_grant(s, "markup@northwind.example", f"other:{HOSTILE_HANDLE}", "reveal",
                         reason="[@click=app.quit]r[/]")
        # The vault refuses terminal control sequences in stored text.
        with pytest.raises(InvalidInputError):
            accounts.update_account(s, f"other:{HOSTILE_HANDLE}", notes=f"x{OSC52}y")
        with pytest.raises(InvalidInputError):
            secrets.set_password(s, f"other:{HOSTILE_HANDLE}", f"x{OSC52}y")
    return demo_dir


async def test_user_text_is_shown_literally(hostile_dir, make_app, ui_clock):
    key = f"other:{HOSTILE_HANDLE}"
    app = make_app(hostile_dir)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_accounts(app, pilot)
        pane = await show(app, pilot, view, key)
        text = screen_text(app)
        for literal_text in (key, HOSTILE_NAME, "[link=https://e.x]x[/link]", "[b]not", "bold[/b]",
                             "[b]brand[/b]", "[i]login[/i]"):
            assert literal_text in text, literal_text
        await pilot.click("#detail-title")  # a parsed @click would quit here
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, MainScreen)
        # A value that somehow carried an escape sequence reaches the screen without it.
        now = ui_clock()
        pane.password.reveal(f"x{OSC52}y", now + timedelta(seconds=20), now)
        await pilot.pause()
        text = screen_text(app)
        assert "x]52;c;ZXZpbA==y" in text and "\x1b" not in text and "\x07" not in text
        # The filter takes markup literally too.
        await pilot.press("slash", *"[@click")
        assert view.table.visible_row_keys == [key]
        assert app.is_running
