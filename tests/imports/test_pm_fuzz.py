"""Any bytes given to the password-manager parsers give a Parsed or an ImportFileError, never
another exception, and no password or seed from the file shows up in a message."""

from __future__ import annotations

import base64
import csv
import io
import json
import os

import pytest
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pykeepass import create_database

from smvault.domain.imports import ImportFileError, Parsed
from smvault.domain.imports import bitwarden, keepass

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Secrets all start with "ZQ"; titles and names are lower-case, so a secret found in a
# message can only have been copied there from a password or TOTP field.
SECRET = st.text(alphabet="ZQXJKV0123456789!#-= ", min_size=6, max_size=16).map(lambda t: "ZQ" + t)
SEED = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=32)
NAME = st.text(alphabet="abcdefgh ", max_size=10)
# JSON text may hold lone surrogates and control characters (CSV and XML text cannot)
ODD_TEXT = st.text(alphabet=st.sampled_from(["a", " ", "\ud800", "\udfff", "\x1b", "\n"]), min_size=1, max_size=5)
JUNK = st.one_of(st.none(), st.integers(-2, 2**70), st.booleans(), st.floats(allow_nan=False),
                 st.text(max_size=8), st.lists(st.integers(), max_size=2), st.just("\ud800"), ODD_TEXT,
                 st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))
MOSTLY_NAME = st.one_of(NAME, NAME, NAME, NAME, JUNK)  # one_of picks each strategy alike
STRUCTURE = st.sampled_from([b'"', b",", b"\n", b"\r", b"{", b"}", b"[", b"]", b":", b"null", b"1", b"\\", b"\xff"])


@st.composite
def totp_value(draw) -> tuple[object, list[str]]:
    """A TOTP field's value, and the secrets it holds."""
    seed, junk = draw(SEED), draw(SECRET)
    value = draw(st.sampled_from([
        seed, seed.lower(), f"otpauth://totp/x:y?secret={seed}&issuer=x", f"steam://{seed}",
        f"otpauth://hotp/x?secret={seed}", f"otpauth://totp/x?secret={seed}&digits=99", seed[:6],
        f"otpauth://totp/x?secret={junk}", junk, None, "",
    ]))
    return value, [seed, junk]


def check(parse, data: bytes, secrets: list[str], *, structured: bool) -> None:
    """`structured`: the input is well formed, so no title can hold a secret and whole
    messages are checked; a mutated input may have moved a secret into a title, so only
    each message's own text (not its where) is checked then."""
    try:
        parsed = parse(data)
    except ImportFileError as exc:
        texts = [str(exc)]
        str(exc).encode("utf-8")  # a terminal can print it
    else:
        assert isinstance(parsed, Parsed)
        found = (*parsed.problems, *parsed.notes)
        texts = [str(p) if structured else f"{p.field}: {p.message}" for p in found]
        for text in (*map(str, found), *(e.where for e in parsed.entries)):
            text.encode("utf-8")  # no lone surrogate reaches a message
        for entry in parsed.entries:  # nor a value the vault would store
            assert isinstance(entry.password, str | None) and isinstance(entry.title, str | None)
            for value in (entry.title, entry.login_id, entry.url, entry.password, entry.notes):
                (value or "").encode("utf-8")
    for secret in secrets:
        assert not any(secret in text for text in texts), (secret, texts)


