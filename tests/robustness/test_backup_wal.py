"""Backups taken while committed rows still live only in the -wal file, and restoring them."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from smvault.domain.errors import ConflictError, IntegrityError
from smvault.services.backup import backup, restore
from smvault.services.people import add_person
from smvault.store.connection import DB_FILE
from tests.conftest import PASSPHRASE, smvault_process

EMAILS = [f"wal-{n}@example.com" for n in range(25)]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture
def backup_file(session, tmp_path) -> Path:
    """A backup of a vault whose last transactions are committed but not checkpointed."""
    for email in EMAILS:  # one transaction each
        add_person(session, f"Person {email}", email)
    wal = session.vault.directory / f"{DB_FILE}-wal"
    assert wal.exists() and wal.stat().st_size > 0
    target = tmp_path / "vault.backup"
    backup(session, target)
    return target


def test_backup_holds_rows_that_live_only_in_the_wal(session, backup_file, tmp_path, passphrase_file):
    original_log = list(session.vault.log.raw_rows())
    restored_dir = tmp_path / "restored"
    with restore(backup_file, restored_dir, "alice", PASSPHRASE) as restored:
        assert {p.email for p in restored.vault.people.all()} == {p.email for p in session.vault.people.all()}
        assert list(restored.vault.log.raw_rows())[:-1] == original_log
        result = restored.vault.log.verify()
        assert result.ok, result.damage
        actions = [e["action"] for e in restored.vault.log.entries(newest_first=False)]
        assert actions.count("person.add") == len(EMAILS)
        assert actions[-2:] == ["vault.backup", "vault.restore"]
        assert restored.vault.page_problems() == []

    listed = smvault_process("--vault", str(restored_dir), "--passphrase-file", str(passphrase_file),
                             "person", "list", "--json")
    assert listed.code == 0, listed
    assert set(EMAILS) <= {p["email"] for p in json.loads(listed.out)}


def test_restore_into_a_non_empty_directory_changes_nothing(backup_file, tmp_path):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("keep me")
    before = snapshot(occupied)
    with pytest.raises(ConflictError):
        restore(backup_file, occupied, "alice", PASSPHRASE)
    assert snapshot(occupied) == before


def random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(20_000))


def tar_without_keyring(path: Path) -> None:
    with tarfile.open(path, "w") as tar:
        data = b"not an smvault backup"
        info = tarfile.TarInfo("vault.db")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("make", [random_bytes, tar_without_keyring])
def test_garbage_backup_is_an_integrity_error(tmp_path, make):
    bogus = tmp_path / "bogus.backup"
    make(bogus)
    target = tmp_path / "restored"
    with pytest.raises(IntegrityError):
        restore(bogus, target, "alice", PASSPHRASE)
    assert not target.exists()
