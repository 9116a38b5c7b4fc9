"""Run the terminal UI: the one entry point the CLI calls (lazily, so commands never load Textual)."""

from __future__ import annotations

import sys
from pathlib import Path

from smvault.ui.recovery_start import RecoveryStart
from smvault.ui.settings import UiSettings


def run_tui(directory: Path, *, operator: str | None = None, settings: UiSettings | None = None,
            anchor_dir: Path | None = None, hint: str | None = None, recovery: RecoveryStart | None = None) -> None:
    """`recovery`: start on the break-glass screen (`smvault --recovery` on a terminal)."""
    from smvault.ui.app import SmvaultApp
    from smvault.ui.textual_logs import warning

    app = SmvaultApp(directory, operator=operator, settings=settings, anchor_dir=anchor_dir, hint=hint,
                     recovery=recovery)
    if app.silenced_logs:
        print(warning(app.silenced_logs), file=sys.stderr)
    app.run()
