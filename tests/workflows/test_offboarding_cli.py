"""`smvault offboard ...`: output, JSON, exit codes, reports (formula-safe CSV, private files)."""

from __future__ import annotations

import csv
import io
import json
import os
import stat

import pytest

LEAVES = "2099-12-31"
EVIL = '=HYPERLINK("http://evil.example","click")'
CARA = "cara@example.com"
ALICE = "alice@example.com"  # the operator: a successor must be one


@pytest.fixture
def cli(run_cli):
    """Cara (named like a spreadsheet formula) revealed x:one's password and solely holds the
    TOTP device of youtube:solo; dev is a second person who could take over."""
    assert run_cli("init", "--operator", "alice", "--email", "alice@example.com", operator=None).code == 0
    assert run_cli("person", "add", EVIL, "--email", CARA).code == 0
    assert run_cli("person", "add", "Dev", "--email", "dev@example.com").code == 0
    assert run_cli("account", "add", "x", "one", "--login-id", "one@example.com", "--mfa", "none").code == 0
    assert run_cli("grant", "add", "alice@example.com", "x:one", "--level", "manage").code == 0
    assert run_cli("grant", "add", CARA, "x:one", "--level", "reveal").code == 0
    assert run_cli("secret", "set-password", "x:one", stdin="first-password-1\n").code == 0
    assert run_cli("secret", "reveal", "x:one", "--for", CARA).code == 0
    assert run_cli("account", "add", "youtube", "solo", "--login-id", "solo@example.com", "--mfa", "totp",
                   "--totp-holder", CARA).code == 0
    return run_cli


def offboard_entries(run) -> list[dict]:
    entries = json.loads(run("log", "tail", "-n", "500", "--json").out)
    return [e for e in entries if e["action"].startswith("offboard.")]


