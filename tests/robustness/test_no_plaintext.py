"""No secret value, in any encoding a reader would try, in any file smvault leaves on disk."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import pytest

from smvault.services.accounts import add_account
from smvault.services.grants import add_grant
from smvault.services.secrets import add_recovery_codes, reveal, set_password, set_totp
from smvault.store.anchor import default_anchor_dir
from tests.conftest import smvault_process

ACCOUNT = "instagram:acme"


class Secrets:
    """Fresh random values, so a match on disk cannot be a coincidence."""

    def __init__(self) -> None:
        self.password = "Pw-" + secrets.token_urlsafe(18)
        self.codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(4)]
        self.seed = os.urandom(20)  # 160 bits
        self.seed_b32 = base64.b32encode(self.seed).decode()

    def needles(self) -> dict[str, bytes]:
        found = {"password": self.password.encode(), "seed raw": self.seed,
                 "seed base32": self.seed_b32.encode(), "seed base32 lower": self.seed_b32.lower().encode(),
                 "seed hex": self.seed.hex().encode(), "seed HEX": self.seed.hex().upper().encode()}
        found.update({f"code {i}": code.encode() for i, code in enumerate(self.codes)})
        return found


@pytest.fixture
def values() -> Secrets:
    return Secrets()


def files_under(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file())


def leaks(values: Secrets, paths: list[Path]) -> list[str]:
    return [f"{name} in {path.name}" for path in paths for name, needle in values.needles().items()
            if needle in path.read_bytes()]


def leaks_in_text(values: Secrets, text: str) -> list[str]:
    return [name for name, needle in values.needles().items() if needle in text.encode()]


def test_cli_leaves_no_plaintext_secret_on_disk(vault_dir, passphrase_file, tmp_path, values):
    def cli(*args: str, stdin: str | None = None, passfile: Path = passphrase_file):
        return smvault_process("--vault", str(vault_dir), "--passphrase-file", str(passfile),
                               "--operator", "alice", *args, stdin=stdin)

    bob_pass = tmp_path / "bob.pass"
    bob_pass.write_text("bob's passphrase 123\n")
    wrong = tmp_path / "wrong.pass"
    wrong.write_text("not the passphrase\n")
    steps = [
        cli("init", "--operator", "alice", "--email", "alice@example.com"),
        cli("account", "add", "instagram", "acme"),
        cli("grant", "add", "alice@example.com", ACCOUNT, "--level", "manage"),
        cli("secret", "set-password", ACCOUNT, stdin=values.password + "\n"),
        cli("secret", "set-totp", ACCOUNT, stdin=values.seed_b32 + "\n"),
        cli("secret", "add-recovery-codes", ACCOUNT, stdin="\n".join(values.codes) + "\n"),
        cli("operator", "add", "bob", "--new-passphrase-file", str(bob_pass)),  # keyring.json.bak
    ]
    for step in steps:
        assert step.code == 0, step
    shown = [cli("secret", "reveal", ACCOUNT, "--field", field)
             for field in ("password", "totp-seed", "recovery-codes")]
    assert [r.code for r in shown] == [0, 0, 0], shown
    assert shown[0].out == values.password + "\n"
    assert f"secret={values.seed_b32}" in shown[1].out
    assert shown[2].out.split() == values.codes
    backup_file = tmp_path / "vault.backup"
    assert cli("backup", str(backup_file)).code == 0
    failed = cli("person", "list", passfile=wrong)  # unlock-failures.jsonl
    assert failed.code == 3

    vault_files = files_under(vault_dir)
    expected = {"vault.db", "keyring.json", "keyring.json.bak", "unlock-failures.jsonl"}
    assert expected <= {p.name for p in vault_files}
    anchors = files_under(default_anchor_dir())
    assert anchors, "no anchor written"
    assert leaks(values, [*vault_files, backup_file, *anchors]) == []
    everything_printed = "".join(r.err for r in [*steps, *shown, failed])
    assert leaks_in_text(values, everything_printed) == []


def test_open_session_leaves_no_plaintext_in_wal(session, values):
    add_account(session, "instagram", "acme")
    add_grant(session, session.person.email, ACCOUNT, "manage")
    set_password(session, ACCOUNT, values.password)
    set_totp(session, ACCOUNT, values.seed_b32)
    add_recovery_codes(session, ACCOUNT, values.codes)
    assert reveal(session, ACCOUNT, "password").value == values.password
    assert reveal(session, ACCOUNT, "recovery-codes").value == values.codes

    vault_files = files_under(session.vault.directory)
    wal = session.vault.directory / "vault.db-wal"
    assert wal in vault_files and wal.stat().st_size > 0
    assert leaks(values, [*vault_files, *files_under(default_anchor_dir())]) == []
