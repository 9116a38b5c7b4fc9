"""A field for a passphrase or an emergency-kit share: what is typed never reaches the clipboard.

Textual's Input selects its whole text when it gets the focus, and its copy and cut (ctrl+c,
ctrl+x) put the *real* text on the clipboard even when the field is masked: one ctrl+c in a
passphrase field would copy the passphrase (and no timer would clear it, unlike `c` in
Accounts). Here copy and cut do nothing, focusing selects nothing, and the screen's mouse
selection skips the field. Pasting into it still works (custodians paste shares).
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Input


class SecretInput(Input):
    ALLOW_SELECT = False  # the screen's mouse selection (and its ctrl+c) leaves the field out

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["select_on_focus"] = False
        super().__init__(*args, password=True, **kwargs)

    def action_copy(self) -> None:
        """Nothing is copied: the key is taken here, so nothing else copies either."""

    def action_cut(self) -> None:
        """Nothing is cut (cutting would copy)."""
