"""kill -9 in the middle of a stream of writes: the vault still opens, verifies, and keeps
every write whose call had returned."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from smvault.services.session import create_vault, unlock
from tests.conftest import PASSPHRASE

WRITER = Path(__file__).with_name("writer.py")
KILLS = 30


def start_writer(vault_dir: Path, passphrase_file: Path, prefix: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WRITER), "stream", str(vault_dir), "alice", str(passphrase_file), prefix],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )


def kill_after_random_delay(proc: subprocess.Popen, rng: random.Random) -> list[str]:
    """Wait until the writer is writing, let it run 0.05-0.5 s, SIGKILL it; its stdout lines."""
    first = proc.stdout.readline()
    if first != "ready\n":
        proc.kill()
        raise AssertionError(f"writer did not start: {first!r} {proc.communicate()[1]}")
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout))
    reader.start()
    time.sleep(rng.uniform(0.05, 0.5))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    reader.join(timeout=30)
    err = proc.stderr.read()
    assert proc.returncode == -signal.SIGKILL, f"the writer ended before it was killed: {err}"
    return lines


def committed_emails(lines: list[str]) -> set[str]:
    # A line cut by the kill has no newline: its write may or may not have committed.
    return {line.split(" ", 1)[1].strip() for line in lines
            if line.startswith("committed ") and line.endswith("\n")}


def check_vault(vault_dir: Path, must_hold: set[str], where: str) -> None:
    session = unlock(vault_dir, "alice", PASSPHRASE)
    try:
        vault = session.vault
        assert vault.page_problems() == [], where
        assert vault.log.verify().ok, f"{where}: {vault.log.verify().damage}"
        people = {p.email for p in vault.people.all()}
        assert must_hold <= people, f"{where}: committed but lost: {sorted(must_hold - people)[:5]}"
        # Each person and its log entry were written in one transaction: all or nothing.
        logged = {e["detail"]["email"] for e in vault.log.entries(actions=("person.add",))}
        assert logged == people - {session.person.email}, where
    finally:
        session.close()


def test_sigkill_during_writes_loses_nothing_committed(vault_dir, passphrase_file):
    create_vault(vault_dir, "alice", PASSPHRASE).close()
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    committed: set[str] = set()
    for i in range(KILLS):
        proc = start_writer(vault_dir, passphrase_file, f"k{i}")
        committed |= committed_emails(kill_after_random_delay(proc, rng))
        check_vault(vault_dir, committed, f"after kill {i} (seed {seed})")
    # The test is only meaningful if the kills landed among real writes.
    assert len(committed) >= KILLS, f"only {len(committed)} writes committed in {KILLS} runs"
