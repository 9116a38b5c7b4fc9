"""The People view in the real app on the demo vault: filter, detail, grant, leaving date.

Each flow checks the screen and the vault: the access log gains exactly the expected entries.
"""

from __future__ import annotations

from datetime import date

from textual.widgets import Input, Static

from smvault.services import accounts, grants, people
from smvault.services.demo import DEMO_OPERATOR, DEMO_OPERATOR_EMAIL, DEMO_PASSPHRASE, TOUR
from smvault.services.session import unlock as unlock_vault
from smvault.ui.dialogs.grant_add import AddGrantDialog, Chooser
from smvault.ui.dialogs.mark_leaving import MarkLeavingDialog
from smvault.ui.screens.main import MainScreen
from smvault.ui.views.people import PeopleView
from smvault.ui.widgets.virtual_table import VirtualTable

from .conftest import DEMO_NOW, head, new_entries, screen_text, unlock, until

SHOUTY = "[@click=app.quit]x[/]"
SHOUTY_TEAM = "pass[/]word"
SHOUTY_EMAIL = "shouty@northwind.example"


def session(directory):
    return unlock_vault(directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), clock=lambda: DEMO_NOW, check=False)


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def open_people(app, pilot) -> PeopleView:
    await unlock(app, pilot)
    await pilot.press("3")
    view = app.screen.query_one(PeopleView)
    await until(pilot, lambda: view.table.row_count > 0)
    return view


async def pick(pilot, view: PeopleView, text: str, email: str) -> None:
    """Filter the table by typing, go back to it, and wait for the person's detail."""
    await pilot.press("slash")
    assert view.query_one("#people-filter", Input).has_focus
    await pilot.press(*text)
    await pilot.press("escape")
    assert view.table.has_focus
    view.table.move_cursor_to_key(email)
    await until(pilot, lambda: view.shown is not None and view.shown.detail.person.email == email)


def grant_rows(view: PeopleView) -> list[tuple]:
    table = view.query_one("#person-grants", VirtualTable)
    return [table.row_cells(key) for key in table.visible_row_keys]


async def test_filter_as_you_type_and_escape_back_to_the_table(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_people(app, pilot)
        table = view.table
        total = table.row_count
        await pilot.press("slash")
        await pilot.press(*"kestrel")
        assert 0 < table.row_count < total
        assert all("kestrel" in " ".join(map(str, table.row_cells(k))).lower() for k in table.visible_row_keys)
        await pilot.press("escape")
        assert table.has_focus
        await pilot.press("slash")
        view.query_one("#people-filter", Input).value = ""
        await pilot.pause()
        assert table.row_count == total


async def test_the_leaver_shows_what_they_learned_newest_first(demo_dir, make_app):
    leaver = TOUR["leaver"]
    with session(demo_dir) as s:
        expected = people.person_detail(s, leaver)
    assert expected.learned, "the demo's leaver revealed secrets"
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_people(app, pilot)
        await pick(pilot, view, "marcus", leaver)
        learned = view.query_one("#person-learned", VirtualTable)
        cells = [learned.row_cells(k) for k in learned.visible_row_keys]
        assert len(cells) == len(expected.learned)
        assert [c[1] for c in cells] == [e["acct"] for e in expected.learned]  # newest first
        assert [c[3] for c in cells] == [e["op"] for e in expected.learned]
        assert cells[0][0] == expected.learned[0]["ts"][:16].replace("T", " ")
        assert any(c[2] == "revealed password" for c in cells)
        assert f"What they learned: {len(cells)} disclosures" in text_of(app, "#person-learned-title")
        status = app.screen.query_one("#person-status", Static)
        assert str(status.render()).startswith("Leaving on 2026-11-05 (in 3 days)")
        assert status.has_class("notice")
        assert "Marcus Hale" in text_of(app, "#person-facts")
        assert view.table.row_cells(leaver)[2] == "leaving"


async def test_add_grant_from_the_people_view(demo_dir, make_app):
    email = "ben.quispe@fieldnotes-studio.example"
    with session(demo_dir) as s:
        managed = {g.account_id for g in grants.list_grants(s, email=DEMO_OPERATOR_EMAIL) if g.level.value == "manage"}
        held = {g.account_id for g in grants.list_grants(s, email=email, include_inactive=True)}
        rows = {r.id: r.key for r in accounts.account_rows(s)}
    keys = list(rows.values())
    candidates = [rows[i] for i in sorted(managed - held)]
    target = next(k for k in candidates if sum(k in other for other in keys) == 1)  # a unique filter
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_people(app, pilot)
        await pick(pilot, view, "quispe", email)
        assert not any(r[0] == target for r in grant_rows(view))
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, AddGrantDialog))
        dialog = app.screen
        chooser = dialog.query_one("#grant-account", Chooser)
        await until(pilot, lambda: chooser.loaded)
        dialog.query_one("#grant-account-filter", Input).value = target
        await pilot.pause()
        assert chooser.selected == target
        await pilot.click("#level-reveal")
        await pilot.click("#grant-reason")
        await pilot.press(*"Holiday cover")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await app.workers.wait_for_complete()
        await until(pilot, lambda: any(r[0] == target for r in grant_rows(view)))
        assert (target, "reveal", "never", "in force") in grant_rows(view)
    entries = new_entries(demo_dir, before)
    assert [e["action"] for e in entries] == ["vault.unlock", "grant.add"]
    added = entries[1]
    assert added["acct"] == target and added["detail"]["email"] == email
    assert added["detail"]["level"] == "reveal" and added["detail"]["reason"] == "Holiday cover"
    assert added["op"] == DEMO_OPERATOR


