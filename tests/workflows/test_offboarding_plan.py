"""The offboarding plan from a vault with known grants and log history, and from the demo."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from smvault.domain.clock import parse_timestamp
from smvault.services import accounts, grants, offboarding, people, secrets
from smvault.services.demo import (
    DEMO_OPERATOR,
    DEMO_PASSPHRASE,
    HEAD_OF_SOCIAL_EMAIL,
    LEAVER_EMAIL,
    SECOND_OPERATOR_EMAIL,
    TOUR,
    build_demo,
)
from smvault.services.session import unlock
from tests.conftest import FakeClock
from tests.workflows.conftest import ALICE, PEOPLE, SECOND_EMAIL

CARA = PEOPLE["cara"]
SEED = "JBSWY3DPEHPK3PXP"


def later(clock, minutes: int = 5) -> None:
    clock.advance(minutes=minutes)


def history(staffed) -> None:
    """Cara's history, account by account (what the plan must make of it in brackets)."""
    s, clock = staffed.session, staffed.clock

    def account(ref: str, password: bool = True, **fields) -> None:
        platform, handle = ref.split(":")
        accounts.add_account(s, platform, handle, login_id=f"{handle}@example.com", **{"mfa": "none", **fields})
        if password:
            secrets.set_password(s, ref)
        grants.add_grant(s, ALICE, ref, "manage")

    # x:alpha [did]: disclosed --for cara after the last rotation.
    account("x:alpha")
    grants.add_grant(s, CARA, "x:alpha", "reveal")
    later(clock)
    secrets.reveal(s, "x:alpha", "password", for_email=CARA)
    # x:bravo [could]: disclosed before the last rotation; her grant still stands.
    account("x:bravo")
    grants.add_grant(s, CARA, "x:bravo", "reveal")
    later(clock)
    secrets.reveal(s, "x:bravo", "password", for_email=CARA)
    later(clock)
    secrets.set_password(s, "x:bravo")
    # x:charlie [nothing]: her grant was revoked before the last rotation.
    account("x:charlie")
    grants.add_grant(s, CARA, "x:charlie", "reveal")
    later(clock)
    grants.revoke_grants(s, CARA, "x:charlie")
    later(clock)
    secrets.set_password(s, "x:charlie")
    # x:delta [did]: she learned it, then lost the grant; nobody rotated.
    account("x:delta")
    grants.add_grant(s, CARA, "x:delta", "reveal")
    later(clock)
    secrets.reveal(s, "x:delta", "password", for_email=CARA)
    grants.revoke_grants(s, CARA, "x:delta")
    # x:echo [nothing]: code-only, and live codes handed to her teach nothing lasting.
    account("x:echo")
    secrets.set_totp(s, "x:echo", SEED)
    grants.add_grant(s, CARA, "x:echo", "code-only")
    secrets.totp_code(s, "x:echo", for_email=CARA)
    # instagram:foxtrot [admin role, recovery email, ownership]: no password in the vault.
    account("instagram:foxtrot", password=False, owner=CARA, recovery_email="cara.home@example.com",
            recovery_email_controller=CARA)
    grants.add_grant(s, CARA, "instagram:foxtrot", "platform-admin")
    # instagram:golf [could; TOTP; recovery codes]: she manages it and saw seed and codes.
    account("instagram:golf")
    secrets.set_totp(s, "instagram:golf", SEED)
    secrets.add_recovery_codes(s, "instagram:golf", ["g-1", "g-2", "g-3"])
    grants.add_grant(s, CARA, "instagram:golf", "manage")
    later(clock)
    secrets.reveal(s, "instagram:golf", "totp-seed", for_email=CARA)
    secrets.reveal(s, "instagram:golf", "recovery-codes", for_email=CARA)
    # tiktok:hotel [TOTP device; recovery phone; backup owner]: no grant at all.
    account("tiktok:hotel", password=False, mfa="totp", totp_holder=CARA, owner=ALICE, backup_owner=CARA,
            recovery_phone="+15550100", recovery_phone_controller=CARA)
    # x:india [nothing]: she saw the codes, which were regenerated since; no password stored.
    account("x:india", password=False)
    secrets.add_recovery_codes(s, "x:india", ["i-1", "i-2"])
    grants.add_grant(s, CARA, "x:india", "reveal")
    later(clock)
    secrets.reveal(s, "x:india", "recovery-codes", for_email=CARA)
    later(clock)
    secrets.add_recovery_codes(s, "x:india", ["i-3", "i-4"])
    # x:juliet [nothing]: her grant expired before the last rotation.
    account("x:juliet")
    grants.add_grant(s, CARA, "x:juliet", "reveal", expires_at=clock.now + timedelta(days=1))
    clock.advance(days=2)
    secrets.set_password(s, "x:juliet")
    later(clock)


