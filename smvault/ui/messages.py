"""Messages views send up to the main screen ("attributes down, messages up")."""

from __future__ import annotations

from textual.message import Message


class ShowAccount(Message):
    """Open the accounts view on this account ("platform:handle")."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class ShowPerson(Message):
    """Open the people view on this person (by email)."""

    def __init__(self, email: str) -> None:
        super().__init__()
        self.email = email


class VaultChanged(Message):
    """Something was written: other views reload the next time they are shown."""

    def __init__(self, source: object | None = None) -> None:
        super().__init__()
        self.source = source
