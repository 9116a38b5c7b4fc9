"""Fuzzing the authenticator-app importers: for ANY bytes, `parse` returns a Parsed or raises
ImportFileError (PasswordNeeded included), never another exception, and no secret from the
input (seed or password) shows up in a problem or error message.

Inputs are random bytes, byte-level mutations of a valid file built here, and (for JSON and
protobuf formats) structural mutations: a value anywhere replaced by a random one, or removed.
Encrypted formats are built with a cheap KDF cost so every example stays fast.
"""

from __future__ import annotations

import base64
import copy
import json
import os
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smvault.domain.imports import ImportFileError, Parsed
from smvault.domain.imports import aegis, google_migration, otpauth_list, twofas
from smvault.domain.otp import decode_base32_secret

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PASSWORD = b"Fuzz-Password-42"
# Seeds long enough that no message could contain one by chance
SEEDS = ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U", "JRZCL47CMXVOQMNPZR2F7J4RGI")
Parser = Callable[[bytes, str, "bytes | None"], Parsed]


def assert_parses_safely(parse: Parser, data: bytes, password: bytes | None = None) -> None:
    try:
        parsed = parse(data, "input", password)
    except ImportFileError as exc:
        assert exc.message.startswith("input"), exc.message
        assert_no_secret(exc.message)
        exc.message.encode("utf-8")  # a terminal can print it
        return
    assert isinstance(parsed, Parsed)
    for problem in (*parsed.problems, *parsed.notes):
        # `where` names the item by its title, which is the file's own text: only field and
        # message are ours, and those never quote a value
        assert_no_secret(f"{problem.field} {problem.message}")
        assert problem.where.startswith("input")
        str(problem).encode("utf-8")  # no lone surrogate ("\ud800" is valid JSON) reaches a message
    for entry in parsed.entries:
        assert entry.otp is not None and entry.where.startswith("input")
        assert len(entry.otp.secret) >= 8  # 64 bits at least: a shorter seed is damaged
        for text in (entry.where, entry.title or "", entry.otp.issuer or "", entry.otp.label or ""):
            text.encode("utf-8")


def assert_no_secret(text: str) -> None:
    lowered = text.lower()
    assert PASSWORD.decode().lower() not in lowered
    assert not any(seed.lower() in lowered for seed in SEEDS), text


# --- strategies -----------------------------------------------------------------------------

