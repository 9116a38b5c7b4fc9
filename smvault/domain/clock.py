"""Time as the rest of smvault sees it: aware UTC datetimes, injectable for tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

Clock = Callable[[], datetime]

_FAKE_NOW_ENV = "SMVAULT_FAKE_NOW"
# Only a test run may pin the clock: waiting periods and time boxes are measured with it, so in
# production a pinned clock would let a requester skip a wait or stretch their window. The
# test KDF switch marks a test run (tests/conftest.py and the UI tests set it; a real vault
# never runs with it, since it makes new keyring slots cheap to brute-force).
_TEST_MODE_ENV, _TEST_MODE_ON = "SMVAULT_INSECURE_TEST_KDF", "1"


def system_clock() -> datetime:
    """The current UTC time. In a test run (`SMVAULT_INSECURE_TEST_KDF=1`) `SMVAULT_FAKE_NOW`
    (ISO 8601) pins it for tests and snapshots; otherwise that variable is ignored."""
    fake = os.environ.get(_FAKE_NOW_ENV)
    if fake and os.environ.get(_TEST_MODE_ENV) == _TEST_MODE_ON:
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
