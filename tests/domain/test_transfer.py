"""Transfer rules, pure: templates, dual control, facts after approval, waits, close rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

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


def test_dual_control():
    ok = dict(state="requested", requester_id=1, requester_person_id=10, approver_id=2,
              approver_person_id=20, new_owner_id=30)
    rules.require_approvable(**ok)
    with pytest.raises(PolicyError, match="requested a transfer cannot approve"):
        rules.require_approvable(**{**ok, "approver_id": 1, "approver_person_id": 10})
    with pytest.raises(PolicyError, match="cannot approve"):  # same person, other operator name
        rules.require_approvable(**{**ok, "approver_person_id": 10})
    with pytest.raises(PolicyError, match="new owner"):
        rules.require_approvable(**{**ok, "approver_person_id": 30})
    with pytest.raises(ConflictError, match="already approved"):
        rules.require_approvable(**{**ok, "state": "approved"})
    with pytest.raises(ConflictError, match="cancelled"):
        rules.require_approvable(**{**ok, "state": "cancelled"})


def test_notes_only_where_no_fact_can_resolve_the_step():
    assert rules.note_refusal("yt-invite-owner", True) is None
    assert "closing" in rules.note_refusal("update-root-of-control", False)
    assert "password" in rules.note_refusal("rotate-password", False)
    assert rules.note_refusal("reenrol-totp", True) and rules.note_refusal("qr-enrol", True)
    assert rules.note_refusal("reenrol-totp", False) is None and rules.note_refusal("qr-enrol", False) is None


def _e(seq, action, **extra):
    return {"seq": seq, "action": action, "op": "alice", "ts": "2026-11-02T10:00:00Z", **extra}


def test_facts_count_only_after_approval_by_sequence():
    entries = [_e(5, "secret.password.set"), _e(6, "secret.totp.set"), _e(7, "totp.qr"),
               _e(9, "totp.qr"), _e(8, "secret.totp.set"), _e(10, "secret.password.set")]
    facts = rules.auto_facts(entries, approved_seq=7)
    assert {k: f.seq for k, f in facts.items()} == {"reenrol-totp": 8, "qr-enrol": 9, "rotate-password": 10}
    assert "log entry 10 by alice" in facts["rotate-password"].evidence
    assert rules.auto_facts(entries, approved_seq=10) == {}


def test_qr_must_follow_the_new_seed():
    assert "qr-enrol" not in rules.auto_facts([_e(3, "totp.qr"), _e(4, "secret.totp.set")], 2)
    reveal = rules.auto_facts([_e(3, "secret.totp.set"), _e(4, "secret.reveal", field="password"),
                               _e(5, "secret.reveal", field="totp-seed")], 2)
    assert reveal["qr-enrol"].seq == 5


def _step(position, kind="manual", wait=0, done_at=None):
    return Step(id=position, workflow_id=1, position=position, kind=kind, account_id=None, grant_id=None,
                data={"wait_days": wait} if wait else {},
                state=StepState.DONE if done_at else StepState.OPEN, done_at=done_at)


def test_waits_count_from_the_step_before():
    steps = [_step(1), _step(2, wait=7), _step(3)]
    assert rules.not_before(steps, 1, NOW, NOW) is None
    assert rules.not_before(steps, 2, NOW, NOW) == date(2026, 11, 9)  # earliest: step 1 today
    later = datetime(2026, 11, 5, 23, 0, tzinfo=timezone.utc)
    assert rules.not_before(steps, 2, NOW, later) == date(2026, 11, 12)
    steps[0] = replace(steps[0], state=StepState.DONE, done_at=datetime(2026, 11, 3, tzinfo=timezone.utc))
    assert rules.not_before(steps, 2, NOW, later) == date(2026, 11, 10)


def test_a_first_step_wait_counts_from_approval():
    steps = [_step(1, wait=7)]
    assert rules.not_before(steps, 1, datetime(2026, 10, 1, tzinfo=timezone.utc), NOW) == date(2026, 10, 8)
    assert rules.not_before(steps, 1, None, NOW) == date(2026, 11, 9)


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
    steps = [S(1, "a", True, None), S(2, "b", False, date(2026, 11, 9)), S(3, "c", False, None),
             S(4, "update-root-of-control", False, None)]
    today = date(2026, 11, 2)
    assert rules.blockers("requested", steps, today) == (
        "not approved yet: a second operator must approve it", "step 2 waits until 2026-11-09",
        "step 3 (c) is not done")
    assert rules.blockers("approved", steps, date(2026, 11, 9)) == (
        "step 2 (b) is not done", "step 3 (c) is not done")
    done = [S(1, "a", True, None), S(4, "update-root-of-control", False, None)]
    assert rules.blockers("approved", done, today) == ()
    assert rules.blockers("approved", done, today, ["owner changed"]) == ("owner changed",)
    assert rules.blockers("closed", done, today) == ("the transfer is closed",)
