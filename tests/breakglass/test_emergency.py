"""Emergency access through the services, on real vaults: request, dual control, waiting period,
veto, lapse at its end time (injected clock), the post-incident rotation, the log's markers."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest

from smvault.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PolicyError,
    WrongPassphraseError,
)
from smvault.domain.models import Level
from smvault.services import accounts, grants, operators, secrets
from smvault.services import emergency as em
from smvault.services.session import unlock
from tests.conftest import PASSPHRASE

OPS_PASS = b"ops keeps her own passphrase"
BOB_PASS = b"bob keeps his own passphrase"
CAROL_PASS = b"carol keeps her own passphrase"
SEED = "JBSWY3DPEHPK3PXP"
ACCOUNT = "x:acme"
OTHER = "instagram:brand"


class Team:
    """alice (the `session`) requests. ops, added by alice, added bob and carol: neither is an
    operator alice could hold the passphrase of, so either may approve alice's requests.

    x:acme (tier 2) has a password and a TOTP seed; alice holds only 'code-only' on it.
    instagram:brand has a password alice may reveal through an ordinary 'reveal' grant."""

    def __init__(self, session, clock, vault_dir):
        self.session, self.clock, self.vault_dir = session, clock, vault_dir

    @contextmanager
    def as_op(self, name: str, passphrase: bytes):
        other = unlock(self.vault_dir, name, passphrase, clock=self.clock)
        try:
            yield other
        finally:
            other.close()


@pytest.fixture
def team(session, clock, vault_dir) -> Team:
    operators.add_operator(session, "ops", OPS_PASS, email="ops@example.com", person_name="Ops Lead")
    with unlock(vault_dir, "ops", OPS_PASS, clock=clock) as ops:
        operators.add_operator(ops, "bob", BOB_PASS, email="bob@example.com", person_name="Bob Second")
        operators.add_operator(ops, "carol", CAROL_PASS, email="carol@example.com", person_name="Carol Third")
    accounts.add_account(session, "x", "acme", mfa="totp")
    accounts.add_account(session, "instagram", "brand")
    secrets.set_password(session, ACCOUNT, "acme-password-1")
    secrets.set_totp(session, ACCOUNT, SEED)
    secrets.set_password(session, OTHER, "brand-password-1")
    grants.add_grant(session, "alice@example.com", ACCOUNT, "code-only")
    grants.add_grant(session, "alice@example.com", OTHER, "reveal")
    clock.advance(minutes=1)
    return Team(session, clock, vault_dir)


def head(session) -> int:
    return session.vault.log.head().seq


def last(session) -> dict:
    return session.vault.log.entries(limit=1)[0]


def nothing_written(session, call, *args, error=PolicyError, match=None, **kwargs):
    before = head(session)
    with pytest.raises(error, match=match):
        call(session, *args, **kwargs)
    assert head(session) == before


def ask(session, ref=ACCOUNT, **changes):
    args = {"reason": "the brand account is posting spam", "incident": "INC-7", **changes}
    return em.request_access(session, ref, **args)


# -- requesting --------------------------------------------------------------------------------


def test_a_request_needs_approval_and_is_logged_with_its_incident(team):
    s = team.session
    before = head(s)
    view = ask(s)
    assert head(s) == before + 1
    assert (view.state, view.requester, view.incident, view.minutes) == ("requested", "alice", "INC-7", 60)
    assert (view.account.key, view.wait_until, view.starts_at, view.grant_id) == (ACCOUNT, None, None, None)
    assert view.bg_id == f"emergency-{view.id}" and view.time_left(team.clock()) is None
    entry = last(s)
    assert entry["action"] == "breakglass.request" and entry["op"] == "alice"
    assert entry["bg"] == {"id": view.bg_id, "incident": "INC-7"}
    assert entry["acct"] == ACCOUNT and entry["detail"]["reason"] == "the brand account is posting spam"
    with pytest.raises(PolicyError):  # nothing granted yet
        secrets.reveal(s, ACCOUNT)


def test_requests_are_checked_and_refusals_write_nothing(team):
    s = team.session
    nothing_written(s, ask, reason="  ", error=InvalidInputError, match="reason must not be empty")
    nothing_written(s, ask, reason="a\x1b]52;c;x\x07", error=InvalidInputError, match="control characters")
    nothing_written(s, ask, incident="INC 7", error=InvalidInputError, match="no spaces")
    nothing_written(s, ask, incident="I" * 65, error=InvalidInputError, match="longer than 64")
    for minutes in (0, 481):
        nothing_written(s, ask, minutes=minutes, error=InvalidInputError, match="1 to 480")
    nothing_written(s, ask, "x:nobody", error=NotFoundError)
    nothing_written(s, ask, OTHER, match="already hold a grant on instagram:brand")
    accounts.add_account(s, "tiktok", "old", status="retired")
    nothing_written(s, ask, "tiktok:old", match="retired")
    first = ask(s, minutes=480)
    nothing_written(s, ask, error=ConflictError,
                    match=f"already have emergency request {first.id} on x:acme \\(requested, awaiting")
    assert [v.id for v in em.emergency_status(s)] == [first.id]


def test_open_request_id_names_the_operators_own_open_request_on_that_account(team):
    s = team.session
    assert em.open_request_id(s, ACCOUNT) is None
    view = ask(s)
    assert em.open_request_id(s, ACCOUNT) == view.id
    assert em.open_request_id(s, view.account.id) == view.id  # an id as well as PLATFORM:HANDLE
    assert em.open_request_id(s, OTHER) is None
    with team.as_op("bob", BOB_PASS) as bob:
        assert em.open_request_id(bob, ACCOUNT) is None  # alice's, not bob's
    with pytest.raises(NotFoundError):
        em.open_request_id(s, "x:nobody")
    em.end_access(s, view.id)
    assert em.open_request_id(s, ACCOUNT) is None


# -- dual control --------------------------------------------------------------------------------


def test_the_requester_cannot_approve_their_own_request(team):
    s = team.session
    view = ask(s)
    nothing_written(s, em.approve_access, view.id, match="requested emergency access cannot approve it")
    nothing_written(s, em.approve_access_as, view.id, "alice", PASSPHRASE, match="cannot approve")
    operators.add_operator(s, "alice2", b"alice's second pass", email="alice@example.com")  # same person
    nothing_written(s, em.approve_access_as, view.id, "alice2", b"alice's second pass", match="cannot approve")
    assert em.emergency_status(s, view.id)[0].state == "requested"


def test_a_second_operator_approves_and_a_real_reveal_grant_starts_now(team):
    s, clock = team.session, team.clock
    view = ask(s, minutes=30)
    with team.as_op("bob", BOB_PASS) as bob:
        before = head(bob)
        approved = em.approve_access(bob, str(view.id))
        assert head(bob) == before + 1
        entry = last(bob)
    assert (approved.state, approved.approved_by, approved.approval) == ("active", "bob", "cli")
    assert (approved.starts_at, approved.expires_at) == (clock(), clock() + timedelta(minutes=30))
    assert approved.time_left(clock()) == timedelta(minutes=30)
    assert entry["action"] == "breakglass.approve" and entry["op"] == "bob"
    assert entry["bg"] == {"id": view.bg_id, "incident": "INC-7"}
    assert entry["detail"]["approver"] == "bob" and entry["detail"]["grant"] == approved.grant_id
    grant = s.vault.grants.get(approved.grant_id)
    assert (grant.level, grant.reason, grant.expires_at) == (Level.REVEAL, "break-glass INC-7", approved.expires_at)
    assert grant.person_id == s.person.id
    assert secrets.reveal(s, ACCOUNT).value == "acme-password-1"
    assert [v.id for v in em.active_access(s)] == [view.id]
    with team.as_op("carol", CAROL_PASS) as carol:
        nothing_written(carol, em.approve_access, view.id, error=ConflictError, match="already active")
        assert em.active_access(carol) == []  # the banner is the requester's


def test_an_operator_the_requester_added_cannot_approve(team):
    """The transfer's approver rules, shared: a puppet alice added (with the passphrase she
    chose) and an operator added after the request are both refused."""
    s = team.session
    operators.add_operator(s, "sock", b"sock's passphrase", email="sock@example.com")
    view = ask(s)
    nothing_written(s, em.approve_access_as, view.id, "sock", b"sock's passphrase",
                    match="'sock' was added by the operator who requested this emergency access")
    with team.as_op("sock", b"sock's passphrase") as sock:
        nothing_written(sock, em.approve_access, view.id, match="'sock' was added by the operator who requested")
    with team.as_op("ops", OPS_PASS) as ops:
        operators.add_operator(ops, "late", b"late's passphrase", email="late@example.com")
    nothing_written(s, em.approve_access_as, view.id, "late", b"late's passphrase",
                    match="'late' was added after this emergency access was requested")
    assert em.emergency_status(s, view.id)[0].state == "requested"


def test_same_terminal_approval_checks_the_approvers_passphrase(team):
    s = team.session
    view = ask(s)
    nothing_written(s, em.approve_access_as, view.id, "bob", b"not bob's passphrase",
                    error=WrongPassphraseError, match="wrong passphrase for operator 'bob'")
    noted = (team.vault_dir / "unlock-failures.jsonl").read_text()
    assert '"reason": "approval"' in noted and "not bob's" not in noted
    assert em.emergency_status(s, view.id)[0].state == "requested"
    assert s.vault.grants.open_for(s.person.id, view.account.id)[0].level is Level.CODE_ONLY
    approved = em.approve_access_as(s, view.id, "bob", BOB_PASS)
    entry = last(s)
    assert (approved.state, approved.approved_by, approved.approval) == ("active", "bob", "same-terminal")
    assert entry["op"] == "alice" and entry["detail"]["approver"] == "bob" and entry["detail"]["how"] == "same-terminal"


# -- waiting period and veto -----------------------------------------------------------------------


def _set_wait(team, minutes, tier=2):
    """As bob: a waiting period counts for alice only when its setter could approve her."""
    with team.as_op("bob", BOB_PASS) as bob:
        return em.set_wait_policy(bob, tier, minutes)


def test_the_wait_policy_is_kept_per_tier_and_logged(team):
    s = team.session
    assert em.wait_policy(s) == {}
    assert _set_wait(team, 30) == {2: 30}
    assert _set_wait(team, 90, tier=0) == {0: 90, 2: 30}
    entry = last(s)
    assert entry["action"] == "breakglass.policy" and entry["detail"] == {"tier": 0, "wait_minutes": 90, "before": None}
    assert _set_wait(team, None, tier=0) == {2: 30}
    assert last(s)["detail"] == {"tier": 0, "wait_minutes": None, "before": 90}
    nothing_written(s, em.set_wait_policy, 4, 30, error=InvalidInputError, match="tier must be 0-3")
    nothing_written(s, em.set_wait_policy, 2, 0, error=InvalidInputError, match="waiting period")
    assert em.wait_policy(s) == {2: 30}


def test_a_veto_inside_the_waiting_period_stops_it(team):
    s, clock = team.session, team.clock
    _set_wait(team, 30)
    view = ask(s)
    assert (view.state, view.wait_until) == ("waiting", clock() + timedelta(minutes=30))
    assert view.wait_left(clock()) == timedelta(minutes=30)
    clock.advance(minutes=29)
    nothing_written(s, em.veto_access, view.id, "no", match="cannot veto it")  # the requester ends, not vetoes
    with team.as_op("carol", CAROL_PASS) as carol:
        nothing_written(carol, em.veto_access, view.id, " ", error=InvalidInputError)
        vetoed = em.veto_access(carol, view.id, "not an incident we know of")
        entry = last(carol)
    assert (vetoed.state, vetoed.vetoed_by, vetoed.veto_reason) == ("vetoed", "carol", "not an incident we know of")
    assert vetoed.closed_at == clock() and vetoed.grant_id is None and vetoed.post_incident_id is None
    assert entry["action"] == "breakglass.veto" and entry["bg"]["incident"] == "INC-7"
    clock.advance(minutes=5)  # the wait is over: a vetoed request stays stopped
    assert em.sweep(s) == []
    with pytest.raises(PolicyError):
        secrets.reveal(s, ACCOUNT)
    assert em.emergency_status(s) == []
    with team.as_op("bob", BOB_PASS) as bob:
        nothing_written(bob, em.approve_access, view.id, error=ConflictError, match="already vetoed")


def test_when_the_wait_passes_unvetoed_the_access_activates_from_the_end_of_the_wait(team):
    s, clock = team.session, team.clock
    _set_wait(team, 30)
    view = ask(s, minutes=45)
    clock.advance(minutes=29, seconds=59)
    assert em.sweep(s) == []
    with pytest.raises(PolicyError):
        secrets.reveal(s, ACCOUNT)
    clock.advance(minutes=3)  # nobody swept exactly at the end of the wait
    before = head(s)
    [active] = em.sweep(s)
    assert head(s) == before + 1
    entry = last(s)
    assert (active.state, active.approved_by, active.approval) == ("active", None, "wait")
    assert active.starts_at == view.wait_until and active.expires_at == view.wait_until + timedelta(minutes=45)
    assert entry["action"] == "breakglass.activate" and entry["bg"] == {"id": view.bg_id, "incident": "INC-7"}
    assert s.vault.grants.get(active.grant_id).granted_by is None
    assert secrets.reveal(s, ACCOUNT).value == "acme-password-1"
    assert em.sweep(s) == []  # nothing more is due


def test_a_second_operator_may_approve_during_the_wait(team):
    s, clock = team.session, team.clock
    _set_wait(team, 30)
    view = ask(s)
    clock.advance(minutes=5)
    with team.as_op("bob", BOB_PASS) as bob:
        approved = em.approve_access(bob, view.id)
    assert (approved.state, approved.starts_at, approved.approval) == ("active", clock(), "cli")


def test_a_wait_set_by_the_requester_or_her_puppet_does_not_count(team):
    """A waiting period is a standing approval by whoever set it: alice cannot set one (or
    have ops, whom she added with a passphrase she chose, set one) and then walk in on her
    own request after it."""
    s = team.session
    em.set_wait_policy(s, 2, 5)
    view = ask(s)
    assert view.state == "requested" and view.wait_until is None
    assert "does not count" in view.wait_note and "requested emergency access cannot approve" in view.wait_note
    em.end_access(s, view.id)
    with team.as_op("ops", OPS_PASS) as ops:
        em.set_wait_policy(ops, 2, 5)
    puppet = ask(s)
    assert puppet.state == "requested" and "'ops' was added by the operator who requested" in puppet.wait_note
    with team.as_op("bob", BOB_PASS) as bob:
        assert ask(bob, incident="INC-8").state == "waiting"  # ops did not add bob: it counts for him


def test_a_veto_after_activation_revokes_the_access_at_once(team):
    """Decision: any operator but the requester may veto active access too; it stops at once
    (the grant is revoked) and the post-incident rotation opens, as at a lapse."""
    s, clock = team.session, team.clock
    view = ask(s)
    with team.as_op("bob", BOB_PASS) as bob:
        em.approve_access(bob, view.id)
    secrets.reveal(s, ACCOUNT)
    clock.advance(minutes=10)
    with team.as_op("carol", CAROL_PASS) as carol:
        vetoed = em.veto_access(carol, view.id, "the incident is closed")
    assert vetoed.state == "vetoed" and vetoed.post_incident_id is not None
    assert s.vault.grants.get(vetoed.grant_id).revoked_at == clock()
    with pytest.raises(PolicyError):
        secrets.reveal(s, ACCOUNT)
    assert em.active_access(s) == []


def test_the_requester_ends_or_withdraws_their_own_access(team):
    s = team.session
    pending = ask(s)
    with team.as_op("bob", BOB_PASS) as bob:
        nothing_written(bob, em.end_access, pending.id, match="only the operator who requested")
    withdrawn = em.end_access(s, pending.id)
    assert (withdrawn.state, withdrawn.ended_by, withdrawn.post_incident_id) == ("ended", "alice", None)
    assert last(s)["action"] == "breakglass.end" and last(s)["bg"]["id"] == pending.bg_id
    again = ask(s)
    with team.as_op("bob", BOB_PASS) as bob:
        em.approve_access(bob, again.id)
    secrets.reveal(s, ACCOUNT)
    ended = em.end_access(s, again.id)
    assert ended.state == "ended" and ended.post_incident_id is not None
    with pytest.raises(PolicyError):
        secrets.reveal(s, ACCOUNT)
    nothing_written(s, em.end_access, again.id, error=ConflictError, match="already ended")


# -- lapse, post-incident, the log --------------------------------------------------------------------


def test_the_grant_lapses_at_its_end_time_by_itself(team):
    s, clock = team.session, team.clock
    view = ask(s, minutes=60)
    with team.as_op("bob", BOB_PASS) as bob:
        approved = em.approve_access(bob, view.id)
    clock.advance(minutes=59, seconds=59)
    assert secrets.reveal(s, ACCOUNT).value == "acme-password-1"
    assert em.active_access(s)[0].time_left(clock()) == timedelta(seconds=1)
    clock.advance(seconds=2)  # one second after the end: refused before anything sweeps
    with pytest.raises(PolicyError, match="holds no grant on x:acme that allows password"):
        secrets.reveal(s, ACCOUNT)
    assert em.active_access(s) == []
    assert em.emergency_status(s, view.id)[0].state == "active"  # until the sweep records it
    [lapsed] = em.sweep(s)
    assert lapsed.state == "lapsed" and lapsed.closed_at == clock() and lapsed.ended_by is None
    grant = s.vault.grants.get(approved.grant_id)
    assert grant.revoked_at == clock() and grant.revoked_by is None
    entries = s.vault.log.entries(actions=("breakglass.lapse",))
    assert len(entries) == 1 and entries[0]["bg"] == {"id": view.bg_id, "incident": "INC-7"}
    assert em.sweep(s) == []
    # the revoked row lets the requester ask again (one open grant per level)
    assert ask(s, incident="INC-8").state == "requested"


def test_a_wait_that_ended_after_the_whole_window_activates_and_lapses_in_one_sweep(team):
    s, clock = team.session, team.clock
    _set_wait(team, 30)
    view = ask(s, minutes=10)
    clock.advance(hours=2)
    [closed] = em.sweep(s)
    assert closed.id == view.id and closed.state == "lapsed"
    actions = [e["action"] for e in s.vault.log.entries(limit=3, newest_first=False,
                                                         after_seq=head(s) - 3)]
    assert "breakglass.activate" in actions and "breakglass.lapse" in actions


def _marked(session, bg_id):
    return [e for e in session.vault.log.entries(newest_first=False) if (e.get("bg") or {}).get("id") == bg_id]


def test_disclosures_under_the_grant_carry_the_marker_and_others_do_not(team):
    s, clock = team.session, team.clock
    secrets.totp_code(s, ACCOUNT)  # code-only, before: not marked
    view = ask(s, minutes=30)
    with team.as_op("bob", BOB_PASS) as bob:
        em.approve_access(bob, view.id)
    secrets.reveal(s, ACCOUNT)
    secrets.totp_qr(s, ACCOUNT)
    secrets.copy_secret(s, ACCOUNT)
    secrets.totp_code(s, ACCOUNT)
    secrets.reveal(s, OTHER)  # another account: not in scope
    grants.add_grant(s, "bob@example.com", ACCOUNT, "reveal")
    with team.as_op("bob", BOB_PASS) as bob:
        secrets.reveal(bob, ACCOUNT)  # another operator, an ordinary grant: not in scope
    clock.advance(minutes=31)
    secrets.totp_code(s, ACCOUNT)  # after the end, code-only again: not marked
    em.sweep(s)
    marked = _marked(s, view.bg_id)
    disclosed = [(e["action"], e.get("field")) for e in marked if "to" in e]
    assert disclosed == [("secret.reveal", "password"), ("totp.qr", "qr"), ("secret.copy", "password"),
                         ("totp.code", "code")]
    assert [e["action"] for e in marked if "to" not in e] == [
        "breakglass.request", "breakglass.approve", "breakglass.lapse"]
    assert all(e["bg"] == {"id": view.bg_id, "incident": "INC-7"} for e in marked)
    unmarked = [e for e in s.vault.log.entries(actions=("totp.code", "secret.reveal")) if "bg" not in e]
    assert len(unmarked) == 4  # the code before, the other account, bob's reveal, the code after
    assert s.vault.log.verify().ok


def test_every_break_glass_entry_has_the_incident_and_the_chain_verifies(team):
    s, clock = team.session, team.clock
    _set_wait(team, 15)
    first = ask(s, incident="INC-100")
    with team.as_op("carol", CAROL_PASS) as carol:
        em.veto_access(carol, first.id, "wrong account")
    second = ask(s, incident="INC-101")
    clock.advance(minutes=16)
    em.sweep(s)
    secrets.reveal(s, ACCOUNT)
    em.end_access(s, second.id)
    entries = s.vault.log.entries(action_prefix="breakglass.", newest_first=False)
    assert [e["action"] for e in entries] == [
        "breakglass.policy", "breakglass.request", "breakglass.veto", "breakglass.request",
        "breakglass.activate", "breakglass.end"]
    for entry in entries[1:]:
        assert entry["bg"]["incident"] in ("INC-100", "INC-101")
        assert entry["bg"]["id"] in (first.bg_id, second.bg_id)
    result = s.vault.log.verify()
    assert result.ok, result.damage


def test_status_lists_open_requests_and_one_by_id(team):
    s = team.session
    view = ask(s)
    with team.as_op("bob", BOB_PASS) as bob:
        bobs = ask(bob, incident="INC-9")
        assert [v.id for v in em.emergency_status(bob)] == [bobs.id, view.id]
        em.end_access(bob, bobs.id)
    assert [v.id for v in em.emergency_status(s)] == [view.id]
    assert [v.id for v in em.emergency_status(s, include_closed=True)] == [bobs.id, view.id]
    assert em.emergency_status(s, str(bobs.id))[0].state == "ended"
    with pytest.raises(NotFoundError, match="no emergency access request 999"):
        em.emergency_status(s, 999)


def test_the_post_incident_workflow_lists_exactly_what_was_revealed_under_the_grant(team):
    """Password, QR code and a recovery code (handed to alice `--for` her by bob) disclosed
    under the grant are listed; what the same people saw outside it (another account during
    the window, this account's seed after it lapsed, under an ordinary grant; bob's own
    reveal) is not. A live code gets no step (it expires within seconds)."""
    from smvault.services.post_incident import post_incident_status

    s, clock = team.session, team.clock
    secrets.add_recovery_codes(s, ACCOUNT, ["code-1", "code-2", "code-3"])
    grants.add_grant(s, "bob@example.com", ACCOUNT, "reveal")
    secrets.reveal(s, OTHER)  # before: another account, an ordinary grant
    view = ask(s, minutes=30)
    with team.as_op("carol", CAROL_PASS) as carol:
        em.approve_access(carol, view.id)
    clock.advance(minutes=5)
    secrets.reveal(s, ACCOUNT)
    secrets.totp_qr(s, ACCOUNT)
    secrets.totp_code(s, ACCOUNT)
    secrets.reveal(s, OTHER)  # during the window, out of its scope
    with team.as_op("bob", BOB_PASS) as bob:
        secrets.use_recovery_code(bob, ACCOUNT, for_email="alice@example.com")  # into the requester
        secrets.reveal(bob, ACCOUNT, "totp-seed")  # bob for himself: his ordinary grant, not hers
    clock.advance(minutes=26)
    [lapsed] = em.sweep(s)
    grants.add_grant(s, "alice@example.com", ACCOUNT, "reveal", reason="on call")  # after: ordinary
    secrets.reveal(s, ACCOUNT, "totp-seed")
    secrets.reveal(s, ACCOUNT)
    secrets.reveal(s, ACCOUNT, "recovery-codes")

    incident = post_incident_status(s, lapsed.post_incident_id)
    assert incident.incident == "INC-7" and incident.state == "open"
    assert [(x.bg_id, x.origin, x.source_workflow_id) for x in incident.sessions] == [
        (view.bg_id, "emergency", view.id)]
    rotations = sorted((step.kind, step.account_key) for step in incident.steps if step.account_key)
    assert rotations == [("reenrol-totp", ACCOUNT), ("regenerate-recovery-codes", ACCOUNT),
                         ("rotate-password", ACCOUNT)]
    assert [step.kind for step in incident.steps if not step.account_key] == ["review-log"]
    assert not any(step.done for step in incident.steps)
    marked = [(e["action"], e.get("field"), e["op"]) for e in _marked(s, view.bg_id) if "to" in e]
    assert marked == [("secret.reveal", "password", "alice"), ("totp.qr", "qr", "alice"),
                      ("totp.code", "code", "alice"), ("secret.recovery-code.use", "recovery-code", "bob")]
    opened = s.vault.log.entries(actions=("post-incident.open",))
    assert len(opened) == 1 and opened[0]["detail"]["source_workflow"] == view.id
    assert s.vault.workflows.get(lapsed.post_incident_id).opened_by is None  # the lapse opened it
    assert s.vault.log.verify().ok
