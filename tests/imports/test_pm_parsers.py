"""Password-manager imports: Bitwarden (JSON, protected JSON, CSV) and KeePass (KDBX, CSV),
against real exports from other projects and files built here with independent code."""

from __future__ import annotations

import base64
import io
import json
import os
from typing import Any

import pytest
from construct import Container
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.twofactor.hotp import HOTP
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from argon2.exceptions import HashingError
from pykeepass import create_database
from pykeepass.kdbx_parsing.kdbx import KDBX
from pykeepass.kdbx_parsing.kdbx4 import kdf_uuids

from smvault.domain.imports import EntryKind, ImportFileError, Parsed, PasswordNeeded, Problem, parse_file
from smvault.domain.imports import bitwarden, keepass, logins
from smvault.domain.otp import current_code
from tests.conftest import shared_fixture

_CRYPTO_HASHES = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256, "SHA512": hashes.SHA512}
BAD_TOTP = "totp: not a valid TOTP secret or otpauth:// URI"


def expected(relative: str) -> Any:
    return json.loads(shared_fixture(relative).read_text(encoding="utf-8"))


def reference_totp(secret: bytes, at: int, digits: int = 6, period: int = 30, algorithm: str = "SHA1") -> str:
    """cryptography's TOTP, its key-length check off so short real-world keys work."""
    impl = TOTP(secret, digits, _CRYPTO_HASHES[algorithm](), period, enforce_key_length=False)
    return impl.generate(at).decode()


def messages(parsed: Parsed) -> list[str]:
    return [str(p) for p in (*parsed.problems, *parsed.notes)]


# --- Bitwarden: real exports -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["bitwarden.json", "bitwarden.csv"])
def test_aegis_bitwarden_exports_give_the_expected_codes(name):
    parsed = bitwarden.parse(shared_fixture(f"aegis/{name}").read_bytes(), name)
    vectors = {e["issuer"]: e for e in expected("aegis/EXPECTED.json")["entries"]}
    assert (parsed.problems, parsed.notes) == ((), ())
    assert parsed.format == "bitwarden" and len(parsed.entries) == 4
    for entry, issuer in zip(parsed.entries, ["Deno", "SPDX", "Airbnb", "Boeing"], strict=True):
        vector = vectors[issuer]
        assert entry.kind is EntryKind.ACCOUNT and entry.otp.kind == vector["type"]
        for at, code in vector["codes_at_unix_time"].items():
            assert current_code(entry.otp, int(at))[0] == code, (name, issuer, at)
    first = parsed.entries[0]
    assert (first.otp.issuer, first.otp.label, first.title) == ("Deno", "Mason", "Test 1")
    # steam:// carries no names: the item's title stands in as issuer
    assert parsed.entries[3].otp.issuer == parsed.entries[3].title
    wheres = [e.where for e in parsed.entries]
    if name.endswith(".csv"):
        assert wheres == [f"{name}:{n}" for n in range(2, 6)]
    else:
        assert wheres[0] == f"{name}: item 1 (Test 1)" and wheres[3] == f"{name}: item 4 (Test Steam)"


def test_keepassxc_bitwarden_export_reports_the_short_totp_and_leaves_out_non_logins():
    parsed = bitwarden.parse(shared_fixture("bitwarden/bitwarden_export.json").read_bytes(), "export.json")
    assert parsed.entries == ()
    # 'DFDFDEF=' is 32 bits: a damaged seed, so the item is a problem, not half an entry
    assert len(parsed.problems) == 1
    problem = parsed.problems[0]
    assert (problem.where, problem.field) == ("export.json: item 4 (Login Name)", "totp")
    assert "32 bits" in problem.message and "DFDFDEF" not in str(problem)
    assert [str(n) for n in parsed.notes] == [
        "export.json: item 1 (My Secure Note): left out: a secure note",
        "export.json: item 2 (Card Name): left out: a card",
        "export.json: item 3 (My Identity): left out: an identity",
    ]
    assert not any(secret in text for text in messages(parsed)
                   for secret in ("mypassword", "hidden-field-value", "1234567891011121", "123-12-1234"))


