"""Pure risk rules: personal mailboxes and password rotation deadlines."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from smvault.domain.risks import (
    PERSONAL_EMAIL_DOMAINS,
    ROTATION_DAYS_BY_TIER,
    is_personal_email,
    rotation_due,
    rotation_overdue,
)

SET_AT = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)


def test_the_common_public_mailboxes_are_listed_in_lower_case():
    required = {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "yahoo.co.uk", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
        "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.com",
        "zoho.com", "fastmail.com", "hey.com", "qq.com", "163.com",
    }
    assert required <= PERSONAL_EMAIL_DOMAINS
    assert isinstance(PERSONAL_EMAIL_DOMAINS, frozenset)
    assert all(d == d.lower().strip() and "@" not in d for d in PERSONAL_EMAIL_DOMAINS)


@pytest.mark.parametrize("email", [
    "someone@gmail.com", "Someone@GMail.COM", "x@proton.me", "a.b@yahoo.co.uk", "z@163.com",
])
def test_personal_addresses(email):
    assert is_personal_email(email)


@pytest.mark.parametrize("email", [
    None, "", "not-an-address", "social@northwind.example", "it@corp.example",
    "x@mail.gmail.com.evil.example",  # only exact domains count
    "x@notgmail.com",
])
def test_company_and_malformed_addresses_are_not_personal(email):
    assert not is_personal_email(email)


def test_rotation_periods_by_tier():
    assert ROTATION_DAYS_BY_TIER == {0: 90, 1: 180, 2: 365, 3: 365}
    assert rotation_due(SET_AT, 0) == SET_AT + timedelta(days=90)
    assert rotation_due(SET_AT, 1) == SET_AT + timedelta(days=180)
    assert rotation_due(SET_AT, 3) == SET_AT + timedelta(days=365)
    assert rotation_due(SET_AT, 9) == SET_AT + timedelta(days=365)  # unknown tier: longest


def test_no_password_has_no_due_date_and_is_never_overdue():
    assert rotation_due(None, 0) is None
    assert not rotation_overdue(None, 0, SET_AT + timedelta(days=5000))


@pytest.mark.parametrize("tier, days", [(0, 90), (1, 180), (2, 365), (3, 365)])
def test_overdue_strictly_after_the_due_moment(tier, days):
    due = SET_AT + timedelta(days=days)
    assert not rotation_overdue(SET_AT, tier, SET_AT)
    assert not rotation_overdue(SET_AT, tier, due)
    assert rotation_overdue(SET_AT, tier, due + timedelta(seconds=1))


def test_a_tier_0_password_is_overdue_long_before_a_tier_2_one():
    now = SET_AT + timedelta(days=100)
    assert rotation_overdue(SET_AT, 0, now)
    assert not rotation_overdue(SET_AT, 1, now)
    assert not rotation_overdue(SET_AT, 2, now)
