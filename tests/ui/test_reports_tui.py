"""The reports screen on the demo vault: every report builds (and is logged), a hand-built
grant shows in the access matrix literally, `w` writes a 0600 file equal to the report, and
failures are shown without a traceback."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from textual.widgets import Input, OptionList, Select

from smvault.domain.errors import PolicyError
from smvault.services import accounts, grants, people
from smvault.services.reports import REPORTS, build_report
from smvault.ui.dialogs.write_report import WriteReportDialog
from smvault.ui.screens import reports as reports_module
from smvault.ui.screens.help import help_table
from smvault.ui.screens.import_screen import ImportScreen
from smvault.ui.screens.main import MainScreen
from smvault.ui.screens.reports import ReportsScreen
from smvault.ui.widgets.virtual_table import VirtualTable

from .conftest import head, log_actions, screen_text, unlock, until, vault_session

SHOUTY = "Zed [@click=app.quit]x[/] Shouty"
SHOUTY_EMAIL = "zed.shouty@northwind.example"
SHOUTY_ACCOUNT = "x:zed_handle"


def hand_built(directory: Path) -> None:
    """A person whose name is markup, holding one grant on a new account."""
    with vault_session(directory) as s:
        people.add_person(s, SHOUTY, SHOUTY_EMAIL)
        accounts.add_account(s, "x", "zed_handle", tier=1)
        grants.add_grant(s, SHOUTY_EMAIL, SHOUTY_ACCOUNT, "reveal", reason="report test")


async def open_reports(app, pilot) -> ReportsScreen:
    await unlock(app, pilot)
    await pilot.press("6")
    await until(pilot, lambda: isinstance(app.screen, ReportsScreen))
    await pilot.pause()
    return app.screen


async def build(app, pilot, screen: ReportsScreen, name: str) -> None:
    """Highlight `name` in the list with the arrow keys, then enter."""
    listing = screen.query_one("#reports-list", OptionList)
    listing.focus()
    target = list(REPORTS).index(name)
    while listing.highlighted != target:
        await pilot.press("down" if listing.highlighted < target else "up")
    await pilot.press("enter")
    await until(pilot, lambda: screen.report_name == name and screen.building is None)
    await app.workers.wait_for_complete()
    await pilot.pause()


def shown_rows(screen: ReportsScreen) -> list[tuple]:
    table = screen.query_one("#report-table", VirtualTable)
    return [table.row_cells(key) for key in table.visible_row_keys]


def without_checkpoint(text: str) -> list[str]:
    return [line for line in text.splitlines() if "smvault checkpoint" not in line]


async def test_every_report_builds_and_each_build_is_logged(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_reports(app, pilot)
        since = head(demo_dir)
        assert screen.report is None and "Highlight a report" in screen_text(app)
        for name, description in REPORTS.items():
            await build(app, pilot, screen, name)
            assert str(screen.query_one("#reports-about").render()) == description
            assert screen.report is not None and not screen.query_one("#report-error").display
            assert str(screen.query_one("#report-title").render()).startswith(screen.report.title)
            title = str(screen.query_one("#report-table-title").render())
            assert title.startswith(f"Table 1 of {len(screen.report.tables)}: {screen.report.tables[0].title}")
            assert len(shown_rows(screen)) == len(screen.report.tables[0].rows)
        # Highlighting alone builds nothing: one entry per enter.
        assert log_actions(demo_dir, since) == ["report.run"] * len(REPORTS)
        # t shows the next table of a report that has several.
        await build(app, pilot, screen, "mfa")
        second = screen.report.tables[1]
        await pilot.press("t")
        await pilot.pause()
        assert f"Table 2 of 2: {second.title}" in str(screen.query_one("#report-table-title").render())
        assert len(shown_rows(screen)) == len(second.rows)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))


async def test_the_access_matrix_shows_a_hand_built_grant_literally(demo_dir, make_app):
    hand_built(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_reports(app, pilot)
        await build(app, pilot, screen, "access-matrix")
        await pilot.press("slash", *"zed.shouty")
        await pilot.pause()
        (row,) = shown_rows(screen)
        assert row[:6] == (SHOUTY, SHOUTY_EMAIL, "active", SHOUTY_ACCOUNT, "reveal", "demo")
        await pilot.press("enter")  # from the filter to the table
        await pilot.pause()
        assert isinstance(screen.focused, VirtualTable)
        assert SHOUTY in screen_text(app)  # the name as typed, never markup
        assert f"person: {SHOUTY} · email: {SHOUTY_EMAIL}" in str(screen.query_one("#report-row").render())
        await pilot.press("escape")
        assert app.is_running and isinstance(app.screen, MainScreen)


async def test_w_writes_a_private_file_equal_to_the_report_in_each_format(demo_dir, make_app, tmp_path):
    hand_built(demo_dir)
    app = make_app(demo_dir)
    written: dict[str, str] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(app, pilot)
        await pilot.press("w")  # nothing to write yet
        await pilot.pause()
        assert app.screen is screen
        await build(app, pilot, screen, "access-matrix")
        for fmt in ("csv", "json", "md"):
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, WriteReportDialog))
            dialog = app.screen
            assert dialog.query_one("#write-path", Input).value == "smvault-access-matrix-2026-11-02.md"
            path = tmp_path / f"report.{fmt}"
            dialog.query_one("#write-path", Input).value = str(path)
            await pilot.pause()
            assert dialog.query_one("#write-format", Select).value == fmt  # follows the extension
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is screen)
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            written[fmt] = path.read_text()
    with vault_session(demo_dir) as s:
        report = build_report(s, "access-matrix")
    for fmt in ("csv", "md"):
        assert without_checkpoint(written[fmt]) == without_checkpoint(report.render(fmt))
    shown, fresh = json.loads(written["json"]), json.loads(report.render("json"))
    assert shown.pop("checkpoint")["seq"] < fresh.pop("checkpoint")["seq"]
    assert shown == fresh
    assert SHOUTY in written["csv"]


async def test_an_existing_file_is_replaced_only_after_a_second_write(demo_dir, make_app, tmp_path):
    path = tmp_path / "old.md"
    path.write_text("keep me")
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(app, pilot)
        await build(app, pilot, screen, "controllers")
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, WriteReportDialog))
        dialog = app.screen
        dialog.query_one("#write-path", Input).value = str(path)
        await pilot.press("enter")
        await until(pilot, lambda: "exists" in str(dialog.query_one("#write-error").render()))
        assert str(dialog.query_one("#write-error").render()) == f"{path} exists: Write again to replace it."
        assert path.read_text() == "keep me" and app.screen is dialog
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        assert path.read_text().startswith("# Under-controlled accounts")


async def test_a_dangling_symlink_is_not_replaced_without_a_second_write(demo_dir, make_app, tmp_path):
    # Path.exists() follows links: checked on the vault thread with lexists instead
    path = tmp_path / "link.md"
    path.symlink_to(tmp_path / "nowhere")
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(app, pilot)
        await build(app, pilot, screen, "controllers")
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, WriteReportDialog))
        dialog = app.screen
        dialog.query_one("#write-path", Input).value = str(path)
        await pilot.press("enter")
        await until(pilot, lambda: "exists" in str(dialog.query_one("#write-error").render()))
        assert path.is_symlink() and not (tmp_path / "nowhere").exists() and app.screen is dialog
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        assert not path.is_symlink() and path.read_text().startswith("# Under-controlled accounts")


async def test_a_file_that_cannot_be_written_is_said_in_the_dialog(demo_dir, make_app, tmp_path):
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(app, pilot)
        await build(app, pilot, screen, "leavers")
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, WriteReportDialog))
        dialog = app.screen
        target = tmp_path / "missing" / "r.md"
        dialog.query_one("#write-path", Input).value = str(target)
        await pilot.press("enter")
        await until(pilot, lambda: "Not written" in str(dialog.query_one("#write-error").render()))
        assert str(dialog.query_one("#write-error").render()).startswith(
            f"Not written: cannot write the report to {target}")
        assert app.screen is dialog and not target.parent.exists()
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)


async def test_a_failed_build_is_shown_without_a_traceback(demo_dir, make_app, monkeypatch):
    def refused(session, name):
        raise PolicyError("not allowed [b]here[/b]")

    def broken(session, name):
        raise RuntimeError("secret-value-42")

    app = make_app(demo_dir)
    notes: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(app, pilot)
        monkeypatch.setattr(app, "notify", lambda message, **kw: notes.append(str(message)))
        monkeypatch.setattr(reports_module, "build_report", refused)
        await pilot.press("enter")
        await until(pilot, lambda: screen.query_one("#report-error").display)
        assert str(screen.query_one("#report-error").render()) == \
            "The access-matrix report was not built: not allowed [b]here[/b]"
        monkeypatch.setattr(reports_module, "build_report", broken)
        await pilot.press("enter")
        await until(pilot, lambda: "internal error" in str(screen.query_one("#report-error").render()))
        assert app.is_running and screen.report is None
    assert not any("secret-value-42" in note for note in notes)


async def test_import_and_reports_are_in_the_palette_and_help(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"reports")
        await until(pilot, lambda: "Reports (6)" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ReportsScreen), attempts=300)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press("2")  # from the accounts view too
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, ImportScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
    rows = [str(cell) for column in help_table(app.settings).columns for cell in column._cells]
    for title in ("Import", "Reports", "Preview", "Write", "Next table"):
        assert any(row.startswith(f"{title}: ") for row in rows), title


def test_snapshot_of_a_report(snap_compare, demo_dir, make_app, monkeypatch):
    """The mfa report at 80x24: the list, its description, the facts, the first table."""
    monkeypatch.chdir(demo_dir.parent)
    app = make_app(Path(demo_dir.name))

    async def run_before(pilot) -> None:
        screen = await open_reports(app, pilot)
        await build(app, pilot, screen, "mfa")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
