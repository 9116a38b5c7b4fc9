"""`smvault ui` (and `smvault` alone on a terminal): open the terminal UI.

The UI package is imported inside the command only: every other command starts without
loading Textual (tests/test_layers.py checks both).
"""

from __future__ import annotations

import os
import sys

import click

from smvault.cli.context import OPERATOR_ENV, Options, pass_options


def on_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty() and sys.stdout.isatty()


def open_tui(opts: Options, hint: str | None = None, operator: str | None = None,
             **timers: float | None) -> None:
    """Run the UI. With the global --recovery (`smvault --recovery` alone on a terminal) it
    starts on the break-glass screen, with --reason, --incident and the shares of --share-file
    (read here, from `opts` only) filled in."""
    from smvault.ui.launch import run_tui
    from smvault.ui.recovery_start import RecoveryStart
    from smvault.ui.settings import UiSettings

    settings = UiSettings.from_env(**timers)
    start = None
    if opts.recovery:
        start = RecoveryStart(opts.reason, opts.incident, opts.shares_from_files())
    run_tui(opts.vault_dir, operator=operator or opts.operator or os.environ.get(OPERATOR_ENV),
            settings=settings, anchor_dir=opts.anchor_dir, hint=hint, recovery=start)


@click.command("ui")
@click.option("--reveal-seconds", type=float, help="Hide a revealed password after this long (default 20).")
@click.option("--clipboard-seconds", type=float, help="Clear a copied secret after this long (default 30).")
@click.option("--idle-lock-seconds", "idle_seconds", type=float, help="Lock after this long without input (default 300).")
@click.option("--code-seconds", type=float, help="Stop showing live TOTP codes after this long (default 120).")
@pass_options
def ui(opts: Options, reveal_seconds: float | None, clipboard_seconds: float | None,
       idle_seconds: float | None, code_seconds: float | None) -> None:
    """Open the terminal UI on the vault (what `smvault` alone does on a terminal)."""
    if not on_terminal():
        raise click.UsageError("the terminal UI needs an interactive terminal")
    open_tui(opts, reveal_seconds=reveal_seconds, clipboard_seconds=clipboard_seconds,
             idle_seconds=idle_seconds, code_seconds=code_seconds)


COMMANDS = [ui]
