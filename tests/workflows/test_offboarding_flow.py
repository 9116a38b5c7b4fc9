"""Offboarding end to end on a real vault: start, steps that resolve themselves, manual steps,
revoking, the guard, overrides, the close; each mutation one log entry, the chain intact."""

from __future__ import annotations

import json
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


def hand_over(s, ref: str, email: str) -> None:
    """Make `email` the owner as a closed transfer does: `account update` refuses to replace an
    owner, and a transfer (dual control, platform steps) is test_transfer.py's subject."""
    account = s.vault.accounts.by_key(*ref.split(":"))
    with s.atomic():
        s.vault.accounts.update(account.id, {"owner_id": s.vault.people.by_email(email).id})


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
    secrets.set_password(s, "x:two")  # after her reveal (the same second: order is by seq), before the start
    view = offboarding.start_offboarding(s, CARA, leave_on(leaving))
    assert step(view, "rotate-password", "x:two").learned == "could"
    assert not step(view, "rotate-password", "x:two").done


def test_a_reveal_in_the_same_second_after_a_rotation_is_did_learn(leaving):
    s = leaving.session
    secrets.set_password(s, "x:two")
    secrets.reveal(s, "x:two", "password", for_email=CARA)  # the same second, a later seq
    view = offboarding.plan_offboarding(s, CARA)
    assert step(view, "rotate-password", "x:two").learned == "did"


def test_totp_recovery_email_and_ownership_resolve_from_the_tables(leaving):
    s = leaving.session
    offboarding.start_offboarding(s, CARA, leave_on(leaving))
    grants.add_grant(s, ALICE, SOLO, "manage")
    accounts.update_account(s, SOLO, totp_holder=DEV, recovery_email_controller=EVE)
    hand_over(s, SOLO, EVE)
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
    # Someone who cannot work in the vault cannot fix the accounts: the successor is an operator.
    with pytest.raises(PolicyError, match=f"successor {DEV} is not an operator"):
        offboarding.close_offboarding(s, CARA, successor=DEV, override="x")
    with logged(s) as added:
        closed = offboarding.close_offboarding(s, CARA, successor=SECOND_EMAIL, override="HR confirmed")
    assert added() == 1
    assert closed.state == "closed" and closed.successor_email == SECOND_EMAIL and closed.blocking == ((SOLO, 0),)
    detail = last_entry(s)["detail"]
    assert detail["successor"] == SECOND_EMAIL
    assert detail["blocking"] == [{"account": SOLO, "controllers": 0, "successor": SECOND_EMAIL}]
    assert s.vault.log.verify().ok


def test_guard_passes_once_the_accounts_have_two_controllers(leaving):
    s = leaving.session
    offboarding.start_offboarding(s, CARA, leave_on(leaving))
    accounts.update_account(s, SOLO, totp_holder=DEV, recovery_email_controller=EVE)
    hand_over(s, SOLO, EVE)
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
            offboarding.close_offboarding(s, CARA, successor=SECOND_EMAIL)
    assert added() == 0
    closed = offboarding.close_offboarding(s, CARA, successor=SECOND_EMAIL, override="platform roles removed by IT")
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
    closed = offboarding.close_offboarding(s, CARA, successor=SECOND_EMAIL, override="done elsewhere")
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
        offboarding.close_offboarding(s, CARA, successor=SECOND_EMAIL, override="again")
    assert s.vault.log.verify().ok


def test_no_new_grant_once_the_offboarding_is_closed(leaving):
    s = leaving.session
    offboarding.start_offboarding(s, CARA, leave_on(leaving))
    offboarding.close_offboarding(s, CARA, successor=SECOND_EMAIL, override="HR confirmed")
    with logged(s) as added:
        with pytest.raises(PolicyError, match="has been offboarded"):
            grants.add_grant(s, CARA, "x:one", "reveal")
    assert added() == 0
    grants.add_grant(s, DEV, "x:one", "reveal")  # others are unaffected


def test_a_closed_offboarding_can_be_followed_by_a_new_one(leaving):
    s = leaving.session
    first = offboarding.start_offboarding(s, CARA, leave_on(leaving))
    offboarding.close_offboarding(s, CARA, successor=SECOND_EMAIL, override="HR confirmed")
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


# --- who learned what: the operator who hands a value over learns it too -----------------------


