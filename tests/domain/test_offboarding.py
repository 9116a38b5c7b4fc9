"""Offboarding rules as pure functions: the plan, derived resolution, the guard, close rules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from smvault.domain.control import ControlFacts
from smvault.domain.errors import PolicyError
from smvault.domain.models import Account, AccountStatus, Grant, Level, MfaMethod, Person, SecretDates
from smvault.domain.offboarding import (
    Learned,
    OpenStep,
    Replacement,
    SinceOpened,
    StepKind,
    blocking_accounts,
    build_plan,
    check_close,
    involved_account_ids,
    latest_learned,
    learned_after_start,
    learned_by,
    replaced_secret,
    resolve,
    secret_disclosed,
)
from smvault.domain.workflow import Step, StepState

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
LEAVER = Person(7, "Lee Ver", "lee@example.com")


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def grant(gid, account_id, level, revoked=None, expires=None, person_id=7) -> Grant:
    return Grant(gid, person_id, account_id, Level(level), 1, None, at(-100), expires, revoked)


def account(aid, handle, **fields) -> Account:
    return Account(aid, "x", handle, **fields)


def learned(seq, days, account_id, secret, action="secret.reveal") -> Learned:
    return Learned(seq, at(days), action, account_id, secret)


def plan_rows(specs):
    return [(s.kind, s.data.get("account"), s.data.get("learned")) for s in specs]


def test_secret_disclosed_maps_actions_and_fields():
    assert secret_disclosed({"action": "secret.reveal", "field": "password"}) == "password"
    assert secret_disclosed({"action": "secret.copy", "field": "password"}) == "password"
    assert secret_disclosed({"action": "secret.reveal", "field": "totp-seed"}) == "totp-seed"
    assert secret_disclosed({"action": "totp.qr", "field": "qr"}) == "totp-seed"
    assert secret_disclosed({"action": "secret.reveal", "field": "recovery-codes"}) == "recovery-codes"
    assert secret_disclosed({"action": "secret.recovery-code.use", "field": "recovery-code"}) == "recovery-codes"
    assert secret_disclosed({"action": "totp.code", "field": "code"}) is None  # a live code expires



def test_latest_learned_keeps_the_last_disclosure_of_each_secret_by_seq():
    rows = [
        (9, "2026-01-01T12:00:00Z", "secret.reveal", 3, "password"),
        (5, "2026-01-01T12:00:00Z", "secret.copy", 3, "password"),  # older, listed later
        (7, "2026-01-01T11:00:00Z", "totp.qr", 3, "qr"),
        (8, "2026-01-01T12:00:00Z", "totp.code", 3, "code"),  # teaches nothing lasting
        (6, "2026-01-01T12:00:00Z", "secret.reveal", None, "password"),
    ]
    assert sorted(latest_learned(rows)) == [
        Learned(7, T0 - timedelta(hours=1), "totp.qr", 3, "totp-seed"),
        Learned(9, T0, "secret.reveal", 3, "password"),
    ]


def test_did_learn_counts_only_disclosures_since_the_last_rotation():
    accounts = {1: account(1, "fresh"), 2: account(2, "rotated")}
    secrets = {1: SecretDates(password_at=at(0)), 2: SecretDates(password_at=at(5))}
    seen = [learned(10, 1, 1, "password"), learned(11, 1, 2, "password")]  # both on day 1
    specs = build_plan(LEAVER, [], seen, accounts, secrets)
    assert plan_rows(specs) == [("revoke-grants", None, None), ("rotate-password", "x:fresh", "did")]
    assert specs[1].data["seq"] == 10


def test_without_the_rotation_in_the_log_the_same_second_counts():
    specs = build_plan(LEAVER, [], [learned(3, 0, 1, "password")], {1: account(1, "a")},
                       {1: SecretDates(password_at=at(0))})
    assert plan_rows(specs)[1] == ("rotate-password", "x:a", "did")


def test_the_log_order_decides_within_a_second():
    """A reveal and a rotation in the same second: the seqs say which came first."""
    accounts, dates = {1: account(1, "a")}, {1: SecretDates(password_at=at(0))}
    seen = [learned(3, 0, 1, "password")]
    rotated = Replacement(4, at(0))
    assert len(build_plan(LEAVER, [], seen, accounts, dates, {(1, "password"): rotated})) == 1  # rotated after
    assert plan_rows(build_plan(LEAVER, [], seen, accounts, dates, {(1, "password"): Replacement(2, at(0))}))[1] == (
        "rotate-password", "x:a", "did")
    seed = [learned(3, 0, 1, "totp-seed")]
    assert len(build_plan(LEAVER, [], seed, accounts, {1: SecretDates(totp_at=at(0))}, {(1, "totp-seed"): rotated})) == 1


def test_codes_count_until_a_later_set_retired_them():
    accounts, dates = {1: account(1, "a")}, {1: SecretDates(oldest_unused_code_at=at(0))}
    seen = [learned(5, 0, 1, "recovery-codes")]
    assert plan_rows(build_plan(LEAVER, [], seen, accounts, dates))[1][0] == "regenerate-recovery-codes"
    earlier = {(1, "recovery-codes"): Replacement(3, at(0))}
    assert plan_rows(build_plan(LEAVER, [], seen, accounts, dates, earlier))[1][0] == \
        "regenerate-recovery-codes"
    assert len(build_plan(LEAVER, [], seen, accounts, dates, {(1, "recovery-codes"): Replacement(6, at(0))})) == 1


def test_who_learned_a_disclosure():
    to_lee = {"action": "secret.reveal", "to": 7, "op": "alice"}
    by_lee = {"action": "secret.reveal", "to": 8, "by": 7, "op": "lee"}
    old_by_lee = {"action": "secret.reveal", "to": 8, "for": True, "op": "lee"}
    assert learned_by(to_lee, 7) and learned_by(by_lee, 7)
    assert not learned_by(old_by_lee, 7) and learned_by(old_by_lee, 7, ("lee",))
    assert not learned_by({"action": "secret.password.set", "op": "lee"}, 7, ("lee",))  # no disclosure
    assert not learned_by(to_lee, 8)


def test_keep_old_recovery_codes_replace_nothing():
    assert replaced_secret({"action": "secret.password.set"}) == "password"
    assert replaced_secret({"action": "secret.recovery-codes.add", "detail": {"added": 2, "retired": 3}}) == \
        "recovery-codes"
    assert replaced_secret({"action": "secret.recovery-codes.add", "detail": {"added": 2, "retired": 0}}) is None
    assert replaced_secret({"action": "secret.reveal"}) is None


def test_could_learn_needs_a_reveal_grant_in_force_since_the_rotation():
    accounts = {i: account(i, h) for i, h in enumerate(("open", "revoked-before", "revoked-after",
                                                         "expired-before", "code-only", "admin", "no-password"), 1)}
    secrets = {i: SecretDates(password_at=at(10)) for i in range(1, 7)}
    grants = [
        grant(1, 1, "reveal"),
        grant(2, 2, "manage", revoked=at(9)),
        grant(3, 3, "reveal", revoked=at(11)),
        grant(4, 4, "reveal", expires=at(9)),
        grant(5, 5, "code-only"),
        grant(6, 6, "platform-admin"),
        grant(7, 7, "reveal"),  # no stored password: nothing to rotate in the vault
    ]
    specs = build_plan(LEAVER, grants, [], accounts, secrets)
    could = [(s.data["account"], s.data["grants"]) for s in specs if s.kind == StepKind.ROTATE_PASSWORD]
    assert could == [("x:open", [1]), ("x:revoked-after", [3])]
    assert [s.grant_id for s in specs if s.kind == StepKind.REMOVE_PLATFORM_ADMIN] == [6]


def test_plan_order_kinds_then_did_before_could_then_keys():
    pid = LEAVER.id
    accounts = {
        1: account(1, "zulu"),
        2: account(2, "alpha"),
        3: account(3, "mike", totp_holder_id=pid, mfa=MfaMethod.TOTP),
        4: account(4, "kilo", owner_id=pid, recovery_email_controller_id=pid),
        5: account(5, "echo", backup_owner_id=pid, recovery_phone_controller_id=pid),
    }
    secrets = {1: SecretDates(password_at=at(0), totp_at=at(0), oldest_unused_code_at=at(0)),
               2: SecretDates(password_at=at(0))}
    grants = [grant(1, 2, "reveal"), grant(2, 1, "platform-admin"), grant(3, 1, "reveal")]
    seen = [learned(20, 1, 1, "password"), learned(21, 1, 1, "totp-seed", "totp.qr"),
            learned(22, 1, 1, "recovery-codes", "secret.recovery-code.use")]
    assert plan_rows(build_plan(LEAVER, grants, seen, accounts, secrets)) == [
        ("revoke-grants", None, None),
        ("remove-platform-admin", "x:zulu", None),
        ("rotate-password", "x:zulu", "did"),
        ("rotate-password", "x:alpha", "could"),
        ("reenrol-totp", "x:mike", None),
        ("reenrol-totp", "x:zulu", None),
        ("regenerate-recovery-codes", "x:zulu", None),
        ("repoint-recovery-email", "x:kilo", None),
        ("repoint-recovery-phone", "x:echo", None),
        ("transfer-ownership", "x:echo", None),
        ("transfer-ownership", "x:kilo", None),
    ]


def test_seed_and_codes_count_only_while_what_was_seen_is_still_current():
    accounts = {1: account(1, "a"), 2: account(2, "b")}
    secrets = {
        1: SecretDates(totp_at=at(5), oldest_unused_code_at=at(5)),  # both replaced after day 1
        2: SecretDates(totp_at=at(0), oldest_unused_code_at=at(0)),
    }
    seen = [learned(1, 1, 1, "totp-seed"), learned(2, 1, 1, "recovery-codes"),
            learned(3, 1, 2, "totp-seed"), learned(4, 1, 2, "recovery-codes")]
    assert plan_rows(build_plan(LEAVER, [], seen, accounts, secrets))[1:] == [
        ("reenrol-totp", "x:b", None), ("regenerate-recovery-codes", "x:b", None)]


def entry(seq, action, account_id=None, **fields):
    return {"seq": seq, "ts": f"2026-02-01T00:00:{seq:02d}Z", "op": "alice", "action": action,
            **({"account": account_id} if account_id is not None else {}), **fields}


def test_rotation_resolves_only_after_the_last_disclosure_by_seq():
    step = (StepKind.ROTATE_PASSWORD, 1, {"learned": "did"})
    args = (LEAVER.id,)
    rotated = SinceOpened.from_entries(LEAVER.id, [entry(10, "secret.password.set", 1)])
    found = resolve(*step, *args, rotated, 0, {}, {})
    assert found.evidence == "password set by alice at 2026-02-01T00:00:10Z (log seq 10)"
    assert (found.by, found.seq) == ("alice", 10)
    reveal_again = entry(11, "secret.reveal", 1, to=LEAVER.id, field="password")
    again = SinceOpened.from_entries(LEAVER.id, [entry(10, "secret.password.set", 1), reveal_again])
    assert resolve(*step, *args, again, 0, {}, {}) is None
    to_someone_else = {**reveal_again, "to": 99}
    other = SinceOpened.from_entries(LEAVER.id, [entry(10, "secret.password.set", 1), to_someone_else])
    assert resolve(*step, *args, other, 0, {}, {}) is not None
    elsewhere = SinceOpened.from_entries(LEAVER.id, [entry(10, "secret.password.set", 2)])
    assert resolve(*step, *args, elsewhere, 0, {}, {}) is None


def test_table_facts_resolve_role_steps():
    pid = LEAVER.id
    names = {8: "Sam <sam@example.com>"}
    moved = {1: account(1, "a", recovery_email_controller_id=8, recovery_phone_controller_id=None,
                        owner_id=8, totp_holder_id=8)}
    still = {1: account(1, "a", recovery_email_controller_id=pid, recovery_phone_controller_id=pid,
                        owner_id=None, backup_owner_id=pid, totp_holder_id=pid)}
    empty = SinceOpened()
    for kind, evidence in [
        (StepKind.REPOINT_RECOVERY_EMAIL, "recovery email now controlled by Sam <sam@example.com>"),
        (StepKind.REPOINT_RECOVERY_PHONE, "recovery phone now controlled by nobody"),
        (StepKind.TRANSFER_OWNERSHIP, "owner now Sam <sam@example.com>, backup owner nobody"),
    ]:
        assert resolve(kind, 1, {}, pid, empty, 0, moved, names).evidence == evidence
        assert resolve(kind, 1, {}, pid, empty, 0, still, names) is None
    holder_only = {"holder": True, "seq": None}
    assert resolve(StepKind.REENROL_TOTP, 1, holder_only, pid, empty, 0, moved, names).evidence == \
        "TOTP device now held by Sam <sam@example.com>"
    # Having seen the seed, a new device holder is not enough: the seed must be re-enrolled.
    saw_seed = {"holder": True, "seq": 4}
    assert resolve(StepKind.REENROL_TOTP, 1, saw_seed, pid, empty, 0, moved, names) is None
    reenrolled = SinceOpened.from_entries(pid, [entry(12, "secret.totp.set", 1)])
    assert resolve(StepKind.REENROL_TOTP, 1, saw_seed, pid, reenrolled, 0, still, names).seq == 12


def test_revoke_grants_and_manual_steps():
    pid = LEAVER.id
    empty = SinceOpened()
    assert resolve(StepKind.REVOKE_GRANTS, None, {}, pid, empty, 2, {}, {}) is None
    assert resolve(StepKind.REVOKE_GRANTS, None, {}, pid, empty, 0, {}, {}).evidence == "holds no open grant"
    revoked = SinceOpened.from_entries(pid, [entry(30, "offboard.revoke-grants", person=pid)])
    assert resolve(StepKind.REVOKE_GRANTS, None, {}, pid, revoked, 0, {}, {}).seq == 30
    someone_else = SinceOpened.from_entries(pid, [entry(30, "offboard.revoke-grants", person=99)])
    assert someone_else.revoked is None
    assert resolve(StepKind.REMOVE_PLATFORM_ADMIN, 1, {}, pid, revoked, 0, {1: account(1, "a")}, {}) is None


def facts(aid, **kw) -> ControlFacts:
    base = dict(login_id="login", mfa="none", recovery_email_controller_id=None,
                recovery_phone_controller_id=None, totp_holder_id=None, has_password=True,
                has_totp_seed=False, recovery_codes_unused=0)
    return ControlFacts(aid, **{**base, **kw})


def test_guard_counts_controllers_with_the_leaver_gone():
    pid = LEAVER.id
    accounts = {1: account(1, "sole"), 2: account(2, "pair"), 3: account(3, "retired", status=AccountStatus.RETIRED)}
    grants = {1: [(pid, "manage"), (2, "manage")], 2: [(pid, "manage"), (2, "manage"), (3, "reveal")],
              3: [(pid, "manage")]}
    operators = {pid, 2, 3}
    found = blocking_accounts(pid, [facts(1), facts(2), facts(3)], accounts, grants, operators, left_ids=set())
    assert found == [("x:sole", 1)]
    # Someone else who has left does not count either.
    assert blocking_accounts(pid, [facts(2)], accounts, grants, operators, left_ids={3}) == [("x:pair", 1)]
    via_email = blocking_accounts(pid, [facts(1, recovery_email_controller_id=pid)], accounts,
                                  {1: [(pid, "manage")]}, operators, set())
    assert via_email == [("x:sole", 0)]


def test_involved_accounts_include_grants_held_at_start_and_roles():
    pid = LEAVER.id
    grants = [grant(1, 1, "reveal", revoked=at(-1)), grant(2, 2, "reveal", revoked=at(1)), grant(3, 3, "code-only")]
    roles = [account(4, "owned", owner_id=pid), account(5, "phone", recovery_phone_controller_id=pid),
             account(6, "other", owner_id=99)]
    assert involved_account_ids(pid, grants, roles, since=at(0)) == {2, 3, 4, 5}


def test_close_rules_guard_first_then_open_steps():
    steps = [OpenStep(2, "remove-platform-admin", "x:a")]
    with pytest.raises(PolicyError, match=r"x:sole \(1\).*--successor"):
        check_close("Lee", [("x:sole", 1)], steps, successor=False, override=None)
    with pytest.raises(PolicyError, match=r"2 remove-platform-admin x:a.*--override"):
        check_close("Lee", [("x:sole", 1)], steps, successor=True, override=None)
    check_close("Lee", [("x:sole", 1)], steps, successor=True, override="HR confirmed")
    check_close("Lee", [], [], successor=False, override=None)


def test_long_refusals_name_the_first_few_and_count_the_rest():
    many = [OpenStep(i, "rotate-password", f"x:a{i}") for i in range(2, 22)]
    with pytest.raises(PolicyError, match=r"20 step\(s\) still open \(2 rotate-password x:a2, .*"
                                          r"9 rotate-password x:a9 and 12 more\)"):
        check_close("Lee", [], many, successor=False, override=None)


def saved_step(position, kind, account_id, done=False, **data):
    return Step(position, 1, position, kind, account_id, None, data,
                StepState.DONE if done else StepState.OPEN)


def test_secrets_learned_after_the_start_become_steps_unless_covered():
    pid = LEAVER.id
    accounts = {1: account(1, "planned"), 2: account(2, "late"), 3: account(3, "noted")}
    steps = [saved_step(1, "revoke-grants", None),
             saved_step(2, "rotate-password", 1),
             saved_step(3, "rotate-password", 3, done=True, done_seq=15)]
    since = SinceOpened.from_entries(pid, [
        entry(12, "secret.reveal", 2, to=pid, field="password"),
        entry(13, "secret.reveal", 1, to=pid, field="password"),  # covered by the open step 2
        entry(14, "totp.qr", 2, to=8, by=pid, field="qr"),  # as the operator, for someone else
        entry(16, "secret.reveal", 3, to=pid, field="password"),  # after step 3's note
        entry(17, "secret.reveal", 2, to=pid, field="password"),
    ])
    specs = learned_after_start(LEAVER, steps, since, accounts)
    assert [(s.kind, s.account_id, s.data["seq"], s.data.get("learned")) for s in specs] == [
        ("rotate-password", 2, 12, "did"), ("reenrol-totp", 2, 14, None), ("rotate-password", 3, 16, "did")]
    assert specs[0].data["title"] == "Rotate the password of x:late: Lee Ver learned it after the offboarding started"
    # A note made after the last disclosure covers it; so does a note from before done_seq existed.
    noted_late = [*steps[:2], saved_step(3, "rotate-password", 3, done=True, done_seq=20)]
    legacy = [*steps[:2], saved_step(3, "rotate-password", 3, done=True)]
    for covering in (noted_late, legacy):
        assert [s.account_id for s in learned_after_start(LEAVER, covering, since, accounts)] == [2, 2]
