"""Post-incident workflows, the rules added after review: the kit step follows the kit in
force (not any `kit.create` entry), an operator added by a recovery session gets a step of
their own, and the person whose emergency access a workflow covers does not sign it off."""

from __future__ import annotations

import pytest

from smvault.domain import post_incident as rules
from smvault.domain.errors import ConflictError, NotFoundError, PolicyError
from smvault.services import accounts, grants, kit, operators, people, secrets
from smvault.services import emergency as em
from smvault.services.post_incident import (
    close_post_incident,
    post_incident_status,
    post_incidents,
    resolve_post_incident_step,
)
from smvault.services.session import unlock, unlock_recovery

CUSTODIANS = ["bo@example.com", "cy@example.com", "di@example.com"]
INCIDENT = "INC-950"
RESCUE_PASS = b"chosen while the glass was broken"
BOB_PASS = b"bob keeps his own passphrase"


@pytest.fixture
def kitted(session, clock, vault_dir):
    for email in CUSTODIANS:
        people.add_person(session, email.split("@")[0].title(), email)
    made = kit.create_kit(session, CUSTODIANS, 2)
    clock.advance(minutes=1)
    return [sheet.mnemonic for sheet in made.sheets], made


def recover(vault_dir, clock, shares, incident=INCIDENT):
    return unlock_recovery(vault_dir, shares[:2], reason="operators locked out", incident=incident, clock=clock)


def the_workflow(session):
    [row] = post_incidents(session)
    return post_incident_status(session, row.workflow_id)


def step(view, kind):
    return next(s for s in view.steps if s.kind == kind)


# --- the kit step -----------------------------------------------------------------------------------


def test_a_kit_create_entry_for_another_kit_does_not_resolve_the_kit_step(session, vault_dir, clock, kitted):
    shares, made = kitted
    with recover(vault_dir, clock, shares):
        pass
    with session.atomic():  # an entry naming a kit that never came into force
        session.record("kit.create", detail={"kit_id": "3f1c7a2e-0000-4000-8000-000000000000", "threshold": 2})
    view = the_workflow(session)
    assert not step(view, "new-kit").done
    kit.create_kit(session, CUSTODIANS, 2)
    current = kit.kit_info(vault_dir).kit_id
    view = the_workflow(session)
    assert step(view, "new-kit").done and current in step(view, "new-kit").evidence


def test_the_kit_step_resolves_on_the_kit_in_force_even_without_its_entry():
    used = "aaaaaaaa-0000-4000-8000-000000000000"
    new = "bbbbbbbb-0000-4000-8000-000000000000"
    entry = {"action": "kit.create", "op": "alice", "ts": "2026-11-02T10:00:00Z", "seq": 40,
             "detail": {"kit_id": new}}
    other = {**entry, "detail": {"kit_id": "cccccccc-0000-4000-8000-000000000000"}}
    assert rules.kit_resolution(rules.KitFacts(used, frozenset({used}), None, other)) is None
    found = rules.kit_resolution(rules.KitFacts(new, frozenset({used}), None, None))
    assert found is not None and new in found.evidence
    logged = rules.kit_resolution(rules.KitFacts(new, frozenset({used}), entry, None))
    assert logged.seq == 40 and logged.by == "alice"
    # A session whose kit is unknown falls back on the first kit.create after its unlock.
    assert rules.kit_resolution(rules.KitFacts(used, frozenset({None}), None, entry)).seq == 40


# --- operators added during a recovery session --------------------------------------------------------