def test_an_operator_who_reveals_for_someone_else_learns_it_too(leaving):
    s, clock = leaving.session, leaving.clock
    bob_id = s.vault.people.by_email(SECOND_EMAIL).id
    grants.add_grant(s, DEV, "x:one", "reveal")
    with leaving.as_operator() as bob:
        secrets.reveal(bob, "x:one", "password", for_email=DEV)  # on bob's screen, for dev
        entry = last_entry(bob)
    assert (entry["to"], entry["by"]) == (s.vault.people.by_email(DEV).id, bob_id)
    secrets.reveal(s, "x:one", "password")  # alice's own: `to` is alice, no `by`
    assert "by" not in last_entry(s)
    view = offboarding.start_offboarding(s, SECOND_EMAIL, leave_on(leaving))
    assert step(view, "rotate-password", "x:one").learned == "did"
    assert step(view, "rotate-password", "x:two").learned == "could"
    # After a rotation, bob handing the new password to dev reopens the step.
    secrets.set_password(s, "x:one")
    assert step(offboarding.offboarding_status(s, SECOND_EMAIL), "rotate-password", "x:one").done
    clock.advance(minutes=1)
    with leaving.as_operator() as bob:
        secrets.reveal(bob, "x:one", "password", for_email=DEV)
    assert not step(offboarding.offboarding_status(s, SECOND_EMAIL), "rotate-password", "x:one").done
    data = json.loads(offboarding.offboarding_report(s, SECOND_EMAIL).render("json"))
    learned = data["tables"]["What the person learned (disclosures to them or by them)"]
    assert [(e["account"], e["recipient"], e["by operator"]) for e in learned] == [
        ("x:one", DEV, "bob"), ("x:one", DEV, "bob")]


def test_disclosures_older_than_the_by_field_count_by_operator_name(leaving):
    """A vault written before `by` existed: the entry names the operator only as `op`."""
    s = leaving.session
    dev = s.vault.people.by_email(DEV)
    with leaving.as_operator() as bob:
        with bob.atomic():
            account = bob.vault.accounts.by_key("x", "two")
            bob.record("secret.reveal", account=account.id, acct=account.key, to=dev.id, to_email=dev.email,
                       field="password", **{"for": True})
    view = offboarding.plan_offboarding(s, SECOND_EMAIL)
    assert step(view, "rotate-password", "x:two").learned == "did"
    assert step(offboarding.plan_offboarding(s, DEV), "rotate-password", "x:two").learned == "did"


# --- steps that must not resolve too early -----------------------------------------------------


def test_recovery_codes_kept_beside_the_old_ones_do_not_resolve_the_step(staffed):
    s, clock = staffed.session, staffed.clock
    accounts.add_account(s, "x", "codes", login_id="codes@example.com", mfa="none")
    grants.add_grant(s, ALICE, "x:codes", "manage")
    grants.add_grant(s, CARA, "x:codes", "reveal")
    secrets.add_recovery_codes(s, "x:codes", ["c-1", "c-2"])
    clock.advance(minutes=1)
    secrets.reveal(s, "x:codes", "recovery-codes", for_email=CARA)
    offboarding.start_offboarding(s, CARA, leave_on(staffed))
    secrets.add_recovery_codes(s, "x:codes", ["c-3"], replace=False)  # --keep-old: c-1, c-2 still valid
    assert not step(offboarding.offboarding_status(s, CARA), "regenerate-recovery-codes", "x:codes").done
    secrets.add_recovery_codes(s, "x:codes", ["d-1", "d-2"])  # retires every unused old code
    done = step(offboarding.offboarding_status(s, CARA), "regenerate-recovery-codes", "x:codes")
    assert done.done and done.evidence.startswith("new recovery codes stored by alice")


def test_a_plan_after_keep_old_codes_still_asks_for_new_ones(staffed):
    s, clock = staffed.session, staffed.clock
    accounts.add_account(s, "x", "codes", login_id="codes@example.com", mfa="none")
    grants.add_grant(s, ALICE, "x:codes", "manage")
    grants.add_grant(s, CARA, "x:codes", "reveal")
    secrets.add_recovery_codes(s, "x:codes", ["c-1", "c-2"])
    secrets.reveal(s, "x:codes", "recovery-codes", for_email=CARA)
    secrets.add_recovery_codes(s, "x:codes", ["c-3"], replace=False)  # the same second, no retirement
    kinds = [(st.kind, st.account_key) for st in offboarding.plan_offboarding(s, CARA).steps]
    assert ("regenerate-recovery-codes", "x:codes") in kinds
    secrets.add_recovery_codes(s, "x:codes", ["d-1"])  # the same second again, but it retired them
    kinds = [(st.kind, st.account_key) for st in offboarding.plan_offboarding(s, CARA).steps]
    assert ("regenerate-recovery-codes", "x:codes") not in kinds


