"""The grant, revoke, leaving-date and QR dialogs, each in a tiny harness app.

The harness stands in for SmvaultApp where the dialogs touch it: `clock()` and
`await service(fn)` (answered from canned rows, keyed by the service function).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import qrcode
from qrcode.constants import ERROR_CORRECT_L
from textual.app import App
from textual.widgets import Input, OptionList, RadioSet, Static

import smvault.ui
from smvault.domain.clock import end_of_day
from smvault.services.accounts import AccountRow, account_rows
from smvault.services.people import PersonRow, people_rows
from smvault.ui.dialogs.grant_add import MAX_SHOWN, AddGrantDialog, GrantRequest
from smvault.ui.dialogs.grant_revoke import RevokeGrantDialog
from smvault.ui.dialogs.mark_leaving import MarkLeavingDialog
from smvault.ui.dialogs.qr import WARNING, QrDialog
from smvault.ui.qr_text import qr_lines

from .conftest import until

NOW = datetime(2026, 11, 2, 9, 30, 0, tzinfo=timezone.utc)
SECRET = "IFWCTFIJZXIMHGKV"
URI_V5 = f"otpauth://totp/youtube:nwtrailus?secret={SECRET}&issuer=youtube&algorithm=SHA1&digits=6&period=30"
SHOUTY = "[@click=app.quit]x[/]"


def person(i: int, name: str, email: str, team: str = "Social", status: str = "active") -> PersonRow:
    return PersonRow(id=i, name=name, email=email, team=team, type="employee", status=status,
                     leave_on=None, grants_in_force=1)


PEOPLE = [
    person(1, "Ann Archer", "ann@acme.example"),
    person(2, "Jane Doe", "jane@acme.example", team="Agency", status="leaving"),
    person(3, "Jonas Gone", "jonas@acme.example", status="left"),
    person(4, SHOUTY, "shouty@acme.example", team="pass[/]word"),
]
ACCOUNTS = [
    AccountRow(id=i, key=f"x:brand{i:04d}", platform="x", handle=f"brand{i:04d}", brand="Acme",
               region="EMEA", tier=2, owner="Ann Archer", mfa="totp", controllers=1, status="active")
    for i in range(5000)
] + [AccountRow(id=5000, key="instagram:acme", platform="instagram", handle="acme", brand="Acme Special",
                region="AMER", tier=1, owner="Jane Doe", mfa="totp", controllers=2, status="active")]


class Harness(App[None]):
    CSS_PATH = Path(smvault.ui.__file__).parent / "smvault.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    def __init__(self, dialog, data: dict | None = None) -> None:
        super().__init__()
        self.dialog = dialog
        self.data = data or {people_rows: PEOPLE, account_rows: ACCOUNTS}
        self.results: list = []
        self.calls: list[str] = []

    def clock(self) -> datetime:
        return NOW

    async def service(self, fn, *args, **kwargs):
        self.calls.append(fn.__name__)
        return self.data[fn]

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self.results.append)


def screen_text(app: App) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def error_text(app: App, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def type_into(pilot, selector: str, text: str) -> None:
    pilot.app.screen.query_one(selector, Input).value = ""
    await pilot.click(selector)
    await pilot.press(*text)


# -- AddGrantDialog -------------------------------------------------------------------------


async def test_add_grant_for_a_person_lists_200_accounts_then_filters_as_you_type():
    app = Harness(AddGrantDialog(person_email="jane@acme.example"))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, AddGrantDialog)
        assert app.calls == ["account_rows"]  # the person is given: no people list to load
        options = dialog.query_one("#grant-account-list", OptionList)
        assert options.option_count == MAX_SHOWN
        assert "first 200 of 5,001 matches" in error_text(app, "#grant-account-label")
        assert dialog.query_one("#grant-account-filter", Input).has_focus
        await pilot.press(*"special")  # matches the brand, not the key
        assert options.option_count == 1 and options.highlighted == 0
        assert "1 of 5,001 accounts" in error_text(app, "#grant-account-label")
        await pilot.click("#level-reveal")
        await type_into(pilot, "#grant-expires", "2026-12-31")
        await type_into(pilot, "#grant-reason", "Holiday cover")
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [GrantRequest(
        email="jane@acme.example", account_key="instagram:acme", level="reveal",
        expires_at=end_of_day(date(2026, 12, 31)), reason="Holiday cover",
    )]
    assert app.results[0].expires_at == datetime(2027, 1, 1, tzinfo=timezone.utc)


async def test_add_grant_for_an_account_offers_only_people_who_have_not_left():
    app = Harness(AddGrantDialog(account_key="instagram:acme"))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        options = app.screen.query_one("#grant-person-list", OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids == ["ann@acme.example", "jane@acme.example", "shouty@acme.example"]
        # Names are shown literally: the markup-looking one is text, not a link.
        assert SHOUTY in str(options.get_option_at_index(2).prompt)
        await pilot.press("down")  # from the filter box, moves the list's highlight
        assert options.highlighted == 1
        await pilot.click("#level-code-only")
        await pilot.click("#grant-ok")
        await pilot.pause()
    assert app.results == [GrantRequest("jane@acme.example", "instagram:acme", "code-only", None, None)]


async def test_add_grant_shows_errors_inline_naming_the_field_and_stays_open():
    app = Harness(AddGrantDialog(person_email="jane@acme.example"))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        dialog = app.screen
        await pilot.press(*"nosuchaccount")
        await pilot.press("enter")
        assert error_text(app, "#grant-error").startswith("Account: pick one from the list")
        assert "nothing matches" in error_text(app, "#grant-error")
        await type_into(pilot, "#grant-account-filter", "instagram")
        await pilot.press("enter")
        assert error_text(app, "#grant-error").startswith("Level: choose one")
        assert dialog.query_one("#grant-level", RadioSet).has_focus
        await pilot.click("#level-manage")
        for text, expected in (("31/12/2026", "Expires: write the day as YYYY-MM-DD"),
                               ("20261231", "Expires: write the day as YYYY-MM-DD"),
                               ("2026-02-30", "Expires: write the day as YYYY-MM-DD"),
                               ("2026-11-01", "Expires: 2026-11-01 has passed")):
            await type_into(pilot, "#grant-expires", text)
            await pilot.press("enter")
            assert error_text(app, "#grant-error").startswith(expected), text
            assert app.screen is dialog and app.results == []
        # Today is still good: the grant runs to the end of the day.
        await type_into(pilot, "#grant-expires", "2026-11-02")
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [GrantRequest("jane@acme.example", "instagram:acme", "manage",
                                        datetime(2026, 11, 3, tzinfo=timezone.utc), None)]


async def test_add_grant_fits_80x24_with_an_error_showing():
    app = Harness(AddGrantDialog(person_email="jane@acme.example"))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("enter")
        await pilot.pause()
        dialog = app.screen.query_one("#dialog")
        assert dialog.region.height <= 24
        for selector in ("#grant-ok", "#grant-error", "#level-platform-admin", "#grant-reason"):
            widget = app.screen.query_one(selector)
            assert dialog.region.contains_region(widget.region), selector


# -- RevokeGrantDialog ----------------------------------------------------------------------


async def test_revoke_confirms_with_a_sentence_and_returns_email_and_level():
    grants = [("ann@acme.example", "Ann Archer", "reveal"), ("jane@acme.example", "Jane Doe", "code-only")]
    app = Harness(RevokeGrantDialog(account_key="x:acme", grants=grants))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        sentence = lambda: error_text(app, "#revoke-sentence")  # noqa: E731
        assert sentence() == "Revoke reveal on x:acme from Ann Archer <ann@acme.example>?"
        await pilot.press("down")
        assert sentence() == "Revoke code-only on x:acme from Jane Doe <jane@acme.example>?"
        await pilot.press("enter")  # picks it: the Revoke button takes the focus
        assert app.screen.query_one("#revoke-ok").has_focus and app.results == []
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [("jane@acme.example", "code-only")]


async def test_revoke_shows_names_literally_and_cannot_revoke_nothing():
    app = Harness(RevokeGrantDialog(account_key="x:acme", grants=[("s@acme.example", SHOUTY, "manage")]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert error_text(app, "#revoke-sentence") == f"Revoke manage on x:acme from {SHOUTY} <s@acme.example>?"
    app = Harness(RevokeGrantDialog(account_key="x:acme", grants=[]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#revoke-ok").disabled
        assert "Nobody holds an open grant on x:acme." in screen_text(app)
        await pilot.press("enter")  # Cancel has the focus
        await pilot.pause()
    assert app.results == [None]


# -- MarkLeavingDialog ----------------------------------------------------------------------


async def test_mark_leaving_validates_the_date_and_explains_it():
    dialog = MarkLeavingDialog(person_name="Jane Doe", email="jane@acme.example", current=date(2026, 12, 1))
    app = Harness(dialog)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#leaving-date", Input).value == "2026-12-01"
        assert "grants stop counting" in screen_text(app)
        assert error_text(app, "#leaving-hint").startswith("In 29 days")
        for text, expected in (("", "Leaving date: enter the day"), ("next week", "Leaving date: write the day"),
                               ("2026-13-01", "Leaving date: write the day")):
            await type_into(pilot, "#leaving-date", text)
            await pilot.press("enter")
            assert error_text(app, "#leaving-error").startswith(expected), text
            assert app.results == []
        await type_into(pilot, "#leaving-date", "2026-10-30")  # after the fact is allowed
        assert "3 days ago: they show as left at once" in error_text(app, "#leaving-hint")
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [date(2026, 10, 30)]


# -- every dialog: escape cancels -----------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: AddGrantDialog(person_email="jane@acme.example"),
    lambda: AddGrantDialog(account_key="instagram:acme"),
    lambda: RevokeGrantDialog(account_key="x:acme", grants=[("ann@acme.example", "Ann", "reveal")]),
    lambda: MarkLeavingDialog(person_name="Jane", email="jane@acme.example", current=None),
    lambda: QrDialog("youtube:nwtrailus", URI_V5),
], ids=["grant-person", "grant-account", "revoke", "leaving", "qr"])
async def test_escape_cancels(make):
    app = Harness(make())
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("escape")
        await until(pilot, lambda: app.results)
    assert app.results == [None]


# -- QR -------------------------------------------------------------------------------------


def lines_to_matrix(lines: list[str]) -> list[list[bool]]:
    """The inverse of the half-block rendering: two rows of modules per line."""
    matrix = []
    for line in lines:
        assert set(line) <= {"█", "▀", "▄", " "}
        matrix.append([ch in "█▀" for ch in line])
        matrix.append([ch in "█▄" for ch in line])
    return matrix


@pytest.mark.parametrize("data", [
    URI_V5,
    "otpauth://totp/Northwind%20Outfitters:instagram%3Anorthwind?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    "&issuer=Northwind%20Outfitters&algorithm=SHA1&digits=6&period=30",
    "x",  # version 1: 21 modules + quiet zone = 25, an odd count
])
def test_qr_lines_round_trip_to_the_qrcode_matrix(data):
    code = qrcode.QRCode(border=2, error_correction=ERROR_CORRECT_L)
    code.add_data(data)
    code.make(fit=True)
    expected = [list(row) for row in code.get_matrix()]
    lines = qr_lines(data)
    assert len(lines) == (len(expected) + 1) // 2
    assert {len(line) for line in lines} == {len(expected)}
    rebuilt = lines_to_matrix(lines)
    if len(expected) % 2:
        assert not any(rebuilt[-1])  # the padding half-row is light
        rebuilt = rebuilt[:-1]
    assert rebuilt == expected
    # The quiet zone is light all round.
    assert not any(rebuilt[0]) and not any(rebuilt[1]) and not any(row[0] or row[-1] for row in rebuilt)


async def test_qr_dialog_fits_80x24_without_the_secret_in_text():
    app = Harness(QrDialog("youtube:nwtrailus", URI_V5))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        dialog = app.screen
        assert dialog.mode == "side"
        code = dialog.query_one("#qr-code", Static)
        lines = qr_lines(URI_V5)
        assert (code.region.width, code.region.height) == (len(lines[0]), len(lines))
        assert app.screen.region.contains_region(code.region)
        text = screen_text(app)
        for line in lines:
            assert line in text  # the whole code is on screen, uncut
        warning = dialog.query_one("#qr-warning", Static)
        assert str(warning.render()) == WARNING and app.screen.region.contains_region(warning.region)
        assert "Anyone who sees this code" in text and "logged." in text
        assert "Issuer: youtube" in text and "Account: nwtrailus" in text and "escape closes" in text
        assert SECRET not in text and SECRET.lower() not in text.lower()
        # Dark modules on an explicitly light background, whatever the theme.
        assert str(dialog.code_text().style) == "#000000 on #ffffff"
        assert str(code.render()).strip("\n") == "\n".join(lines)


async def test_qr_dialog_too_small_says_how_large_then_shows_the_code_when_enlarged():
    app = Harness(QrDialog("youtube:nwtrailus", URI_V5))
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        dialog = app.screen
        need_w, need_h = dialog.side_size()
        assert dialog.mode == "too-small"
        text = screen_text(app)
        assert f"enlarge the terminal to at least {need_w}x{need_h}" in text
        assert "█" not in text  # no cut-off code
        assert not dialog.query_one("#qr-body").display
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert dialog.mode == "side"
        assert all(line in screen_text(app) for line in qr_lines(URI_V5))


async def test_qr_dialog_for_a_version_7_code_needs_more_than_80x24():
    uri = URI_V5 + "&image=" + "x" * 36  # 148 characters: version 7, 49 modules with the border
    assert len(qr_lines(uri)) == 25
    app = Harness(QrDialog("youtube:nwtrailus", uri))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.mode == "too-small"
        assert "enlarge the terminal to at least 81x25" in screen_text(app)
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert app.screen.mode == "side"