EXPECTED = [
    ("revoke-grants", None, None),
    ("remove-platform-admin", "instagram:foxtrot", None),
    ("rotate-password", "x:alpha", "did"),
    ("rotate-password", "x:delta", "did"),
    ("rotate-password", "instagram:golf", "could"),
    ("rotate-password", "x:bravo", "could"),
    ("reenrol-totp", "instagram:golf", None),
    ("reenrol-totp", "tiktok:hotel", None),
    ("regenerate-recovery-codes", "instagram:golf", None),
    ("repoint-recovery-email", "instagram:foxtrot", None),
    ("repoint-recovery-phone", "tiktok:hotel", None),
    ("transfer-ownership", "instagram:foxtrot", None),
    ("transfer-ownership", "tiktok:hotel", None),
]


def rows(view):
    return [(s.kind, s.account_key, s.learned) for s in view.steps]


def test_plan_from_known_history_is_exact(staffed):
    history(staffed)
    view = offboarding.plan_offboarding(staffed.session, CARA)
    assert rows(view) == EXPECTED
    assert [s.position for s in view.steps] == list(range(1, len(EXPECTED) + 1))
    assert view.state == "plan" and view.workflow_id is None
    by_kind = {s.kind: s for s in view.steps}
    assert by_kind["remove-platform-admin"].manual and not by_kind["remove-platform-admin"].auto
    assert all(s.auto and not s.manual for s in view.steps if s.kind != "remove-platform-admin")
    assert not any(s.done for s in view.steps)  # she still holds grants; nothing changed yet
    # alpha, bravo, echo, foxtrot, golf, india, and juliet: expired but never revoked
    assert by_kind["revoke-grants"].title == "Revoke every vault grant Cara holds (7 open)"
    assert view.steps[-2].title == ("Move ownership of instagram:foxtrot (Cara is owner): "
                                    "smvault transfer start instagram:foxtrot --to EMAIL")
    assert "(Cara is backup owner)" in view.steps[-1].title


def test_started_plan_is_the_dry_run_plan(staffed):
    history(staffed)
    dry = offboarding.plan_offboarding(staffed.session, CARA)
    started = offboarding.start_offboarding(staffed.session, CARA, staffed.clock.now.date() + timedelta(days=3))
    assert rows(started) == rows(dry)
    assert [s.title for s in started.steps] == [s.title for s in dry.steps]


def test_own_reveals_as_an_operator_are_did_learn(staffed):
    s = staffed.session
    accounts.add_account(s, "x", "ops", login_id="ops@example.com", mfa="none")
    secrets.set_password(s, "x:ops")
    grants.add_grant(s, ALICE, "x:ops", "manage")
    grants.add_grant(s, SECOND_EMAIL, "x:ops", "reveal")
    staffed.clock.advance(minutes=1)
    with staffed.as_operator() as bob:
        secrets.copy_secret(bob, "x:ops")  # bob's own copy: `to` is bob himself
    view = offboarding.plan_offboarding(s, SECOND_EMAIL)
    assert ("rotate-password", "x:ops", "did") in rows(view)


def test_plan_for_someone_with_nothing_is_one_resolved_step(staffed):
    view = offboarding.plan_offboarding(staffed.session, PEOPLE["eve"])
    assert rows(view) == [("revoke-grants", None, None)]
    assert view.steps[0].done and view.steps[0].evidence == "holds no open grant"
    assert view.blocking == ()


def test_blocking_lists_accounts_the_leaver_is_needed_for(staffed):
    s = staffed.session
    accounts.add_account(s, "youtube", "solo", login_id="solo@example.com", mfa="totp", totp_holder=CARA)
    accounts.add_account(s, "x", "shared", login_id="shared@example.com", mfa="none",
                         recovery_email="r@example.com", recovery_email_controller=PEOPLE["dev"])
    secrets.set_password(s, "x:shared")
    grants.add_grant(s, ALICE, "x:shared", "manage")
    grants.add_grant(s, CARA, "x:shared", "platform-admin")
    view = offboarding.plan_offboarding(s, CARA)
    assert view.blocking == (("youtube:solo", 0),)  # x:shared keeps alice and dev


