"""Child process for scripts/bench: the terminal UI on the large vault, headless.

Run as `python scripts/bench_tui.py VAULT ANCHORS OPERATOR PASSFILE T0` where T0 is the
parent's time.time() just before it started this process. Prints one JSON object:
start_to_unlock_painted (whole process), unlock_to_dashboard and kdf (the Argon2id part of it),
accounts_ready, filter_keystrokes (each keystroke to repaint), accounts, peak_rss_mb.

"Painted" means: the unlock screen, once the app has processed every pending message; the
dashboard, the accounts table and a filtered table, the first time the table renders its lines
with the new data (Textual's headless driver: rendering is done, no terminal I/O is timed).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

T0 = float(sys.argv[5])

import smvault.cli.main  # noqa: E402,F401 - what `smvault ui` imports before the UI
from smvault.store import keyring as keyring_mod  # noqa: E402
from smvault.ui.app import SmvaultApp  # noqa: E402

KDF: list[float] = []
_derive = keyring_mod.derive_key


def timed_derive(*args, **kwargs):
    start = time.perf_counter()
    try:
        return _derive(*args, **kwargs)
    finally:
        KDF.append(time.perf_counter() - start)


keyring_mod.derive_key = timed_derive


async def until(pilot, condition, step: float = 0.002, limit: float = 120.0) -> None:
    deadline = time.perf_counter() + limit
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit("bench_tui: timed out")
        await pilot.pause(step)
    await pilot.pause()


def main() -> None:
    from smvault.ui.screens.main import MainScreen
    from smvault.ui.screens.unlock import UnlockScreen
    from smvault.ui.widgets.virtual_table import VirtualTable

    vault, anchors, operator, passfile = sys.argv[1:5]
    passphrase = Path(passfile).read_text().strip()
    figures: dict[str, object] = {}

    async def auto(pilot) -> None:
        app = pilot.app
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen))
        figures["start_to_unlock_painted"] = time.time() - T0

        app.screen.query_one("#passphrase").value = passphrase
        dashboard_painted: list[float] = []
        render_lines = VirtualTable.render_lines

        def dashboard_render(self, crop):
            strips = render_lines(self, crop)
            if not dashboard_painted and self.total_count and self.id != "accounts-table" \
                    and isinstance(app.screen, MainScreen):
                dashboard_painted.append(time.perf_counter())
            return strips

        VirtualTable.render_lines = dashboard_render
        start = time.perf_counter()
        await pilot.press("enter")
        await until(pilot, lambda: bool(dashboard_painted))
        VirtualTable.render_lines = render_lines
        assert app.screen.query("#dashboard VirtualTable")
        figures["unlock_to_dashboard"] = dashboard_painted[0] - start
        figures["kdf"] = sum(KDF)

        table = app.screen.query_one("#accounts VirtualTable", VirtualTable)
        shown: list[float] = []
        render_lines = VirtualTable.render_lines

        def first_full_render(self, crop):
            strips = render_lines(self, crop)
            if self is table and self.total_count and not shown:
                shown.append(time.perf_counter())
            return strips

        VirtualTable.render_lines = first_full_render
        start = time.perf_counter()
        await pilot.press("2")
        await until(pilot, lambda: bool(shown))
        VirtualTable.render_lines = render_lines
        figures["accounts_ready"] = shown[0] - start
        figures["accounts"] = table.total_count
        handle = str(table.row_cells(table.cursor_row_key)[1])

        # Keystroke to repaint: from the key event to the first time the table renders lines
        # after its filter changed (Pilot's own waiting is not counted; the detail pane of
        # the newly highlighted row loads afterwards, in a worker).
        painted: list[float] = []
        render_lines = VirtualTable.render_lines

        def timed_render_lines(self, crop):
            strips = render_lines(self, crop)
            if self is table and not painted:
                painted.append(time.perf_counter())
            return strips

        VirtualTable.render_lines = timed_render_lines
        await pilot.press("slash")
        await pilot.pause()
        keystrokes, whole = [], []
        for char in handle[:6] + "\b\b\b":
            painted.clear()
            before = table.filter_text
            start = time.perf_counter()
            await pilot.press("backspace" if char == "\b" else char)
            await until(pilot, lambda: table.filter_text != before and bool(painted))
            keystrokes.append(painted[0] - start)
            whole.append(time.perf_counter() - start)
        VirtualTable.render_lines = render_lines
        figures["filter_keystrokes"] = keystrokes
        figures["filter_keystrokes_with_pilot"] = whole
        figures["filter_rows"] = table.row_count
        app.exit()

    app = SmvaultApp(Path(vault), operator=operator, anchor_dir=Path(anchors))
    app.run(headless=True, size=(160, 48), auto_pilot=auto)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
