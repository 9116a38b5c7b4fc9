"""Emergency access between operators whose clocks differ: honest clocks a little apart end
nothing and refuse nothing; a clock behind the log ends only its own operator's access (used
on that machine), never anyone else's; `log verify` warns only of steps back beyond the slack."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest

from smvault.domain.emergency import CLOCK_SLACK
from smvault.domain.errors import PolicyError
from smvault.services import logs, secrets
from smvault.services import emergency as em
from smvault.services.session import unlock
from tests.breakglass.test_emergency import (  # noqa: F401 (team is a fixture)
    ACCOUNT,
    BOB_PASS,
    CAROL_PASS,
    OTHER,
    ask,
    head,
    nothing_written,
    team,
)
from tests.conftest import PASSPHRASE, FakeClock


@contextmanager
def on_machine(team, name: str, passphrase: bytes, minutes_off: float):
    """`name` unlocks on a machine whose clock is `minutes_off` from the team's (+ fast, - slow)."""
    own = FakeClock(team.clock() + timedelta(minutes=minutes_off))
    with unlock(team.vault_dir, name, passphrase, clock=own) as session:
        yield session


def carols_access(team):
    """carol (correct clock) asks for x:acme; bob (correct clock) approves: it is active."""
    with on_machine(team, "carol", CAROL_PASS, 0) as carol:
        view = ask(carol)
    with on_machine(team, "bob", BOB_PASS, 0) as bob:
        assert em.approve_access(bob, view.id).state == "active"
    return view


def state(team, request_id) -> str:
    return em.emergency_status(team.session, request_id)[0].state


def test_the_slack_is_five_minutes():
    assert CLOCK_SLACK == timedelta(minutes=5)


def test_operators_whose_clocks_differ_by_two_minutes_all_keep_working(team):
    """The reproduction: alice's clock runs two minutes fast and writes entries; bob (right
    clock) merely unlocks. Nothing ends, and everyone may still request, approve and reveal."""
    view = carols_access(team)
    team.session.close()
    with on_machine(team, "alice", PASSPHRASE, +2) as alice:
        secrets.reveal(alice, OTHER)  # the log now has entries two minutes ahead
        mine = ask(alice)  # requested with the fast clock
    with on_machine(team, "bob", BOB_PASS, 0) as bob:  # his unlock sweeps
        assert em.sweep(bob) == []
        assert em.approve_access(bob, mine.id).state == "active"  # two minutes behind: approved
    with on_machine(team, "carol", CAROL_PASS, 0) as carol:
        assert em.sweep(carol) == []
        assert secrets.reveal(carol, ACCOUNT).value == "acme-password-1"
        assert [v.id for v in em.active_access(carol)] == [view.id]
    with on_machine(team, "alice", PASSPHRASE, +2) as alice:
        assert secrets.reveal(alice, ACCOUNT).value == "acme-password-1"
        assert em.emergency_status(alice, view.id)[0].state == "active"
        assert em.emergency_status(alice, mine.id)[0].state == "active"


def test_a_clock_ten_minutes_behind_ends_only_its_own_operators_access(team):
    view = carols_access(team)
    secrets.reveal(team.session, OTHER)  # alice, right clock: the log's time is now
    team.session.close()
    # bob's machine is ten minutes slow: his unlock's sweep leaves carol's access alone ...
    with on_machine(team, "bob", BOB_PASS, -10) as bob:
        assert em.sweep(bob) == []
        assert em.emergency_status(bob, view.id)[0].state == "active"
        # ... but he starts nothing, and hands nothing out under an emergency grant, with it.
        nothing_written(bob, ask, match="clock .* is behind the vault's log")
        with pytest.raises(PolicyError, match="behind the vault's log"):
            em.require_clock(bob)
    with on_machine(team, "carol", CAROL_PASS, 0) as carol:  # right clock: still hers
        assert secrets.reveal(carol, ACCOUNT).value == "acme-password-1"
    # carol's own machine ten minutes slow would stretch her window: her unlock ends it.
    with on_machine(team, "carol", CAROL_PASS, -10) as carol:
        ended = em.emergency_status(carol, view.id)[0]
        assert ended.state == "ended" and "behind the vault's log" in ended.end_note
        assert ended.post_incident_id is not None
        with pytest.raises(PolicyError):
            secrets.reveal(carol, ACCOUNT)
        before = head(carol)
        with pytest.raises(PolicyError, match="behind the vault's log"):
            ask(carol)  # and she cannot ask again until her clock is right
        assert head(carol) == before
    with on_machine(team, "carol", CAROL_PASS, 0) as carol:  # set right: she may
        assert ask(carol).state == "requested"


def test_log_verify_warns_only_of_steps_back_beyond_the_slack(team):
    s, clock = team.session, team.clock
    clock.advance(seconds=2)
    secrets.reveal(s, OTHER)
    clock.advance(seconds=-2)  # two honest clocks two seconds apart
    secrets.reveal(s, OTHER)
    assert logs.verify(s, pages=False, record_unlock=False).clock_step_count == 0
    clock.advance(minutes=10)
    secrets.reveal(s, OTHER)
    clock.advance(minutes=-10)  # ten minutes back: some clock was set back (or ahead)
    secrets.reveal(s, OTHER)
    back = head(s)
    report = logs.verify(s, pages=False, record_unlock=False)
    assert report.clock_step_count == 1 and report.clock_steps[0].seq == back


def test_a_value_handed_to_someone_elses_emergency_access_is_refused_from_a_slow_clock(team):
    """bob holds an ordinary reveal grant and hands carol the password (`--for`) while carol's
    emergency access is active: from a machine ten minutes behind the log that disclosure
    falls under her window, timed with a clock that is wrong, so it is refused and written
    nowhere; from a right clock it goes through, marked with her request."""
    from smvault.services import grants

    view = carols_access(team)
    grants.add_grant(team.session, "bob@example.com", ACCOUNT, "reveal")
    secrets.reveal(team.session, OTHER)  # alice, right clock: the log's time is now
    team.session.close()
    with on_machine(team, "bob", BOB_PASS, -10) as bob:
        before = head(bob)
        with pytest.raises(PolicyError, match="behind the vault's log"):
            secrets.reveal(bob, ACCOUNT, for_email="carol@example.com")
        assert head(bob) == before
    with on_machine(team, "bob", BOB_PASS, 0) as bob:
        assert secrets.reveal(bob, ACCOUNT, for_email="carol@example.com").value == "acme-password-1"
        assert bob.vault.log.entries(limit=1)[0]["bg"]["id"] == f"emergency-{view.id}"
