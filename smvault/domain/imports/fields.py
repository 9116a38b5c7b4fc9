"""Checking an imported item's account fields as `account add` checks them, and quoting
values in messages (`shown`): shared by the parsers (inventory) and the planner."""

from __future__ import annotations

from collections.abc import Mapping

from smvault.domain.csvfile import shown  # one way to quote a value, for every file reader
from smvault.domain.errors import InvalidInputError
from smvault.domain.inputs import PERSON_FIELDS, TEXT_FIELDS, text_problem
from smvault.domain.models import AccountStatus, MfaMethod, normalize_email, parse_tier

_YES, _NO = frozenset({"yes", "y", "true", "1"}), frozenset({"no", "n", "false", "0"})


def _choice(kind, raw: str):
    try:
        return kind(raw.lower())
    except ValueError:
        raise InvalidInputError(f"{shown(raw)} is not one of {', '.join(m.value for m in kind)}") from None


def field_value(name: str, raw: str) -> object:
    """One account field's text as the value `account add` takes (a person field stays an
    email, looked up by the importer); InvalidInputError says what is wrong."""
    raw = raw.strip()
    if name in TEXT_FIELDS:
        if why := text_problem(raw):
            raise InvalidInputError(why)
        return raw
    if name == "tier":
        try:
            return parse_tier(raw)
        except InvalidInputError:
            raise InvalidInputError(f"{shown(raw)} is not a tier (0-3)") from None
    if name == "status":
        return _choice(AccountStatus, raw)
    if name == "mfa":
        return _choice(MfaMethod, raw)
    if name == "company_owned":
        if raw.lower() in _YES | _NO:
            return raw.lower() in _YES
        raise InvalidInputError(f"{shown(raw)} is not yes or no")
    if name == "recovery_email" or name in PERSON_FIELDS:
        try:
            return normalize_email(raw)
        except InvalidInputError:
            raise InvalidInputError(f"{shown(raw)} is not an email address") from None
    raise InvalidInputError("not an account field")


def check_fields(raw: Mapping[str, str]) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """Every non-empty field checked: (values, [(field, problem)])."""
    values: dict[str, object] = {}
    problems = []
    for name, text in raw.items():
        if not text or not text.strip():
            continue
        try:
            values[name] = field_value(name, text)
        except InvalidInputError as exc:
            problems.append((name, exc.message))
    return values, problems