def test_an_operator_added_by_a_recovery_session_gets_a_step_resolved_by_their_own_passphrase(
        session, vault_dir, clock, kitted):
    shares, _ = kitted
    with recover(vault_dir, clock, shares) as rec:
        operators.add_operator(rec, "rescue", RESCUE_PASS, email="rescue@example.com")
        operators.add_operator(rec, "temp", RESCUE_PASS, email="temp@example.com")
    view = the_workflow(session)
    added = [s for s in view.steps if s.kind == "added-operator"]
    assert [s.title.split(" was added")[0] for s in added] == ["Operator rescue", "Operator temp"]
    assert all("set their own passphrase" in s.title and not s.done and s.auto for s in added)
    with pytest.raises(ConflictError, match="operator passwd"):
        resolve_post_incident_step(session, view.workflow_id, added[0].position, "they promised")
    with unlock(vault_dir, "temp", RESCUE_PASS, clock=clock) as temp:  # an unlock is not a passphrase
        pass
    assert not step(the_workflow(session), "added-operator").done
    with unlock(vault_dir, "rescue", RESCUE_PASS, clock=clock) as rescue:
        operators.change_passphrase(rescue, RESCUE_PASS, b"rescue's very own passphrase")
    operators.remove_operator(session, "temp")
    view = the_workflow(session)
    done = [s for s in view.steps if s.kind == "added-operator"]
    assert done[0].done and done[0].evidence.startswith("rescue set their own passphrase")
    assert done[1].done and done[1].evidence.startswith("operator temp removed")


# --- who signs it off -----------------------------------------------------------------------------------


@pytest.fixture
def lapsed(session, clock, vault_dir):
    """alice had emergency access to x:acme approved by bob, revealed its password, ended it:
    the post-incident workflow covers alice's access."""
    operators.add_operator(session, "bob", b"chosen by alice", email="bob@example.com")
    with unlock(vault_dir, "bob", b"chosen by alice", clock=clock) as bob:
        operators.change_passphrase(bob, b"chosen by alice", BOB_PASS)
    accounts.add_account(session, "x", "acme")
    secrets.set_password(session, "x:acme", "acme-password-1")
    grants.add_grant(session, "alice@example.com", "x:acme", "code-only")
    clock.advance(minutes=1)
    request = em.request_access(session, "x:acme", reason="spam", incident="INC-em")
    with unlock(vault_dir, "bob", BOB_PASS, clock=clock) as bob:
        em.approve_access(bob, request.id)
    secrets.reveal(session, "x:acme")
    ended = em.end_access(session, request.id)
    assert ended.post_incident_id is not None
    return ended.post_incident_id


def test_the_requester_cannot_sign_off_the_workflow_of_their_own_emergency_access(session, vault_dir, clock, lapsed):
    view = post_incident_status(session, lapsed)
    review = step(view, "review-log")
    head = session.vault.log.head()
    with pytest.raises(PolicyError, match="covers your own emergency access .*another operator must resolve"):
        resolve_post_incident_step(session, lapsed, review.position, "I looked, all fine")
    with pytest.raises(PolicyError, match="another operator must close it over open steps"):
        close_post_incident(session, lapsed, override="nothing happened")
    operators.add_operator(session, "alice2", b"alice's other passphrase", email="alice@example.com")
    with unlock(vault_dir, "alice2", b"alice's other passphrase", clock=clock) as same_person:
        with pytest.raises(PolicyError, match="covers your own emergency access"):
            resolve_post_incident_step(same_person, lapsed, review.position, "me again")
    assert session.vault.log.head().seq == head.seq + 2  # alice2's operator.add and unlock: refusals write nothing
    with unlock(vault_dir, "bob", BOB_PASS, clock=clock) as bob:
        resolve_post_incident_step(bob, lapsed, review.position, "reviewed: one reveal, as requested")
        closed = close_post_incident(bob, lapsed, override="password rotation scheduled")
    assert closed.state == "closed" and closed.closed_by == "bob"


# --- ids out of range -----------------------------------------------------------------------------------


def test_a_huge_workflow_id_is_not_found_and_a_usage_error_on_the_command_line(session, run_cli):
    with pytest.raises(NotFoundError):
        post_incident_status(session, "99999999999999999999")
    session.close()
    for argv in (("incident", "show", "99999999999999999999"),
                 ("incident", "step", "1", "99999999999999999999", "--note", "x"),
                 ("incident", "close", "99999999999999999999")):
        result = run_cli(*argv)
        assert result.code == 2, result.err
        assert "internal error" not in result.err and "range" in result.err
