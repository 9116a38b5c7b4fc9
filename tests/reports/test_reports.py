"""Governance reports through the services, on the hand-built organisation of conftest.py:
every row of every report, the log entry and checkpoint, the renderings, and what a report
must never contain."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smvault.domain import governance
from smvault.domain.errors import PolicyError, UsageError
from smvault.domain.report import csv_safe, md_cell
from smvault.domain.text import printable
from smvault.services import accounts, grants, kit, people
from smvault.services.overview import overview
from smvault.services.reconcile import read_inventory, reconcile
from smvault.services.reports import REPORTS, build_report
from smvault.services.session import unlock_recovery
from tests.reports.conftest import ALICE, BOB, CARA, DEV, EVE

NAMES = ["access-matrix", "controllers", "leavers", "mfa", "rotation", "recovery-channels", "dormant",
         "workflows", "recovery-codes"]
T0 = "2026-11-02T09:30:00Z"
T1 = "2027-05-21T09:30:00Z"


def table(report, title: str) -> list[tuple]:
    [found] = [t for t in report.tables if t.title == title]
    return list(found.rows)


def fact(report, label: str):
    return dict(report.facts)[label]


def test_the_reports_and_their_order():
    assert list(REPORTS) == NAMES
    assert all(REPORTS.values())


# --- each report's rows ------------------------------------------------------------------------


def test_access_matrix_is_every_grant_in_force(org):
    report = build_report(org.session, "access-matrix")
    # Not listed: bob's expired instagram grant, bob's revoked tiktok grant.
    assert table(report, "Grants in force") == [
        ("Alice Admin", ALICE, "active", "instagram:solo", "manage", "alice", T0, ""),
        ("Alice Admin", ALICE, "active", "linkedin:full", "manage", "alice", T0, ""),
        ("Alice Admin", ALICE, "active", "tiktok:codes", "manage", "alice", T0, ""),
        ("Alice Admin", ALICE, "active", "x:acme", "manage", "alice", T0, ""),
        ("Bob Builder", BOB, "active", "linkedin:full", "platform-admin", "alice", T0, ""),
        ("Bob Builder", BOB, "active", "x:acme", "reveal", "alice", T0, ""),
        ("Cara Chen", CARA, "left", "youtube:legacy", "reveal", "alice", T0, ""),
        ("Dev Patel", DEV, "leaving", "tiktok:codes", "code-only", "alice", T0, ""),
        ("Eve Evans", EVE, "active", "x:acme", "code-only", "alice", T1, ""),
    ]
    assert report.title == "Access matrix"
    assert fact(report, "Grants in force") == 9 and fact(report, "People holding them") == 5
    assert fact(report, "Accounts they cover") == 5 and fact(report, "Grants held by people who have left") == 1


def test_access_matrix_shows_an_expiry_still_ahead(org):
    grants.add_grant(org.session, BOB, "tiktok:codes", "reveal", expires_at=org.now + timedelta(days=3))
    rows = table(build_report(org.session, "access-matrix"), "Grants in force")
    assert ("Bob Builder", BOB, "active", "tiktok:codes", "reveal", "alice", "2027-05-23T09:30:00Z",
            "2027-05-26T09:30:00Z") in rows


def test_controllers_lists_the_dashboards_under_controlled_accounts(org):
    report = build_report(org.session, "controllers")
    assert table(report, "Accounts with fewer than 2 controllers") == [
        ("instagram:solo", 1, "active", 1, "Alice Admin", "", ""),
        ("youtube:legacy", 2, "dormant", 0, "", "Cara Chen", "login identifier, password, MFA method (unknown)"),
        ("tiktok:codes", 3, "active", 1, "Alice Admin", "", ""),
    ]
    dashboard = overview(org.session).risks["under-controlled"]
    assert sorted(r.account_key for r in dashboard) == sorted(["instagram:solo", "youtube:legacy", "tiktok:codes"])
    assert fact(report, "Accounts checked (not retired)") == 5
    assert fact(report, "With nobody able to regain control") == 1


def test_leavers_lists_grants_and_roles_still_held(org):
    report = build_report(org.session, "leavers")
    assert table(report, "Access and control still held") == [
        ("Cara Chen", CARA, "left", "2026-12-02", "youtube:legacy", "controls the recovery phone", ""),
        ("Cara Chen", CARA, "left", "2026-12-02", "youtube:legacy", "grant: reveal", ""),
        ("Cara Chen", CARA, "left", "2026-12-02", "youtube:legacy", "owner", ""),  # facebook:gone is retired
        ("Dev Patel", DEV, "leaving", "2027-05-31", "linkedin:full", "controls the recovery email", ""),
        ("Dev Patel", DEV, "leaving", "2027-05-31", "linkedin:full", "holds the TOTP device", ""),
        ("Dev Patel", DEV, "leaving", "2027-05-31", "tiktok:codes", "grant: code-only", ""),
    ]
    assert fact(report, "People leaving or left") == 2 and fact(report, "Roles on accounts") == 4


def test_a_leaver_with_nothing_left_is_not_listed(org):
    people.add_person(org.session, "Fay Gone", "fay@example.com")
    people.mark_leaving(org.session, "fay@example.com", org.now.date())
    report = build_report(org.session, "leavers")
    assert "fay@example.com" not in {row[1] for row in table(report, "Access and control still held")}
    assert fact(report, "People leaving or left") == 3
    assert fact(report, "Of whom still holding access or control") == 2


def test_mfa_coverage_by_platform_and_the_accounts_without(org):
    report = build_report(org.session, "mfa")
    [coverage] = [t for t in report.tables if t.title == "Coverage by platform"]
    assert coverage.headers == ("platform", "unknown", "none", "totp", "sms", "security-key",
                                "with a second factor", "accounts")
    assert list(coverage.rows) == [  # PLATFORMS order; facebook:gone is retired
        ("instagram", 0, 1, 0, 0, 0, 0, 1),
        ("x", 0, 0, 1, 0, 0, 1, 1),
        ("linkedin", 0, 0, 1, 0, 0, 1, 1),
        ("youtube", 1, 0, 0, 0, 0, 0, 1),
        ("tiktok", 0, 0, 1, 0, 0, 1, 1),
        ("all platforms", 1, 1, 3, 0, 0, 3, 5),
    ]
    assert table(report, "No second factor, or unknown") == [
        ("instagram:solo", 1, "active", "none", ""),
        ("youtube:legacy", 2, "dormant", "unknown", "Cara Chen <cara@example.com>"),
    ]


def test_rotation_overdue_by_tier_policy_and_missing_passwords(org):
    report = build_report(org.session, "rotation")
    # NOW is T0 + 202 days: tier 0 (90 days) and tier 1 (180) are late, tier 3 (365) is not.
    assert table(report, "Overdue rotations") == [
        ("x:acme", 0, 90, "2026-11-02", "2027-01-31", 112),
        ("instagram:solo", 1, 180, "2026-11-02", "2027-05-01", 22),
    ]
    assert table(report, "No password stored") == [
        ("linkedin:full", 1, "active", "totp"),
        ("youtube:legacy", 2, "dormant", "unknown"),
    ]
    assert fact(report, "Passwords stored (accounts not retired)") == 3


def test_rotation_the_day_a_password_falls_due(session, clock):
    from smvault.services import secrets

    accounts.add_account(session, "x", "edge", tier=0)
    secrets.set_password(session, "x:edge", "pw-edge-123456")
    clock.advance(days=90)
    assert table(build_report(session, "rotation"), "Overdue rotations") == []  # due this moment
    clock.advance(seconds=1)
    assert table(build_report(session, "rotation"), "Overdue rotations") == [
        ("x:edge", 0, 90, "2026-11-02", "2027-01-31", 0)]


def test_recovery_channels_at_risk_and_with_no_controller_recorded(org):
    report = build_report(org.session, "recovery-channels")
    assert table(report, "Recovery channels at risk") == [
        ("instagram:solo", 1, "recovery email", "someone@gmail.com", "", "a personal mailbox (gmail.com)"),
        ("linkedin:full", 1, "recovery email", "social@corp.example", "Dev Patel <dev@example.com>",
         "controlled by Dev Patel, who leaves on 2027-05-31"),
        ("youtube:legacy", 2, "recovery phone", "+15550100", "Cara Chen <cara@example.com>",
         "controlled by Cara Chen, who left on 2026-12-02"),
    ]
    # A gap in the records, counted apart: not a risk the dashboard shows.
    assert table(report, "Recovery channels with no controller recorded") == [
        ("instagram:solo", 1, "recovery email", "someone@gmail.com"),
        ("tiktok:codes", 3, "recovery phone", "+15550199"),
    ]
    assert fact(report, "Recovery emails at risk") == 2 and fact(report, "Recovery phones at risk") == 1
    assert fact(report, "Recovery emails and phones with no controller recorded") == 2


def test_recovery_emails_at_risk_are_the_dashboards(org):
    s = org.session
    accounts.add_account(s, "x", "company-nobody", recovery_email="social@corp.example")  # no controller: no risk
    accounts.add_account(s, "x", "personal-held", recovery_email="Someone@Outlook.com", recovery_email_controller=BOB)
    accounts.add_account(s, "x", "both", recovery_email="dev.home@gmail.com", recovery_email_controller=DEV, tier=0)
    accounts.add_account(s, "x", "retired", recovery_email="x@gmail.com", status="retired")
    report = build_report(s, "recovery-channels")
    emails = [row for row in table(report, "Recovery channels at risk") if row[2] == "recovery email"]
    dashboard = overview(s).risks["recovery-email"]
    assert [row[0] for row in emails] == [risk.account_key for risk in dashboard] == [
        "x:both", "instagram:solo", "linkedin:full", "x:personal-held"]
    assert fact(report, "Recovery emails at risk") == len(dashboard)
    both = dashboard[0].detail
    assert both == ("Its recovery email dev.home@gmail.com is a personal mailbox (gmail.com) and is controlled "
                    "by Dev Patel, who leaves on 2027-05-31.")
    assert emails[0][5] == "a personal mailbox (gmail.com); controlled by Dev Patel, who leaves on 2027-05-31"
    assert ("x:company-nobody", 2, "recovery email", "social@corp.example") in table(
        report, "Recovery channels with no controller recorded")


def test_dormant_accounts_and_unused_grants(org):
    report = build_report(org.session, "dormant")
    # Only x:acme was touched in the last 90 days (a reveal to bob by alice, eve's grant).
    assert table(report, "Dormant accounts") == [
        ("instagram:solo", 1, "active", "no logged activity since 2027-02-22"),
        ("linkedin:full", 1, "active", "no logged activity since 2027-02-22"),
        ("youtube:legacy", 2, "dormant", "status dormant; no logged activity since 2027-02-22"),
        ("tiktok:codes", 3, "active", "no logged activity since 2027-02-22"),
    ]
    # Not listed: alice and bob on x:acme (the reveal: alice handed it, bob received it), eve
    # (granted within the window), bob's platform-admin grant (used on the platform).
    assert table(report, "Grants unused in the window") == [
        ("Alice Admin", ALICE, "active", "instagram:solo", "manage", T0),
        ("Alice Admin", ALICE, "active", "linkedin:full", "manage", T0),
        ("Alice Admin", ALICE, "active", "tiktok:codes", "manage", T0),
        ("Cara Chen", CARA, "left", "youtube:legacy", "reveal", T0),
        ("Dev Patel", DEV, "leaving", "tiktok:codes", "code-only", T0),
    ]


def test_a_code_shown_to_its_holder_is_use(org):
    from smvault.services import secrets

    org.clock.advance(days=100)  # the reveal of T1 leaves the window; eve's grant is old enough
    secrets.totp_code(org.session, "x:acme", for_email=EVE)
    unused = {(row[1], row[3]) for row in table(build_report(org.session, "dormant"), "Grants unused in the window")}
    assert (EVE, "x:acme") not in unused  # the code was for her
    assert (ALICE, "x:acme") not in unused  # she handed it over
    assert (BOB, "x:acme") in unused  # his reveal is 102 days old


def test_workflows_open_with_due_dates(org):
    report = build_report(org.session, "workflows")
    rows = table(report, "Open workflows")
    assert [row[:8] for row in rows] == [
        ("review", 2, "open", "access review 2", "alice", T1, "2027-05-22", "yes"),  # overdue first
        ("offboarding", 1, "open", "Dev Patel", "alice", T1, "2027-05-31", ""),
    ]
    assert rows[0][8:] == (0, 9)  # the review snapshotted the 9 grants in force
    assert rows[1][8] == 0 and rows[1][9] > 0
    assert fact(report, "By kind") == "offboarding 1, review 1" and fact(report, "Overdue") == 1


def test_an_offboarding_is_due_on_the_leavers_current_leave_date(org):
    people.mark_leaving(org.session, DEV, (org.now - timedelta(days=1)).date())  # moved earlier
    rows = table(build_report(org.session, "workflows"), "Open workflows")
    assert [row[:8] for row in rows if row[0] == "offboarding"] == [
        ("offboarding", 1, "open", "Dev Patel", "alice", T1, "2027-05-22", "yes")]


def test_workflow_due_rules():
    now = datetime(2027, 5, 23, 9, 30, tzinfo=timezone.utc)
    due = governance.workflow_due
    assert due("review", "open", {"due": "2027-05-23"}, now) == ("2027-05-23", False)  # the day itself
    assert due("review", "open", {"due": None}, now) == ("", False)
    assert due("offboarding", "open", {"leave_on": "2027-05-20"}, now) == ("2027-05-20", True)
    assert due("offboarding", "open", {"leave_on": "2027-05-20"}, now, date(2027, 6, 1)) == ("2027-06-01", False)
    assert due("emergency", "active", {"expires_at": "2027-05-23T10:00:00Z", "wait_until": None}, now) == (
        "2027-05-23T10:00:00Z", False)
    assert due("emergency", "waiting", {"wait_until": "2027-05-23T09:00:00Z"}, now) == ("2027-05-23T09:00:00Z", True)
    assert due("emergency", "requested", {"wait_until": None}, now) == ("", False)
    # A request moved from waiting to needing an approval keeps its old wait_until: no deadline.
    assert due("emergency", "requested", {"wait_until": "2027-05-23T09:00:00Z"}, now) == ("", False)
    assert due("emergency", "vetoed", {"wait_until": "2027-05-23T09:00:00Z", "expires_at": None}, now) == ("", False)
    assert due("transfer", "requested", {}, now) == due("post-incident", "open", {}, now) == ("", False)


def test_recovery_codes_running_low(org):
    report = build_report(org.session, "recovery-codes")
    assert table(report, "Running low") == [
        ("linkedin:full", 1, "active", 2, 0, 2),  # every code used first
        ("tiktok:codes", 3, "active", 3, 1, 2),
    ]
    assert fact(report, "With every code used") == 1


def test_recovery_codes_the_boundary_is_two_unused(session):
    from smvault.services import secrets

    for handle, unused in (("two", 2), ("three", 3)):
        accounts.add_account(session, "x", handle)
        grants.add_grant(session, ALICE, f"x:{handle}", "manage")
        secrets.add_recovery_codes(session, f"x:{handle}", [f"{handle}-{i}" for i in range(4)])
        for _ in range(4 - unused):
            secrets.use_recovery_code(session, f"x:{handle}")
    report = build_report(session, "recovery-codes")
    assert table(report, "Running low") == [("x:two", 2, "active", 4, 2, 2)]  # 3 unused is not low
    assert fact(report, "Accounts with recovery codes (not retired)") == 2


def test_counts_agree_with_the_dashboard(org):
    s = org.session
    accounts.add_account(s, "tiktok", "owned-by-dev", owner=DEV, mfa="none")
    dashboard = overview(s).risks
    mfa = build_report(s, "mfa")
    assert fact(mfa, "With none") == len(dashboard["no-mfa"])
    assert sorted(row[0] for row in table(mfa, "No second factor, or unknown") if row[3] == "none") == sorted(
        risk.account_key for risk in dashboard["no-mfa"])
    rotation = table(build_report(s, "rotation"), "Overdue rotations")
    assert [row[0] for row in rotation] == [risk.account_key for risk in dashboard["rotation-overdue"]]
    owners = {row[4] for row in table(build_report(s, "leavers"), "Access and control still held") if row[5] == "owner"}
    assert owners == {risk.account_key for risk in dashboard["owner-leaving"]} == {"youtube:legacy", "tiktok:owned-by-dev"}
    channels = build_report(s, "recovery-channels")
    assert fact(channels, "Recovery emails at risk") == len(dashboard["recovery-email"])
    controllers = build_report(s, "controllers")
    assert fact(controllers, "With fewer than 2 controllers") == len(dashboard["under-controlled"])


def test_an_empty_vault_gives_every_report_with_empty_tables(session):
    for name in NAMES:
        report = build_report(session, name)
        assert report.render("md").startswith("# ")
        if name != "mfa":  # coverage always has its "all platforms" row
            assert all(t.rows == () for t in report.tables), name


# --- logging and the checkpoint ------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_one_report_run_entry_is_the_checkpoint(org, name):
    log = org.session.vault.log
    before = log.head().seq
    report = build_report(org.session, name)
    head = log.head()
    assert head.seq == before + 1
    assert (report.checkpoint.seq, report.checkpoint.entry_hash) == (head.seq, head.entry_hash.hex())
    assert report.checkpoint.vault_id == org.session.vault.vault_id
    [entry] = log.entries(limit=1)
    rows = sum(len(t.rows) for t in report.tables)
    assert entry["action"] == "report.run" and entry["op"] == "alice"
    assert entry["detail"] == {"name": name, "rows": rows}
    assert report.checkpoint.line() in report.render("md")
    assert log.verify().ok


def test_every_report_checkpoint_is_dated_as_its_entry(org, tmp_path, monkeypatch):
    # A clock that moves a second at every read: the time read again after the commit is
    # later than the entry's own. The checkpoint must carry the entry's.
    from smvault.services.offboarding import offboarding_report
    from smvault.services.review import review_report

    start = org.now

    class Ticking:
        reads = 0

        def __call__(self):
            self.reads += 1
            return start + timedelta(seconds=self.reads)

    monkeypatch.setattr(org.session, "clock", Ticking())
    inventory = tmp_path / "tool.csv"
    inventory.write_text("platform,handle\nx,acme\n")
    for make in (lambda: build_report(org.session, "mfa"), lambda: reconcile(org.session, read_inventory(inventory)),
                 lambda: offboarding_report(org.session, DEV), lambda: review_report(org.session, 2)):
        report = make()
        [entry] = org.session.vault.log.entries(limit=1)
        assert (report.checkpoint.seq, report.checkpoint.ts) == (entry["seq"], entry["ts"])
        assert report.checkpoint.line().endswith(f"at={entry['ts']}")


def test_an_unknown_report_is_a_usage_error_naming_them_all(org):
    before = org.session.vault.log.head().seq
    with pytest.raises(UsageError) as caught:
        build_report(org.session, "who-knows")
    assert "who-knows" in caught.value.message and all(name in caught.value.message for name in NAMES)
    assert org.session.vault.log.head().seq == before


def test_a_break_glass_session_can_run_reports(org, vault_dir, tmp_path):
    for email in ("k1@example.com", "k2@example.com"):
        people.add_person(org.session, email.split("@")[0], email)
    made = kit.create_kit(org.session, ["k1@example.com", "k2@example.com"], 2)
    recovery = unlock_recovery(vault_dir, [s.mnemonic for s in made.sheets], reason="all operators away",
                               incident="INC-9", clock=org.clock)
    try:
        report = build_report(recovery, "access-matrix")
        [entry] = recovery.vault.log.entries(limit=1)
        assert entry["action"] == "report.run" and entry["op"] == "break-glass"
        assert entry["bg"]["incident"] == "INC-9" and report.checkpoint.seq == entry["seq"]
        inventory = tmp_path / "tool.csv"
        inventory.write_text("platform,handle\nx,acme\n")
        reconcile(recovery, read_inventory(inventory))
        [entry] = recovery.vault.log.entries(limit=1)
        assert entry["action"] == "reconcile.run" and entry["bg"]["incident"] == "INC-9"
        with pytest.raises(PolicyError):  # it still changes nothing
            accounts.add_account(recovery, "x", "new")
    finally:
        recovery.close()


# --- renderings and what they never contain ------------------------------------------------------


SECRETS = ("pw-x:acme-123456", "pw-instagram:solo-123456", "pw-tiktok:codes-123456", "JBSWY3DPEHPK3PXP",
           "acme-code-", "tt-1", "tt-2", "tt-3", "li-1", "li-2")


@pytest.mark.parametrize("name", NAMES)
def test_every_format_renders_and_holds_no_secret(org, name):
    report = build_report(org.session, name)
    md, text, body = report.render("md"), report.render("csv"), report.render("json")
    parsed = json.loads(body)
    assert parsed["report"] == name and parsed["checkpoint"]["seq"] == report.checkpoint.seq
    for t in report.tables:
        assert len(parsed["tables"][t.title]) == len(t.rows)
        assert f"## {md_cell(t.title)}" in md
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[-1] == ["checkpoint", report.checkpoint.line()]
    assert sum(1 for r in rows if r[0] not in ("fact", "section", "checkpoint")) == sum(len(t.rows) for t in report.tables)
    for rendered in (md, text, body, json.dumps(org.session.vault.log.entries(limit=1))):
        assert not any(secret in rendered for secret in SECRETS)


FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+SUM(A1:A9)", "-2+3+cmd|' /C calc'!A0", "@SUM(1)"]


# The reports in which a person's name starts a cell (the others name accounts, "x:..." cells).
NAMED = ("access-matrix", "leavers", "mfa", "recovery-channels", "workflows")


def test_formula_names_are_neutralised_in_csv_and_literal_elsewhere(session, clock):
    from smvault.services import offboarding, secrets

    for i, name in enumerate(FORMULAS):
        email = f"f{i}@example.com"
        ref = f"x:=cmd{i}"
        people.add_person(session, name, email)
        accounts.add_account(session, "x", f"=cmd{i}", status="dormant", mfa="none", owner=email,
                             recovery_email="x@gmail.com", recovery_email_controller=email)
        grants.add_grant(session, email, ref, "reveal")
        grants.add_grant(session, ALICE, ref, "manage")
        secrets.set_password(session, ref, f"pw-{i}-123456")
        secrets.add_recovery_codes(session, ref, [f"code-{i}"])
        offboarding.start_offboarding(session, email, on=clock().date() + timedelta(days=5))
    for report_name in NAMES:
        report = build_report(session, report_name)
        cells = [cell for row in csv.reader(io.StringIO(report.render("csv"))) for cell in row]
        assert cells and not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")
                              and not re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", c)], report_name
        if report_name in NAMED:  # each name is there, quoted
            assert all(any(c.startswith(f"'{name}") for c in cells) for name in FORMULAS), report_name
        if report_name == "access-matrix":
            data = json.loads(report.render("json"))["tables"]["Grants in force"]
            assert {row["person"] for row in data} >= set(FORMULAS)  # JSON keeps the values exactly
            md = report.render("md")
            assert md_cell(FORMULAS[0]) in md and "\\(" in md_cell(FORMULAS[0])


def test_csv_tab_and_carriage_return_starts_are_neutralised():
    # Control characters go first (a spreadsheet may skip them), then the quote is decided.
    assert csv_safe("\tTAB") == "TAB" and csv_safe("\r=1") == "'=1" and csv_safe("\x01+1+1") == "'+1+1"
    assert csv_safe("-5") == "-5" and csv_safe("-x") == "'-x" and csv_safe("@x") == "'@x"


def _md_reference(value) -> str:
    text = printable(("" if value is None else str(value)).replace("\n", " "))
    return re.sub(r"([\\|<>\[\]()*_#`])", r"\\\1", text)


def _csv_reference(value) -> str:
    text = printable("" if value is None else str(value))
    if re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", text):
        return text
    return ("'" if text.startswith(("=", "+", "-", "@")) else "") + text


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="ab=+-@\t\r\n\x1b\x85|<>[]()*_#`\\0123456789. "), st.integers()))
def test_the_fast_paths_of_the_cell_escapers_change_nothing(value):
    # domain.report returns plain cells untouched without running its substitutions (large
    # reports are mostly plain cells); the result must be what the substitutions give.
    assert md_cell(value) == _md_reference(value)
    assert csv_safe(value) == _csv_reference(value)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="=+-@\t\r\n\x00\x01\x1b\x7f\x85\x9f'a0123456789.", max_size=8),
                 st.integers(), st.floats(allow_nan=False)))
def test_a_csv_cell_never_starts_a_formula(value):
    cell = csv_safe(value)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or cell.startswith("'") \
        or re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", cell), repr(value)
    assert printable(cell) == cell  # and holds no control character
