"""User text on screen: literal (never markup) and without terminal control characters."""

from __future__ import annotations

from rich.text import Text

from smvault.domain.text import printable


def clean(value: object | None, placeholder: str = "") -> str:
    if value is None or value == "":
        return placeholder
    return printable(str(value))


def literal(value: object | None, style: str = "", placeholder: str = "—") -> Text:
    """A Text that shows `value` exactly as typed: `[b]x[/b]` stays `[b]x[/b]`."""
    return Text(clean(value, placeholder), style=style, no_wrap=False)
