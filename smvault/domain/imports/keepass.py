"""KeePass: KDBX 3.1 and 4 databases (opened by pykeepass) and KeePassXC's CSV export.

Entries are built as for Bitwarden (logins.login_entry): url is the entry's URL, extra
URLs (KeePassXC's KP2A_URL fields) and the group path go into the notes, custom fields are
left out (a note says so) and entries in the recycle bin are left out.

TOTP is read from, in this order: the "otp" field (KeePassXC: an otpauth:// URI), KeePass 2's
TimeOtp-* and HmacOtp-* fields, and KeePassXC's old "TOTP Seed" / "TOTP Settings" pair.

Key files are out of scope: a database that needs one reads as a wrong password.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping

from lxml import etree
from pykeepass import PyKeePass
from pykeepass.exceptions import CredentialsError, HeaderChecksumError, PayloadChecksumError
from pykeepass.kdbx_parsing.kdbx import KDBX
from pykeepass.kdbx_parsing.kdbx4 import kdf_uuids

from smvault.domain.errors import InvalidInputError
from smvault.domain.imports.kdf_limits import check_argon2_cost
from smvault.domain.imports.logins import item_where, left_out_fields, login_entry, named_otp, read_csv, read_totp
from smvault.domain.imports.model import (
    WRONG_PASSWORD,
    Entry,
    ImportFileError,
    ItemProblem,
    Parsed,
    PasswordNeeded,
    Problem,
)
from smvault.domain.imports.text import check_text, decode_text
from smvault.domain.otp import OtpParams, decode_base32_secret

FORMAT = "keepass"
KDBX_MAGIC = bytes.fromhex("03d9a29a67fb4bb5")  # 0x9AA2D903, 0xB54BFB67 little-endian
_KEEPASS_SIGNATURE = KDBX_MAGIC[:4]  # shared with KeePass 1 (.kdb) and pre-release formats

# The header says how expensive the key derivation is; a hostile file must not cost minutes
# or GBs (Argon2: kdf_limits). pykeepass runs AES-KDF in a Python loop (about 1.5 s per
# million rounds on a 2-core machine). KeePassXC's default is far below both caps.
AES_KDF_MAX_ROUNDS = 10_000_000
ARGON2_MAX_PARALLELISM = 64  # KeePassXC offers a lane per core
_TOO_COSTLY = "reduce the decryption time in KeePassXC's database security settings and save it again"

# the fields every entry has; the others are custom fields
_STANDARD_FIELDS = frozenset({"Title", "UserName", "Password", "URL", "Notes"})
_CSV_REQUIRED = ("title", "username", "password", "url")
_RECYCLE_BIN = "recycle bin"  # KeePassXC's name for it, as its CSV export writes the group path


def parse(data: bytes, source: str, password: bytes | None = None) -> Parsed:
    if data.startswith(KDBX_MAGIC):
        return _parse_kdbx(data, source, password)
    if data.startswith(_KEEPASS_SIGNATURE):
        raise ImportFileError(f"{source}: a KeePass database older than KDBX 3.1 (KeePass 1 .kdb?): "
                              "open it in KeePassXC, save it as a KDBX 4 database and import that")
    return _parse_csv(decode_text(data, source), source)


# --- KDBX -----------------------------------------------------------------------------------


def _parse_kdbx(data: bytes, source: str, password: bytes | None) -> Parsed:
    _check_key_derivation(_read_header(data, source), source)
    if password is None:
        raise PasswordNeeded(f"{source}: the KeePass database is protected by a password")
    try:
        text_password = password.decode("utf-8")  # pykeepass hashes the password's UTF-8
    except UnicodeDecodeError:
        raise ImportFileError(f"{source}: the password is not valid UTF-8 text") from None
    return _read_entries(_open_database(data, source, text_password), source)


def _read_header(data: bytes, source: str):
    """The outer header, parsed without deriving any key: KDF settings are checked first."""
    try:
        header = KDBX.header.parse(data).value
    except Exception:  # construct raises a dozen error types for malformed bytes
        raise ImportFileError(f"{source}: not a KeePass database, or the file is damaged") from None
    if header.major_version not in (3, 4):
        raise ImportFileError(f"{source}: KDBX version {header.major_version} is not supported "
                              "(expected 3.1 or 4): save the database in a current KeePassXC")
    return header


def _check_key_derivation(header, source: str) -> None:
    try:
        if header.major_version == 3:
            _check_aes_rounds(header.dynamic_header.transform_rounds.data, source)
            return
        settings = header.dynamic_header.kdf_parameters.data.dict
        kdf = settings["$UUID"].value
    except (AttributeError, KeyError, TypeError):  # a setting is missing or of the wrong kind
        raise _damaged_settings(source) from None

    def number(key: str) -> int:
        value = getattr(settings.get(key), "value", None)
        if type(value) is not int:  # a Flag parses as bool, bytes as bytes
            raise _damaged_settings(source)
        return value

    if kdf == kdf_uuids["aeskdf"]:
        _check_aes_rounds(number("R"), source)
    elif kdf in (kdf_uuids["argon2"], kdf_uuids["argon2id"]):
        # KDBX counts memory in bytes; a part of a KiB rounds up, as it costs one
        check_argon2_cost(number("I"), -(-number("M") // 1024), number("P"), source,
                          max_parallelism=ARGON2_MAX_PARALLELISM, advice=_TOO_COSTLY)
    else:
        raise ImportFileError(f"{source}: the database uses an unknown key derivation")


def _damaged_settings(source: str) -> ImportFileError:
    return ImportFileError(f"{source}: the database's key derivation settings are damaged")


def _check_aes_rounds(rounds: object, source: str) -> None:
    if type(rounds) is not int:
        raise _damaged_settings(source)
    if rounds > AES_KDF_MAX_ROUNDS:
        raise ImportFileError(f"{source}: the database's key derivation asks for {rounds:,} AES rounds "
                              f"(at most {AES_KDF_MAX_ROUNDS:,}): {_TOO_COSTLY}")


def _open_database(data: bytes, source: str, password: str) -> etree._Element:
    try:
        database = PyKeePass(io.BytesIO(data), password=password)
    except (CredentialsError, HeaderChecksumError, PayloadChecksumError):
        raise ImportFileError(f"{source}: {WRONG_PASSWORD}") from None
    except Exception:  # construct, zlib, lxml, Cryptodome and argon2 errors on damaged bytes
        raise ImportFileError(f"{source}: not a KeePass database, or the file is damaged") from None
    return database.tree.getroot()


def _read_entries(root: etree._Element, source: str) -> Parsed:
    """Entries in document order, history versions skipped, read straight from the XML."""
    recycle_bin = root.findtext("Meta/RecycleBinUUID")
    entries, problems, notes = [], [], []
    elements = [e for e in root.iterfind("Root//Entry") if e.getparent().tag == "Group"]
    for number, element in enumerate(elements, 1):
        fields = _string_fields(element)
        where = item_where(source, number, fields.get("Title"))
        groups = list(element.iterancestors("Group"))
        if recycle_bin and any(g.findtext("UUID") == recycle_bin for g in groups):
            notes.append(Problem(where, None, "left out: in the recycle bin"))
            continue
        # the path below the root group, which every entry shares
        path = "/".join(g.findtext("Name") or "" for g in reversed(groups[:-1]))
        try:
            entry = _entry(where, fields, path, notes)
        except ItemProblem as problem:
            problems.append(problem.at(where))
            continue
        if entry is None:
            notes.append(Problem(where, None, "left out: nothing to import"))
            continue
        entries.append(entry)
        custom = [k for k in fields if k not in _STANDARD_FIELDS and not _is_otp_or_url_field(k)]
        if custom:
            notes.append(left_out_fields(where, len(custom)))
    return Parsed(source, FORMAT, tuple(entries), tuple(problems), tuple(notes))


def _string_fields(element: etree._Element) -> dict[str, str]:
    fields: dict[str, str] = {}
    for string in element.iterfind("String"):
        key = string.findtext("Key")
        if key is not None:
            fields.setdefault(key, string.findtext("Value") or "")
    return fields


def _entry(where: str, fields: Mapping[str, str], path: str, notes: list[Problem]) -> Entry | None:
    title = check_text(fields.get("Title"), "Title")
    username = check_text(fields.get("UserName"), "UserName")
    extra_urls = [fields[k] for k in sorted(fields) if k.startswith("KP2A_URL") and fields[k]]
    url = check_text(fields.get("URL"), "URL")
    password = check_text(fields.get("Password"), "Password")
    return login_entry(where, title=title, username=username, password=password,
                       urls=[u for u in [url, *extra_urls] if u], otp=_otp(fields, title, username),
                       notes=check_text(fields.get("Notes"), "Notes"), filed_under=("Group", path or None),
                       left_out=notes)


# --- TOTP fields ----------------------------------------------------------------------------

# KeePass 2 stores a secret in one of four encodings, named by the field's suffix
_SECRET_DECODERS: dict[str, Callable[[str], bytes]] = {
    "-Base32": decode_base32_secret,
    "-Hex": bytes.fromhex,
    "-Base64": lambda text: base64.b64decode(text, validate=True),
    "": lambda text: text.encode("utf-8"),
}
_KEEPASS_ALGORITHMS = {"HMAC-SHA-1": "SHA1", "HMAC-SHA-256": "SHA256", "HMAC-SHA-512": "SHA512"}


def _is_otp_or_url_field(key: str) -> bool:
    return (key in ("otp", "TOTP Seed", "TOTP Settings") or key.startswith(("TimeOtp-", "HmacOtp-", "KP2A_URL")))


def _otp(fields: Mapping[str, str], title: str | None, username: str | None) -> OtpParams | None:
    if fields.get("otp"):
        return read_totp(fields["otp"], "otp", title, username)
    for prefix in ("TimeOtp-", "HmacOtp-"):
        for suffix, decode in _SECRET_DECODERS.items():
            field = f"{prefix}Secret{suffix}"
            if fields.get(field):
                return named_otp(_keepass2_otp(fields, prefix, field, decode), field, title, username)
    if fields.get("TOTP Seed"):
        return named_otp(_legacy_otp(fields), "TOTP Seed", title, username)
    return None


def _keepass2_otp(fields: Mapping[str, str], prefix: str, field: str,
                  decode: Callable[[str], bytes]) -> OtpParams:
    """KeePass 2.47's built-in OTP: TimeOtp-Length/-Period/-Algorithm, HmacOtp-Counter."""
    try:
        secret = decode(fields[field].strip())
    except (InvalidInputError, ValueError):  # otp.py's messages and binascii.Error name no input
        raise ItemProblem(field, "not a valid secret in this encoding") from None
    if prefix == "HmacOtp-":
        counter = _setting(fields, "HmacOtp-Counter", "0")
        return _otp_params(field, secret=secret, kind="hotp", counter=counter)
    algorithm = _KEEPASS_ALGORITHMS.get(fields.get("TimeOtp-Algorithm") or "HMAC-SHA-1")
    if algorithm is None:
        raise ItemProblem("TimeOtp-Algorithm", f"must be one of {', '.join(_KEEPASS_ALGORITHMS)}")
    return _otp_params(field, secret=secret, algorithm=algorithm, digits=_setting(fields, "TimeOtp-Length", "6"),
                       period=_setting(fields, "TimeOtp-Period", "30"))


