"""The handover packet: accounts and their secrets, sealed for another team under a passphrase.

A packet is a text file. Its first line is a JSON header that anyone may read (who it is for,
from which vault, which accounts, how the key is derived); the rest is the base64 of the
payload JSON sealed with an AEAD whose key is Argon2id(passphrase). The AEAD's associated
data is the header line itself, byte for byte: a header edited in any way makes the packet
refuse to open, as a wrong passphrase does.

Passphrases are generated, never chosen: 12 words of the SLIP-39 wordlist (1024 words,
distinct in their first four letters, so 120 bits), easy to read aloud and to type.
Case, hyphens, spacing and Unicode width (NFKC: a non-breaking space is a space) do not
matter when it is typed back.

Reading never raises anything but ImportFileError, whatever the bytes: the file may come
from anywhere. The key derivation's costs are capped, so a hostile header cannot make us
spend gigabytes or minutes.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from argon2.exceptions import HashingError
from argon2.low_level import ARGON2_VERSION, Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from shamir_mnemonic.wordlist import WORDLIST

from smvault.domain.imports.kdf_limits import check_argon2_cost
from smvault.domain.imports.model import ImportFileError
from smvault.domain.imports.text import is_unicode
from smvault.domain.text import has_control_chars

FORMAT = "smvault-handover"
VERSION = 1
CIPHERS = {"AES-256-GCM": AESGCM, "ChaCha20-Poly1305": ChaCha20Poly1305}
DEFAULT_CIPHER = "AES-256-GCM"
KEY_LEN = 32
NONCE_LEN = 12
SALT_LEN = 16
MAX_SALT_LEN = 64
TAG_LEN = 16  # both ciphers' authentication tag: a shorter sealed part cannot be a packet
PASSPHRASE_WORDS = 12  # 12 x log2(1024) = 120 bits

_HEADER_KEYS = ("format", "version", "packet", "to", "from_vault", "created_at", "created_by",
                "accounts", "kdf", "cipher", "nonce")
_KDF_KEYS = ("name", "time_cost", "memory_kib", "parallelism", "salt")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class KdfParams:
    """Argon2id costs: passes, memory in KiB, lanes."""

    time_cost: int
    memory_kib: int
    parallelism: int


@dataclass(frozen=True)
class PacketHeader:
    """The readable first line of a packet. `raw` is the line as written: the AEAD's
    associated data."""

    packet_id: str
    to: str
    from_vault: str
    created_at: str
    created_by: str
    accounts: tuple[str, ...]
    kdf: KdfParams
    salt: bytes
    cipher: str
    nonce: bytes
    raw: bytes


def new_passphrase() -> str:
    """12 random words of the SLIP-39 wordlist, space-separated: 120 bits from `secrets`."""
    return " ".join(secrets.choice(WORDLIST) for _ in range(PASSPHRASE_WORDS))


def _normalized(passphrase: bytes) -> bytes:
    # What a person types back: any case, words split by any spaces (a non-breaking one pasted
    # from a document too), hyphens or line breaks. ASCII words come out as they always did.
    text = unicodedata.normalize("NFKC", passphrase.decode("utf-8", "replace"))
    return " ".join(text.lower().replace("-", " ").split()).encode("utf-8")


def _key(passphrase: bytes, salt: bytes, kdf: KdfParams) -> bytes:
    return hash_secret_raw(secret=_normalized(passphrase), salt=salt, time_cost=kdf.time_cost,
                           memory_cost=kdf.memory_kib, parallelism=kdf.parallelism, hash_len=KEY_LEN,
                           type=Type.ID, version=ARGON2_VERSION)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seal(payload: dict[str, Any], *, packet_id: str, to: str, from_vault: str, created_at: str,
         created_by: str, accounts: Sequence[str], passphrase: str, kdf: KdfParams,
         cipher: str = DEFAULT_CIPHER) -> bytes:
    """The packet's bytes: the header line, then the sealed payload in base64."""
    _check_kdf(kdf, "packet")
    salt, nonce = os.urandom(SALT_LEN), os.urandom(NONCE_LEN)
    header = {
        "format": FORMAT, "version": VERSION, "packet": packet_id, "to": to, "from_vault": from_vault,
        "created_at": created_at, "created_by": created_by, "accounts": list(accounts),
        "kdf": {"name": "argon2id", "time_cost": kdf.time_cost, "memory_kib": kdf.memory_kib,
                "parallelism": kdf.parallelism, "salt": _b64(salt)},
        "cipher": cipher, "nonce": _b64(nonce),
    }
    line = json.dumps(header, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    plain = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    sealed = CIPHERS[cipher](_key(passphrase.encode("utf-8"), salt, kdf)).encrypt(nonce, plain, line)
    return line + b"\n" + base64.b64encode(sealed) + b"\n"


# --- reading --------------------------------------------------------------------------------------


def _split(data: bytes, source: str) -> tuple[bytes, bytes]:
    data = data.removeprefix(_BOM)
    line, newline, body = data.partition(b"\n")
    if not newline or not line.startswith(b"{"):
        raise ImportFileError(f"{source}: not an smvault handover packet (no header line)")
    # A CR added by a Windows editor or mail client is not part of the header as written.
    return line.removesuffix(b"\r"), body


def _field(source: str, name: str, problem: str) -> ImportFileError:
    return ImportFileError(f"{source}: header: {name}: {problem}")


def _text(header: dict, name: str, source: str) -> str:
    value = header[name]
    if not isinstance(value, str) or not value:
        raise _field(source, name, "must be non-empty text")
    if not _printable(value):
        raise _field(source, name, "holds control characters or text that is not valid Unicode")
    return value


def _printable(text: str) -> bool:
    """The header is read before anything proves who wrote it, and `handover inspect` prints
    it: lone surrogates would crash the terminal output, control characters rewrite it."""
    return is_unicode(text) and not has_control_chars(text)


def _int(kdf: dict, name: str, source: str) -> int:
    value = kdf[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _field(source, f"kdf.{name}", "must be a whole number")
    return value


def _bytes(value: object, name: str, source: str, low: int, high: int) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else None
    except (binascii.Error, ValueError):
        raw = None
    if raw is None or not low <= len(raw) <= high:
        size = f"{low}" if low == high else f"{low} to {high}"
        raise _field(source, name, f"must be {size} bytes in base64")
    return raw


def _check_kdf(kdf: KdfParams, source: str) -> None:
    """Argon2's own minimums, and the caps on what a packet may ask of its reader."""
    check_argon2_cost(kdf.time_cost, kdf.memory_kib, kdf.parallelism, f"{source}: header: kdf")


def _parse_header(line: bytes, source: str) -> PacketHeader:
    try:
        header = json.loads(line.decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ImportFileError(f"{source}: line 1: the packet header is not valid JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ImportFileError(f"{source}: not an smvault handover packet")
    version = header.get("version")
    if type(version) is not int or version != VERSION:  # not True, not 1.0
        shown = version if type(version) is int and abs(version) < 10**6 else "?"
        raise ImportFileError(f"{source}: handover packet version {shown} is not supported"
                              f" (this smvault reads version {VERSION})")
    missing = [key for key in _HEADER_KEYS if key not in header]
    if missing:
        raise _field(source, missing[0], "missing")
    if set(header) - set(_HEADER_KEYS):
        raise ImportFileError(f"{source}: header: a field this version does not have")
    accounts = header["accounts"]
    if not isinstance(accounts, list) or not all(isinstance(a, str) and a and _printable(a) for a in accounts):
        raise _field(source, "accounts", "must be a list of account names")
    kdf = header["kdf"]
    if not isinstance(kdf, dict) or sorted(kdf) != sorted(_KDF_KEYS):
        raise _field(source, "kdf", f"must hold exactly {', '.join(_KDF_KEYS)}")
    if kdf["name"] != "argon2id":
        raise _field(source, "kdf.name", "must be argon2id")
    params = KdfParams(_int(kdf, "time_cost", source), _int(kdf, "memory_kib", source),
                       _int(kdf, "parallelism", source))
    _check_kdf(params, source)
    if not isinstance(header["cipher"], str) or header["cipher"] not in CIPHERS:
        raise _field(source, "cipher", f"must be one of {', '.join(CIPHERS)}")
    return PacketHeader(
        packet_id=_text(header, "packet", source), to=_text(header, "to", source),
        from_vault=_text(header, "from_vault", source), created_at=_text(header, "created_at", source),
        created_by=_text(header, "created_by", source), accounts=tuple(accounts), kdf=params,
        salt=_bytes(kdf["salt"], "kdf.salt", source, SALT_LEN, MAX_SALT_LEN), cipher=header["cipher"],
        nonce=_bytes(header["nonce"], "nonce", source, NONCE_LEN, NONCE_LEN), raw=line,
    )


def read_header(data: bytes, source: str) -> PacketHeader:
    """The packet's header, checked (no passphrase needed); ImportFileError if it is not one."""
    line, _ = _split(data, source)
    return _parse_header(line, source)


def open_packet(data: bytes, source: str, passphrase: bytes) -> tuple[PacketHeader, dict[str, Any]]:
    """The header and the payload ({"accounts": [...]}, each account still to be checked)."""
    line, body = _split(data, source)
    header = _parse_header(line, source)
    try:
        sealed = base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ImportFileError(f"{source}: line 2: the sealed part is not base64") from None
    if len(sealed) < TAG_LEN:  # checked before the key derivation spends anything
        raise ImportFileError(f"{source}: line 2: the sealed part is missing or cut short")
    try:
        key = _key(passphrase, header.salt, header.kdf)
    except HashingError as exc:  # e.g. the memory could not be allocated; never secret
        raise ImportFileError(f"{source}: the packet's key could not be derived ({exc})") from None
    try:
        plain = CIPHERS[header.cipher](key).decrypt(header.nonce, sealed, header.raw)
    except InvalidTag:
        raise ImportFileError(f"{source}: wrong passphrase, or the packet was altered") from None
    try:
        payload = json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("accounts"), list):
        raise ImportFileError(f"{source}: the packet opened, but its contents are not a list of accounts")
    return header, payload
