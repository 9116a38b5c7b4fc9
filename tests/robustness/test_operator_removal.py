"""Removing an operator rekeys the vault: their passphrase and the vault key they held are dead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smvault.domain.errors import IntegrityError, SmvaultError
from smvault.services.operators import add_operator, remove_operator
from smvault.services.session import create_vault
from smvault.store import keyring
from smvault.store.connection import DB_FILE, connect
from tests.conftest import PASSPHRASE, smvault_process

PASSPHRASES = {"alice": PASSPHRASE, "bob": b"bob's own passphrase 7", "carol": b"carol's own passphrase 9"}


def cli(vault_dir: Path, tmp_path: Path, operator: str, *args: str):
    passfile = tmp_path / f"{operator}.pass"
    passfile.write_bytes(PASSPHRASES[operator] + b"\n")
    return smvault_process("--vault", str(vault_dir), "--passphrase-file", str(passfile),
                           "--operator", operator, *args)


def vault_key(vault_dir: Path, operator: str) -> bytes:
    return keyring.unlock(keyring.load(vault_dir), operator, PASSPHRASES[operator])


def opens(vault_dir: Path, key: bytes) -> bool:
    try:
        connect(vault_dir / DB_FILE, key).close()
    except IntegrityError:
        return False
    return True


def keys_bob_can_unseal(vault_dir: Path) -> list[bytes]:
    """Every vault key bob's passphrase opens from any keyring file left in the directory."""
    found = []
    for path in vault_dir.glob("keyring.json*"):
        try:
            found.append(keyring.unlock(keyring.from_json(path.read_bytes()), "bob", PASSPHRASES["bob"]))
        except SmvaultError:
            pass
    return found


def test_removed_operator_and_old_key_are_locked_out(vault_dir, tmp_path):
    with create_vault(vault_dir, "alice", PASSPHRASE) as session:
        add_operator(session, "bob", PASSPHRASES["bob"])
        add_operator(session, "carol", PASSPHRASES["carol"])
        old_key = vault_key(vault_dir, "bob")
        assert opens(vault_dir, old_key)
        remove_operator(session, "bob")

    bob = cli(vault_dir, tmp_path, "bob", "person", "list")
    assert bob.code == 3, bob
    assert bob.out == "" and len(bob.err.splitlines()) == 1 and "bob" in bob.err
    assert "unknown" in bob.err or "removed" in bob.err

    new_key = vault_key(vault_dir, "alice")
    assert new_key != old_key
    assert not opens(vault_dir, old_key)
    with pytest.raises(IntegrityError):
        connect(vault_dir / DB_FILE, old_key)
    assert new_key not in keys_bob_can_unseal(vault_dir)  # not even from keyring.json.bak

    for operator in ("alice", "carol"):
        listed = cli(vault_dir, tmp_path, operator, "operator", "list", "--json")
        assert listed.code == 0, listed
        assert sorted(o["name"] for o in json.loads(listed.out)) == ["alice", "carol"]

    tail = cli(vault_dir, tmp_path, "alice", "log", "tail", "-n", "100", "--json")
    assert tail.code == 0, tail
    entries = json.loads(tail.out)
    removal = [e for e in entries if e["action"] == "operator.remove"]
    rotated = [e for e in entries if e["action"] == "log.key-rotated"]
    assert [e["detail"]["operator"] for e in removal] == ["bob"]
    assert len(rotated) == 1 and "bob" in rotated[0]["detail"]["reason"]
    assert removal[0]["seq"] < rotated[0]["seq"]

    verify = cli(vault_dir, tmp_path, "carol", "log", "verify")
    assert verify.code == 0, verify
