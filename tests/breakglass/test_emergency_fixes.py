"""Emergency access, the review's findings: a `--for` into the requester is marked, the clock
cannot be pinned or set back to skip a wait or stretch a window, the requester and the wait's
standing approval are checked again when access would start, an offboarding ends a leaver's
requests, a grant revoked by hand ends the access, entries name the grants they touch."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from smvault.domain.clock import system_clock, timestamp
from smvault.domain.errors import ConflictError, NotFoundError, PolicyError
from smvault.services import grants, kit, logs, offboarding, operators, people, secrets
from smvault.services import emergency as em
from smvault.services.post_incident import post_incident_status
from smvault.services.session import unlock, unlock_recovery
from tests.breakglass.test_emergency import (  # noqa: F401 (team is a fixture)
    ACCOUNT,
    BOB_PASS,
    CAROL_PASS,
    OPS_PASS,
    OTHER,
    _set_wait,
    ask,
    head,
    last,
    nothing_written,
    team,
)
from tests.conftest import PASSPHRASE


def approved(team, view, by=("bob", BOB_PASS)):
    with team.as_op(*by) as other:
        return em.approve_access(other, view.id)


def rotations(session, workflow_id) -> list[tuple[str, str]]:
    return sorted((s.kind, s.account_key) for s in post_incident_status(session, workflow_id).steps if s.account_key)


# -- 1. a disclosure `--for` the requester by another operator -------------------------------------


def test_a_disclosure_for_the_requester_by_another_operator_carries_her_marker(team):
    s = team.session
    grants.add_grant(s, "bob@example.com", ACCOUNT, "reveal")
    view = ask(s)
    approved(team, view, ("carol", CAROL_PASS))
    with team.as_op("bob", BOB_PASS) as bob:
        secrets.reveal(bob, ACCOUNT, "password", for_email="alice@example.com")
        entry = last(bob)
        secrets.reveal(bob, ACCOUNT)  # bob for himself, under his ordinary grant: not hers
        assert "bg" not in last(bob)
    bob_person = s.vault.operators.by_name("bob").person_id
    assert (entry["to_email"], entry["by"]) == ("alice@example.com", bob_person)
    assert entry["bg"] == {"id": view.bg_id, "incident": "INC-7"}
    ended = em.end_access(s, view.id)
    assert rotations(s, ended.post_incident_id) == [("rotate-password", ACCOUNT)]


def test_when_operator_and_recipient_both_hold_emergency_access_the_operators_marker_wins(team):
    """Deterministic: the operator's access is what put the value on this screen, and the
    same secret is listed for rotation in their post-incident workflow either way."""
    s = team.session
    hers = ask(s)
    with team.as_op("bob", BOB_PASS) as bob:
        his = ask(bob, incident="INC-8")
    approved(team, hers, ("carol", CAROL_PASS))
    approved(team, his, ("carol", CAROL_PASS))
    secrets.reveal(s, ACCOUNT, "password", for_email="bob@example.com")
    assert last(s)["bg"]["id"] == hers.bg_id
    with team.as_op("bob", BOB_PASS) as bob:
        secrets.reveal(bob, ACCOUNT, "password", for_email="alice@example.com")
        assert last(bob)["bg"]["id"] == his.bg_id


# -- 2. the clock: pinned only in-process by tests, never set back -------------------------------------


def test_no_environment_variable_pins_the_clock(monkeypatch, pin_clock):
    """Not even in a test run: the test KDF switch is on here (tests/conftest.py)."""
    assert os.environ["SMVAULT_INSECURE_TEST_KDF"] == "1"
    monkeypatch.setenv("SMVAULT_FAKE_NOW", "2030-01-01T00:00:00Z")
    assert abs(system_clock() - datetime.now(timezone.utc)) < timedelta(minutes=1)
    pin_clock("2030-01-01T00:00:00Z")  # the only way: in-process, from test code
    assert system_clock() == datetime(2030, 1, 1, tzinfo=timezone.utc)


def test_a_requester_cannot_skip_the_wait_with_smvault_fake_now(run_cli, tmp_path):
    """The reviewer's reproduction, through the CLI: a requester sets SMVAULT_FAKE_NOW past the
    wait together with SMVAULT_INSECURE_TEST_KDF=1 (which changes nothing for existing slots).
    Neither moves the clock: the wait is not skipped and the reveal is refused."""
    bob_pass, ops_pass = tmp_path / "bobpass", tmp_path / "opspass"
    ops_pass.write_text("ops keeps her own passphrase\n")
    bob_pass.write_text("bob keeps his own passphrase\n")
    assert run_cli("init", "--operator", "alice", "--email", "alice@example.com", operator=None).code == 0
    assert run_cli("account", "add", "x", "acme").code == 0
    assert run_cli("secret", "set-password", "x:acme", stdin="acme-password-1\n").code == 0
    assert run_cli("operator", "add", "ops", "--email", "ops@example.com",
                   "--new-passphrase-file", str(ops_pass)).code == 0
    assert run_cli("--passphrase-file", str(ops_pass), "operator", "add", "bob", "--email", "bob@example.com",
                   "--new-passphrase-file", str(bob_pass), operator="ops").code == 0
    assert run_cli("--passphrase-file", str(bob_pass), "breakglass", "policy", "--tier", "2", "--wait", "30",
                   operator="bob").code == 0
    assert run_cli("breakglass", "request", "x:acme", "--reason", "r", "--incident", "INC-1").code == 0
    later = timestamp(datetime.now(timezone.utc) + timedelta(minutes=31))
    bypass = {"SMVAULT_FAKE_NOW": later, "SMVAULT_INSECURE_TEST_KDF": "1"}
    refused = run_cli("secret", "reveal", "x:acme", env=bypass)
    assert refused.code == 5 and "acme-password-1" not in refused.out
    assert '"state": "waiting"' in run_cli("breakglass", "status", "1", "--json", env=bypass).out


def _log_sees(team, minutes):
    """The log gets an entry dated `minutes` ahead (a clock that was ahead, then set back;
    an unlock would also sweep, so it is a reveal)."""
    team.clock.advance(minutes=minutes)
    secrets.reveal(team.session, OTHER)
    team.clock.advance(minutes=-minutes)


def test_no_request_or_approval_while_the_clock_is_behind_the_log(team):
    s = team.session
    view = ask(s)
    _log_sees(team, 10)
    with team.as_op("bob", BOB_PASS) as bob:
        nothing_written(bob, em.approve_access, view.id, match="clock .* is behind the vault's log")
    nothing_written(s, em.approve_access_as, view.id, "bob", BOB_PASS, match="behind the vault's log")
    em.end_access(s, view.id)
    nothing_written(s, ask, match="behind the vault's log")
    team.clock.advance(minutes=10, seconds=1)  # the clock caught up with the log
    assert approved(team, ask(s)).state == "active"


def test_a_wait_does_not_end_while_the_clock_is_behind_the_log(team):
    s = team.session
    _set_wait(team, 30)
    view = ask(s)
    _log_sees(team, 40)
    team.clock.advance(minutes=33)  # past the wait, but seven minutes behind the log (slack: five)
    assert em.sweep(s) == []
    assert em.emergency_status(s, view.id)[0].state == "waiting"
    team.clock.advance(minutes=2, seconds=1)  # within the slack now
    [active] = em.sweep(s)
    assert active.state == "active" and active.starts_at == view.wait_until


def test_a_clock_set_back_during_active_access_ends_it(team):
    s, clock = team.session, team.clock
    view = ask(s)
    approved(team, view)
    clock.advance(minutes=20)
    secrets.reveal(s, ACCOUNT)
    clock.advance(minutes=-10)  # set back: the window would stretch by ten minutes
    [ended] = em.sweep(s)
    assert ended.state == "ended" and "behind the vault's log" in ended.end_note
    assert ended.post_incident_id is not None
    assert last(s)["action"] == "post-incident.open"
    entry = s.vault.log.entries(actions=("breakglass.end",))[0]
    assert entry["bg"]["id"] == view.bg_id and entry["detail"]["revoked_grant"] == ended.grant_id
    with pytest.raises(PolicyError):
        secrets.reveal(s, ACCOUNT)


def test_a_window_the_log_has_seen_end_lapses_whatever_the_local_clock_says(team):
    s, clock = team.session, team.clock
    view = ask(s)
    active = approved(team, view)
    clock.advance(minutes=59, seconds=50)
    _log_sees(team, 1)  # another machine, 50 s past the end (within the slack)
    [lapsed] = em.sweep(s)
    assert lapsed.state == "lapsed" and s.vault.grants.get(active.grant_id).revoked_at is not None


def test_log_verify_warns_of_timestamps_going_backwards_but_finds_no_damage(team, run_cli):
    s, clock = team.session, team.clock
    clock.advance(minutes=15)
    secrets.reveal(s, "instagram:brand")
    clock.advance(minutes=-10)
    secrets.reveal(s, "instagram:brand")
    back = head(s)
    report = logs.verify(s, pages=False, record_unlock=False)
    assert report.ok and report.clock_step_count == 1
    assert [(step.seq, step.ts) for step in report.clock_steps] == [(back, timestamp(clock()))]
    assert f"entry {back} is dated {timestamp(clock())}, before entry {back - 1}" in str(report.clock_steps[0])
    s.close()
    result = run_cli("log", "verify")
    assert result.code == 0 and "OK:" in result.out
    assert "warning: 1 log entry is dated before the entry just before it" in result.err
    assert f"entry {back} is dated" in result.err


# -- 3. the marker follows the grant, not the window's start -----------------------------------------


def test_a_clock_set_back_a_little_after_approval_still_marks_the_reveal(team):
    s, clock = team.session, team.clock
    view = ask(s)
    approved(team, view)
    clock.advance(seconds=-30)  # before starts_at, within the slack: the grant still holds
    secrets.reveal(s, ACCOUNT)
    assert last(s)["bg"] == {"id": view.bg_id, "incident": "INC-7"}
    assert [v.id for v in em.active_access(s)] == [view.id]


# -- 4. the requester, checked again when access would start -----------------------------------------


def test_a_requester_marked_leaving_cannot_be_approved(team):
    s = team.session
    view = ask(s)
    people.mark_leaving(s, "alice@example.com", (team.clock() + timedelta(days=3)).date())
    with team.as_op("bob", BOB_PASS) as bob:
        nothing_written(bob, em.approve_access, view.id, match="requester has left or is leaving")
    nothing_written(s, em.approve_access_as, view.id, "bob", BOB_PASS, match="left or is leaving")
    assert em.emergency_status(s, view.id)[0].state == "requested"


def test_a_wait_ends_with_a_note_when_the_requester_is_leaving(team):
    s = team.session
    _set_wait(team, 30)
    view = ask(s)
    people.mark_leaving(s, "alice@example.com", (team.clock() + timedelta(days=3)).date())
    team.clock.advance(minutes=31)
    [ended] = em.sweep(s)
    assert (ended.state, ended.grant_id, ended.post_incident_id) == ("ended", None, None)
    assert "left or is leaving" in ended.end_note and last(s)["detail"]["note"] == ended.end_note


def test_a_removed_requester_cannot_be_approved(team, vault_dir, clock):
    team.session.close()
    with unlock(vault_dir, "bob", BOB_PASS, clock=clock) as bob:
        view = ask(bob)
    with unlock(vault_dir, "ops", OPS_PASS, clock=clock) as ops:
        operators.remove_operator(ops, "bob")
    with unlock(vault_dir, "carol", CAROL_PASS, clock=clock) as carol:
        nothing_written(carol, em.approve_access, view.id, match="requested this emergency access has been removed")
    team.session = unlock(vault_dir, "alice", PASSPHRASE, clock=clock)  # the fixture closes it


def test_starting_an_offboarding_ends_the_leavers_emergency_access(team):
    s = team.session
    view = ask(s)
    approved(team, view)
    secrets.reveal(s, ACCOUNT)
    with team.as_op("bob", BOB_PASS) as bob:
        started = offboarding.start_offboarding(bob, "alice@example.com", (team.clock() + timedelta(days=5)).date())
        start = bob.vault.log.entries(actions=("offboard.start",))[0]
        end = bob.vault.log.entries(actions=("breakglass.end",))[0]
    ended = em.emergency_status(s, view.id)[0]
    assert ended.state == "ended" and "offboarding started" in ended.end_note
    assert ended.post_incident_id is not None and s.vault.grants.get(ended.grant_id).revoked_at is not None
    assert start["detail"]["emergency_ended"] == [view.id] and start["detail"]["workflow"] == started.workflow_id
    assert end["op"] == "bob" and end["bg"]["id"] == view.bg_id and end["detail"]["note"] == ended.end_note
    with pytest.raises(PolicyError):
        secrets.reveal(s, ACCOUNT)


def test_closing_an_offboarding_ends_a_request_still_open(team):
    """A request made while the leave date was (briefly) cleared: the close ends it."""
    s = team.session
    with team.as_op("bob", BOB_PASS) as bob:
        offboarding.start_offboarding(bob, "alice@example.com", (team.clock() + timedelta(days=5)).date())
    alice = s.vault.people.by_email("alice@example.com")
    with s.atomic():  # no service clears a leave date: set the state up in the table
        s.vault.people.update(alice.id, {"leave_on": None})
    view = ask(s)
    with s.atomic():
        s.vault.people.update(alice.id, {"leave_on": (team.clock() + timedelta(days=5)).date()})
    with team.as_op("bob", BOB_PASS) as bob:
        closed = offboarding.close_offboarding(bob, "alice@example.com", successor="carol@example.com",
                                               override="test")
        entry = bob.vault.log.entries(actions=("offboard.close",))[0]
    assert closed.state == "closed" and entry["detail"]["emergency_ended"] == [view.id]
    ended = em.emergency_status(s, view.id)[0]
    assert ended.state == "ended"
    assert ended.end_note == f"the requester's offboarding closed (offboarding {closed.workflow_id})"


# -- 5. the wait's standing approval, checked again at its end ----------------------------------------


def test_a_wait_whose_policy_was_turned_off_or_changed_needs_approval(team):
    s, clock = team.session, team.clock
    _set_wait(team, 30)
    first = ask(s)
    _set_wait(team, None)
    clock.advance(minutes=31)
    before = head(s)
    [fallen] = em.sweep(s)
    assert (fallen.state, fallen.grant_id) == ("requested", None)
    assert "tier 2 was turned off during the wait" in fallen.wait_note
    entry = last(s)
    assert head(s) == before + 1 and entry["action"] == "breakglass.needs-approval"
    assert entry["bg"]["id"] == first.bg_id and entry["detail"]["note"] == fallen.wait_note
    assert em.sweep(s) == []
    assert approved(team, fallen).state == "active"  # a second operator still may
    em.end_access(s, first.id)

    _set_wait(team, 30)
    second = ask(s, incident="INC-8")
    _set_wait(team, 5)
    clock.advance(minutes=31)
    [fallen] = em.sweep(s)
    assert fallen.id == second.id and fallen.state == "requested" and "changed during the wait" in fallen.wait_note


def test_a_wait_whose_setter_is_leaving_or_removed_needs_approval(team, vault_dir, clock):
    s = team.session
    _set_wait(team, 30)
    leaving = ask(s)
    people.mark_leaving(s, "bob@example.com", clock().date())
    clock.advance(minutes=31)
    [fallen] = em.sweep(s)
    assert fallen.id == leaving.id and fallen.state == "requested"
    assert "operator 'bob' cannot approve: their person has left or is leaving" in fallen.wait_note
    em.end_access(s, leaving.id)

    with team.as_op("carol", CAROL_PASS) as carol:
        em.set_wait_policy(carol, 2, 30)
    removed = ask(s, incident="INC-8")
    s.close()
    with unlock(vault_dir, "ops", OPS_PASS, clock=clock) as ops:
        operators.remove_operator(ops, "carol")
    clock.advance(minutes=31)
    team.session = s = unlock(vault_dir, "alice", PASSPHRASE, clock=clock)  # the unlock sweeps
    view = em.emergency_status(s, removed.id)[0]
    assert view.state == "requested" and "the operator who set it was removed" in view.wait_note
    with pytest.raises(PolicyError):
        secrets.reveal(s, ACCOUNT)


# -- 6, 7, 8. ids, a second request, grant ids in the entries ----------------------------------------


def test_a_huge_id_is_not_found(team):
    with pytest.raises(NotFoundError, match="no emergency access request 99999999999999999999"):
        em.emergency_status(team.session, "99999999999999999999")


def test_a_second_request_names_the_open_one_and_a_lapsed_one_does_not_block(team):
    s, clock = team.session, team.clock
    view = ask(s)
    approved(team, view)
    clock.advance(minutes=18)
    nothing_written(s, ask, error=ConflictError,
                    match=f"you already have emergency request {view.id} on x:acme \\(active, 42 min left\\)")
    clock.advance(minutes=43)  # over; nobody swept: the request sweeps first
    again = ask(s, incident="INC-8")
    assert again.state == "requested" and em.emergency_status(s, view.id)[0].state == "lapsed"


def test_entries_name_the_grants_they_revoke(team):
    s, clock = team.session, team.clock
    old = grants.add_grant(s, "alice@example.com", ACCOUNT, "reveal", expires_at=clock() + timedelta(minutes=5))
    clock.advance(minutes=6)  # expired, never revoked
    view = ask(s)
    active = approved(team, view)
    with team.as_op("bob", BOB_PASS) as bob:
        assert bob.vault.log.entries(actions=("breakglass.approve",))[0]["detail"]["revoked_expired_grant"] == old.id
    em.end_access(s, view.id)
    detail = s.vault.log.entries(actions=("breakglass.end",))[0]["detail"]
    assert (detail["grant"], detail["revoked_grant"]) == (active.grant_id, active.grant_id)


# -- 9. a grant revoked by hand ---------------------------------------------------------------------


def test_a_grant_revoked_by_hand_ends_the_access(team):
    s = team.session
    view = ask(s)
    active = approved(team, view)
    secrets.reveal(s, ACCOUNT)
    grants.revoke_grants(s, "alice@example.com", ACCOUNT, "reveal")
    assert em.active_access(s) == []  # the banner goes at once
    [ended] = em.sweep(s)
    assert ended.state == "ended" and ended.end_note.startswith(f"its grant {active.grant_id} was revoked by alice")
    assert ended.post_incident_id is not None
    entry = s.vault.log.entries(actions=("breakglass.end",))[0]
    assert entry["detail"]["grant"] == active.grant_id and "revoked_grant" not in entry["detail"]
    assert em.sweep(s) == []


def test_a_recovery_session_has_no_emergency_access_of_its_own(team, vault_dir, clock):
    s = team.session
    made = kit.create_kit(s, ["bob@example.com", "carol@example.com"], 2)
    view = ask(s)
    approved(team, view)
    with unlock_recovery(vault_dir, [sheet.mnemonic for sheet in made.sheets], reason="locked out",
                         incident="INC-9", clock=clock) as recovery:
        assert em.active_access(recovery) == [] and em.sweep(recovery) == []
    assert [v.id for v in em.active_access(s)] == [view.id]


# -- 10. a leaver who holds a share of the emergency kit ------------------------------------------


def test_a_kit_custodian_leaving_gets_an_advisory_step_that_resolves_with_a_new_kit(team):
    s = team.session
    made = kit.create_kit(s, ["bob@example.com", "carol@example.com"], 2)
    leave = (team.clock() + timedelta(days=5)).date()
    plan = offboarding.plan_offboarding(s, "bob@example.com", leave)
    [step] = [st for st in plan.steps if st.kind == "issue-new-kit"]
    assert step.title == (f"Bob Second holds share 1 of emergency kit {made.kit_id}: "
                          "issue a new kit (smvault kit create)")
    assert (step.done, step.advisory, step.auto) == (False, True, True)
    assert not [st for st in offboarding.plan_offboarding(s, "ops@example.com", leave).steps
                if st.kind == "issue-new-kit"]

    offboarding.start_offboarding(s, "bob@example.com", leave)
    replaced = kit.create_kit(s, ["ops@example.com", "carol@example.com"], 2)
    [step] = [st for st in offboarding.offboarding_status(s, "bob@example.com").steps if st.kind == "issue-new-kit"]
    assert step.done and step.evidence.startswith(f"emergency kit {replaced.kit_id} (created ")


def test_an_open_kit_step_does_not_hold_the_close(team):
    s = team.session
    kit.create_kit(s, ["bob@example.com", "carol@example.com"], 2)
    offboarding.start_offboarding(s, "carol@example.com", (team.clock() + timedelta(days=5)).date())
    closed = offboarding.close_offboarding(s, "carol@example.com")
    assert closed.state == "closed"
    [step] = [st for st in closed.steps if st.kind == "issue-new-kit"]
    assert not step.done
    entry = s.vault.log.entries(actions=("offboard.close",))[0]
    assert entry["detail"]["steps"]["advisory_open"] == [step.position]
    assert entry["detail"]["steps"]["open"] == []


# -- 11. the end of the window, to the second ----------------------------------------------------------


def test_access_holds_one_second_before_expires_at_and_not_at_it(team):
    s, clock = team.session, team.clock
    view = ask(s, minutes=30)
    active = approved(team, view)
    clock.now = active.expires_at - timedelta(seconds=1)
    assert secrets.reveal(s, ACCOUNT).value == "acme-password-1"
    assert last(s)["bg"]["id"] == view.bg_id
    assert em.sweep(s) == []
    clock.now = active.expires_at
    with pytest.raises(PolicyError, match="holds no grant on x:acme that allows password"):
        secrets.reveal(s, ACCOUNT)
    assert em.active_access(s) == []
    [lapsed] = em.sweep(s)
    assert lapsed.state == "lapsed" and lapsed.closed_at == active.expires_at
