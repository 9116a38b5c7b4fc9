"""Import: read an export, plan what it would change in the vault, apply it all or nothing.

`read_import` reads and parses the file once (before any vault is opened: an encrypted
file's password is asked for first). `plan_import` is the dry run: it reads the vault and
writes nothing, logs nothing. `apply_import` plans again inside ONE outer transaction and
makes every change through its usual service (add_account, update_account, set_password,
set_totp, add_recovery_codes), each nested as a savepoint with its own log entry, then
records one `import.apply` entry. Any failure rolls every change back, log entries included.
A secret set by an import says so in its entry (`"via": "import"` and the file's SHA-256
prefix): offboarding and post-incident rotation never count it as a rotation, since an
imported value may be one that was already known.

Stored secrets are read to compare with the file's (is this password new?) only for accounts
the operator may change (domain.imports.plan); they are never returned, shown or logged. A
break-glass session may do neither: it changes nothing, and the comparison would tell it
about secrets without a log entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from smvault.domain import otp
from smvault.domain.errors import InvalidInputError, PolicyError, UsageError
from smvault.domain.models import Account, Disclosure
from smvault.domain.imports import FORMATS, MAX_FILE_BYTES, ImportFileError, Parsed, parse_file
from smvault.domain.imports.inventory import FIELDS as CSV_FIELDS
from smvault.domain.imports.plan import (
    ImportPlan,
    PlannedChange,
    StoredSecrets,
    Unmatched,
    VaultView,
    plan_entries,
)
from smvault.services import roster
from smvault.services.accounts import add_account, update_account
from smvault.services.input_files import read_capped
from smvault.services.policy import may_disclose, require_manage
from smvault.services.secrets import add_recovery_codes, set_password, set_totp
from smvault.services.session import Session, require_operator

__all__ = ["CSV_FIELDS", "FORMATS", "ImportFile", "ImportPlan", "ImportRefused", "ImportResult",
           "PlannedChange", "Unmatched", "apply_import", "load_mapping", "plan_import", "read_import"]


@dataclass(frozen=True, repr=False)
class ImportFile:
    """A file read and parsed; `sha256` (hex, of the bytes read) names it in the log."""

    path: Path
    parsed: Parsed
    sha256: str

    def __repr__(self) -> str:  # the entries hold secrets; their reprs hide them, this says less still
        return (f"ImportFile(path={str(self.path)!r}, format={self.parsed.format!r}, "
                f"entries={len(self.parsed.entries)}, problems={len(self.parsed.problems)})")


@dataclass(frozen=True)
class ImportResult:
    plan: ImportPlan  # what was applied
    created: int
    updated: int
    skipped: int  # items left out for their problems (--skip-bad)


class ImportRefused(InvalidInputError):
    """The plan has problems and skipping them was not asked for: nothing was imported."""

    def __init__(self, plan: ImportPlan) -> None:
        self.plan = plan
        count = len(plan.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in {plan.source}; nothing imported "
                         "(fix them, or --skip-bad to leave those items out)")


def read_import(path: Path, fmt: str, password: bytes | None = None,
                mapping: Mapping[str, str] | None = None) -> ImportFile:
    """Read and parse `path` as format `fmt` (one of FORMATS). A file that cannot be read at
    all raises ImportFileError naming it (PasswordNeeded when it is encrypted and no
    `password` was given); bad items are problems in `parsed`."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown import format {fmt!r}: expected one of {', '.join(FORMATS)}")
    path = Path(path)
    data = read_capped(path, MAX_FILE_BYTES, "file", ImportFileError)  # never a FIFO
    parsed = parse_file(fmt, data, str(path), password=password, mapping=mapping)
    return ImportFile(path, parsed, hashlib.sha256(data).hexdigest())


def load_mapping(columns: Sequence[str] = (), mapping_file: Path | None = None) -> dict[str, str]:
    """csv field -> header, from a mapping file's [columns] table overridden by FIELD=HEADER flags."""
    return roster.load_mapping(columns, mapping_file, fields=CSV_FIELDS, what="csv")