def test_dry_run_shows_the_plan_and_changes_nothing(cli):
    result = cli("offboard", "start", CARA, "--on", LEAVES, "--dry-run", "--json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["state"] == "plan" and plan["workflow_id"] is None and plan["leave_on"] == LEAVES
    assert [(s["kind"], s["account_key"], s["learned"]) for s in plan["steps"]] == [
        ("revoke-grants", None, None), ("rotate-password", "x:one", "did"), ("reenrol-totp", "youtube:solo", None)]
    assert plan["blocking"] == [["youtube:solo", 0], ["x:one", 1]]
    text = cli("offboard", "start", CARA, "--dry-run")
    assert "Dry run: nothing was changed (the unlock is logged, as on every command)." in text.out
    assert "2. [ ] Rotate the password of x:one" in text.out and "[did learn]" in text.out
    assert offboard_entries(cli) == []
    assert cli("offboard", "status", CARA).code == 1  # nothing was started
    assert json.loads(cli("person", "show", CARA, "--json").out)["leave_on"] is None


def test_start_needs_a_date_and_refuses_a_second_one(cli):
    result = cli("offboard", "start", CARA)
    assert result.code == 1 and "give --on DATE" in result.err
    assert cli("offboard", "start", CARA, "--on", "someday").code == 2
    assert cli("offboard", "start", CARA, "--on", LEAVES).code == 0
    again = cli("offboard", "start", CARA, "--on", LEAVES)
    assert again.code == 1 and "already open" in again.err
    assert cli("offboard", "start", "ghost@example.com", "--on", LEAVES).code == 1


def test_walk_through_steps_status_and_close(cli):
    started = cli("offboard", "start", CARA, "--on", LEAVES)
    assert started.code == 0
    assert "Offboarding 1 of" in started.out and f"leaves {LEAVES}" in started.out
    assert "  1. [ ] Revoke every vault grant" in started.out
    assert "youtube:solo: 0 controllers" in started.out
    assert f"smvault offboard close {CARA} --successor EMAIL" in started.out

    assert cli("secret", "set-password", "x:one", "--generate").code == 0
    status = cli("offboard", "status", CARA)
    assert "  2. [x] Rotate the password of x:one" in status.out and "evidence: password set by alice" in status.out

    assert cli("offboard", "step", CARA, "3").code == 2  # --note is required
    noted = cli("offboard", "step", CARA, "3", "--note", "new authenticator enrolled by IT")
    assert noted.code == 0 and "Step 3 resolved" in noted.out
    again = cli("offboard", "step", CARA, "3", "--note", "again")
    assert again.code == 1 and "already resolved" in again.err
    assert cli("offboard", "step", CARA, "9", "--note", "x").code == 1

    revoked = cli("offboard", "revoke-grants", CARA)
    assert (revoked.code, revoked.out) == (0, f"Revoked 1 grant of {CARA}.\n")
    assert cli("offboard", "revoke-grants", CARA).code == 1

    refused = cli("offboard", "close", CARA)
    assert refused.code == 5 and "youtube:solo (0)" in refused.err and "--successor" in refused.err
    closed = cli("offboard", "close", CARA, "--successor", ALICE, "--json")
    assert closed.code == 0, closed.err
    view = json.loads(closed.out)
    assert view["state"] == "closed" and view["successor_email"] == ALICE
    assert view["open_steps"] == [] and view["override_reason"] is None
    assert [e["action"] for e in offboard_entries(cli)] == [
        "offboard.start", "offboard.step", "offboard.revoke-grants", "offboard.close"]
    shown = cli("offboard", "status", CARA)
    assert "closed" in shown.out and f"Successor: {ALICE}" in shown.out
    assert f"youtube:solo: 0 controllers (successor: {ALICE})" in shown.out
    assert cli("log", "verify").code == 0


def test_close_over_open_steps_needs_an_override(cli):
    cli("offboard", "start", CARA, "--on", LEAVES)
    refused = cli("offboard", "close", CARA, "--successor", ALICE)
    assert refused.code == 5 and "--override" in refused.err and "2 rotate-password x:one" in refused.err
    closed = cli("offboard", "close", CARA, "--successor", ALICE, "--override", "IT rotates on Monday")
    assert closed.code == 0
    assert "reason: IT rotates on Monday" in closed.out
    assert offboard_entries(cli)[-1]["detail"]["override"] == "IT rotates on Monday"


def test_reports_in_three_formats_end_with_a_checkpoint(cli, tmp_path):
    cli("offboard", "start", CARA, "--on", LEAVES)
    cli("offboard", "close", CARA, "--successor", ALICE, "--override", "HR confirmed")

    md = cli("offboard", "report", CARA)
    assert md.code == 0 and md.out.startswith("# Offboarding of")
    assert "**override reason**: HR confirmed" in md.out and "## Log checkpoint" in md.out
    report_entry = offboard_entries(cli)[-1]
    assert report_entry["action"] == "offboard.report"
    assert f"seq={report_entry['seq']}" in md.out

    data = json.loads(cli("offboard", "report", CARA, "--format", "json").out)
    assert data["facts"]["successor"] == ALICE and data["state"] == "closed"
    assert data["tables"]["Accounts below two controllers without the leaver"] == [
        {"account": "youtube:solo", "controllers": 0, "successor": ALICE},
        {"account": "x:one", "controllers": 1, "successor": ALICE}]
    steps = data["tables"]["Steps"]
    assert steps[1]["kind"] == "rotate-password" and steps[1]["state"] == "open at close (override)"
    learned = data["tables"]["What the person learned (disclosures to them or by them)"]
    assert [(e["action"], e["account"], e["field"]) for e in learned] == [("secret.reveal", "x:one", "password")]
    revoked = data["tables"]["Grants revoked by this offboarding"]
    assert [(g["account"], g["level"]) for g in revoked] == [("x:one", "reveal")]
    assert data["checkpoint"]["seq"] == offboard_entries(cli)[-1]["seq"]

    out = tmp_path / "cara.csv"
    written = cli("offboard", "report", CARA, "--format", "csv", "--out", str(out))
    assert written.code == 0 and written.out == f"Wrote {out}.\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    cells = [cell for row in csv.reader(io.StringIO(out.read_text())) for cell in row]
    assert f"'{EVIL} <{CARA}>" in cells  # quoted: a spreadsheet shows it, never runs it
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert cells[-1].startswith("smvault checkpoint vault=")
    missing = cli("offboard", "report", CARA, "--out", str(tmp_path / "no" / "such" / "dir.md"))
    assert missing.code == 2 and "cannot write the report to" in missing.err and "No such file" in missing.err


def test_report_needs_an_offboarding(cli):
    result = cli("offboard", "report", CARA)
    assert result.code == 1 and "no offboarding" in result.err


# --- --out: a private file, made before the report is, replaced whole ---------------------------


def log_actions(run) -> list[str]:
    return [e["action"] for e in json.loads(run("log", "tail", "-n", "1000", "--json").out)]


def leftovers(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_report_to_an_unwritable_place_fails_first_and_logs_nothing(cli, tmp_path):
    cli("offboard", "start", CARA, "--on", LEAVES)
    not_a_dir = tmp_path / "plain-file"
    not_a_dir.write_text("x")
    before = log_actions(cli)
    target = not_a_dir / "report.md"
    refused = cli("offboard", "report", CARA, "--out", str(target))
    assert refused.code == 2 and f"cannot write the report to {target}: Not a directory" in refused.err
    after = log_actions(cli)
    # Only the unlock of the second `log tail`: the report command never unlocked, nor logged a report.
    assert len(after) == len(before) + 1 and "offboard.report" not in after
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        denied = cli("offboard", "report", CARA, "--out", str(locked / "r.md"))
        assert denied.code == 2 and "Permission denied" in denied.err


def test_report_replaces_an_existing_file_whole_and_private(cli, tmp_path):
    cli("offboard", "start", CARA, "--on", LEAVES)
    out = tmp_path / "cara.md"
    out.write_text("an older report\n")
    out.chmod(0o644)
    unknown = cli("offboard", "report", "ghost@example.com", "--out", str(out))
    assert unknown.code == 1 and out.read_text() == "an older report\n"  # a failed report leaves it alone
    assert leftovers(tmp_path) == []
    assert cli("offboard", "report", CARA, "--out", str(out)).code == 0
    assert out.read_text().startswith("# Offboarding of") and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == []


def test_report_never_writes_through_a_symlink(cli, tmp_path):
    cli("offboard", "start", CARA, "--on", LEAVES)
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not yours to overwrite\n")
    link = tmp_path / "report.md"
    link.symlink_to(elsewhere)
    assert cli("offboard", "report", CARA, "--out", str(link)).code == 0
    assert elsewhere.read_text() == "not yours to overwrite\n"
    assert not link.is_symlink() and link.read_text().startswith("# Offboarding of")
    assert stat.S_IMODE(link.stat().st_mode) == 0o600