def _legacy_otp(fields: Mapping[str, str]) -> OtpParams:
    """KeePassXC before 2.6: "TOTP Seed" (base32 or a URI) and "TOTP Settings" "period;digits",
    where digits "S" means Steam."""
    seed = read_totp(fields["TOTP Seed"], "TOTP Seed", None, None)
    if "://" in fields["TOTP Seed"] or not fields.get("TOTP Settings"):
        return seed
    period, _, digits = fields["TOTP Settings"].partition(";")
    if digits.strip().upper() == "S":
        return _otp_params("TOTP Settings", secret=seed.secret, kind="steam", period=_number("TOTP Settings", period))
    return _otp_params("TOTP Settings", secret=seed.secret, period=_number("TOTP Settings", period),
                       digits=_number("TOTP Settings", digits or "6"))


def _setting(fields: Mapping[str, str], key: str, default: str) -> int:
    return _number(key, fields.get(key) or default)


def _number(field: str, text: str) -> int:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise ItemProblem(field, "must be a whole number")
    return int(text)


def _otp_params(field: str, **settings) -> OtpParams:
    try:
        return OtpParams(**settings)
    except InvalidInputError as exc:  # names the setting, never the secret
        raise ItemProblem(field, exc.message.rstrip(".")) from None


# --- KeePassXC CSV --------------------------------------------------------------------------


