"""Risk rules that need no database: personal mailboxes and password rotation deadlines."""

from __future__ import annotations

from datetime import datetime, timedelta

from smvault.domain.models import email_domain

# Public mailbox providers: a recovery address on one of these belongs to a person, not to
# the company, and leaves with them. Exact domains only (no wildcard for subdomains).
PERSONAL_EMAIL_DOMAINS: frozenset[str] = frozenset({
    # Google, Microsoft, Yahoo, Apple, AOL
    "gmail.com", "googlemail.com",
    "outlook.com", "outlook.de", "outlook.fr", "hotmail.com", "hotmail.co.uk", "hotmail.de",
    "hotmail.fr", "hotmail.it", "hotmail.es", "live.com", "live.co.uk", "live.de", "live.fr",
    "msn.com", "passport.com",
    "yahoo.com", "yahoo.co.uk", "yahoo.co.jp", "yahoo.de", "yahoo.fr", "yahoo.es", "yahoo.it",
    "yahoo.com.br", "yahoo.co.in", "ymail.com", "rocketmail.com",
    "icloud.com", "me.com", "mac.com",
    "aol.com", "aim.com",
    # Privacy-minded and independent providers
    "proton.me", "protonmail.com", "protonmail.ch", "pm.me", "tutanota.com", "tuta.io",
    "fastmail.com", "fastmail.fm", "hey.com", "duck.com", "hushmail.com", "mailbox.org",
    "posteo.de", "posteo.net", "zoho.com", "zohomail.com",
    # Regional portals
    "gmx.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "web.de", "t-online.de", "freenet.de",
    "mail.com", "email.com", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "libero.it",
    "virgilio.it", "btinternet.com", "sky.com", "comcast.net", "verizon.net", "att.net",
    "yandex.com", "yandex.ru", "ya.ru", "mail.ru", "rambler.ru", "seznam.cz", "wp.pl", "o2.pl",
    "interia.pl", "onet.pl", "qq.com", "163.com", "126.com", "sina.com", "naver.com",
    "daum.net", "hanmail.net", "rediffmail.com", "uol.com.br", "bol.com.br",
})


def is_personal_email(email: str | None) -> bool:
    """True when the address is on a public mailbox provider (case-insensitive)."""
    return email_domain(email) in PERSONAL_EMAIL_DOMAINS


# How often a stored password must be changed, by account tier (0 = most critical).
ROTATION_DAYS_BY_TIER: dict[int, int] = {0: 90, 1: 180, 2: 365, 3: 365}


_LONGEST = max(ROTATION_DAYS_BY_TIER.values())


def rotation_days(tier: int) -> int:
    """The rotation period of a tier; an unknown tier gets the longest period."""
    return ROTATION_DAYS_BY_TIER.get(tier, _LONGEST)


def rotation_due(rotated_at: datetime | None, tier: int) -> datetime | None:
    """When the password set at `rotated_at` must be rotated; None when none is stored."""
    if rotated_at is None:
        return None
    return rotated_at + timedelta(days=rotation_days(tier))


def rotation_overdue(rotated_at: datetime | None, tier: int, now: datetime) -> bool:
    """Past its due moment. No stored password (`rotated_at` None) is never overdue."""
    due = rotation_due(rotated_at, tier)
    return due is not None and now > due
