"""Inventory reconciliation: the parser's rules, the three kinds of difference, the log entry
and checkpoint, and the CLI (mapping, formats, bad files)."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

import pytest

from smvault.domain.errors import InvalidInputError, UsageError
from smvault.domain.csvfile import parse_column_flags, parse_mapping_toml
from smvault.domain.reconcile import FIELDS, WHAT, InventoryFileError, InventoryRow, parse_inventory
from smvault.services import accounts, people
from smvault.services.reconcile import load_mapping, read_inventory
from smvault.services.reconcile import reconcile as reconcile_inventory

ALICE, BOB, CARA = "alice@example.com", "bob@example.com", "cara@example.com"

TOOL_EXPORT = """Platform,Handle,Owner
Twitter,@ACME,Alice@Example.com
instagram,brand,cara@example.com
YouTube,chan,alice@example.com
facebook,newpage,
tiktok,old,
"""


@pytest.fixture
def vault(session):
    """x:acme (alice), instagram:brand (bob), youtube:chan (no owner), linkedin:page (bob),
    tiktok:old (retired), mastodon:quiet (retired, not in the file)."""
    people.add_person(session, "Bob Builder", BOB)
    people.add_person(session, "Cara Chen", CARA)
    accounts.add_account(session, "x", "acme", owner=ALICE)
    accounts.add_account(session, "instagram", "brand", owner=BOB)
    accounts.add_account(session, "youtube", "chan")
    accounts.add_account(session, "linkedin", "page", tier=1, owner=BOB)
    accounts.add_account(session, "tiktok", "old", status="retired", owner=BOB)
    accounts.add_account(session, "mastodon", "quiet", status="retired")
    return session


def write(tmp_path: Path, text: str, name: str = "tool.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def reconcile(session, path: Path, mapping=None):
    return reconcile_inventory(session, read_inventory(path, mapping))


def rows_of(report, title: str) -> list[tuple]:
    [table] = [t for t in report.tables if t.title == title]
    return list(table.rows)


# --- the parser -----------------------------------------------------------------------------------


def test_aliases_at_signs_owners_and_blank_lines():
    text = "\ufeffplatform,HANDLE,owner\r\ntwitter,@Acme,Bob@Example.COM\r\n\r\n,,\r\nfb,page,\r\n"
    assert parse_inventory(text, "t.csv") == [
        InventoryRow(2, "x", "Acme", "bob@example.com"),
        InventoryRow(5, "facebook", "page", None),
    ]


def test_headers_match_loosely_and_mappings_name_others():
    assert [r.key for r in parse_inventory("Social Network,profile_name\nig,brand\n", "t.csv",
                                           {"platform": "social-network", "handle": "Profile Name"})] == ["instagram:brand"]
    assert parse_inventory(" PLATFORM , Handle,OWNER\nx,a,\n", "t.csv")[0].owner is None
    with pytest.raises(InventoryFileError) as caught:
        parse_inventory("network,profile\nx,a\n", "t.csv")
    assert caught.value.problems == [
        "t.csv:1: platform: no column 'platform' in the header",
        "t.csv:1: handle: no column 'handle' in the header",
        "t.csv:1: the header has: 'network', 'profile'",
    ]


def test_every_bad_row_is_reported_with_its_line():
    text = ('platform,handle,owner\n'
            'myspace,old,\n'
            'x,,\n'
            'x,"two words",\n'
            'x,ok,not-an-email\n'
            'x,"multi\nline",\n'   # a quoted cell spanning lines: reported where it starts
            'x,fine,,extra\n'
            'twitter,@Dup,\n'
            'X,dup,\n')
    with pytest.raises(InventoryFileError) as caught:
        parse_inventory(text, "t.csv")
    assert caught.value.problems == [
        "t.csv:2: platform: 'myspace' is not a platform smvault knows",
        "t.csv:3: handle: missing",
        "t.csv:4: handle: 'two words' is not a handle (no spaces, control characters or ':')",
        "t.csv:5: owner: 'not-an-email' is not an email address",
        "t.csv:6: handle: 'multiline' is not a handle (no spaces, control characters or ':')",
        "t.csv:8: row: 4 cells, but the header has 3",
        "t.csv:10: handle: 'x:dup' is listed twice (lines 9 and 10)",
    ]
    assert caught.value.summary == "7 problems in t.csv: nothing was compared"


def test_an_empty_file_or_header_is_refused():
    for text in ("", "\n", " , \n"):
        with pytest.raises(InventoryFileError, match="expected a header line"):
            parse_inventory(text, "t.csv")


def test_a_header_with_no_rows_is_refused():
    # Compared, it would list every vault account as unknown to the tool.
    for text in ("platform,handle\n", "platform,handle\r\n\r\n,\r\n", "\ufeffPlatform,Handle,Owner"):
        with pytest.raises(InventoryFileError) as caught:
            parse_inventory(text, "t.csv")
        assert caught.value.problems == ["t.csv: no rows"]
        assert caught.value.summary == "1 problem in t.csv: nothing was compared"


def test_platform_names_and_profile_urls_as_the_importer_reads_them():
    from smvault.domain.imports.identity import handle_from_url, platform_from_name

    text = ("platform,handle\n"
            "Facebook Page,acme.page\n"
            "LinkedIn Company,https://www.linkedin.com/company/acme-corp/\n"
            "Instagram Business,@acme.ig\n"
            "x,https://x.com/AcmeNews\n"
            "youtube,youtube.com/@acmetv\n"
            "other,acme-forum\n")
    rows = parse_inventory(text, "t.csv")
    assert [r.key for r in rows] == ["facebook:acme.page", "linkedin:acme-corp", "instagram:acme.ig",
                                     "x:AcmeNews", "youtube:acmetv", "other:acme-forum"]
    # the importer's own functions give the same keys
    assert platform_from_name("LinkedIn Company") == "linkedin"
    assert handle_from_url("https://www.linkedin.com/company/acme-corp/", "linkedin") == "acme-corp"


def test_a_link_that_names_no_account_is_a_bad_row():
    with pytest.raises(InventoryFileError) as caught:
        parse_inventory("platform,handle\nx,https://x.com/login\nx,https://instagram.com/acme\n", "t.csv")
    assert caught.value.problems == [
        "t.csv:2: handle: 'https://x.com/login' is a link that names no x account",
        "t.csv:3: handle: 'https://instagram.com/acme' is a link that names no x account",
    ]


def test_handles_fold_ascii_case_only_as_the_vault_does(session, tmp_path):
    # The vault's NOCASE keeps x:Ärger and x:ärger apart (it folds ASCII letters only).
    accounts.add_account(session, "x", "Ärger")
    accounts.add_account(session, "x", "ärger")
    accounts.add_account(session, "x", "Acme")
    report = reconcile(session, write(tmp_path, "platform,handle\nx,ärger\nx,ACME\n"))
    assert dict(report.facts)["Matched to vault accounts"] == 2
    assert rows_of(report, "In the vault, unknown to the tool") == [("x:Ärger", 2, "active", "")]
    assert rows_of(report, "Managed by the tool, not in the vault") == []
    # and a file may list both
    assert [r.key for r in parse_inventory("platform,handle\nx,Ärger\nx,ärger\n", "t.csv")] == ["x:Ärger", "x:ärger"]


def test_mapping_flags_and_files():
    assert parse_column_flags(["handle=Profile", "Owner = Manager Email "], FIELDS, WHAT) == {
        "handle": "Profile", "owner": "Manager Email"}
    with pytest.raises(UsageError, match="unknown inventory field 'email'"):
        parse_column_flags(["email=Work Email"], FIELDS, WHAT)
    with pytest.raises(UsageError, match="give FIELD=HEADER"):
        parse_column_flags(["handle"], FIELDS, WHAT)
    assert parse_mapping_toml('[columns]\nplatform = "Network"\n', "m.toml", FIELDS, WHAT) == {"platform": "Network"}
    with pytest.raises(InvalidInputError, match="m.toml: expected a"):
        parse_mapping_toml('platform = "Network"\n', "m.toml", FIELDS, WHAT)
    with pytest.raises(InvalidInputError, match="m.toml: not valid TOML"):
        parse_mapping_toml("[columns\n", "m.toml", FIELDS, WHAT)


# --- the comparison ------------------------------------------------------------------------------------


def test_the_three_kinds_of_difference(vault, tmp_path):
    report = reconcile(vault, write(tmp_path, TOOL_EXPORT))
    assert rows_of(report, "Managed by the tool, not in the vault") == [(5, "facebook", "newpage", "")]
    # tiktok:old and mastodon:quiet are retired: held (compared) or expected to be unknown
    assert rows_of(report, "In the vault, unknown to the tool") == [("linkedin:page", 1, "active", BOB)]
    assert rows_of(report, "Owner mismatches") == [
        (3, "instagram:brand", CARA, BOB),
        (4, "youtube:chan", ALICE, "no owner in vault"),
    ]
    # tiktok:old is retired in the vault, and the tool still manages it: someone should act.
    assert rows_of(report, "Retired in the vault, still managed by the tool") == [(6, "tiktok:old", "")]
    facts = dict(report.facts)
    assert (facts["Rows in the file"], facts["Matched to vault accounts"]) == (5, 4)
    assert report.title == "Inventory reconciliation: tool.csv"


def test_logged_with_counts_and_the_checkpoint(vault, tmp_path):
    log = vault.vault.log
    before = log.head().seq
    report = reconcile(vault, write(tmp_path, TOOL_EXPORT))
    head = log.head()
    assert head.seq == before + 1
    assert (report.checkpoint.seq, report.checkpoint.entry_hash) == (head.seq, head.entry_hash.hex())
    [entry] = log.entries(limit=1)
    assert entry["action"] == "reconcile.run"
    assert entry["detail"] == {"file": "tool.csv", "rows": 5, "missing_in_vault": 1, "unknown_to_tool": 1,
                               "owner_mismatches": 2, "retired_managed": 1}
    assert report.checkpoint.ts == entry["ts"] == dict(report.facts)["Generated at"]


def test_a_bad_file_logs_nothing(vault, tmp_path):
    before = vault.vault.log.head().seq
    with pytest.raises(InventoryFileError):
        reconcile(vault, write(tmp_path, "platform,handle\nx,a\nx,A\n"))
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(b"platform,handle\nx,caf\xe9\n")
    with pytest.raises(InvalidInputError, match="latin1.csv:2: not UTF-8 text"):
        reconcile(vault, latin1)
    with pytest.raises(InvalidInputError, match="cannot read the inventory file"):
        reconcile(vault, tmp_path / "missing.csv")
    assert vault.vault.log.head().seq == before


def test_a_file_past_the_size_cap_is_refused(tmp_path, monkeypatch):
    from smvault.services import roster

    monkeypatch.setattr(roster, "MAX_FILE_BYTES", 64)
    with pytest.raises(InvalidInputError, match=r"big.csv: the inventory file is larger than 0 MB"):
        read_inventory(write(tmp_path, "platform,handle\n" + "x,a\n" * 20, "big.csv"))
    assert read_inventory(write(tmp_path, "platform,handle\nx,a\n", "small.csv")).rows


def test_no_difference_at_all(vault, tmp_path):
    text = "platform,handle\nx,acme\ninstagram,brand\nyoutube,chan\nlinkedin,PAGE\n"
    report = reconcile(vault, write(tmp_path, text))
    assert all(t.rows == () for t in report.tables)


def test_load_mapping_file_then_flags(tmp_path):
    mapping = write(tmp_path, '[columns]\nplatform = "Network"\nhandle = "Name"\n', "m.toml")
    assert load_mapping(["handle=Profile"], mapping) == {"platform": "Network", "handle": "Profile"}


# --- the CLI ---------------------------------------------------------------------------------------


def test_cli_report_with_mapped_columns(vault, run_cli, tmp_path):
    path = write(tmp_path, "Network,Profile,Manager\ntwitter,@acme,alice@example.com\nig,brand,bob@example.com\n"
                           "yt,chan,\nlinkedin,page,bob@example.com\n")
    result = run_cli("reconcile", str(path), "--column", "platform=network", "--column", "handle=Profile",
                     "--column", "owner=manager")
    assert result.code == 0, result.err
    assert result.out.startswith("# Inventory reconciliation: tool.csv\n")
    assert "- **Owner mismatches**: 0" in result.out and "(none)" in result.out
    mapping = write(tmp_path, '[columns]\nplatform = "Network"\nhandle = "Profile"\n', "m.toml")
    body = json.loads(run_cli("reconcile", str(path), "--mapping", str(mapping), "--format", "json").out)
    assert body["missing_in_vault"] == 0 and body["unknown_to_tool"] == 0 and body["rows"] == 4


def test_cli_csv_and_out(vault, run_cli, tmp_path):
    path = write(tmp_path, TOOL_EXPORT)
    result = run_cli("reconcile", str(path), "--format", "csv")
    assert result.code == 0, result.err
    rows = list(csv.reader(io.StringIO(result.out)))
    assert ["Owner mismatches", "4", "youtube:chan", ALICE, "no owner in vault"] in rows
    out = tmp_path / "out" / "recon.md"
    out.parent.mkdir()
    result = run_cli("reconcile", str(path), "--out", str(out))
    assert result.code == 0 and result.out == f"Wrote {out}.\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and "facebook" in out.read_text()


def test_cli_bad_rows_exit_1_with_file_line_messages(vault, run_cli, tmp_path):
    path = write(tmp_path, "platform,handle,owner\nmyspace,a,\nx,b,nobody\ntwitter,@dup,\nx,DUP,\n")
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli("reconcile", str(path), "--out", str(out / "r.md"))
    assert result.code == 1 and result.out == ""
    assert result.err.splitlines() == [
        f"{path}:2: platform: 'myspace' is not a platform smvault knows",
        f"{path}:3: owner: 'nobody' is not an email address",
        f"{path}:5: handle: 'x:DUP' is listed twice (lines 4 and 5)",
        f"smvault: 3 problems in {path}: nothing was compared",
    ]
    assert list(out.iterdir()) == []  # no report, no temporary file
    assert vault.vault.log.entries(actions=("reconcile.run",)) == []


def test_cli_a_bad_or_missing_file_is_refused_before_the_vault_is_unlocked(vault, run_cli, tmp_path):
    before = vault.vault.log.head().seq
    for path in (write(tmp_path, "platform,handle\nmyspace,a\n"), write(tmp_path, "platform,handle\n", "empty.csv"),
                 tmp_path / "missing.csv"):
        result = run_cli("reconcile", str(path))
        assert result.code == 1 and result.out == "", result.err
    assert result.err.startswith(f"smvault: {tmp_path / 'missing.csv'}: cannot read the inventory file")
    assert vault.vault.log.head().seq == before  # not even a vault.unlock entry


def test_cli_header_only_file_exits_1(vault, run_cli, tmp_path):
    path = write(tmp_path, "Platform,Handle,Owner\r\n")
    result = run_cli("reconcile", str(path))
    assert result.code == 1 and result.out == ""
    assert result.err.splitlines() == [f"{path}: no rows", f"smvault: 1 problem in {path}: nothing was compared"]


def test_cli_usage_errors_exit_2(vault, run_cli, tmp_path):
    path = write(tmp_path, TOOL_EXPORT)
    assert run_cli("reconcile", str(path), "--column", "team=Dept").code == 2
    assert run_cli("reconcile", str(path), "--format", "xlsx").code == 2
