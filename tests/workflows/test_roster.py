"""Roster sync on real vaults: mapping, bad files, dry run, apply (all or nothing), the CLI."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from smvault.domain.errors import InvalidInputError, UsageError
from smvault.domain.models import PersonType
from smvault.domain.roster import RosterFileError
from smvault.domain.workflow import WorkflowKind
from smvault.services import accounts, grants, offboarding, people, roster

DATA = Path(__file__).resolve().parent / "data"
HR_FLAGS = ["email=Work Email", "name=Full Name", "team=Department", "type=Worker Type",
            "status=Employment Status", "end_date=End Date"]
TODAY = date(2026, 11, 2)  # the `clock` fixture's day


@pytest.fixture
def staffed(session, clock):
    """Matches tests/workflows/data/hr_export.csv: alice's team changes, bob is renamed, cara's
    contract ends, dev is terminated, erin is missing from the file, fay left long ago,
    new.hire is new."""
    for name, mail, team, type_ in [("Bob", "bob@example.com", "Brand", "employee"),
                                    ("Cara Jones", "cara@example.com", "Social", "contractor"),
                                    ("Dev Patel", "dev@example.com", "Social", "employee"),
                                    ("Erin Gone", "erin@example.com", "Social", "employee"),
                                    ("Fay Left", "fay@example.com", None, "employee")]:
        people.add_person(session, name, mail, team, None, type_)
    people.mark_leaving(session, "fay@example.com", date(2026, 1, 31))
    accounts.add_account(session, "x", "acme")
    grants.add_grant(session, "alice@example.com", "x:acme", "manage")
    grants.add_grant(session, "dev@example.com", "x:acme", "reveal")
    return session


def mapping():
    return roster.load_mapping(HR_FLAGS)


def snapshot(session):
    """Everything a sync may touch: people, workflows, the log."""
    return (session.vault.people.all(), session.vault.workflows.summaries(open_only=False),
            session.vault.log.count(), session.vault.log.head())


def test_plan_by_flags_and_by_mapping_file_agree(staffed):
    by_flags = roster.plan_roster_sync(staffed, DATA / "hr_export.csv", mapping())
    by_file = roster.plan_roster_sync(staffed, DATA / "hr_export.csv",
                                      roster.load_mapping(mapping_file=DATA / "hr_mapping.toml"))
    assert by_flags == by_file
    assert [n.row.email for n in by_flags.new] == ["new.hire@example.com"]
    assert [(c.person.email, c.updates()) for c in by_flags.changed] == [
        ("alice@example.com", {"team": "Security"}), ("bob@example.com", {"name": "Bob Builder"})]
    assert [(lv.person.email, lv.on, lv.opens_offboarding) for lv in by_flags.leaving] == [
        ("cara@example.com", date(2026, 12, 31), True), ("dev@example.com", TODAY, True)]
    assert [(lv.person.email, lv.on) for lv in by_flags.gone] == [("erin@example.com", TODAY)]
    assert not by_flags.mark_missing and by_flags.marked_gone == ()


def test_flags_override_the_mapping_file(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[columns]\nemail = "Mail"\nname = "Name"\n')
    assert roster.load_mapping(["email=Work Email"], path) == {"email": "Work Email", "name": "Name"}
    with pytest.raises(UsageError):
        roster.load_mapping(["email"])
    with pytest.raises(InvalidInputError, match="cannot read the mapping file"):
        roster.load_mapping(mapping_file=tmp_path / "missing.toml")


def test_dry_run_changes_nothing(staffed):
    before = snapshot(staffed)
    roster.plan_roster_sync(staffed, DATA / "hr_export.csv", mapping())
    assert snapshot(staffed) == before


def test_bad_rows_are_all_reported_and_nothing_is_applied(staffed, tmp_path):
    bad = tmp_path / "hr_bad.csv"
    shutil.copy(DATA / "hr_bad.csv", bad)
    before = snapshot(staffed)
    with pytest.raises(RosterFileError) as caught:
        roster.apply_roster_sync(staffed, bad)
    assert [p.split(": ")[0] for p in caught.value.problems] == [f"{bad}:{n}" for n in range(3, 11)]
    assert caught.value.problems[0] == f"{bad}:3: email: 'not-an-email' is not an email address"
    assert snapshot(staffed) == before


def test_missing_mapped_header_is_an_error_naming_it(staffed):
    with pytest.raises(RosterFileError, match="no column 'Department' in the header"):
        roster.plan_roster_sync(staffed, DATA / "hr_bad.csv", {"team": "Department"})


def test_unreadable_files(staffed, tmp_path):
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("email,name\na@example.com,Ann\nz@example.com,Zo\xeb\n".encode("latin-1"))
    with pytest.raises(InvalidInputError, match=f"{latin}:3: not UTF-8 text \\(byte 45\\)"):
        roster.plan_roster_sync(staffed, latin)
    with pytest.raises(InvalidInputError, match="cannot read the roster file"):
        roster.plan_roster_sync(staffed, tmp_path / "nope.csv")


def test_without_mark_missing_people_missing_from_the_file_are_left_alone(staffed):
    result = roster.apply_roster_sync(staffed, DATA / "hr_export.csv", mapping())
    assert (result.added, result.updated, result.marked_leaving) == (1, 2, 2)
    assert result.offboardings == ("cara@example.com", "dev@example.com")
    assert [lv.person.email for lv in result.plan.gone] == ["erin@example.com"]  # listed only
    assert staffed.vault.people.by_email("erin@example.com").leave_on is None


def test_operators_missing_from_the_file_are_never_marked(staffed):
    from smvault.services import operators

    operators.add_operator(staffed, "erin", b"erin's own passphrase", email="erin@example.com")
    plan = roster.plan_roster_sync(staffed, DATA / "hr_export.csv", mapping(), mark_missing=True)
    assert plan.gone == () and [p.email for p in plan.missing_operators] == ["erin@example.com"]
    result = roster.apply_roster_sync(staffed, DATA / "hr_export.csv", mapping(), mark_missing=True)
    assert "erin@example.com" not in result.offboardings
    assert staffed.vault.people.by_email("erin@example.com").leave_on is None


def test_apply_adds_updates_marks_leaving_and_opens_offboardings(staffed):
    before = staffed.vault.log.count()
    result = roster.apply_roster_sync(staffed, DATA / "hr_export.csv", mapping(), mark_missing=True)
    assert (result.added, result.updated, result.marked_leaving) == (1, 2, 3)
    assert result.offboardings == ("cara@example.com", "dev@example.com", "erin@example.com")

    vault = staffed.vault
    hire = vault.people.by_email("new.hire@example.com")
    assert (hire.name, hire.team, hire.type, hire.leave_on) == ("Hire, New", "Social", PersonType.AGENCY, None)
    assert vault.people.by_email("alice@example.com").team == "Security"
    assert vault.people.by_email("bob@example.com").name == "Bob Builder"
    assert vault.people.by_email("cara@example.com").leave_on == date(2026, 12, 31)
    assert vault.people.by_email("dev@example.com").leave_on == TODAY
    assert vault.people.by_email("erin@example.com").leave_on == TODAY
    assert vault.people.by_email("fay@example.com").leave_on == date(2026, 1, 31)  # untouched
    for mail in result.offboardings:
        (workflow,) = vault.workflows.find(WorkflowKind.OFFBOARDING, person_id=vault.people.by_email(mail).id)
        assert workflow.data["leave_on"] == vault.people.by_email(mail).leave_on.isoformat()

    # One entry per person change, as the underlying services make them.
    entries = vault.log.entries(after_seq=0, newest_first=False)[-(vault.log.count() - before):]
    assert [(e["action"], e.get("person")) for e in entries] == [
        ("person.add", hire.id),
        ("person.update", vault.people.by_email("alice@example.com").id),
        ("person.update", vault.people.by_email("bob@example.com").id),
        ("offboard.start", vault.people.by_email("cara@example.com").id),
        ("offboard.start", vault.people.by_email("dev@example.com").id),
        ("offboard.start", vault.people.by_email("erin@example.com").id),
    ]
    assert vault.log.verify().ok

    # Applying the same file again: nothing left to do (and nothing logged).
    count = vault.log.count()
    again = roster.apply_roster_sync(staffed, DATA / "hr_export.csv", mapping(), mark_missing=True)
    assert again.plan.empty and vault.log.count() == count


def test_people_with_an_offboarding_only_get_their_date_moved(staffed):
    offboarding.start_offboarding(staffed, "cara@example.com", on=date(2026, 12, 15))
    plan = roster.plan_roster_sync(staffed, DATA / "hr_export.csv", mapping())
    cara = next(lv for lv in plan.leaving if lv.person.email == "cara@example.com")
    assert (cara.on, cara.opens_offboarding) == (date(2026, 12, 31), False)
    head = staffed.vault.log.head().seq
    result = roster.apply_roster_sync(staffed, DATA / "hr_export.csv", mapping())
    assert "cara@example.com" not in result.offboardings
    assert staffed.vault.people.by_email("cara@example.com").leave_on == date(2026, 12, 31)
    cara_id = staffed.vault.people.by_email("cara@example.com").id
    assert len(staffed.vault.workflows.find(WorkflowKind.OFFBOARDING, open_only=False, person_id=cara_id)) == 1
    leave = [e for e in staffed.vault.log.entries(after_seq=head) if e["action"] == "person.leave"]
    assert [(e["person"], e["detail"]) for e in leave] == [(cara_id, {"on": "2026-12-31"})]


def test_failure_mid_apply_leaves_nothing(staffed, monkeypatch):
    real = offboarding.start_offboarding
    calls = []

    def second_fails(session, email, on=None):
        calls.append(email)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(session, email, on=on)

    monkeypatch.setattr(offboarding, "start_offboarding", second_fails)
    before = snapshot(staffed)
    with pytest.raises(RuntimeError, match="disk on fire"):
        roster.apply_roster_sync(staffed, DATA / "hr_export.csv", mapping(), mark_missing=True)
    assert calls == ["cara@example.com", "dev@example.com"]  # adds and updates had already run
    assert snapshot(staffed) == before
    assert staffed.vault.log.verify().ok


def test_plan_reads_the_vault_a_fixed_number_of_times(staffed, tmp_path):
    """No per-row queries: a 10-row and a 400-row file cost the same statements."""

    def statements(rows: int) -> int:
        path = tmp_path / f"r{rows}.csv"
        lines = ["email,name,team"] + [f"p{i}@example.com,Person {i},Ops" for i in range(rows)]
        path.write_text("\n".join(lines) + "\n")
        seen = []
        staffed.vault.conn.set_trace_callback(seen.append)
        try:
            plan = roster.plan_roster_sync(staffed, path)
        finally:
            staffed.vault.conn.set_trace_callback(None)
        assert len(plan.new) == rows
        return len(seen)

    assert statements(400) == statements(10)


# --- CLI ----------------------------------------------------------------------------------

@pytest.fixture
def cli(run_cli, pin_clock):
    pin_clock("2026-11-02T09:30:00Z")
    assert run_cli("init", "--operator", "alice", "--email", "alice@example.com",
                   "--name", "Alice Admin", operator=None).code == 0
    for args in (["Bob", "--email", "bob@example.com", "--team", "Brand"],
                 ["Cara Jones", "--email", "cara@example.com", "--team", "Social", "--type", "contractor"],
                 ["Dev Patel", "--email", "dev@example.com", "--team", "Social"],
                 ["Erin Gone", "--email", "erin@example.com", "--team", "Social"]):
        assert run_cli("person", "add", *args).code == 0
    return run_cli


def column_args():
    return [arg for flag in HR_FLAGS for arg in ("--column", flag)]


def test_cli_dry_run_prints_the_plan(cli):
    before = cli("log", "tail", "--json").out
    result = cli("person", "sync", str(DATA / "hr_export.csv"), "--mapping", str(DATA / "hr_mapping.toml"))
    assert result.code == 0, result.err
    out = result.out
    for heading in ("New (1):", "Changed (2):", "Leaving / ending (2):",
                    "Missing from the file, left as they are (1; --mark-missing makes them leave today):"):
        assert heading in out
    assert out.index("New (1)") < out.index("Changed") < out.index("Leaving") < out.index("Missing")
    marked = cli("person", "sync", str(DATA / "hr_export.csv"), "--mapping", str(DATA / "hr_mapping.toml"),
                 "--mark-missing")
    assert "Missing from the file (leave today) (1):" in marked.out
    assert "name: Bob -> Bob Builder" in out and "team: - -> Security" in out
    assert out.rstrip().endswith("dry run: nothing changed; use --apply")
    people_json = json.loads(cli("person", "list", "--json").out)
    assert not any(p["email"] == "new.hire@example.com" for p in people_json)
    # Only the unlocks were logged.
    tail = [e["action"] for e in json.loads(cli("log", "tail", "--json").out)]
    assert len(tail) > len(json.loads(before)) and set(tail[len(json.loads(before)):]) == {"vault.unlock"}


def test_cli_apply_and_json(cli):
    planned = json.loads(cli("person", "sync", str(DATA / "hr_export.csv"), *column_args(), "--json").out)
    assert [n["email"] for n in planned["new"]] == ["new.hire@example.com"]
    assert planned["changed"][0]["changes"] == {"team": {"old": None, "new": "Security"}}
    assert [g["email"] for g in planned["gone"]] == ["erin@example.com"] and "applied" not in planned
    assert planned["mark_missing"] is False and planned["missing_operators"] == []
    result = cli("person", "sync", str(DATA / "hr_export.csv"), *column_args(), "--apply", "--mark-missing")
    assert result.code == 0, result.err
    assert "Applied: 1 added, 2 updated, 3 given a leave date, 3 offboardings opened." in result.out
    assert "dry run" not in result.out
    listed = {p["email"]: p for p in json.loads(cli("person", "list", "--json").out)}
    assert listed["new.hire@example.com"]["type"] == "agency"
    assert listed["dev@example.com"]["status"] == "left" and listed["cara@example.com"]["status"] == "leaving"
    again = cli("person", "sync", str(DATA / "hr_export.csv"), *column_args(), "--apply", "--mark-missing")
    assert "The vault already matches the file." in again.out and "Nothing to apply." in again.out


def test_cli_bad_file_prints_every_problem_and_exits_1(cli, tmp_path):
    bad = tmp_path / "hr_bad.csv"
    shutil.copy(DATA / "hr_bad.csv", bad)
    before = cli("person", "list", "--json").out
    result = cli("person", "sync", str(bad), "--apply")
    assert result.code == 1 and result.out == ""
    lines = result.err.splitlines()
    assert lines[:-1] == [
        f"{bad}:3: email: 'not-an-email' is not an email address",
        f"{bad}:4: email: missing",
        f"{bad}:5: name: missing",
        f"{bad}:6: type: 'intern' is not employee, contractor, agency",
        f"{bad}:7: status: 'on leave' is not one of active, leaving, terminated, inactive, left",
        f"{bad}:8: end_date: '31/12/2026' is not a date (YYYY-MM-DD)",
        f"{bad}:9: end_date: missing: status 'leaving' needs an end date",
        f"{bad}:10: email: ok@example.com is listed twice (lines 2 and 10)",
    ]
    assert lines[-1] == f"smvault: 8 problems in {bad}: nothing was applied"
    assert cli("person", "list", "--json").out == before


def test_cli_mapping_errors(cli, tmp_path):
    result = cli("person", "sync", str(DATA / "hr_export.csv"))  # default headers: not in this file
    assert result.code == 1 and f"{DATA / 'hr_export.csv'}:1: email: no column 'email' in the header" in result.err
    assert cli("person", "sync", str(DATA / "hr_export.csv"), "--column", "email").code == 2
    assert cli("person", "sync", str(DATA / "hr_export.csv"), "--column", "phone=Mobile").code == 2
    assert cli("person", "sync", str(tmp_path / "missing.csv")).code == 1


def test_cli_warns_about_operators_missing_from_the_file(cli, tmp_path):
    passphrase = tmp_path / "p"
    passphrase.write_text("erin's own passphrase\n")
    assert cli("operator", "add", "erin", "--email", "erin@example.com",
               "--new-passphrase-file", str(passphrase)).code == 0
    result = cli("person", "sync", str(DATA / "hr_export.csv"), *column_args(), "--apply", "--mark-missing")
    assert result.code == 0, result.err
    assert "operator erin@example.com is not in" in result.err and "offboard them by hand" in result.err
    assert "2 given a leave date, 2 offboardings opened" in result.out  # cara and dev, never erin
    body = json.loads(cli("person", "sync", str(DATA / "hr_export.csv"), *column_args(), "--json").out)
    assert body["gone"] == [] and body["missing_operators"] == ["erin@example.com"]


def test_a_header_only_file_is_refused_and_marks_nobody(staffed, tmp_path):
    # With --mark-missing, a truncated export (a header, no rows) would otherwise send every
    # person in the vault into offboarding today.
    path = tmp_path / "hr.csv"
    path.write_text("email,name\n")
    with pytest.raises(RosterFileError) as caught:
        roster.apply_roster_sync(staffed, path, mark_missing=True)
    assert caught.value.problems == [f"{path}: no rows"]
    assert staffed.vault.workflows.person_ids(WorkflowKind.OFFBOARDING) == set()
    assert people.person_detail(staffed, "erin@example.com").person.leave_on is None
