"""Bitwarden exports: JSON (plain, or protected by a file password) and CSV.

Only logins become entries (JSON type 1, CSV type "login"); secure notes, cards, identities
and SSH keys are listed as left out. Logins are read as KeePass's are (logins.py: URLs,
folder, TOTP names, short seeds, values kept as written). Custom fields are not imported: a
"hidden" field is a secret and notes are not one. Each item that has some gets a note saying so.

A password-protected JSON export is opened as Bitwarden does: master key = PBKDF2-SHA256 or
Argon2id over the file password; enc/mac keys = HKDF-Expand(master, "enc"/"mac"); every
EncString "2.iv|data|mac" is AES-256-CBC whose HMAC-SHA256 is checked before decrypting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from argon2.exceptions import HashingError
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from smvault.domain.imports.kdf_limits import PBKDF2_MAX_ITERATIONS, check_argon2_cost
from smvault.domain.imports.logins import item_where, left_out_fields, login_entry, read_csv, read_totp
from smvault.domain.imports.model import (
    WRONG_PASSWORD,
    Entry,
    ImportFileError,
    ItemProblem,
    Parsed,
    PasswordNeeded,
    Problem,
)
from smvault.domain.imports.text import check_text, decode_text, is_unicode, load_json

FORMAT = "bitwarden"
_LEFT_OUT = {2: "a secure note", 3: "a card", 4: "an identity", 5: "an SSH key"}
_CSV_REQUIRED = ("type", "name", "login_uri", "login_username", "login_password", "login_totp")


# --- parsing --------------------------------------------------------------------------------


def parse(data: bytes, source: str, password: bytes | None = None) -> Parsed:
    text = decode_text(data, source)
    if text.lstrip().startswith(("{", "[")):  # a Bitwarden CSV starts with its header
        return _parse_export(load_json(data, source), source, password)
    return _parse_csv(text, source)


def _parse_export(document: object, source: str, password: bytes | None) -> Parsed:
    if not isinstance(document, dict):
        raise ImportFileError(f"{source}: not a Bitwarden export (expected a JSON object)")
    if document.get("encrypted") is True:
        document = _decrypt_export(document, source, password)
    items = document.get("items")
    if not isinstance(items, list):
        raise ImportFileError(f'{source}: not a Bitwarden export (no "items" list)')
    folders = _folder_names(document.get("folders"))
    entries, problems, notes = [], [], []
    for number, item in enumerate(items, 1):
        where = item_where(source, number, item.get("name") if isinstance(item, dict) else None)
        if not isinstance(item, dict):
            problems.append(Problem(where, None, "not a Bitwarden item (expected a JSON object)"))
            continue
        kind = item.get("type")
        kind = kind if type(kind) is int else None  # not isinstance: True == 1, but is no item type
        if kind != 1:
            notes.append(Problem(where, None, f"left out: {_LEFT_OUT.get(kind, 'an item of unknown type')}"))
            continue
        try:
            entry = _login_item(item, where, folders, notes)
        except ItemProblem as problem:
            problems.append(problem.at(where))
            continue
        if entry is None:
            notes.append(Problem(where, None, "left out: nothing to import"))
            continue
        entries.append(entry)
        if isinstance(item.get("fields"), list) and item["fields"]:
            notes.append(left_out_fields(where, len(item["fields"])))
    return Parsed(source, FORMAT, tuple(entries), tuple(problems), tuple(notes))


def _folder_names(folders: object) -> dict[str, str]:
    """folder id -> name; malformed folders are ignored (they only add a line to notes)."""
    if not isinstance(folders, list):
        return {}
    return {f["id"]: f["name"] for f in folders
            if isinstance(f, dict) and isinstance(f.get("id"), str) and isinstance(f.get("name"), str)
            and is_unicode(f["name"])}


def _login_item(item: dict, where: str, folders: Mapping[str, str], notes: list[Problem]) -> Entry | None:
    login = item.get("login") or {}
    if not isinstance(login, dict):
        raise ItemProblem("login", "must be a JSON object")
    title = check_text(item.get("name"), "name")
    username = check_text(login.get("username"), "username")
    totp = check_text(login.get("totp"), "totp")
    folder_id = item.get("folderId")
    return login_entry(
        where,
        title=title,
        username=username,
        password=check_text(login.get("password"), "password"),
        urls=_uris(login.get("uris")),
        otp=read_totp(totp, "totp", title, username) if totp else None,
        notes=check_text(item.get("notes"), "notes"),
        filed_under=("Folder", folders.get(folder_id) if isinstance(folder_id, str) else None),
        left_out=notes,
    )


def _uris(uris: object) -> list[str]:
    if uris is None:
        return []
    if not isinstance(uris, list) or not all(isinstance(u, dict) for u in uris):
        raise ItemProblem("uris", "must be a list of objects with a uri")
    return [uri for u in uris if (uri := check_text(u.get("uri"), "uris")) is not None]


def _parse_csv(text: str, source: str) -> Parsed:
    entries, problems, notes = [], [], []
    for row in read_csv(text, source, _CSV_REQUIRED):
        if isinstance(row, Problem):
            problems.append(row)
            continue
        where = f"{source}:{row.line}"
        cells = row.cells
        kind = cells["type"].strip().lower()
        if kind != "login":
            notes.append(Problem(where, None, "left out: " + ("a secure note" if kind == "note" else "not a login")))
            continue
        title = cells["name"] or None
        username = cells["login_username"] or None
        try:
            otp = read_totp(cells["login_totp"], "login_totp", title, username) if cells["login_totp"] else None
        except ItemProblem as problem:
            problems.append(problem.at(where))
            continue
        # Bitwarden writes several URIs into one cell, separated by commas
        urls = [u.strip() for u in cells["login_uri"].split(",") if u.strip()]
        entry = login_entry(where, title=title, username=username, password=cells["login_password"] or None,
                            urls=urls, otp=otp, notes=cells.get("notes") or None,
                            filed_under=("Folder", cells.get("folder") or None), left_out=notes)
        if entry is None:
            notes.append(Problem(where, None, "left out: nothing to import"))
            continue
        entries.append(entry)
        if cells.get("fields"):
            notes.append(left_out_fields(where))
    return Parsed(source, FORMAT, tuple(entries), tuple(problems), tuple(notes))


# --- password-protected JSON ----------------------------------------------------------------


@dataclass(frozen=True)
class _EncString:
    iv: bytes
    ciphertext: bytes
    mac: bytes


def _decrypt_export(document: dict, source: str, password: bytes | None) -> dict:
    if document.get("passwordProtected") is not True:
        raise ImportFileError(
            f"{source}: this Bitwarden export is encrypted with the account's own key, which only "
            "Bitwarden can open: export again with the file type \"Password protected\" or unencrypted")
    derive = _master_key_function(document, source)
    validation = _enc_string(document, "encKeyValidation_DO_NOT_EDIT", source)
    payload = _enc_string(document, "data", source)
    if password is None:
        raise PasswordNeeded(f"{source}: the Bitwarden export is protected by a password")
    try:
        master = derive(password)
    except (HashingError, MemoryError):  # the memory could not be had; the message holds no secret
        raise ImportFileError(f"{source}: the file's key could not be derived (not enough memory?)") from None
    enc_key, mac_key = (HKDFExpand(hashes.SHA256(), 32, info).derive(master) for info in (b"enc", b"mac"))
    if _open(validation, enc_key, mac_key) is None:
        raise ImportFileError(f"{source}: {WRONG_PASSWORD}")
    plain = _open(payload, enc_key, mac_key)
    if plain is None:
        raise ImportFileError(f"{source}: {WRONG_PASSWORD}")
    try:
        inner = load_json(plain, source)
    except ImportFileError:  # its line numbers would be the decrypted text's, not the file's
        raise ImportFileError(f"{source}: the decrypted data is not a Bitwarden export") from None
    if not isinstance(inner, dict) or inner.get("encrypted") is True:
        raise ImportFileError(f"{source}: the decrypted data is not a Bitwarden export")
    return inner


def _master_key_function(document: dict, source: str) -> Callable[[bytes], bytes]:
    """Check the key-derivation settings before spending anything on them."""
    salt = document.get("salt")
    if not isinstance(salt, str) or not salt or not salt.isascii():
        raise ImportFileError(f"{source}: salt is missing or damaged")
    salt_bytes = salt.encode("ascii")  # Bitwarden salts with the base64 text itself
    kdf = document.get("kdfType")
    if type(kdf) is int and kdf == 0:
        iterations = _whole_number(document, "kdfIterations", source)
        if not 1 <= iterations <= PBKDF2_MAX_ITERATIONS:
            raise ImportFileError(f"{source}: kdfIterations must be from 1 to {PBKDF2_MAX_ITERATIONS:,} "
                                  "(more would take too long to open)")
        return lambda password: hashlib.pbkdf2_hmac("sha256", password, salt_bytes, iterations, 32)
    if type(kdf) is int and kdf == 1:
        time_cost, memory_mib, parallelism = (_whole_number(document, key, source)
                                              for key in ("kdfIterations", "kdfMemory", "kdfParallelism"))
        check_argon2_cost(time_cost, memory_mib * 1024, parallelism, source)  # Bitwarden counts MiB
        argon2_salt = hashlib.sha256(salt_bytes).digest()
        return lambda password: hash_secret_raw(password, argon2_salt, time_cost=time_cost,
                                                memory_cost=memory_mib * 1024, parallelism=parallelism,
                                                hash_len=32, type=Type.ID)
    raise ImportFileError(f"{source}: unknown kdfType: expected 0 (PBKDF2) or 1 (Argon2id)")


def _whole_number(document: dict, key: str, source: str) -> int:
    value = document.get(key)
    if type(value) is not int:  # not isinstance: True is no iteration count
        raise ImportFileError(f"{source}: {key} must be a whole number")
    return value


def _enc_string(document: dict, key: str, source: str) -> _EncString:
    value = document.get(key)
    if not isinstance(value, str):
        raise ImportFileError(f"{source}: {key} is missing")
    enc_type, _, body = value.partition(".")
    if enc_type != "2":
        raise ImportFileError(f"{source}: {key} uses an unknown encryption type "
                              "(expected 2, AES-256-CBC with HMAC-SHA256)")
    parts = body.split("|")
    if len(parts) != 3:
        raise ImportFileError(f"{source}: {key} is damaged")
    try:
        iv, ciphertext, mac = (base64.b64decode(part, validate=True) for part in parts)
    except ValueError:  # bad base64, or non-ASCII text
        raise ImportFileError(f"{source}: {key} is damaged") from None
    if len(iv) != 16 or len(mac) != 32 or not ciphertext or len(ciphertext) % 16:
        raise ImportFileError(f"{source}: {key} is damaged")
    return _EncString(iv, ciphertext, mac)


def _open(sealed: _EncString, enc_key: bytes, mac_key: bytes) -> bytes | None:
    """The plaintext, or None when the MAC (checked first, in constant time) or padding fails."""
    expected = hmac.new(mac_key, sealed.iv + sealed.ciphertext, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, sealed.mac):
        return None
    decryptor = Cipher(algorithms.AES(enc_key), modes.CBC(sealed.iv)).decryptor()
    padded = decryptor.update(sealed.ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return None
