"""Input normalisation refuses what would be unsafe to store or show."""

from __future__ import annotations

from datetime import date

import pytest

from smvault.domain.errors import InvalidInputError
from smvault.domain.models import (
    Person,
    PersonStatus,
    normalize_email,
    normalize_handle,
    normalize_platform,
)
from smvault.domain.text import printable


@pytest.mark.parametrize("bad", ["a b", "x:y", "", "@", "ab\x1bc", "ab\x9bc"])
def test_bad_handles(bad):
    with pytest.raises(InvalidInputError):
        normalize_handle(bad)


def test_handle_and_platform_normalisation():
    assert normalize_handle(" @Acme ") == "Acme"
    assert normalize_platform("Twitter") == "x"
    with pytest.raises(InvalidInputError):
        normalize_platform("myspace")


@pytest.mark.parametrize("bad", ["nobody", "a@b", "a b@c.d", "a\x1b@c.d"])
def test_bad_emails(bad):
    with pytest.raises(InvalidInputError):
        normalize_email(bad)


def test_status_follows_the_leave_date():
    p = Person(1, "P", "p@example.com", leave_on=date(2026, 5, 10))
    assert p.status(date(2026, 5, 9)) is PersonStatus.LEAVING
    assert p.status(date(2026, 5, 10)) is PersonStatus.LEFT


def test_printable_strips_escape_sequences():
    assert printable("a\x1b]52;c;Zm9v\x07b\x9b31m") == "a]52;c;Zm9vb31m"
    assert printable("line1\nline2", single_line=False) == "line1\nline2"
