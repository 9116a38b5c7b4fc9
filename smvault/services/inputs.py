"""Checking free text typed or imported by users before it is stored."""

from __future__ import annotations

from smvault.domain.errors import InvalidInputError
from smvault.domain.text import has_control_chars


def clean_text(value: str | None, field: str, required: bool = False) -> str | None:
    """Stripped text, None when empty; refuses control characters and runaway lengths."""
    if value is None:
        if required:
            raise InvalidInputError(f"{field} is required")
        return None
    value = value.strip()
    if has_control_chars(value):
        raise InvalidInputError(f"{field} contains control characters")
    if required and not value:
        raise InvalidInputError(f"{field} must not be empty")
    if len(value) > 500:
        raise InvalidInputError(f"{field} is longer than 500 characters")
    return value or None
