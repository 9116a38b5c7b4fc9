"""Ownership transfer through the services, on real vaults: dual control, steps, waits, close."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import pytest

from smvault.domain.errors import ConflictError, NotFoundError, PolicyError, WrongPassphraseError
from smvault.services import accounts, grants, operators, people, secrets
from smvault.services import transfer as tr
from smvault.services.session import unlock
from tests.conftest import PASSPHRASE

DEV_PASS = b"dev's own passphrase"
CAROL_PASS = b"carol's own passphrase"
OPS_PASS = b"ops keeps her own passphrase"


def _staff(session, vault_dir, clock):
    """alice (operator, manages both accounts), dev (second operator), bob owns, carol receives.

    dev is added by a third operator, ops: an operator added by the requester (alice) could
    not approve her transfers, since whoever adds an operator chooses its first passphrase."""
    people.add_person(session, "Bob Owner", "bob@example.com")
    people.add_person(session, "Carol New", "carol@example.com")
    operators.add_operator(session, "ops", OPS_PASS, email="ops@example.com", person_name="Ops Lead")
    with unlock(vault_dir, "ops", OPS_PASS, clock=clock) as ops:
        operators.add_operator(ops, "dev", DEV_PASS, email="dev@example.com", person_name="Dev Ops")
    accounts.add_account(
        session, "youtube", "acme", login_id="yt@example.com", mfa="totp", owner="bob@example.com",
        backup_owner="carol@example.com", recovery_email="rec@example.com",
        recovery_email_controller="bob@example.com", recovery_phone="+15550100",
        recovery_phone_controller="bob@example.com", totp_holder="bob@example.com",
    )
    accounts.add_account(session, "instagram", "acme", mfa="sms", owner="bob@example.com",
                         recovery_email="ig@example.com", recovery_email_controller="dev@example.com")
    for ref in ("youtube:acme", "instagram:acme"):
        grants.add_grant(session, "alice@example.com", ref, "manage")
    secrets.set_password(session, "youtube:acme", "old-password-1")
    secrets.set_totp(session, "youtube:acme", "JBSWY3DPEHPK3PXP")


@pytest.fixture
def staffed(session, vault_dir, clock):
    _staff(session, vault_dir, clock)
    return session


@pytest.fixture
def as_dev(vault_dir, clock):
    @contextmanager
    def open_dev():
        dev = unlock(vault_dir, "dev", DEV_PASS, clock=clock)
        try:
            yield dev
        finally:
            dev.close()
    return open_dev


def head(session) -> int:
    return session.vault.log.head().seq


def one_entry(session, action: str, call, *args, **kwargs):
    """Run a mutation; assert it appended exactly one entry, of `action`; return its result."""
    before = head(session)
    result = call(session, *args, **kwargs)
    assert head(session) == before + 1
    assert session.vault.log.entries(limit=1)[0]["action"] == action
    return result


def nothing_written(session, call, *args, error=PolicyError, match=None, **kwargs):
    before = head(session)
    with pytest.raises(error, match=match):
        call(session, *args, **kwargs)
    assert head(session) == before


def by_kind(view):
    return {s.kind: s for s in view.steps}


# -- dual control ----------------------------------------------------------------------------


def test_start_records_the_request_with_the_platform_template(staffed):
    view = one_entry(staffed, "transfer.start", tr.start_transfer, "youtube:acme", "carol@example.com")
    assert (view.state, view.template, view.requested_by, view.approved_by) == ("requested", "youtube", "alice", None)
    assert (view.from_email, view.to_email, view.to_name) == ("bob@example.com", "carol@example.com", "Carol New")
    kinds = [s.kind for s in view.steps]
    assert kinds[:3] == ["yt-invite-owner", "yt-make-primary", "yt-remove-old"]
    assert kinds[3:] == ["rotate-password", "reenrol-totp", "qr-enrol", "update-root-of-control"]
    assert [s.position for s in view.steps] == list(range(1, 8))
    assert all(s.manual and not s.auto for s in view.steps[:3])
    assert all(s.auto and not s.manual for s in view.steps[3:])
    assert "Carol New (carol@example.com)" in view.steps[0].title
    assert view.blockers[0].startswith("not approved yet")
    entry = staffed.vault.log.entries(limit=1)[0]
    assert entry["detail"] == {"workflow": view.workflow_id, "template": "youtube",
                               "from": "bob@example.com", "to": "carol@example.com"}


def test_the_requester_cannot_approve(staffed):
    view = tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    nothing_written(staffed, tr.approve_transfer, str(view.workflow_id), match="requested a transfer cannot approve")
    assert tr.transfer_status(staffed, "youtube:acme").state == "requested"


def test_a_second_operator_approves(staffed, as_dev):
    view = tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    with as_dev() as dev:
        approved = one_entry(dev, "transfer.approve", tr.approve_transfer, "youtube:acme")
        entry = dev.vault.log.entries(limit=1)[0]
    assert (approved.state, approved.approved_by, approved.approval) == ("approved", "dev", "cli")
    assert entry["op"] == "dev" and entry["detail"]["approver"] == "dev"
    assert tr.transfer_status(staffed, str(view.workflow_id)).approved_by == "dev"
    with as_dev() as dev:
        nothing_written(dev, tr.approve_transfer, "youtube:acme", error=ConflictError, match="already approved")


def test_same_terminal_approval_checks_the_approvers_passphrase(staffed):
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    nothing_written(staffed, tr.approve_transfer_as, "youtube:acme", "dev", b"not dev's passphrase",
                    error=WrongPassphraseError, match="wrong passphrase for operator 'dev'")
    assert tr.transfer_status(staffed, "youtube:acme").state == "requested"
    nothing_written(staffed, tr.approve_transfer_as, "youtube:acme", "alice", b"correct horse battery staple",
                    match="cannot approve")
    assert staffed.vault.check_passphrase("dev", DEV_PASS) is None  # raises when wrong
    view = one_entry(staffed, "transfer.approve", tr.approve_transfer_as, "youtube:acme", "dev", DEV_PASS)
    entry = staffed.vault.log.entries(limit=1)[0]
    assert (view.state, view.approved_by, view.approval) == ("approved", "dev", "same-terminal")
    assert entry["op"] == "alice" and entry["detail"] == {
        "workflow": view.workflow_id, "approver": "dev", "how": "same-terminal"}


def test_wrong_passphrase_message_holds_no_passphrase(staffed):
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    with pytest.raises(WrongPassphraseError) as caught:
        tr.approve_transfer_as(staffed, "youtube:acme", "dev", b"zz-guess-zz-123")
    assert "zz-guess" not in str(caught.value)


def test_the_same_person_under_another_operator_name_cannot_approve(staffed):
    operators.add_operator(staffed, "alice2", b"alice's second pass", email="alice@example.com")
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    nothing_written(staffed, tr.approve_transfer_as, "youtube:acme", "alice2", b"alice's second pass",
                    match="cannot approve")


def test_the_new_owner_cannot_approve(staffed):
    operators.add_operator(staffed, "carol", CAROL_PASS, email="carol@example.com")
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    nothing_written(staffed, tr.approve_transfer_as, "youtube:acme", "carol", CAROL_PASS, match="new owner")


def test_an_operator_added_by_the_requester_cannot_approve(staffed):
    """A sock puppet: the requester adds an operator (a new person) and approves with it."""
    view = tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    operators.add_operator(staffed, "sock", b"sock's passphrase", email="alice.second@example.com",
                           person_name="Second Alice")
    nothing_written(staffed, tr.approve_transfer_as, str(view.workflow_id), "sock", b"sock's passphrase",
                    match="'sock' was added by the operator who requested this transfer")
    assert tr.transfer_status(staffed, "youtube:acme").state == "requested"


def test_an_operator_added_before_the_request_by_the_requester_cannot_approve_either(staffed, vault_dir, clock):
    operators.add_operator(staffed, "sock", b"sock's passphrase", email="alice.second@example.com")
    clock.advance(days=30)
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    with unlock(vault_dir, "sock", b"sock's passphrase", clock=clock) as sock:
        nothing_written(sock, tr.approve_transfer, "youtube:acme", match="'sock' was added by the operator who")


def test_an_operator_added_by_the_requester_may_approve_once_they_set_their_own_passphrase(
        staffed, vault_dir, clock):
    """The first operator adds everyone: their transfers stay approvable by people who have
    since chosen a passphrase the requester does not know."""
    operators.add_operator(staffed, "sock", b"sock's passphrase", email="alice.second@example.com")
    with unlock(vault_dir, "sock", b"sock's passphrase", clock=clock) as sock:
        operators.change_passphrase(sock, b"sock's passphrase", b"only sock knows this")
    clock.advance(days=1)
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    with unlock(vault_dir, "sock", b"only sock knows this", clock=clock) as sock:
        assert tr.approve_transfer(sock, "youtube:acme").state == "approved"


def test_an_operator_added_after_the_request_cannot_approve(staffed, vault_dir, clock):
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    clock.advance(minutes=1)
    with unlock(vault_dir, "ops", OPS_PASS, clock=clock) as ops:  # not the requester: ops adds them
        operators.add_operator(ops, "late", b"late's passphrase", email="late@example.com")
        clock.advance(days=-2)  # a clock set back: the log still says the request came first
        operators.add_operator(ops, "backdated", b"backdated passphrase", email="backdated@example.com")
    vault = staffed.vault
    assert vault.operators.by_name("backdated").created_at < vault.workflows.find(
        tr.WorkflowKind.TRANSFER)[0].opened_at
    for name, passphrase in (("late", b"late's passphrase"), ("backdated", b"backdated passphrase")):
        nothing_written(staffed, tr.approve_transfer_as, "youtube:acme", name, passphrase,
                        match=f"'{name}' was added after this transfer was requested")


def test_who_added_each_operator_is_recorded(staffed):
    ops = staffed.vault.operators
    assert ops.added_by(ops.by_name("alice").id) is None  # the vault's first operator
    assert ops.added_by(ops.by_name("ops").id) == ops.by_name("alice").id
    assert ops.added_by(ops.by_name("dev").id) == ops.by_name("ops").id


def test_an_approver_who_has_left_or_is_leaving_cannot_approve(staffed, clock, as_dev):
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    people.mark_leaving(staffed, "dev@example.com", date(2026, 12, 1))  # leaving
    nothing_written(staffed, tr.approve_transfer_as, "youtube:acme", "dev", DEV_PASS,
                    match="'dev' cannot approve: their person has left or is leaving")
    clock.advance(days=30)  # left; the operator's slot is still there
    with as_dev() as dev:
        nothing_written(dev, tr.approve_transfer, "youtube:acme", match="has left or is leaving")


def test_a_wrong_approval_passphrase_is_logged_at_the_next_unlock(staffed, vault_dir, clock):
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    nothing_written(staffed, tr.approve_transfer_as, "youtube:acme", "dev", b"a guess",
                    error=WrongPassphraseError)
    noted = (vault_dir / "unlock-failures.jsonl").read_text()
    assert '"reason": "approval"' in noted and "a guess" not in noted
    with unlock(vault_dir, "alice", PASSPHRASE, clock=clock) as again:
        failed = [e for e in again.vault.log.entries(limit=3) if e["action"] == "vault.unlock-failed"]
    assert [(e["op"], e["detail"]["operator"], e["detail"]["reason"]) for e in failed] == [
        ("alice", "dev", "approval")]
    assert "a guess" not in str(failed)


# -- ownership moves only through transfers ------------------------------------------------------


def test_account_update_cannot_move_ownership(staffed, as_dev):
    ref = "youtube:acme"
    bob = staffed.vault.people.by_email("bob@example.com").id
    for change in ({"owner": "carol@example.com"}, {"clear": ("owner",)}):
        nothing_written(staffed, accounts.update_account, ref, **change,
                        match=r"ownership moves through `smvault transfer start youtube:acme --to EMAIL`")
    assert staffed.vault.accounts.by_key("youtube", "acme").owner_id == bob
    # the rest of the root of control stays editable (offboarding re-points it), and naming
    # the owner it already has is no move
    updated = one_entry(staffed, "account.update", accounts.update_account, ref, owner="bob@example.com",
                        backup_owner="dev@example.com", totp_holder="carol@example.com",
                        recovery_email_controller="carol@example.com", recovery_phone_controller="carol@example.com")
    assert updated.owner_id == bob and updated.totp_holder_id == staffed.vault.people.by_email("carol@example.com").id
    # an account with no owner gets one
    accounts.add_account(staffed, "linkedin", "acme")
    assert one_entry(staffed, "account.update", accounts.update_account, "linkedin:acme",
                     owner="carol@example.com").owner_id is not None


def test_account_update_needs_manage(staffed, as_dev):
    with as_dev() as dev:  # alice manages youtube:acme; dev does not
        nothing_written(dev, accounts.update_account, "youtube:acme", totp_holder="dev@example.com",
                        match="'manage' grant on youtube:acme")
        accounts.add_account(dev, "linkedin", "acme")  # nobody manages it: any operator may
        one_entry(dev, "account.update", accounts.update_account, "linkedin:acme", notes="taken in hand")


# -- start refusals ---------------------------------------------------------------------------


def test_start_refusals(staffed, clock, as_dev):
    nothing_written(staffed, tr.start_transfer, "youtube:acme", "bob@example.com",
                    error=ConflictError, match="already owns")
    people.add_person(staffed, "Lea Leaving", "lea@example.com")
    people.mark_leaving(staffed, "lea@example.com", date(2026, 12, 1))
    nothing_written(staffed, tr.start_transfer, "youtube:acme", "lea@example.com", match="leaving")
    first = tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    nothing_written(staffed, tr.start_transfer, "youtube:acme", "dev@example.com", error=ConflictError,
                    match=rf"open transfer \({first.workflow_id}, requested\)")
    with as_dev() as dev:  # alice manages the account; dev does not
        nothing_written(dev, tr.start_transfer, "instagram:acme", "carol@example.com", match="'manage' grant")
    nothing_written(staffed, tr.start_transfer, "youtube:acme", "carol@example.com", template="myspace",
                    error=Exception, match="unknown transfer template")


def test_an_account_nobody_manages_can_be_transferred_by_any_operator(staffed, as_dev):
    accounts.add_account(staffed, "linkedin", "acme")
    with as_dev() as dev:
        view = one_entry(dev, "transfer.start", tr.start_transfer, "linkedin:acme", "carol@example.com")
    assert view.template == "linkedin" and view.from_email is None
    assert "the previous owner" in by_kind(view)["li-remove-old"].title


def test_template_can_be_chosen(staffed):
    view = tr.start_transfer(staffed, "instagram:acme", "carol@example.com", template="generic")
    assert view.template == "generic" and view.steps[0].kind == "hand-over"


# -- steps ------------------------------------------------------------------------------------


def test_no_step_before_approval(staffed):
    tr.start_transfer(staffed, "instagram:acme", "carol@example.com")
    nothing_written(staffed, tr.resolve_transfer_step, "instagram:acme", 1, "done in BM",
                    match="not approved yet")


def test_manual_steps_take_a_note(staffed, as_dev):
    tr.start_transfer(staffed, "instagram:acme", "carol@example.com")
    with as_dev() as dev:
        tr.approve_transfer(dev, "instagram:acme")
    view = one_entry(staffed, "transfer.step", tr.resolve_transfer_step, "instagram:acme", 2,
                     "Carol has full control in the portfolio (ticket 42)")
    step = view.steps[1]
    assert (step.done, step.evidence, step.done_by) == (True, "Carol has full control in the portfolio (ticket 42)", "alice")
    entry = staffed.vault.log.entries(limit=1)[0]
    assert entry["detail"]["step"] == 2 and entry["detail"]["kind"] == "ig-assign-owner"
    nothing_written(staffed, tr.resolve_transfer_step, "instagram:acme", 2, "again",
                    error=ConflictError, match="already done")
    nothing_written(staffed, tr.resolve_transfer_step, "instagram:acme", 99, "x", error=NotFoundError)
    nothing_written(staffed, tr.resolve_transfer_step, "instagram:acme", 1, "  ", error=Exception,
                    match="note")


def test_notes_cannot_stand_in_for_facts(staffed, as_dev):
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    with as_dev() as dev:
        tr.approve_transfer(dev, "youtube:acme")
    for position, what in ((4, "new password"), (5, "new TOTP seed"), (6, "new TOTP seed"), (7, "closing")):
        nothing_written(staffed, tr.resolve_transfer_step, "youtube:acme", position, "trust me", match=what)


def test_without_totp_the_mfa_steps_take_a_note(staffed, as_dev):
    view = tr.start_transfer(staffed, "instagram:acme", "carol@example.com")  # mfa sms
    with as_dev() as dev:
        tr.approve_transfer(dev, "instagram:acme")
    positions = {s.kind: s.position for s in view.steps}
    tr.resolve_transfer_step(staffed, "instagram:acme", positions["reenrol-totp"], "SMS moved to Carol's phone")
    done = tr.resolve_transfer_step(staffed, "instagram:acme", positions["qr-enrol"], "no TOTP: SMS")
    assert by_kind(done)["reenrol-totp"].done and by_kind(done)["qr-enrol"].done


def test_youtube_primary_owner_waits_seven_days(staffed, clock, as_dev):
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    with as_dev() as dev:
        tr.approve_transfer(dev, "youtube:acme")
    waiting = tr.transfer_status(staffed, "youtube:acme")
    # no date while step 1 is open: one counted from today would move every day
    assert (waiting.steps[1].not_before, waiting.steps[1].wait) == (None, "after step 1 is done, then 7 days")
    assert "step 2 waits: after step 1 is done, then 7 days" in waiting.blockers
    nothing_written(staffed, tr.resolve_transfer_step, "youtube:acme", 2, "made primary",
                    match=r"step 2 \(yt-make-primary\) cannot be resolved yet: after step 1 is done, then 7 days")
    clock.advance(days=1)
    view = tr.resolve_transfer_step(staffed, "youtube:acme", 1, "Carol accepted the Owner invitation")
    assert view.steps[1].not_before == date(2026, 11, 10)  # seven days from the invitation
    assert view.steps[1].wait == "not before 2026-11-10"
    assert "step 2 waits until 2026-11-10" in view.blockers
    clock.advance(days=6, hours=14)  # 2026-11-09 23:30: the day before
    nothing_written(staffed, tr.resolve_transfer_step, "youtube:acme", 2, "made primary",
                    match="waits until 2026-11-10")
    clock.advance(hours=1)
    view = one_entry(staffed, "transfer.step", tr.resolve_transfer_step, "youtube:acme", 2, "made primary")
    assert view.steps[1].done


def test_password_totp_and_qr_resolve_themselves_after_approval(staffed, as_dev):
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    secrets.set_password(staffed, "youtube:acme", "set-before-approval")  # does not count
    with as_dev() as dev:
        tr.approve_transfer(dev, "youtube:acme")
    secrets.totp_qr(staffed, "youtube:acme")  # the old seed: enrols nothing
    steps = by_kind(tr.transfer_status(staffed, "youtube:acme"))
    assert not steps["rotate-password"].done and not steps["reenrol-totp"].done and not steps["qr-enrol"].done

    secrets.set_password(staffed, "youtube:acme")
    steps = by_kind(tr.transfer_status(staffed, "youtube:acme"))
    assert steps["rotate-password"].done and steps["rotate-password"].done_by == "alice"
    assert "new password stored" in steps["rotate-password"].evidence

    secrets.set_totp(staffed, "youtube:acme", "KRSXG5CTMVRXEZLU")
    steps = by_kind(tr.transfer_status(staffed, "youtube:acme"))
    assert steps["reenrol-totp"].done and not steps["qr-enrol"].done

    secrets.totp_qr(staffed, "youtube:acme")
    steps = by_kind(tr.transfer_status(staffed, "youtube:acme"))
    assert steps["qr-enrol"].done and "QR code" in steps["qr-enrol"].evidence


def test_a_seed_reveal_after_the_new_seed_also_enrols(staffed, as_dev):
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    with as_dev() as dev:
        tr.approve_transfer(dev, "youtube:acme")
    secrets.set_totp(staffed, "youtube:acme", "KRSXG5CTMVRXEZLU")
    secrets.reveal(staffed, "youtube:acme", "password")  # not the seed
    assert not by_kind(tr.transfer_status(staffed, "youtube:acme"))["qr-enrol"].done
    secrets.reveal(staffed, "youtube:acme", "totp-seed")
    assert by_kind(tr.transfer_status(staffed, "youtube:acme"))["qr-enrol"].done


def test_a_newer_seed_reopens_the_qr_step(staffed, as_dev):
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    with as_dev() as dev:
        tr.approve_transfer(dev, "youtube:acme")
    secrets.set_totp(staffed, "youtube:acme", "KRSXG5CTMVRXEZLU")
    secrets.totp_qr(staffed, "youtube:acme")
    assert by_kind(tr.transfer_status(staffed, "youtube:acme"))["qr-enrol"].done
    secrets.set_totp(staffed, "youtube:acme", "GEZDGNBVGY3TQOJQ")  # replaced after the QR
    steps = by_kind(tr.transfer_status(staffed, "youtube:acme"))
    assert not steps["qr-enrol"].done
    last = staffed.vault.log.entries(limit=1)[0]["seq"]
    assert f"log entry {last} " in steps["reenrol-totp"].evidence  # the seed in force
    secrets.totp_qr(staffed, "youtube:acme")
    assert by_kind(tr.transfer_status(staffed, "youtube:acme"))["qr-enrol"].done


def test_showing_the_new_seed_to_the_previous_owner_enrols_nothing(staffed, vault_dir, clock, as_dev):
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    with as_dev() as dev:
        tr.approve_transfer(dev, "youtube:acme")
    grants.add_grant(staffed, "bob@example.com", "youtube:acme", "reveal")
    secrets.set_password(staffed, "youtube:acme")
    secrets.set_totp(staffed, "youtube:acme", "KRSXG5CTMVRXEZLU")
    secrets.reveal(staffed, "youtube:acme", "totp-seed", for_email="bob@example.com")
    secrets.reveal(staffed, "youtube:acme", "password", for_email="bob@example.com")
    steps = by_kind(tr.transfer_status(staffed, "youtube:acme"))
    # bob knows the secrets in force: nothing he knew stopped working
    assert not steps["qr-enrol"].done and not steps["reenrol-totp"].done and not steps["rotate-password"].done
    secrets.set_password(staffed, "youtube:acme")
    secrets.set_totp(staffed, "youtube:acme", "GEZDGNBVGY3TQOJQ")
    secrets.totp_qr(staffed, "youtube:acme")
    steps = by_kind(tr.transfer_status(staffed, "youtube:acme"))
    assert steps["qr-enrol"].done and steps["reenrol-totp"].done and steps["rotate-password"].done


def test_a_secret_the_previous_owner_stored_is_no_rotation(staffed, vault_dir, clock, as_dev):
    operators.add_operator(staffed, "bob", b"bob's own passphrase", email="bob@example.com")
    grants.add_grant(staffed, "bob@example.com", "youtube:acme", "manage")
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    with as_dev() as dev:
        tr.approve_transfer(dev, "youtube:acme")
    with unlock(vault_dir, "bob", b"bob's own passphrase", clock=clock) as bob:
        secrets.set_password(bob, "youtube:acme")  # --generate shows it to bob once
        secrets.set_totp(bob, "youtube:acme", "KRSXG5CTMVRXEZLU")
    steps = by_kind(tr.transfer_status(staffed, "youtube:acme"))
    assert not steps["rotate-password"].done and not steps["reenrol-totp"].done
    secrets.set_password(staffed, "youtube:acme")
    assert by_kind(tr.transfer_status(staffed, "youtube:acme"))["rotate-password"].done


def test_steps_need_manage_and_not_the_new_owner(staffed, as_dev, vault_dir, clock):
    tr.start_transfer(staffed, "instagram:acme", "carol@example.com")
    operators.add_operator(staffed, "carol", CAROL_PASS, email="carol@example.com")
    with as_dev() as dev:
        tr.approve_transfer(dev, "instagram:acme")
        nothing_written(dev, tr.resolve_transfer_step, "instagram:acme", 1, "done",
                        match="'manage' grant on instagram:acme")
    with unlock(vault_dir, "carol", CAROL_PASS, clock=clock) as carol:
        nothing_written(carol, tr.resolve_transfer_step, "instagram:acme", 1, "done", match="'manage' grant")
    # even where she may manage (nobody else does), the new owner cannot vouch for her own transfer
    _approved_unowned_transfer(staffed, as_dev, work_through=False)
    with unlock(vault_dir, "carol", CAROL_PASS, clock=clock) as carol:
        nothing_written(carol, tr.resolve_transfer_step, "linkedin:acme", 1, "done by me",
                        match="carol@example.com receives linkedin:acme in transfer .* cannot resolve its steps")
    assert not tr.transfer_status(staffed, "linkedin:acme").steps[0].done


# -- close and cancel -------------------------------------------------------------------------


def _work_through_youtube(staffed, clock, as_dev):
    view = tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    with as_dev() as dev:
        tr.approve_transfer(dev, "youtube:acme")
    tr.resolve_transfer_step(staffed, "youtube:acme", 1, "invited; accepted")
    clock.advance(days=7)
    tr.resolve_transfer_step(staffed, "youtube:acme", 2, "Carol is primary owner")
    tr.resolve_transfer_step(staffed, "youtube:acme", 3, "Bob removed")
    secrets.set_password(staffed, "youtube:acme")
    secrets.set_totp(staffed, "youtube:acme", "KRSXG5CTMVRXEZLU")
    secrets.totp_qr(staffed, "youtube:acme")
    return view


def test_close_is_blocked_until_every_step_is_done(staffed, clock, as_dev):
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    nothing_written(staffed, tr.close_transfer, "youtube:acme", match="not approved yet")
    with as_dev() as dev:
        tr.approve_transfer(dev, "youtube:acme")
    view = tr.transfer_status(staffed, "youtube:acme")
    assert view.blockers == ("step 1 (yt-invite-owner) is not done",
                             "step 2 waits: after step 1 is done, then 7 days",
                             "step 3 (yt-remove-old) is not done", "step 4 (rotate-password) is not done",
                             "step 5 (reenrol-totp) is not done", "step 6 (qr-enrol) is not done")
    nothing_written(staffed, tr.close_transfer, "youtube:acme", match="step 2 waits: after step 1 is done")
    assert staffed.vault.accounts.by_key("youtube", "acme").owner_id != staffed.vault.people.by_email("carol@example.com").id


def test_close_moves_owner_and_root_of_control(staffed, clock, as_dev):
    started = _work_through_youtube(staffed, clock, as_dev)
    assert tr.transfer_status(staffed, "youtube:acme").blockers == ()
    vault = staffed.vault
    bob, carol = (vault.people.by_email(e).id for e in ("bob@example.com", "carol@example.com"))
    view = one_entry(staffed, "transfer.close", tr.close_transfer, "youtube:acme")
    account = vault.accounts.by_key("youtube", "acme")
    assert (account.owner_id, account.backup_owner_id) == (carol, None)  # backup was carol: cleared
    assert account.recovery_email_controller_id == account.recovery_phone_controller_id == carol
    assert account.totp_holder_id == carol
    assert (view.state, view.closed_by, view.blockers) == ("closed", "alice", ("the transfer is closed",))
    assert all(s.done for s in view.steps)
    root = by_kind(view)["update-root-of-control"]
    assert "owner_id: bob@example.com -> carol@example.com" in root.evidence
    changes = {c["field"]: (c["before"], c["after"]) for c in vault.log.entries(limit=1)[0]["detail"]["changes"]}
    assert changes["owner_id"] == ({"id": bob, "email": "bob@example.com"}, {"id": carol, "email": "carol@example.com"})
    assert changes["backup_owner_id"] == ({"id": carol, "email": "carol@example.com"}, {"id": None, "email": None})
    assert set(changes) == {"owner_id", "backup_owner_id", "recovery_email_controller_id",
                            "recovery_phone_controller_id", "totp_holder_id"}
    # auto steps were written down at close, with who did them
    stored = {s.kind: s for s in vault.workflows.get(started.workflow_id).steps}
    assert stored["rotate-password"].done and "new password stored" in stored["rotate-password"].evidence
    assert stored["qr-enrol"].done
    assert vault.log.verify().ok
    nothing_written(staffed, tr.close_transfer, str(started.workflow_id), error=ConflictError, match="already closed")
    nothing_written(staffed, tr.resolve_transfer_step, str(started.workflow_id), 1, "x", error=ConflictError)


def test_close_leaves_fields_the_old_owner_did_not_control(staffed, as_dev):
    vault = staffed.vault
    tr.start_transfer(staffed, "instagram:acme", "carol@example.com")
    with as_dev() as dev:
        view = tr.approve_transfer(dev, "instagram:acme")
    for step in view.steps:
        if step.manual or step.kind in ("reenrol-totp", "qr-enrol"):
            tr.resolve_transfer_step(staffed, "instagram:acme", step.position, "done")
    secrets.set_password(staffed, "instagram:acme")
    tr.close_transfer(staffed, "instagram:acme")
    account = vault.accounts.by_key("instagram", "acme")
    assert account.owner_id == vault.people.by_email("carol@example.com").id
    assert account.recovery_email_controller_id == vault.people.by_email("dev@example.com").id


def test_only_a_manager_closes(staffed, clock, as_dev):
    _work_through_youtube(staffed, clock, as_dev)
    with as_dev() as dev:
        nothing_written(dev, tr.close_transfer, "youtube:acme", match="'manage' grant")


def test_cancel_by_any_operator_then_a_new_transfer_can_start(staffed, as_dev):
    first = tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    with as_dev() as dev:
        nothing_written(dev, tr.cancel_transfer, "youtube:acme", "", error=Exception, match="reason")
        view = one_entry(dev, "transfer.cancel", tr.cancel_transfer, "youtube:acme", "wrong person")
    assert (view.state, view.cancel_reason, view.closed_by) == ("cancelled", "wrong person", "dev")
    nothing_written(staffed, tr.approve_transfer_as, str(first.workflow_id), "dev", DEV_PASS,
                    error=ConflictError, match="already cancelled")
    second = tr.start_transfer(staffed, "youtube:acme", "dev@example.com")
    assert tr.transfer_status(staffed, "youtube:acme").workflow_id == second.workflow_id
    tr.cancel_transfer(staffed, "youtube:acme", "changed plans")
    assert tr.transfer_status(staffed, "youtube:acme").workflow_id == second.workflow_id  # latest
    assert staffed.vault.accounts.by_key("youtube", "acme").owner_id == staffed.vault.people.by_email("bob@example.com").id


def test_status_lookups(staffed):
    nothing_written(staffed, tr.transfer_status, "youtube:acme", error=NotFoundError, match="no transfer for youtube:acme")
    nothing_written(staffed, tr.transfer_status, "999", error=NotFoundError, match="no transfer 999")
    view = tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    before = head(staffed)
    assert tr.transfer_status(staffed, str(view.workflow_id)) == tr.transfer_status(staffed, "youtube:acme")
    assert head(staffed) == before  # reads log nothing


def _approved_unowned_transfer(staffed, as_dev, work_through=True):
    """linkedin:acme has no owner (nobody manages it): a transfer to carol, approved, and
    with `work_through` every step done."""
    accounts.add_account(staffed, "linkedin", "acme", mfa="sms")
    tr.start_transfer(staffed, "linkedin:acme", "carol@example.com")
    with as_dev() as dev:
        view = tr.approve_transfer(dev, "linkedin:acme")
    if not work_through:
        return
    for step in view.steps:
        if step.manual or step.kind in ("reenrol-totp", "qr-enrol"):
            tr.resolve_transfer_step(staffed, "linkedin:acme", step.position, "done")
    secrets.set_password(staffed, "linkedin:acme")
    assert tr.transfer_status(staffed, "linkedin:acme").blockers == ()


def test_owner_changed_meanwhile_blocks_close(staffed, as_dev):
    _approved_unowned_transfer(staffed, as_dev)
    accounts.update_account(staffed, "linkedin:acme", owner="dev@example.com")  # it had none
    view = tr.transfer_status(staffed, "linkedin:acme")
    assert view.blockers == ("the owner of linkedin:acme changed since the transfer was requested "
                             "(now dev@example.com): cancel it and start a new one",)
    nothing_written(staffed, tr.close_transfer, "linkedin:acme", match="owner of linkedin:acme changed")
    assert staffed.vault.accounts.by_key("linkedin", "acme").owner_id == staffed.vault.people.by_email("dev@example.com").id


def test_an_account_without_owner_reads_as_nobody(staffed, as_dev):
    """No owner at the request, or none any more (a vault edited before `account update`
    refused to clear an owner): status, close and cancel name nobody instead of failing."""
    _approved_unowned_transfer(staffed, as_dev)
    assert tr.transfer_status(staffed, "linkedin:acme").from_email is None
    closed = tr.close_transfer(staffed, "linkedin:acme")
    assert "owner_id: - -> carol@example.com" in by_kind(closed)["update-root-of-control"].evidence
    tr.start_transfer(staffed, "youtube:acme", "carol@example.com")
    with staffed.atomic():  # what an older smvault allowed: `account update --clear owner`
        staffed.vault.accounts.update(staffed.vault.accounts.by_key("youtube", "acme").id, {"owner_id": None})
    view = tr.transfer_status(staffed, "youtube:acme")
    assert view.from_email == "bob@example.com"
    assert "(now nobody)" in view.blockers[-1]
    nothing_written(staffed, tr.close_transfer, "youtube:acme", match="now nobody")
    assert tr.cancel_transfer(staffed, "youtube:acme", "owner gone").state == "cancelled"


def test_every_mutation_one_entry_and_the_chain_verifies(staffed, clock, as_dev):
    """The full walk, counting every entry: exactly one per mutation (and dev's unlock)."""
    before = head(staffed)
    _work_through_youtube(staffed, clock, as_dev)
    tr.close_transfer(staffed, "youtube:acme")
    actions = [e["action"] for e in staffed.vault.log.entries(after_seq=before, newest_first=False)]
    assert actions == ["transfer.start", "vault.unlock", "transfer.approve", "transfer.step", "transfer.step",
                       "transfer.step", "secret.password.set", "secret.totp.set", "totp.qr", "transfer.close"]
    assert staffed.vault.log.verify().ok
