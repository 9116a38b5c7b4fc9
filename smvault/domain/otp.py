"""One-time-password maths: HOTP (RFC 4226), TOTP (RFC 6238), Steam Guard, otpauth:// URIs.

Codes are computed here over stdlib `hmac` rather than with pyotp: pyotp 2.12 refuses
secrets under 112 bits (many real services issue 80- or 64-bit ones) and has no Steam
Guard, and its validation gets in the way of lenient imports.

No error message in this module ever contains a secret, a URI or any other input text:
a URI carries its secret, so callers get the field name and what is wrong, nothing more.
"""

from __future__ import annotations

import hmac
import math
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, unquote_plus

from smvault.domain.errors import InvalidInputError

ALGORITHMS = ("SHA1", "SHA256", "SHA512")
KINDS = ("totp", "hotp", "steam")

STEAM_ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"
STEAM_DIGITS = 5
_MIN_DIGITS, _MAX_DIGITS = 6, 10
_MAX_PERIOD = 3600
_MAX_COUNTER = 2**64 - 1  # the counter is packed into 8 bytes
_B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_VALUES = {ch: i for i, ch in enumerate(_B32_ALPHABET)}
_SMALL_INT = re.compile(r"[0-9]{1,20}")  # not int(): it accepts ' 6', '6_0' and non-ASCII digits


# --- validation helpers ---------------------------------------------------------------------


def _check_int(field: str, value: object, low: int, high: int) -> int:
    # bool is an int subclass; True as a digit count is a bug, not a value
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"OTP {field} must be a whole number.")
    if not low <= value <= high:
        raise InvalidInputError(f"OTP {field} must be between {low} and {high}.")
    return value


def _check_algorithm(algorithm: object) -> str:
    if algorithm not in ALGORITHMS:
        raise InvalidInputError(f"OTP algorithm must be one of {', '.join(ALGORITHMS)}.")
    return str(algorithm)


def _check_secret(secret: object) -> bytes:
    if not isinstance(secret, (bytes, bytearray)):
        raise InvalidInputError("OTP secret must be raw bytes.")
    if not secret:
        raise InvalidInputError("OTP secret is empty.")
    return bytes(secret)


def _check_time(at: object) -> float:
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
        raise InvalidInputError("OTP time must be a finite number of seconds.")
    if at < 0:
        raise InvalidInputError("OTP time must not be before 1970.")
    return at


def _check_text(field: str, value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInputError(f"OTP {field} must be text.")
    if value is not None and not value.isascii():
        try:
            value.encode("utf-8")  # lone surrogates could never be written into a URI
        except UnicodeEncodeError:
            raise InvalidInputError(f"OTP {field} is not valid text.") from None
    return value


# --- parameters -----------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class OtpParams:
    """Everything needed to produce codes for one account. Steam always has 5 characters."""

    secret: bytes  # raw key bytes
    kind: str = "totp"  # totp | hotp | steam
    algorithm: str = "SHA1"
    digits: int = 6  # steam is always 5
    period: int = 30
    counter: int = 0  # hotp only
    issuer: str | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise through the back door, once, here
        set_(self, "secret", _check_secret(self.secret))
        if self.kind not in KINDS:
            raise InvalidInputError(f"OTP kind must be one of {', '.join(KINDS)}.")
        _check_algorithm(self.algorithm)
        if self.kind == "steam":
            # Steam Guard is fixed at 5 characters of HMAC-SHA1; digits=6 is just the default
            if self.algorithm != "SHA1":
                raise InvalidInputError("OTP algorithm for Steam must be SHA1.")
            set_(self, "digits", STEAM_DIGITS)
        else:
            _check_int("digits", self.digits, _MIN_DIGITS, _MAX_DIGITS)
        _check_int("period", self.period, 1, _MAX_PERIOD)
        _check_int("counter", self.counter, 0, _MAX_COUNTER)
        _check_text("issuer", self.issuer)
        _check_text("label", self.label)

    def __repr__(self) -> str:
        # never the secret: reprs end up in logs, tracebacks and debugger panes
        return (
            f"OtpParams(kind={self.kind!r}, algorithm={self.algorithm!r}, digits={self.digits}, "
            f"period={self.period}, counter={self.counter}, issuer={self.issuer!r}, "
            f"label={self.label!r}, secret=<hidden>)"
        )


# --- base32 ---------------------------------------------------------------------------------


def decode_base32_secret(text: str) -> bytes:
    """Decode a base32 seed leniently: any case, spaces/dashes, missing or partial '=' padding.

    Seeds whose length is not a whole number of bytes (e.g. 14 characters = 70 bits) are
    accepted as authenticator apps do: trailing bits that don't fill a byte are dropped.
    """
    if not isinstance(text, str):
        raise InvalidInputError("OTP secret must be text.")
    # ASCII first: str.upper() maps e.g. 'ſ' to 'S', which would accept a garbled seed
    if not text.isascii():
        raise InvalidInputError("OTP secret is not valid base32: only A-Z and 2-7 are allowed.")
    cleaned = re.sub(r"[\s-]", "", text).upper().rstrip("=")
    if not cleaned:
        raise InvalidInputError("OTP secret is empty.")
    if any(ch not in _B32_VALUES for ch in cleaned):
        raise InvalidInputError("OTP secret is not valid base32: only A-Z and 2-7 are allowed.")
    secret = _base32_bits_to_bytes(cleaned)
    if not secret:
        raise InvalidInputError("OTP secret is too short: it decodes to no key bytes.")
    return secret


def _base32_bits_to_bytes(cleaned: str) -> bytes:
    bits = 0
    for ch in cleaned:
        bits = (bits << 5) | _B32_VALUES[ch]
    whole_bytes, spare_bits = divmod(len(cleaned) * 5, 8)
    return (bits >> spare_bits).to_bytes(whole_bytes, "big")


def encode_base32_secret(secret: bytes) -> str:
    """Upper-case base32 without '=' padding, the form otpauth:// URIs use."""
    secret = _check_secret(secret)
    bits = int.from_bytes(secret, "big")
    chars, spare = divmod(len(secret) * 8, 5)
    if spare:
        bits <<= 5 - spare  # pad the last group with zero bits
        chars += 1
    return "".join(_B32_ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(chars)))


