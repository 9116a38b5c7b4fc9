"""What every importer produces: entries to bring in, and problems named by where they are.

A parser turns a file's bytes into a `Parsed`: entries it could read, problems with items it
could not (each named by file and line or item, never quoting a secret), and notes about
items it deliberately leaves out (a credit card in a password-manager export). A file that
cannot be read at all raises `ImportFileError`. Parsers touch no vault: matching entries to
accounts and applying them is services.importer's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from smvault.domain.errors import InvalidInputError
from smvault.domain.otp import OtpParams, decode_base32_secret

MAX_FILE_BYTES = 64 * 1024 * 1024  # no real export is near this; a bigger file is a mistake
# 64 bits: the shortest seeds real services issue. KeePassXC's test export has 'DFDFDEF='
# (32 bits): a seed that short is damaged, and importing it would give codes that never work
# while the vault claims the TOTP is held.
MIN_OTP_SECRET_BYTES = 8
WRONG_PASSWORD = "wrong password, or the file was altered"


class EntryKind(StrEnum):
    ACCOUNT = "account"  # a password-manager item or inventory row: creates or updates an account
    OTP = "otp"  # an authenticator entry: attaches to a matching account, or is listed unmatched


@dataclass(frozen=True, repr=False)
class Entry:
    """One item read from a file. `where` names it in every message ("plain.txt:5",
    "export.json: item 3"). `platform`/`handle` are set when the source says them (an
    inventory CSV, a handover packet); otherwise importer.identity derives them from the
    hints (url, login_id, title, otp issuer and label)."""

    where: str
    kind: EntryKind
    title: str | None = None  # the name the source gives the item (a Bitwarden item name, an issuer)
    platform: str | None = None
    handle: str | None = None
    login_id: str | None = None
    url: str | None = None
    password: str | None = None
    otp: OtpParams | None = None
    recovery_codes: tuple[str, ...] = ()
    notes: str | None = None
    # Raw text for services.accounts.ACCOUNT_INPUT_FIELDS (brand, tier, owner email...), from
    # an inventory CSV or a handover packet; checked by the importer like `account add` input.
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __repr__(self) -> str:  # never a secret: reprs reach logs and tracebacks
        return (f"Entry(where={self.where!r}, kind={self.kind.value!r}, title={self.title!r}, "
                f"platform={self.platform!r}, handle={self.handle!r}, login_id={self.login_id!r}, "
                f"password={'<hidden>' if self.password else None}, otp={self.otp!r}, "
                f"recovery_codes=<{len(self.recovery_codes)} hidden>)")


@dataclass(frozen=True)
class Problem:
    """Something wrong with one item, or a note about one left out. The message names the
    problem, never a secret value."""

    where: str
    field: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}" if self.field else f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Parsed:
    source: str  # the file as the user named it
    format: str
    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...] = ()  # items that cannot be imported: --apply refuses (or skips them)
    notes: tuple[Problem, ...] = ()  # items deliberately left out (cards, identities, notes)


class ItemProblem(Exception):
    """Why one item cannot be imported; the parser turns it into a Problem at the item."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def at(self, where: str) -> Problem:
        return Problem(where, self.field, self.message)


def short_seed_problem(otp: OtpParams) -> str | None:
    """Why every parser refuses this OTP seed as damaged, or None when it is long enough."""
    if len(otp.secret) >= MIN_OTP_SECRET_BYTES:
        return None
    return (f"the OTP secret is only {len(otp.secret) * 8} bits, too short to be a real key "
            f"({MIN_OTP_SECRET_BYTES * 8} at least): the seed looks damaged")


def otp_from_fields(*, kind: str, secret: object, algorithm: object, digits: object, period: object,
                    counter: object, issuer: str | None, label: str | None,
                    counter_field: str, settings_field: str) -> OtpParams:
    """OtpParams from an authenticator item's raw values (Aegis, 2FAS): `kind` is "totp" or
    "hotp", `secret` base32 text, `counter` None when the item has none. A bad value is an
    ItemProblem blaming "secret", `counter_field` (a HOTP item without a counter) or
    `settings_field` (algorithm, digits, period, counter out of range)."""
    if kind == "hotp" and counter is None:
        raise ItemProblem(counter_field, "missing (HOTP needs one)")
    try:
        decoded = decode_base32_secret(secret)
    except InvalidInputError as exc:
        raise ItemProblem("secret", exc.message) from None
    try:
        params = OtpParams(secret=decoded, kind=kind, algorithm=algorithm, digits=digits, period=period,
                           counter=counter if kind == "hotp" else 0, issuer=issuer, label=label)
    except InvalidInputError as exc:
        raise ItemProblem(settings_field, exc.message) from None
    if why := short_seed_problem(params):
        raise ItemProblem("secret", why)
    return params


class ImportFileError(InvalidInputError):
    """The file as a whole cannot be read (not JSON, wrong password, unknown version...).
    The message starts with the file's name, and a line or item when there is one."""


class PasswordNeeded(ImportFileError):
    """The file is encrypted and no password was given: the CLI or TUI asks for one."""