def _parse_csv(text: str, source: str) -> Parsed:
    entries, problems, notes = [], [], []
    for row in read_csv(text, source, _CSV_REQUIRED):
        if isinstance(row, Problem):
            problems.append(row)
            continue
        where = f"{source}:{row.line}"
        cells = row.cells
        # KeePassXC writes the full group path, starting with the root group's name
        groups = cells.get("group", "").split("/")
        if any(g.strip().lower() == _RECYCLE_BIN for g in groups):
            notes.append(Problem(where, None, "left out: in the recycle bin"))
            continue
        title, username = cells["title"] or None, cells["username"] or None
        try:
            otp = read_totp(cells["totp"], "TOTP", title, username) if cells.get("totp") else None
        except ItemProblem as problem:
            problems.append(problem.at(where))
            continue
        entry = login_entry(where, title=title, username=username, password=cells["password"] or None,
                            urls=[cells["url"]] if cells["url"] else [], otp=otp, notes=cells.get("notes") or None,
                            filed_under=("Group", "/".join(groups[1:]) or None), left_out=notes)
        if entry is None:
            notes.append(Problem(where, None, "left out: nothing to import"))
            continue
        entries.append(entry)
    return Parsed(source, FORMAT, tuple(entries), tuple(problems), tuple(notes))
