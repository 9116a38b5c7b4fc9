"""2FAS Authenticator backups (.2fas JSON, schema up to version 4), plain or password-encrypted.

A plain backup lists its tokens in `services`. An encrypted one leaves `services` empty and
holds them in `servicesEncrypted` = "b64(ciphertext+tag):b64(salt):b64(iv)", AES-256-GCM
under PBKDF2-HMAC-SHA256(password, salt, 10,000 iterations). The iteration count is fixed by
the format, not read from the file, so a hostile file cannot raise it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

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

FORMAT = "2fas"
_SCHEMA_VERSIONS = range(1, 5)
_KINDS = {"TOTP": "totp", "HOTP": "hotp", "STEAM": "steam"}
_PBKDF2_ITERATIONS = 10_000
_KEY_BYTES, _IV_BYTES, _TAG_BYTES = 32, 12, 16


def parse(data: bytes, source: str, password: bytes | None = None) -> Parsed:
    document = load_json(data, source)
    if not isinstance(document, dict) or "schemaVersion" not in document:
        raise ImportFileError(f"{source}: not a 2FAS backup (no \"schemaVersion\" in a JSON object)")
    version = document["schemaVersion"]
    if not isinstance(version, int) or isinstance(version, bool) or version not in _SCHEMA_VERSIONS:
        raise ImportFileError(f"{source}: unsupported 2FAS schema version (expected 1 to {_SCHEMA_VERSIONS[-1]})")
    if document.get("servicesEncrypted") is not None:
        services = _decrypt(document["servicesEncrypted"], source, password)
    else:
        services = document.get("services")
    if not isinstance(services, list):
        raise ImportFileError(f"{source}: not a 2FAS backup (no list of services)")
    return _read_services(services, source)


def _decrypt(blob: object, source: str, password: bytes | None) -> Any:
    parts = blob.split(":") if isinstance(blob, str) else []
    try:
        if len(parts) != 3:
            raise ValueError
        ciphertext, salt, iv = (base64.b64decode(part, validate=True) for part in parts)
    except (binascii.Error, ValueError):  # ValueError also covers non-ASCII text
        raise ImportFileError(f"{source}: servicesEncrypted is not base64 ciphertext:salt:iv") from None
    if len(iv) != _IV_BYTES or len(ciphertext) < _TAG_BYTES:
        raise ImportFileError(f"{source}: servicesEncrypted has an IV or ciphertext of the wrong length")
    if password is None:
        raise PasswordNeeded(f"{source}: this 2FAS backup is encrypted: a password is needed")
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=salt, iterations=_PBKDF2_ITERATIONS)
    try:
        content = AESGCM(kdf.derive(password)).decrypt(iv, ciphertext, None)
    except InvalidTag:
        raise ImportFileError(f"{source}: {WRONG_PASSWORD}") from None
    return load_json(content, source)


def _read_services(services: list[Any], source: str) -> Parsed:
    entries: list[Entry] = []
    problems: list[Problem] = []
    for number, service in enumerate(services, start=1):
        where = f"{source}: item {number}"
        if not isinstance(service, dict):
            problems.append(Problem(where, None, "not a JSON object"))
            continue
        otp = service.get("otp")
        title = _title(service, otp)
        where = titled(where, title)
        try:
            params = _otp_params(service, otp)
        except ItemProblem as problem:
            problems.append(problem.at(where))
            continue
        entries.append(Entry(where=where, kind=EntryKind.OTP, title=title, otp=params))
    return Parsed(source=source, format=FORMAT, entries=tuple(entries), problems=tuple(problems))


def _title(service: dict[str, Any], otp: object) -> str | None:
    """The issuer, else the service's name (2FAS fills both; older backups only the name)."""
    issuer = otp.get("issuer") if isinstance(otp, dict) else None
    for value in (issuer, service.get("name")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _otp_params(service: dict[str, Any], otp: object) -> OtpParams:
    if not isinstance(otp, dict):
        raise ItemProblem("otp", "missing, or not an object")
    token_type = otp.get("tokenType", "TOTP")
    if not isinstance(token_type, str) or token_type not in _KINDS:
        raise ItemProblem("otp.tokenType", f"not one of {', '.join(_KINDS)}")
    kind = _KINDS[token_type]
    return otp_from_fields(kind=kind, secret=service.get("secret"), algorithm=otp.get("algorithm", "SHA1"),
                           digits=otp.get("digits", 6), period=otp.get("period", 30), counter=otp.get("counter"),
                           issuer=_title(service, otp), label=_account(otp),
                           counter_field="otp.counter", settings_field="otp")


def _account(otp: dict[str, Any]) -> str | None:
    for key in ("account", "label"):
        value = otp.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
