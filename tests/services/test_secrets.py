"""Storing and disclosing secrets: policy, logging, 'what did this person learn'."""

from __future__ import annotations

import pytest

from smvault.domain import otp
from smvault.domain.errors import InvalidInputError, NotFoundError, PolicyError
from smvault.services import accounts, grants, people, secrets
from smvault.services.people import person_detail

SEED = "JBSWY3DPEHPK3PXP"  # 80 bits: pyotp refuses it, real services issue it


@pytest.fixture
def acct(session):
    people.add_person(session, "Bob Builder", "bob@example.com", team="social")
    people.add_person(session, "Cara Agency", "cara@agency.example", type_="agency")
    accounts.add_account(session, "instagram", "acme", login_id="social@example.com", mfa="totp")
    grants.add_grant(session, "alice@example.com", "instagram:acme", "manage")
    secrets.set_password(session, "instagram:acme", "pa55-word!")
    secrets.set_totp(session, "instagram:acme", SEED)
    secrets.add_recovery_codes(session, "instagram:acme", ["rc-1111", "rc-2222", "rc-3333"])
    return "instagram:acme"


def log_entries(session):
    return session.vault.log.entries(newest_first=False)


def test_reveal_by_entitled_operator_is_logged_once(session, acct):
    before = session.vault.log.count()
    revealed = secrets.reveal(session, acct)
    assert revealed.value == "pa55-word!"
    assert "pa55" not in repr(revealed)
    assert session.vault.log.count() == before + 1
    entry = log_entries(session)[-1]
    assert entry["action"] == "secret.reveal" and entry["field"] == "password"
    assert entry["to"] == session.person.id and entry["op"] == "alice"
    assert "pa55-word!" not in str(log_entries(session))


def test_reveal_for_person_without_grant_is_refused_and_not_logged(session, acct):
    before = session.vault.log.count()
    with pytest.raises(PolicyError) as err:
        secrets.reveal(session, acct, for_email="bob@example.com")
    assert err.value.exit_code == 5 and "bob@example.com" in err.value.message
    assert session.vault.log.count() == before


def test_code_only_gets_codes_never_the_seed(session, acct, clock):
    grants.add_grant(session, "cara@agency.example", acct, "code-only")
    code = secrets.totp_code(session, acct, for_email="cara@agency.example")
    assert code.code == otp.totp(otp.decode_base32_secret(SEED), clock().timestamp())
    assert 1 <= code.seconds_left <= 30
    with pytest.raises(PolicyError):
        secrets.reveal(session, acct, field="totp-seed", for_email="cara@agency.example")
    learned = person_detail(session, "cara@agency.example").learned
    assert [(e["action"], e["field"]) for e in learned] == [("totp.code", "code")]


def test_operator_without_grant_is_refused(session, clock):
    accounts.add_account(session, "x", "acme")
    secrets.set_password(session, "x:acme", "unmanaged-bootstrap")  # nobody manages it yet
    with pytest.raises(PolicyError):
        secrets.reveal(session, "x:acme")


def test_expired_grant_stops_working_by_itself(session, acct, clock):
    from datetime import timedelta

    grants.add_grant(session, "bob@example.com", acct, "reveal", expires_at=clock() + timedelta(hours=1))
    assert secrets.reveal(session, acct, for_email="bob@example.com").value == "pa55-word!"
    clock.advance(hours=1, seconds=1)
    with pytest.raises(PolicyError):
        secrets.reveal(session, acct, for_email="bob@example.com")


def test_person_who_left_cannot_receive(session, acct, clock):
    grants.add_grant(session, "bob@example.com", acct, "reveal")
    people.mark_leaving(session, "bob@example.com", clock().date())
    with pytest.raises(PolicyError):
        secrets.reveal(session, acct, for_email="bob@example.com")


def test_learned_includes_own_reveals_and_disclosures(session, acct):
    grants.add_grant(session, "bob@example.com", acct, "reveal")
    secrets.reveal(session, acct, for_email="bob@example.com")
    secrets.reveal(session, acct, field="recovery-codes", for_email="bob@example.com")
    secrets.reveal(session, acct)  # alice's own: not bob's
    learned = person_detail(session, "bob@example.com").learned
    assert [e["field"] for e in learned] == ["recovery-codes", "password"]
    mine = person_detail(session, "alice@example.com").learned
    assert [e["field"] for e in mine] == ["password"]


def test_recovery_codes_inventory(session, acct):
    first = secrets.use_recovery_code(session, acct)
    assert first.value == "rc-1111"
    state = session.vault.secrets.state(session.vault.accounts.by_key("instagram", "acme").id)
    assert (state.recovery_codes_total, state.recovery_codes_unused) == (3, 2)
    secrets.add_recovery_codes(session, acct, ["new-1", "new-2"])  # replaces the unused ones
    assert secrets.reveal(session, acct, field="recovery-codes").value == ["new-1", "new-2"]


def test_hotp_counter_advances_and_is_logged(session):
    accounts.add_account(session, "other", "hotp-thing")
    grants.add_grant(session, "alice@example.com", "other:hotp-thing", "manage")
    secrets.set_totp(session, "other:hotp-thing", "otpauth://hotp/X:y?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0")
    assert secrets.totp_code(session, "other:hotp-thing").code == "755224"  # RFC 4226, count 0
    assert secrets.totp_code(session, "other:hotp-thing").code == "287082"


def test_generated_password_is_strong_and_returned_once(session, acct):
    generated = secrets.set_password(session, acct)
    assert len(generated) == secrets.GENERATED_LENGTH
    assert secrets.reveal(session, acct).value == generated
    entry = [e for e in log_entries(session) if e["action"] == "secret.password.set"][-1]
    assert entry["detail"] == {"generated": True}


@pytest.mark.parametrize("bad", ["", "line\nbreak", "esc\x1b]52;c;x\x07"])
def test_bad_password_rejected_and_nothing_changes(session, acct, bad):
    before = session.vault.log.count()
    with pytest.raises(InvalidInputError):
        secrets.set_password(session, acct, bad)
    assert secrets.reveal(session, acct).value == "pa55-word!"
    assert session.vault.log.count() == before + 1  # only the reveal


def test_missing_secret_is_not_found(session):
    accounts.add_account(session, "tiktok", "empty")
    grants.add_grant(session, "alice@example.com", "tiktok:empty", "manage")
    with pytest.raises(NotFoundError):
        secrets.reveal(session, "tiktok:empty")
    with pytest.raises(NotFoundError):
        secrets.totp_code(session, "tiktok:empty")


def test_manage_needed_once_someone_manages(session, acct):
    second = people.add_person(session, "Dan", "dan@example.com")
    grants.revoke_grants(session, "alice@example.com", acct)
    grants.add_grant(session, second.email, acct, "manage")  # unmanaged again: any operator may
    with pytest.raises(PolicyError):
        secrets.set_password(session, acct, "another-one")