@st.composite
def mutated(draw, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not out:
            break
        at = draw(st.integers(0, len(out) - 1))
        operation = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if operation == "flip":
            out[at] ^= draw(st.integers(1, 255))
        elif operation == "delete":
            del out[at:at + draw(st.integers(1, 12))]
        elif operation == "insert":
            out[at:at] = draw(st.one_of(STRUCTURE, st.binary(min_size=1, max_size=6)))
        else:
            del out[at:]
    return bytes(out)


# --- Bitwarden JSON --------------------------------------------------------------------------


@st.composite
def bitwarden_item(draw) -> tuple[object, list[str]]:
    password, (totp, seeds) = draw(SECRET), draw(totp_value())
    uris = draw(st.one_of(st.none(), JUNK, st.lists(st.one_of(
        st.fixed_dictionaries({"uri": st.one_of(st.none(), st.just("https://a.example"), JUNK)}), JUNK), max_size=3)))
    login = {"username": draw(MOSTLY_NAME), "password": draw(st.sampled_from([password] * 4 + [None, 5, "\ud800"])),
             "totp": totp, "uris": uris}
    item = {
        "type": draw(st.sampled_from([1] * 8 + [2, 3, 4, 5, 0, 99, True, None, "1", 1.0, [1], {"1": 1}])),
        "name": draw(MOSTLY_NAME),
        "notes": draw(st.one_of(NAME, st.none(), ODD_TEXT)),
        "folderId": draw(st.sampled_from([None, "f1", "nope", 3, ["f1"]])),
        "fields": draw(st.one_of(st.none(), st.lists(st.fixed_dictionaries(
            {"name": NAME, "value": st.just(password), "type": st.integers(0, 3)}), max_size=2))),
        "login": draw(st.sampled_from([login] * 6 + [None, [password], password])),
        "card": {"number": password, "code": password},
    }
    return draw(st.sampled_from([item] * 6 + [password, None, [item]])), [password, *seeds]


@st.composite
def bitwarden_json(draw) -> tuple[dict, list[str]]:
    drawn = draw(st.lists(bitwarden_item(), max_size=4))
    document = {"encrypted": draw(st.sampled_from([False, False, None, "true"])),
                "folders": draw(st.sampled_from([[{"id": "f1", "name": "Social"}], [{"id": "f1", "name": "\ud800"}],
                                                 [], None, [3], "x"])),
                "items": [item for item, _ in drawn]}
    return document, [s for _, secrets in drawn for s in secrets]


@FUZZ
@given(bitwarden_json())
def test_bitwarden_json_items(drawn):
    document, secrets = drawn
    check(lambda data: bitwarden.parse(data, "f.json"), json.dumps(document).encode(), secrets, structured=True)


@FUZZ
@given(st.data())
def test_bitwarden_json_mutated(data):
    document, secrets = data.draw(bitwarden_json())
    raw = data.draw(mutated(json.dumps(document, indent=data.draw(st.sampled_from([None, 1]))).encode()))
    check(lambda b: bitwarden.parse(b, "f.json", b"pw"), raw, secrets, structured=False)


def seal(plain: bytes, enc_key: bytes, mac_key: bytes) -> str:
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    signer = crypto_hmac.HMAC(mac_key, hashes.SHA256())
    signer.update(iv + ciphertext)
    b64 = base64.b64encode
    return f"2.{b64(iv).decode()}|{b64(ciphertext).decode()}|{b64(signer.finalize()).decode()}"


def protected_export(inner: bytes, password: bytes) -> dict:
    salt = base64.b64encode(os.urandom(16)).decode()
    master = PBKDF2HMAC(hashes.SHA256(), 32, salt.encode(), 100).derive(password)
    enc_key, mac_key = (HKDFExpand(hashes.SHA256(), 32, info).derive(master) for info in (b"enc", b"mac"))
    return {"encrypted": True, "passwordProtected": True, "salt": salt, "kdfType": 0, "kdfIterations": 100,
            "encKeyValidation_DO_NOT_EDIT": seal(b"uuid", enc_key, mac_key), "data": seal(inner, enc_key, mac_key)}


# settings that cost little, or are refused before any work: never a long key derivation
_CHEAP_KDF = st.one_of(
    st.fixed_dictionaries({"kdfType": st.just(0),
                           "kdfIterations": st.sampled_from([1, 100, 0, -1, 10**8, 2**64, "9"])}),
    st.fixed_dictionaries({"kdfType": st.just(1), "kdfIterations": st.sampled_from([1, 2, 0, 21, 2**40]),
                           "kdfMemory": st.sampled_from([1, 2, 0, 1025, 2**40, None]),
                           "kdfParallelism": st.sampled_from([1, 2, 0, 17, True])}),
    st.fixed_dictionaries({"kdfType": st.sampled_from([2, None, True, "0"])}),
)


# decrypted content that is valid JSON but no export, or JSON Python refuses to read
ODD_CONTENT = st.sampled_from([b"[]", b"null", b'{"items": 5}', b'{"items": [], "n": ' + b"9" * 5000 + b"}",
                               b"9" * 5000, b"\xff\xfe", b"[" * 100_000, b'{"encrypted": true}'])


@FUZZ
@given(st.data())
def test_bitwarden_protected_json(data):
    document, secrets = data.draw(bitwarden_json())
    choice = data.draw(st.sampled_from(["kdf", "field", "mutate", "content", "intact"]))
    inner = json.dumps(document).encode()
    if choice == "content":  # the password only proves who wrote it: what it opens is untrusted too
        inner = data.draw(st.one_of(mutated(inner), ODD_CONTENT))
    sealed = protected_export(inner, b"pw")
    if choice == "kdf":
        sealed |= data.draw(_CHEAP_KDF)
    elif choice == "field":
        key = data.draw(st.sampled_from(sorted(sealed)))
        sealed[key] = data.draw(st.one_of(JUNK, st.sampled_from(["2.", "2.a|b|c", "2.||", "9.x"])))
    raw = json.dumps(sealed).encode()
    if choice == "mutate":
        raw = data.draw(mutated(raw))
    password = data.draw(st.sampled_from([b"pw", b"wrong", None]))
    check(lambda b: bitwarden.parse(b, "p.json", password), raw, secrets, structured=choice not in ("mutate", "content"))


# --- CSV formats -----------------------------------------------------------------------------

CELL = st.text(alphabet='abc ,"\n\r\t;=', max_size=8)
BITWARDEN_HEADER = ["folder", "favorite", "type", "name", "notes", "fields", "reprompt", "login_uri",
                    "login_username", "login_password", "login_totp"]
KEEPASSXC_HEADER = ["Group", "Title", "Username", "Password", "URL", "Notes", "TOTP", "Icon", "Last Modified",
                    "Created"]


def write_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


@st.composite
def csv_file(draw, header: list[str], secret_columns: dict[str, str], fixed: dict[str, st.SearchStrategy]):
    """A CSV with `header` (sometimes a column dropped or shuffled); secrets go into
    `secret_columns` ("password" or "totp" -> column)."""
    columns = list(header)
    if draw(st.booleans()):
        columns = draw(st.permutations(columns))[: draw(st.integers(len(columns) - 2, len(columns)))]
    rows, secrets = [columns], []
    for _ in range(draw(st.integers(0, 4))):
        password, (totp, seeds) = draw(SECRET), draw(totp_value())
        totp = totp if isinstance(totp, str) else ""
        values = {secret_columns["password"]: password, secret_columns["totp"]: totp}
        row = [values[c] if c in values else draw(fixed.get(c, CELL)) for c in columns]
        if draw(st.integers(0, 9)) == 0:
            row = row[: draw(st.integers(0, len(row)))]  # a short row
        rows.append(row)
        secrets += [password, *seeds]
    return write_csv(rows), secrets


BITWARDEN_CSV = csv_file(BITWARDEN_HEADER, {"password": "login_password", "totp": "login_totp"},
                         {"type": st.sampled_from(["login", "login", "note", "card", ""]), "name": NAME,
                          "login_username": NAME, "login_uri": st.sampled_from(["", "https://a,https://b", ","])})
KEEPASSXC_CSV = csv_file(KEEPASSXC_HEADER, {"password": "Password", "totp": "TOTP"},
                         {"Group": st.sampled_from(["Root", "Root/Recycle Bin", "", "Root/a/b"]), "Title": NAME,
                          "Username": NAME})


@FUZZ
@given(BITWARDEN_CSV)
def test_bitwarden_csv(drawn):
    raw, secrets = drawn
    check(lambda b: bitwarden.parse(b, "bw.csv"), raw, secrets, structured=True)


@FUZZ
@given(st.data())
def test_bitwarden_csv_mutated(data):
    raw, secrets = data.draw(BITWARDEN_CSV)
    check(lambda b: bitwarden.parse(b, "bw.csv"), data.draw(mutated(raw)), secrets, structured=False)


@FUZZ
@given(KEEPASSXC_CSV)
def test_keepassxc_csv(drawn):
    raw, secrets = drawn
    check(lambda b: keepass.parse(b, "kp.csv"), raw, secrets, structured=True)


@FUZZ
@given(st.data())
def test_keepassxc_csv_mutated(data):
    raw, secrets = data.draw(KEEPASSXC_CSV)
    check(lambda b: keepass.parse(b, "kp.csv"), data.draw(mutated(raw)), secrets, structured=False)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([bitwarden.parse, keepass.parse]))
