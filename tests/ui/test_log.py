"""The log view on the demo vault: newest first, filters, live tail, verify."""

from __future__ import annotations

import threading
from datetime import date

from smvault.domain.logchain import EDITED, ChainLink, LogDamage
from smvault.services import grants, people
from smvault.services.demo import DEMO_OPERATOR, DEMO_PASSPHRASE, TOUR
from smvault.services.logs import VerifyReport
from smvault.services.session import unlock as unlock_vault
from smvault.ui.views import log as log_view
from smvault.ui.views.log import LIMIT, LogView

from .conftest import log_actions, unlock, until

STAYING = "camila.reyes@northwind.example"  # a demo employee who is not leaving
ANOTHER = "kenji.sato@northwind.example"


def all_entries(directory) -> list[dict]:
    """Every entry, newest first."""
    with unlock_vault(directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), check=False) as s:
        return s.vault.log.entries()


async def open_log(app, pilot) -> LogView:
    await unlock(app, pilot)
    await pilot.press("4")
    view = app.screen.query_one("#log", LogView)
    await until(pilot, lambda: view.loaded and view.table.row_count > 0)
    await pilot.pause()
    return view


async def type_into(pilot, view: LogView, selector: str, text: str) -> None:
    field = view.query_one(selector)
    field.value = ""
    field.focus()
    for char in text:
        await pilot.press(char)
    # Applied a moment after the last keystroke (FILTER_DELAY), by a query worker.
    await until(pilot, lambda: view.filters == view.current_filters() and not view.searching)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def shown_actions(view: LogView) -> list[str]:
    return [view.table.row_cells(key)[3] for key in view.table.visible_row_keys]


async def test_newest_first_and_the_three_filters(demo_dir, make_app, monkeypatch):
    entries = all_entries(demo_dir)
    app = make_app(demo_dir)
    notes = []
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_log(app, pilot)
        monkeypatch.setattr(app, "notify", lambda *a, **k: notes.append((a, k)))
        head = entries[0]["seq"] + 1  # the unlock
        assert view.table.visible_row_keys == list(range(head, head - LIMIT, -1))
        assert shown_actions(view)[0] == "vault.unlock"
        assert view.table.row_cells(head)[2] == DEMO_OPERATOR

        await type_into(pilot, view, "#log-operator", "priya")
        priya = [e["seq"] for e in entries if e["op"] == "priya"]
        assert priya and view.table.visible_row_keys == priya
        assert {view.table.row_cells(k)[2] for k in priya} == {"priya"}

        await type_into(pilot, view, "#log-operator", "")
        await type_into(pilot, view, "#log-action", "grant.")
        granted = [e["seq"] for e in entries if e["action"].startswith("grant.")][:LIMIT]
        assert view.table.visible_row_keys == granted
        assert all(action.startswith("grant.") for action in shown_actions(view))
        await pilot.press("enter")  # enter applies at once and moves to the table
        assert view.table.has_focus

        # An account filter naming no account: said next to the filters, no toast, no rows.
        await type_into(pilot, view, "#log-account", "instagram:nothing-here")
        error = view.query_one("#log-error")
        assert error.display and "no account" in str(error.render())
        assert view.table.row_count == 0
        assert notes == []

        await type_into(pilot, view, "#log-account", TOUR["single_controller"])
        assert not view.query_one("#log-error").display
        expected = [e["seq"] for e in entries
                    if e.get("acct") == TOUR["single_controller"] and e["action"].startswith("grant.")]
        assert expected and view.table.visible_row_keys == expected


