"""One exception root for everything a user may be shown.

Messages are written for the person at the terminal. They never contain a secret value:
callers pass names, ids and field names, never passphrases, passwords or seeds.
"""

from __future__ import annotations


class SmvaultError(Exception):
    """Base of every error smvault reports to a user; `exit_code` is the CLI's exit status."""

    exit_code = 1
    title = "Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(SmvaultError):
    """The command was called wrongly (bad option, bad value)."""

    exit_code = 2
    title = "Usage"


class NotFoundError(SmvaultError):
    title = "Not found"


class InvalidInputError(SmvaultError):
    """A value given by the user or read from a file is malformed."""

    title = "Invalid input"


class ConflictError(SmvaultError):
    """The change collides with what the vault already holds (a duplicate, a stale state)."""

    title = "Conflict"


class AuthenticationError(SmvaultError):
    """Wrong passphrase or unknown operator."""

    exit_code = 3
    title = "Cannot unlock"


class WrongPassphraseError(AuthenticationError):
    pass


class UnknownOperatorError(AuthenticationError):
    pass


class IntegrityError(SmvaultError):
    """The vault is damaged, the log fails verification, or the vault is older than its anchor."""

    exit_code = 4
    title = "Integrity"


class PolicyError(SmvaultError):
    """Refused by policy: a missing grant, a guard rule."""

    exit_code = 5
    title = "Refused"