def test_keepassxc_bitwarden_login_item_matches_expected_once_its_totp_is_gone():
    document = json.loads(shared_fixture("bitwarden/bitwarden_export.json").read_bytes())
    want = expected("bitwarden/EXPECTED.json")["bitwarden_export.json"]["login_item"]
    login = next(item for item in document["items"] if item["type"] == 1)
    login["login"]["totp"] = None
    parsed = bitwarden.parse(json.dumps(document).encode(), "export.json")
    assert parsed.problems == ()
    (entry,) = parsed.entries
    assert (entry.title, entry.login_id, entry.password, entry.url) == (
        want["name"], want["username"], want["password"], want["uris"][0])
    assert entry.otp is None
    assert entry.notes == ("1st line of note text\n2nd Line of note text\n"
                           f"Other URLs: {' '.join(want['uris'][1:])}\nFolder: {want['folder']}")
    assert Problem("export.json: item 4 (Login Name)", "fields", "left out: 3 custom fields") in parsed.notes


@pytest.fixture(scope="module")
def keepassxc_item() -> dict:
    return expected("bitwarden/EXPECTED.json")["bitwarden_encrypted_export.json"]["expected_item"]


def check_keepassxc_item(parsed: Parsed, item: dict) -> None:
    assert (parsed.problems, parsed.notes) == ((), ())
    (entry,) = parsed.entries
    assert (entry.title, entry.login_id, entry.password, entry.url) == (
        item["name"], item["username"], item["password"], item["uris"][0])
    assert item["uris"][1] in entry.notes
    # 'fsfsfsfsefefef': a bare, lower-case, 64-bit seed that pyotp would refuse
    assert len(entry.otp.secret) == 8 and (entry.otp.issuer, entry.otp.label) == ("KeePassXC", "keepassxc")
    for at in (0, 1_700_000_000, 2_000_000_000):
        assert current_code(entry.otp, at)[0] == reference_totp(entry.otp.secret, at)


def test_password_protected_pbkdf2_export_opens_with_its_password(keepassxc_item):
    data = shared_fixture("bitwarden/bitwarden_encrypted_export.json").read_bytes()
    check_keepassxc_item(parse_file("bitwarden", data, "protected.json", password=b"a"), keepassxc_item)
    with pytest.raises(ImportFileError, match=r"^protected\.json: wrong password, or the file was altered$"):
        bitwarden.parse(data, "protected.json", b"b")
    with pytest.raises(PasswordNeeded, match="protected by a password"):
        bitwarden.parse(data, "protected.json")


def test_password_protected_argon2id_export_opens_with_its_password(keepassxc_item):
    data = shared_fixture("bitwarden/bitwarden_encrypted_argon2id_export.json").read_bytes()
    check_keepassxc_item(bitwarden.parse(data, "argon.json", b"a"), keepassxc_item)
    with pytest.raises(PasswordNeeded):
        bitwarden.parse(data, "argon.json")


@pytest.mark.slow
def test_argon2id_export_with_a_wrong_password_is_refused():
    data = shared_fixture("bitwarden/bitwarden_encrypted_argon2id_export.json").read_bytes()
    with pytest.raises(ImportFileError, match="wrong password, or the file was altered"):
        bitwarden.parse(data, "argon.json", b"A")


def test_an_altered_protected_export_is_refused_before_decrypting():
    document = json.loads(shared_fixture("bitwarden/bitwarden_encrypted_export.json").read_bytes())
    enc_type, _, body = document["data"].partition(".")
    iv, ciphertext, mac = body.split("|")
    raw = bytearray(base64.b64decode(ciphertext))
    raw[0] ^= 1  # garbles the first block only: unchecked, it would decrypt to text that is not JSON
    document["data"] = f"{enc_type}.{iv}|{base64.b64encode(bytes(raw)).decode()}|{mac}"
    with pytest.raises(ImportFileError, match="wrong password, or the file was altered"):
        bitwarden.parse(json.dumps(document).encode(), "altered.json", b"a")


# --- Bitwarden: files built here -------------------------------------------------------------


def login(name: str | None, username: Any = None, password: Any = None, totp: Any = None,
          uris: Any = None, **extra: Any) -> dict:
    item = {"type": 1, "name": name, "notes": None, "folderId": None,
            "login": {"username": username, "password": password, "totp": totp, "uris": uris}}
    return item | extra


def export(*items: Any, folders: Any = ()) -> bytes:
    return json.dumps({"encrypted": False, "folders": list(folders), "items": list(items)}).encode()


def seal(plain: bytes, enc_key: bytes, mac_key: bytes) -> str:
    """An EncString, written with cryptography's primitives (bitwarden.py uses hashlib/hmac)."""
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    signer = crypto_hmac.HMAC(mac_key, hashes.SHA256())
    signer.update(iv + ciphertext)
    b64 = base64.b64encode
    return f"2.{b64(iv).decode()}|{b64(ciphertext).decode()}|{b64(signer.finalize()).decode()}"