# --- the demo vault ---------------------------------------------------------------------------

BUILT_AT = datetime(2026, 11, 2, 9, 30, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo_vault(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMVAULT_INSECURE_TEST_KDF", "1")
        directory = tmp_path_factory.mktemp("demo") / "vault"
        anchors = tmp_path_factory.mktemp("demo-anchors")
        build_demo(directory, anchor_dir=anchors, clock=FakeClock(BUILT_AT))
    return directory, anchors


@pytest.fixture
def demo(demo_vault):
    directory, anchors = demo_vault
    session = unlock(directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), clock=FakeClock(BUILT_AT),
                     anchor_dir=anchors, check=False)
    yield session
    session.close()


def test_demo_leaver_plan_rotates_what_he_revealed(demo):
    view = offboarding.plan_offboarding(demo, LEAVER_EMAIL)
    did = {s.account_key for s in view.steps if s.kind == "rotate-password" and s.learned == "did"}
    could = {s.account_key for s in view.steps if s.kind == "rotate-password" and s.learned == "could"}
    # Independently from the log: every password disclosed to him since its last rotation.
    rotated = demo.vault.secrets.password_rotations()
    revealed = {
        e["acct"] for e in people.person_detail(demo, LEAVER_EMAIL).learned
        if e["action"] in ("secret.reveal", "secret.copy") and e.get("field") == "password"
        and parse_timestamp(e["ts"]) >= rotated[e["account"]]
    }
    assert revealed and did == revealed
    assert TOUR["healthy"] in did  # the handover reveal of the last days
    assert could and not could & did
    kinds = [s.kind for s in view.steps]
    assert kinds.index("rotate-password") < kinds.index("reenrol-totp")
    last_did = max(i for i, s in enumerate(view.steps) if s.learned == "did")
    first_could = min(i for i, s in enumerate(view.steps) if s.learned == "could")
    assert last_did < first_could
    totp = {s.account_key for s in view.steps if s.kind == "reenrol-totp"}
    assert TOUR["single_controller"] in totp  # the authenticator on his phone
    assert (TOUR["single_controller"], 0) in view.blocking


def test_demo_leaver_cannot_close_until_a_successor_is_named(demo):
    from smvault.domain.errors import PolicyError

    class Undo(Exception):
        pass

    head = demo.vault.log.head().seq
    with pytest.raises(Undo):
        with demo.atomic():  # rolled back on the way out: the module's vault stays as built
            offboarding.start_offboarding(demo, LEAVER_EMAIL)
            with pytest.raises(PolicyError, match=TOUR["single_controller"]):
                offboarding.close_offboarding(demo, LEAVER_EMAIL, override="test")
            with pytest.raises(PolicyError, match="is not an operator"):  # the head of social is not one
                offboarding.close_offboarding(demo, LEAVER_EMAIL, successor=HEAD_OF_SOCIAL_EMAIL, override="test")
            closed = offboarding.close_offboarding(demo, LEAVER_EMAIL, successor=SECOND_OPERATOR_EMAIL,
                                                   override="test")
            assert closed.state == "closed" and closed.successor_email == SECOND_OPERATOR_EMAIL
            assert (TOUR["single_controller"], 0) in closed.blocking
            raise Undo
    assert demo.vault.log.head().seq == head


def test_the_plan_reads_the_log_through_its_indexes_only(staffed):
    """What a person learned (as recipient, as operator, in entries older than `by`) and when
    each secret was last replaced are index searches: the log is never scanned (schema v5)."""
    s = staffed.session
    accounts.add_account(s, "x", "ops", login_id="ops@example.com", mfa="none")
    secrets.set_password(s, "x:ops")
    grants.add_grant(s, ALICE, "x:ops", "manage")
    grants.add_grant(s, SECOND_EMAIL, "x:ops", "reveal")
    statements = []
    s.vault.conn.set_trace_callback(statements.append)
    try:
        offboarding.plan_offboarding(s, SECOND_EMAIL)  # bob is an operator: all three legs run
    finally:
        s.vault.conn.set_trace_callback(None)
    reads = [sql for sql in statements if " FROM log " in sql and "LIMIT 1" not in sql]  # not the head
    assert len(reads) == 3
    for sql in reads:
        plan = [row[3] for row in s.vault.conn.execute("EXPLAIN QUERY PLAN " + sql)]
        assert not any(step.startswith("SCAN log") for step in plan), (sql, plan)
        assert any(step.startswith("SEARCH log") for step in plan)
