"""The Workflows tab and the dashboard's open-workflows tile, on the demo vault with workflows
started through the services: the list, each kind's detail, review decisions (k / x), literal
text, and the layout at 80x24 and 160x48.
"""

from __future__ import annotations

from datetime import date

from textual.widgets import Input, Static

from smvault.services import grants, offboarding, people, review, transfer
from smvault.services.demo import DEMO_OPERATOR, DEMO_PASSPHRASE, LEAVER_EMAIL, SECOND_OPERATOR_EMAIL
from smvault.services.overview import overview
from smvault.services.session import unlock as unlock_vault
from smvault.ui.dialogs.close_offboarding import CloseOffboardingDialog
from smvault.ui.dialogs.step_note import StepNoteDialog
from smvault.ui.screens.main import MainScreen
from smvault.ui.views.dashboard import CountTiles, DashboardView
from smvault.ui.views.workflows import WorkflowsView

from .conftest import DEMO_NOW, head, new_entries, screen_text, unlock, until

TRANSFER_ACCOUNT = "linkedin:northwind-outfitters"
NEW_OWNER = "camila.reyes@northwind.example"
SHOUTY = "[@click=app.quit]x[/]"
SHOUTY_EMAIL = "shouty@northwind.example"


def session(directory):
    return unlock_vault(directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), clock=lambda: DEMO_NOW, check=False)


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def start_three(directory) -> dict[str, int]:
    """One open workflow of each kind, started through the services (as the CLI would)."""
    with session(directory) as s:
        off = offboarding.start_offboarding(s, LEAVER_EMAIL)
        moved = transfer.start_transfer(s, TRANSFER_ACCOUNT, NEW_OWNER)
        checked = review.start_review(s, platform="linkedin", due=date(2026, 11, 30))
    return {"offboarding": off.workflow_id, "transfer": moved.workflow_id, "review": checked.workflow_id}


async def open_workflows(app, pilot, *, unlocked: bool = False) -> WorkflowsView:
    if not unlocked:
        await unlock(app, pilot)
    await pilot.press("5")
    view = app.screen.query_one(WorkflowsView)
    await until(pilot, lambda: view.table.row_count > 0 and view.current is not None)
    return view


async def select(pilot, view: WorkflowsView, workflow_id: int) -> None:
    assert view.table.move_cursor_to_key(workflow_id)
    await until(pilot, lambda: view.current is not None and view.current.row.id == workflow_id)


async def test_dashboard_tile_counts_open_workflows_and_follows_a_close(demo_dir, make_app):
    ids = start_three(demo_dir)
    with session(demo_dir) as s:
        counts = overview(s).counts
    assert (counts["open_offboarding"], counts["open_transfer"], counts["open_review"]) == (1, 1, 1)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        dashboard = app.screen.query_one(DashboardView)
        tiles = dashboard.query_one(CountTiles)
        await until(pilot, lambda: tiles.counts is not None)
        assert "3 open workflows" in tiles.plain()
        assert "3 open workflows" in screen_text(app)
        assert tiles.size.height <= 2  # still two lines at 80 columns

        # Close the offboarding in the Workflows tab: the tile follows when the dashboard is shown.
        view = await open_workflows(app, pilot, unlocked=True)
        await select(pilot, view, ids["offboarding"])
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CloseOffboardingDialog))
        close = app.screen
        close.query_one("#close-successor", Input).value = SECOND_OPERATOR_EMAIL
        override = close.query_one("#close-override", Input)
        override.value = "closing early for the test"
        override.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await until(pilot, lambda: view.current is not None and view.current.state == "closed")
        await pilot.press("1")
        await until(pilot, lambda: "2 open workflows" in tiles.plain())


