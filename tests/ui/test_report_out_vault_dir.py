"""The reports screen's write dialog refuses a file in the vault's own directory: a report
written over the keyring or the database would destroy the vault."""

from __future__ import annotations

from textual.widgets import Input

from smvault.ui.dialogs.write_report import WriteReportDialog

from .test_reports_tui import build, open_reports
from .conftest import until


async def test_a_report_is_never_written_into_the_vault_directory(demo_dir, make_app):
    keyring = (demo_dir / "keyring.json").read_bytes()
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(app, pilot)
        await build(app, pilot, screen, "leavers")
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, WriteReportDialog))
        dialog = app.screen
        target = demo_dir / "keyring.json"
        dialog.query_one("#write-path", Input).value = str(target)
        await pilot.press("enter")  # refused at once: the vault-directory check comes before "it exists"
        await until(pilot, lambda: "Not written" in str(dialog.query_one("#write-error").render()))
        assert str(dialog.query_one("#write-error").render()) == (
            f"Not written: {target} is inside the vault directory {demo_dir}: write it somewhere else")
        assert app.screen is dialog
    assert (demo_dir / "keyring.json").read_bytes() == keyring
