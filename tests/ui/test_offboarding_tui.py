"""Walking an offboarding in the real app on the demo vault: People (o) shows the plan, then
the Workflows tab revokes grants (R), resolves a step with a note (n), is refused by the guard
and closes with a successor and an override reason (c).

Each flow checks the screen and the vault: the log gains exactly the expected entries.
"""

from __future__ import annotations

from textual.widgets import Button, Input, Static

from smvault.services import grants, offboarding
from smvault.services.demo import (
    DEMO_OPERATOR,
    DEMO_PASSPHRASE,
    HEAD_OF_SOCIAL_EMAIL,
    LEAVER_EMAIL,
    SECOND_OPERATOR_EMAIL,
)
from smvault.services.session import unlock as unlock_vault
from smvault.ui.dialogs.close_offboarding import CloseOffboardingDialog
from smvault.ui.dialogs.confirm import ConfirmDialog
from smvault.ui.dialogs.qr import QrDialog
from smvault.ui.dialogs.start_offboarding import StartOffboardingDialog
from smvault.ui.dialogs.step_note import StepNoteDialog
from smvault.ui.screens.main import MainScreen
from smvault.ui.views.people import PeopleView
from smvault.ui.views.workflows import WorkflowsView
from smvault.ui.widgets.virtual_table import VirtualTable

from .conftest import DEMO_NOW, head, log_actions, new_entries, screen_text, unlock, until

NOTE = "[b]x[/b] admin role removed on the platform, ticket HR-1234"
OVERRIDE = "Platform steps tracked in HR-1234; closing for payroll"


def session(directory):
    return unlock_vault(directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), clock=lambda: DEMO_NOW, check=False)


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def open_offboard_dialog(app, pilot, email: str = LEAVER_EMAIL) -> StartOffboardingDialog:
    await unlock(app, pilot)
    await pilot.press("3")
    people = app.screen.query_one(PeopleView)
    await until(pilot, lambda: people.table.row_count > 0)
    assert people.table.move_cursor_to_key(email)
    await until(pilot, lambda: people.check_action("offboard", ()) is True)
    await pilot.press("o")
    await until(pilot, lambda: isinstance(app.screen, StartOffboardingDialog))
    dialog = app.screen
    await until(pilot, lambda: dialog.plan is not None)
    await pilot.pause()
    return dialog


async def start_from_people(app, pilot) -> WorkflowsView:
    dialog = await open_offboard_dialog(app, pilot)
    await pilot.click("#offboard-ok")
    await until(pilot, lambda: isinstance(app.screen, MainScreen))
    view = app.screen.query_one(WorkflowsView)
    await until(pilot, lambda: app.screen.active_view is view and view.current is not None)
    assert dialog is not app.screen
    return view


def step(view: WorkflowsView, position: int):
    return next(s for s in view.current.steps if s.position == position)