def test_random_bytes(raw, parse):
    check(lambda b: parse(b, "r.bin", b"pw"), raw, [], structured=False)


# --- KDBX ------------------------------------------------------------------------------------

KDBX_SECRETS = ["ZQ-password-1", "ZQ-otp-secret", "JBSWY3DPEHPK3PXPJBSW", "ZQ-custom"]


@pytest.fixture(scope="module")
def kdbx() -> bytes:
    """A KDBX 4 database with the cheapest Argon2 settings, so each open costs milliseconds."""
    kp = create_database(io.BytesIO(), password="pw")
    kdf = kp.kdbx.header.value.dynamic_header.kdf_parameters.data.dict
    kdf["I"].value, kdf["M"].value, kdf["P"].value = 1, 64 * 1024, 1
    kp.add_entry(kp.root_group, "mail", "ada", KDBX_SECRETS[0], otp=f"otpauth://totp/x?secret={KDBX_SECRETS[2]}")
    kp.add_entry(kp.root_group, "bad", "bob", KDBX_SECRETS[0], otp=KDBX_SECRETS[1])
    kp.add_entry(kp.root_group, "custom", "cy", "p").set_custom_property("pin", KDBX_SECRETS[3], protect=True)
    out = io.BytesIO()
    kp.save(out)
    return out.getvalue()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_kdbx_mutated(kdbx, data):
    check(lambda b: keepass.parse(b, "db.kdbx", b"pw"), data.draw(mutated(kdbx)), KDBX_SECRETS, structured=False)


def test_kdbx_fuzz_base_opens(kdbx):
    """The mutations above start from a database that opens (else they would prove nothing)."""
    parsed = keepass.parse(kdbx, "db.kdbx", b"pw")
    assert [e.title for e in parsed.entries] == ["mail", "custom"] and len(parsed.problems) == 1