def protected_export(inner: bytes, password: bytes, iterations: int = 1000) -> dict:
    salt = base64.b64encode(os.urandom(16)).decode()
    master = PBKDF2HMAC(hashes.SHA256(), 32, salt.encode(), iterations).derive(password)
    enc_key, mac_key = (HKDFExpand(hashes.SHA256(), 32, info).derive(master) for info in (b"enc", b"mac"))
    return {"encrypted": True, "passwordProtected": True, "salt": salt, "kdfType": 0,
            "kdfIterations": iterations, "kdfMemory": None, "kdfParallelism": None,
            "encKeyValidation_DO_NOT_EDIT": seal(b"a-uuid", enc_key, mac_key),
            "data": seal(inner, enc_key, mac_key)}


def test_values_keep_their_spaces_and_the_first_uri_is_the_url():
    data = export(login(" Shop ", " ada ", "  two spaces  ", "JBSWY3DPEHPK3PXP",
                        [{"uri": "https://a.example"}, {"uri": None}, {"uri": "https://b.example"}],
                        folderId="f1", notes=" note "),
                  folders=[{"id": "f1", "name": "Social"}, {"id": 7}])
    (entry,) = bitwarden.parse(b"\xef\xbb\xbf \n" + data, "e.json").entries
    assert (entry.title, entry.login_id, entry.password) == (" Shop ", " ada ", "  two spaces  ")
    assert entry.url == "https://a.example"
    assert entry.notes == " note \nOther URLs: https://b.example\nFolder: Social"
    assert (entry.otp.issuer, entry.otp.label) == (" Shop ", " ada ")  # a bare seed takes the item's names
    assert entry.where == "e.json: item 1 (Shop)"
    assert "two spaces" not in repr(entry)


def test_each_item_is_an_entry_a_problem_or_a_note():
    data = export(
        login("ok", "u", "Zsecret-1"),
        login("bad totp", "u", "Zsecret-2", totp="otpauth://totp/X?secret=Zsecret-3!"),
        login("short totp", "u", "Zsecret-4", totp="ZSECRETA"),
        login("empty"),
        {"type": 5, "name": "key", "sshKey": {"privateKey": "Zsecret-5"}},
        {"type": True, "name": "bool type"},
        {"type": 99, "name": "future"},
        "not an item",
        login(17, "u", "Zsecret-6"),
        login("surrogate", "\ud800", "Zsecret-7"),
        login("bad uris", "u", uris="https://x"),
        {"type": 1, "name": "bad login", "login": ["Zsecret-8"]},
        login("wide\x1b[31m title", "u", "p"),
    )
    parsed = bitwarden.parse(data, "f.json")
    assert [e.where for e in parsed.entries] == ["f.json: item 1 (ok)", "f.json: item 13 (wide[31m title)"]
    assert [(p.where, p.field) for p in parsed.problems] == [
        ("f.json: item 2 (bad totp)", "totp"),
        ("f.json: item 3 (short totp)", "totp"),
        ("f.json: item 8", None),
        ("f.json: item 9", "name"),
        ("f.json: item 10 (surrogate)", "username"),
        ("f.json: item 11 (bad uris)", "uris"),
        ("f.json: item 12 (bad login)", "login"),
    ]
    assert str(parsed.problems[0]).startswith(f"f.json: item 2 (bad totp): {BAD_TOTP} (")
    assert [str(n) for n in parsed.notes] == [
        "f.json: item 4 (empty): left out: nothing to import",
        "f.json: item 5 (key): left out: an SSH key",
        "f.json: item 6 (bool type): left out: an item of unknown type",
        "f.json: item 7 (future): left out: an item of unknown type",
    ]
    assert not any("Zsecret" in text.replace("ZSECRETA", "") or "ZSECRETA" in text for text in messages(parsed))


@pytest.mark.parametrize(("data", "message"), [
    (b"[]", r"^f\.json: not a Bitwarden export \(expected a JSON object\)$"),
    (b'{"encrypted": false}', r'no "items" list'),
    (b'{"items": [}', r"^f\.json:1: not valid JSON"),
    (b'\n{"items": []', r"^f\.json:2: not valid JSON"),
    (b'{"encrypted": true, "data": "2.x|y|z", "items": "2.a|b|c"}', r"only Bitwarden can open.*Password protected"),
])
def test_unreadable_json_files_are_refused_whole(data, message):
    with pytest.raises(ImportFileError, match=message):
        bitwarden.parse(data, "f.json", b"pw")


