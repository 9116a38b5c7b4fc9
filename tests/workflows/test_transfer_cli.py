"""`smvault transfer ...` with two operators: exit codes, JSON, the human checklist."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def two_ops(run_cli, tmp_path):
    """alice manages instagram:acme (owned by bob); dev is a second operator with own passphrase,
    added by a third operator, ops (one alice added could not approve alice's transfers)."""
    assert run_cli("init", "--operator", "alice", "--email", "alice@example.com", operator=None).code == 0
    for name, email in (("Bob Owner", "bob@example.com"), ("Carol New", "carol@example.com")):
        assert run_cli("person", "add", name, "--email", email).code == 0
    assert run_cli("account", "add", "instagram", "acme", "--mfa", "totp", "--owner", "bob@example.com",
                   "--recovery-email", "ig@example.com", "--recovery-email-controller", "bob@example.com").code == 0
    assert run_cli("account", "add", "youtube", "acme", "--owner", "bob@example.com").code == 0
    for ref in ("instagram:acme", "youtube:acme"):
        assert run_cli("grant", "add", "alice@example.com", ref, "--level", "manage").code == 0
    dev_pass, ops_pass = tmp_path / "devpass", tmp_path / "opspass"
    dev_pass.write_text("dev's own passphrase\n")
    ops_pass.write_text("ops keeps her own passphrase\n")
    assert run_cli("operator", "add", "ops", "--email", "ops@example.com",
                   "--new-passphrase-file", str(ops_pass)).code == 0
    assert run_cli("--passphrase-file", str(ops_pass), "operator", "add", "dev", "--email", "dev@example.com",
                   "--new-passphrase-file", str(dev_pass), operator="ops").code == 0

    def as_dev(*args):
        return run_cli("--passphrase-file", str(dev_pass), *args, operator="dev")

    return run_cli, as_dev


def test_dual_control_walk_to_close(two_ops):
    cli, dev = two_ops
    started = cli("transfer", "start", "instagram:acme", "--to", "carol@example.com", "--json")
    assert started.code == 0
    view = json.loads(started.out)
    wid = str(view["workflow_id"])
    assert (view["state"], view["template"], view["requested_by"]) == ("requested", "instagram", "alice")

    refused = cli("transfer", "approve", wid)
    assert refused.code == 5 and "cannot approve" in refused.err and refused.out == ""
    early = cli("transfer", "step", wid, "1", "--note", "connected")
    assert early.code == 5 and "not approved yet" in early.err

    approved = dev("transfer", "approve", wid)
    assert approved.code == 0 and "as dev" in approved.out
    assert dev("transfer", "approve", "instagram:acme").code == 1  # already approved
    assert dev("transfer", "step", wid, "1", "--note", "x").code == 5  # dev does not manage it

    for position in (1, 2, 3):
        assert cli("transfer", "step", wid, str(position), "--note", f"done {position}").code == 0
    stepped = cli("transfer", "step", wid, "4", "--note", "done 4", "--json")
    assert stepped.code == 0 and json.loads(stepped.out)["steps"][3]["done"] is True
    assert cli("transfer", "step", wid, "5", "--note", "rotated, promise").code == 5  # needs the fact
    assert cli("secret", "set-password", "instagram:acme", "--generate").code == 0
    assert cli("secret", "set-totp", "instagram:acme", stdin="KRSXG5CTMVRXEZLU\n").code == 0
    blocked = cli("transfer", "close", wid)
    assert blocked.code == 5 and "step 7 (qr-enrol) is not done" in blocked.err
    assert cli("secret", "reveal", "instagram:acme", "--field", "totp-seed").code == 0

    status = cli("transfer", "status", "instagram:acme")
    assert status.code == 0 and "Ready to close" in status.out
    assert "[x] 5." in status.out and "[ ] 8." in status.out

    closed = cli("transfer", "close", wid, "--json")
    assert closed.code == 0
    assert json.loads(closed.out)["state"] == "closed"
    account = json.loads(cli("account", "show", "instagram:acme", "--json").out)
    assert account["owner"] == "carol@example.com"
    assert account["root_of_control"]["recovery_email_controller"] == "carol@example.com"
    assert cli("log", "verify").code == 0


def test_human_status_shows_waits_and_blockers(two_ops):
    cli, dev = two_ops
    assert cli("transfer", "start", "youtube:acme", "--to", "carol@example.com").code == 0
    out = cli("transfer", "status", "youtube:acme").out
    assert "[ ] 1." in out and "(manual)" in out and "(auto)" in out
    assert "(manual), after step 1 is done, then 7 days" in out  # no date before step 1 is done
    assert "Cannot close yet:" in out and "not approved yet" in out
    assert "step 2 waits: after step 1 is done, then 7 days" in out
    approved = dev("transfer", "approve", "youtube:acme", "--json")
    assert approved.code == 0 and json.loads(approved.out)["approved_by"] == "dev"
    assert cli("transfer", "step", "youtube:acme", "1", "--note", "invited").code == 0
    out = cli("transfer", "status", "youtube:acme").out
    assert "(manual), not before 2026-" in out and "step 2 waits until 2026-" in out


def test_an_account_without_owner_reads_from_nobody(two_ops):
    cli, dev = two_ops
    assert cli("account", "add", "linkedin", "acme").code == 0
    assert cli("transfer", "start", "linkedin:acme", "--to", "carol@example.com").code == 0
    status = cli("transfer", "status", "linkedin:acme")
    assert status.code == 0 and any(line.split() == ["from", "nobody"] for line in status.out.splitlines())
    assert json.loads(cli("transfer", "status", "linkedin:acme", "--json").out)["from_email"] is None


def test_account_update_cannot_replace_the_owner(two_ops):
    cli, dev = two_ops
    moved = cli("account", "update", "instagram:acme", "--owner", "carol@example.com")
    assert moved.code == 5 and "smvault transfer start instagram:acme --to EMAIL" in moved.err
    assert json.loads(cli("account", "show", "instagram:acme", "--json").out)["owner"] == "bob@example.com"


def test_list_cancel_and_errors(two_ops):
    cli, dev = two_ops
    assert cli("transfer", "start", "youtube:acme", "--to", "carol@example.com", "--template", "generic").code == 0
    rows = json.loads(cli("transfer", "list", "--json").out)
    assert [(r["account_key"], r["state"]) for r in rows] == [("youtube:acme", "requested")]
    again = cli("transfer", "start", "youtube:acme", "--to", "dev@example.com")
    assert again.code == 1 and "already has an open transfer" in again.err
    assert cli("transfer", "cancel", "youtube:acme").code == 2  # --reason is required
    cancelled = dev("transfer", "cancel", "youtube:acme", "--reason", "wrong person", "--json")
    assert cancelled.code == 0 and json.loads(cancelled.out)["cancel_reason"] == "wrong person"
    assert json.loads(cli("transfer", "list", "--json").out) == []
    every = json.loads(cli("transfer", "list", "--all", "--json").out)
    assert [r["state"] for r in every] == ["cancelled"]
    assert "youtube:acme" in cli("transfer", "list", "--all").out
    assert cli("transfer", "status", "42").code == 1
    assert cli("transfer", "start", "youtube:acme", "--to", "carol@example.com", "--template", "myspace").code == 2
