"""One thread owns the vault: the UI hands it functions and awaits their results.

SQLCipher connections belong to the thread that opened them, and Argon2 and SQL must never
block the event loop. So every unlock, read and write runs on this single worker thread, in
order; the event loop only awaits (the pattern datasette uses for its write connection).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from smvault.domain.clock import Clock
from smvault.domain.errors import UsageError
from smvault.services import session as sessions
from smvault.services.session import BreakGlass, Session

T = TypeVar("T")


@dataclass(frozen=True)
class Closed:
    """A break-glass session that was just closed: its incident, the post-incident workflow
    its close opened (when the service says which), or why that failed."""

    break_glass: BreakGlass
    post_incident_id: int | None
    error: Exception | None


class VaultThread:
    def __init__(self, directory: Path, *, clock: Clock, anchor_dir: Path | None = None) -> None:
        self.directory = directory
        self.clock = clock
        self.anchor_dir = anchor_dir
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smvault-vault")
        self._session: Session | None = None

    @property
    def unlocked(self) -> bool:
        return self._session is not None

    @property
    def operator_name(self) -> str | None:
        return self._session.operator.name if self._session else None

    @property
    def break_glass(self) -> BreakGlass | None:
        """The open recovery session's incident and reason (None: a normal session, or locked)."""
        return self._session.break_glass if self._session else None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(*args, **kwargs)` on the vault thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run the use case `fn(session, *args, **kwargs)` in the unlocked session."""
        def bound() -> T:
            if self._session is None:
                raise UsageError("the vault is locked")
            return fn(self._session, *args, **kwargs)

        return await self.run(bound)

    async def unlock(self, operator: str, passphrase: bytes, *, check: bool = True) -> None:
        def open_() -> None:
            self._close()
            self._session = sessions.unlock(self.directory, operator, passphrase, clock=self.clock,
                                            anchor_dir=self.anchor_dir, check=check)

        await self.run(open_)

    async def unlock_recovery(self, shares: list[str], *, reason: str, incident: str) -> None:
        """Open with K emergency-kit shares: a break-glass session (services.session)."""
        def open_() -> None:
            self._close()
            self._session = sessions.unlock_recovery(self.directory, shares, reason=reason, incident=incident,
                                                     clock=self.clock, anchor_dir=self.anchor_dir)

        await self.run(open_)

    async def create(self, operator: str, passphrase: bytes, email: str | None, name: str | None) -> None:
        def create_() -> None:
            self._close()
            self._session = sessions.create_vault(self.directory, operator, passphrase, email=email,
                                                  person_name=name, clock=self.clock,
                                                  anchor_dir=self.anchor_dir)

        await self.run(create_)

    async def lock(self) -> Closed | None:
        """Close the session; what closing a break-glass session did (None for any other)."""
        return await self.run(self._close)

    def _close(self) -> Closed | None:
        session, self._session = self._session, None
        if session is None:
            return None
        bg = session.break_glass
        if bg is None:
            session.close()
            return None
        # Closing a recovery session logs its lock and opens the post-incident workflow. If
        # that fails the vault is closed all the same, and the next unlock opens the workflow
        # (services.post_incident.cover_unlocked_sessions): say so rather than crash.
        try:
            session.close()
        except Exception as exc:  # noqa: BLE001 - reported to the user by the app
            return Closed(bg, None, exc)
        return Closed(bg, session.post_incident_id, None)

    def shutdown(self) -> None:
        """Close the session (moving the anchor) and stop the thread; safe to call twice."""
        try:
            self._executor.submit(self._close).result(timeout=30)
        except RuntimeError:  # already shut down
            pass
        self._executor.shutdown(wait=True)
