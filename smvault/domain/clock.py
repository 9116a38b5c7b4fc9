"""Time as the rest of smvault sees it: aware UTC datetimes, injectable for tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

Clock = Callable[[], datetime]

_FAKE_NOW_ENV = "SMVAULT_FAKE_NOW"


def system_clock() -> datetime:
    """The current UTC time; `SMVAULT_FAKE_NOW` (ISO 8601) pins it for tests and snapshots."""
    fake = os.environ.get(_FAKE_NOW_ENV)
    if fake:
        return parse_timestamp(fake)
    return datetime.now(timezone.utc)


def timestamp(moment: datetime) -> str:
    """Canonical stored form: second precision, UTC, 'Z' suffix (sorts lexically)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def end_of_day(day: date) -> datetime:
    """The first instant after `day` (UTC): a grant 'expiring on' a day is good all that day."""
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(days=1)


def today(clock: Clock) -> date:
    return clock().date()