def test_a_protected_export_built_here_opens_and_its_items_are_read():
    inner = export(login("Mail", " u ", " p ", "JBSWY3DPEHPK3PXP"), {"type": 3, "name": "Visa"})
    document = protected_export(inner, "pässword".encode())
    parsed = bitwarden.parse(json.dumps(document).encode(), "p.json", "pässword".encode())
    (entry,) = parsed.entries
    assert (entry.where, entry.login_id, entry.password) == ("p.json: item 1 (Mail)", " u ", " p ")
    assert [str(n) for n in parsed.notes] == ["p.json: item 2 (Visa): left out: a card"]
    with pytest.raises(ImportFileError, match="wrong password"):
        bitwarden.parse(json.dumps(document).encode(), "p.json", b"password")


@pytest.mark.parametrize(("changes", "message"), [
    ({"kdfIterations": 10_000_001}, r"kdfIterations must be from 1 to 10,000,000"),
    ({"kdfIterations": True}, r"kdfIterations must be a whole number"),
    ({"kdfIterations": 0}, r"kdfIterations must be from 1"),
    ({"kdfType": 1, "kdfIterations": 3, "kdfMemory": 1025, "kdfParallelism": 4},
     r"asks for 1,049,600 KiB of memory \(at most 1,048,576, 1 GiB\)"),
    # 16 passes of 1 GiB is the most work a file may ask for
    ({"kdfType": 1, "kdfIterations": 17, "kdfMemory": 1024, "kdfParallelism": 4},
     r"asks for 17 passes over 1,048,576 KiB \(at most 16 GiB of Argon2 work in all\)"),
    ({"kdfType": 1, "kdfIterations": 20_000, "kdfMemory": 1, "kdfParallelism": 1}, r"16 GiB of Argon2 work"),
    ({"kdfType": 1, "kdfIterations": 3, "kdfMemory": 64, "kdfParallelism": 17}, r"asks for 17 lanes \(at most 16\)"),
    ({"kdfType": 1, "kdfIterations": 0, "kdfMemory": 64, "kdfParallelism": 1}, r"Argon2 settings are not valid"),
    ({"kdfType": 1, "kdfIterations": 3, "kdfMemory": None, "kdfParallelism": 1}, r"kdfMemory must be a whole number"),
    ({"kdfType": 2}, r"unknown kdfType"),
    ({"salt": None}, r"salt is missing"),
    ({"data": "0.abc"}, r"data uses an unknown encryption type"),
    ({"data": "2.abc|def"}, r"data is damaged"),
    ({"encKeyValidation_DO_NOT_EDIT": "2.AAAA|AAAA|AAAA"}, r"encKeyValidation_DO_NOT_EDIT is damaged"),
    ({"data": None}, r"data is missing"),
])
def test_costly_or_damaged_protection_settings_are_refused_before_any_key_derivation(changes, message):
    # 10,000,001 PBKDF2 rounds would take seconds and then report a wrong password instead
    document = protected_export(export(), b"pw") | changes
    with pytest.raises(ImportFileError, match=message):
        bitwarden.parse(json.dumps(document).encode(), "p.json", b"pw")


def test_argon2_that_cannot_get_its_memory_is_an_import_error(monkeypatch):
    def starved(*_, **__):
        raise HashingError("Memory allocation error")

    monkeypatch.setattr(bitwarden, "hash_secret_raw", starved)
    document = protected_export(export(), b"pw") | {"kdfType": 1, "kdfIterations": 3, "kdfMemory": 64,
                                                     "kdfParallelism": 4}
    with pytest.raises(ImportFileError, match=r"^p\.json: the file's key could not be derived"):
        bitwarden.parse(json.dumps(document).encode(), "p.json", b"pw")


def test_decrypted_data_that_is_not_an_export_is_refused():
    huge_number = b'{"items": [], "n": ' + b"9" * 5000 + b"}"  # json.loads raises ValueError
    for inner in (b"not json", b"[1]", b"\xff", huge_number, json.dumps(protected_export(export(), b"pw")).encode()):
        with pytest.raises(ImportFileError, match="decrypted data is not a Bitwarden export"):
            bitwarden.parse(json.dumps(protected_export(inner, b"pw")).encode(), "p.json", b"pw")


