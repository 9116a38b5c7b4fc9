"""smvault handover create | totp | inspect, and `smvault import handover` on the other side:
confirmation, the passphrase shown once on stdout and nowhere else, exit codes."""

from __future__ import annotations

import json
import re
import sys

import pytest

from smvault.domain import otp
from smvault.domain.imports import parse_file
from smvault.services.session import create_vault, unlock
from tests.conftest import PASSPHRASE, Result

from .conftest import ACME, CODES, NEWS, PASSWORD, SEED, leaked, log_text

CREATE = ("handover", "create", ACME, NEWS, "--to", "dest@partner.example")
REFUSAL = "smvault: this exports secrets: confirm on a terminal or pass --yes\n"


@pytest.fixture
def cli(stocked, run_cli, pin_clock):
    stocked.close()  # the CLI opens its own sessions
    pin_clock(stocked.clock())
    return run_cli


@pytest.fixture
def terminal(monkeypatch):
    """Stdin is a terminal (click.confirm still reads the test's stdin)."""
    monkeypatch.setattr("smvault.cli.handover_cmds.stdin_is_tty", lambda: True)


def vault_log(vault_dir) -> tuple[int, str]:
    with unlock(vault_dir, "alice", PASSPHRASE, check=False) as session:
        return session.vault.log.head().seq, log_text(session)


def passphrase_of(result: Result) -> str:
    lines = result.out.splitlines()
    index = lines.index("Passphrase (shown only now; send it by a different channel than the file):")
    return lines[index + 1]


# --- create ----------------------------------------------------------------------------------------------


def test_off_a_terminal_create_needs_yes_and_writes_nothing(cli, vault_dir, tmp_path):
    before = vault_log(vault_dir)[0]
    for command in (CREATE, ("handover", "totp", ACME, "--format", "uri")):
        result = cli(*command, "--out", str(tmp_path / "f"))
        assert (result.code, result.out, result.err) == (2, "", REFUSAL)
    assert not (tmp_path / "f").exists() and vault_log(vault_dir)[0] == before


def test_create_prints_the_passphrase_once_on_stdout_and_nowhere_else(cli, vault_dir, tmp_path):
    out = tmp_path / "acme.smh"
    result = cli(*CREATE, "--out", str(out), "--yes")
    assert result.code == 0, result.err
    passphrase = passphrase_of(result)
    assert re.fullmatch(r"[a-z]+( [a-z]+){11}", passphrase)
    assert result.out.count(passphrase) == 1 and passphrase not in result.err
    assert re.match(rf"Handover packet [0-9a-f-]{{36}} written to {re.escape(str(out))} \(2 accounts\)\.\n",
                    result.out)
    assert result.err.splitlines() == [f"Handover packet for dest@partner.example, written to {out}, holding the "
                                       "secrets of:", f"  {ACME}", f"  {NEWS}"]
    seq, text = vault_log(vault_dir)
    assert leaked(text, passphrase) == [] and leaked(result.out + result.err) == []
    (entry,) = parse_file("handover", out.read_bytes(), "acme.smh", password=passphrase.encode()).entries[:1]
    assert entry.password == PASSWORD and entry.recovery_codes == tuple(CODES[1:])


def test_on_a_terminal_create_asks_and_a_no_writes_nothing(cli, terminal, vault_dir, tmp_path):
    out = tmp_path / "acme.smh"
    result = cli(*CREATE, "--out", str(out), stdin="n\n")
    assert result.code == 1 and result.out == ""
    assert f"  {ACME}" in result.err and "Write this file? [y/N]" in result.err
    assert result.err.endswith("smvault: cancelled\n")
    assert not out.exists() and "handover.create" not in vault_log(vault_dir)[1]  # only the unlock logged
    result = cli(*CREATE, "--out", str(out), stdin="y\n")
    assert result.code == 0 and out.exists() and passphrase_of(result)


def test_a_refusal_by_policy_exits_5_before_asking(cli, terminal, vault_dir, tmp_path):
    from smvault.services import accounts, secrets

    with unlock(vault_dir, "alice", PASSPHRASE) as session:
        accounts.add_account(session, "tiktok", "unmanaged")
        secrets.set_password(session, "tiktok:unmanaged", "nobody-holds-a-grant")
    result = cli("handover", "create", ACME, "tiktok:unmanaged", "--to", "d@example.com",
                 "--out", str(tmp_path / "p.smh"))
    assert result.code == 5 and "Write this file?" not in result.err
    assert "holds no grant on tiktok:unmanaged" in result.err and not (tmp_path / "p.smh").exists()


def test_one_account_is_one_account(cli, tmp_path):
    result = cli("handover", "create", ACME, "--to", "d@example.com", "--out", str(tmp_path / "p.smh"), "--yes")
    assert result.code == 0, result.err
    assert re.match(r"Handover packet \S+ written to .* \(1 account\)\.\n", result.out)


@pytest.mark.parametrize("command", [CREATE, ("handover", "totp", ACME, "--format", "qr")])
@pytest.mark.parametrize("name", ["vault.db", "keyring.json"])
def test_the_vaults_own_files_are_never_overwritten(cli, vault_dir, command, name):
    before = vault_log(vault_dir)[0]
    original = (vault_dir / name).read_bytes()
    result = cli(*command, "--out", str(vault_dir / name), "--yes")
    assert result.code == 2 and result.out == ""
    assert result.err == f"smvault: {vault_dir / name} is inside the vault directory {vault_dir}: write it somewhere else\n"
    assert vault_log(vault_dir)[0] == before + 1  # the vault still opens; only that unlock was logged
    if name == "keyring.json":
        assert (vault_dir / name).read_bytes() == original