async def test_walk_an_offboarding_from_plan_to_close(demo_dir, make_app):
    with session(demo_dir) as s:
        plan = offboarding.plan_offboarding(s, LEAVER_EMAIL)
        held = len(grants.list_grants(s, email=LEAVER_EMAIL))
    manual = next(p for p in plan.steps if p.manual)
    assert held > 0 and any(p.learned == "did" for p in plan.steps)
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        # People -> o: the plan (a dry run) before anything is written.
        dialog = await open_offboard_dialog(app, pilot)
        table = dialog.query_one("#offboard-plan", VirtualTable)
        cells = [table.row_cells(k) for k in table.visible_row_keys]
        assert [c[0] for c in cells] == [p.position for p in plan.steps]
        learned = [c[3] for c in cells if c[3]]
        assert learned and learned == sorted(learned, key=lambda x: x != "did learn")  # did-learn first
        assert "did learn" in learned and "could learn" in learned
        assert text_of(app, "#offboard-summary").startswith(f"Plan (dry run, nothing written yet): {len(plan.steps)} steps")
        assert "youtube:northwindtrail" in text_of(app, "#offboard-guard")
        box = app.screen.query_one("#dialog")
        assert box.region.contains_region(app.screen.query_one("#offboard-ok", Button).region)  # fits 80x24
        assert log_actions(demo_dir, before) == ["vault.unlock"]  # the plan wrote nothing
        await pilot.click("#offboard-ok")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        view = app.screen.query_one(WorkflowsView)
        await until(pilot, lambda: app.screen.active_view is view and view.current is not None)

        # The Workflows tab shows it: the list, its facts, its steps.
        shown = view.current
        assert shown.kind == "offboarding" and shown.state == "open"
        assert view.table.row_cells(shown.row.id)[:3] == ("offboarding", "Marcus Hale", "open")
        assert text_of(app, "#wf-facts").startswith("Offboarding Marcus Hale <marcus.hale@northwind.example>")
        assert text_of(app, "#wf-guard").startswith("Guard:")
        assert view.steps_table.row_count == len(plan.steps)
        assert view.check_action("revoke_grants", ()) is True
        assert view.check_action("approve", ()) is None  # transfers only

        # R: revoke every grant, after a confirmation.
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Marcus Hale" in text_of(app, "#confirm-body")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and step(view, 1).done)
        await until(pilot, lambda: view.check_action("revoke_grants", ()) is None)

        # n: a manual (platform-side) step resolved with a note, shown literally.
        view.steps_table.focus()
        assert view.steps_table.move_cursor_to_key(manual.position)
        await until(pilot, lambda: view.check_action("note", ()) is True)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, StepNoteDialog))
        await pilot.press("enter")  # an empty note is refused inline
        assert "write what was done" in text_of(app, "#note-error")
        app.screen.query_one("#note-text", Input).value = NOTE
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and step(view, manual.position).done)
        await until(pilot, lambda: view.current_step is not None and view.current_step.position == manual.position)
        assert step(view, manual.position).evidence == NOTE
        assert NOTE in text_of(app, "#wf-step")  # "[b]x[/b]" as typed, not bold
        assert view.check_action("note", ()) is None  # done: no second note

        # c: the guard refuses (youtube:northwindtrail would be left uncontrolled) ...
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CloseOffboardingDialog))
        close = app.screen
        assert "youtube:northwindtrail" in text_of(app, "#close-guard")
        await pilot.click("#close-ok")
        await until(pilot, lambda: text_of(app, "#close-error").startswith("Refused: cannot close"))
        assert "youtube:northwindtrail" in text_of(app, "#close-error")
        assert app.screen is close
        assert close.query_one("#dialog").region.contains_region(close.query_one("#close-ok").region)
        # ... a successor lifts the guard, but open steps still need an override reason ...
        successor = close.query_one("#close-successor", Input)
        successor.value = SECOND_OPERATOR_EMAIL
        successor.focus()
        await pilot.press("enter")
        await until(pilot, lambda: "step(s) still open" in text_of(app, "#close-error"))
        assert app.screen is close
        # ... and with both it closes.
        override = close.query_one("#close-override", Input)
        override.value = OVERRIDE
        override.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await until(pilot, lambda: view.current is not None and view.current.state == "closed")
        assert view.table.row_cells(view.current.row.id)[2] == "closed"
        facts = text_of(app, "#wf-facts")
        assert f"successor {SECOND_OPERATOR_EMAIL}" in facts and "override:" in facts
        for action in ("note", "revoke_grants", "close"):
            assert view.check_action(action, ()) is None

    entries = new_entries(demo_dir, before)
    assert [e["action"] for e in entries] == [
        "vault.unlock", "offboard.start", "offboard.revoke-grants", "offboard.step", "offboard.close"]
    assert len(entries[2]["detail"]["grants"]) == held
    assert entries[3]["detail"]["note"] == NOTE and entries[3]["detail"]["position"] == manual.position
    assert entries[4]["detail"]["successor"] == SECOND_OPERATOR_EMAIL
    assert entries[4]["detail"]["override"] == OVERRIDE
    with session(demo_dir) as s:
        status = offboarding.offboarding_status(s, LEAVER_EMAIL)
        assert status.state == "closed" and status.successor_email == SECOND_OPERATOR_EMAIL
        assert grants.list_grants(s, email=LEAVER_EMAIL) == []


async def test_cancelling_the_plan_writes_nothing(demo_dir, make_app):
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_offboard_dialog(app, pilot)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.screen.active_view.id == "people"
    assert log_actions(demo_dir, before) == ["vault.unlock"]


async def test_a_bad_leaving_date_is_refused_inline(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_offboard_dialog(app, pilot)
        dialog.query_one("#offboard-date", Input).value = "05/11/2026"
        await pilot.click("#offboard-ok")
        assert text_of(app, "#offboard-error").startswith("Leaves on: write the day as YYYY-MM-DD")
        assert app.screen is dialog


async def test_someone_with_no_leaving_date_needs_one_before_starting(demo_dir, make_app):
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_offboard_dialog(app, pilot, email=HEAD_OF_SOCIAL_EMAIL)
        assert dialog.query_one("#offboard-date", Input).value == ""
        await pilot.click("#offboard-ok")
        await pilot.pause()
        assert app.screen is dialog
        assert text_of(app, "#offboard-error").startswith("Leaves on: this person has no leaving date yet")
    assert log_actions(demo_dir, before) == ["vault.unlock"]


async def test_qr_for_a_reenrol_step_is_shown_and_logged(demo_dir, make_app):
    with session(demo_dir) as s:
        plan = offboarding.plan_offboarding(s, LEAVER_EMAIL)
    reenrol = next(p for p in plan.steps if p.kind == "reenrol-totp" and not p.done)
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await start_from_people(app, pilot)
        assert view.steps_table.move_cursor_to_key(reenrol.position)
        await until(pilot, lambda: view.current_step is not None and view.current_step.kind == "reenrol-totp")
        assert view.check_action("qr", ()) is True
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QrDialog))
        assert reenrol.account_key in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
    entries = new_entries(demo_dir, before)
    assert [e["action"] for e in entries] == ["vault.unlock", "offboard.start", "totp.qr"]
    assert entries[2]["acct"] == reenrol.account_key
