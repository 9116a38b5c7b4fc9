"""The demo vault: built through the services API, it shows every problem it promises to."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from smvault.domain import otp
from smvault.domain.errors import ConflictError
from smvault.domain.models import AccountStatus, Level, MfaMethod, PersonStatus, PersonType, email_domain
from smvault.services import accounts, control, grants, logs, people, secrets
from smvault.services.demo import (
    DEMO_OPERATOR,
    DEMO_PASSPHRASE,
    LEAVER_EMAIL,
    LEFT_EMAIL,
    PERSONAL_RECOVERY_EMAIL,
    SECOND_OPERATOR,
    TOUR,
    build_demo,
)
from smvault.services.session import unlock
from tests.conftest import FakeClock, smvault_process

BUILT_AT = datetime(2026, 11, 2, 9, 30, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One demo vault for the read-only checks (cheap KDF, its own anchor dir, a fixed clock)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMVAULT_INSECURE_TEST_KDF", "1")
        directory = tmp_path_factory.mktemp("demo") / "vault"
        anchors = tmp_path_factory.mktemp("demo-anchors")
        summary = build_demo(directory, anchor_dir=anchors, clock=FakeClock(BUILT_AT))
    return directory, anchors, summary


@pytest.fixture
def demo(built):
    directory, anchors, _ = built
    session = unlock(directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), clock=FakeClock(BUILT_AT),
                     anchor_dir=anchors, check=False)
    yield session
    session.close()


def test_counts_are_in_range_and_match_the_summary(built, demo):
    summary = built[2]
    assert 50 <= summary["people"] <= 80
    assert 100 <= summary["accounts"] <= 140
    assert summary["operators"] == 2
    assert 200 <= summary["grants"] <= 600
    assert summary["log_entries"] > summary["people"] + summary["accounts"] + summary["grants"]
    assert 5 <= summary["below_two_controllers"] <= summary["accounts"] // 2
    assert summary["people"] == len(people.list_people(demo))
    assert summary["accounts"] == len(accounts.list_accounts(demo))
    assert summary["grants"] == len(grants.list_grants(demo))
    assert summary["below_two_controllers"] == len(control.under_controlled(demo))
    platforms = {a.platform for a in accounts.list_accounts(demo)}
    assert {"facebook", "instagram", "x", "linkedin", "youtube", "tiktok"} <= platforms
    kinds = {p.type for p in people.list_people(demo)}
    assert kinds == set(PersonType)


def test_accounts_span_regions_tiers_and_states(demo):
    all_accounts = accounts.list_accounts(demo)
    assert {"EMEA", "AMER", "APAC"} <= {a.region for a in all_accounts}
    assert {a.tier for a in all_accounts} == {0, 1, 2, 3}
    assert {a.status for a in all_accounts} == set(AccountStatus)
    assert any(a.mfa is MfaMethod.NONE and a.status is AccountStatus.ACTIVE for a in all_accounts)


def test_the_leaver_leaves_this_week_and_learned_secrets(demo):
    today = BUILT_AT.date()
    detail = people.person_detail(demo, LEAVER_EMAIL)
    assert today < detail.person.leave_on <= today + timedelta(days=7)
    assert detail.person.status(today) is PersonStatus.LEAVING
    in_force = [g for g in detail.grants if g.active(BUILT_AT)]
    assert len(in_force) >= 3
    assert Level.PLATFORM_ADMIN in {g.level for g in in_force}
    assert detail.learned
    assert any(e["action"] == "secret.reveal" and e["field"] == "password" for e in detail.learned)
    assert {"secret.reveal", "totp.code"} <= {e["action"] for e in detail.learned}
    # Two operators disclosed things to him.
    assert {e["op"] for e in detail.learned} == {DEMO_OPERATOR, SECOND_OPERATOR}


def test_a_person_who_left_still_holds_a_grant(demo):
    detail = people.person_detail(demo, LEFT_EMAIL)
    assert detail.person.status(BUILT_AT.date()) is PersonStatus.LEFT
    assert [g for g in detail.grants if g.revoked_at is None]
    assert detail.learned
    left_somewhere = [a for a in accounts.list_accounts(demo)
                      if detail.person.id in control.who_can(demo, a.key).report.excluded_left_ids]
    assert left_somewhere


def test_recovery_emails_personal_and_leaver_controlled(demo):
    leaver = people.person_detail(demo, LEAVER_EMAIL).person
    all_accounts = accounts.list_accounts(demo)
    gmail = [a for a in all_accounts if email_domain(a.recovery_email) == "gmail.com"]
    assert [a.recovery_email for a in gmail] == [PERSONAL_RECOVERY_EMAIL]
    assert gmail[0].key == TOUR["interesting"]
    assert any(a.recovery_email_controller_id == leaver.id for a in all_accounts)


def test_only_reserved_domains_apart_from_the_deliberate_gmail(demo):
    addresses = [p.email for p in people.list_people(demo)]
    for a in accounts.list_accounts(demo):
        addresses += [x for x in (a.login_id, a.recovery_email) if x and "@" in x]
    for address in addresses:
        domain = email_domain(address)
        assert domain.endswith((".example", ".invalid")) or address == PERSONAL_RECOVERY_EMAIL, address


def test_some_accounts_have_fewer_than_two_controllers(demo):
    under = control.under_controlled(demo)
    assert under
    assert any(report.controller_count == 1 for _, report in under)
    single = control.who_can(demo, TOUR["single_controller"])
    leaver = people.person_detail(demo, LEAVER_EMAIL).person
    assert single.report.controller_ids == {leaver.id}
    assert single.account.key in {a.key for a, _ in under}
    assert control.who_can(demo, TOUR["healthy"]).report.controller_count >= 2


def test_an_expired_grant_shows_only_with_include_inactive(demo):
    everything = grants.list_grants(demo, include_inactive=True)
    expired = [g for g in everything if g.expires_at is not None and g.expires_at < BUILT_AT]
    assert expired
    campaign = accounts.account_detail(demo, TOUR["expired_grants"]).account.id
    assert any(g.account_id == campaign for g in expired)
    in_force = {g.id for g in grants.list_grants(demo)}
    assert not in_force & {g.id for g in expired}
    assert any(g.expires_at and g.expires_at > BUILT_AT for g in grants.list_grants(demo))  # time-boxed
    levels = {g.level for g in grants.list_grants(demo)}
    assert {Level.CODE_ONLY, Level.PLATFORM_ADMIN, Level.REVEAL, Level.MANAGE} <= levels


def test_code_only_grants_go_to_agency_staff(demo):
    agency = {p.id for p in people.list_people(demo) if p.type is PersonType.AGENCY}
    code_only = [g for g in grants.list_grants(demo) if g.level is Level.CODE_ONLY]
    assert code_only and all(g.person_id in agency for g in code_only)


def test_credentials_overdue_low_and_varied(demo):
    details = [accounts.account_detail(demo, a.key) for a in accounts.list_accounts(demo)]
    creds = [d.credentials for d in details]
    assert any(c.password_rotated_at and BUILT_AT - c.password_rotated_at > timedelta(days=365) for c in creds)
    assert any(c.password_rotated_at and BUILT_AT - c.password_rotated_at < timedelta(days=120) for c in creds)
    assert any(0 < c.recovery_codes_unused <= 2 for c in creds)
    assert {"totp", "steam", "hotp"} <= {c.totp_kind for c in creds if c.has_totp_seed}
    seeds = [otp.parse_otpauth_uri(secrets.reveal(demo, d.account.key, "totp-seed").value)
             for d in details if d.credentials.totp_kind == "totp"]
    assert any(len(p.secret) == 10 for p in seeds)  # 80-bit, 16 base32 characters
    assert any(p.algorithm == "SHA256" for p in seeds)
    code = secrets.totp_code(demo, TOUR["totp"])
    assert len(code.code) == 6 and code.code.isdigit()


def test_the_log_verifies(demo):
    report = logs.verify(demo)
    assert report.ok, report.damage
    assert report.checked >= 500


def test_same_seed_and_clock_give_the_same_vault(tmp_path, clock):
    def build(name: str, seed: int = 7):
        directory = tmp_path / name
        build_demo(directory, clock=clock, seed=seed)
        session = unlock(directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), clock=clock)
        try:
            return people.list_people(session), accounts.list_accounts(session)
        finally:
            session.close()

    first, second = build("one"), build("two")
    assert first == second
    assert build("other", seed=8)[1] != first[1]


def test_refuses_a_non_empty_directory(tmp_path, clock):
    directory = tmp_path / "busy"
    directory.mkdir()
    (directory / "notes.txt").write_text("mine")
    with pytest.raises(ConflictError):
        build_demo(directory, clock=clock)
    assert [p.name for p in directory.iterdir()] == ["notes.txt"]


def test_cli_demo_prints_the_passphrase_and_summary(tmp_path):
    directory = tmp_path / "cli-demo"
    result = smvault_process("demo", "--vault", str(directory), "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["passphrase"] == DEMO_PASSPHRASE and data["operator"] == DEMO_OPERATOR
    assert data["vault"] == str(directory)
    for key in ("people", "accounts", "grants", "log_entries", "below_two_controllers"):
        assert isinstance(data[key], int) and data[key] > 0
    again = smvault_process("demo", "--vault", str(directory))
    assert again.code == 0 and "reused" in again.out and DEMO_PASSPHRASE in again.out
    other = tmp_path / "not-a-vault"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    refused = smvault_process("demo", "--vault", str(other))
    assert refused.code == 1 and "not empty" in refused.err
    real = tmp_path / "real"
    made = smvault_process("--vault", str(real), "init", "--operator", "alice",
                           env={"SMVAULT_NEW_PASSPHRASE": "a real passphrase"})
    assert made.code == 0, made.err
    refused = smvault_process("demo", "--vault", str(real), "--json")
    assert refused.code == 1 and "not the demo" in refused.err and DEMO_PASSPHRASE not in refused.out