BITWARDEN_CSV = (
    "folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,login_totp\n"
    'Social,1,login,Mail,"line one\nline two, with comma",,0,"https://a.example,https://b.example", ada , p w ,'
    "JBSWY3DPEHPK3PXP\n"
    "\n"
    ",,note,Diary,secret diary,,0,,,,\n"
    ",,login,Bad,,,0,,u,Zsecret-1,Zsecret-2!\n"
    ",,login,Short,,,0,,u\n"
    ",,login,Empty,,,0,,,,\n"
    ',,login,Fields,,"pin: Zsecret-3",0,,u,,\n'
)


def test_bitwarden_csv_rows_are_named_by_the_line_they_start_on():
    parsed = bitwarden.parse(BITWARDEN_CSV.encode(), "bw.csv")
    first, fields = parsed.entries
    assert (first.where, first.title, first.login_id, first.password) == ("bw.csv:2", "Mail", " ada ", " p w ")
    assert first.url == "https://a.example"
    assert first.notes == "line one\nline two, with comma\nOther URLs: https://b.example\nFolder: Social"
    assert first.otp.label == " ada " and fields.where == "bw.csv:9"
    assert [str(p) for p in parsed.problems] == [  # in file order
        "bw.csv:6: login_totp: not a valid TOTP secret or otpauth:// URI (OTP secret is not valid base32: "
        "only A-Z and 2-7 are allowed)",
        "bw.csv:7: the row has 9 columns, the header has 11",
    ]
    assert [str(n) for n in parsed.notes] == [
        "bw.csv:5: left out: a secure note",
        "bw.csv:8: left out: nothing to import",
        "bw.csv:9: fields: left out: custom fields",
    ]
    assert not any("Zsecret" in text for text in messages(parsed))


@pytest.mark.parametrize(("text", "message"), [
    ("name,login_uri,login_username\nx,y,z\n", r"^bw\.csv:1: the header lacks the column\(s\) type, login_password, "
                                                r"login_totp$"),
    ("", r"^bw\.csv: the file is empty"),
    ("type,name\nlogin," + "x" * 200_000, r"^bw\.csv:2: not valid CSV \(field larger than field limit"),
])
def test_unreadable_bitwarden_csv_files_are_refused_whole(text, message):
    with pytest.raises(ImportFileError, match=message):
        bitwarden.parse(text.encode(), "bw.csv")


def test_bitwarden_csv_that_is_not_utf8_names_the_line():
    with pytest.raises(ImportFileError, match=r"^bw\.csv:2: not UTF-8"):
        bitwarden.parse(b"type,name\nlogin,\xff\n", "bw.csv")


# --- KeePass: KDBX built with pykeepass ------------------------------------------------------

SEED = "JBSWY3DPEHPK3PXP"  # 80 bits
SEED_BYTES = base64.b32decode(SEED)


def cheap_kdbx(build) -> bytes:
    """A KDBX 4 database (password 'pw') with the cheapest Argon2 pykeepass will save;
    `build(kp)` adds the entries."""
    kp = create_database(io.BytesIO(), password="pw")
    settings = kp.kdbx.header.value.dynamic_header.kdf_parameters.data.dict
    settings["I"].value, settings["M"].value, settings["P"].value = 1, 64 * 1024, 1
    build(kp)
    out = io.BytesIO()
    kp.save(out)
    return out.getvalue()


def fill(kp) -> None:
    root = kp.root_group
    social = kp.add_group(kp.add_group(root, "Social"), "Brand X")
    uri = f"otpauth://totp/Insta:brandx?secret={SEED}&issuer=Insta&digits=8&period=60&algorithm=SHA256"
    entry = kp.add_entry(social, "Instagram", " brandx ", "  Zsecret-pw  ", url="https://instagram.com",
                         notes="first\nsecond", otp=uri)
    entry.set_custom_property("KP2A_URL", "https://www.instagram.com")
    entry.set_custom_property("Recovery codes", "Zsecret-codes", protect=True)
    keepass2 = kp.add_entry(root, "KeePass2 TOTP", "k2", "p")
    keepass2.set_custom_property("TimeOtp-Secret-Hex", SEED_BYTES.hex())
    keepass2.set_custom_property("TimeOtp-Algorithm", "HMAC-SHA-512")
    keepass2.set_custom_property("TimeOtp-Length", "7")
    keepass2.set_custom_property("TimeOtp-Period", "45")
    hotp = kp.add_entry(root, "KeePass2 HOTP", "h", None)
    hotp.set_custom_property("HmacOtp-Secret-Base64", base64.b64encode(SEED_BYTES).decode())
    hotp.set_custom_property("HmacOtp-Counter", "41")
    legacy = kp.add_entry(root, "Old KeePassXC", "old", None)
    legacy.set_custom_property("TOTP Seed", SEED)
    legacy.set_custom_property("TOTP Settings", "30;S")
    kp.add_entry(root, "Bad TOTP", "b", "Zsecret-bad", otp="Zsecret-0tp")
    kp.add_entry(root, "Bad period", "b", None).set_custom_property("TimeOtp-Secret-Base32", SEED)
    kp.find_entries(title="Bad period", first=True).set_custom_property("TimeOtp-Period", "0")
    kp.add_entry(root, "Nothing", "", "")
    kp.trash_entry(kp.add_entry(root, "Deleted", "gone", "Zsecret-deleted"))