# --- codes ----------------------------------------------------------------------------------


def _truncate(secret: bytes, counter: int, algorithm: str) -> int:
    """RFC 4226 dynamic truncation: the 31-bit number both HOTP digits and Steam build on."""
    mac = hmac.digest(secret, counter.to_bytes(8, "big"), algorithm.lower())
    offset = mac[-1] & 0x0F
    return int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF


def hotp(secret: bytes, counter: int, digits: int = 6, algorithm: str = "SHA1") -> str:
    secret = _check_secret(secret)
    _check_int("counter", counter, 0, _MAX_COUNTER)
    _check_int("digits", digits, _MIN_DIGITS, _MAX_DIGITS)
    number = _truncate(secret, counter, _check_algorithm(algorithm))
    return str(number % 10**digits).zfill(digits)


def _time_step(at: float, period: int) -> int:
    _check_int("period", period, 1, _MAX_PERIOD)
    return math.floor(_check_time(at)) // period


def totp(secret: bytes, at: float, period: int = 30, digits: int = 6, algorithm: str = "SHA1") -> str:
    return hotp(secret, _time_step(at, period), digits, algorithm)


def steam_code(secret: bytes, at: float, period: int = 30) -> str:
    """Steam Guard: the truncated number written in base 26, least significant first."""
    number = _truncate(_check_secret(secret), _time_step(at, period), "SHA1")
    chars = []
    for _ in range(STEAM_DIGITS):
        number, index = divmod(number, len(STEAM_ALPHABET))
        chars.append(STEAM_ALPHABET[index])
    return "".join(chars)


def seconds_left(at: float, period: int) -> int:
    """Whole seconds until the code changes, 1..period (a fresh code shows the full period)."""
    _check_int("period", period, 1, _MAX_PERIOD)
    return period - math.floor(_check_time(at)) % period


def current_code(params: OtpParams, at: float) -> tuple[str, int | None]:
    """(code, seconds left); HOTP has no clock, so it uses params.counter and returns None."""
    if params.kind == "hotp":
        return hotp(params.secret, params.counter, params.digits, params.algorithm), None
    if params.kind == "steam":
        code = steam_code(params.secret, at, params.period)
    else:
        code = totp(params.secret, at, params.period, params.digits, params.algorithm)
    return code, seconds_left(at, params.period)


# --- otpauth:// URIs ------------------------------------------------------------------------


def parse_otpauth_uri(uri: str) -> OtpParams:
    """Parse otpauth://totp|hotp|steam/... or steam://SECRET into OtpParams."""
    if not isinstance(uri, str):
        raise InvalidInputError("OTP URI must be text.")
    scheme, sep, rest = uri.strip().partition("://")
    scheme = scheme.lower()
    if sep and scheme == "steam":
        # Bitwarden's form: the bare seed after the scheme, nothing else
        return OtpParams(secret=decode_base32_secret(unquote(rest).rstrip("/")), kind="steam")
    if not sep or scheme != "otpauth":
        raise InvalidInputError("OTP URI must start with otpauth:// or steam://.")
    return _parse_otpauth_body(rest)


