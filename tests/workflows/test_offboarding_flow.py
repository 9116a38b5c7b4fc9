"""Offboarding end to end on a real vault: start, steps that resolve themselves, manual steps,
revoking, the guard, overrides, the close; each mutation one log entry, the chain intact."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smvault.domain.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from smvault.domain.workflow import WorkflowKind
from smvault.services import accounts, grants, offboarding, people, secrets
from tests.workflows.conftest import ALICE, PEOPLE, SECOND_EMAIL, logged

CARA, DEV, EVE = PEOPLE["cara"], PEOPLE["dev"], PEOPLE["eve"]
SOLO = "youtube:solo"


def scenario(staffed) -> None:
    """Cara is leaving. x:one: she learned the password; x:two: her grant could reveal it;
    instagram:team: she is one of three platform admins; youtube:solo: the TOTP is on her
    phone and the recovery email is hers, so nobody else could regain it; she owns it."""
    s, clock = staffed.session, staffed.clock
    for handle in ("one", "two"):
        accounts.add_account(s, "x", handle, login_id=f"{handle}@example.com", mfa="none")
        secrets.set_password(s, f"x:{handle}")
        grants.add_grant(s, ALICE, f"x:{handle}", "manage")
        grants.add_grant(s, SECOND_EMAIL, f"x:{handle}", "reveal")
        grants.add_grant(s, CARA, f"x:{handle}", "reveal")
    clock.advance(minutes=5)
    secrets.reveal(s, "x:one", "password", for_email=CARA)
    accounts.add_account(s, "instagram", "team", login_id="team@example.com", mfa="security-key")
    for who in (CARA, DEV, EVE):
        grants.add_grant(s, who, "instagram:team", "platform-admin")
    accounts.add_account(s, "youtube", "solo", login_id="solo@example.com", mfa="totp", totp_holder=CARA,
                         owner=CARA, recovery_email="cara@personal.example", recovery_email_controller=CARA)
    clock.advance(minutes=5)


@pytest.fixture
def leaving(staffed):
    scenario(staffed)
    return staffed


def leave_on(staffed):
    return staffed.clock.now.date() + timedelta(days=5)


def step(view, kind: str, account: str | None = None):
    return next(s for s in view.steps if s.kind == kind and s.account_key == account)


def last_entry(session) -> dict:
    return session.vault.log.entries(limit=1)[0]


def test_start_opens_the_plan_sets_the_leave_date_and_logs_once(leaving):
    s = leaving.session
    head = s.vault.log.head().seq
    with logged(s) as added:
        view = offboarding.start_offboarding(s, CARA, leave_on(leaving))
    assert added() == 1
    entry = last_entry(s)
    assert entry["action"] == "offboard.start" and entry["person"] == s.vault.people.by_email(CARA).id
    assert entry["detail"] == {"workflow": view.workflow_id, "email": CARA,
                               "leave_on": leave_on(leaving).isoformat(), "steps": 7}
    assert view.state == "open" and view.opened_by == "alice" and view.leave_on == leave_on(leaving)
    assert people.person_detail(s, CARA).person.leave_on == leave_on(leaving)
    workflow = s.vault.workflows.get(view.workflow_id)
    assert workflow.opened_seq == head and len(workflow.steps) == 7
    assert [(st.position, st.kind, st.account_key, st.learned) for st in view.steps] == [
        (1, "revoke-grants", None, None),
        (2, "remove-platform-admin", "instagram:team", None),
        (3, "rotate-password", "x:one", "did"),
        (4, "rotate-password", "x:two", "could"),
        (5, "reenrol-totp", SOLO, None),  # youtube:solo has no password in the vault
        (6, "repoint-recovery-email", SOLO, None),
        (7, "transfer-ownership", SOLO, None),
    ]
    assert not any(st.done for st in view.steps)
    assert s.vault.log.verify().ok


def test_start_refuses_a_second_open_offboarding_and_needs_a_date(leaving):
    s = leaving.session
    with logged(s) as added:
        with pytest.raises(InvalidInputError, match="give --on DATE"):
            offboarding.start_offboarding(s, CARA)
    assert added() == 0
    first = offboarding.start_offboarding(s, CARA, leave_on(leaving))
    with logged(s) as added:
        with pytest.raises(ConflictError, match=f"offboarding {first.workflow_id} of {CARA} is already open"):
            offboarding.start_offboarding(s, CARA)  # the leave date is known by now
    assert added() == 0


def test_dry_run_changes_and_logs_nothing(leaving):
    s = leaving.session
    head = s.vault.log.head()
    before = s.vault.workflows.summaries(open_only=False)
    view = offboarding.plan_offboarding(s, CARA, leave_on(leaving))
    assert view.state == "plan" and view.leave_on == leave_on(leaving) and len(view.steps) == 7
    assert s.vault.log.head() == head
    assert s.vault.workflows.summaries(open_only=False) == before == []
    assert people.person_detail(s, CARA).person.leave_on is None


def test_a_rotation_resolves_the_step_with_its_evidence(leaving):
    s = leaving.session
    offboarding.start_offboarding(s, CARA, leave_on(leaving))
    secrets.set_password(s, "x:one")
    seq = last_entry(s)["seq"]
    view = offboarding.offboarding_status(s, CARA)
    done = step(view, "rotate-password", "x:one")
    assert done.done and done.auto and done.done_by == "alice"
    assert done.evidence == f"password set by alice at {done.done_at} (log seq {seq})"
    assert not step(view, "rotate-password", "x:two").done


def test_a_reveal_after_the_rotation_reopens_the_step(leaving):
    s, clock = leaving.session, leaving.clock
    offboarding.start_offboarding(s, CARA, leave_on(leaving))
    for ref in ("x:one", "x:two"):
        secrets.set_password(s, ref)
    secrets.reveal(s, "x:two", "password", for_email=CARA)  # the same second: order is by seq
    view = offboarding.offboarding_status(s, CARA)
    assert step(view, "rotate-password", "x:one").done
    assert not step(view, "rotate-password", "x:two").done
    clock.advance(minutes=1)
    secrets.set_password(s, "x:two")
    assert step(offboarding.offboarding_status(s, CARA), "rotate-password", "x:two").done


def test_a_rotation_before_the_start_does_not_count(leaving):
    s = leaving.session
    secrets.reveal(s, "x:two", "password", for_email=CARA)
    leaving.clock.advance(seconds=1)  # in the same second, the reveal would count as of the new one
    secrets.set_password(s, "x:two")  # after her reveal, but before the offboarding
    view = offboarding.start_offboarding(s, CARA, leave_on(leaving))
    assert step(view, "rotate-password", "x:two").learned == "could"
    assert not step(view, "rotate-password", "x:two").done


def test_totp_recovery_email_and_ownership_resolve_from_the_tables(leaving):
    s = leaving.session
    offboarding.start_offboarding(s, CARA, leave_on(leaving))
    grants.add_grant(s, ALICE, SOLO, "manage")
    accounts.update_account(s, SOLO, totp_holder=DEV, recovery_email_controller=EVE, owner=EVE)
    view = offboarding.offboarding_status(s, CARA)
    assert step(view, "reenrol-totp", SOLO).evidence == "TOTP device now held by Dev <dev@example.com>"
    assert step(view, "repoint-recovery-email", SOLO).evidence == \
        "recovery email now controlled by Eve <eve@example.com>"
    assert step(view, "transfer-ownership", SOLO).evidence == \
        "owner now Eve <eve@example.com>, backup owner nobody"
    assert all(st.done_by is None for st in view.steps if st.account_key == SOLO)


def test_a_seen_seed_and_codes_resolve_on_re_enrolment(staffed):
    s = staffed.session
    accounts.add_account(s, "x", "seed", login_id="seed@example.com", mfa="totp")
    grants.add_grant(s, ALICE, "x:seed", "manage")
    secrets.set_totp(s, "x:seed", "JBSWY3DPEHPK3PXP")
    secrets.add_recovery_codes(s, "x:seed", ["a-1", "a-2"])
    grants.add_grant(s, CARA, "x:seed", "reveal")
    staffed.clock.advance(minutes=1)
    secrets.totp_qr(s, "x:seed")  # alice's own QR: not cara's learning
    secrets.reveal(s, "x:seed", "totp-seed", for_email=CARA)
    secrets.use_recovery_code(s, "x:seed", for_email=CARA)
    view = offboarding.start_offboarding(s, CARA, staffed.clock.now.date())
    assert [st.kind for st in view.steps] == ["revoke-grants", "reenrol-totp", "regenerate-recovery-codes"]
    secrets.set_totp(s, "x:seed", "JBSWY3DPEHPK3PXQ")
    secrets.add_recovery_codes(s, "x:seed", ["b-1", "b-2"])
    view = offboarding.offboarding_status(s, CARA)
    assert step(view, "reenrol-totp", "x:seed").evidence.startswith("TOTP seed re-enrolled by alice")
    assert step(view, "regenerate-recovery-codes", "x:seed").evidence.startswith("new recovery codes stored by alice")


def test_manual_step_needs_a_note_and_resolves_once(leaving):
    s = leaving.session
    view = offboarding.start_offboarding(s, CARA, leave_on(leaving))
    admin = step(view, "remove-platform-admin", "instagram:team")
    assert admin.manual and not admin.auto
    with logged(s) as added:
        with pytest.raises(InvalidInputError, match="note"):
            offboarding.resolve_offboarding_step(s, CARA, admin.position, "   ")
        with pytest.raises(NotFoundError):
            offboarding.resolve_offboarding_step(s, CARA, 99, "a note")
    assert added() == 0
    with logged(s) as added:
        view = offboarding.resolve_offboarding_step(s, CARA, admin.position, "removed in Meta Business Suite")
    assert added() == 1
    entry = last_entry(s)
    assert entry["action"] == "offboard.step" and entry["acct"] == "instagram:team"
    assert entry["detail"] == {"workflow": view.workflow_id, "position": admin.position,
                               "kind": "remove-platform-admin", "note": "removed in Meta Business Suite"}
    done = step(view, "remove-platform-admin", "instagram:team")
    assert done.done and done.evidence == "removed in Meta Business Suite" and done.done_by == "alice"
    with logged(s) as added:
        with pytest.raises(ConflictError, match="already resolved"):
            offboarding.resolve_offboarding_step(s, CARA, admin.position, "again")
    assert added() == 0


def test_any_open_step_takes_a_note_but_not_one_that_resolved_itself(leaving):
    s = leaving.session
    view = offboarding.start_offboarding(s, CARA, leave_on(leaving))
    two = step(view, "rotate-password", "x:two").position
    view = offboarding.resolve_offboarding_step(s, CARA, two, "rotated on the platform by IT")
    assert step(view, "rotate-password", "x:two").evidence == "rotated on the platform by IT"
    secrets.set_password(s, "x:one")
    one = step(view, "rotate-password", "x:one").position
    with logged(s) as added:
        with pytest.raises(ConflictError, match="resolved itself: password set by alice"):
            offboarding.resolve_offboarding_step(s, CARA, one, "duplicate")
    assert added() == 0


def test_revoke_leaver_grants_revokes_everything_in_one_entry(leaving):
    s = leaving.session
    with pytest.raises(NotFoundError, match="no offboarding"):
        offboarding.revoke_leaver_grants(s, CARA)
    offboarding.start_offboarding(s, CARA, leave_on(leaving))
    held = [g.id for g in s.vault.grants.of_person(s.vault.people.by_email(CARA).id)]
    assert len(held) == 3
    with logged(s) as added:
        assert offboarding.revoke_leaver_grants(s, CARA) == 3
    assert added() == 1
    entry = last_entry(s)
    assert entry["action"] == "offboard.revoke-grants" and sorted(entry["detail"]["grants"]) == sorted(held)
    assert grants.list_grants(s, CARA, include_inactive=True) and not grants.list_grants(s, CARA)
    first = offboarding.offboarding_status(s, CARA).steps[0]
    assert first.done and first.evidence == f"grants revoked by alice at {entry['ts']} (log seq {entry['seq']})"
    with logged(s) as added:
        with pytest.raises(NotFoundError, match="holds no open grant"):
            offboarding.revoke_leaver_grants(s, CARA)
    assert added() == 0


def test_guard_blocks_a_sole_controller_until_a_successor_is_named(leaving):
    s = leaving.session
    view = offboarding.start_offboarding(s, CARA, leave_on(leaving))
    assert view.blocking == ((SOLO, 0),)
    with logged(s) as added:
        with pytest.raises(PolicyError, match=r"youtube:solo \(0\).*--successor") as refused:
            offboarding.close_offboarding(s, CARA, override="HR confirmed")
        assert refused.value.exit_code == 5
        with pytest.raises(InvalidInputError, match="someone other than"):
            offboarding.close_offboarding(s, CARA, successor=CARA, override="x")
        people.add_person(s, "Fay", "fay@example.com")
        people.mark_leaving(s, "fay@example.com", leave_on(leaving))
    assert added() == 2  # the two people changes only
    with pytest.raises(PolicyError, match="successor fay@example.com is leaving"):
        offboarding.close_offboarding(s, CARA, successor="fay@example.com", override="x")
    with logged(s) as added:
        closed = offboarding.close_offboarding(s, CARA, successor=DEV, override="HR confirmed")
    assert added() == 1
    assert closed.state == "closed" and closed.successor_email == DEV and closed.blocking == ((SOLO, 0),)
    detail = last_entry(s)["detail"]
    assert detail["successor"] == DEV and detail["blocking"] == [[SOLO, 0]]
    assert s.vault.log.verify().ok


def test_guard_passes_once_the_accounts_have_two_controllers(leaving):
    s = leaving.session
    offboarding.start_offboarding(s, CARA, leave_on(leaving))
    accounts.update_account(s, SOLO, totp_holder=DEV, recovery_email_controller=EVE, owner=EVE)
    view = offboarding.offboarding_status(s, CARA)
    assert view.blocking == ()
    with pytest.raises(PolicyError, match="step"):  # no longer the guard: open steps remain
        offboarding.close_offboarding(s, CARA)


def test_open_steps_need_an_override_which_is_recorded(leaving):
    s = leaving.session
    offboarding.start_offboarding(s, CARA, leave_on(leaving))
    with logged(s) as added:
        with pytest.raises(PolicyError, match=r"still open \(2 remove-platform-admin instagram:team, "
                                              r"3 rotate-password x:one"):
            offboarding.close_offboarding(s, CARA, successor=DEV)
    assert added() == 0
    closed = offboarding.close_offboarding(s, CARA, successor=DEV, override="platform roles removed by IT")
    assert closed.override_reason == "platform roles removed by IT"
    detail = last_entry(s)["detail"]
    assert detail["override"] == "platform roles removed by IT"
    assert detail["steps"]["open"] == [st.position for st in closed.open_steps]
    assert [st.kind for st in closed.open_steps] == [
        "remove-platform-admin", "rotate-password", "rotate-password", "reenrol-totp",
        "repoint-recovery-email", "transfer-ownership"]
    with pytest.raises(InvalidInputError, match="control characters"):
        offboarding.close_offboarding(s, CARA, override="bad\x1b[31m")


def test_close_revokes_what_is_left_persists_derived_steps_and_freezes(leaving):
    s = leaving.session
    view = offboarding.start_offboarding(s, CARA, leave_on(leaving))
    secrets.set_password(s, "x:one")
    set_seq = last_entry(s)["seq"]
    cara = s.vault.people.by_email(CARA)
    held = sorted(g.id for g in s.vault.grants.of_person(cara.id))
    closed = offboarding.close_offboarding(s, CARA, successor=DEV, override="done elsewhere")
    detail = last_entry(s)["detail"]
    assert sorted(detail["revoked_grants"]) == held
    assert s.vault.grants.of_person(cara.id) == []  # nothing left unrevoked
    assert detail["steps"]["resolved_themselves"] == [step(view, "rotate-password", "x:one").position]
    rows = {st.position: st for st in s.vault.workflows.get(view.workflow_id).steps}
    one = rows[step(view, "rotate-password", "x:one").position]
    assert one.done and one.done_by is None and f"(log seq {set_seq})" in one.evidence
    assert one.data["resolved_by"] == "alice"
    revoke = rows[1]
    assert revoke.done and revoke.done_by == s.operator.id and "revoked when the offboarding closed" in revoke.evidence
    assert step(closed, "rotate-password", "x:one").done_by == "alice"
    # Closed is closed: later facts do not change it, and nothing can be resolved any more.
    secrets.set_password(s, "x:two")
    assert not step(offboarding.offboarding_status(s, CARA), "rotate-password", "x:two").done
    with pytest.raises(ConflictError, match="already closed"):
        offboarding.resolve_offboarding_step(s, CARA, 2, "late")
    with pytest.raises(ConflictError, match="already closed"):
        offboarding.close_offboarding(s, CARA, successor=DEV, override="again")
    assert s.vault.log.verify().ok


def test_no_new_grant_once_the_offboarding_is_closed(leaving):
    s = leaving.session
    offboarding.start_offboarding(s, CARA, leave_on(leaving))
    offboarding.close_offboarding(s, CARA, successor=DEV, override="HR confirmed")
    with logged(s) as added:
        with pytest.raises(PolicyError, match="has been offboarded"):
            grants.add_grant(s, CARA, "x:one", "reveal")
    assert added() == 0
    grants.add_grant(s, DEV, "x:one", "reveal")  # others are unaffected


def test_a_closed_offboarding_can_be_followed_by_a_new_one(leaving):
    s = leaving.session
    first = offboarding.start_offboarding(s, CARA, leave_on(leaving))
    offboarding.close_offboarding(s, CARA, successor=DEV, override="HR confirmed")
    second = offboarding.start_offboarding(s, CARA, leave_on(leaving) + timedelta(days=30))
    assert second.workflow_id != first.workflow_id and second.state == "open"
    assert offboarding.offboarding_status(s, CARA).workflow_id == second.workflow_id
    kinds = [w.state for w in s.vault.workflows.find(WorkflowKind.OFFBOARDING, open_only=False)]
    assert kinds == ["open", "closed"]


def test_any_operator_may_revoke_a_leavers_grants(leaving):
    s = leaving.session
    offboarding.start_offboarding(s, CARA, leave_on(leaving))
    with leaving.as_operator() as bob:  # bob manages nothing
        with pytest.raises(PolicyError, match="needs a 'manage' grant"):
            grants.revoke_grants(bob, CARA, "x:one")  # the ordinary way needs 'manage'
        assert offboarding.revoke_leaver_grants(bob, CARA) == 3
        assert last_entry(bob)["op"] == "bob"


def test_an_operator_can_be_offboarded(leaving):
    s = leaving.session
    view = offboarding.start_offboarding(s, SECOND_EMAIL, leave_on(leaving))
    assert [(st.kind, st.account_key, st.learned) for st in view.steps] == [
        ("revoke-grants", None, None), ("rotate-password", "x:one", "could"), ("rotate-password", "x:two", "could")]
    assert view.blocking == (("x:one", 1), ("x:two", 1))  # alice alone, once bob is gone
