"""Converting between database rows and domain models."""

from __future__ import annotations

from datetime import date, datetime

from smvault.domain.clock import parse_timestamp


def ts_or_none(value: str | None) -> datetime | None:
    return parse_timestamp(value) if value else None


def date_or_none(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