async def test_the_list_shows_every_kind_and_each_detail(demo_dir, make_app):
    ids = start_three(demo_dir)
    with session(demo_dir) as s:
        checked = review.review_status(s, ids["review"])
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_workflows(app, pilot)
        # Newest first: the review, the transfer, the offboarding.
        assert view.table.visible_row_keys == [ids["review"], ids["transfer"], ids["offboarding"]]
        cells = {key: view.table.row_cells(key) for key in view.table.visible_row_keys}
        assert cells[ids["review"]][:3] == ("review", f"access review {ids['review']}", "open")
        assert cells[ids["transfer"]][:3] == ("transfer", f"{TRANSFER_ACCOUNT} → Camila Reyes", "requested")
        assert cells[ids["offboarding"]][:3] == ("offboarding", "Marcus Hale", "open")

        # The review: its grants as rows, read-only except for k / x.
        assert view.current.row.id == ids["review"]
        assert text_of(app, "#wf-facts").startswith(f"Access review {ids['review']}: linkedin")
        assert "due 2026-11-30" in text_of(app, "#wf-facts")
        assert view.steps_table.row_count == checked.total
        for action in ("note", "approve", "revoke_grants", "rotate", "qr"):
            assert view.check_action(action, ()) is None, action
        assert view.check_action("close", ()) is None  # not every grant is decided
        assert view.check_action("keep", ()) is True and view.check_action("revoke", ()) is True

        # The transfer: requested, so only approve (and close, which explains the blockers).
        await select(pilot, view, ids["transfer"])
        assert "not approved yet" in text_of(app, "#wf-guard")
        assert view.check_action("approve", ()) is True and view.check_action("keep", ()) is None

        # The offboarding: the guard names the account only the leaver could regain.
        await select(pilot, view, ids["offboarding"])
        assert "youtube:northwindtrail" in text_of(app, "#wf-guard")
        assert view.check_action("revoke_grants", ()) is True

        # enter moves into the steps and back.
        view.table.focus()
        await pilot.press("enter")
        assert view.steps_table.has_focus
        await pilot.press("escape")
        assert view.table.has_focus
    assert [e["action"] for e in new_entries(demo_dir, before)] == ["vault.unlock"]  # reading logs nothing


async def test_review_decisions_keep_and_revoke_with_a_reason(demo_dir, make_app):
    ids = start_three(demo_dir)
    with session(demo_dir) as s:
        items = review.review_status(s, ids["review"]).items
    first, second = items[0], items[1]
    before = head(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_workflows(app, pilot)
        await select(pilot, view, ids["review"])
        view.steps_table.focus()
        for item, key, reason in ((first, "k", "still runs the page"), (second, "x", "[b]x[/b] moved team")):
            assert view.steps_table.move_cursor_to_key(item.position)
            await until(pilot, lambda: view.current_step is not None and view.current_step.position == item.position)
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, StepNoteDialog))
            app.screen.query_one("#note-text", Input).value = reason
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, MainScreen))
            await until(pilot, lambda: next(s for s in view.current.steps if s.position == item.position).done)
        await until(pilot, lambda: view.current_step is not None and view.current_step.position == second.position)
        assert "[b]x[/b] moved team" in text_of(app, "#wf-step")  # literal
        assert view.steps_table.row_cells(second.position)[4] == "revoke"
        assert view.check_action("revoke", ()) is None  # decided for good
    entries = new_entries(demo_dir, before)
    assert [e["action"] for e in entries] == ["vault.unlock", "review.decide", "review.decide"]
    assert [e["detail"]["decision"] for e in entries[1:]] == ["keep", "revoke"]
    with session(demo_dir) as s:
        open_ids = {g.id for g in grants.list_grants(s, email=second.person_email)}
        assert second.grant_id not in open_ids


async def test_names_in_the_list_and_detail_are_literal(demo_dir, make_app):
    with session(demo_dir) as s:
        people.add_person(s, SHOUTY, SHOUTY_EMAIL)
        started = offboarding.start_offboarding(s, SHOUTY_EMAIL, date(2026, 11, 20))
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        view = await open_workflows(app, pilot)
        await select(pilot, view, started.workflow_id)
        assert f"Offboarding {SHOUTY} <{SHOUTY_EMAIL}>" in text_of(app, "#wf-facts")
        assert SHOUTY in screen_text(app)  # drawn literally, in the list and the detail


async def test_layout_at_80x24_and_160x48(demo_dir, make_app):
    start_three(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_workflows(app, pilot)
        table, steps = view.table, view.steps_table
        detail = view.query_one("#wf-detail")
        assert detail.region.y >= table.region.bottom  # below the list
        assert table.region.height >= 4  # the header and the three workflows
        assert steps.region.height >= 6  # the header and five steps
        assert view.query_one("#wf-step").region.bottom <= 23  # above the footer
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert detail.region.x >= table.region.right and detail.region.y == table.region.y  # beside
        assert steps.region.height >= 30