@pytest.fixture(scope="module")
def kdbx() -> bytes:
    return cheap_kdbx(fill)


def test_kdbx_entries_with_every_kind_of_totp(kdbx):
    parsed = parse_file("keepass", kdbx, "db.kdbx", password=b"pw")
    assert parsed.format == "keepass"
    insta, keepass2, hotp, legacy = parsed.entries
    assert insta.where == "db.kdbx: item 1 (Instagram)"
    assert (insta.title, insta.login_id, insta.password, insta.url) == (
        "Instagram", " brandx ", "  Zsecret-pw  ", "https://instagram.com")
    assert insta.notes == "first\nsecond\nOther URLs: https://www.instagram.com\nGroup: Social/Brand X"
    assert (insta.otp.issuer, insta.otp.label, insta.otp.digits, insta.otp.period) == ("Insta", "brandx", 8, 60)
    assert current_code(insta.otp, 1_700_000_000)[0] == reference_totp(SEED_BYTES, 1_700_000_000, 8, 60, "SHA256")
    assert current_code(keepass2.otp, 2_000_000_000)[0] == reference_totp(SEED_BYTES, 2_000_000_000, 7, 45, "SHA512")
    assert (keepass2.otp.issuer, keepass2.otp.label, keepass2.notes) == ("KeePass2 TOTP", "k2", None)
    assert hotp.otp.kind == "hotp" and current_code(hotp.otp, 0)[0] == HOTP(
        SEED_BYTES, 6, hashes.SHA1(), enforce_key_length=False).generate(41).decode()
    assert legacy.otp.kind == "steam" and legacy.otp.secret == SEED_BYTES


def test_kdbx_problems_and_notes_name_items_never_values(kdbx):
    parsed = keepass.parse(kdbx, "db.kdbx", b"pw")
    assert [(p.where, p.field) for p in parsed.problems] == [
        ("db.kdbx: item 5 (Bad TOTP)", "otp"),
        ("db.kdbx: item 6 (Bad period)", "TimeOtp-Secret-Base32"),
    ]
    assert parsed.problems[0].message.startswith("not a valid TOTP secret or otpauth:// URI")
    assert [str(n) for n in parsed.notes] == [
        "db.kdbx: item 1 (Instagram): fields: left out: 1 custom field",
        "db.kdbx: item 7 (Nothing): left out: nothing to import",
        "db.kdbx: item 8 (Deleted): left out: in the recycle bin",
    ]
    assert not any("Zsecret" in text for text in messages(parsed))


def test_kdbx_needs_the_right_password(kdbx):
    with pytest.raises(PasswordNeeded, match=r"^db\.kdbx: the KeePass database is protected by a password$"):
        keepass.parse(kdbx, "db.kdbx")
    with pytest.raises(ImportFileError, match=r"^db\.kdbx: wrong password, or the file was altered$"):
        keepass.parse(kdbx, "db.kdbx", b"Pw")
    with pytest.raises(ImportFileError, match="not valid UTF-8"):
        keepass.parse(kdbx, "db.kdbx", b"\xff")


@pytest.mark.parametrize("damage", [
    lambda data: data[:8] + os.urandom(200),
    lambda data: data[:8],
    lambda data: data[:-40],
    lambda data: data[:600] + bytes([data[600] ^ 0x55]) + data[601:],
    lambda data: data[:100] + bytes([data[100] ^ 0x01]) + data[101:],
])
def test_damaged_kdbx_files_are_refused_cleanly(kdbx, damage):
    refusals = "not a KeePass database|wrong password|the database|KDBX version"
    with pytest.raises(ImportFileError, match=rf"^db\.kdbx: ({refusals})"):
        keepass.parse(damage(kdbx), "db.kdbx", b"pw")


