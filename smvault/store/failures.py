"""Failed unlocks, kept beside the vault until the next successful unlock logs them.

A failed unlock cannot write to the encrypted log (there is no key), so it is noted here in
plain JSON lines: operator name and time only. Someone with write access to the directory can
delete this file; SECURITY.md says so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FAILURES_FILE = "unlock-failures.jsonl"


def record(vault_dir: Path, operator: str, ts: str, reason: str) -> None:
    line = json.dumps({"operator": operator[:200], "ts": ts, "reason": reason}) + "\n"
    fd = os.open(vault_dir / FAILURES_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def pending(vault_dir: Path) -> list[dict]:
    try:
        text = (vault_dir / FAILURES_FILE).read_text(errors="replace")
    except FileNotFoundError:
        return []
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            event = {"operator": "?", "ts": None, "reason": "unreadable failure record"}
        if isinstance(event, dict):
            events.append(event)
    return events


def clear(vault_dir: Path) -> None:
    try:
        os.remove(vault_dir / FAILURES_FILE)
    except FileNotFoundError:
        pass