TOKENS = [b'"', b"{", b"}", b"[", b"]", b",", b":", b"null", b"true", b"-1", b"1e999", b"0.5",
          b'"\\ud800"', b"99999999999999999999999", b"9" * 4400, b"%", b"%2", b"+", b"=", b"&", b"?", b"#",
          b"\n", b"\r",
          b"\x00", b"\xff", b"otpauth://", b"steam://", b"otpauth-migration://offline?data=", b"&data="]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)
    | st.sampled_from(["", "totp", "hotp", "steam", "motp", "TOTP", "HOTP", "STEAM", "SHA512", "MD5", "\ud800"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)


@st.composite
def byte_mutations(draw: st.DrawFn, valid: bytes) -> bytes:
    """`valid` with a few spans deleted, replaced, duplicated, or interesting tokens inserted."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 24)))
        action = draw(st.sampled_from(["delete", "replace", "duplicate", "token", "flip"]))
        if action == "delete":
            del data[start:end]
        elif action == "replace":
            data[start:end] = draw(st.binary(max_size=8))
        elif action == "duplicate":
            data[start:start] = data[start:end]
        elif action == "token":
            data[start:start] = draw(st.sampled_from(TOKENS))
        elif start < len(data):
            data[start] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


def _slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON document, depth first."""
    found: list[tuple[Any, Any]] = []
    keys = node.keys() if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else ()
    for key in keys:
        found.append((node, key))
        found.extend(_slots(node[key]))
    return found


@st.composite
def json_mutations(draw: st.DrawFn, valid: Any) -> Any:
    """`valid` with a few values anywhere replaced by random JSON, or removed."""
    document = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(document)
        if not slots:
            return draw(json_values)
        container, key = draw(st.sampled_from(slots))
        if draw(st.booleans()):
            container[key] = draw(json_values)
        elif isinstance(container, dict):
            del container[key]
        else:
            container.pop(key)
    return document


def dumps(document: Any) -> bytes:
    return json.dumps(document).encode("utf-8", "surrogatepass")  # invalid UTF-8 is a case too


# --- otpauth lists --------------------------------------------------------------------------

OTPAUTH_LIST = "\n".join([
    "# comment",
    f"otpauth://totp/Acme:ops%40acme.test?secret={SEEDS[0]}&issuer=Acme+Corp&algorithm=SHA256&digits=8&period=60",
    "",
    f"otpauth://hotp/Other:x?secret={SEEDS[1]}&counter=12",
    f"steam://{SEEDS[2]}",
    f"otpauth://totp/Steam:s?secret={SEEDS[2]}&encoder=steam",
]).encode()


def test_otpauth_list_is_valid_to_begin_with() -> None:
    assert len(otpauth_list.parse(OTPAUTH_LIST, "input").entries) == 4


@FUZZ
@given(st.binary(max_size=300))
def test_otpauth_list_random_bytes(data: bytes) -> None:
    assert_parses_safely(otpauth_list.parse, data)


@FUZZ
@given(byte_mutations(OTPAUTH_LIST))
def test_otpauth_list_mutations(data: bytes) -> None:
    assert_parses_safely(otpauth_list.parse, data)


@FUZZ
@given(st.lists(st.sampled_from(["otpauth://", "totp", "hotp", "steam", "/", ":", "?", "&", "=", "secret",
                                 "counter", "digits", "period", "algorithm", "issuer", "encoder", SEEDS[0], "%",
                                 "+", "SHA1", "-1", "0", "99999999999999999999999", "é", "\ud800"])
                | st.text(max_size=4), max_size=20))
def test_otpauth_list_random_uris(parts: list[str]) -> None:
    assert_parses_safely(otpauth_list.parse, "".join(parts).encode("utf-8", "surrogatepass"))


# --- Aegis ----------------------------------------------------------------------------------

AEGIS_DB = {"version": 2, "entries": [
    {"type": "totp", "name": "ops", "issuer": "Acme", "info": {"secret": SEEDS[0], "algo": "SHA256",
                                                               "digits": 8, "period": 60}},
    {"type": "hotp", "name": "x", "issuer": "Other", "info": {"secret": SEEDS[1], "algo": "SHA1",
                                                              "digits": 6, "counter": 12}},
    {"type": "steam", "name": "s", "issuer": "Steam", "info": {"secret": SEEDS[2], "algo": "SHA1",
                                                               "digits": 5, "period": 30}},
    {"type": "motp", "name": "m", "issuer": "M", "info": {"secret": SEEDS[0], "algo": "MD5", "digits": 6}},
]}
AEGIS_PLAIN = {"version": 1, "header": {"slots": None, "params": None}, "db": AEGIS_DB}


def aegis_encrypted(db_bytes: bytes) -> dict[str, Any]:
    master_key, salt, slot_nonce, db_nonce = os.urandom(32), os.urandom(32), os.urandom(12), os.urandom(12)
    slot_key = Scrypt(salt=salt, length=32, n=2**4, r=8, p=1).derive(PASSWORD)
    sealed_key = AESGCM(slot_key).encrypt(slot_nonce, master_key, None)
    sealed_db = AESGCM(master_key).encrypt(db_nonce, db_bytes, None)
    slot = {"type": 1, "key": sealed_key[:-16].hex(),
            "key_params": {"nonce": slot_nonce.hex(), "tag": sealed_key[-16:].hex()},
            "n": 2**4, "r": 8, "p": 1, "salt": salt.hex()}
    header = {"slots": [{"type": 2}, slot], "params": {"nonce": db_nonce.hex(), "tag": sealed_db[-16:].hex()}}
    return {"version": 1, "header": header, "db": base64.b64encode(sealed_db[:-16]).decode()}


AEGIS_ENCRYPTED = aegis_encrypted(dumps(AEGIS_DB))


def test_aegis_inputs_are_valid_to_begin_with() -> None:
    assert len(aegis.parse(dumps(AEGIS_PLAIN), "input").entries) == 3
    assert len(aegis.parse(dumps(AEGIS_ENCRYPTED), "input", PASSWORD).entries) == 3


@FUZZ
@given(st.binary(max_size=300))
def test_aegis_random_bytes(data: bytes) -> None:
    assert_parses_safely(aegis.parse, data, PASSWORD)


@FUZZ
@given(byte_mutations(dumps(AEGIS_PLAIN)), st.sampled_from([None, PASSWORD]))
def test_aegis_plain_byte_mutations(data: bytes, password: bytes | None) -> None:
    assert_parses_safely(aegis.parse, data, password)


@FUZZ
@given(json_mutations(AEGIS_PLAIN))
def test_aegis_plain_structure_mutations(document: Any) -> None:
    assert_parses_safely(aegis.parse, dumps(document))


@FUZZ
@given(byte_mutations(dumps(AEGIS_ENCRYPTED)), st.sampled_from([None, PASSWORD, b"wrong"]))
def test_aegis_encrypted_byte_mutations(data: bytes, password: bytes | None) -> None:
    assert_parses_safely(aegis.parse, data, password)


@FUZZ
@given(json_mutations(AEGIS_ENCRYPTED))
def test_aegis_encrypted_header_mutations(document: Any) -> None:
    assert_parses_safely(aegis.parse, dumps(document), PASSWORD)


@FUZZ
@given(json_mutations(AEGIS_DB) | json_values | byte_mutations(dumps(AEGIS_DB)))
def test_aegis_encrypted_content_mutations(content: Any) -> None:
    # the decrypted content is as untrusted as a plain file: the password only proves who wrote it
    db_bytes = content if isinstance(content, bytes) else dumps(content)
    assert_parses_safely(aegis.parse, dumps(aegis_encrypted(db_bytes)), PASSWORD)


# --- 2FAS -----------------------------------------------------------------------------------

TWOFAS_SERVICES = [
    {"name": "Acme", "secret": SEEDS[0], "otp": {"account": "ops", "issuer": "Acme", "digits": 8, "period": 60,
                                                 "algorithm": "SHA256", "tokenType": "TOTP"}},
    {"name": "Other", "secret": SEEDS[1], "otp": {"account": "x", "digits": 6, "counter": 12, "tokenType": "HOTP"}},
    {"name": "Steam", "secret": SEEDS[2], "otp": {"label": "s", "tokenType": "STEAM"}},
]
TWOFAS_PLAIN = {"services": TWOFAS_SERVICES, "groups": [], "schemaVersion": 4}


def twofas_encrypted(content: bytes) -> dict[str, Any]:
    salt, iv = os.urandom(16), os.urandom(12)
    key = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=10_000).derive(PASSWORD)
    sealed = AESGCM(key).encrypt(iv, content, None)
    blob = ":".join(base64.b64encode(part).decode() for part in (sealed, salt, iv))
    return {"services": [], "groups": [], "schemaVersion": 4, "servicesEncrypted": blob}


