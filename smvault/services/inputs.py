"""Checking free text typed or imported by users before it is stored."""

from __future__ import annotations

from smvault.domain.errors import InvalidInputError
from smvault.domain.inputs import text_problem


def clean_text(value: str | None, field: str, required: bool = False) -> str | None:
    """Stripped text, None when empty; refuses control characters and runaway lengths."""
    if value is None:
        if required:
            raise InvalidInputError(f"{field} is required")
        return None
    value = value.strip()
    if why := text_problem(value):
        raise InvalidInputError(f"{field} {why}")
    if required and not value:
        raise InvalidInputError(f"{field} must not be empty")
    return value or None
