"""`smvault report NAME`: formats, --out files, the checkpoint, exit codes."""

from __future__ import annotations

import csv
import io
import json
import stat

from tests.reports.conftest import CARA

EVIL = '=HYPERLINK("http://evil.example","click")'


def test_markdown_by_default_on_stdout_ending_with_the_logged_checkpoint(org, run_cli, pin_clock):
    pin_clock(org.now)
    result = run_cli("report", "access-matrix")
    assert result.code == 0, result.err
    assert result.out.startswith("# Access matrix\n")
    assert "| Cara Chen | cara@example.com | left | youtube:legacy | reveal | alice |" in result.out
    head = org.session.vault.log.head()
    [entry] = org.session.vault.log.entries(limit=1)
    assert entry["action"] == "report.run" and entry["detail"] == {"name": "access-matrix", "rows": 9}
    assert f"seq={head.seq} hash={head.entry_hash.hex()}" in result.out.splitlines()[-1]


def test_csv_and_json(org, run_cli, pin_clock):
    pin_clock(org.now)
    result = run_cli("report", "recovery-codes", "--format", "csv")
    assert result.code == 0, result.err
    rows = list(csv.reader(io.StringIO(result.out)))
    assert ["Running low", "linkedin:full", "1", "active", "2", "0", "2"] in rows
    assert rows[-1][0] == "checkpoint"
    result = run_cli("report", "workflows", "--format", "json")
    body = json.loads(result.out)
    assert body["report"] == "workflows" and body["rows"] == 2
    assert [w["kind"] for w in body["tables"]["Open workflows"]] == ["review", "offboarding"]
    assert body["checkpoint"]["seq"] == org.session.vault.log.head().seq


def test_out_writes_a_private_file_and_replaces_an_old_one(org, run_cli, pin_clock, tmp_path):
    pin_clock(org.now)
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "leavers.md"
    target.write_text("old report\n")
    target.chmod(0o644)
    result = run_cli("report", "leavers", "--out", str(target))
    assert result.code == 0, result.err
    assert result.out == f"Wrote {target}.\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text()
    assert text.startswith("# Leavers still holding access") and CARA in text
    assert [p.name for p in folder.iterdir()] == ["leavers.md"]  # no temporary file left


def test_out_into_a_missing_folder_fails_before_anything_is_logged(org, run_cli, tmp_path):
    before = org.session.vault.log.head().seq
    result = run_cli("report", "mfa", "--out", str(tmp_path / "no" / "such" / "mfa.md"))
    assert result.code == 2 and "cannot write the report" in result.err
    assert org.session.vault.log.head().seq == before  # not even unlocked


def test_an_unknown_report_exits_2_listing_the_names(org, run_cli):
    before = org.session.vault.log.head().seq
    result = run_cli("report", "everything")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("smvault: unknown report 'everything': expected one of access-matrix, ")
    assert "recovery-codes" in result.err
    assert org.session.vault.log.head().seq == before
    assert run_cli("report", "mfa", "--format", "xlsx").code == 2


def test_help_lists_every_report(run_cli):
    from smvault.services.reports import REPORTS

    result = run_cli("report", "--help", operator=None)
    assert result.code == 0 and all(name in result.out for name in REPORTS)


def test_csv_from_the_cli_neutralises_formulas(session, run_cli):
    from smvault.services import accounts, grants, people

    people.add_person(session, EVIL, "evil@example.com")
    accounts.add_account(session, "x", "+cmd")
    grants.add_grant(session, "evil@example.com", "x:+cmd", "reveal")
    result = run_cli("report", "access-matrix", "--format", "csv")
    assert result.code == 0, result.err
    rows = list(csv.reader(io.StringIO(result.out)))
    [row] = [r for r in rows if r[0] == "Grants in force" and r[2] == "evil@example.com"]
    assert row[1] == "'" + EVIL and row[4] == "x:+cmd"
    [grant] = json.loads(run_cli("report", "access-matrix", "--format", "json").out)["tables"]["Grants in force"]
    assert grant["person"] == EVIL and grant["account"] == "x:+cmd"  # JSON keeps the value as it is
