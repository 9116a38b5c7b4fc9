"""Transfer rules, pure: templates, dual control, facts after approval, waits, close rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from smvault.domain import transfer as rules
from smvault.domain.errors import ConflictError, InvalidInputError, PolicyError
from smvault.domain.models import Account
from smvault.domain.workflow import Step, StepState

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)


def test_platform_picks_its_template_and_others_fall_back_to_generic():
    assert [rules.template_for(p) for p in ("facebook", "instagram", "x", "linkedin", "youtube", "tiktok")] == [
        "meta", "instagram", "x", "linkedin", "youtube", "tiktok"]
    assert rules.template_for("mastodon") == "generic"
    assert rules.template_for("youtube", " Generic ") == "generic"
    with pytest.raises(InvalidInputError, match="unknown transfer template 'myspace'"):
        rules.template_for("x", "myspace")


@pytest.mark.parametrize("name", sorted(rules.TEMPLATES))
def test_every_template_ends_with_the_common_steps(name):
    kinds = [t.kind for t in rules.step_templates(name)]
    assert kinds[-4:] == ["rotate-password", "reenrol-totp", "qr-enrol", "update-root-of-control"]
    assert len(kinds) > 4 and len(set(kinds)) == len(kinds)
    assert not any(rules.is_auto(k) for k in kinds[:-4])


def test_only_youtube_waits_and_titles_name_the_people():
    waits = {(name, t.kind, t.wait_days) for name in rules.TEMPLATES for t in rules.step_templates(name) if t.wait_days}
    assert waits == {("youtube", "yt-make-primary", 7)}
    specs = rules.plan_steps("youtube", "youtube:acme", "Carol (carol@x.com)", None)
    assert specs[1].data == {"title": specs[1].data["title"], "wait_days": 7}
    assert "Carol (carol@x.com)" in specs[0].data["title"]
    assert "the previous owner" in specs[2].data["title"]
    assert all("{" not in s.data["title"] for s in specs)
    assert "QR" in specs[4].data["title"] and "totp-seed" in specs[4].data["title"]


BEFORE = datetime(2026, 10, 1, tzinfo=timezone.utc)


def _approver(**changes):
    facts = dict(operator_id=2, person_id=20, name="dev", added_by=3, own_passphrase=False,
                 created_at=BEFORE, added_after_request=False, person_active=True)
    return rules.Approver(**{**facts, **changes})


def _approve(approver=None, **changes):
    args = dict(state="requested", requester_id=1, requester_person_id=10, new_owner_id=30, opened_at=NOW)
    rules.require_approvable(approver=approver or _approver(), **{**args, **changes})


def test_dual_control():
    _approve()
    with pytest.raises(PolicyError, match="requested a transfer cannot approve"):
        _approve(_approver(operator_id=1, person_id=10))
    with pytest.raises(PolicyError, match="cannot approve"):  # same person, other operator name
        _approve(_approver(person_id=10))
    with pytest.raises(PolicyError, match="new owner"):
        _approve(_approver(person_id=30))
    with pytest.raises(ConflictError, match="already approved"):
        _approve(state="approved")
    with pytest.raises(ConflictError, match="cancelled"):
        _approve(state="cancelled")


def test_an_approver_the_requester_could_hold_the_passphrase_of_is_refused():
    with pytest.raises(PolicyError, match="'dev' was added by the operator who requested"):
        _approve(_approver(added_by=1))
    with pytest.raises(PolicyError, match="'dev' was added after this transfer was requested"):
        _approve(_approver(created_at=NOW + timedelta(seconds=1)))
    _approve(_approver(created_at=NOW))  # the same second: the log says which came first
    with pytest.raises(PolicyError, match="added after"):  # by the log, whatever the clock said
        _approve(_approver(created_at=NOW, added_after_request=True))
    with pytest.raises(PolicyError, match="added after"):
        _approve(_approver(created_at=BEFORE, added_after_request=True))
    _approve(_approver(added_by=None))  # the vault's first operator
    _approve(_approver(added_by=1, own_passphrase=True))  # set their own since being added


def test_an_approver_who_has_left_or_is_leaving_is_refused():
    with pytest.raises(PolicyError, match="'dev' cannot approve: their person has left or is leaving"):
        _approve(_approver(person_active=False))


def test_notes_only_where_no_fact_can_resolve_the_step():
    assert rules.note_refusal("yt-invite-owner", True) is None
    assert "closing" in rules.note_refusal("update-root-of-control", False)
    assert "password" in rules.note_refusal("rotate-password", False)
    assert rules.note_refusal("reenrol-totp", True) and rules.note_refusal("qr-enrol", True)
    assert rules.note_refusal("reenrol-totp", False) is None and rules.note_refusal("qr-enrol", False) is None


def _e(seq, action, **extra):
    return {"seq": seq, "action": action, "op": "alice", "ts": "2026-11-02T10:00:00Z", **extra}


def _seqs(facts):
    return {k: f.seq for k, f in facts.items()}


def test_facts_count_only_after_approval_by_sequence():
    entries = [_e(5, "secret.password.set"), _e(6, "secret.totp.set"), _e(7, "totp.qr"),
               _e(9, "totp.qr"), _e(8, "secret.totp.set"), _e(10, "secret.password.set")]
    facts = rules.auto_facts(entries, approved_seq=7)
    assert _seqs(facts) == {"reenrol-totp": 8, "qr-enrol": 9, "rotate-password": 10}
    assert "log entry 10 by alice" in facts["rotate-password"].evidence
    assert rules.auto_facts(entries, approved_seq=10) == {}


def test_the_last_secret_stored_is_the_fact():
    facts = rules.auto_facts([_e(3, "secret.password.set"), _e(4, "secret.password.set"),
                              _e(5, "secret.totp.set"), _e(6, "secret.totp.set")], 2)
    assert _seqs(facts) == {"rotate-password": 4, "reenrol-totp": 6}


def test_qr_must_show_the_seed_in_force():
    assert "qr-enrol" not in rules.auto_facts([_e(3, "totp.qr"), _e(4, "secret.totp.set")], 2)
    reveal = rules.auto_facts([_e(3, "secret.totp.set"), _e(4, "secret.reveal", field="password"),
                               _e(5, "secret.reveal", field="totp-seed")], 2)
    assert reveal["qr-enrol"].seq == 5
    # a seed replaced after its QR reopens the step until the new one is shown
    replaced = [_e(3, "secret.totp.set"), _e(4, "totp.qr"), _e(5, "secret.totp.set")]
    assert _seqs(rules.auto_facts(replaced, 2)) == {"reenrol-totp": 5}
    assert _seqs(rules.auto_facts([*replaced, _e(6, "totp.qr")], 2)) == {"reenrol-totp": 5, "qr-enrol": 6}


def test_what_the_previous_owner_was_shown_resolves_nothing():
    OLD, NEW = 7, 8
    seed = [_e(3, "secret.totp.set")]
    assert "qr-enrol" not in rules.auto_facts([*seed, _e(4, "secret.reveal", field="totp-seed", to=OLD)], 2, OLD)
    # ... and the seed they saw no longer counts as re-enrolled; a new one (and its QR) does
    shown_old = [*seed, _e(4, "totp.qr", to=NEW), _e(5, "totp.qr", to=OLD)]
    assert rules.auto_facts(shown_old, 2, OLD) == {}
    assert _seqs(rules.auto_facts([*shown_old, _e(6, "secret.totp.set"), _e(7, "totp.qr", to=NEW)], 2, OLD)) == {
        "reenrol-totp": 6, "qr-enrol": 7}
    password = [_e(3, "secret.password.set"), _e(4, "secret.copy", field="password", to=OLD)]
    assert rules.auto_facts(password, 2, OLD) == {}
    assert _seqs(rules.auto_facts(password, 2, previous_owner_id=None)) == {"rotate-password": 3}
    assert _seqs(rules.auto_facts([*password, _e(5, "secret.password.set")], 2, OLD)) == {"rotate-password": 5}


def test_what_the_previous_owner_stored_or_handed_over_resolves_nothing():
    OLD, NEW = 7, 8
    by_old = {"op": "bob"}  # bob is an operator name of the previous owner
    stored = [_e(3, "secret.password.set", **by_old), _e(4, "secret.totp.set", **by_old)]
    assert rules.auto_facts(stored, 2, OLD, {"bob"}) == {}
    assert _seqs(rules.auto_facts(stored, 2, OLD, {"someone-else"})) == {"rotate-password": 3, "reenrol-totp": 4}
    seed = [_e(3, "secret.totp.set")]
    handed = _e(4, "secret.reveal", field="totp-seed", to=NEW, **{"for": True})
    assert "qr-enrol" not in rules.auto_facts([*seed, {**handed, "by": OLD}], 2, OLD)
    assert "qr-enrol" not in rules.auto_facts([*seed, {**handed, "op": "bob"}], 2, OLD, {"bob"})
    assert rules.auto_facts([*seed, handed], 2, OLD, {"bob"})["qr-enrol"].seq == 4


def _step(position, kind="manual", wait=0, done_at=None):
    return Step(id=position, workflow_id=1, position=position, kind=kind, account_id=None, grant_id=None,
                data={"wait_days": wait} if wait else {},
                state=StepState.DONE if done_at else StepState.OPEN, done_at=done_at)


def test_a_wait_has_no_date_until_the_step_before_is_done():
    steps = [_step(1), _step(2, wait=7), _step(3)]
    assert rules.wait_for(steps, 1, NOW) is None
    wait = rules.wait_for(steps, 2, NOW)
    assert (wait.until, wait.after) == (None, "step 1")
    assert wait.describe() == "after step 1 is done, then 7 days"
    assert wait.waits() == "waits: after step 1 is done, then 7 days"
    assert not wait.over(date(2030, 1, 1))  # never over while step 1 is open
    steps[0] = replace(steps[0], state=StepState.DONE, done_at=datetime(2026, 11, 3, tzinfo=timezone.utc))
    wait = rules.wait_for(steps, 2, NOW)
    assert wait.until == date(2026, 11, 10) and wait.describe() == "not before 2026-11-10"
    assert wait.waits() == "waits until 2026-11-10"
    assert not wait.over(date(2026, 11, 9)) and wait.over(date(2026, 11, 10))


def test_a_first_step_wait_counts_from_approval():
    steps = [_step(1, wait=7)]
    assert rules.wait_for(steps, 1, datetime(2026, 10, 1, tzinfo=timezone.utc)).until == date(2026, 10, 8)
    before_approval = rules.wait_for(steps, 1, None)
    assert before_approval.until is None and before_approval.describe() == "after approval, then 7 days"


def test_ownership_changes():
    account = Account(id=1, platform="x", handle="acme", owner_id=1, backup_owner_id=2,
                      recovery_email_controller_id=1, recovery_phone_controller_id=3, totp_holder_id=1)
    assert rules.ownership_changes(account, 1, 2) == {
        "owner_id": (1, 2), "backup_owner_id": (2, None),
        "recovery_email_controller_id": (1, 2), "totp_holder_id": (1, 2)}
    assert rules.ownership_changes(account, 1, 4) == {
        "owner_id": (1, 4), "recovery_email_controller_id": (1, 4), "totp_holder_id": (1, 4)}
    unowned = Account(id=2, platform="x", handle="b", recovery_email_controller_id=None)
    assert rules.ownership_changes(unowned, None, 5) == {"owner_id": (None, 5)}


def test_blockers():
    S = rules.StepStatus
    counting = rules.Wait(7, "step 1", date(2026, 11, 9))
    steps = [S(1, "a", True), S(2, "b", False, counting), S(3, "c", False),
             S(4, "update-root-of-control", False)]
    today = date(2026, 11, 2)
    assert rules.blockers("requested", steps, today) == (
        "not approved yet: a second operator must approve it", "step 2 waits until 2026-11-09",
        "step 3 (c) is not done")
    assert rules.blockers("approved", steps, date(2026, 11, 9)) == (
        "step 2 (b) is not done", "step 3 (c) is not done")
    not_started = [S(1, "a", False), S(2, "b", False, rules.Wait(7, "step 1", None))]
    assert rules.blockers("approved", not_started, today) == (
        "step 1 (a) is not done", "step 2 waits: after step 1 is done, then 7 days")
    done = [S(1, "a", True), S(4, "update-root-of-control", False)]
    assert rules.blockers("approved", done, today) == ()
    assert rules.blockers("approved", done, today, ["owner changed"]) == ("owner changed",)
    assert rules.blockers("closed", done, today) == ("the transfer is closed",)
