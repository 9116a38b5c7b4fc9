"""Roster parsing and diffing: pure, on CSV text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from smvault.domain.csvfile import parse_column_flags, parse_mapping_toml
from smvault.domain.errors import InvalidInputError, UsageError
from smvault.domain.models import Person, PersonType
from smvault.domain.roster import (
    FIELDS,
    RosterFileError,
    RosterStatus,
    diff_roster,
    parse_roster,
)

DATA = Path(__file__).resolve().parents[1] / "workflows" / "data"
TODAY = date(2026, 11, 2)
HR_MAPPING = {"email": "Work Email", "name": "Full Name", "team": "Department", "type": "Worker Type",
              "status": "Employment Status", "end_date": "End Date"}


def problems(text: str, mapping=None) -> list[str]:
    with pytest.raises(RosterFileError) as caught:
        parse_roster(text, "hr.csv", mapping)
    return caught.value.problems


def test_hr_export_with_bom_crlf_and_mapping():
    rows = parse_roster((DATA / "hr_export.csv").read_bytes().decode(), "hr_export.csv", HR_MAPPING)
    assert [r.email for r in rows] == ["alice@example.com", "bob@example.com", "cara@example.com",
                                       "dev@example.com", "new.hire@example.com"]
    assert [r.line for r in rows] == [2, 3, 4, 5, 6]
    alice, _, cara, dev, new = rows
    assert alice.type is PersonType.EMPLOYEE and alice.status is RosterStatus.ACTIVE  # "Employee", "Active"
    assert cara.end_date == date(2026, 12, 31) and cara.type is PersonType.CONTRACTOR
    assert dev.status is RosterStatus.ENDED and dev.end_date is None
    assert new.name == "Hire, New" and new.type is PersonType.AGENCY


def test_default_headers_match_ignoring_case_spaces_and_separators():
    rows = parse_roster("E-Mail,NAME,End Date\r\nA@Example.com, Ann ,2027-01-31\r\n", "f.csv",
                        {"email": "e mail"})
    assert rows[0].email == "a@example.com" and rows[0].name == "Ann"
    assert rows[0].end_date == date(2027, 1, 31) and rows[0].team is None and rows[0].type is None


def test_every_bad_row_is_reported_with_its_line():
    found = problems((DATA / "hr_bad.csv").read_text())
    assert found == [
        "hr.csv:3: email: 'not-an-email' is not an email address",
        "hr.csv:4: email: missing",
        "hr.csv:5: name: missing",
        "hr.csv:6: type: 'intern' is not employee, contractor, agency",
        "hr.csv:7: status: 'on leave' is not one of active, leaving, terminated, inactive, left",
        "hr.csv:8: end_date: '31/12/2026' is not a date (YYYY-MM-DD)",
        "hr.csv:9: end_date: missing: status 'leaving' needs an end date",
        "hr.csv:10: email: ok@example.com is listed twice (lines 2 and 10)",
    ]


def test_line_numbers_count_physical_lines():
    # A quoted cell spanning lines 2-3 (reported where it starts), a blank line, then line 5.
    text = 'email,name\na@example.com,"Two\nLines"\n\nnope,Bad\n'
    assert problems(text) == ["hr.csv:2: name: contains control characters",
                              "hr.csv:5: email: 'nope' is not an email address"]


def test_several_problems_in_one_row_are_all_listed():
    assert problems("email,name,type,end_date\nbad,,robot,tomorrow\n") == [
        "hr.csv:2: email: 'bad' is not an email address",
        "hr.csv:2: name: missing",
        "hr.csv:2: type: 'robot' is not employee, contractor, agency",
        "hr.csv:2: end_date: 'tomorrow' is not a date (YYYY-MM-DD)",
    ]


def test_control_characters_and_extra_cells_are_bad_rows():
    found = problems("email,name,team\na@example.com,Ann\x1b]52;c;x\x07,Ops\nb@example.com,Bob,Ops,extra\n")
    assert found == ["hr.csv:2: name: contains control characters",
                     "hr.csv:3: row: 4 cells, but the header has 3"]


def test_dates_must_be_iso_with_dashes():
    assert problems("email,name,end_date\na@example.com,Ann,20261231\n") == [
        "hr.csv:2: end_date: '20261231' is not a date (YYYY-MM-DD)"]


def test_missing_mapped_header_names_it():
    found = problems("email,name\na@example.com,Ann\n", {"team": "Department", "email": "Work Email"})
    assert found[:2] == ["hr.csv:1: email: no column 'Work Email' in the header",
                         "hr.csv:1: team: no column 'Department' in the header"]
    assert found[2] == "hr.csv:1: the header has: 'email', 'name'"


def test_required_columns_and_empty_files():
    assert problems("mail,full name\n") == [
        "hr.csv:1: email: no column 'email' in the header", "hr.csv:1: name: no column 'name' in the header",
        "hr.csv:1: the header has: 'mail', 'full name'"]
    assert problems("") == ["hr.csv:1: expected a header line (email, name, ...)"]


def test_blank_and_empty_cell_rows_are_skipped():
    rows = parse_roster("email,name\n\n,\na@example.com,Ann\n", "f.csv")
    assert [(r.line, r.email) for r in rows] == [(4, "a@example.com")]


def test_error_message_lists_all_problems():
    with pytest.raises(InvalidInputError, match=r"2 problems in hr.csv: nothing was applied: hr.csv:2: .*; hr.csv:3: "):
        parse_roster("email,name\nx,A\ny,B\n", "hr.csv")


def test_column_flags_and_mapping_file():
    assert parse_column_flags(['email=Work Email', 'end-date=Last Day'], FIELDS, "roster") == {
        "email": "Work Email", "end_date": "Last Day"}
    with pytest.raises(UsageError, match="FIELD=HEADER"):
        parse_column_flags(["email"], FIELDS, "roster")
    with pytest.raises(UsageError, match="unknown roster field 'phone'"):
        parse_column_flags(["phone=Mobile"], FIELDS, "roster")
    assert parse_mapping_toml((DATA / "hr_mapping.toml").read_text(), "m.toml", FIELDS, "roster") == HR_MAPPING
    with pytest.raises(InvalidInputError, match="m.toml: not valid TOML"):
        parse_mapping_toml("[columns\n", "m.toml", FIELDS, "roster")
    with pytest.raises(InvalidInputError, match=r"m.toml: expected a \[columns\] table"):
        parse_mapping_toml('email = "x"', "m.toml", FIELDS, "roster")
    with pytest.raises(InvalidInputError, match="m.toml: unknown roster field 'phone'"):
        parse_mapping_toml('[columns]\nphone = "x"', "m.toml", FIELDS, "roster")


# --- diff ---------------------------------------------------------------------------------

def person(pid, email, name, team=None, type_=PersonType.EMPLOYEE, leave_on=None):
    return Person(pid, name, email, team=team, type=type_, leave_on=leave_on)


PEOPLE = [
    person(1, "alice@example.com", "Alice Admin", "Security"),
    person(2, "bob@example.com", "Bob", "Brand"),
    person(3, "cara@example.com", "Cara Jones", "Social", PersonType.CONTRACTOR),
    person(4, "dev@example.com", "Dev Patel", "Social"),
    person(5, "erin@example.com", "Erin Gone", "Social"),  # not in the file
    person(6, "fay@example.com", "Fay Left", leave_on=date(2026, 1, 31)),  # left already
    person(7, "ops@operator.invalid", "ops"),  # placeholder address of an operator
]


def plan(offboarded=frozenset()):
    rows = parse_roster((DATA / "hr_export.csv").read_bytes().decode(), "hr_export.csv", HR_MAPPING)
    return diff_roster("hr_export.csv", rows, PEOPLE, TODAY, offboarded)


def test_diff_groups_new_changed_leaving_and_gone():
    result = plan(offboarded={5})
    assert [n.row.email for n in result.new] == ["new.hire@example.com"]
    assert [(c.person.email, [(ch.field, ch.old, ch.new) for ch in c.changes]) for c in result.changed] == [
        ("bob@example.com", [("name", "Bob", "Bob Builder")])]
    assert [(lv.person.email, lv.on, lv.why, lv.line, lv.opens_offboarding) for lv in result.leaving] == [
        ("cara@example.com", date(2026, 12, 31), "end date", 4, True),
        ("dev@example.com", TODAY, "status ended", 5, True),
    ]
    # Erin already had an offboarding (id 5 offboarded): her date is set, none is opened.
    assert [(lv.person.email, lv.on, lv.opens_offboarding) for lv in result.gone] == [
        ("erin@example.com", TODAY, False)]
    assert result.unchanged == 1 and result.rows == 5 and not result.empty  # alice


def test_empty_cells_and_absent_columns_leave_values_alone():
    rows = parse_roster("email,name,team\nalice@example.com,Alice Admin,\n", "f.csv")
    result = diff_roster("f.csv", rows, PEOPLE[:1], TODAY)
    assert result.empty and result.unchanged == 1


def test_a_sync_never_clears_a_leave_date_and_skips_new_leavers():
    leaving = person(1, "gil@example.com", "Gil", leave_on=date(2026, 12, 1))
    text = ("email,name,status,end_date\ngil@example.com,Gil,active,\n"
            "old@example.com,Old Timer,terminated,\nsoon@example.com,Soon,leaving,2026-11-30\n")
    result = diff_roster("f.csv", parse_roster(text, "f.csv"), [leaving], TODAY)
    assert [(n.line, n.email) for n in result.notes] == [(2, "gil@example.com"), (3, "old@example.com")]
    assert "does not clear a leave date" in result.notes[0].text and "not added" in result.notes[1].text
    assert [(n.row.email, n.leave_on) for n in result.new] == [("soon@example.com", date(2026, 11, 30))]
    assert not result.leaving and not result.gone


def test_ended_without_date_keeps_a_past_leave_date_and_moves_a_future_one_to_today():
    people = [person(1, "a@example.com", "A", leave_on=date(2026, 10, 1)),
              person(2, "b@example.com", "B", leave_on=date(2027, 3, 1))]
    rows = parse_roster("email,name,status\na@example.com,A,left\nb@example.com,B,inactive\n", "f.csv")
    result = diff_roster("f.csv", rows, people, TODAY)
    assert [(lv.person.email, lv.on) for lv in result.leaving] == [("b@example.com", TODAY)]
    assert result.unchanged == 1


def test_operators_are_never_gone_and_listed_instead():
    rows = parse_roster("email,name\nbob@example.com,Bob\n", "f.csv")
    result = diff_roster("f.csv", rows, PEOPLE[:2], TODAY, operator_ids={1}, mark_missing=True)
    assert result.gone == () and [p.email for p in result.missing_operators] == ["alice@example.com"]
    assert result.empty
    plain = diff_roster("f.csv", rows, PEOPLE[:2], TODAY, mark_missing=True)
    assert [lv.person.email for lv in plain.gone] == ["alice@example.com"] and not plain.missing_operators


def test_missing_people_are_only_listed_unless_marking_is_asked_for():
    rows = parse_roster("email,name\nbob@example.com,Bob\n", "f.csv")
    listed = diff_roster("f.csv", rows, PEOPLE[:2], TODAY)
    assert [lv.person.email for lv in listed.gone] == ["alice@example.com"]
    assert listed.marked_gone == () and listed.empty  # nothing to apply
    marked = diff_roster("f.csv", rows, PEOPLE[:2], TODAY, mark_missing=True)
    assert [lv.person.email for lv in marked.marked_gone] == ["alice@example.com"] and not marked.empty