TWOFAS_ENCRYPTED = twofas_encrypted(dumps(TWOFAS_SERVICES))


def test_2fas_inputs_are_valid_to_begin_with() -> None:
    assert len(twofas.parse(dumps(TWOFAS_PLAIN), "input").entries) == 3
    assert len(twofas.parse(dumps(TWOFAS_ENCRYPTED), "input", PASSWORD).entries) == 3


@FUZZ
@given(st.binary(max_size=300))
def test_2fas_random_bytes(data: bytes) -> None:
    assert_parses_safely(twofas.parse, data, PASSWORD)


@FUZZ
@given(byte_mutations(dumps(TWOFAS_PLAIN)) | byte_mutations(dumps(TWOFAS_ENCRYPTED)),
       st.sampled_from([None, PASSWORD, b"wrong"]))
def test_2fas_byte_mutations(data: bytes, password: bytes | None) -> None:
    assert_parses_safely(twofas.parse, data, password)


@FUZZ
@given(json_mutations(TWOFAS_PLAIN) | json_mutations(TWOFAS_ENCRYPTED))
def test_2fas_structure_mutations(document: Any) -> None:
    assert_parses_safely(twofas.parse, dumps(document), PASSWORD)


@FUZZ
@given(json_mutations(TWOFAS_SERVICES) | json_values | byte_mutations(dumps(TWOFAS_SERVICES)))
def test_2fas_encrypted_content_mutations(content: Any) -> None:
    services = content if isinstance(content, bytes) else dumps(content)
    assert_parses_safely(twofas.parse, dumps(twofas_encrypted(services)), PASSWORD)


# --- Google Authenticator transfer exports --------------------------------------------------

accounts = st.fixed_dictionaries({
    "secret": st.sampled_from([decode_base32_secret(seed) for seed in SEEDS]) | st.binary(max_size=4),
    "name": st.text(max_size=10),
    "issuer": st.text(max_size=10),
    "algorithm": st.integers(0, 6),
    "digits": st.integers(0, 4),
    "type": st.integers(0, 4),
    "counter": st.integers(-(2**63), 2**63 - 1),
})


def migration_line(raw: bytes) -> bytes:
    return b"otpauth-migration://offline?data=" + base64.b64encode(raw).replace(b"/", b"%2F")


def payload_bytes(parameters: list[dict[str, Any]]) -> bytes:
    payload = google_migration.MigrationPayload(version=1, batch_size=1, batch_index=0, batch_id=3)
    for fields in parameters:
        payload.otp_parameters.add(**fields)
    return payload.SerializeToString()


VALID_PAYLOAD = payload_bytes([
    {"secret": decode_base32_secret(SEEDS[0]), "name": "Acme:ops", "issuer": "Acme",
     "algorithm": 2, "digits": 2, "type": 2},
    {"secret": decode_base32_secret(SEEDS[1]), "name": "x", "algorithm": 1, "digits": 1, "type": 1, "counter": 12},
])
MIGRATION_FILE = b"# two codes\n" + migration_line(VALID_PAYLOAD) + b"\n\n" + migration_line(VALID_PAYLOAD[:40]) + b"\n"


def test_migration_input_is_valid_to_begin_with() -> None:
    assert len(google_migration.parse(migration_line(VALID_PAYLOAD), "input").entries) == 2


@FUZZ
@given(st.binary(max_size=300))
def test_migration_random_bytes(data: bytes) -> None:
    assert_parses_safely(google_migration.parse, data)


@FUZZ
@given(byte_mutations(MIGRATION_FILE))
def test_migration_file_mutations(data: bytes) -> None:
    assert_parses_safely(google_migration.parse, data)


@FUZZ
@given(byte_mutations(VALID_PAYLOAD) | st.binary(max_size=120))
def test_migration_payload_mutations(raw: bytes) -> None:
    assert_parses_safely(google_migration.parse, migration_line(raw))


@FUZZ
@given(st.lists(accounts, max_size=4))
def test_migration_random_accounts(parameters: list[dict[str, Any]]) -> None:
    assert_parses_safely(google_migration.parse, migration_line(payload_bytes(parameters)))
