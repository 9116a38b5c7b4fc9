"""Access reviews on real vaults: snapshot, final decisions, revoke on decision, close at 100 %,
the report and its checkpoint, and the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
from contextlib import contextmanager
from datetime import date, timedelta

import pytest

from smvault.domain.errors import ConflictError, InvalidInputError, NotFoundError, PolicyError
from smvault.services import accounts, grants, people
from smvault.services import review as reviews


@pytest.fixture
def staffed(session, clock):
    """alice (operator) manages x:acme and instagram:acme; bob, cara and dev hold access;
    one grant expired, one revoked, and dev has left."""
    for name, mail in [("Bob Brown", "bob@example.com"), ("Cara Chu", "cara@example.com"),
                       ("Dev Das", "dev@example.com")]:
        people.add_person(session, name, mail)
    for platform, handle in [("x", "acme"), ("instagram", "acme"), ("tiktok", "acme")]:
        accounts.add_account(session, platform, handle)
    grants.add_grant(session, "alice@example.com", "x:acme", "manage")
    grants.add_grant(session, "alice@example.com", "instagram:acme", "manage")
    grants.add_grant(session, "bob@example.com", "x:acme", "reveal")
    grants.add_grant(session, "cara@example.com", "instagram:acme", "code-only")
    grants.add_grant(session, "cara@example.com", "x:acme", "code-only", expires_at=clock.now + timedelta(hours=1))
    grants.add_grant(session, "dev@example.com", "x:acme", "reveal")
    grants.add_grant(session, "bob@example.com", "instagram:acme", "platform-admin")
    grants.revoke_grants(session, "bob@example.com", "instagram:acme")
    people.mark_leaving(session, "dev@example.com", clock.now.date())  # left today
    clock.advance(hours=2)  # cara's x:acme grant has expired
    return session


OLGA_PASSPHRASE = b"olga has her own passphrase"


@contextmanager
def as_olga(session, vault_dir, clock):
    """A session of a second operator, olga, who manages both accounts from the first call on
    (after the snapshot the test took): alice may not decide on her own grants."""
    from smvault.services import operators
    from smvault.services.session import unlock

    if session.vault.operators.by_name("olga") is None:
        operators.add_operator(session, "olga", OLGA_PASSPHRASE, email="olga@example.com", person_name="Olga Ops")
        for ref in ("x:acme", "instagram:acme"):
            grants.add_grant(session, "olga@example.com", ref, "manage")
    olga = unlock(vault_dir, "olga", OLGA_PASSPHRASE, clock=clock)
    try:
        yield olga
    finally:
        olga.close()


def keys(view):
    return [(i.account_key, i.person_email, i.level) for i in view.items]


def log_count(session):
    return session.vault.log.count()


def last_entry(session):
    return session.vault.log.entries(limit=1)[0]


def test_snapshot_holds_the_grants_in_force(staffed):
    view = reviews.start_review(staffed)
    assert keys(view) == [
        ("instagram:acme", "alice@example.com", "manage"),
        ("instagram:acme", "cara@example.com", "code-only"),
        ("x:acme", "alice@example.com", "manage"),
        ("x:acme", "bob@example.com", "reveal"),
        ("x:acme", "dev@example.com", "reveal"),
    ]
    assert [i.position for i in view.items] == [1, 2, 3, 4, 5]
    assert (view.state, view.decided, view.total, view.platform, view.due) == ("open", 0, 5, None, None)
    assert view.opened_by == "alice" and all(i.decision is None for i in view.items)
    assert last_entry(staffed)["detail"]["holders_left"] == 1


def test_grants_of_people_who_left_are_reviewed_and_marked(staffed):
    """Dev left with his grant neither revoked nor expired: leftover access a review must catch."""
    view = reviews.start_review(staffed, platform="x")
    dev = next(i for i in view.items if i.person_email == "dev@example.com")
    assert dev.holder_left and not any(i.holder_left for i in view.items if i is not dev)
    after = reviews.decide(staffed, view.workflow_id, dev.position, "revoke", "left the company")
    assert after.items[dev.position - 1].effect == "grant revoked"
    row = next(r for r in reviews.review_report(staffed, view.workflow_id).tables[0].rows if r[3] == "dev@example.com")
    assert row[-1] == "yes"


def test_nobody_decides_on_their_own_grant(staffed, vault_dir, clock):
    view = reviews.start_review(staffed, platform="x")
    own = next(i.position for i in view.items if i.person_email == "alice@example.com")
    before = log_count(staffed)
    for decision in ("keep", "revoke"):
        with pytest.raises(PolicyError, match=f"item {own} is your own grant"):
            reviews.decide(staffed, view.workflow_id, own, decision, "I still need it")
    assert log_count(staffed) == before
    with as_olga(staffed, vault_dir, clock) as olga:
        decided = reviews.decide(olga, view.workflow_id, own, "keep", "runs the account")
    assert decided.items[own - 1].decided_by == "olga"


def test_platform_filter_and_aliases(staffed):
    view = reviews.start_review(staffed, platform="IG", due=date(2026, 11, 30))
    assert keys(view) == [("instagram:acme", "alice@example.com", "manage"),
                          ("instagram:acme", "cara@example.com", "code-only")]
    assert (view.platform, view.due, view.scope) == ("instagram", date(2026, 11, 30), "instagram")
    entry = last_entry(staffed)
    assert entry["action"] == "review.start"
    assert entry["detail"] == {"review": view.workflow_id, "scope": "instagram", "count": 2, "holders_left": 0,
                               "due": "2026-11-30"}


def test_empty_scope_and_past_due_are_refused_without_a_trace(staffed):
    before = log_count(staffed)
    with pytest.raises(InvalidInputError, match="no grants in force on tiktok accounts"):
        reviews.start_review(staffed, platform="tiktok")
    with pytest.raises(InvalidInputError, match="in the past"):
        reviews.start_review(staffed, due=staffed.now().date() - timedelta(days=1))
    with pytest.raises(InvalidInputError, match="unknown platform"):
        reviews.start_review(staffed, platform="myspace")
    assert log_count(staffed) == before and reviews.list_reviews(staffed, include_closed=True) == []


def test_snapshot_does_not_follow_later_changes(staffed):
    view = reviews.start_review(staffed, platform="x")
    grants.add_grant(staffed, "cara@example.com", "x:acme", "reveal")
    people.update_person(staffed, "bob@example.com", name="Robert Brown")
    again = reviews.review_status(staffed, view.workflow_id)
    assert keys(again) == keys(view) and again.items[1].person_name == "Bob Brown"


def test_decisions_are_final(staffed):
    view = reviews.start_review(staffed)
    after = reviews.decide(staffed, view.workflow_id, 2, "keep", "needs codes for posting")
    item = after.items[1]
    assert (item.decision, item.reason, item.decided_by, item.effect) == ("keep", "needs codes for posting", "alice", "kept")
    assert item.decided_at == staffed.ts() and after.decided == 1
    before = log_count(staffed)
    for decision in ("keep", "revoke"):
        with pytest.raises(ConflictError, match="step 2 of review .* already done"):
            reviews.decide(staffed, view.workflow_id, 2, decision, "changed my mind")
    assert log_count(staffed) == before
    assert reviews.review_status(staffed, view.workflow_id).items[1].decision == "keep"


def test_revoke_applies_at_decision(staffed):
    view = reviews.start_review(staffed)
    bob = view.items[3]
    before = log_count(staffed)
    after = reviews.decide(staffed, view.workflow_id, 4, "REVOKE", "no longer on the team")
    assert log_count(staffed) == before + 1
    assert after.items[3].effect == "grant revoked"
    assert staffed.vault.grants.get(bob.grant_id).revoked_at == staffed.now()
    assert grants.list_grants(staffed, email="bob@example.com") == []
    entry = last_entry(staffed)
    assert entry["action"] == "review.decide" and entry["acct"] == "x:acme"
    assert entry["person"] == staffed.vault.people.by_email("bob@example.com").id
    assert entry["detail"] == {"review": view.workflow_id, "position": 4, "grant": bob.grant_id,
                               "decision": "revoke", "reason": "no longer on the team", "revoked": True}


def test_grant_revoked_elsewhere_is_recorded_in_the_evidence(staffed, clock):
    view = reviews.start_review(staffed)
    revoked_at = staffed.ts()
    grants.revoke_grants(staffed, "bob@example.com", "x:acme")
    clock.advance(minutes=5)
    after = reviews.decide(staffed, view.workflow_id, 4, "revoke", "left the team")
    assert after.items[3].effect == f"grant already revoked at {revoked_at}"
    assert last_entry(staffed)["detail"]["revoked"] is False
    assert staffed.vault.grants.get(view.items[3].grant_id).revoked_at.isoformat().startswith(revoked_at[:19])


def test_deciding_needs_manage_on_the_account(staffed):
    # Bob manages tiktok:acme; alice does not, so she may not decide on grants there.
    grants.add_grant(staffed, "alice@example.com", "tiktok:acme", "manage")
    grants.add_grant(staffed, "bob@example.com", "tiktok:acme", "manage")
    grants.revoke_grants(staffed, "alice@example.com", "tiktok:acme")
    view = reviews.start_review(staffed, platform="tiktok")
    before = log_count(staffed)
    for decision in ("keep", "revoke"):
        with pytest.raises(PolicyError, match="needs a 'manage' grant on tiktok:acme"):
            reviews.decide(staffed, view.workflow_id, 1, decision, "looks fine")
    assert log_count(staffed) == before
    assert reviews.review_status(staffed, view.workflow_id).decided == 0
    assert staffed.vault.grants.get(view.items[0].grant_id).revoked_at is None


def test_reason_and_position_are_checked(staffed):
    view = reviews.start_review(staffed)
    before = log_count(staffed)
    with pytest.raises(InvalidInputError, match="reason"):
        reviews.decide(staffed, view.workflow_id, 1, "keep", "   ")
    with pytest.raises(InvalidInputError, match="control characters"):
        reviews.decide(staffed, view.workflow_id, 1, "keep", "ok\x1b[2J")
    with pytest.raises(InvalidInputError, match="keep or revoke"):
        reviews.decide(staffed, view.workflow_id, 1, "maybe", "hmm")
    with pytest.raises(NotFoundError, match="has no step 9"):
        reviews.decide(staffed, view.workflow_id, 9, "keep", "ok")
    with pytest.raises(NotFoundError, match="no access review 999"):
        reviews.decide(staffed, 999, 1, "keep", "ok")
    assert log_count(staffed) == before


def test_close_only_at_100_percent(staffed, vault_dir, clock):
    view = reviews.start_review(staffed, platform="instagram")
    with as_olga(staffed, vault_dir, clock) as olga:
        reviews.decide(olga, view.workflow_id, 1, "keep", "owner")  # alice's own grant
    before = log_count(staffed)
    with pytest.raises(PolicyError, match="1 of 2 undecided"):
        reviews.close_review(staffed, view.workflow_id)
    assert log_count(staffed) == before
    reviews.decide(staffed, view.workflow_id, 2, "revoke", "not needed")
    closed = reviews.close_review(staffed, view.workflow_id)
    assert (closed.state, closed.closed_by, closed.closed_at) == ("closed", "alice", staffed.ts())
    entry = last_entry(staffed)
    assert entry["action"] == "review.close"
    assert entry["detail"] == {"review": view.workflow_id, "total": 2, "kept": 1, "revoked": 1}
    before = log_count(staffed)
    with pytest.raises(ConflictError, match="already closed"):
        reviews.close_review(staffed, view.workflow_id)
    assert log_count(staffed) == before


def test_every_mutation_adds_exactly_one_entry_and_the_chain_verifies(staffed, vault_dir, clock):
    before = log_count(staffed)
    reviews.start_review(staffed, platform="instagram")
    assert log_count(staffed) == before + 1
    with as_olga(staffed, vault_dir, clock) as olga:  # olga decides on alice's own grant
        steps = [
            (olga, lambda s: reviews.decide(s, 1, 1, "keep", "manager")),
            (staffed, lambda s: reviews.decide(s, 1, 2, "revoke", "moved teams")),
            (staffed, lambda s: reviews.close_review(s, 1)),
            (staffed, lambda s: reviews.review_report(s, 1)),
        ]
        actions = ["review.start"]
        for who, step in steps:
            before = log_count(who)
            step(who)
            assert log_count(who) == before + 1
            actions.append(last_entry(who)["action"])
    assert actions == ["review.start", "review.decide", "review.decide", "review.close", "review.report"]
    before = log_count(staffed)
    reviews.review_status(staffed, 1)
    reviews.list_reviews(staffed, include_closed=True)
    assert log_count(staffed) == before  # reads log nothing
    assert staffed.vault.log.verify().ok


def test_report_contents_and_checkpoint(staffed):
    view = reviews.start_review(staffed, due=date(2026, 11, 20))
    reviews.decide(staffed, view.workflow_id, 4, "revoke", "left the team")
    report = reviews.review_report(staffed, view.workflow_id)  # works on an open review
    head = staffed.vault.log.head()
    assert report.checkpoint.seq == head.seq and report.checkpoint.entry_hash == head.entry_hash.hex()
    assert report.checkpoint.vault_id == staffed.vault.vault_id
    entry = last_entry(staffed)
    assert (entry["seq"], entry["action"]) == (head.seq, "review.report")
    facts = dict(report.facts)
    assert facts["Scope"] == "all platforms" and facts["Due"] == "2026-11-20" and facts["State"] == "open"
    assert facts["Opened by"] == "alice" and facts["Progress"] == "1 of 5 decided (0 kept, 1 revoked)"
    rows = report.tables[0].rows
    assert len(rows) == 5
    assert rows[3][1:9] == ("x:acme", "Bob Brown", "bob@example.com", "reveal", view.items[3].grant_id,
                            "revoke", "left the team", "grant revoked")
    assert rows[3][9] == "alice" and rows[0][6] == "undecided"
    body = json.loads(report.render("json"))
    assert body["checkpoint"]["seq"] == head.seq and body["tables"]["Decisions"][3]["decided by"] == "alice"
    assert report.checkpoint.line() in report.render("md")


def test_report_csv_is_formula_safe(staffed):
    people.add_person(staffed, "=HYPERLINK(\"http://evil\",\"x\")", "eve@example.com")
    grants.add_grant(staffed, "eve@example.com", "x:acme", "reveal")
    view = reviews.start_review(staffed, platform="x")
    eve = next(i.position for i in view.items if i.person_email == "eve@example.com")
    reviews.decide(staffed, view.workflow_id, eve, "keep", "+1 from the manager; @ops agrees")
    rows = list(csv.reader(io.StringIO(reviews.review_report(staffed, view.workflow_id).render("csv"))))
    eve_row = next(r for r in rows if "eve@example.com" in r)
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in eve_row
    assert "'+1 from the manager; @ops agrees" in eve_row
    assert not any(c.startswith(("=", "+", "-", "@")) for row in rows for c in row)


def test_overdue_reviews_are_marked(staffed, clock, vault_dir):
    view = reviews.start_review(staffed, due=staffed.now().date())
    assert not view.overdue
    clock.advance(days=1)
    assert reviews.review_status(staffed, view.workflow_id).overdue
    (summary,) = reviews.list_reviews(staffed)
    assert (summary.workflow_id, summary.overdue, summary.decided, summary.total) == (view.workflow_id, True, 0, 5)
    with as_olga(staffed, vault_dir, clock) as olga:
        for position in range(1, 6):
            reviews.decide(olga, view.workflow_id, position, "keep", "fine")
    reviews.close_review(staffed, view.workflow_id)
    assert not reviews.review_status(staffed, view.workflow_id).overdue  # closed: no longer overdue
    assert reviews.list_reviews(staffed) == []
    assert [r.state for r in reviews.list_reviews(staffed, include_closed=True)] == ["closed"]


# --- CLI ----------------------------------------------------------------------------------

@pytest.fixture
def cli(run_cli, pin_clock):
    pin_clock("2026-11-02T09:30:00Z")
    assert run_cli("init", "--operator", "alice", "--email", "alice@example.com", operator=None).code == 0
    assert run_cli("person", "add", "Bob B", "--email", "bob@example.com").code == 0
    for platform in ("instagram", "x"):
        assert run_cli("account", "add", platform, "acme").code == 0
        assert run_cli("grant", "add", "alice@example.com", f"{platform}:acme", "--level", "manage").code == 0
    assert run_cli("grant", "add", "bob@example.com", "x:acme", "--level", "reveal").code == 0
    return run_cli


@pytest.fixture
def as_olga_cli(cli, tmp_path):
    """`smvault ...` as a second operator, olga, added after the reviews' snapshots (she
    manages x:acme): alice may not decide on her own grants."""
    passphrase = tmp_path / "olga-pass"
    passphrase.write_text("olga keeps her own passphrase\n")

    def run(*args):
        if not any(o["name"] == "olga" for o in json.loads(cli("operator", "list", "--json").out)):
            assert cli("operator", "add", "olga", "--email", "olga@example.com",
                       "--new-passphrase-file", str(passphrase)).code == 0
            assert cli("grant", "add", "olga@example.com", "x:acme", "--level", "manage").code == 0
        return cli("--passphrase-file", str(passphrase), *args, operator="olga")

    return run


def test_cli_review_walkthrough(cli, as_olga_cli, tmp_path):
    started = cli("review", "start", "--platform", "x", "--due", "2026-11-30", "--json")
    assert started.code == 0
    body = json.loads(started.out)
    assert (body["id"], body["total"], body["due"], body["scope"]) == (1, 2, "2026-11-30", "x")
    assert [i["email"] for i in body["items"]] == ["alice@example.com", "bob@example.com"]

    status = cli("review", "status", "1")
    assert status.code == 0 and "0 of 2 decided" in status.out and "undecided" in status.out

    decided = cli("review", "decide", "1", "2", "revoke", "--reason", "left the brand team")
    assert decided.code == 0 and "grant revoked" in decided.out and "1 of 2 decided" in decided.out
    again = cli("review", "decide", "1", "2", "keep", "--reason", "oops")
    assert again.code == 1 and "already done" in again.err
    assert cli("review", "decide", "1", "1", "keep").code == 2  # --reason is required

    refused = cli("review", "close", "1")
    assert refused.code == 5 and "1 of 2 undecided" in refused.err
    own = cli("review", "decide", "1", "1", "keep", "--reason", "I need it")
    assert own.code == 5 and "your own grant" in own.err
    assert as_olga_cli("review", "decide", "1", "1", "keep", "--reason", "owner").code == 0
    assert cli("review", "close", "1").code == 0

    out = tmp_path / "review.csv"
    written = cli("review", "report", "1", "--format", "csv", "--out", str(out))
    assert written.code == 0 and os.stat(out).st_mode & 0o777 == 0o600
    assert "left the brand team" in out.read_text() and "checkpoint" in out.read_text()
    md = cli("review", "report", "1")
    assert md.code == 0 and md.out.startswith("# Access review 1") and "smvault checkpoint vault=" in md.out

    assert cli("review", "list").out.strip().endswith("(none)")
    listed = json.loads(cli("review", "list", "--all", "--json").out)
    assert [(r["id"], r["state"], r["decided"], r["total"]) for r in listed] == [(1, "closed", 2, 2)]


def test_cli_overdue_and_errors(cli, pin_clock):
    assert cli("review", "start", "--due", "2026-11-01").code == 1  # in the past
    assert cli("review", "start", "--due", "someday").code == 2
    assert cli("review", "start", "--platform", "tiktok").code == 1
    assert cli("review", "start", "--due", "2026-11-02").code == 0
    pin_clock("2026-11-05T09:30:00Z")
    assert "open (OVERDUE)" in cli("review", "list").out
    assert "OVERDUE" in cli("review", "status", "1").out
    assert json.loads(cli("review", "status", "1", "--json").out)["overdue"] is True
    assert cli("review", "status", "7").code == 1


def test_cli_report_leaves_an_existing_file_alone_when_it_fails(cli, tmp_path):
    out = tmp_path / "review.md"
    out.write_text("last quarter's review\n")
    unknown = cli("review", "report", "99", "--out", str(out))
    assert unknown.code == 1 and "no access review 99" in unknown.err
    assert out.read_text() == "last quarter's review\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert cli("review", "start").code == 0
    missing = cli("review", "report", "1", "--out", str(tmp_path / "none" / "r.md"))
    assert missing.code == 2 and "No such file or directory" in missing.err
    actions = [e["action"] for e in json.loads(cli("log", "tail", "-n", "100", "--json").out)]
    assert "review.report" not in actions
    assert cli("review", "report", "1", "--out", str(out)).code == 0
    assert out.read_text().startswith("# Access review 1")


def test_cli_marks_holders_who_left(cli):
    assert cli("person", "leave", "bob@example.com", "--on", "2026-11-01").code == 0
    body = json.loads(cli("review", "start", "--platform", "x", "--json").out)
    assert [(i["email"], i["holder_left"]) for i in body["items"]] == [
        ("alice@example.com", False), ("bob@example.com", True)]
    assert "bob@example.com (holder left)" in cli("review", "status", "1").out
