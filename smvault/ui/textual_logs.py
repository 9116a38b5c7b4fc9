"""Textual's own debug logs stay off: they would write secrets down.

With TEXTUAL_LOG=FILE, Textual appends every message it dispatches to FILE, values included:
each keystroke's Input.Changed (a passphrase, a share's words), each Paste's text, each
worker's arguments. With TEXTUAL=devtools it sends the same to the devtools console. Either is
a developer's switch that would leave secrets on disk or on a socket, so the app turns both off
and says so (`run_tui` prints it on stderr).
"""

from __future__ import annotations

from textual import constants
from textual.app import App


def silence_textual_logs(app: App) -> list[str]:
    """Turn off Textual's log file and devtools for `app`; what was turned off, in words."""
    silenced = []
    if constants.LOG_FILE:
        # Read at every log call (textual.Logger): clearing it stops the file for good.
        constants.LOG_FILE = None  # type: ignore[misc]
        silenced.append("TEXTUAL_LOG")
    if "devtools" in app.features:
        app.devtools = None
        app._devtools_redirector = None
        app.features = frozenset(app.features - {"devtools"})
        silenced.append("TEXTUAL=devtools")
    return silenced


def warning(silenced: list[str]) -> str:
    return (f"smvault: {' and '.join(silenced)} ignored: Textual's debug log would record typed "
            "passphrases and shares, so it is off.")
