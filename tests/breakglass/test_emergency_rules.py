"""Emergency access rules, pure: inputs, states, what the clock makes due, the shared approver rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from smvault.domain import approval
from smvault.domain import emergency as rules
from smvault.domain.errors import ConflictError, InvalidInputError, PolicyError
from smvault.domain.models import AccountStatus

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)


def test_incident_ids_are_single_words_of_at_most_64_characters():
    assert rules.check_incident("  INC-2041 ") == "INC-2041"
    assert rules.check_incident("x" * 64) == "x" * 64
    for bad, why in (("", "required"), (None, "required"), ("INC 1", "no spaces"), ("INC\x1b1", "control"),
                     ("x" * 65, "longer than 64")):
        with pytest.raises(InvalidInputError, match=why):
            rules.check_incident(bad)


def test_minutes_and_waits_have_bounds():
    assert rules.check_minutes(1) == 1 and rules.check_minutes(480) == 480
    for bad in (0, 481, -5, True, "60"):
        with pytest.raises(InvalidInputError, match="1 to 480"):
            rules.check_minutes(bad)
    assert rules.check_wait(None) is None and rules.check_wait(30) == 30
    for bad in (0, rules.MAX_WAIT_MINUTES + 1):
        with pytest.raises(InvalidInputError, match="waiting period"):
            rules.check_wait(bad)


def test_who_may_request():
    ok = dict(person_active=True, holds_password=False, account_key="x:acme", account_status=AccountStatus.ACTIVE)
    rules.require_may_request(**ok)
    rules.require_may_request(**{**ok, "account_status": AccountStatus.DORMANT})
    for change, why in (({"person_active": False}, "left or is leaving"),
                        ({"holds_password": True}, "already hold a grant on x:acme"),
                        ({"account_status": AccountStatus.RETIRED}, "retired")):
        with pytest.raises(PolicyError, match=why):
            rules.require_may_request(**{**ok, **change})


def test_a_wait_makes_a_request_wait_and_no_wait_needs_approval():
    assert rules.first_state(NOW, None) == (rules.EmergencyState.REQUESTED, None)
    assert rules.first_state(NOW, 30) == (rules.EmergencyState.WAITING, NOW + timedelta(minutes=30))
    assert rules.window(NOW, 60) == (NOW, NOW + timedelta(hours=1))


def test_what_the_clock_makes_due():
    until = NOW + timedelta(minutes=30)
    assert rules.due("waiting", until, None, until - timedelta(seconds=1)) is None
    assert rules.due("waiting", until, None, until) is rules.Due.ACTIVATE
    assert rules.due("requested", None, None, until) is None
    assert rules.due("active", until, until + timedelta(hours=1), until + timedelta(minutes=59)) is None
    assert rules.due("active", until, until + timedelta(hours=1), until + timedelta(hours=1)) is rules.Due.LAPSE
    for closed in ("vetoed", "lapsed", "ended"):
        assert rules.due(closed, until, until, until + timedelta(days=1)) is None


def test_time_left_counts_down_to_zero_on_active_access_only():
    end = NOW + timedelta(minutes=60)
    assert rules.time_left("active", end, NOW) == timedelta(minutes=60)
    assert rules.time_left("active", end, end + timedelta(seconds=5)) == timedelta(0)
    assert rules.time_left("waiting", end, NOW) is None


def test_approve_veto_end_by_state_and_by_whom():
    for state in ("waiting", "requested"):
        rules.require_approvable(state)
    with pytest.raises(ConflictError, match="already active"):
        rules.require_approvable("active")
    with pytest.raises(ConflictError, match="lapsed"):
        rules.require_approvable("lapsed")
    for state in ("waiting", "requested", "active"):
        rules.require_vetoable(state, is_requester=False)
        rules.require_endable(state, is_requester=True)
        with pytest.raises(PolicyError, match="cannot veto"):
            rules.require_vetoable(state, is_requester=True)
        with pytest.raises(PolicyError, match="only the operator who requested"):
            rules.require_endable(state, is_requester=False)
    for state in ("vetoed", "lapsed", "ended"):
        with pytest.raises(ConflictError, match=f"already {state}"):
            rules.require_vetoable(state, is_requester=False)
        with pytest.raises(ConflictError, match=f"already {state}"):
            rules.require_endable(state, is_requester=True)


def test_marker_and_wait_policy_parsing():
    assert rules.marker(7, "INC-1") == {"id": "emergency-7", "incident": "INC-1"}
    assert rules.grant_reason("INC-1") == "break-glass INC-1"
    setting = rules.WaitSetting(30, 2, "2026-11-02T09:30:00Z")
    stored = {"breakglass.wait.tier.2": setting.encode(), "breakglass.wait.tier.x": setting.encode(),
              "breakglass.wait.tier.0": "ten", "breakglass.wait.tier.1": '{"minutes": 0}',
              "other": setting.encode()}
    assert rules.wait_settings(stored) == {2: setting}  # unreadable: no wait, approval needed


def _approver(**changes):
    facts = dict(operator_id=2, person_id=20, name="bob", added_by=3, own_passphrase=False,
                 created_at=NOW - timedelta(days=1), added_after_request=False, person_active=True)
    return approval.Approver(**{**facts, **changes})


REQUEST = approval.Request(1, 10, NOW, "emergency access", "this emergency access")


def test_the_shared_approver_rule_names_what_is_approved():
    approval.require_second_operator(REQUEST, _approver())
    for approver, why in (
        (_approver(operator_id=1, person_id=10), "the operator who requested emergency access cannot approve it"),
        (_approver(person_id=10), "requested emergency access cannot approve"),
        (_approver(person_active=False), "'bob' cannot approve: their person has left or is leaving"),
        (_approver(added_by=1), "'bob' was added by the operator who requested this emergency access"),
        (_approver(added_by=1, own_passphrase=True, added_after_request=True),
         "'bob' was added after this emergency access was requested"),
        (_approver(created_at=NOW + timedelta(seconds=1)), "added after"),
    ):
        with pytest.raises(PolicyError, match=why):
            approval.require_second_operator(REQUEST, approver)
    approval.require_second_operator(REQUEST, _approver(added_by=1, own_passphrase=True))
    with pytest.raises(PolicyError, match="stake"):
        approval.require_second_operator(REQUEST, _approver(), excluded=(20, "a stake"))
