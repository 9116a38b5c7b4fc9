"""Authenticator-app importers (otpauth lists, Aegis, 2FAS, Google transfer exports) against
real exports from ../shared/fixtures, and hand-made files for the edge cases."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from smvault.domain.imports import EntryKind, ImportFileError, Parsed, PasswordNeeded, parse_file
from smvault.domain.imports import aegis, google_migration, otpauth_list, twofas
from smvault.domain.imports.model import Entry
from smvault.domain.otp import OtpParams, current_code, decode_base32_secret, hotp, parse_otpauth_uri
from tests.conftest import shared_fixture

SECRET = "JBSWY3DPEHPK3PXP"  # Google's Key Uri Format example: 80 bits
TWOFAS_ISSUERS = ("Deno", "Issuu", "Air Canada", "WWE", "Boeing")  # the 2FAS exports skip two


def load_expected(relative: str) -> Any:
    return json.loads(shared_fixture(relative).read_text(encoding="utf-8"))


def parse_fixture(fmt: str, relative: str, password: bytes | None = None) -> Parsed:
    path = shared_fixture(relative)
    return parse_file(fmt, path.read_bytes(), path.name, password=password)


def assert_entry(entry: Entry, want: dict[str, Any]) -> None:
    """One parsed entry against an EXPECTED.json entry, its codes included."""
    params = entry.otp
    assert params is not None
    assert entry.kind is EntryKind.OTP
    assert (entry.platform, entry.handle) == (None, None)
    assert entry.title == want["issuer"]
    assert (params.kind, params.issuer, params.label) == (want["type"], want["issuer"], want["name"])
    assert params.secret == decode_base32_secret(want["secret_base32"])
    assert (params.algorithm, params.digits) == (want["algorithm"], want["digits"])
    if want["type"] == "hotp":
        assert params.counter == want["counter"]
        assert current_code(params, 0) == (want["code_at_counter"][str(want["counter"])], None)
        for counter, code in want["code_at_counter"].items():
            assert hotp(params.secret, int(counter), params.digits, params.algorithm) == code
    else:
        assert params.period == want["period"]
        for at, code in want["codes_at_unix_time"].items():
            assert current_code(params, int(at))[0] == code


def assert_all_expected(parsed: Parsed, wanted: list[dict[str, Any]]) -> None:
    assert (parsed.problems, parsed.notes) == ((), ())
    assert len(parsed.entries) == len(wanted)
    for entry, want in zip(parsed.entries, wanted):
        assert_entry(entry, want)


def messages(parsed: Parsed) -> list[str]:
    return [str(problem) for problem in (*parsed.problems, *parsed.notes)]


# --- otpauth lists (aegis/plain.txt) --------------------------------------------------------


def test_plain_txt_gives_all_seven_entries_with_their_codes() -> None:
    parsed = parse_fixture("otpauth", "aegis/plain.txt")
    assert parsed.format == "otpauth"
    assert_all_expected(parsed, load_expected("aegis/EXPECTED.json")["entries"])
    assert [entry.where for entry in parsed.entries] == [f"plain.txt:{line}" for line in range(1, 8)]


def test_plain_txt_air_plus_canada_is_a_space() -> None:
    entry = parse_fixture("otpauth", "aegis/plain.txt").entries[4]
    assert (entry.where, entry.title, entry.otp.issuer) == ("plain.txt:5", "Air Canada", "Air Canada")


def test_otpauth_list_skips_blank_and_comment_lines_and_reports_a_bad_line() -> None:
    bad_secret = "NOT-BASE32-1890"
    text = (
        "# exported\x0cby hand\r\n"  # a form feed does not end a line (str.splitlines says it does)
        "\r\n"
        f"otpauth://totp/Acme:ops@acme.test?secret={SECRET}&issuer=Acme+Corp\r\n"
        "   # indented comment\n"
        f"otpauth://totp/Other:x?secret={bad_secret}\n"
        f"steam://{SECRET}\n"
        f"otpauth-migration://offline?data=AAAA\n"
    )
    parsed = otpauth_list.parse(text.encode(), "codes.txt")
    assert [entry.where for entry in parsed.entries] == ["codes.txt:3", "codes.txt:6"]
    acme, steam = parsed.entries
    assert (acme.title, acme.otp.issuer, acme.otp.label) == ("Acme Corp", "Acme Corp", "ops@acme.test")
    assert current_code(acme.otp, 1257894000)[0] == "528064"
    assert (steam.title, steam.otp.kind) == (None, "steam")
    assert [(p.where, p.field) for p in parsed.problems] == [("codes.txt:5", "uri"), ("codes.txt:7", "uri")]
    assert "secret" in parsed.problems[0].message and "base32" in parsed.problems[0].message
    assert "google-migration" in parsed.problems[1].message
    assert not any(bad_secret in text or SECRET in text for text in messages(parsed))


def test_otpauth_list_that_is_not_utf8_names_the_line() -> None:
    with pytest.raises(ImportFileError, match=r"^codes\.txt:2: not UTF-8"):
        otpauth_list.parse(b"# fine\n\xff\xfe otpauth://\n", "codes.txt")


# --- Aegis ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("relative", "password"), [("aegis/aegis_plain.json", None),
                                                    ("aegis/aegis_encrypted.json", b"test")])
def test_aegis_vault_gives_all_seven_entries(relative: str, password: bytes | None) -> None:
    parsed = parse_fixture("aegis", relative, password)
    assert parsed.format == "aegis"
    assert_all_expected(parsed, load_expected("aegis/EXPECTED.json")["entries"])
    name = Path(relative).name
    assert parsed.entries[4].where == f"{name}: item 5 (Air Canada)"


def test_aegis_encrypted_wrong_password_fails_cleanly() -> None:
    with pytest.raises(ImportFileError, match=r"^aegis_encrypted\.json: wrong password, or the file was altered$"):
        parse_fixture("aegis", "aegis/aegis_encrypted.json", b"tset")


def test_aegis_encrypted_without_password_asks_for_one() -> None:
    with pytest.raises(PasswordNeeded, match=r"^aegis_encrypted\.json: .*password"):
        parse_fixture("aegis", "aegis/aegis_encrypted.json")


def test_aegis_encrypted_with_altered_db_fails_cleanly() -> None:
    document = json.loads(shared_fixture("aegis/aegis_encrypted.json").read_text(encoding="utf-8"))
    db = bytearray(base64.b64decode(document["db"]))
    db[10] ^= 1
    document["db"] = base64.b64encode(bytes(db)).decode()
    with pytest.raises(ImportFileError, match="wrong password, or the file was altered"):
        aegis.parse(json.dumps(document).encode(), "vault.json", b"test")


def aegis_entry(kind: str = "totp", **info: Any) -> dict[str, Any]:
    return {"type": kind, "name": "ops@acme.test", "issuer": "Acme",
            "info": {"secret": SECRET, "algo": "SHA1", "digits": 6, "period": 30, **info}}


def aegis_plain(entries: list[Any]) -> bytes:
    return json.dumps({"version": 1, "header": {"slots": None, "params": None},
                       "db": {"version": 2, "entries": entries}}).encode()


def aegis_encrypted(db: Any, password: bytes, slot_type: int = 1, master_key_bytes: int = 32) -> bytes:
    """An encrypted vault as Aegis writes one, with a cheap scrypt cost."""
    master_key, salt = os.urandom(master_key_bytes), os.urandom(32)
    n, r, p = 2**4, 8, 1
    slot_key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password)
    slot_nonce, db_nonce = os.urandom(12), os.urandom(12)
    sealed_key = AESGCM(slot_key).encrypt(slot_nonce, master_key, None)
    sealed_db = AESGCM(master_key if len(master_key) == 32 else os.urandom(32)).encrypt(
        db_nonce, json.dumps(db).encode(), None)
    slot = {"type": slot_type, "key": sealed_key[:-16].hex(),
            "key_params": {"nonce": slot_nonce.hex(), "tag": sealed_key[-16:].hex()},
            "n": n, "r": r, "p": p, "salt": salt.hex()}
    header = {"slots": [slot], "params": {"nonce": db_nonce.hex(), "tag": sealed_db[-16:].hex()}}
    return json.dumps({"version": 1, "header": header,
                       "db": base64.b64encode(sealed_db[:-16]).decode()}).encode()


def test_aegis_hand_made_encrypted_vault_round_trips() -> None:
    data = aegis_encrypted({"version": 3, "entries": [aegis_entry()]}, b"pw")
    (entry,) = aegis.parse(data, "vault.json", b"pw").entries
    assert (entry.where, entry.otp.label) == ("vault.json: item 1 (Acme)", "ops@acme.test")
    with pytest.raises(ImportFileError, match="wrong password"):
        aegis.parse(data, "vault.json", b"pW")


def test_aegis_sealed_master_key_of_the_wrong_size_fails_cleanly() -> None:
    data = aegis_encrypted({"version": 1, "entries": []}, b"pw", master_key_bytes=5)
    with pytest.raises(ImportFileError, match="wrong password, or the file was altered"):
        aegis.parse(data, "vault.json", b"pw")


@pytest.mark.parametrize(("n", "r", "p"), [(2**40, 8, 1), (2**21, 8, 1), (2**20, 32, 1), (2**15, 1000, 1),
                                           (2**15, 8, 10**6), (2**20, 8, 16), (3 * 2**10, 8, 1), (1, 8, 1)])
def test_aegis_absurd_scrypt_cost_is_refused_fast(n: int, r: int, p: int) -> None:
    document = json.loads(aegis_encrypted({"version": 1, "entries": []}, b"pw"))
    document["header"]["slots"][0].update(n=n, r=r, p=p)
    data = json.dumps(document).encode()
    started = time.monotonic()
    with pytest.raises(ImportFileError, match=r"^vault\.json: refusing the vault's scrypt parameters: n=\d+"):
        aegis.parse(data, "vault.json", b"pw")
    assert time.monotonic() - started < 1
    with pytest.raises(ImportFileError) as refused:  # refused before asking for a password
        aegis.parse(data, "vault.json")
    assert not isinstance(refused.value, PasswordNeeded)


def test_aegis_vault_with_only_a_biometric_slot_is_refused() -> None:
    data = aegis_encrypted({"version": 1, "entries": []}, b"pw", slot_type=2)
    with pytest.raises(ImportFileError, match="no password slot"):
        aegis.parse(data, "vault.json", b"pw")


@pytest.mark.parametrize("change", [
    lambda doc: doc["header"].pop("params"),
    lambda doc: doc["header"]["params"].update(nonce="zz"),
    lambda doc: doc["header"]["params"].update(tag="00"),
    lambda doc: doc["header"].update(slots={"type": 1}),
    lambda doc: doc["header"]["slots"][0].update(n="16"),
    lambda doc: doc["header"]["slots"][0].pop("salt"),
    lambda doc: doc["header"].update(slots=[{"type": 1}] * 9),
    lambda doc: doc.update(db="not base64!"),
    lambda doc: doc.update(header=[]),
])
def test_aegis_malformed_header_is_one_clear_error(change: Any) -> None:
    document = json.loads(aegis_encrypted({"version": 1, "entries": []}, b"pw"))
    change(document)
    with pytest.raises(ImportFileError, match=r"^vault\.json: the Aegis vault header is malformed \(") as error:
        aegis.parse(json.dumps(document).encode(), "vault.json", b"pw")
    assert not isinstance(error.value, PasswordNeeded)


@pytest.mark.parametrize(("data", "message"), [
    (b"{not json", r"^vault\.json:1: not valid JSON"),
    (b"[]", r"^vault\.json: not an Aegis vault"),
    (b'{"version": 1}', r"^vault\.json: not an Aegis vault"),
    (b'{"version": 2, "db": {"version": 1, "entries": []}}', r"^vault\.json: unsupported Aegis vault version"),
    (b'{"version": true, "db": {"version": 1, "entries": []}}', r"^vault\.json: unsupported Aegis vault version"),
    (b'{"version": 1, "db": {"version": 9, "entries": []}}', r"^vault\.json: unsupported Aegis database"),
    (b'{"version": 1, "db": {"version": 1, "entries": {}}}', r"^vault\.json: not an Aegis vault"),
    (b'{"version": 1, "db": 7}', r"^vault\.json: not an Aegis vault"),
    (b'{"version": 1%s}' % (b"0" * 5000), r"^vault\.json: not valid JSON \(a number has too many digits\)"),
])
def test_aegis_file_of_the_wrong_shape_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        aegis.parse(data, "vault.json")


def test_aegis_bad_items_are_problems_and_others_notes() -> None:
    bad_secret = "AAAA1111BBBB"
    items = [
        aegis_entry(),
        "not an object",
        aegis_entry(secret=bad_secret),
        {**aegis_entry(), "type": "motp"},
        {**aegis_entry(), "type": "sms"},
        {**aegis_entry(), "info": None},
        aegis_entry("hotp"),  # no counter
        aegis_entry(digits="6"),
        aegis_entry(algo="MD5"),
        {**aegis_entry(), "issuer": 5},
        {**aegis_entry(), "issuer": "", "name": "\x1b[31mred\x1b[0m"},
        aegis_entry("hotp", counter=-1),
        aegis_entry("steam", digits=5),
    ]
    parsed = aegis.parse(aegis_plain(items), "vault.json")
    assert [entry.where for entry in parsed.entries] == [
        "vault.json: item 1 (Acme)", "vault.json: item 11 ([31mred[0m)", "vault.json: item 13 (Acme)"]
    assert parsed.entries[2].otp.kind == "steam"
    assert [(p.where, p.field) for p in parsed.problems] == [
        ("vault.json: item 2", None),
        ("vault.json: item 3 (Acme)", "secret"),
        ("vault.json: item 5 (Acme)", "type"),
        ("vault.json: item 6 (Acme)", "info"),
        ("vault.json: item 7 (Acme)", "counter"),
        ("vault.json: item 8 (Acme)", "info"),
        ("vault.json: item 9 (Acme)", "info"),
        ("vault.json: item 10 (ops@acme.test)", "issuer"),
        ("vault.json: item 12 (Acme)", "info"),
    ]
    assert "digits" in parsed.problems[5].message and "algorithm" in parsed.problems[6].message
    assert [(n.where, n.field) for n in parsed.notes] == [("vault.json: item 4 (Acme)", "type")]
    assert not any(bad_secret in text or SECRET in text for text in messages(parsed))


# --- 2FAS -----------------------------------------------------------------------------------


def twofas_expected() -> list[dict[str, Any]]:
    entries = load_expected("aegis/EXPECTED.json")["entries"]
    return [entry for entry in entries if entry["issuer"] in TWOFAS_ISSUERS]


@pytest.mark.parametrize(("relative", "password"), [("aegis/2fas_authenticator_plain_v4.2fas", None),
                                                    ("aegis/2fas_authenticator_encrypted_v4.2fas", b"test")])
def test_2fas_backup_gives_five_entries(relative: str, password: bytes | None) -> None:
    parsed = parse_fixture("2fas", relative, password)
    assert parsed.format == "2fas"
    assert_all_expected(parsed, twofas_expected())
    assert parsed.entries[2].where == f"{Path(relative).name}: item 3 (Air Canada)"


def test_2fas_encrypted_wrong_password_fails_cleanly() -> None:
    wrong = r"^2fas_authenticator_encrypted_v4\.2fas: wrong password, or the file was altered$"
    with pytest.raises(ImportFileError, match=wrong):
        parse_fixture("2fas", "aegis/2fas_authenticator_encrypted_v4.2fas", b"Test")


def test_2fas_encrypted_without_password_asks_for_one() -> None:
    with pytest.raises(PasswordNeeded, match=r"^2fas_authenticator_encrypted_v4\.2fas: .*password"):
        parse_fixture("2fas", "aegis/2fas_authenticator_encrypted_v4.2fas")


def twofas_service(token_type: str | None = "TOTP", **otp: Any) -> dict[str, Any]:
    fields = {"account": "ops@acme.test", "issuer": "Acme", "digits": 6, "period": 30, "algorithm": "SHA1"}
    if token_type is not None:
        fields["tokenType"] = token_type
    return {"name": "Acme", "secret": SECRET, "otp": {**fields, **otp}}


def twofas_backup(services: list[Any], password: bytes | None = None) -> bytes:
    document: dict[str, Any] = {"services": services, "groups": [], "schemaVersion": 4}
    if password is not None:
        salt, iv = os.urandom(256), os.urandom(12)
        key = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=10_000).derive(password)
        sealed = AESGCM(key).encrypt(iv, json.dumps(services).encode(), None)
        document["services"] = []
        document["servicesEncrypted"] = ":".join(base64.b64encode(part).decode() for part in (sealed, salt, iv))
    return json.dumps(document).encode()


def test_2fas_null_services_encrypted_means_plain() -> None:
    document = json.loads(twofas_backup([twofas_service()]))
    parsed = twofas.parse(json.dumps({**document, "servicesEncrypted": None}).encode(), "backup.2fas")
    assert len(parsed.entries) == 1


def test_2fas_hand_made_encrypted_backup_round_trips() -> None:
    data = twofas_backup([twofas_service(None)], b"pw")  # no tokenType: TOTP, as older backups
    (entry,) = twofas.parse(data, "backup.2fas", b"pw").entries
    assert (entry.where, entry.otp.kind, entry.otp.label) == ("backup.2fas: item 1 (Acme)", "totp", "ops@acme.test")
    assert current_code(entry.otp, 1257894000)[0] == "528064"


@pytest.mark.parametrize(("data", "message"), [
    (b"\xef\xbb\xbf{", r"^backup\.2fas:1: not valid JSON"),
    (b'"text"', r"^backup\.2fas: not a 2FAS backup"),
    (b'{"services": []}', r"^backup\.2fas: not a 2FAS backup"),
    (b'{"schemaVersion": 5, "services": []}', r"^backup\.2fas: unsupported 2FAS schema version"),
    (b'{"schemaVersion": "4", "services": []}', r"^backup\.2fas: unsupported 2FAS schema version"),
    (b'{"schemaVersion": 4, "services": {}}', r"^backup\.2fas: not a 2FAS backup"),
    (b'{"schemaVersion": 4, "servicesEncrypted": 5}', r"^backup\.2fas: servicesEncrypted is not base64"),
    (b'{"schemaVersion": 4, "servicesEncrypted": "AAAA:AAAA"}', r"^backup\.2fas: servicesEncrypted is not base64"),
    (b'{"schemaVersion": 4, "servicesEncrypted": "AAAA:AAAA:AAAA"}', r"^backup\.2fas: servicesEncrypted has an IV"),
])
def test_2fas_file_of_the_wrong_shape_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message) as error:
        twofas.parse(data, "backup.2fas", b"pw")
    assert not isinstance(error.value, PasswordNeeded)


def test_2fas_encrypted_payload_that_is_not_a_list_is_refused() -> None:
    data = twofas_backup({"not": "a list"}, b"pw")  # type: ignore[arg-type]
    with pytest.raises(ImportFileError, match=r"^backup\.2fas: not a 2FAS backup"):
        twofas.parse(data, "backup.2fas", b"pw")


def test_2fas_bad_services_are_problems() -> None:
    bad_secret = "AAAA1111BBBB"
    services = [
        twofas_service(),
        [],
        {**twofas_service(), "secret": bad_secret},
        twofas_service("MOTP"),
        twofas_service(["TOTP"]),
        {**twofas_service(), "otp": "x"},
        twofas_service("HOTP"),  # no counter
        twofas_service(period=0),
        twofas_service("STEAM", digits=5, issuer=None),
    ]
    parsed = twofas.parse(twofas_backup(services), "backup.2fas")
    assert [entry.where for entry in parsed.entries] == ["backup.2fas: item 1 (Acme)", "backup.2fas: item 9 (Acme)"]
    steam = parsed.entries[1]
    assert (steam.title, steam.otp.kind, steam.otp.issuer, steam.otp.digits) == ("Acme", "steam", "Acme", 5)
    assert [(p.where, p.field) for p in parsed.problems] == [
        ("backup.2fas: item 2", None),
        ("backup.2fas: item 3 (Acme)", "secret"),
        ("backup.2fas: item 4 (Acme)", "otp.tokenType"),
        ("backup.2fas: item 5 (Acme)", "otp.tokenType"),
        ("backup.2fas: item 6 (Acme)", "otp"),
        ("backup.2fas: item 7 (Acme)", "otp.counter"),
        ("backup.2fas: item 8 (Acme)", "otp"),
    ]
    assert "period" in parsed.problems[6].message
    assert not any(bad_secret in text or SECRET in text for text in messages(parsed))


# --- Google Authenticator transfer exports --------------------------------------------------


def migration_label(name: str, issuer: str) -> str | None:
    """Google stores "Issuer:account" as the name when the label had the issuer in it."""
    return name.removeprefix(f"{issuer}:") if issuer else name


def test_google_example_export_gives_the_six_expected_entries() -> None:
    parsed = parse_fixture("google-migration", "google-migration/example_export.txt")
    wanted = load_expected("google-migration/example_output.expected.json")
    assert parsed.format == "google-migration"
    assert parsed.problems == ()
    assert len(parsed.entries) == len(wanted) == 6
    for entry, want in zip(parsed.entries, wanted):
        params = entry.otp
        assert entry.kind is EntryKind.OTP
        assert params.secret == decode_base32_secret(want["secret"])
        assert params.issuer == (want["issuer"] or None)
        assert params.label == migration_label(want["name"], want["issuer"])
        assert entry.title == (want["issuer"] or want["name"])
        assert params.kind == want["type"]
        assert (params.algorithm, params.digits, params.period) == ("SHA1", 6, 30)
        assert params.counter == (want["counter"] or 0)
        reference = parse_otpauth_uri(want["url"])  # the URI the upstream tool printed
        assert (reference.secret, reference.kind, reference.counter) == (params.secret, params.kind, params.counter)
    # lines of the URIs, and the entry inside each (the third URI holds two accounts)
    assert [entry.where.split(" (", 1)[0] for entry in parsed.entries] == [
        "example_export.txt:5: entry 1", "example_export.txt:8: entry 1", "example_export.txt:12: entry 1",
        "example_export.txt:12: entry 2", "example_export.txt:15: entry 1", "example_export.txt:19: entry 1"]
    assert parsed.entries[5].where == "example_export.txt:19: entry 1 (encoding: ¿äÄéÉ? (demo))"


def test_google_example_export_codes() -> None:
    parsed = parse_fixture("google-migration", "google-migration/example_export.txt")
    codes = load_expected("google-migration/EXPECTED.json")["codes_for_cross_check"]["7KSQL2JTUDIS5EF65KLMRQIIGY"]
    totp_entry, hotp_entry = parsed.entries[0], parsed.entries[4]
    assert current_code(totp_entry.otp, 1700000000)[0] == codes["totp_1700000000"]
    assert (hotp_entry.otp.kind, hotp_entry.otp.counter) == ("hotp", 4)
    assert current_code(hotp_entry.otp, 0) == (codes["hotp_counter_4"], None)


def test_google_export_with_raw_plus_in_base64() -> None:
    parsed = parse_fixture("google-migration", "google-migration/test_plus_problem_export.txt")
    expected = load_expected("google-migration/EXPECTED.json")
    wanted = expected["test_plus_problem_export.txt"]["expected"]
    assert parsed.problems == ()
    assert len(parsed.entries) == len(wanted) == 4
    for index, (entry, want) in enumerate(zip(parsed.entries, wanted), start=1):
        assert entry.where == f"test_plus_problem_export.txt:1: entry {index} (SerenityLabs)"
        assert entry.otp.secret == decode_base32_secret(want["secret_base32"])
        assert (entry.otp.kind, entry.otp.issuer) == (want["type"], want["issuer"])
        assert entry.otp.label == migration_label(want["name"], want["issuer"])
    code = expected["codes_for_cross_check"]["A4RFDYMF4GSLUIBQV4ZP67OJEZ2XUQVM"]["totp_1700000000"]
    assert current_code(parsed.entries[0].otp, 1700000000)[0] == code


@pytest.mark.parametrize(("relative", "message"), [
    ("google-migration/test_export_wrong_data.txt", "data is not a Google Authenticator transfer payload"),
    ("google-migration/test_export_wrong_prefix.txt", "not an otpauth-migration:// URI"),
])
def test_google_export_wrong_data_or_prefix_is_a_clear_problem(relative: str, message: str) -> None:
    parsed = parse_fixture("google-migration", relative)
    assert parsed.entries == ()
    assert [str(problem) for problem in parsed.problems] == [f"{Path(relative).name}:1: uri: {message}"]


def test_google_dim13_uris() -> None:
    cases = load_expected("google-migration/EXPECTED.json")["dim13_otpauth_migration_test_uris"]
    parsed = google_migration.parse("\n".join(case["uri"] for case in cases).encode(), "dim13.txt")
    assert parsed.problems == ()
    first, second = parsed.entries
    reference = parse_otpauth_uri(cases[0]["expected_otpauth"])
    assert first.where == "dim13.txt:1: entry 1 (Example)"
    assert (first.otp.secret, first.otp.issuer, first.otp.label, first.otp.kind, first.otp.period) == (
        reference.secret, reference.issuer, reference.label, reference.kind, reference.period)
    assert current_code(first.otp, 1257894000)[0] == cases[0]["expected_totp_at_2009-11-10T23:00:00Z"]
    want = cases[1]["expected"]
    assert second.where == "dim13.txt:2: entry 1 (Example)"
    assert second.otp.secret == decode_base32_secret(want["secret_base32"])
    assert (second.otp.kind, second.otp.issuer) == (want["type"], want["issuer"])
    assert second.otp.label == migration_label(want["name"], want["issuer"]) == "alice@google.com"


def migration_uri(*accounts: dict[str, Any], url_safe: bool = False) -> str:
    payload = google_migration.MigrationPayload(version=1, batch_size=1, batch_index=0, batch_id=7)
    for account in accounts:
        payload.otp_parameters.add(**account)
    raw = payload.SerializeToString()
    data = (base64.urlsafe_b64encode(raw) if url_safe else base64.b64encode(raw)).decode()
    return f"otpauth-migration://offline?data={data}"


def account(**fields: Any) -> dict[str, Any]:
    return {"secret": decode_base32_secret(SECRET), "name": "Acme:ops@acme.test", "issuer": "Acme",
            "algorithm": 1, "digits": 1, "type": 2, **fields}


def test_google_hand_made_export_problems_per_entry() -> None:
    lines = [
        "# two QR codes",
        migration_uri(account(), account(algorithm=4), account(type=0), account(type=7), account(digits=9),
                      account(secret=b""), account(type=1, counter=-5), account(algorithm=3, digits=2, name="x")),
        "",
        migration_uri(account(name="ops@acme.test", issuer="", type=1, counter=9), url_safe=True),
        "otpauth-migration://offline?data=%%%",
        "otpauth-migration://offline?nodata=1",
        "otpauth-migration://offline?data=" + base64.b64encode(b"\x0a\x80").decode(),
        migration_uri(),
    ]
    parsed = google_migration.parse("\n".join(lines).encode(), "qr.txt")
    first, sha512, counter = parsed.entries
    assert (first.where, first.title, first.otp.label) == ("qr.txt:2: entry 1 (Acme)", "Acme", "ops@acme.test")
    assert (sha512.where, sha512.otp.algorithm, sha512.otp.digits, sha512.otp.label) == (
        "qr.txt:2: entry 8 (Acme)", "SHA512", 8, "x")
    assert (counter.where, counter.title, counter.otp.issuer) == (
        "qr.txt:4: entry 1 (ops@acme.test)", "ops@acme.test", None)
    assert (counter.otp.kind, counter.otp.counter) == ("hotp", 9)
    assert [str(problem) for problem in parsed.problems] == [
        "qr.txt:2: entry 2 (Acme): algorithm: MD5 is not supported",
        "qr.txt:2: entry 3 (Acme): type: neither HOTP nor TOTP",
        "qr.txt:2: entry 4 (Acme): type: neither HOTP nor TOTP",
        "qr.txt:2: entry 5 (Acme): digits: unknown digit count",
        "qr.txt:2: entry 6 (Acme): otp: OTP secret is empty.",
        "qr.txt:2: entry 7 (Acme): otp: OTP counter must be between 0 and 18446744073709551615.",
        "qr.txt:5: uri: data is not valid base64",
        "qr.txt:6: uri: needs exactly one data parameter",
        "qr.txt:7: uri: data is not a Google Authenticator transfer payload",
        "qr.txt:8: uri: data holds no accounts",
    ]


def test_google_url_safe_base64_without_padding() -> None:
    # some QR readers print base64url and drop the '=' padding; both must still decode
    secret = b"\xfb\xef\xbe" * 3 + b"\xff\xff" + b"\xfb\xef\xbe" * 3  # encodes to '/' and '+'
    uri = migration_uri(account(secret=secret, name="ab"))
    data = uri.partition("data=")[2]
    assert "+" in data and "/" in data and data.endswith("=")
    url_safe = "otpauth-migration://offline?data=" + data.replace("+", "-").replace("/", "_").rstrip("=")
    (entry,) = google_migration.parse(url_safe.encode(), "qr.txt").entries
    assert entry.otp.secret == secret


def test_password_is_ignored_by_unencrypted_formats() -> None:
    line = f"otpauth://totp/Acme:ops?secret={SECRET}".encode()
    assert len(parse_file("otpauth", line, "a.txt", password=b"x").entries) == 1
    assert len(parse_file("aegis", aegis_plain([aegis_entry()]), "a.json", password=b"x").entries) == 1
    assert len(parse_file("2fas", twofas_backup([twofas_service()]), "a.2fas", password=b"x").entries) == 1
    assert len(parse_file("google-migration", migration_uri(account()).encode(), "a.txt", password=b"x").entries) == 1


def test_entry_otp_is_a_full_otp_params() -> None:
    (entry,) = aegis.parse(aegis_plain([aegis_entry("hotp", counter=3, digits=8, algo="SHA256")]), "v.json").entries
    assert isinstance(entry.otp, OtpParams)
    assert (entry.otp.kind, entry.otp.counter, entry.otp.digits, entry.otp.algorithm) == ("hotp", 3, 8, "SHA256")
    assert "JBSW" not in repr(entry)


# --- rules every authenticator format shares ------------------------------------------------

SHORT_SEED, SEED_64 = "JBSWY3DP", "JBSWY3DPEHPK3"  # 40 bits (a damaged seed), 64 bits (enough)


def file_with_seed(fmt: str, seed: str) -> bytes:
    return {
        "otpauth": lambda: f"otpauth://totp/Acme:ops?secret={seed}".encode(),
        "aegis": lambda: aegis_plain([aegis_entry(secret=seed)]),
        "2fas": lambda: twofas_backup([{**twofas_service(), "secret": seed}]),
        "google-migration": lambda: migration_uri(account(secret=decode_base32_secret(seed))).encode(),
    }[fmt]()


@pytest.mark.parametrize("fmt", ["otpauth", "aegis", "2fas", "google-migration"])
def test_a_seed_shorter_than_64_bits_is_a_problem_in_every_format(fmt: str) -> None:
    parsed = parse_file(fmt, file_with_seed(fmt, SHORT_SEED), "f")
    assert parsed.entries == ()
    (problem,) = parsed.problems
    assert problem.field == "secret" and "only 40 bits, too short to be a real key (64 at least)" in problem.message
    assert SHORT_SEED not in str(problem)
    (entry,) = parse_file(fmt, file_with_seed(fmt, SEED_64), "f").entries
    assert len(entry.otp.secret) == 8


def test_titles_in_messages_are_printable_encodable_and_short() -> None:
    long_name = "A" * 100
    parsed = google_migration.parse(migration_uri(account(issuer=long_name, algorithm=4)).encode(), "qr.txt")
    assert parsed.problems[0].where == f"qr.txt:1: entry 1 ({'A' * 57}...)"
    items = [{**aegis_entry(secret="!!"), "issuer": "\ud800Acme\x1b[2J"}]
    (problem,) = aegis.parse(aegis_plain(items), "vault.json").problems
    assert problem.where == "vault.json: item 1 (?Acme[2J)"
    problem.where.encode("utf-8")


def test_aegis_password_slots_together_are_capped_before_any_derivation(monkeypatch) -> None:
    def no_derivation(**_: Any) -> None:
        raise AssertionError("scrypt ran")

    document = json.loads(aegis_encrypted({"version": 1, "entries": []}, b"pw"))
    slot = document["header"]["slots"][0] | {"n": 2**20, "r": 8, "p": 1}  # alone within the caps
    document["header"]["slots"] = [slot, slot, slot]
    monkeypatch.setattr(aegis, "Scrypt", no_derivation)
    with pytest.raises(ImportFileError, match=r"^vault\.json: .*password slots together would take minutes"):
        aegis.parse(json.dumps(document).encode(), "vault.json", b"pw")


def test_aegis_scrypt_out_of_memory_is_an_import_error(monkeypatch) -> None:
    class Starved:
        def __init__(self, **_: Any) -> None:
            pass

        def derive(self, _: bytes) -> bytes:
            raise MemoryError

    monkeypatch.setattr(aegis, "Scrypt", Starved)
    with pytest.raises(ImportFileError, match=r"^vault\.json: the vault's key could not be derived"):
        aegis.parse(aegis_encrypted({"version": 1, "entries": []}, b"pw"), "vault.json", b"pw")
