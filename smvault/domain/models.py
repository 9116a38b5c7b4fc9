"""The custody data model: people, accounts and their root of control, secrets, grants, operators."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple

from smvault.domain.errors import InvalidInputError
from smvault.domain.text import has_control_chars, has_hidden_chars


class Level(StrEnum):
    """What a grant lets its holder do. Order matters for the first three."""

    CODE_ONLY = "code-only"  # may be given live TOTP codes, never the seed
    REVEAL = "reveal"  # may know the password, seed and recovery codes
    MANAGE = "manage"  # may also change secrets and grants
    PLATFORM_ADMIN = "platform-admin"  # holds an admin role on the platform; no vault secret


class Disclosure(StrEnum):
    """Things a vault secret can be disclosed as; each maps to the lowest level allowing it."""

    CODE = "code"
    PASSWORD = "password"
    TOTP_SEED = "totp-seed"
    RECOVERY_CODES = "recovery-codes"
    QR = "qr"


_ALLOWED: dict[Level, frozenset[Disclosure]] = {
    Level.CODE_ONLY: frozenset({Disclosure.CODE}),
    Level.REVEAL: frozenset(Disclosure),
    Level.MANAGE: frozenset(Disclosure),
    Level.PLATFORM_ADMIN: frozenset(),
}


def level_allows(level: Level, disclosure: Disclosure) -> bool:
    return disclosure in _ALLOWED[level]


class PersonType(StrEnum):
    EMPLOYEE = "employee"
    CONTRACTOR = "contractor"
    AGENCY = "agency"


class PersonStatus(StrEnum):
    ACTIVE = "active"
    LEAVING = "leaving"
    LEFT = "left"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DORMANT = "dormant"
    RETIRED = "retired"


class MfaMethod(StrEnum):
    UNKNOWN = "unknown"
    NONE = "none"
    TOTP = "totp"
    SMS = "sms"
    SECURITY_KEY = "security-key"


PLATFORMS = (
    "facebook",
    "instagram",
    "x",
    "linkedin",
    "youtube",
    "tiktok",
    "threads",
    "pinterest",
    "snapchat",
    "reddit",
    "bluesky",
    "mastodon",
    "other",
)
_PLATFORM_ALIASES = {"twitter": "x", "fb": "facebook", "ig": "instagram", "yt": "youtube"}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_platform(value: str) -> str:
    name = value.strip().lower()
    name = _PLATFORM_ALIASES.get(name, name)
    if name not in PLATFORMS:
        raise InvalidInputError(
            f"unknown platform {value!r}: expected one of {', '.join(PLATFORMS)}"
        )
    return name


def normalize_handle(value: str) -> str:
    handle = value.strip().lstrip("@")
    if not handle or any(ch.isspace() for ch in handle) or ":" in handle or has_control_chars(handle):
        raise InvalidInputError(f"invalid handle {value!r}: no spaces, control characters or ':'")
    return handle


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_handle(handle: str) -> str:
    """A handle as the vault compares it: SQLite's NOCASE folds ASCII letters only, so
    x:Ärger and x:ärger stay two accounts."""
    return handle.translate(_ASCII_LOWER)


def normalize_email(value: str) -> str:
    email = value.strip().lower()
    if not _EMAIL.match(email) or has_hidden_chars(email):
        raise InvalidInputError(f"invalid email address {value!r}")
    return email


def email_domain(email: str | None) -> str | None:
    return email.rsplit("@", 1)[1].lower() if email and "@" in email else None


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str
    team: str | None = None
    region: str | None = None
    type: PersonType = PersonType.EMPLOYEE
    manager_id: int | None = None
    leave_on: date | None = None

    def status(self, today: date) -> PersonStatus:
        """Left from `leave_on` onwards; nothing has to flip the status by hand."""
        if self.leave_on is None:
            return PersonStatus.ACTIVE
        return PersonStatus.LEFT if self.leave_on <= today else PersonStatus.LEAVING


@dataclass(frozen=True)
class Account:
    id: int
    platform: str
    handle: str
    url: str | None = None
    brand: str | None = None
    region: str | None = None
    business_unit: str | None = None
    tier: int = 2
    status: AccountStatus = AccountStatus.ACTIVE
    company_owned: bool = True
    owner_id: int | None = None
    backup_owner_id: int | None = None
    # Root of control: how the account is logged into and recovered, and who holds each part.
    login_id: str | None = None
    recovery_email: str | None = None
    recovery_email_controller_id: int | None = None
    recovery_phone: str | None = None
    recovery_phone_controller_id: int | None = None
    mfa: MfaMethod = MfaMethod.UNKNOWN
    totp_holder_id: int | None = None  # whose device holds a TOTP factor (when not in the vault)
    notes: str | None = None

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.handle}"


# Fields an `account update` may change, with the type each is parsed as.
ACCOUNT_EDITABLE = (
    "url",
    "brand",
    "region",
    "business_unit",
    "tier",
    "status",
    "company_owned",
    "owner_id",
    "backup_owner_id",
    "login_id",
    "recovery_email",
    "recovery_email_controller_id",
    "recovery_phone",
    "recovery_phone_controller_id",
    "mfa",
    "totp_holder_id",
    "notes",
)


@dataclass(frozen=True)
class CredentialState:
    """What the vault holds for an account, without the values themselves."""

    has_password: bool = False
    password_rotated_at: datetime | None = None
    has_totp_seed: bool = False
    totp_kind: str | None = None
    totp_period: int | None = None
    recovery_codes_total: int = 0
    recovery_codes_unused: int = 0


class SecretDates(NamedTuple):
    """When each of an account's stored secrets was last replaced (None: not stored)."""

    password_at: datetime | None = None
    totp_at: datetime | None = None
    oldest_unused_code_at: datetime | None = None


@dataclass(frozen=True)
class Grant:
    id: int
    person_id: int
    account_id: int
    level: Level
    granted_by: int | None
    reason: str | None
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: int | None = None

    def active(self, now: datetime) -> bool:
        """Expired grants stop working by themselves: no job has to revoke them."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True)
class Operator:
    id: int
    name: str
    person_id: int
    created_at: datetime
    removed_at: datetime | None = None


@dataclass(frozen=True, repr=False)
class RecoveryCode:
    id: int
    account_id: int
    code: str = field(repr=False)
    created_at: datetime | None = None
    used_at: datetime | None = None

    def __repr__(self) -> str:
        return f"RecoveryCode(id={self.id}, account_id={self.account_id}, used={self.used_at is not None})"


def parse_tier(value: object) -> int:
    try:
        tier = int(str(value))
    except ValueError:
        raise InvalidInputError(f"tier must be 0-3, got {value!r}") from None
    if not 0 <= tier <= 3:
        raise InvalidInputError(f"tier must be 0-3, got {value!r}")
    return tier
