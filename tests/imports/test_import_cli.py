"""`smvault import`: dry run, --apply, exit codes, problems on stderr, passwords from files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
import pytest

from smvault.cli import import_cmds
from smvault.domain.imports import FORMATS
from smvault.domain.imports.inventory import FIELDS
from tests.conftest import smvault_process
from tests.imports.test_auth_parsers import aegis_encrypted, aegis_entry

SEED = "JBSWY3DPEHPK3PXP"


@pytest.fixture
def vault(run_cli):
    assert run_cli("init", "--operator", "alice", "--email", "alice@example.com", operator=None).code == 0
    assert run_cli("person", "add", "Bob B", "--email", "bob@example.com").code == 0
    return run_cli


def inventory(tmp_path: Path, *rows: str, header: str = "platform,handle,tier,owner,password,totp") -> Path:
    path = tmp_path / "inv.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def account_keys(run) -> list[str]:
    result = run("account", "list", "--json")
    assert result.code == 0, result.err
    return [f"{a['platform']}:{a['handle']}" for a in json.loads(result.out)]


def test_a_dry_run_shows_the_plan_and_changes_nothing(vault, tmp_path):
    path = inventory(tmp_path, f"instagram,acme,1,bob@example.com,pw-secret,{SEED}", "x,acme,,,,")
    result = vault("import", "csv", str(path))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"{path} (csv): 2 to create, 0 to update, 0 unchanged, 0 unmatched, 0 problems, 0 notes."
    assert "Create (2):" in lines
    header = lines.index("Create (2):") + 1
    assert lines[header].split() == ["WHERE", "ACCOUNT", "FIELDS", "SECRETS"]
    assert lines[header + 1].split() == [f"{path}:2", "instagram:acme", "tier,", "owner", "password,", "totp"]
    assert lines[-1] == "dry run: nothing changed; use --apply"
    assert result.err == "" and "pw-secret" not in result.out and SEED not in result.out
    assert account_keys(vault) == []


def test_problems_go_to_stderr_as_file_line_field_and_exit_1(vault, tmp_path):
    path = inventory(tmp_path, "instagram,acme,9,,,", "x,acme,,dora@example.com,,", "youtube,acme,,,,")
    result = vault("import", "csv", str(path))
    assert result.code == 1
    assert result.err.splitlines() == [
        f"{path}:2: tier: the value is not a tier (0-3)",  # a file with secret columns quotes no cell
        f"{path}:3: owner: no person with email dora@example.com in the vault (add them first: smvault person add)",
        f"smvault: 2 problems in {path}: --apply would refuse (fix them, or --skip-bad to leave those items out)",
    ]
    assert result.out.rstrip().endswith("dry run: nothing changed; use --apply")

    refused = vault("import", "csv", str(path), "--apply")
    assert refused.code == 1
    assert refused.err.splitlines()[-1] == (f"smvault: 2 problems in {path}; nothing imported "
                                            "(fix them, or --skip-bad to leave those items out)")
    assert account_keys(vault) == []

    skipped = vault("import", "csv", str(path), "--apply", "--skip-bad")
    assert skipped.code == 0, skipped.err
    assert "Applied: 1 created, 0 updated, 0 unchanged, 2 skipped." in skipped.out
    assert f"{path}:2: tier:" in skipped.err  # what was left out is still said
    assert account_keys(vault) == ["youtube:acme"]


def test_apply_creates_then_a_second_run_finds_nothing_to_do(vault, tmp_path):
    path = inventory(tmp_path, f"instagram,acme,1,bob@example.com,pw-secret,{SEED}")
    applied = vault("import", "csv", str(path), "--apply")
    assert applied.code == 0, applied.err
    assert "Applied: 1 created, 0 updated, 0 unchanged, 0 skipped." in applied.out
    assert account_keys(vault) == ["instagram:acme"]
    assert vault("grant", "add", "alice@example.com", "instagram:acme", "--level", "manage").code == 0
    assert vault("secret", "reveal", "instagram:acme").out.strip() == "pw-secret"

    again = vault("import", "csv", str(path))
    assert again.code == 0
    assert "1 unchanged" in again.out.splitlines()[0]
    assert "The vault already matches the file." in again.out


def test_json_output_lists_the_plan_and_what_was_applied(vault, tmp_path):
    path = inventory(tmp_path, "instagram,acme,1,,pw,", "x,bad handle,,,,")
    result = vault("import", "csv", str(path), "--apply", "--skip-bad", "--json")
    assert result.code == 0, result.err
    body = json.loads(result.out)
    assert body["file"] == str(path) and body["format"] == "csv" and len(body["sha256"]) == 64
    assert body["create"] == [{"where": f"{path}:2", "title": "instagram:acme", "account": "instagram:acme",
                               "fields": ["tier"], "secrets": ["password"], "replaces": [], "kept": []}]
    assert body["problems"] == [{"where": f"{path}:3", "field": "handle",
                                 "problem": "the value is not a handle: no spaces, control characters or ':'"}]
    assert body["applied"] == {"created": 1, "updated": 0, "skipped": 1}


def test_stored_secrets_are_kept_unless_replace_secrets_and_the_plan_says_which(vault, tmp_path):
    assert vault("import", "csv", str(inventory(tmp_path, "instagram,acme,1,,pw-current,", "x,acme,,,,")),
                 "--apply").code == 0
    assert vault("grant", "add", "alice@example.com", "instagram:acme", "--level", "manage").code == 0  # may compare
    path = inventory(tmp_path, f"instagram,acme,1,,pw-old-export,{SEED}", "x,acme,,,pw-first,")
    dry = vault("import", "csv", str(path))
    assert dry.code == 0, dry.err
    lines = dry.out.splitlines()
    assert lines[0] == f"{path} (csv): 0 to create, 2 to update, 0 unchanged, 0 unmatched, 0 problems, 1 note."
    rows = [" ".join(line.split()) for line in lines]
    assert f"{path}:2 instagram:acme - totp (new)" in rows
    assert f"{path}:3 x:acme - password (new)" in rows
    assert f"{path}:2 password kept: password differs from the vault's; --replace-secrets replaces it" in rows
    body = json.loads(vault("import", "csv", str(path), "--json").out)
    assert [(c["account"], c["secrets"], c["replaces"], c["kept"]) for c in body["update"]] == [
        ("instagram:acme", ["totp"], [], ["password"]), ("x:acme", ["password"], [], [])]

    replacing = vault("import", "csv", str(path), "--replace-secrets")
    rows = [" ".join(line.split()) for line in replacing.out.splitlines()]
    assert f"{path}:2 instagram:acme - password (replaces the stored one), totp (new)" in rows
    assert "pw-old-export" not in replacing.out + replacing.err and "kept:" not in replacing.out
    body = json.loads(vault("import", "csv", str(path), "--replace-secrets", "--json").out)
    assert body["update"][0]["replaces"] == ["password"] and body["notes"] == []

    assert vault("import", "csv", str(path), "--apply").code == 0
    assert vault("secret", "reveal", "instagram:acme").out.strip() == "pw-current"
    again = vault("import", "csv", str(path))
    assert [line for line in again.out.splitlines() if line][-2:] == [
        "Nothing to import: stored secrets that differ, or that you may not reveal, are kept "
        "(--replace-secrets replaces them).",
        "dry run: nothing changed; use --apply"]
    assert vault("import", "csv", str(path), "--apply", "--replace-secrets").code == 0
    assert vault("secret", "reveal", "instagram:acme").out.strip() == "pw-old-export"


def test_columns_and_mapping_files_name_other_headers(vault, tmp_path):
    path = inventory(tmp_path, "instagram,acme,Retail", header="Network,Account Name,Unit")
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\nplatform = "Network"\nhandle = "Wrong"\n')
    result = vault("import", "csv", str(path), "--mapping", str(mapping), "--column", "handle=Account Name",
                   "--column", "business_unit=Unit", "--apply")
    assert result.code == 0, result.err
    assert account_keys(vault) == ["instagram:acme"]
    missing = vault("import", "csv", str(path))
    assert missing.code == 1 and "the header lacks platform (no column 'platform')" in missing.err
    bad = vault("import", "csv", str(path), "--column", "colour=Unit")
    assert bad.code == 2 and "unknown csv field 'colour'" in bad.err


def test_an_encrypted_file_needs_its_password(vault, tmp_path, monkeypatch):
    path = tmp_path / "aegis.json"
    entries = [{**aegis_entry(), "issuer": issuer} for issuer in ("Acme", "Deno", "WWE")]
    path.write_bytes(aegis_encrypted({"version": 3, "entries": entries}, b"test"))
    no_password = vault("import", "aegis", str(path))
    assert no_password.code == 1
    assert no_password.err.strip() == f"smvault: {path} is encrypted: give its password with --password-file F"

    password_file = tmp_path / "aegis-password"
    password_file.write_text("test\n")  # one trailing newline is the file's, as with passphrase files
    result = vault("import", "aegis", str(path), "--password-file", str(password_file))
    assert result.code == 0, result.err
    assert "3 unmatched" in result.out.splitlines()[0]

    password_file.write_text("wrong\n")
    wrong = vault("import", "aegis", str(path), "--password-file", str(password_file), "--apply")
    assert wrong.code == 1 and "wrong password" in wrong.err and "Traceback" not in wrong.err

    empty = tmp_path / "empty"
    empty.write_text("")
    assert vault("import", "aegis", str(path), "--password-file", str(empty)).code == 2

    asked = []
    monkeypatch.setattr(import_cmds, "stdin_is_tty", lambda: True)
    monkeypatch.setattr(click, "prompt", lambda text, **kw: asked.append((text, kw)) or "test")
    prompted = vault("import", "aegis", str(path))
    assert prompted.code == 0, prompted.err
    assert asked == [(f"Password for {path}", {"hide_input": True, "err": True})]


def test_help_lists_every_format_and_csv_field(vault):
    result = vault("import", "--help")
    assert result.code == 0
    text = " ".join(result.out.split())
    for name in (*FORMATS, *FIELDS, "--replace-secrets", "FILE: account N"):
        assert name in text, name


def test_garbage_files_are_named_errors_for_every_format(vault, tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(os.urandom(2048) + b"\x00\xff{[\"")
    for fmt in FORMATS:
        result = vault("import", fmt, str(garbage), "--apply")
        assert result.code in (1, 2), (fmt, result.err)
        assert str(garbage) in result.err, (fmt, result.err)
        assert "Traceback" not in result.err and "unexpected" not in result.err.lower(), (fmt, result.err)
    assert account_keys(vault) == []


def test_a_real_process_reports_a_garbage_file_without_a_traceback(vault, tmp_path, vault_dir, passphrase_file):
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"platform,handle\n\xff\xfe\x00garbage\n")
    result = smvault_process("--vault", str(vault_dir), "--passphrase-file", str(passphrase_file),
                             "--operator", "alice", "import", "csv", str(garbage), "--apply")
    assert result.code == 1
    assert result.err == f"smvault: {garbage}:2: not UTF-8 text (byte 16)\n"
    assert result.out == ""
