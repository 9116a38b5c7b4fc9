"""Finding people and accounts by the names users type."""

from __future__ import annotations

from smvault.domain.errors import NotFoundError, UsageError
from smvault.domain.models import Account, Person, normalize_email, normalize_handle, normalize_platform
from smvault.services.session import Session


def person_by_email(session: Session, email: str) -> Person:
    person = session.vault.people.by_email(normalize_email(email))
    if person is None:
        raise NotFoundError(f"no person with email {email!r}")
    return person


def account_by_ref(session: Session, ref: str) -> Account:
    """ACCOUNT is PLATFORM:HANDLE or a numeric id."""
    ref = ref.strip()
    if ref.isdigit():
        account = session.vault.accounts.get(int(ref))
        if account is None:
            raise NotFoundError(f"no account with id {ref}")
        return account
    if ":" not in ref:
        raise UsageError(f"account {ref!r}: give PLATFORM:HANDLE (e.g. instagram:acme) or an id")
    platform, handle = ref.split(":", 1)
    account = session.vault.accounts.by_key(normalize_platform(platform), normalize_handle(handle))
    if account is None:
        raise NotFoundError(f"no account {ref!r}")
    return account