def test_a_note_cannot_stand_for_revoking_grants(leaving):
    s = leaving.session
    offboarding.start_offboarding(s, CARA, leave_on(leaving))
    with logged(s) as added:
        with pytest.raises(ConflictError, match=f"run 'smvault offboard revoke-grants {CARA}'"):
            offboarding.resolve_offboarding_step(s, CARA, 1, "revoked them all, promise")
    assert added() == 0
    assert not offboarding.offboarding_status(s, CARA).steps[0].done


# --- learned after the start -------------------------------------------------------------------


def test_a_secret_learned_after_the_start_becomes_a_step_that_blocks_the_close(staffed):
    s, clock = staffed.session, staffed.clock
    for handle in ("old", "new"):
        accounts.add_account(s, "x", handle, login_id=f"{handle}@example.com", mfa="none")
        secrets.set_password(s, f"x:{handle}")
        grants.add_grant(s, ALICE, f"x:{handle}", "manage")
        grants.add_grant(s, SECOND_EMAIL, f"x:{handle}", "manage")
    grants.add_grant(s, CARA, "x:old", "reveal")
    clock.advance(minutes=1)
    started = offboarding.start_offboarding(s, CARA, leave_on(staffed))
    assert [(st.kind, st.account_key) for st in started.steps] == [
        ("revoke-grants", None), ("rotate-password", "x:old")]
    offboarding.resolve_offboarding_step(s, CARA, 2, "rotated by IT on the platform")
    clock.advance(minutes=1)
    grants.add_grant(s, CARA, "x:new", "reveal")  # a handover after the start
    secrets.reveal(s, "x:new", "password", for_email=CARA)
    offboarding.revoke_leaver_grants(s, CARA)
    view = offboarding.offboarding_status(s, CARA)
    late = view.steps[-1]
    assert (late.position, late.kind, late.account_key, late.learned, late.done) == (
        3, "rotate-password", "x:new", "did", False)
    assert "after the offboarding started" in late.title
    assert s.vault.workflows.get(view.workflow_id).steps[-1].position == 2  # derived, not saved by a read
    with logged(s) as added:
        with pytest.raises(PolicyError, match="1 step\\(s\\) still open \\(3 rotate-password x:new\\)"):
            offboarding.close_offboarding(s, CARA)
    assert added() == 0
    secrets.set_password(s, "x:new")
    closed = offboarding.close_offboarding(s, CARA)
    assert closed.state == "closed" and not closed.open_steps
    saved = s.vault.workflows.get(view.workflow_id).steps
    assert [(st.position, st.kind, st.done) for st in saved][-1] == (3, "rotate-password", True)
    assert last_entry(s)["detail"]["steps"]["learned_after_start"] == [3]


def test_a_step_learned_after_the_start_takes_a_note_and_a_relearn_after_a_note_is_a_new_step(staffed):
    s, clock = staffed.session, staffed.clock
    accounts.add_account(s, "x", "late", login_id="late@example.com", mfa="none")
    secrets.set_password(s, "x:late")
    grants.add_grant(s, ALICE, "x:late", "manage")
    grants.add_grant(s, SECOND_EMAIL, "x:late", "manage")
    offboarding.start_offboarding(s, CARA, leave_on(staffed))
    grants.add_grant(s, CARA, "x:late", "reveal")
    secrets.reveal(s, "x:late", "password", for_email=CARA)
    with logged(s) as added:
        view = offboarding.resolve_offboarding_step(s, CARA, 2, "rotated on the platform")
    assert added() == 1
    entry = last_entry(s)
    assert entry["detail"]["steps_added"] == [2]
    assert step(view, "rotate-password", "x:late").done
    saved = s.vault.workflows.get(view.workflow_id).steps[1]
    assert saved.data["done_seq"] == entry["seq"]
    clock.advance(minutes=1)
    secrets.reveal(s, "x:late", "password", for_email=CARA)  # she learns the new one too
    view = offboarding.offboarding_status(s, CARA)
    assert [(st.position, st.done) for st in view.steps if st.account_key == "x:late"] == [(2, True), (3, False)]
