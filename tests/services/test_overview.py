"""The dashboard: counts and risks, built from real vaults through the services."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from smvault.services import accounts, grants, people, secrets
from smvault.services.demo import (
    DEMO_OPERATOR,
    DEMO_PASSPHRASE,
    LEAVER_EMAIL,
    PERSONAL_RECOVERY_EMAIL,
    TOUR,
    build_demo,
)
from smvault.services.overview import RISK_KINDS, RISK_TITLES, Overview, Risk, overview
from smvault.services.session import unlock
from tests.conftest import FakeClock

BUILT_AT = datetime(2026, 11, 2, 9, 30, 0, tzinfo=timezone.utc)


def keys(result: Overview, kind: str) -> list[str]:
    return [r.account_key for r in result.risks[kind]]


def only(result: Overview, kind: str, key: str) -> Risk:
    [risk] = [r for r in result.risks[kind] if r.account_key == key]
    return risk


@pytest.fixture
def staff(session):
    for name, email in [("Bob Builder", "bob@example.com"), ("Cara Chen", "cara@example.com"),
                        ("Dev Patel", "dev@example.com"), ("Eve Evans", "eve@example.com")]:
        people.add_person(session, name, email)
    return session


# --- shape --------------------------------------------------------------------------------


def test_every_kind_is_present_in_order_with_a_title(session):
    result = overview(session)
    assert list(result.risks) == list(RISK_KINDS)
    assert set(RISK_TITLES) == set(RISK_KINDS) and all(RISK_TITLES.values())
    assert all(result.risks[kind] == [] for kind in RISK_KINDS)


def test_counts_of_an_almost_empty_vault(session):
    result = overview(session)
    assert result.counts == {
        "accounts": 0, "people": 1, "operators": 1, "grants_in_force": 0, "leaving": 0, "left": 0,
        "passwords": 0, "totp_seeds": 0, "recovery_codes_unused": 0,
        "log_entries": session.vault.log.count(),
        "open_offboarding": 0, "open_transfer": 0, "open_review": 0,
        "open_emergency": 0, "open_post-incident": 0,
    }


def test_overview_logs_nothing(staff, clock):
    accounts.add_account(staff, "x", "acme", mfa="none", recovery_email="a@gmail.com")
    secrets.set_password(staff, "x:acme", "pw-123456")
    before = staff.vault.log.count()
    overview(staff)
    overview(staff)
    assert staff.vault.log.count() == before


def test_counts(staff, clock):
    accounts.add_account(staff, "x", "one")
    accounts.add_account(staff, "x", "two", status="retired")
    grants.add_grant(staff, "alice@example.com", "x:one", "manage")
    grants.add_grant(staff, "bob@example.com", "x:one", "reveal")
    grants.add_grant(staff, "cara@example.com", "x:one", "reveal")
    grants.add_grant(staff, "dev@example.com", "x:one", "reveal", expires_at=clock() + timedelta(days=1))
    grants.add_grant(staff, "eve@example.com", "x:one", "code-only")
    grants.revoke_grants(staff, "eve@example.com", "x:one")
    secrets.set_password(staff, "x:one", "pw-123456")
    secrets.set_totp(staff, "x:one", "JBSWY3DPEHPK3PXP")
    secrets.add_recovery_codes(staff, "x:one", ["a-1", "a-2", "a-3"])
    secrets.use_recovery_code(staff, "x:one")
    people.mark_leaving(staff, "bob@example.com", clock().date() + timedelta(days=3))
    people.mark_leaving(staff, "cara@example.com", clock().date())  # left today
    clock.advance(days=2)  # dev's grant has expired
    counts = overview(staff).counts
    assert counts["accounts"] == 2 and counts["people"] == 5 and counts["operators"] == 1
    assert counts["grants_in_force"] == 2  # alice's and bob's: cara left, dev's expired, eve's revoked
    assert (counts["leaving"], counts["left"]) == (1, 1)
    assert (counts["passwords"], counts["totp_seeds"], counts["recovery_codes_unused"]) == (1, 1, 2)
    assert counts["log_entries"] == staff.vault.log.count()


# --- each rule ------------------------------------------------------------------------------


def test_under_controlled_is_the_control_rule_with_names(staff):
    accounts.add_account(staff, "x", "nobody")
    accounts.add_account(staff, "x", "single", recovery_email_controller="bob@example.com")
    accounts.add_account(staff, "x", "healthy", recovery_email_controller="bob@example.com",
                         recovery_phone_controller="cara@example.com")
    accounts.add_account(staff, "x", "retired", status="retired")
    result = overview(staff)
    assert set(keys(result, "under-controlled")) == {"x:nobody", "x:single"}
    assert keys(result, "under-controlled") == ["x:nobody", "x:single"]  # fewest first
    nobody = only(result, "under-controlled", "x:nobody")
    assert nobody.subject == "x:nobody" and "Nobody" in nobody.detail and nobody.person_email is None
    single = only(result, "under-controlled", "x:single")
    assert "Only 1 person" in single.detail and "Bob Builder" in single.detail


def test_under_controlled_names_who_left(staff, clock):
    accounts.add_account(staff, "x", "acme", recovery_email_controller="bob@example.com",
                         recovery_phone_controller="cara@example.com")
    assert keys(overview(staff), "under-controlled") == []
    people.mark_leaving(staff, "cara@example.com", clock().date())
    risk = only(overview(staff), "under-controlled", "x:acme")
    assert "Bob Builder" in risk.detail and "Cara Chen left" in risk.detail


def test_under_controlled_tier_0_first(staff):
    accounts.add_account(staff, "x", "aaa-minor", tier=3)
    accounts.add_account(staff, "x", "zzz-critical", tier=0, recovery_email_controller="bob@example.com")
    assert keys(overview(staff), "under-controlled") == ["x:zzz-critical", "x:aaa-minor"]


def test_owner_leaving_or_left(staff, clock):
    today = clock().date()
    people.mark_leaving(staff, "bob@example.com", today + timedelta(days=3))
    people.mark_leaving(staff, "cara@example.com", today - timedelta(days=10))
    accounts.add_account(staff, "x", "bobs", owner="bob@example.com")
    accounts.add_account(staff, "x", "caras", owner="cara@example.com", status="dormant")
    accounts.add_account(staff, "x", "caras-old", owner="cara@example.com", status="retired")
    accounts.add_account(staff, "x", "devs", owner="dev@example.com")
    result = overview(staff)
    assert keys(result, "owner-leaving") == ["x:caras", "x:bobs"]  # same tier: left first
    bobs = only(result, "owner-leaving", "x:bobs")
    assert bobs.person_email == "bob@example.com"
    assert "Bob Builder" in bobs.detail and f"leaves on {today + timedelta(days=3)}" in bobs.detail
    caras = only(result, "owner-leaving", "x:caras")
    assert f"left on {today - timedelta(days=10)}" in caras.detail


def test_recovery_email_personal_or_held_by_a_leaver(staff, clock):
    people.mark_leaving(staff, "bob@example.com", clock().date() + timedelta(days=5))
    accounts.add_account(staff, "facebook", "personal", recovery_email="Someone.Swims@GMAIL.com")
    accounts.add_account(staff, "facebook", "leaver", recovery_email="social@example.com",
                         recovery_email_controller="bob@example.com")
    accounts.add_account(staff, "facebook", "both", recovery_email="bob.home@outlook.com",
                         recovery_email_controller="bob@example.com", tier=0)
    accounts.add_account(staff, "facebook", "fine", recovery_email="social@example.com",
                         recovery_email_controller="cara@example.com")
    accounts.add_account(staff, "facebook", "retired", recovery_email="x@gmail.com", status="retired")
    result = overview(staff)
    assert keys(result, "recovery-email") == ["facebook:both", "facebook:leaver", "facebook:personal"]
    personal = only(result, "recovery-email", "facebook:personal")
    assert "someone.swims@gmail.com" in personal.detail and "personal" in personal.detail
    assert personal.person_email is None
    leaver = only(result, "recovery-email", "facebook:leaver")
    assert leaver.person_email == "bob@example.com" and "Bob Builder" in leaver.detail
    both = only(result, "recovery-email", "facebook:both").detail
    assert "outlook.com" in both and "Bob Builder" in both


def test_no_mfa_only_none_and_not_retired(staff):
    accounts.add_account(staff, "x", "none-2", mfa="none")
    accounts.add_account(staff, "x", "none-0", mfa="none", tier=0)
    accounts.add_account(staff, "x", "none-dormant", mfa="none", status="dormant", tier=0)
    accounts.add_account(staff, "x", "unknown", mfa="unknown")
    accounts.add_account(staff, "x", "totp", mfa="totp")
    accounts.add_account(staff, "x", "none-retired", mfa="none", status="retired")
    assert keys(overview(staff), "no-mfa") == ["x:none-0", "x:none-dormant", "x:none-2"]


def test_rotation_overdue_by_tier(staff, clock):
    for handle, tier in [("t0", 0), ("t1", 1), ("t2", 2), ("t0-retired", 0)]:
        accounts.add_account(staff, "x", handle, tier=tier, status="retired" if "retired" in handle else "active")
        secrets.set_password(staff, f"x:{handle}", "pw-123456")
    accounts.add_account(staff, "x", "no-password", tier=0)
    clock.advance(days=90)
    assert keys(overview(staff), "rotation-overdue") == []  # due, not yet overdue
    clock.advance(seconds=1)
    assert keys(overview(staff), "rotation-overdue") == ["x:t0"]
    clock.advance(days=100)
    result = overview(staff)
    assert keys(result, "rotation-overdue") == ["x:t0", "x:t1"]
    risk = only(result, "rotation-overdue", "x:t1")
    assert "2026-11-02" in risk.detail and "180 days" in risk.detail
    secrets.set_password(staff, "x:t0", "fresh-one")  # rotating clears it
    assert keys(overview(staff), "rotation-overdue") == ["x:t1"]


def test_rotation_overdue_longest_overdue_first_within_a_tier(staff, clock):
    accounts.add_account(staff, "x", "aaa-recent", tier=0)
    accounts.add_account(staff, "x", "zzz-old", tier=0)
    secrets.set_password(staff, "x:zzz-old", "pw-123456")
    clock.advance(days=30)
    secrets.set_password(staff, "x:aaa-recent", "pw-123456")
    clock.advance(days=200)
    assert keys(overview(staff), "rotation-overdue") == ["x:zzz-old", "x:aaa-recent"]


def test_expired_grants_never_revoked(staff, clock):
    accounts.add_account(staff, "instagram", "acme")
    accounts.add_account(staff, "instagram", "other")
    accounts.add_account(staff, "instagram", "gone", status="retired")
    start = clock()
    grants.add_grant(staff, "bob@example.com", "instagram:acme", "code-only", expires_at=start + timedelta(days=1))
    grants.add_grant(staff, "cara@example.com", "instagram:other", "reveal", expires_at=start + timedelta(days=3))
    grants.add_grant(staff, "dev@example.com", "instagram:acme", "reveal", expires_at=start + timedelta(days=2))
    grants.add_grant(staff, "eve@example.com", "instagram:acme", "reveal", expires_at=start + timedelta(days=2))
    grants.add_grant(staff, "bob@example.com", "instagram:gone", "reveal", expires_at=start + timedelta(days=1))
    grants.add_grant(staff, "cara@example.com", "instagram:acme", "reveal", expires_at=start + timedelta(days=30))
    assert keys(overview(staff), "grant-expired") == []
    grants.revoke_grants(staff, "dev@example.com", "instagram:acme")  # revoked: not a risk
    people.mark_leaving(staff, "eve@example.com", clock().date() + timedelta(days=1))  # will have left
    clock.advance(days=4)
    rows = overview(staff).risks["grant-expired"]
    assert [(r.account_key, r.person_email) for r in rows] == [
        ("instagram:other", "cara@example.com"),  # newest expiry first
        ("instagram:acme", "bob@example.com"),
    ]
    assert "Bob Builder" in rows[1].detail and "code-only" in rows[1].detail
    assert (start + timedelta(days=1)).strftime("%Y-%m-%d %H:%M") in rows[1].detail
    assert rows[1].subject == "instagram:acme"


def test_grant_that_expired_then_revoked_drops_out(staff, clock):
    accounts.add_account(staff, "x", "acme")
    grants.add_grant(staff, "bob@example.com", "x:acme", "reveal", expires_at=clock() + timedelta(hours=1))
    clock.advance(hours=2)
    assert keys(overview(staff), "grant-expired") == ["x:acme"]
    grants.revoke_grants(staff, "bob@example.com", "x:acme")
    assert keys(overview(staff), "grant-expired") == []


def test_details_are_one_plain_sentence(staff, clock):
    people.mark_leaving(staff, "bob@example.com", clock().date() + timedelta(days=2))
    accounts.add_account(staff, "x", "acme", mfa="none", owner="bob@example.com",
                         recovery_email="a@gmail.com", recovery_email_controller="bob@example.com")
    secrets.set_password(staff, "x:acme", "pw-123456")
    grants.add_grant(staff, "cara@example.com", "x:acme", "reveal", expires_at=clock() + timedelta(days=1))
    clock.advance(days=400)
    result = overview(staff)
    assert all(result.risks[kind] for kind in RISK_KINDS)
    for kind in RISK_KINDS:
        for risk in result.risks[kind]:
            assert risk.kind == kind
            assert risk.detail.endswith(".") and risk.detail.count(". ") == 0
            assert "\n" not in risk.detail and "[" not in risk.detail


# --- the demo vault -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMVAULT_INSECURE_TEST_KDF", "1")
        directory = tmp_path_factory.mktemp("demo") / "vault"
        anchors = tmp_path_factory.mktemp("demo-anchors")
        build_demo(directory, anchor_dir=anchors, clock=FakeClock(BUILT_AT))
    session = unlock(directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), clock=FakeClock(BUILT_AT),
                     anchor_dir=anchors, check=False)
    yield session
    session.close()


def test_demo_overview_shows_the_problems_it_promises(demo):
    before = demo.vault.log.count()
    result = overview(demo)
    assert demo.vault.log.count() == before
    for kind in ("under-controlled", "owner-leaving", "recovery-email", "no-mfa", "grant-expired"):
        assert result.risks[kind], kind
    assert TOUR["single_controller"] in keys(result, "under-controlled")
    gmail = only(result, "recovery-email", TOUR["interesting"])
    assert PERSONAL_RECOVERY_EMAIL in gmail.detail
    assert TOUR["interesting"] in keys(result, "no-mfa")
    assert TOUR["expired_grants"] in keys(result, "grant-expired")
    assert {r.person_email for r in result.risks["owner-leaving"]} >= {LEAVER_EMAIL}
    expiries = [r.detail.split("expired on ")[1] for r in result.risks["grant-expired"]]
    assert expiries == sorted(expiries, reverse=True)


def test_demo_overview_agrees_with_the_other_read_models(demo):
    result = overview(demo)
    live = {a.key: a for a in accounts.list_accounts(demo) if a.status.value != "retired"}
    assert set(keys(result, "no-mfa")) == {k for k, a in live.items() if a.mfa.value == "none"}
    for kind in RISK_KINDS:
        assert all(r.account_key in live for r in result.risks[kind] if r.account_key)
    assert result.counts["accounts"] == len(accounts.list_accounts(demo))
    assert result.counts["people"] == len(people.list_people(demo))
    assert result.counts["grants_in_force"] == len(grants.list_grants(demo))
