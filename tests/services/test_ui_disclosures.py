"""What the UI discloses besides a reveal: a copied password, a QR code, a copied code.

Each is its own log entry with the same fields as a reveal, so "what did this person learn"
sees it; each follows the grant policy of what it discloses.
"""

from __future__ import annotations

import pytest

from smvault.domain import otp
from smvault.domain.errors import InvalidInputError, NotFoundError, PolicyError
from smvault.services import accounts, grants, operators, people, secrets
from smvault.services.people import DISCLOSURE_ACTIONS, person_detail
from smvault.services.session import unlock

SEED = "JBSWY3DPEHPK3PXP"
PASSWORD = "pa55-word!"
DAVE_PASS = b"dave passphrase 123"


@pytest.fixture
def acct(session):
    accounts.add_account(session, "instagram", "acme", login_id="social@example.com", mfa="totp")
    grants.add_grant(session, "alice@example.com", "instagram:acme", "manage")
    secrets.set_password(session, "instagram:acme", PASSWORD)
    secrets.set_totp(session, "instagram:acme", SEED)
    return "instagram:acme"


def new_entries(session, before: int) -> list[dict]:
    return session.vault.log.entries(newest_first=False)[before:]


@pytest.fixture
def dave(session, acct, clock):
    """A second operator who holds only a code-only grant on the account."""
    operators.add_operator(session, "dave", DAVE_PASS, email="dave@agency.example", person_name="Dave Agency")
    grants.add_grant(session, "dave@agency.example", acct, "code-only")
    other = unlock(session.vault.directory, "dave", DAVE_PASS, clock=clock)
    yield other
    other.close()


# --- copy a password -----------------------------------------------------------------------


def test_copy_secret_returns_the_password_and_logs_one_copy(session, acct):
    before = session.vault.log.count()
    copied = secrets.copy_secret(session, acct)
    assert copied.value == PASSWORD and copied.field == "password" and copied.recipient is None
    assert PASSWORD not in repr(copied) and PASSWORD not in str(copied)
    [entry] = new_entries(session, before)
    account_id = session.vault.accounts.by_key("instagram", "acme").id
    assert entry["action"] == "secret.copy"
    assert {k: entry[k] for k in ("op", "account", "acct", "to", "to_email", "field")} == {
        "op": "alice", "account": account_id, "acct": acct, "to": session.person.id,
        "to_email": "alice@example.com", "field": "password",
    }
    assert "for" not in entry  # the operator's own copy, not on someone's behalf
    assert PASSWORD not in str(session.vault.log.entries())


def test_copy_has_the_same_fields_as_a_reveal(session, acct):
    before = session.vault.log.count()
    secrets.reveal(session, acct)
    secrets.copy_secret(session, acct)
    reveal, copy = new_entries(session, before)
    strip = lambda e: {k: v for k, v in e.items() if k not in ("seq", "action")}  # noqa: E731
    assert strip(reveal) == strip(copy)


def test_copy_only_the_password(session, acct):
    before = session.vault.log.count()
    for field in ("totp-seed", "recovery-codes", "nonsense"):
        with pytest.raises(InvalidInputError):
            secrets.copy_secret(session, acct, field)
    assert session.vault.log.count() == before


def test_copy_needs_a_password_and_a_grant(session, acct):
    accounts.add_account(session, "x", "empty")
    grants.add_grant(session, "alice@example.com", "x:empty", "reveal")
    accounts.add_account(session, "x", "foreign")
    secrets.set_password(session, "x:foreign", "not-yours-1")  # nobody manages it yet
    before = session.vault.log.count()
    with pytest.raises(NotFoundError):
        secrets.copy_secret(session, "x:empty")
    with pytest.raises(PolicyError) as err:
        secrets.copy_secret(session, "x:foreign")
    assert err.value.exit_code == 5
    assert session.vault.log.count() == before


# --- a QR code ------------------------------------------------------------------------------


def test_totp_qr_returns_a_labelled_uri_and_logs_one_entry(session, acct):
    before = session.vault.log.count()
    shown = secrets.totp_qr(session, acct)
    assert shown.field == "qr" and shown.value.startswith("otpauth://totp/")
    params = otp.parse_otpauth_uri(shown.value)
    assert params.secret == otp.decode_base32_secret(SEED)
    assert (params.issuer, params.label) == ("instagram", "acme")
    assert shown.value not in repr(shown) and SEED not in repr(shown)
    [entry] = new_entries(session, before)
    assert entry["action"] == "totp.qr" and entry["field"] == "qr"
    assert entry["to"] == session.person.id and entry["acct"] == acct
    assert SEED not in str(session.vault.log.entries())


def test_totp_qr_needs_a_seed(session):
    accounts.add_account(session, "x", "noseed", mfa="sms")
    grants.add_grant(session, "alice@example.com", "x:noseed", "manage")
    before = session.vault.log.count()
    with pytest.raises(NotFoundError):
        secrets.totp_qr(session, "x:noseed")
    assert session.vault.log.count() == before


# --- a copied code --------------------------------------------------------------------------


def test_totp_code_via_clipboard_is_its_own_entry(session, acct, clock):
    before = session.vault.log.count()
    shown = secrets.totp_code(session, acct)
    copied = secrets.totp_code(session, acct, via="clipboard")
    assert shown.code == copied.code == otp.totp(otp.decode_base32_secret(SEED), clock().timestamp())
    assert copied.code not in repr(copied)
    on_screen, clipboard = new_entries(session, before)
    assert on_screen["action"] == clipboard["action"] == "totp.code"
    assert on_screen["detail"] == {"kind": "totp"}
    assert clipboard["detail"] == {"kind": "totp", "via": "clipboard"}
    assert clipboard["field"] == "code" and clipboard["to"] == session.person.id


def test_totp_code_via_is_checked(session, acct):
    before = session.vault.log.count()
    for bad in ("clip\nboard", "x" * 41):
        with pytest.raises(InvalidInputError):
            secrets.totp_code(session, acct, via=bad)
    assert session.vault.log.count() == before


# --- a code-only operator -------------------------------------------------------------------


def test_code_only_operator_gets_codes_but_not_copies_or_qr(dave, acct, clock):
    before = dave.vault.log.count()
    for disclose in (secrets.copy_secret, secrets.totp_qr):
        with pytest.raises(PolicyError) as err:
            disclose(dave, acct)
        assert err.value.exit_code == 5 and "dave@agency.example" in err.value.message
    assert dave.vault.log.count() == before
    code = secrets.totp_code(dave, acct, via="clipboard")
    assert code.code == otp.totp(otp.decode_base32_secret(SEED), clock().timestamp())
    [entry] = new_entries(dave, before)
    assert (entry["op"], entry["action"], entry["to_email"]) == ("dave", "totp.code", "dave@agency.example")


# --- what a person learned ------------------------------------------------------------------


def test_learned_includes_copies_and_qr_codes(session, acct):
    assert {"secret.copy", "totp.qr"} <= set(DISCLOSURE_ACTIONS)
    secrets.copy_secret(session, acct)
    secrets.totp_qr(session, acct)
    secrets.totp_code(session, acct, via="clipboard")
    learned = person_detail(session, "alice@example.com").learned
    assert [(e["action"], e["field"]) for e in learned] == [
        ("totp.code", "code"), ("totp.qr", "qr"), ("secret.copy", "password"),
    ]
    people.add_person(session, "Bob Builder", "bob@example.com")
    assert person_detail(session, "bob@example.com").learned == []