def test_an_existing_file_is_refused_before_asking(cli, terminal, vault_dir, tmp_path):
    out = tmp_path / "acme.smh"
    out.write_text("an older packet\n")
    before = vault_log(vault_dir)[0]
    for command in (CREATE, ("handover", "totp", ACME, "--format", "uri")):
        result = cli(*command, "--out", str(out), stdin="y\n")
        assert (result.code, result.out) == (2, "") and "Write this file?" not in result.err
        assert result.err.endswith(f"smvault: {out} already exists: choose another name\n")
    assert out.read_text() == "an older packet\n" and vault_log(vault_dir)[0] == before + 2  # the unlocks


# --- totp ----------------------------------------------------------------------------------------------


def test_totp_uri_and_qr_exports(cli, tmp_path):
    from tests.kit.test_sheets import qr_from_html

    result = cli("handover", "totp", ACME, "--format", "uri", "--out", str(tmp_path / "s.txt"), "--yes")
    assert result.code == 0, result.err
    assert "TOTP seeds of 1 account written to" in result.out and "not encrypted" in result.out
    assert SEED not in result.out + result.err
    (line,) = (tmp_path / "s.txt").read_text().splitlines()
    assert otp.encode_base32_secret(otp.parse_otpauth_uri(line).secret) == SEED
    result = cli("handover", "totp", ACME, "--format", "qr", "--out", str(tmp_path / "s.html"), "--yes")
    assert result.code == 0, result.err
    assert qr_from_html((tmp_path / "s.html").read_text()) == line
    assert cli("handover", "totp", ACME, "--format", "png", "--out", "x", "--yes").code == 2


# --- inspect -----------------------------------------------------------------------------------------------


def test_inspect_shows_the_header_without_a_passphrase(cli, tmp_path):
    out = tmp_path / "acme.smh"
    created = cli(*CREATE, "--out", str(out), "--yes")
    packet = re.search(r"Handover packet (\S+) written", created.out).group(1)
    result = cli("handover", "inspect", str(out), operator=None)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[:2] == [f"packet      {packet}", "to          dest@partner.example"]
    assert "by          alice" in lines and "accounts    2" in lines and lines[-2:] == [f"  {ACME}", f"  {NEWS}"]
    data = json.loads(cli("handover", "inspect", str(out), "--json").out)
    assert data["accounts"] == [ACME, NEWS] and data["to"] == "dest@partner.example"
    assert passphrase_of(created) not in result.out


def test_inspect_names_a_file_that_is_no_packet(cli, tmp_path):
    (tmp_path / "x.txt").write_text("hello\n")
    result = cli("handover", "inspect", str(tmp_path / "x.txt"))
    assert (result.code, result.err) == (1, f"smvault: {tmp_path / 'x.txt'}: not an smvault handover packet"
                                            " (no header line)\n")


# --- the receiving side: smvault import handover ----------------------------------------------------------------


def _smvault(capsys, monkeypatch, vault_dir, *args: str, stdin: str = "") -> Result:
    from io import StringIO

    from smvault.cli.main import main

    monkeypatch.setattr(sys, "stdin", StringIO(stdin))
    capsys.readouterr()
    code = main(["--vault", str(vault_dir), "--operator", "bea", "--passphrase-file", str(vault_dir.parent / "bea"),
                 *args])
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def test_a_packet_imports_into_another_vault_end_to_end(cli, tmp_path, capsys, monkeypatch):
    out = tmp_path / "acme.smh"
    passphrase = passphrase_of(cli(*CREATE, "--out", str(out), "--yes"))
    other = tmp_path / "other" / "vault"
    other.parent.mkdir()
    (other.parent / "bea").write_bytes(b"bea's own vault passphrase\n")
    create_vault(other, "bea", b"bea's own vault passphrase", email="bea@partner.example").close()
    secret_file = tmp_path / "packet-passphrase"
    secret_file.write_text(passphrase.upper().replace(" ", "-") + "\n")  # as typed from a phone call

    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase\n")
    result = _smvault(capsys, monkeypatch, other, "import", "handover", str(out), "--password-file", str(wrong))
    assert (result.code, result.err) == (1, f"smvault: {out}: wrong passphrase, or the packet was altered\n")

    dry = _smvault(capsys, monkeypatch, other, "import", "handover", str(out), "--password-file", str(secret_file))
    assert dry.code == 0, dry.err
    assert "2 to create" in dry.out and "owner: Bob Builder <bob@example.com>" in dry.out
    assert leaked(dry.out + dry.err, passphrase) == []
    applied = _smvault(capsys, monkeypatch, other, "import", "handover", str(out), "--password-file", str(secret_file),
                       "--apply")
    assert applied.code == 0, applied.err
    with unlock(other, "bea", b"bea's own vault passphrase", check=False) as session:
        account = session.vault.accounts.by_key("instagram", "acme")
        assert (account.brand, account.tier, account.recovery_email, account.notes) == (
            "Acme", 1, "recovery@acme.example", "Main brand account")
        assert account.owner_id is None  # bob is no person of this vault: the note said so
        assert session.vault.secrets.password(account.id)[0] == PASSWORD
        assert otp.encode_base32_secret(session.vault.secrets.totp(account.id).secret) == SEED
        assert [c.code for c in session.vault.secrets.recovery_codes(account.id)] == CODES[1:]
        assert leaked(log_text(session), passphrase) == []
