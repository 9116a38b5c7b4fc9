"""Read models for the terminal UI: account rows, people rows, log search and live tail."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from smvault.domain.errors import NotFoundError, UsageError
from smvault.services import accounts, control, grants, logs, operators, people, secrets
from smvault.services.accounts import AccountRow, account_rows
from smvault.services.demo import DEMO_OPERATOR, DEMO_PASSPHRASE, build_demo
from smvault.services.people import PersonRow, people_rows
from smvault.services.session import unlock
from tests.conftest import FakeClock

BUILT_AT = datetime(2026, 11, 2, 9, 30, 0, tzinfo=timezone.utc)


@pytest.fixture
def staff(session):
    people.add_person(session, "Bob Builder", "bob@example.com", team="social")
    people.add_person(session, "Cara Chen", "cara@example.com", type_="agency")
    people.add_person(session, "Dev Patel", "dev@example.com", type_="contractor")
    return session


# --- account_rows ---------------------------------------------------------------------------


def test_account_rows_plain_fields_sorted_by_key(staff):
    accounts.add_account(staff, "youtube", "acme", brand="Acme", region="EMEA", tier=0,
                         owner="bob@example.com", mfa="totp")
    accounts.add_account(staff, "facebook", "zeta")
    accounts.add_account(staff, "facebook", "beta", status="retired", mfa="none")
    rows = account_rows(staff)
    assert [r.key for r in rows] == ["facebook:beta", "facebook:zeta", "youtube:acme"]
    assert rows[2] == AccountRow(id=rows[2].id, key="youtube:acme", platform="youtube", handle="acme",
                                 brand="Acme", region="EMEA", tier=0, owner="Bob Builder", mfa="totp",
                                 controllers=0, status="active")
    bare = rows[1]
    assert (bare.brand, bare.region, bare.owner, bare.mfa, bare.tier, bare.status) == ("", "", "", "unknown", 2, "active")
    assert rows[0].status == "retired" and rows[0].mfa == "none"
    for row in rows:
        for name in ("key", "platform", "handle", "brand", "region", "owner", "mfa", "status"):
            assert type(getattr(row, name)) is str, name
        assert type(row.tier) is int and type(row.controllers) is int


def test_account_rows_controllers_follow_the_control_rule(staff, clock):
    operators.add_operator(staff, "dev", b"dev passphrase 123", email="dev@example.com")
    accounts.add_account(staff, "x", "acme", login_id="social@example.com", mfa="none",
                         recovery_email_controller="bob@example.com")
    accounts.add_account(staff, "x", "old", status="retired", recovery_email_controller="bob@example.com",
                         recovery_phone_controller="cara@example.com")

    def count(key: str) -> int:
        return {r.key: r.controllers for r in account_rows(staff)}[key]

    assert count("x:acme") == 1
    grants.add_grant(staff, "alice@example.com", "x:acme", "manage")
    grants.add_grant(staff, "dev@example.com", "x:acme", "reveal")
    assert count("x:acme") == 1  # the vault path is incomplete without a password
    secrets.set_password(staff, "x:acme", "pw-123456")
    assert count("x:acme") == 3  # alice and dev through the vault, bob through the recovery email
    grants.add_grant(staff, "cara@example.com", "x:acme", "code-only")
    assert count("x:acme") == 3  # code-only never counts
    people.mark_leaving(staff, "bob@example.com", clock().date())
    assert count("x:acme") == 2
    assert count("x:old") == 1  # retired accounts are counted too (cara; bob has left)
    for row in account_rows(staff):
        assert row.controllers == control.who_can(staff, row.key).report.controller_count


def test_controller_counts_and_under_controlled_share_the_rule(staff):
    accounts.add_account(staff, "x", "one", recovery_email_controller="bob@example.com")
    accounts.add_account(staff, "x", "two", recovery_email_controller="bob@example.com",
                         recovery_phone_controller="cara@example.com")
    accounts.add_account(staff, "x", "gone", status="retired")
    counts = control.controller_counts(staff)
    by_key = {a.key: a.id for a in accounts.list_accounts(staff)}
    assert counts == {by_key["x:one"]: 1, by_key["x:two"]: 2, by_key["x:gone"]: 0}
    assert control.controller_counts(staff, include_retired=False).keys() == {by_key["x:one"], by_key["x:two"]}
    flagged = {a.key: r.controller_count for a, r in control.under_controlled(staff)}
    assert flagged == {"x:one": 1}


def test_account_rows_log_nothing(staff):
    accounts.add_account(staff, "x", "acme")
    before = staff.vault.log.count()
    account_rows(staff)
    people_rows(staff)
    logs.search(staff)
    logs.since(staff, 0)
    logs.head_seq(staff)
    assert staff.vault.log.count() == before


# --- people_rows ----------------------------------------------------------------------------


def test_people_rows_counts_grants_in_force(staff, clock):
    for handle in ("a", "b", "c", "d"):
        accounts.add_account(staff, "x", handle)
    grants.add_grant(staff, "bob@example.com", "x:a", "reveal")
    grants.add_grant(staff, "bob@example.com", "x:a", "code-only")
    grants.add_grant(staff, "bob@example.com", "x:b", "platform-admin")
    grants.add_grant(staff, "bob@example.com", "x:c", "reveal", expires_at=clock() + timedelta(hours=1))
    grants.add_grant(staff, "bob@example.com", "x:d", "reveal")
    grants.revoke_grants(staff, "bob@example.com", "x:d")
    grants.add_grant(staff, "cara@example.com", "x:a", "code-only")
    grants.add_grant(staff, "dev@example.com", "x:a", "reveal")
    people.mark_leaving(staff, "cara@example.com", clock().date() + timedelta(days=1))
    people.mark_leaving(staff, "dev@example.com", clock().date())
    clock.advance(hours=2)  # bob's x:c grant has expired
    rows = {r.email: r for r in people_rows(staff)}
    assert rows["bob@example.com"].grants_in_force == 3
    assert rows["cara@example.com"].grants_in_force == 1
    assert rows["dev@example.com"].grants_in_force == 0  # left: nothing works any more
    assert rows["alice@example.com"].grants_in_force == 0
    # The same answer as the grant list (services.grants.in_force_ids).
    for person_row in rows.values():
        assert person_row.grants_in_force == len(grants.list_grants(staff, email=person_row.email))


def test_people_rows_fields_status_and_order(staff, clock):
    today = clock().date()
    people.mark_leaving(staff, "cara@example.com", today + timedelta(days=4))
    people.mark_leaving(staff, "dev@example.com", today - timedelta(days=1))
    rows = people_rows(staff)
    assert [r.name for r in rows] == ["Alice Admin", "Bob Builder", "Cara Chen", "Dev Patel"]
    bob = rows[1]
    assert bob == PersonRow(id=bob.id, name="Bob Builder", email="bob@example.com", team="social",
                            type="employee", status="active", leave_on=None, grants_in_force=0)
    assert (rows[0].team, rows[2].type, rows[3].type) == ("", "agency", "contractor")
    assert (rows[2].status, rows[2].leave_on) == ("leaving", today + timedelta(days=4))
    assert (rows[3].status, rows[3].leave_on) == ("left", today - timedelta(days=1))
    for row in rows:
        assert all(type(getattr(row, f)) is str for f in ("name", "email", "team", "type", "status"))


# --- log search and live tail --------------------------------------------------------------


@pytest.fixture
def busy(staff):
    """Two operators, two accounts, reveals and codes by both."""
    operators.add_operator(staff, "Bob_Ops", b"bob passphrase 123", email="bob@example.com")
    for handle in ("acme", "beta"):
        accounts.add_account(staff, "instagram", handle, mfa="totp")
        grants.add_grant(staff, "alice@example.com", f"instagram:{handle}", "manage")
        grants.add_grant(staff, "bob@example.com", f"instagram:{handle}", "reveal")
        secrets.set_password(staff, f"instagram:{handle}", "pw-123456")
        secrets.set_totp(staff, f"instagram:{handle}", "JBSWY3DPEHPK3PXP")
    secrets.reveal(staff, "instagram:acme")
    secrets.totp_code(staff, "instagram:beta")
    bob = unlock(staff.vault.directory, "Bob_Ops", b"bob passphrase 123", clock=staff.clock)
    try:
        secrets.reveal(bob, "instagram:beta")
        secrets.totp_code(bob, "instagram:acme")
        secrets.reveal(bob, "instagram:acme", field="totp-seed")
    finally:
        bob.close()
    return staff


def everything(session) -> list[dict]:
    return session.vault.log.entries()  # newest first


def test_search_without_filters_is_the_newest_entries(busy):
    assert logs.search(busy) == everything(busy)[:200]
    assert logs.search(busy, limit=3) == everything(busy)[:3]
    found = logs.search(busy)
    assert [e["seq"] for e in found] == sorted((e["seq"] for e in found), reverse=True)


def test_search_by_actor_is_exact_and_ignores_case(busy):
    for name in ("bob_ops", "BOB_OPS", " Bob_Ops "):
        found = logs.search(busy, actor=name)
        assert found and {e["op"] for e in found} == {"Bob_Ops"}
    expected = [e for e in everything(busy) if e["op"] == "Bob_Ops"]
    assert logs.search(busy, actor="bob_ops") == expected
    assert logs.search(busy, actor="bob") == []  # not a prefix match
    assert logs.search(busy, actor="Bob%") == []
    assert {e["op"] for e in logs.search(busy, actor="alice")} == {"alice"}


def test_search_by_action_prefix(busy):
    secret = logs.search(busy, action="secret.")
    assert secret and all(e["action"].startswith("secret.") for e in secret)
    assert {"secret.reveal", "secret.password.set", "secret.totp.set"} <= {e["action"] for e in secret}
    assert [e["action"] for e in logs.search(busy, action="secret.reveal")] == ["secret.reveal"] * 3
    assert logs.search(busy, action="secret%") == [] and logs.search(busy, action="secret_") == []
    assert logs.search(busy, action="Secret.") == []  # actions are lower case; matched exactly
    assert logs.search(busy, action="") == everything(busy)  # empty = no filter


def test_search_by_account_and_combined(busy):
    acme = logs.search(busy, account_ref="instagram:acme")
    assert acme and {e["acct"] for e in acme} == {"instagram:acme"}
    both = logs.search(busy, account_ref="instagram:acme", actor="bob_ops", action="totp.")
    assert [(e["op"], e["action"], e["acct"]) for e in both] == [("Bob_Ops", "totp.code", "instagram:acme")]
    reveals = logs.search(busy, account_ref="instagram:acme", action="secret.reveal", limit=1)
    assert len(reveals) == 1 and reveals[0]["field"] == "totp-seed"  # the newest one
    account_id = str(busy.vault.accounts.by_key("instagram", "acme").id)
    assert logs.search(busy, account_ref=account_id) == acme


def test_search_refuses_unknown_accounts_and_bad_limits(busy):
    with pytest.raises(NotFoundError):
        logs.search(busy, account_ref="instagram:nobody")
    with pytest.raises(UsageError):
        logs.search(busy, limit=0)
    with pytest.raises(UsageError):
        logs.since(busy, 0, limit=0)


def test_head_seq_and_since_for_a_live_tail(busy):
    head = logs.head_seq(busy)
    assert head == busy.vault.log.count() == everything(busy)[0]["seq"]
    assert logs.since(busy, head) == []
    secrets.reveal(busy, "instagram:beta")
    secrets.totp_code(busy, "instagram:acme", via="clipboard")
    new = logs.since(busy, head)
    assert [(e["seq"], e["action"]) for e in new] == [(head + 1, "secret.reveal"), (head + 2, "totp.code")]
    assert logs.head_seq(busy) == head + 2
    assert logs.since(busy, head, limit=1) == new[:1]  # oldest first: nothing is skipped
    assert logs.since(busy, 0) == list(reversed(everything(busy)))[:500]
    assert [e["seq"] for e in logs.since(busy, 0, limit=5)] == [1, 2, 3, 4, 5]


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


def test_demo_account_rows_agree_with_who_can_and_list_accounts(demo):
    rows = account_rows(demo)
    listed = accounts.list_accounts(demo)
    assert [r.key for r in rows] == [a.key for a in listed]
    assert [r.key for r in rows] == sorted(r.key for r in rows)
    names = {p.id: p.name for p in people.list_people(demo)}
    for row, account in zip(rows, listed):
        assert row.controllers == control.who_can(demo, row.key).report.controller_count, row.key
        assert row.owner == (names[account.owner_id] if account.owner_id else "")
        assert (row.tier, row.mfa, row.status) == (account.tier, account.mfa.value, account.status.value)


def test_demo_people_rows_agree_with_the_grant_list(demo):
    rows = people_rows(demo)
    assert [r.email for r in rows] == [p.email for p in people.list_people(demo)]
    assert sum(r.grants_in_force for r in rows) == len(grants.list_grants(demo))
    assert {r.status for r in rows} == {"active", "leaving", "left"}


def test_demo_search(demo):
    reveals = logs.search(demo, action="secret.reveal", limit=20)
    assert len(reveals) == 20 and {e["action"] for e in reveals} == {"secret.reveal"}
    everything = demo.vault.log.entries()
    assert logs.search(demo, action="totp.", limit=1000) == [e for e in everything if e["action"].startswith("totp.")]
    priya = logs.search(demo, actor="PRIYA")
    assert priya and {e["op"] for e in priya} == {"priya"}