def _parse_otpauth_body(rest: str) -> OtpParams:
    rest = rest.partition("#")[0]
    head, _, query = rest.partition("?")
    kind, _, raw_label = head.partition("/")
    kind = kind.lower()
    if kind not in KINDS:
        raise InvalidInputError("OTP URI type must be totp, hotp or steam.")
    params = _parse_query(query)
    if "secret" not in params:
        raise InvalidInputError("OTP URI has no secret parameter.")
    prefix, label = _split_label(raw_label)
    steam = kind == "steam" or params.get("encoder", "").lower() == "steam"
    steam = steam or params.get("digits", "").lower() in ("s", "steam")  # KeePass-style marker
    return OtpParams(
        secret=decode_base32_secret(params["secret"]),
        kind="steam" if steam else kind,
        algorithm=_parse_algorithm(params.get("algorithm")),
        digits=STEAM_DIGITS if steam else _parse_number(params, "digits", 6),
        period=_parse_number(params, "period", 30),
        counter=_parse_counter(params, kind),
        issuer=params.get("issuer") or prefix,
        label=label,
    )


def _parse_query(query: str) -> dict[str, str]:
    """Query parameters, '+' as space; a repeated key is refused rather than guessed at."""
    params: dict[str, str] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key = unquote_plus(raw_key).strip().lower()
        if key in params:
            raise InvalidInputError(f"OTP URI repeats the {_safe_key(key)} parameter.")
        params[key] = unquote_plus(raw_value).strip()
    return params


def _safe_key(key: str) -> str:
    # the key is user text too; name it only if it is one we know
    known = ("secret", "issuer", "algorithm", "digits", "period", "counter", "encoder")
    return key if key in known else "same"


def _split_label(raw_label: str) -> tuple[str | None, str | None]:
    """'Issuer:account' -> (issuer, account); a literal ':' wins over an encoded '%3A'."""
    raw_label = raw_label.strip("/")
    if ":" in raw_label:
        raw_prefix, _, raw_account = raw_label.partition(":")
    else:
        parts = re.split("%3A", raw_label, maxsplit=1, flags=re.IGNORECASE)
        raw_prefix, raw_account = (parts[0], parts[1]) if len(parts) == 2 else ("", raw_label)
    prefix = unquote(raw_prefix).strip()
    account = unquote(raw_account).strip()  # the spec allows spaces after the colon
    return prefix or None, account or None


def _parse_algorithm(value: str | None) -> str:
    if not value:
        return "SHA1"
    name = value.upper().replace("-", "")
    if name not in ALGORITHMS:
        raise InvalidInputError(f"OTP URI algorithm must be one of {', '.join(ALGORITHMS)}.")
    return name


def _parse_number(params: dict[str, str], key: str, default: int) -> int:
    value = params.get(key)
    if value is None or value == "":
        return default
    if not _SMALL_INT.fullmatch(value):
        raise InvalidInputError(f"OTP URI {key} must be a whole number.")
    return int(value)


def _parse_counter(params: dict[str, str], kind: str) -> int:
    if kind != "hotp":
        return 0  # a counter on a time-based URI means nothing; ignore it
    if not params.get("counter"):
        raise InvalidInputError("OTP URI of type hotp needs a counter parameter.")
    return _parse_number(params, "counter", 0)


def to_otpauth_uri(params: OtpParams) -> str:
    """Build an otpauth:// URI; Steam is written as totp + encoder=steam (KeePassXC's form)."""
    kind = "totp" if params.kind == "steam" else params.kind
    label = quote(params.label or "", safe="")
    if params.issuer is not None:
        label = f"{quote(params.issuer, safe='')}:{label}"
    elif params.label and ":" in params.label:
        label = f":{label}"  # empty prefix, so the label's own ':' is not read as a separator
    # The Key URI Format's defaults (SHA1, 6 digits, 30 s) are left out: a shorter URI makes a
    # smaller QR code, which still fits an 80x24 terminal.
    query = [
        ("secret", encode_base32_secret(params.secret)),
        ("issuer", params.issuer),
        ("algorithm", params.algorithm if params.algorithm != "SHA1" else None),
        ("digits", str(params.digits) if params.digits != 6 else None),
        ("period", str(params.period) if params.period != 30 else None),
        ("counter", str(params.counter) if params.kind == "hotp" else None),
        ("encoder", "steam" if params.kind == "steam" else None),
    ]
    encoded = "&".join(f"{k}={quote(v, safe='')}" for k, v in query if v is not None)
    return f"otpauth://{kind}/{label}?{encoded}"


def parse_secret_or_uri(text: str) -> OtpParams:
    """A bare base32 seed (a default 30 s, 6-digit SHA1 TOTP) or an otpauth:// / steam:// URI."""
    if not isinstance(text, str):
        raise InvalidInputError("OTP secret must be text.")
    if "://" in text:
        return parse_otpauth_uri(text)
    return OtpParams(secret=decode_base32_secret(text))
