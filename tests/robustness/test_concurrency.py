"""Two processes appending to the log at once: one linear chain, nothing lost, no lock errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from smvault.services.accounts import add_account
from smvault.services.grants import add_grant
from smvault.services.operators import add_operator
from smvault.services.secrets import set_totp
from smvault.services.session import create_vault, unlock
from smvault.store import keyring
from tests.conftest import PASSPHRASE

WRITER = Path(__file__).with_name("writer.py")
WRITES = 100  # per process: 50 add_person, 50 TOTP codes
CYCLES = 100  # unlock + close, per process
ACCOUNT = "x:shared"
OPERATORS = ("alice", "bob")


def make_vault(vault_dir: Path) -> None:
    with create_vault(vault_dir, "alice", PASSPHRASE, email="alice@example.com") as session:
        add_operator(session, "bob", PASSPHRASE, email="bob@example.com")
        add_account(session, "x", "shared")
        set_totp(session, ACCOUNT, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
        for email in ("alice@example.com", "bob@example.com"):
            add_grant(session, email, ACCOUNT, "code-only", None, "concurrency test")


def start_writer(vault_dir: Path, passphrase_file: Path, mode: str, operator: str, *args: str,
                 anchor_dir: Path | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    if anchor_dir is not None:
        env["SMVAULT_ANCHOR_DIR"] = str(anchor_dir)
    return subprocess.Popen(
        [sys.executable, str(WRITER), mode, str(vault_dir), operator, str(passphrase_file), operator, *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def run_together(procs: list[subprocess.Popen]) -> list[tuple[int, str, str]]:
    """Wait until every writer has unlocked, release them all at once, collect the results."""
    try:
        for proc in procs:
            assert proc.stdout.readline() == "ready\n", proc.communicate()[1]
        for proc in procs:  # the barrier: each writer blocks reading stdin until this line
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=120) for proc in procs]
        return [(proc.returncode, out, err) for proc, (out, err) in zip(procs, outputs)]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_two_writers_make_one_linear_chain(vault_dir, passphrase_file, tmp_path):
    make_vault(vault_dir)
    # Two operators, each on their own machine (own anchor), appending to one shared vault.
    results = run_together([
        start_writer(vault_dir, passphrase_file, "burst", op, str(WRITES), ACCOUNT, anchor_dir=tmp_path / op)
        for op in OPERATORS
    ])
    for operator, (code, out, err) in zip(OPERATORS, results):
        assert (code, err) == (0, ""), f"{operator}: exit {code}: {err}"
        assert out.count("committed ") == WRITES // 2 and out.count("code\n") == WRITES // 2, operator

    with unlock(vault_dir, "alice", PASSPHRASE) as session:
        log = session.vault.log
        result = log.verify()
        assert result.ok, result.damage
        entries = log.entries(newest_first=False)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert result.checked == len(entries)

    for operator in OPERATORS:
        mine = [e for e in entries if e["op"] == operator]
        added = [e["detail"]["email"] for e in mine if e["action"] == "person.add"
                 and e["detail"]["email"].startswith(f"{operator}-")]
        assert sorted(added) == sorted(f"{operator}-{n}@writer.example" for n in range(0, WRITES, 2))
        assert sum(e["action"] == "totp.code" for e in mine) == WRITES // 2


def test_two_processes_on_one_machine_keep_one_good_anchor(vault_dir, passphrase_file):
    """Both share this machine's anchor file: every unlock and close rewrites it."""
    make_vault(vault_dir)
    results = run_together([
        start_writer(vault_dir, passphrase_file, "cycle", op, str(CYCLES)) for op in OPERATORS
    ])
    for operator, (code, _out, err) in zip(OPERATORS, results):
        assert (code, err) == (0, ""), f"{operator}: exit {code}: {err}"
    with unlock(vault_dir, "alice", PASSPHRASE, check=False) as session:
        anchor, head = session.anchor.read(), session.vault.log.head()
        assert session.vault.log.verify().ok
    # The last close wrote the head; the anchor never moves backwards.
    assert anchor == head


def test_two_sessions_adding_operators_keep_both_slots(vault_dir):
    """Two operators' sessions open at once (as two processes hold them), each adding one."""
    make_vault(vault_dir)
    first, second = (unlock(vault_dir, op, PASSPHRASE) for op in OPERATORS)
    with first, second:
        add_operator(first, "carol", b"carol's passphrase 1")
        add_operator(second, "dave", b"dave's passphrase 22")
    assert sorted(keyring.load(vault_dir).slots) == ["alice", "bob", "carol", "dave"]
    unlock(vault_dir, "carol", b"carol's passphrase 1").close()