def test_a_keepass_1_database_is_refused_with_advice():
    with pytest.raises(ImportFileError, match=r"^old\.kdb: a KeePass database older than KDBX 3\.1 .*KDBX 4"):
        keepass.parse(bytes.fromhex("03d9a29a65fb4bb5") + bytes(120), "old.kdb", b"pw")


def with_kdf(data: bytes, settings: dict[str, tuple[int, Any]]) -> bytes:
    """The database with its KDF settings replaced (key -> (type, value)); only the header is
    rebuilt, so the body no longer matches: fine, these files must be refused before it."""
    header = KDBX.header.parse(data)
    last = list(settings)[-1]  # the dictionary ends where the next byte is 0
    header.value.dynamic_header.kdf_parameters.data.dict = Container(
        {key: Container(type=kind, key=key, value=value, next_byte=0 if key == last else 1)
         for key, (kind, value) in settings.items()})
    return KDBX.header.build(header) + data[header.length:]


ARGON2 = {"$UUID": (0x42, kdf_uuids["argon2id"]), "S": (0x42, bytes(32)), "V": (0x04, 0x13),
          "P": (0x04, 1), "I": (0x05, 1), "M": (0x05, 64 * 1024)}
AES_KDF = {"$UUID": (0x42, kdf_uuids["aeskdf"]), "S": (0x42, bytes(32))}


@pytest.mark.parametrize(("changes", "message"), [
    (ARGON2 | {"M": (0x05, 2 * 1024**3)}, "2,097,152 KiB of memory"),
    (ARGON2 | {"I": (0x05, 2**40)}, "Argon2 work"),
    (ARGON2 | {"I": (0x05, 4097), "M": (0x05, 4 * 1024**2)}, "Argon2 work"),
    (ARGON2 | {"P": (0x04, 65), "M": (0x05, 1024**2)}, "65 lanes"),
    (ARGON2 | {"I": (0x05, 0)}, "Argon2 settings are not valid"),
    (ARGON2 | {"I": (0x42, b"\x01")}, "settings are damaged"),
    ({k: v for k, v in ARGON2.items() if k != "M"}, "settings are damaged"),
    (AES_KDF | {"R": (0x05, 10_000_001)}, "10,000,001 AES rounds"),
    (ARGON2 | {"$UUID": (0x42, bytes(16))}, "unknown key derivation"),
    # within the limits: the KDF runs, then the rebuilt header fails its checksum
    (ARGON2, "wrong password, or the file was altered"),
    (AES_KDF | {"R": (0x05, 10)}, "wrong password, or the file was altered"),
])
def test_kdbx4_key_derivation_is_capped_before_it_runs(kdbx, changes, message):
    with pytest.raises(ImportFileError, match=message):
        keepass.parse(with_kdf(kdbx, changes), "db.kdbx", b"pw")


def kdbx3_header(rounds: int) -> bytes:
    items = {"transform_seed": Container(id="transform_seed", data=bytes(32)),
             "transform_rounds": Container(id="transform_rounds", data=rounds),
             "end": Container(id="end", data=b"\r\n\r\n")}
    value = Container(sig1=keepass.KDBX_MAGIC[:4], sig2=keepass.KDBX_MAGIC[4:], minor_version=1,
                      major_version=3, dynamic_header=Container(items))
    return KDBX.header.build(Container(value=value))


def test_kdbx3_aes_rounds_are_capped_before_they_run():
    with pytest.raises(ImportFileError, match="10,000,001 AES rounds"):
        keepass.parse(kdbx3_header(10_000_001) + bytes(64), "v3.kdbx", b"pw")
    with pytest.raises(ImportFileError, match="not a KeePass database, or the file is damaged"):
        keepass.parse(kdbx3_header(10) + bytes(64), "v3.kdbx", b"pw")


# --- KeePass: KeePassXC CSV export -----------------------------------------------------------

KEEPASSXC_CSV = (
    '"Group","Title","Username","Password","URL","Notes","TOTP","Icon","Last Modified","Created"\n'
    '"Root/Social","X","@brand"," Zsecret-1 ","https://x.com","two\nlines",'
    f'"otpauth://totp/X:brand?secret={SEED}&period=30&digits=6&issuer=X","0","2024-01-01T00:00:00Z",""\n'
    '"Root","Bare","u","p","","","","0","",""\n'
    '"Root/Recycle Bin","Old","u","Zsecret-2","","","","0","",""\n'
    '"Root","Bad","u","Zsecret-3","","","Zsecret-4","0","",""\n'
    '"Root","Empty","","","","","","0","",""\n'
)


