"""Aegis Authenticator vaults (JSON export or backup), plain or password-encrypted.

A plain vault has its entries in `db`. An encrypted one has `db` as base64 AES-256-GCM
ciphertext under a random master key; `header.slots` seals that master key once per way of
unlocking. A password slot (type 1) seals it under scrypt(password, salt, n, r, p); biometric
slots need the phone's keystore and cannot be used here. Every hex, base64 and scrypt value
comes from the file, so each is checked before use, and scrypt costs are capped: a hostile
file must not make us spend minutes or gigabytes.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from smvault.domain.imports.model import (
    WRONG_PASSWORD,
    Entry,
    EntryKind,
    ImportFileError,
    ItemProblem,
    Parsed,
    PasswordNeeded,
    Problem,
    otp_from_fields,
)
from smvault.domain.imports.text import load_json, titled
from smvault.domain.otp import OtpParams

FORMAT = "aegis"
_VAULT_VERSION = 1
_DB_VERSIONS = (1, 2, 3)  # entries kept their shape; later versions changed how groups are stored
_KINDS = ("totp", "hotp", "steam")
_LEFT_OUT = ("motp", "yandex")  # code schemes smvault does not compute
_PASSWORD_SLOT = 1
_NONCE_BYTES, _TAG_BYTES, _KEY_BYTES = 12, 16, 32
# Aegis itself uses n=2**15, r=8, p=1 (32 MiB, well under a second)
_MAX_SCRYPT_N, _MAX_SCRYPT_R, _MAX_SCRYPT_P = 2**20, 32, 16
_MAX_SCRYPT_MEMORY = 1024**3  # scrypt needs 128 * n * r bytes
_MAX_SCRYPT_WORK = 2**24  # n * r * p over every password slot: 64 times Aegis's own cost
_MAX_PASSWORD_SLOTS = 4  # each one costs a derivation; Aegis writes one


@dataclass(frozen=True)
class _Sealed:
    """AES-256-GCM ciphertext with its nonce and tag, as Aegis stores them side by side."""

    ciphertext: bytes
    nonce: bytes
    tag: bytes

    def open(self, key: bytes) -> bytes | None:
        try:
            return AESGCM(key).decrypt(self.nonce, self.ciphertext + self.tag, None)
        except (InvalidTag, ValueError):  # ValueError: a sealed "master key" of the wrong size
            return None


@dataclass(frozen=True)
class _PasswordSlot:
    master_key: _Sealed
    salt: bytes
    n: int
    r: int
    p: int


class _BadHeader(Exception):
    """Internal: the header is not what Aegis writes; reported as one ImportFileError."""


def parse(data: bytes, source: str, password: bytes | None = None) -> Parsed:
    document = load_json(data, source)
    if not isinstance(document, dict) or "db" not in document:
        raise ImportFileError(f"{source}: not an Aegis vault (no \"db\" in a JSON object)")
    if not _is_int(document.get("version")) or document["version"] != _VAULT_VERSION:
        raise ImportFileError(f"{source}: unsupported Aegis vault version (expected {_VAULT_VERSION})")
    db = document["db"]
    if isinstance(db, str):
        db = _decrypt(document.get("header"), db, source, password)
    if not isinstance(db, dict) or not isinstance(db.get("entries"), list):
        raise ImportFileError(f"{source}: not an Aegis vault (no list of entries in \"db\")")
    if not _is_int(db.get("version")) or db["version"] not in _DB_VERSIONS:
        raise ImportFileError(f"{source}: unsupported Aegis database version "
                              f"(expected one of {', '.join(map(str, _DB_VERSIONS))})")
    return _read_entries(db["entries"], source)


# --- decryption -----------------------------------------------------------------------------


def _decrypt(header: object, db_text: str, source: str, password: bytes | None) -> Any:
    try:
        slots = _password_slots(header)
        sealed_db = _sealed(_base64(db_text), _field(header, "params"))
    except _BadHeader as exc:
        raise ImportFileError(f"{source}: the Aegis vault header is malformed ({exc})") from None
    if not slots:
        raise ImportFileError(f"{source}: this Aegis vault has no password slot (it opens only with "
                              "biometrics on the phone): export it again with a password")
    for slot in slots:
        if (problem := _scrypt_cost_problem(slot)) is not None:
            raise ImportFileError(f"{source}: refusing the vault's scrypt parameters: {problem}")
    if sum(slot.n * slot.r * slot.p for slot in slots) > _MAX_SCRYPT_WORK:  # each slot is tried in turn
        raise ImportFileError(f"{source}: refusing the vault's scrypt parameters: its password slots "
                              "together would take minutes of work")
    if password is None:
        raise PasswordNeeded(f"{source}: this Aegis vault is encrypted: a password is needed")
    for slot in slots:
        try:
            key = Scrypt(salt=slot.salt, length=_KEY_BYTES, n=slot.n, r=slot.r, p=slot.p).derive(password)
        except MemoryError:  # the machine could not spare what the (capped) parameters need
            raise ImportFileError(f"{source}: the vault's key could not be derived (not enough memory)") from None
        master_key = slot.master_key.open(key)
        if master_key is not None:
            content = sealed_db.open(master_key)
            if content is not None:
                return load_json(content, source)
    raise ImportFileError(f"{source}: {WRONG_PASSWORD}")


def _password_slots(header: object) -> list[_PasswordSlot]:
    slots = _field(header, "slots")
    if not isinstance(slots, list):
        raise _BadHeader("slots is not a list")
    found: list[_PasswordSlot] = []
    for slot in slots:
        kind = _field(slot, "type")
        if not _is_int(kind) or kind != _PASSWORD_SLOT:
            continue
        found.append(_PasswordSlot(
            master_key=_sealed(_hex(slot, "key"), _field(slot, "key_params")),
            salt=_hex(slot, "salt"), n=_number(slot, "n"), r=_number(slot, "r"), p=_number(slot, "p"),
        ))
    if len(found) > _MAX_PASSWORD_SLOTS:
        raise _BadHeader(f"more than {_MAX_PASSWORD_SLOTS} password slots")
    return found


def _scrypt_cost_problem(slot: _PasswordSlot) -> str | None:
    n, r, p = slot.n, slot.r, slot.p
    if n < 2 or n & (n - 1):
        return f"n={n} is not a power of 2"
    if n > _MAX_SCRYPT_N or not 1 <= r <= _MAX_SCRYPT_R or not 1 <= p <= _MAX_SCRYPT_P:
        return f"n={n}, r={r}, p={p} is outside n<={_MAX_SCRYPT_N}, r=1..{_MAX_SCRYPT_R}, p=1..{_MAX_SCRYPT_P}"
    if 128 * n * r > _MAX_SCRYPT_MEMORY or n * r * p > _MAX_SCRYPT_WORK:
        return f"n={n}, r={r}, p={p} would take more than 1 GiB of memory or minutes of work"
    return None


def _sealed(ciphertext: bytes, params: object) -> _Sealed:
    nonce, tag = _hex(params, "nonce"), _hex(params, "tag")
    if len(nonce) != _NONCE_BYTES or len(tag) != _TAG_BYTES:
        raise _BadHeader("a nonce or tag has the wrong length")
    return _Sealed(ciphertext=ciphertext, nonce=nonce, tag=tag)


def _field(obj: object, key: str) -> object:
    if not isinstance(obj, dict) or key not in obj:
        raise _BadHeader(f"no {key!r}")
    return obj[key]


def _hex(obj: object, key: str) -> bytes:
    value = _field(obj, key)
    try:
        if not isinstance(value, str):
            raise ValueError
        return bytes.fromhex(value)
    except ValueError:
        raise _BadHeader(f"{key!r} is not hex") from None


def _number(obj: object, key: str) -> int:
    value = _field(obj, key)
    if not _is_int(value):
        raise _BadHeader(f"{key!r} is not a whole number")
    return value  # type: ignore[return-value]


def _base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII text
        raise _BadHeader("db is not base64") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- entries --------------------------------------------------------------------------------


def _read_entries(items: list[Any], source: str) -> Parsed:
    entries: list[Entry] = []
    problems: list[Problem] = []
    notes: list[Problem] = []
    for number, item in enumerate(items, start=1):
        where = f"{source}: item {number}"
        if not isinstance(item, dict):
            problems.append(Problem(where, None, "not a JSON object"))
            continue
        title = _title(item)
        where = titled(where, title)
        kind = item.get("type")
        if kind in _LEFT_OUT:
            notes.append(Problem(where, "type", f"{kind} entries are not supported: left out"))
            continue
        try:
            params = _otp_params(item)
        except ItemProblem as problem:
            problems.append(problem.at(where))
            continue
        entries.append(Entry(where=where, kind=EntryKind.OTP, title=title, otp=params))
    return Parsed(source=source, format=FORMAT, entries=tuple(entries), problems=tuple(problems),
                  notes=tuple(notes))


def _title(item: dict[str, Any]) -> str | None:
    for key in ("issuer", "name"):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _otp_params(item: dict[str, Any]) -> OtpParams:
    kind = item.get("type")
    if kind not in _KINDS:
        raise ItemProblem("type", f"not one of {', '.join(_KINDS)}")
    info = item.get("info")
    if not isinstance(info, dict):
        raise ItemProblem("info", "missing, or not an object")
    return otp_from_fields(kind=kind, secret=info.get("secret"), algorithm=info.get("algo", "SHA1"),
                           digits=info.get("digits", 6), period=info.get("period", 30), counter=info.get("counter"),
                           issuer=_text(item, "issuer"), label=_text(item, "name"),
                           counter_field="counter", settings_field="info")


def _text(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise ItemProblem(key, "not text")
    if value is None:
        return None
    return value.strip() or None
