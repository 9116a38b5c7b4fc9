"""Fixtures shared by the workflow tests (offboarding, transfer, review, roster sync).

`staffed` is the `session` vault (operator alice, person alice@example.com, FakeClock) with a
second operator and three people who are not operators:

    bob   bob@example.com   operator "bob", passphrase SECOND_PASSPHRASE (dual control)
    cara  cara@example.com  dev  dev@example.com  eve  eve@example.com

It gives no grants and stores no secrets: each test builds the accounts it is about.
`Staffed.as_operator()` opens a second session on the same vault as bob (or anyone given),
and `logged(session)` counts the log entries a block of code added:

    with logged(session) as added:
        start_offboarding(session, "cara@example.com", on)
    assert added() == 1
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SECOND_OPERATOR = "bob"
SECOND_EMAIL = "bob@example.com"
SECOND_PASSPHRASE = b"bob keeps his own passphrase"
ALICE = "alice@example.com"
PEOPLE = {"cara": "cara@example.com", "dev": "dev@example.com", "eve": "eve@example.com"}


@dataclass
class Staffed:
    session: object  # smvault.services.session.Session, unlocked as alice
    clock: object  # tests.conftest.FakeClock shared by every session opened here
    vault_dir: Path

    @contextmanager
    def as_operator(self, name: str = SECOND_OPERATOR, passphrase: bytes = SECOND_PASSPHRASE) -> Iterator:
        """Another operator's session on the same vault (closed, and anchored, on exit)."""
        from smvault.services.session import unlock

        other = unlock(self.vault_dir, name, passphrase, clock=self.clock)
        try:
            yield other
        finally:
            other.close()


@pytest.fixture
def staffed(session, clock, vault_dir) -> Staffed:
    from smvault.services import operators, people

    operators.add_operator(session, SECOND_OPERATOR, SECOND_PASSPHRASE, email=SECOND_EMAIL,
                           person_name="Bob Second")
    for name, email in PEOPLE.items():
        people.add_person(session, name.title(), email)
    return Staffed(session, clock, vault_dir)


@contextmanager
def logged(session) -> Iterator[Callable[[], int]]:
    """Yields a function returning how many log entries were appended since the block began."""
    start = session.vault.log.head().seq
    yield lambda: session.vault.log.head().seq - start
