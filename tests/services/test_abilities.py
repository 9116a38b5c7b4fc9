"""What the operator may do on an account, as the TUI offers it: the same answer the use
cases give when they are called (policy), and the account pane read in one call."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smvault.domain.errors import NotFoundError, PolicyError
from smvault.domain.models import Level
from smvault.services import accounts, grants, operators, people, secrets
from smvault.services.abilities import Abilities, abilities, account_view
from smvault.services.session import unlock

SEED = "JBSWY3DPEHPK3PXP"
DAVE_PASS = b"dave passphrase 123"


@pytest.fixture
def acct(session):
    accounts.add_account(session, "instagram", "acme", login_id="social@example.com", mfa="totp")
    grants.add_grant(session, "alice@example.com", "instagram:acme", "manage")
    secrets.set_password(session, "instagram:acme", "pa55-word!")
    secrets.set_totp(session, "instagram:acme", SEED)
    secrets.add_recovery_codes(session, "instagram:acme", ["r1", "r2"])
    return "instagram:acme"


@pytest.fixture
def dave(session, clock):
    operators.add_operator(session, "dave", DAVE_PASS, email="dave@agency.example", person_name="Dave Agency")
    other = unlock(session.vault.directory, "dave", DAVE_PASS, clock=clock)
    yield other
    other.close()


def _service_allows(s, ref) -> dict[str, bool]:
    """Ask the use cases themselves (each call that succeeds writes a log entry)."""
    def ok(fn, *args):
        try:
            fn(s, ref, *args)
            return True
        except PolicyError:
            return False

    return {
        "code": ok(secrets.totp_code),
        "password": ok(secrets.reveal, "password"),
        "seed": ok(secrets.reveal, "totp-seed"),
        "qr": ok(secrets.totp_qr),
        "recovery": ok(secrets.reveal, "recovery-codes"),
        "manage": ok(secrets.set_password, "new-pass-1"),
    }


def _as_dict(a: Abilities) -> dict[str, bool]:
    return {k: getattr(a, k) for k in ("code", "password", "seed", "qr", "recovery", "manage")}


def test_manager_may_do_everything(session, acct):
    assert abilities(session, acct) == Abilities(True, True, True, True, True, True)


@pytest.mark.parametrize("level", ["code-only", "reveal", "manage", "platform-admin"])
def test_abilities_agree_with_the_use_cases(session, acct, dave, level):
    grants.add_grant(session, "dave@agency.example", acct, level)
    computed = _as_dict(abilities(dave, acct))
    assert computed == _service_allows(dave, acct)


def test_code_only_may_have_codes_and_nothing_else(session, acct, dave):
    grants.add_grant(session, "dave@agency.example", acct, "code-only")
    assert abilities(dave, acct) == Abilities(code=True, password=False, seed=False, qr=False,
                                              recovery=False, manage=False)


def test_unmanaged_account_may_be_taken_in_hand_but_discloses_nothing(session, dave):
    accounts.add_account(session, "x", "orphan")
    got = abilities(dave, "x:orphan")
    assert got == Abilities(False, False, False, False, False, manage=True)
    assert _as_dict(got) == _service_allows(dave, "x:orphan") | {"code": False}


def test_a_manager_who_left_no_longer_blocks_others(session, acct, dave, clock):
    assert not abilities(dave, acct).manage
    people.mark_leaving(session, "alice@example.com", clock().date() - timedelta(days=1))
    assert abilities(dave, acct).manage


def test_an_expired_grant_allows_nothing(session, acct, dave, clock):
    grants.add_grant(session, "dave@agency.example", acct, "reveal", expires_at=clock() + timedelta(hours=1))
    assert abilities(dave, acct).password
    clock.advance(hours=2)
    assert not abilities(dave, acct).password


def test_abilities_of_an_unknown_account_is_not_found(session):
    with pytest.raises(NotFoundError):
        abilities(session, "x:nobody")


def test_account_view_reads_everything_the_pane_shows_and_logs_nothing(session, acct, clock):
    people.add_person(session, "Bob Builder", "bob@example.com")
    accounts.update_account(session, acct, owner="bob@example.com", recovery_email="rec@example.com",
                            recovery_email_controller="bob@example.com")
    grants.add_grant(session, "bob@example.com", acct, "code-only", expires_at=clock() + timedelta(hours=1))
    secrets.reveal(session, acct)
    clock.advance(hours=2)  # bob's grant has expired, and is still listed
    before = session.vault.log.count()
    view = account_view(session, acct)
    assert session.vault.log.count() == before
    assert view.account.key == acct
    assert view.detail.credentials.has_password and view.detail.credentials.recovery_codes_unused == 2
    assert view.abilities == Abilities(True, True, True, True, True, True)
    assert view.levels == (Level.MANAGE,)
    assert view.totp_period == 30
    assert view.name(view.account.owner_id) == "Bob Builder"
    assert view.name(view.account.recovery_email_controller_id) == "Bob Builder"
    by_email = {view.people[g.person_id].email: g for g in view.detail.grants}
    assert set(by_email) == {"alice@example.com", "bob@example.com"}
    assert by_email["alice@example.com"].id in view.in_force
    assert by_email["bob@example.com"].id not in view.in_force
    assert set(view.who.report.controller_ids) <= set(view.people)
    assert view.history[0]["action"] == "secret.reveal"  # newest first
    assert all(e.get("acct") in (acct, None) for e in view.history)
    assert len(account_view(session, acct, history=3).history) == 3


def test_account_view_of_hotp_and_of_no_seed_has_no_period(session):
    accounts.add_account(session, "other", "wire", mfa="totp")
    secrets.set_totp(session, "other:wire", f"otpauth://hotp/wire?secret={SEED}&counter=4")
    accounts.add_account(session, "x", "plain")
    assert account_view(session, "other:wire").totp_period is None
    assert account_view(session, "x:plain").totp_period is None
    assert account_view(session, "x:plain").detail.credentials.has_totp_seed is False


def test_leave_date_today_counts_as_left(session, acct, dave, clock):
    grants.add_grant(session, "dave@agency.example", acct, "reveal")
    people.mark_leaving(session, "dave@agency.example", clock().date())
    # The operator's person record is read at unlock, as every use case reads it.
    with unlock(session.vault.directory, "dave", DAVE_PASS, clock=clock) as fresh:
        assert abilities(fresh, acct) == Abilities(False, False, False, False, False, False)
