"""A failed unlock in a real process: exit 3, one line on stderr, the vault untouched, logged later."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smvault.services.session import create_vault
from smvault.store.failures import FAILURES_FILE
from tests.conftest import PASSPHRASE, smvault_process

WRONG = "Tr0ub4dor&3-not-it"


@pytest.fixture
def closed_vault(vault_dir) -> Path:
    create_vault(vault_dir, "alice", PASSPHRASE).close()
    return vault_dir


def cli(vault_dir: Path, passfile: Path, operator: str, *args: str):
    return smvault_process("--vault", str(vault_dir), "--passphrase-file", str(passfile), "--operator", operator, *args)


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def assert_one_clean_line(result, *words: str) -> None:
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("smvault: "), result.err  # nothing from SQLCipher
    assert all(word in lines[0] for word in words), lines[0]
    assert WRONG not in result.err


@pytest.mark.parametrize("operator, passphrase, words, reason", [
    ("alice", WRONG.encode(), ("wrong passphrase", "alice"), "WrongPassphraseError"),
    ("zed", PASSPHRASE, ("unknown operator", "zed"), "UnknownOperatorError"),
], ids=["wrong-passphrase", "unknown-operator"])
def test_failed_unlock_changes_nothing_and_is_logged_later(
    closed_vault, tmp_path, passphrase_file, operator, passphrase, words, reason
):
    bad = tmp_path / "bad.pass"
    bad.write_bytes(passphrase + b"\n")
    before = files(closed_vault)
    assert FAILURES_FILE not in before

    failed = cli(closed_vault, bad, operator, "person", "list")
    assert failed.code == 3
    assert_one_clean_line(failed, *words)
    after = files(closed_vault)
    assert {k: v for k, v in after.items() if k != FAILURES_FILE} == before  # vault.db, keyring.json
    noted = [json.loads(line) for line in after[FAILURES_FILE].splitlines()]
    assert [(n["operator"], n["reason"]) for n in noted] == [(operator, reason)]
    assert WRONG.encode() not in after[FAILURES_FILE]

    tail = cli(closed_vault, passphrase_file, "alice", "log", "tail", "--json")
    assert tail.code == 0 and tail.err == "", tail
    entries = json.loads(tail.out)
    assert [e["action"] for e in entries[-2:]] == ["vault.unlock-failed", "vault.unlock"]
    assert entries[-2]["detail"]["operator"] == operator and entries[-2]["detail"]["reason"] == reason
    assert FAILURES_FILE not in files(closed_vault)
