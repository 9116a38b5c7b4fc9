"""Shared fixtures: real SQLCipher vaults in temporary directories, a cheap KDF, a fake clock."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# CI keeps upstream fixtures beside the checkout, never inside it (their licences differ)
FIXTURES = ROOT.parent / "shared" / "fixtures"
PASSPHRASE = b"correct horse battery staple"


def shared_fixture(relative: str) -> Path:
    """The file under FIXTURES, or skip: a fresh clone without ../shared/fixtures must not fail."""
    path = FIXTURES / relative
    if not path.is_file():
        pytest.skip(f"shared fixture {relative} not found under {FIXTURES} (shared fixtures absent)")
    return path


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    """Every test: cheap Argon2id for new slots, a private anchor dir, no ambient settings."""
    for name in list(os.environ):
        if name.startswith("SMVAULT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SMVAULT_INSECURE_TEST_KDF", "1")
    monkeypatch.setenv("SMVAULT_ANCHOR_DIR", str(tmp_path_factory.mktemp("anchors")))


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 2, 9, 30, 0, tzinfo=timezone.utc))


@pytest.fixture
def pin_clock(monkeypatch):
    """`pin_clock(moment)` pins `system_clock` (in this process only) to `moment`, a datetime or
    ISO 8601 text; call it again to move time. Undone when the test ends."""
    from smvault.domain import clock as clock_mod

    def pin(moment: datetime | str) -> datetime:
        if isinstance(moment, str):
            moment = clock_mod.parse_timestamp(moment)
        monkeypatch.setattr(clock_mod, "_pinned", moment)
        return moment

    return pin


@pytest.fixture
def vault_dir(tmp_path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def session(vault_dir, clock):
    from smvault.services.session import create_vault

    s = create_vault(vault_dir, "alice", PASSPHRASE, email="alice@example.com", person_name="Alice Admin", clock=clock)
    yield s
    s.close()


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def passphrase_file(tmp_path) -> Path:
    path = tmp_path / "pass"
    path.write_bytes(PASSPHRASE + b"\n")
    return path


@pytest.fixture
def run_cli(vault_dir, passphrase_file, monkeypatch, capsys):
    """Run `smvault ARGS` in-process (fast) with a vault, operator and passphrase file set."""
    from smvault.cli import main

    def run(*args: str, stdin: str = "", operator: str | None = "alice", env: dict | None = None) -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        argv = ["--vault", str(vault_dir), "--passphrase-file", str(passphrase_file)]
        if operator:
            argv += ["--operator", operator]
        capsys.readouterr()
        code = main([*argv, *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def smvault_process(*args: str, env: dict | None = None, stdin: str | None = None, timeout: float = 60) -> Result:
    """Run smvault as a real process (for exit codes, stderr and import checks)."""
    full_env = {k: v for k, v in os.environ.items()}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "smvault", *args], input=stdin, capture_output=True, text=True,
        env=full_env, timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
