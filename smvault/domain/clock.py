"""Time as the rest of smvault sees it: aware UTC datetimes, injectable for tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

Clock = Callable[[], datetime]

# Waiting periods and time boxes are measured with this clock, so nothing a user controls (no
# environment variable, no option, no file) may move it: a requester could otherwise skip a
# wait or stretch their window. Tests pin it in-process only, by setting `_pinned` (the
# `pin_clock` fixture in tests/conftest.py monkeypatches it). Code that takes
# `clock=system_clock` as a default captures this function, so the pin is read here, inside it.
_pinned: datetime | None = None


def system_clock() -> datetime:
    """The current UTC time (or the moment a test pinned in-process via `_pinned`)."""
    if _pinned is not None:
        return _pinned
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
