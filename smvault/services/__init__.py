"""Use cases: the one API that the CLI and the TUI call."""