async def test_live_tail_puts_new_entries_on_top_without_querying_again(demo_dir, make_app, ui_clock, monkeypatch):
    app = make_app(demo_dir)
    queries = []
    original = log_view.find_entries

    def counting(session, filters, *args, **kwargs):
        queries.append(filters)
        return original(session, filters, *args, **kwargs)

    monkeypatch.setattr(log_view, "find_entries", counting)

    async def tick() -> None:
        ui_clock.advance(seconds=2)
        await app.tick()
        await app.workers.wait_for_complete()
        await pilot.pause()

    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_log(app, pilot)
        assert view.following
        top = view.table.visible_row_keys[0]
        asked = len(queries)

        await app.service(people.mark_leaving, STAYING, date(2026, 12, 1))
        await tick()
        assert view.table.visible_row_keys[:2] == [top + 1, top]
        assert shown_actions(view)[0] == "person.leave"
        assert view.table.cursor_row_key == top + 1  # the cursor was on the newest: it follows
        assert view.table.row_count == LIMIT  # the oldest row made room
        assert len(queries) == asked  # the tail fetched only what was new

        # New entries that do not match the filters stay out.
        await type_into(pilot, view, "#log-action", "grant.")
        before = view.table.visible_row_keys
        await app.service(people.mark_leaving, ANOTHER, date(2026, 12, 2))
        await app.service(grants.add_grant, STAYING, TOUR["healthy"], "code-only", reason="tail test")
        await tick()
        assert view.table.visible_row_keys == [top + 3] + before
        assert shown_actions(view)[0] == "grant.add"

        # Paused, nothing is added; following again catches up.
        view.table.focus()
        await pilot.press("f")
        assert not view.following
        await app.service(grants.revoke_grants, STAYING, TOUR["healthy"])
        await tick()
        assert view.table.visible_row_keys[0] == top + 3
        await pilot.press("f")
        await tick()
        assert view.table.visible_row_keys[0] == top + 4
        assert shown_actions(view)[0] == "grant.revoke"


async def test_verify_shows_busy_then_the_result_and_logs_only_log_verify(demo_dir, make_app, ui_clock, monkeypatch):
    before = all_entries(demo_dir)[0]["seq"]
    release = threading.Event()
    original = log_view.verify_log

    def held(session):  # runs on the vault thread: holds the worker so the busy state shows
        release.wait(10)
        return original(session)

    monkeypatch.setattr(log_view, "verify_log", held)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_log(app, pilot)
        panel = view.query_one("#log-verify")
        assert not panel.display
        await pilot.press("v")
        await until(pilot, lambda: view.verifying)
        assert panel.display and panel.has_class("-busy")
        assert f"Verifying {before + 1:,} entries" in str(panel.render())
        assert view.check_action("verify", ()) is None  # greyed out while it runs
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = str(panel.render())
        assert panel.has_class("-ok") and not view.verifying
        assert f"Chain verified: {before + 1:,} entries, head #{before + 1} hash " in text
        assert "anchor at #" in text and "every page's HMAC ok" in text
        # The tail shows the new entry.
        ui_clock.advance(seconds=2)
        await app.tick()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert shown_actions(view)[0] == "log.verify"
    assert log_actions(demo_dir, before) == ["vault.unlock", "log.verify"]


async def test_a_failed_verification_is_shown_in_red_with_the_damage(demo_dir, make_app, monkeypatch):
    # The chain cannot be edited through the services (triggers), so the report is made up.
    report = VerifyReport(
        checked=41, head=ChainLink(41, b"\x01" * 32),
        damage=LogDamage(42, EDITED, "its hash does not match its contents"),
        anchor=ChainLink(40, b"\x02" * 32), page_problems=["page 7: HMAC mismatch"],
    )
    monkeypatch.setattr(log_view, "verify_log", lambda session: report)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_log(app, pilot)
        await pilot.press("v")
        await app.workers.wait_for_complete()
        await pilot.pause()
        panel = view.query_one("#log-verify")
        text = str(panel.render())
        assert panel.has_class("-failed")
        assert "Verification FAILED" in text
        assert f"{EDITED} at entry #42: its hash does not match its contents" in text
        assert "database page: page 7: HMAC mismatch" in text