def test_keepassxc_csv_rows():
    parsed = keepass.parse(KEEPASSXC_CSV.encode(), "kp.csv")
    x, bare = parsed.entries
    assert (x.where, x.title, x.login_id, x.password) == ("kp.csv:2", "X", "@brand", " Zsecret-1 ")
    assert x.url == "https://x.com"
    assert x.notes == "two\nlines\nGroup: Social" and x.otp.issuer == "X"
    assert (bare.where, bare.notes, bare.url, bare.otp) == ("kp.csv:4", None, None, None)
    assert [(p.where, p.field) for p in parsed.problems] == [("kp.csv:6", "TOTP")]
    assert [str(n) for n in parsed.notes] == ["kp.csv:5: left out: in the recycle bin",
                                              "kp.csv:7: left out: nothing to import"]
    assert not any("Zsecret" in text for text in messages(parsed))


def test_keepassxc_csv_without_required_columns_is_refused():
    with pytest.raises(ImportFileError, match=r"^kp\.csv:1: the header lacks the column\(s\) password, url$"):
        keepass.parse(b'"Group","Title","Username"\n"Root","a","b"\n', "kp.csv")


# --- rules both password managers share ------------------------------------------------------


def test_urls_lose_their_query_and_fragment_before_they_are_stored():
    uris = [{"uri": "https://a.example/login?token=Zsecret-2#Zsecret-3"},
            {"uri": "b.example/x?next=/y"}, {"uri": "https://www.facebook.com/profile.php?ref=Zs&id=100012345"},
            {"uri": "https://www.tiktok.com/@acme?u=x:y@z"}]
    parsed = bitwarden.parse(export(login("Mail", "ada", "p", uris=uris)), "e.json")
    assert parsed.entries[0].url == "https://a.example/login" and parsed.notes == ()
    assert parsed.entries[0].notes == ("Other URLs: b.example/x https://www.facebook.com/profile.php?id=100012345"
                                       " https://www.tiktok.com/@acme")


@pytest.mark.parametrize("url", [
    "https://ada:Zsecret-1@a.example/login", "https://bob:pa/ss@x.com/a", "https://bob:s3cr#t@instagram.com/acme",
    "https://bob:s3cr?t@instagram.com/acme", "bob:Zs@instagram.com/acme", "https://bob@x.com/acme",
    "https://bob:Zs/x/@acme@x.com/",
])
def test_a_url_that_may_hold_a_user_or_password_is_left_out_with_a_note(url):
    parsed = bitwarden.parse(export(login("Mail", "ada", "p", uris=[{"uri": url}, {"uri": "https://b.example"}])),
                             "e.json")
    assert parsed.entries[0].url == "https://b.example" and parsed.entries[0].notes is None
    assert [str(n) for n in parsed.notes] == [
        "e.json: item 1 (Mail): url: left out: it may hold a user name or password"]
    text = KEEPASSXC_CSV.replace('"https://x.com"', f'"{url}"')
    parsed = keepass.parse(text.encode(), "kp.csv")
    assert parsed.entries[0].url is None and "url: left out" in str(parsed.notes[0])
    assert all(secret not in repr(parsed) + str(parsed.notes) for secret in ("Zs", "pa/ss", "s3cr"))


def test_a_csv_row_never_shows_its_cells_in_a_repr():
    rows = logins.read_csv("name,login_password\nMail,Zsecret-1\n", "bw.csv", ("name",))
    assert "Zsecret" not in repr(rows) and repr(rows) == "[CsvRow(line=2)]"


def test_item_titles_are_shown_printable_encodable_and_short():
    parsed = bitwarden.parse(export(login("\ud800 Mail\x1b[2J", "u", "p"), login("M" * 80, "u", "\ud800"),
                                    login("Notes", "u", "p", notes="\udfff")), "f.json")
    assert parsed.entries == ()
    assert [str(p) for p in parsed.problems] == [
        "f.json: item 1 (? Mail[2J): name: is not valid Unicode text",
        f"f.json: item 2 ({'M' * 57}...): password: is not valid Unicode text",
        "f.json: item 3 (Notes): notes: is not valid Unicode text",
    ]
