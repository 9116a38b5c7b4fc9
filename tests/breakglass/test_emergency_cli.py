"""`smvault breakglass ...` end to end: exit codes, JSON, time left, the waiting policy."""

from __future__ import annotations

import json

import pytest

from smvault.cli.breakglass_cmds import breakglass, duration

START = "2026-11-02T09:30:00Z"


@pytest.fixture
def two_ops(run_cli, tmp_path, pin_clock):
    """alice holds code-only on x:acme (password stored); ops (added by alice) added bob, who
    keeps his own passphrase: he may approve alice's requests. Time is pinned and moved
    in-process with `pin_clock`."""
    pin_clock(START)
    assert run_cli("init", "--operator", "alice", "--email", "alice@example.com", operator=None).code == 0
    assert run_cli("account", "add", "x", "acme", "--mfa", "totp").code == 0
    assert run_cli("secret", "set-password", "x:acme", stdin="acme-password-1\n").code == 0
    assert run_cli("secret", "set-totp", "x:acme", stdin="JBSWY3DPEHPK3PXP\n").code == 0
    assert run_cli("grant", "add", "alice@example.com", "x:acme", "--level", "code-only").code == 0
    ops_pass, bob_pass = tmp_path / "opspass", tmp_path / "bobpass"
    ops_pass.write_text("ops keeps her own passphrase\n")
    bob_pass.write_text("bob keeps his own passphrase\n")
    assert run_cli("operator", "add", "ops", "--email", "ops@example.com",
                   "--new-passphrase-file", str(ops_pass)).code == 0
    assert run_cli("--passphrase-file", str(ops_pass), "operator", "add", "bob", "--email", "bob@example.com",
                   "--new-passphrase-file", str(bob_pass), operator="ops").code == 0

    def as_bob(*args, **kwargs):
        return run_cli("--passphrase-file", str(bob_pass), *args, operator="bob", **kwargs)

    def at(moment: str) -> None:
        pin_clock(moment)

    return run_cli, as_bob, at


def test_request_approve_status_and_lapse(two_ops):
    cli, bob, at = two_ops
    requested = cli("breakglass", "request", "x:acme", "--reason", "spam from the account",
                    "--incident", "INC-42", "--minutes", "30", "--json")
    assert requested.code == 0, requested.err
    view = json.loads(requested.out)
    rid = str(view["id"])
    assert (view["state"], view["requester"], view["incident"], view["bg_id"]) == (
        "requested", "alice", "INC-42", f"emergency-{rid}")

    refused = cli("breakglass", "approve", rid)
    assert refused.code == 5 and "cannot approve" in refused.err and refused.out == ""
    assert cli("secret", "reveal", "x:acme").code == 5

    approved = bob("breakglass", "approve", rid)
    assert approved.code == 0 and "alice may open x:acme until 2026-11-02T10:00:00Z" in approved.out
    assert bob("breakglass", "approve", rid).code == 1  # already active (a conflict)

    at("2026-11-02T09:45:00Z")
    shown = cli("secret", "reveal", "x:acme", "--json")
    assert shown.code == 0 and "acme-password-1" in shown.out
    status = cli("breakglass", "status", rid, "--json")
    data = json.loads(status.out)
    assert (data["state"], data["approved_by"], data["time_left_seconds"]) == ("active", "bob", 15 * 60)
    text = cli("breakglass", "status", rid)
    assert "active until 2026-11-02T10:00:00Z (15m 00s left)" in text.out
    listed = cli("breakglass", "status")
    assert "INC-42" in listed.out and "15m 00s" in listed.out

    at("2026-11-02T10:00:01Z")
    assert cli("secret", "reveal", "x:acme").code == 5  # lapsed (the unlock swept it, too)
    after = json.loads(cli("breakglass", "status", rid, "--json").out)
    assert after["state"] == "lapsed" and after["time_left_seconds"] is None
    assert after["post_incident_id"] is not None
    assert json.loads(cli("breakglass", "status", "--json").out) == []
    assert cli("log", "verify").code == 0


