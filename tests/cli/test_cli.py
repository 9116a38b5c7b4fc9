"""The CLI contract: command names, JSON output, exit codes, stdin for secrets."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def vault(run_cli):
    assert run_cli("init", "--operator", "alice", "--email", "alice@example.com", operator=None).code == 0
    assert run_cli("person", "add", "Bob B", "--email", "bob@example.com", "--type", "contractor").code == 0
    assert run_cli("account", "add", "instagram", "@acme", "--login-id", "s@example.com", "--mfa", "totp",
                   "--owner", "bob@example.com", "--tier", "1").code == 0
    assert run_cli("grant", "add", "alice@example.com", "instagram:acme", "--level", "manage").code == 0
    return run_cli


def test_full_secret_round_trip(vault):
    assert vault("secret", "set-password", "instagram:acme", stdin="hunter2-long\n").code == 0
    assert vault("secret", "set-totp", "instagram:acme", stdin="JBSWY3DPEHPK3PXP\n").code == 0
    assert vault("secret", "add-recovery-codes", "instagram:acme", stdin="aaa-111\nbbb-222\n\n").code == 0
    out = vault("secret", "reveal", "instagram:acme")
    assert (out.code, out.out) == (0, "hunter2-long\n")
    codes = vault("secret", "reveal", "instagram:acme", "--field", "recovery-codes", "--json")
    assert json.loads(codes.out)["value"] == ["aaa-111", "bbb-222"]
    totp = json.loads(vault("totp", "instagram:acme", "--json").out)
    assert len(totp["code"]) == 6 and 1 <= totp["seconds_left"] <= 30
    assert vault("secret", "use-recovery-code", "instagram:acme").out == "aaa-111\n"


def test_generate_prints_password_once(vault):
    result = vault("secret", "set-password", "instagram:acme", "--generate")
    assert result.code == 0 and len(result.out.strip()) == 24
    assert vault("secret", "reveal", "instagram:acme").out == result.out


def test_policy_refusal_is_exit_5(vault):
    vault("secret", "set-password", "instagram:acme", stdin="hunter2-long")
    result = vault("secret", "reveal", "instagram:acme", "--for", "bob@example.com")
    assert result.code == 5 and result.out == ""
    assert "bob@example.com" in result.err and "hunter2" not in result.err


def test_usage_errors_are_exit_2(vault):
    assert vault("grant", "add", "bob@example.com", "instagram:acme", "--level", "root").code == 2
    assert vault("person", "leave", "bob@example.com", "--on", "tomorrow").code == 2
    assert vault("account", "show", "no-colon-here").code == 2
    assert vault("nonsense").code == 2


def test_not_found_is_exit_1(vault):
    result = vault("account", "show", "x:ghost")
    assert result.code == 1 and "x:ghost" in result.err


def test_wrong_passphrase_is_exit_3(vault, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase\n")
    result = vault("--passphrase-file", str(wrong), "person", "list")
    assert result.code == 3 and result.out == ""
    assert result.err.strip().count("\n") == 0 and "wrong passphrase" in result.err


def test_json_outputs(vault):
    people = json.loads(vault("person", "list", "--json").out)
    assert {p["email"] for p in people} == {"alice@example.com", "bob@example.com"}
    account = json.loads(vault("account", "show", "instagram:acme", "--json").out)
    assert account["root_of_control"]["login_id"] == "s@example.com"
    assert account["owner"] == "bob@example.com"
    assert account["vault_holds"]["password"] is False
    who = json.loads(vault("who-can", "instagram:acme", "--json").out)
    assert who["controller_count"] == 0 and who["paths"][0]["path"] == "vault"
    grants = json.loads(vault("grant", "list", "--json").out)
    assert [g["level"] for g in grants] == ["manage"]
    ops = json.loads(vault("operator", "list", "--json").out)
    assert [o["name"] for o in ops] == ["alice"]
    entries = json.loads(vault("log", "tail", "--json", "-n", "3").out)
    assert entries[-1]["action"] == "vault.unlock"


def test_person_lifecycle_and_show(vault):
    assert vault("person", "update", "bob@example.com", "--team", "brand").code == 0
    assert vault("person", "leave", "bob@example.com", "--on", "2031-01-31").code == 0
    shown = json.loads(vault("person", "show", "bob@example.com", "--json").out)
    assert shown["team"] == "brand" and shown["leave_on"] == "2031-01-31" and shown["status"] == "leaving"


def test_grant_expiry_and_revoke(vault):
    assert vault("grant", "add", "bob@example.com", "instagram:acme", "--level", "code-only",
                 "--expires", "2031-12-31", "--reason", "campaign").code == 0
    listed = json.loads(vault("grant", "list", "--person", "bob@example.com", "--json").out)
    assert listed[0]["expires_at"] == "2032-01-01T00:00:00Z"  # good through the whole last day
    assert vault("grant", "revoke", "bob@example.com", "instagram:acme").code == 0
    assert json.loads(vault("grant", "list", "--person", "bob@example.com", "--json").out) == []


def test_operator_commands(vault, tmp_path):
    new = tmp_path / "bobpass"
    new.write_text("bobs own passphrase\n")
    assert vault("operator", "add", "bob", "--email", "bob@example.com", "--new-passphrase-file", str(new)).code == 0
    bob_list = vault("--passphrase-file", str(new), "operator", "list", operator="bob")
    assert bob_list.code == 0 and "alice" in bob_list.out
    newer = tmp_path / "bobpass2"
    newer.write_text("bobs newer passphrase\n")
    assert vault("--passphrase-file", str(new), "operator", "passwd", "--new-passphrase-file", str(newer), operator="bob").code == 0
    assert vault("--passphrase-file", str(new), "operator", "list", operator="bob").code == 3
    assert vault("operator", "remove", "bob").code == 0
    assert vault("--passphrase-file", str(newer), "operator", "list", operator="bob").code == 3


def test_log_verify_checkpoint_export(vault):
    result = vault("log", "verify")
    assert result.code == 0 and result.out.startswith("OK:")
    checkpoint = json.loads(vault("log", "checkpoint", "--json").out)
    assert len(checkpoint["entry_hash"]) == 64
    lines = vault("log", "export", "--format", "jsonl").out.splitlines()
    assert {"seq", "prev_hash", "body", "entry_hash", "mac", "key_epoch"} <= set(json.loads(lines[0]))


def test_secrets_read_from_stdin_never_echoed(vault):
    result = vault("secret", "set-password", "instagram:acme", stdin="zz-unique-pw-zz\n")
    assert "zz-unique" not in result.out + result.err


def test_user_text_is_printed_without_control_characters(vault):
    assert vault("person", "add", "Mallory", "--email", "m@example.com", "--team", "t").code == 0
    evil = "[@click=app.quit]x[/]"
    assert vault("person", "update", "m@example.com", "--name", evil).code == 0
    out = vault("person", "list").out
    assert evil in out  # literal, as typed
    assert vault("person", "update", "m@example.com", "--name", "a\x1b]52;c;Zm9v\x07b").code == 1


def test_grant_list_all_shows_revoked_and_leavers_grants_are_not_in_force(vault):
    vault("grant", "add", "bob@example.com", "instagram:acme", "--level", "reveal")
    vault("grant", "revoke", "alice@example.com", "instagram:acme")
    everything = json.loads(vault("grant", "list", "--all", "--json").out)
    assert {(g["person"], g["level"], g["revoked_at"] is not None) for g in everything} == {
        ("alice@example.com", "manage", True), ("bob@example.com", "reveal", False)}
    vault("person", "leave", "bob@example.com", "--on", "2000-01-01")
    shown = json.loads(vault("person", "show", "bob@example.com", "--json").out)
    assert [g["in_force"] for g in shown["grants"]] == [False]
    assert json.loads(vault("grant", "list", "--json").out) == []


def test_backup_owner_is_set_shown_and_cleared(vault):
    assert vault("account", "update", "instagram:acme", "--backup-owner", "alice@example.com").code == 0
    shown = json.loads(vault("account", "show", "instagram:acme", "--json").out)
    assert (shown["owner"], shown["backup_owner"]) == ("bob@example.com", "alice@example.com")
    assert vault("account", "update", "instagram:acme", "--clear", "backup_owner").code == 0
    assert json.loads(vault("account", "show", "instagram:acme", "--json").out)["backup_owner"] is None


def test_an_owned_account_changes_hands_only_through_a_transfer(vault):
    result = vault("account", "update", "instagram:acme", "--owner", "alice@example.com")
    assert result.code == 5 and "smvault transfer start" in result.err