# What each stored secret is compared as, and the disclosure that would show it.
_DISCLOSURES = {"password": Disclosure.PASSWORD, "totp": Disclosure.TOTP_SEED,
                "recovery-codes": Disclosure.RECOVERY_CODES}


def _stored(session: Session, account: Account) -> StoredSecrets:
    """The account's secrets to compare with. One the operator may not reveal is only said
    to be held: managing an account nobody manages needs no grant, revealing does, and a
    comparison would tell whether a guessed value is the stored one."""
    secrets = session.vault.secrets
    password = secrets.password(account.id)
    otp = secrets.totp(account.id)
    codes = secrets.recovery_codes(account.id)
    held = {"password": password is not None, "totp": otp is not None, "recovery-codes": bool(codes)}
    unseen = frozenset(name for name, what in _DISCLOSURES.items()
                       if held[name] and not may_disclose(session, session.person, account, what))
    codes = [] if "recovery-codes" in unseen else codes
    return StoredSecrets(password=password[0] if password and "password" not in unseen else None,
                         otp=None if "totp" in unseen else otp,
                         codes=frozenset(c.code for c in codes),
                         used_codes=frozenset(c.code for c in codes if c.used_at is not None), unseen=unseen)


def _refusal(session: Session, account) -> str | None:
    try:
        require_manage(session, account)
    except PolicyError as exc:
        return exc.message
    return None


def plan_import(session: Session, imported: ImportFile, *, create_missing: bool = False,
                replace_secrets: bool = False) -> ImportPlan:
    """What `apply_import` would do; reads the vault, writes and logs nothing. Refuses
    (PolicyError) in a break-glass session."""
    require_operator(session)
    vault = session.vault
    view = VaultView(
        accounts=vault.accounts.all(),
        people={person.email: person.id for person in vault.people.all()},
        secrets=lambda account: _stored(session, account),
        refusal=lambda account: _refusal(session, account),
    )
    return plan_entries(imported.parsed, view, create_missing=create_missing, replace_secrets=replace_secrets)


def _apply_secrets(session: Session, ref: str, change: PlannedChange, source: str) -> None:
    if "password" in change.secrets:
        set_password(session, ref, change.entry.password, imported=source)
    if "totp" in change.secrets:
        # set_totp takes text as typed; the URI carries every parameter (the label is not stored)
        set_totp(session, ref, otp.to_otpauth_uri(replace(change.otp, issuer=None, label=None)), imported=source)
    if "recovery-codes" in change.secrets:
        add_recovery_codes(session, ref, list(change.recovery_codes), replace=True, imported=source)


def apply_import(session: Session, imported: ImportFile, *, create_missing: bool = False,
                 skip_bad: bool = False, replace_secrets: bool = False) -> ImportResult:
    """Apply the plan in one transaction. With problems, refuses (ImportRefused) unless
    `skip_bad`, which leaves the items with problems out. Stored secrets that differ from the
    file's are kept unless `replace_secrets`. Any failure changes nothing."""
    require_operator(session)
    source = imported.sha256[:16]  # names the file in each secret's log entry
    with session.atomic():
        # inside: what is applied is what was compared
        plan = plan_import(session, imported, create_missing=create_missing, replace_secrets=replace_secrets)
        if plan.blocked and not skip_bad:
            raise ImportRefused(plan)
        for change in plan.creates:
            platform, handle = change.account_key.split(":", 1)
            account = add_account(session, platform, handle, **change.values)
            _apply_secrets(session, str(account.id), change, source)
        for change in plan.updates:
            ref = str(change.account_id)
            if change.values:
                update_account(session, ref, **change.values)
            _apply_secrets(session, ref, change, source)
        session.record("import.apply", detail={
            "format": plan.format, "file": imported.path.name, "sha256": imported.sha256,
            "created": len(plan.creates), "updated": len(plan.updates),
            "unchanged": len(plan.unchanged), "skipped": plan.skipped,
            "replace_secrets": replace_secrets,
        })
    return ImportResult(plan, len(plan.creates), len(plan.updates), plan.skipped)
