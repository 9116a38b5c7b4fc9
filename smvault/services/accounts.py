"""Accounts and their root of control: add, list, show, update."""

from __future__ import annotations

from dataclasses import dataclass

from smvault.domain.errors import ConflictError, InvalidInputError, PolicyError
from smvault.domain.inputs import ACCOUNT_INPUT_FIELDS, PERSON_FIELDS, TEXT_FIELDS
from smvault.domain.models import (
    Account,
    AccountStatus,
    CredentialState,
    Grant,
    MfaMethod,
    normalize_email,
    normalize_handle,
    normalize_platform,
    parse_tier,
)
from smvault.services.control import controller_counts
from smvault.services.inputs import clean_text
from smvault.services.lookup import account_by_ref, person_by_email
from smvault.services.policy import require_manage
from smvault.services.session import Session


def _enum(kind, value: object, field: str):
    try:
        return kind(str(value).strip().lower())
    except ValueError:
        options = ", ".join(m.value for m in kind)
        raise InvalidInputError(f"{field} must be one of {options}, got {value!r}") from None


def _parse_fields(session: Session, raw: dict[str, object], clear: tuple[str, ...] = ()) -> dict[str, object]:
    """User input (emails, names) -> stored column values, validating each field."""
    fields: dict[str, object] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if name in PERSON_FIELDS:
            fields[PERSON_FIELDS[name]] = person_by_email(session, str(value)).id
        elif name == "tier":
            fields["tier"] = parse_tier(value)
        elif name == "status":
            fields["status"] = _enum(AccountStatus, value, "status")
        elif name == "mfa":
            fields["mfa"] = _enum(MfaMethod, value, "mfa")
        elif name == "company_owned":
            fields["company_owned"] = bool(value)
        elif name == "recovery_email":
            fields["recovery_email"] = normalize_email(str(value))
        elif name in TEXT_FIELDS:
            fields[name] = clean_text(str(value), name.replace("_", "-"))
        else:
            raise InvalidInputError(f"unknown account field {name!r}")
    for name in clear:
        column = PERSON_FIELDS.get(name, name)
        if name not in ACCOUNT_INPUT_FIELDS or name in ("tier", "status", "company_owned", "mfa"):
            raise InvalidInputError(f"cannot clear account field {name!r}")
        fields[column] = None
    return fields


def _readable(fields: dict[str, object]) -> dict[str, object]:
    return {k: getattr(v, "value", v) for k, v in fields.items()}


def add_account(session: Session, platform: str, handle: str, **raw: object) -> Account:
    platform = normalize_platform(platform)
    handle = normalize_handle(handle)
    fields = _parse_fields(session, raw)
    with session.atomic():
        if session.vault.accounts.by_key(platform, handle):
            raise ConflictError(f"account {platform}:{handle} already exists")
        account = session.vault.accounts.add(platform, handle, fields, session.ts())
        session.record("account.add", account=account.id, acct=account.key, detail=_readable(fields))
    return account


def update_account(session: Session, ref: str, clear: tuple[str, ...] = (), **raw: object) -> Account:
    """Change an account's fields; needs 'manage' on it (or nobody manages it).

    An owner can be set where there is none, but not replaced or cleared: ownership moves
    through a transfer, which a second operator approves (clearing, then setting, would be
    the same move without one). The rest of the root of control (backup owner, recovery
    controllers, TOTP holder) stays editable: offboarding re-points it this way.
    """
    account = account_by_ref(session, ref)
    fields = _parse_fields(session, raw, clear)
    if not fields:
        raise InvalidInputError("nothing to update: give at least one field")
    with session.atomic():
        account = session.vault.accounts.get(account.id)  # as it is under the write lock
        require_manage(session, account)
        if "owner_id" in fields and account.owner_id not in (None, fields["owner_id"]):
            raise PolicyError(
                f"{account.key} already has an owner: ownership moves through "
                f"`smvault transfer start {account.key} --to EMAIL`"
            )
        updated = session.vault.accounts.update(account.id, fields)
        session.record("account.update", account=account.id, acct=account.key, detail=_readable(fields))
    return updated


def list_accounts(session: Session) -> list[Account]:
    return session.vault.accounts.all()


@dataclass(frozen=True)
class AccountDetail:
    account: Account
    credentials: CredentialState
    grants: list[Grant]


def account_detail(session: Session, ref: str) -> AccountDetail:
    account = account_by_ref(session, ref)
    return AccountDetail(
        account,
        session.vault.secrets.state(account.id),
        session.vault.grants.of_account(account.id),
    )


@dataclass(frozen=True)
class AccountRow:
    """One line of the accounts table: plain strings ("" for unset), no secret state."""

    id: int
    key: str
    platform: str
    handle: str
    brand: str
    region: str
    tier: int
    owner: str  # the owner's name, "" when none
    mfa: str
    controllers: int  # people able to regain control (services.control.controller_counts)
    status: str


_ROW_COLUMNS = ("platform", "handle", "brand", "region", "tier", "owner_id", "mfa", "status")


def account_rows(session: Session) -> list[AccountRow]:
    """Every account (retired ones too), ordered by key as `account list` orders them
    (platform, then handle ignoring case). A handful of queries, whatever the vault's size."""
    labels = session.vault.people.labels()
    counts = controller_counts(session)
    return [
        AccountRow(
            id=account_id,
            key=f"{platform}:{handle}",
            platform=platform,
            handle=handle,
            brand=brand or "",
            region=region or "",
            tier=tier,
            owner=labels[owner_id][0] if owner_id in labels else "",
            mfa=mfa,
            controllers=counts.get(account_id, 0),
            status=status,
        )
        for account_id, platform, handle, brand, region, tier, owner_id, mfa, status
        in session.vault.accounts.column_rows(_ROW_COLUMNS)
    ]