def test_policy_wait_veto_and_end(two_ops):
    cli, bob, at = two_ops
    shown = json.loads(cli("breakglass", "policy", "--json").out)
    assert shown == {"0": None, "1": None, "2": None, "3": None}
    assert cli("breakglass", "policy", "--tier", "2").code == 2  # both or neither
    assert cli("breakglass", "policy", "--tier", "2", "--wait", "soon").code == 2
    assert cli("breakglass", "policy", "--tier", "9", "--wait", "10").code == 1
    assert bob("breakglass", "policy", "--tier", "2", "--wait", "20").code == 0
    text = cli("breakglass", "policy")
    assert "20 min" in text.out and "none (approval needed)" in text.out

    first = json.loads(cli("breakglass", "request", "x:acme", "--reason", "r", "--incident", "INC-1",
                           "--json").out)
    assert first["state"] == "waiting" and first["wait_until"] == "2026-11-02T09:50:00Z"
    own_veto = cli("breakglass", "veto", str(first["id"]), "--reason", "x")
    assert own_veto.code == 5 and "cannot veto" in own_veto.err
    vetoed = bob("breakglass", "veto", str(first["id"]), "--reason", "unknown incident")
    assert vetoed.code == 0 and "Vetoed" in vetoed.out
    at("2026-11-02T10:00:00Z")
    assert json.loads(cli("breakglass", "status", str(first["id"]), "--json").out)["state"] == "vetoed"
    assert cli("secret", "reveal", "x:acme").code == 5

    second = json.loads(cli("breakglass", "request", "x:acme", "--reason", "r", "--incident", "INC-2",
                            "--json").out)
    assert "activates at 2026-11-02T10:20:00Z" in cli("breakglass", "status", str(second["id"])).out
    at("2026-11-02T10:20:00Z")
    assert cli("secret", "reveal", "x:acme").code == 0  # the wait passed unvetoed
    assert bob("breakglass", "end", str(second["id"])).code == 5  # only the requester ends it
    ended = cli("breakglass", "end", str(second["id"]), "--json")
    assert ended.code == 0 and json.loads(ended.out)["state"] == "ended"
    assert cli("secret", "reveal", "x:acme").code == 5
    assert cli("breakglass", "status", "999").code == 1


def _head(cli) -> int:
    return json.loads(cli("log", "tail", "-n", "1", "--json").out)[-1]["seq"]


def test_bad_input_is_named_and_changes_nothing(two_ops):
    """Refused input writes nothing: the only entries after it are the commands' own unlocks."""
    cli, bob, _ = two_ops
    before = _head(cli)
    for args, needle in ((["--incident", "INC 1"], "no spaces"), (["--incident", "I1", "--minutes", "0"], "1 to 480"),
                         (["--incident", "I1", "--reason", " "], "reason")):
        argv = ["breakglass", "request", "x:acme", "--reason", "r", *args]
        result = cli(*argv)
        assert result.code == 1 and needle in result.err, (args, result.err)
    assert cli("breakglass", "request", "x:acme", "--incident", "I1").code == 2  # --reason missing
    for command in (["approve"], ["veto", "--reason", "x"], ["end"], ["status"]):
        for bad in ("99999999999999999999", "0", "-3", "seven"):
            result = bob("breakglass", command[0], bad, *command[1:])
            assert result.code == 2 and "ID" in result.err and "internal error" not in result.err, (command, bad)
    assert bob("breakglass", "approve", "9223372036854775807").code == 1  # a valid id, no such request
    assert json.loads(cli("breakglass", "status", "--all", "--json").out) == []
    after = json.loads(cli("log", "tail", "-n", "50", "--json").out)
    assert {e["action"] for e in after if e["seq"] > before} == {"vault.unlock"}


def test_every_command_has_help_text():
    for name, command in breakglass.commands.items():
        assert command.help and len(command.help) > 20, name
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, (name, param.name)


def test_durations_read_naturally():
    from datetime import timedelta

    assert duration(timedelta(hours=1, minutes=5, seconds=3)) == "1h 05m"
    assert duration(timedelta(minutes=4, seconds=9)) == "4m 09s"
    assert duration(timedelta(seconds=7)) == "7s"
    assert duration(None) is None
