"""Fixtures for the emergency-kit tests.

`staffed` is the `session` vault (operator alice, FakeClock) with three more active people,
one leaving and one who has left. `new_kit(session)` makes a 2-of-3 kit for alice, bob and
cara, its sheets written under the test's tmp dir. `log_bodies` / `log_actions` read the log. `leaks(text, kit)` says whether any two
consecutive words of any of the kit's shares appear in `text`.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

CUSTODIANS = ["alice@example.com", "bob@example.com", "cara@example.com"]
LEAVING = "lea@example.com"
LEFT = "len@example.com"


@pytest.fixture
def staffed(session, clock):
    from smvault.services.people import add_person, mark_leaving

    add_person(session, "Bob Builder", "bob@example.com")
    add_person(session, "Cara <b>Custodian</b> & [bold]co[/]", "cara@example.com")
    add_person(session, "Dev Ops", "dev@example.com")
    add_person(session, "Lea Leaving", LEAVING)
    add_person(session, "Len Left", LEFT)
    today = clock().date()
    mark_leaving(session, LEAVING, today + timedelta(days=10))
    mark_leaving(session, LEFT, today - timedelta(days=1))
    return session


@pytest.fixture
def new_kit(tmp_path):
    from smvault.services.kit import create_kit

    made = []

    def make(session, custodians=CUSTODIANS, threshold=2, **kwargs):
        kwargs.setdefault("out_dir", tmp_path / f"kit-{len(made) + 1}")
        kit = create_kit(session, list(custodians), threshold, **kwargs)
        made.append(kit)
        return kit

    return make


def words(kit) -> list[list[str]]:
    return [sheet.words for sheet in kit.sheets]


def leaks(text: str, *kits) -> bool:
    """True if two consecutive words of any share appear as consecutive words of `text`."""
    tokens = re.findall(r"[a-z]+", text.lower())
    pairs = set(zip(tokens, tokens[1:]))
    return any(pair in pairs for kit in kits for share in words(kit) for pair in zip(share, share[1:]))


def log_bodies(session) -> list[str]:
    """Every log entry's body, as stored."""
    return [bytes(row[2]).decode() for row in session.vault.log.raw_rows(0)]


def log_actions(session) -> list[str]:
    import json

    return [json.loads(body)["action"] for body in log_bodies(session)]
