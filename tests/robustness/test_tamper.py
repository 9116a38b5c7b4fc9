"""Damaged and rolled-back vault files, seen through a real `smvault` process: exit 4, a clear
message, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from smvault.services.people import add_person
from smvault.services.session import create_vault
from smvault.store import keyring
from smvault.store.connection import DB_FILE, connect
from tests.conftest import PASSPHRASE, smvault_process

DATA_COMMANDS = [("person", "list"), ("log", "tail", "-n", "500"), ("log", "export")]


def cli(vault_dir: Path, passfile: Path, *args: str):
    result = smvault_process("--vault", str(vault_dir), "--passphrase-file", str(passfile), *args)
    assert "Traceback" not in result.err, result.err
    return result


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)[0]
        fh.seek(offset)
        fh.write(bytes([byte ^ 0x01]))


def hmac_failures(vault_dir: Path) -> list[str]:
    key = keyring.unlock(keyring.load(vault_dir), "alice", PASSPHRASE)
    conn = connect(vault_dir / DB_FILE, key)
    try:
        return [row[0] for row in conn.execute("PRAGMA cipher_integrity_check")]
    finally:
        conn.close()


@pytest.fixture
def page_size(vault_dir) -> int:
    """A closed vault of ~200 people (many pages), its WAL checkpointed into vault.db."""
    with create_vault(vault_dir, "alice", PASSPHRASE) as session:
        for n in range(200):
            add_person(session, f"Person {n}", f"person-{n}@example.com", team="tamper")
        size = int(session.vault.conn.execute("PRAGMA page_size").fetchone()[0])
    wal = vault_dir / f"{DB_FILE}-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    assert (vault_dir / DB_FILE).stat().st_size >= 20 * size
    assert hmac_failures(vault_dir) == []
    return size


@pytest.fixture
def damaged_middle_page(vault_dir, page_size) -> int:
    db = vault_dir / DB_FILE
    page = db.stat().st_size // page_size // 2
    flip_byte(db, page * page_size + page_size // 2)
    assert hmac_failures(vault_dir) == [f"HMAC verification failed for page {page + 1}"]
    return page + 1


def test_log_verify_reports_a_damaged_data_page(vault_dir, passphrase_file, damaged_middle_page):
    result = cli(vault_dir, passphrase_file, "log", "verify")
    assert result.code == 4, result
    assert "damaged" in result.err or "page check" in result.err


@pytest.mark.parametrize("command", DATA_COMMANDS, ids=" ".join)
def test_other_commands_on_a_damaged_data_page_fail_cleanly_or_work(
    vault_dir, passphrase_file, damaged_middle_page, command
):
    result = cli(vault_dir, passphrase_file, *command)
    assert result.code in (0, 4), result
    if result.code == 4:
        assert "damaged" in result.err


def test_damaged_page_one_is_not_called_a_wrong_passphrase(vault_dir, passphrase_file, page_size, tmp_path):
    wrong = tmp_path / "wrong.pass"
    wrong.write_text("not the passphrase\n")
    wrong_message = cli(vault_dir, wrong, "person", "list")
    assert wrong_message.code == 3

    flip_byte(vault_dir / DB_FILE, 100)
    for command in [("log", "verify"), *DATA_COMMANDS]:
        result = cli(vault_dir, passphrase_file, *command)
        assert result.code == 4, result
        assert result.out == "" and len(result.err.splitlines()) == 1, result.err
        assert "damaged" in result.err and "cannot be decrypted" in result.err
        assert result.err != wrong_message.err and "wrong passphrase" not in result.err


@pytest.fixture
def rolled_back(vault_dir, passphrase_file, tmp_path) -> int:
    """The vault directory replaced by an older copy of itself; returns the anchored seq."""
    create_vault(vault_dir, "alice", PASSPHRASE).close()
    old = tmp_path / "old-copy"
    shutil.copytree(vault_dir, old)
    for n in range(3):
        added = cli(vault_dir, passphrase_file, "person", "add", f"Later {n}", "--email", f"later-{n}@example.com")
        assert added.code == 0, added
    checkpoint = cli(vault_dir, passphrase_file, "log", "checkpoint", "--json")
    assert checkpoint.code == 0, checkpoint
    shutil.rmtree(vault_dir)
    shutil.copytree(old, vault_dir)
    return json.loads(checkpoint.out)["seq"]


def test_older_copy_is_refused(vault_dir, passphrase_file, rolled_back):
    for command in [("person", "list"), ("log", "verify")]:
        result = cli(vault_dir, passphrase_file, *command)
        assert result.code == 4, result
        assert "truncated" in result.err, result.err
        assert f"entry {rolled_back}" in result.err, result.err
    assert "older copy" in cli(vault_dir, passphrase_file, "person", "list").err


def test_reanchor_accepts_the_older_copy_and_is_logged(vault_dir, passphrase_file, rolled_back):
    reason = "restored yesterday's copy on purpose"
    reanchored = cli(vault_dir, passphrase_file, "log", "reanchor", "--reason", reason)
    assert reanchored.code == 0, reanchored

    listed = cli(vault_dir, passphrase_file, "person", "list", "--json")
    assert listed.code == 0, listed
    assert not any(p["email"].startswith("later-") for p in json.loads(listed.out))
    tail = cli(vault_dir, passphrase_file, "log", "tail", "--json")
    entries = [e for e in json.loads(tail.out) if e["action"] == "log.reanchor"]
    assert len(entries) == 1
    assert entries[0]["detail"]["reason"] == reason
    assert entries[0]["detail"]["previous_anchor"]["seq"] == rolled_back
    assert cli(vault_dir, passphrase_file, "log", "verify").code == 0
