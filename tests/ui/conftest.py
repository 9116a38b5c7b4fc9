"""UI fixtures: the real app on a real vault, with an injected clock and short timers."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from smvault.services.demo import DEMO_OPERATOR, DEMO_PASSPHRASE, build_demo
from smvault.ui.app import SmvaultApp
from smvault.ui.settings import UiSettings

# The demo is always built at the same instant, so its data (and the snapshots) never move.
DEMO_NOW = datetime(2026, 11, 2, 9, 30, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self, start: datetime = DEMO_NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory) -> Path:
    """One demo vault per test process; tests get copies."""
    import os

    os.environ["SMVAULT_INSECURE_TEST_KDF"] = "1"
    directory = tmp_path_factory.mktemp("demo-master") / "vault"
    anchors = tmp_path_factory.mktemp("demo-master-anchors")
    build_demo(directory, anchor_dir=anchors, clock=FakeClock())
    return directory


@pytest.fixture
def demo_dir(demo_master, tmp_path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(demo_master, target)
    return target


@pytest.fixture
def ui_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_app(ui_clock):
    def make(directory: Path, **settings) -> SmvaultApp:
        values = {"reveal_seconds": 20, "clipboard_seconds": 30, "idle_seconds": 300, "code_seconds": 120}
        values.update(settings)
        return SmvaultApp(directory, operator=DEMO_OPERATOR, clock=ui_clock, settings=UiSettings(**values))

    return make


# -- the vault, read outside the app (check=False: these reads add no log entry) -------------


def vault_session(directory: Path):
    from smvault.services.session import unlock as unlock_vault

    return unlock_vault(directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), clock=lambda: DEMO_NOW, check=False)


def head(directory: Path) -> int:
    with vault_session(directory) as s:
        return s.vault.log.head().seq


def new_entries(directory: Path, since: int) -> list[dict]:
    with vault_session(directory) as s:
        return [e for e in s.vault.log.entries(newest_first=False) if e["seq"] > since]


def log_actions(directory: Path, since: int) -> list[str]:
    return [e["action"] for e in new_entries(directory, since)]


def screen_text(app) -> str:
    """What the terminal shows right now, as plain text lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


# -- driving the app ---------------------------------------------------------------------


async def until(pilot, condition, attempts: int = 200) -> None:
    """Let the app run until `condition()` holds (workers run on other threads)."""
    for _ in range(attempts):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("the app never reached the expected state")


async def unlock(app: SmvaultApp, pilot, passphrase: str = DEMO_PASSPHRASE, wait: bool = True) -> None:
    """Type the passphrase, press enter, and (with `wait`) let the unlock worker finish."""
    from smvault.ui.screens.unlock import UnlockScreen

    await pilot.pause()
    assert isinstance(app.screen, UnlockScreen)
    await pilot.click("#passphrase")
    for char in passphrase:
        await pilot.press(char)
    await pilot.press("enter")
    if wait:
        await app.workers.wait_for_complete()
        await pilot.pause()


@pytest.fixture
def worker_descriptions(monkeypatch) -> list[str]:
    """Every worker's description as created. Textual logs them; by default a description is
    the repr of the worker's arguments, which must never be a passphrase."""
    from textual.worker import Worker

    seen: list[str] = []
    original = Worker.__init__

    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append(self.description)

    monkeypatch.setattr(Worker, "__init__", recording)
    return seen
