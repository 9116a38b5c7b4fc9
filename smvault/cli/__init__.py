"""The `smvault` command line. Imports no Textual: the TUI loads only when it is asked for."""

from smvault.cli.main import main

__all__ = ["main"]
