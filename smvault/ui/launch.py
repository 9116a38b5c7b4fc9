"""Run the terminal UI: the one entry point the CLI calls (lazily, so commands never load Textual)."""

from __future__ import annotations

from pathlib import Path

from smvault.ui.settings import UiSettings


def run_tui(directory: Path, *, operator: str | None = None, settings: UiSettings | None = None,
            anchor_dir: Path | None = None, hint: str | None = None) -> None:
    from smvault.ui.app import SmvaultApp

    SmvaultApp(directory, operator=operator, settings=settings, anchor_dir=anchor_dir, hint=hint).run()
