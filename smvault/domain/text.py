"""Make user-supplied text safe to show in a terminal.

Imported names can carry ESC/OSC sequences (OSC 52 writes the user's clipboard) or C1
controls; they are removed before anything reaches a terminal. Markup escaping is the UI's
job (it renders user text literally); this module only deals with control characters.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls except tab and newline, DEL, and C1 controls (which include the 8-bit CSI/OSC).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_ANY = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str, *, single_line: bool = True) -> str:
    """`text` with every control character removed (newlines too when `single_line`)."""
    pattern = _CONTROL_ANY if single_line else _CONTROL
    return pattern.sub("", text)


def has_control_chars(text: str) -> bool:
    return _CONTROL_ANY.search(text) is not None


def has_hidden_chars(text: str) -> bool:
    """Control characters, or Unicode format characters (zero-width, bidi overrides such as
    U+202E) that make an address look like another one on screen or on paper."""
    return has_control_chars(text) or any(unicodedata.category(ch) == "Cf" for ch in text)
