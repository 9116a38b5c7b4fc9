"""One thread owns the vault: the UI hands it functions and awaits their results.

SQLCipher connections belong to the thread that opened them, and Argon2 and SQL must never
block the event loop. So every unlock, read and write runs on this single worker thread, in
order; the event loop only awaits (the pattern datasette uses for its write connection).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from smvault.domain.clock import Clock
from smvault.domain.errors import UsageError
from smvault.services import session as sessions
from smvault.services.session import Session

T = TypeVar("T")


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

    async def create(self, operator: str, passphrase: bytes, email: str | None, name: str | None) -> None:
        def create_() -> None:
            self._close()
            self._session = sessions.create_vault(self.directory, operator, passphrase, email=email,
                                                  person_name=name, clock=self.clock,
                                                  anchor_dir=self.anchor_dir)

        await self.run(create_)

    async def lock(self) -> None:
        await self.run(self._close)

    def _close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def shutdown(self) -> None:
        """Close the session (moving the anchor) and stop the thread; safe to call twice."""
        try:
            self._executor.submit(self._close).result(timeout=30)
        except RuntimeError:  # already shut down
            pass
        self._executor.shutdown(wait=True)
