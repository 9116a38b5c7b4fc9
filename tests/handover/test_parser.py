"""The `handover` import format (domain.imports.handover): packets sealed by hand here, so each
account shape can be tried; packets made by a real vault are in test_services.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smvault.domain.errors import InvalidInputError
from smvault.domain.handover import KdfParams, seal
from smvault.domain.imports import EntryKind, ImportFileError, PasswordNeeded, parse_file
from smvault.domain.models import normalize_handle, normalize_platform
from smvault.domain.otp import parse_otpauth_uri

CHEAP = KdfParams(time_cost=1, memory_kib=64, parallelism=1)
PASSPHRASE = "acid acne adapt adjust admit adult agency aircraft alarm album alcohol alien"
URI = "otpauth://totp/instagram:acme?secret=JBSWY3DPEHPK3PXP&issuer=instagram"
BOB = {"name": "Bob Builder", "email": "bob@example.com"}
FULL = {
    "platform": "instagram", "handle": "acme", "url": "https://instagram.com/acme", "brand": "Acme",
    "region": "EMEA", "business_unit": "Retail", "tier": 1, "status": "active", "company_owned": False,
    "login_id": "social@acme.example", "recovery_email": "recovery@acme.example",
    "recovery_email_controller": {"name": "Cara", "email": "cara@example.com"},
    "recovery_phone": "+15550100", "recovery_phone_controller": None, "mfa": "totp", "totp_holder": BOB,
    "owner": BOB, "backup_owner": None, "platform_admins": [BOB, {"name": "Dev Ops", "email": "dev@example.com"}],
    "password": "pw-secret-1", "password_rotated_at": "2026-11-01T08:00:00Z", "totp": URI,
    "recovery_codes": ["rc-1", "rc-2"], "notes": "Main brand account",
}


def packet(*accounts: dict, keys=None) -> bytes:
    keys = keys if keys is not None else [f"{a.get('platform')}:{a.get('handle')}" for a in accounts]
    return seal({"accounts": list(accounts)}, packet_id="pkt-1", to="dest@example.com", from_vault="vault-1",
                created_at="2026-11-02T09:30:00Z", created_by="alice", accounts=keys, passphrase=PASSPHRASE,
                kdf=CHEAP)


def parse(data: bytes, password: bytes | None = PASSPHRASE.encode()):
    return parse_file("handover", data, "p.smh", password=password)


def test_an_account_becomes_one_entry_with_its_secrets_and_fields_and_a_note_of_its_people():
    parsed = parse(packet(FULL))
    assert parsed.format == "handover" and not parsed.problems
    (entry,) = parsed.entries
    assert entry.where == "p.smh: account 1 (instagram:acme)" and entry.kind is EntryKind.ACCOUNT
    assert (entry.platform, entry.handle, entry.title) == ("instagram", "acme", "instagram:acme")
    assert (entry.login_id, entry.url, entry.password) == ("social@acme.example", "https://instagram.com/acme",
                                                           "pw-secret-1")
    assert entry.otp == parse_otpauth_uri(URI) and entry.recovery_codes == ("rc-1", "rc-2")
    assert dict(entry.fields) == {
        "url": "https://instagram.com/acme", "brand": "Acme", "region": "EMEA", "business_unit": "Retail",
        "login_id": "social@acme.example", "recovery_email": "recovery@acme.example",
        "recovery_phone": "+15550100", "status": "active", "mfa": "totp", "notes": "Main brand account",
        "tier": "1", "company_owned": "no",
    }
    assert entry.notes is None  # the account's notes are a field: the importer takes them
    assert [str(note) for note in parsed.notes] == [
        "p.smh: account 1 (instagram:acme): people: not imported (people of the source vault): "
        "owner: Bob Builder <bob@example.com>; recovery email controller: Cara <cara@example.com>; "
        "TOTP holder: Bob Builder <bob@example.com>; "
        "platform admins: Bob Builder <bob@example.com>, Dev Ops <dev@example.com>"
    ]
    assert not any("@example.com" in value for value in entry.fields.values())  # no person in fields
    assert "pw-secret-1" not in repr(parsed)


def test_a_bare_account_has_no_secrets_and_few_fields():
    parsed = parse(packet({"platform": "twitter", "handle": "@acme"}, keys=["x:acme"]))
    (entry,) = parsed.entries
    assert (entry.platform, entry.handle) == ("x", "acme")
    assert entry.password is None and entry.otp is None and entry.recovery_codes == ()
    assert dict(entry.fields) == {} and parsed.notes == ()


def test_no_password_asks_for_one_but_only_for_a_packet():
    with pytest.raises(PasswordNeeded, match="^p.smh: a handover packet is encrypted"):
        parse(packet(FULL), password=None)
    with pytest.raises(ImportFileError) as err:
        parse(b"just,a,csv\n", password=None)
    assert not isinstance(err.value, PasswordNeeded)


def test_wrong_passphrase():
    with pytest.raises(ImportFileError, match="^p.smh: wrong passphrase, or the packet was altered$"):
        parse(packet(FULL), password=b"not it")


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"platform": "myspace"}, "platform", "missing or not a known platform"),
    ({"platform": None}, "platform", "missing or not a known platform"),
    ({"handle": "two words"}, "handle", "missing or not a valid handle"),
    ({"password": 42}, "password", "must be text"),
    ({"totp": "otpauth://totp/x?secret=!!"}, "totp", "OTP"),
    ({"totp": ["otpauth://"]}, "totp", "must be an otpauth:// URI"),
    ({"recovery_codes": "rc-1"}, "recovery_codes", "must be a list of codes"),
    ({"recovery_codes": ["rc-1", ""]}, "recovery_codes", "must be a list of codes"),
    ({"tier": "1"}, "tier", "must be a whole number"),
    ({"company_owned": "yes"}, "company_owned", "must be true or false"),
    ({"owner": "bob@example.com"}, "owner", "must be a person with a name and an email"),
    ({"platform_admins": BOB}, "platform_admins", "must be a list of people"),
    ({"platform_admins": [{"name": "x"}]}, "platform_admins", "must be a person"),
    ({"platform_admins": [None]}, "platform_admins", "must be a list of people"),
    ({"brand": ["Acme"]}, "brand", "must be text"),
    # JSON may hold lone surrogates: no vault can store them, no terminal print them
    ({"password": "pw\ud800"}, "password", "is not valid Unicode text"),
    ({"recovery_codes": ["rc-1", "\ud800"]}, "recovery_codes", "is not valid Unicode text"),
    ({"notes": "\udfff"}, "notes", "is not valid Unicode text"),
    ({"handle": "acme\ud800"}, "handle", "is not valid Unicode text"),
    ({"owner": {"name": "Bob \ud800", "email": "bob@example.com"}}, "owner", "is not valid Unicode text"),
    ({"totp": "otpauth://totp/x?secret=JBSWY3DP"}, "totp", "only 40 bits, too short to be a real key"),
])
def test_a_malformed_account_is_a_problem_and_the_others_still_come_in(change, field, message):
    bad = {**FULL, **change}
    good = {"platform": "x", "handle": "acme-news", "password": "pw-2"}
    parsed = parse(packet(bad, good, keys=["instagram:acme", "x:acme-news"]))
    assert [e.where for e in parsed.entries] == ["p.smh: account 2 (x:acme-news)"]
    (problem,) = parsed.problems
    assert problem.field == field and message in problem.message
    assert problem.where.startswith("p.smh: account 1") and parsed.notes == ()  # a refused account has no note
    str(problem).encode("utf-8")
    assert "pw-secret-1" not in str(problem) and "JBSWY3DPEHPK3PXP" not in str(problem)


def test_an_account_that_is_not_an_object_is_a_problem():
    parsed = parse(packet("instagram:acme", keys=["instagram:acme"]))
    assert [str(p) for p in parsed.problems] == ["p.smh: account 1: account: must be an object"]


def test_a_header_that_lists_other_accounts_than_the_contents_is_refused():
    with pytest.raises(ImportFileError, match="header and its contents list different accounts"):
        parse(packet(FULL, keys=["instagram:other"]))


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12)
                       | st.sampled_from(["\ud800", "x", "instagram", "acme", "JBSWY3DPEHPK3PXP"]),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                       max_leaves=6)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(JSONISH, st.dictionaries(st.sampled_from(sorted(FULL)), JSONISH, max_size=8),
                          st.builds(lambda extra: {**FULL, **extra},
                                    st.dictionaries(st.sampled_from(sorted(FULL)), JSONISH, max_size=3))),
                max_size=3))
def test_any_account_shapes_give_entries_or_problems_never_another_error(accounts):
    parsed = parse(packet(*accounts, keys=header_keys(accounts)))  # the header agrees: nothing refuses the file
    assert len(parsed.entries) + len(parsed.problems) == len(accounts)
    for text in (*map(str, parsed.problems), *map(str, parsed.notes), *(e.where for e in parsed.entries)):
        text.encode("utf-8")
    for entry in parsed.entries:  # every value the vault would store is valid Unicode
        for value in (entry.login_id, entry.url, entry.password, *entry.recovery_codes, *entry.fields.values()):
            (value or "").encode("utf-8")


def header_keys(accounts: list) -> list[str]:
    """The header's account list as `handover create` writes it: platform:handle of each account."""
    keys = []
    for account in accounts:
        try:
            keys.append(f"{normalize_platform(account['platform'])}:{normalize_handle(account['handle'])}")
        except (InvalidInputError, KeyError, TypeError, AttributeError):
            continue  # not an account: a problem, and then the header is not compared
    return keys