async def test_mark_someone_leaving(demo_dir, make_app):
    email = "ana.nakamura@northwind.example"
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_people(app, pilot)
        await pick(pilot, view, "nakamura", email)
        assert view.table.row_cells(email)[2] == "active"
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MarkLeavingDialog))
        await pilot.press(*"2026-11-20")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await app.workers.wait_for_complete()
        await until(pilot, lambda: view.table.row_cells(email)[2] == "leaving")
        assert view.table.row_cells(email)[4] == "2026-11-20"
        await until(pilot, lambda: text_of(app, "#person-status").startswith("Leaving on 2026-11-20 (in 18 days)"))
    entries = new_entries(demo_dir, before)
    assert [e["action"] for e in entries] == ["vault.unlock", "person.leave"]
    assert entries[1]["detail"] == {"on": "2026-11-20"}
    with session(demo_dir) as s:
        assert people.person_detail(s, email).person.leave_on == date(2026, 11, 20)


async def test_someone_who_left_cannot_get_a_grant(demo_dir, make_app):
    left = TOUR["left"]
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_people(app, pilot)
        await pick(pilot, view, "weber", left)
        assert view.check_action("add_grant", ()) is None
        assert view.check_action("mark_leaving", ()) is True
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert text_of(app, "#person-status").startswith("Left on 2026-10-12")
        assert all(r[3] == "not in force (left)" for r in grant_rows(view))


async def test_markup_in_names_is_shown_literally_and_does_nothing(demo_dir, make_app):
    with session(demo_dir) as s:
        people.add_person(s, SHOUTY, SHOUTY_EMAIL, team=SHOUTY_TEAM)
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        view = await open_people(app, pilot)
        await pick(pilot, view, "shouty", SHOUTY_EMAIL)
        assert view.table.row_cells(SHOUTY_EMAIL)[0] == SHOUTY
        text = screen_text(app)
        assert SHOUTY in text  # in the table and in the detail, exactly as typed
        facts = text_of(app, "#person-facts")
        assert SHOUTY in facts and SHOUTY_TEAM in facts
        await pilot.press("enter")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, MainScreen)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, AddGrantDialog))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.is_running


async def test_layout_at_80x24_and_160x48(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_people(app, pilot)
        table, detail = view.table, view.query_one("#person-detail")
        assert table.region.height >= 7  # the header and at least six people
        assert detail.region.y >= table.region.bottom  # below
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert detail.region.x >= table.region.right and detail.region.y == table.region.y  # beside
        assert table.region.height >= 40


async def test_enter_on_a_grant_opens_the_account_and_s_sorts(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_people(app, pilot)
        await pilot.press("s")
        assert view.table.sort_column == "name"
        await pilot.press("s")
        assert view.table.sort_column == "email"
        await pick(pilot, view, "marcus", TOUR["leaver"])
        opened: list[str] = []

        async def show_account(key: str) -> None:
            opened.append(key)

        app.screen.view("accounts").show_account = show_account
        first = grant_rows(view)[0][0]
        await pilot.press("enter")  # into the person's grants
        assert view.query_one("#person-grants", VirtualTable).has_focus
        await pilot.press("enter")
        await until(pilot, lambda: opened)
        assert opened == [first]
        assert app.screen.active_view.id == "accounts"


async def test_show_person_opens_the_view_on_them_even_when_filtered_out(demo_dir, make_app):
    from smvault.ui.messages import ShowPerson

    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_people(app, pilot)
        await pilot.press("slash", *"kestrel", "escape")
        assert view.table.row_cells(TOUR["left"]) and TOUR["left"] not in view.table.visible_row_keys
        await pilot.press("1")
        app.screen.post_message(ShowPerson(TOUR["left"]))
        await until(pilot, lambda: app.screen.active_view is view and view.table.cursor_row_key == TOUR["left"])
        await until(pilot, lambda: view.shown is not None and view.shown.detail.person.email == TOUR["left"])
        assert view.table.has_focus and view.query_one("#people-filter", Input).value == ""
