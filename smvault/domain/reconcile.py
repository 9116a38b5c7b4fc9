"""Inventory reconciliation: compare a social-media management tool's account export (CSV
text) with the accounts in the vault.

Pure: the caller reads the file and the vault. The file is read under roster sync's rules
(domain.csvfile: headers matched ignoring case, spaces, '_' and '-'; a mapping names other
headers; FILE:LINE: field: problem for every bad row, a platform + handle listed twice
included; then nothing is compared at all). Fields: platform and handle (required), owner
(optional, an email). A file with a header and no row is refused too: compared, it would
list every vault account as unknown to the tool.

Rows name accounts as the importer does (domain.imports.identity): a platform by the vault's
names and aliases (twitter is x) or by a platform's name in the cell ("Facebook Page",
"LinkedIn Company"); a handle without its leading '@', or read from a profile URL
("https://x.com/acme" is acme). Handles are compared as the vault keeps them unique: ignoring
the case of ASCII letters only (SQLite's NOCASE), so x:Ärger and x:ärger stay two accounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from smvault.domain import csvfile
from smvault.domain.csvfile import CsvFileError, shown
from smvault.domain.errors import InvalidInputError
from smvault.domain.imports.identity import handle_from_url, platform_from_name
from smvault.domain.models import AccountStatus, fold_handle, normalize_email, normalize_handle, normalize_platform

FIELDS = ("platform", "handle", "owner")
REQUIRED = ("platform", "handle")
WHAT = "inventory"  # names the fields in mapping errors: "unknown inventory field ..."


class InventoryFileError(CsvFileError):
    """The file cannot be compared; `problems` lists every reason, one line each."""

    outcome = "nothing was compared"


LAYOUT = csvfile.Layout(FIELDS, REQUIRED, WHAT, InventoryFileError, refuse_empty=True)


# --- parsing ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InventoryRow:
    line: int  # physical line where the record starts (the header is line 1)
    platform: str  # normalised: aliases resolved
    handle: str  # as written, without a leading '@' (or read from a profile URL)
    owner: str | None  # a normalised email, or None when the file gives none

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.handle}"


def _platform(raw: str) -> str | None:
    try:
        return normalize_platform(raw)
    except InvalidInputError:
        return platform_from_name(raw)


def _handle(raw: str, platform: str | None) -> str | None:
    if platform is not None and (handle := handle_from_url(raw, platform)):
        return handle
    try:
        return normalize_handle(raw)
    except InvalidInputError:
        return None


def _parse_row(record: csvfile.Record) -> InventoryRow | None:
    cell, bad = record.cell, record.bad
    platform = handle = owner = None
    if not (raw := cell("platform")):
        bad("platform", "missing")
    elif (platform := _platform(raw)) is None:
        bad("platform", f"{shown(raw)} is not a platform smvault knows")
    if not (raw := cell("handle")):
        bad("handle", "missing")
    elif (handle := _handle(raw, platform)) is None:
        if "://" in raw and platform is not None:
            bad("handle", f"{shown(raw)} is a link that names no {platform} account")
        else:
            bad("handle", f"{shown(raw)} is not a handle (no spaces, control characters or ':')")
    if raw := cell("owner"):
        try:
            owner = normalize_email(raw)
        except InvalidInputError:
            bad("owner", f"{shown(raw)} is not an email address")
    if record.failed:
        return None
    return InventoryRow(record.line, platform, handle, owner)


def parse_inventory(text: str, source: str, mapping: Mapping[str, str] | None = None) -> list[InventoryRow]:
    """Every row of the CSV `text`, or InventoryFileError listing every bad row (or "FILE:
    no rows"). `source` names the file in messages."""
    reader = csvfile.CsvReader(text, source, LAYOUT, mapping)
    rows: list[InventoryRow] = []
    first_line: dict[tuple[str, str], int] = {}
    for record in reader:
        row = _parse_row(record)
        if row is None:
            continue
        key = (row.platform, fold_handle(row.handle))
        if key in first_line:
            record.bad("handle", f"{shown(row.key)} is listed twice (lines {first_line[key]} and {row.line})")
            continue
        first_line[key] = row.line
        rows.append(row)
    reader.finish(len(rows))
    return rows


# --- comparing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VaultAccount:
    """What the comparison needs of a vault account."""

    key: str  # platform:handle as the vault spells it
    tier: int
    status: str
    owner_email: str | None


@dataclass(frozen=True)
class Held:
    """A row of the file and the vault account it names."""

    row: InventoryRow
    account: VaultAccount


@dataclass(frozen=True)
class Reconciliation:
    rows: int
    missing_in_vault: tuple[InventoryRow, ...]  # the tool manages them, the vault does not hold them
    unknown_to_tool: tuple[VaultAccount, ...]  # in the vault (not retired), not in the file
    owner_mismatches: tuple[Held, ...]  # owners differ, or the vault names none
    retired_managed: tuple[Held, ...]  # retired in the vault, still managed by the tool
    matched: int


def _match_key(key: str) -> tuple[str, str]:
    platform, _, handle = key.partition(":")
    return platform, fold_handle(handle)


def reconcile(rows: Iterable[InventoryRow], accounts: Iterable[VaultAccount]) -> Reconciliation:
    """The differences between the file's rows and the vault's accounts. A retired vault
    account the tool still manages is held (its owner is compared) and listed, as someone
    should retire it in the tool too; one the tool does not know is as expected."""
    rows = list(rows)
    by_key = {_match_key(a.key): a for a in accounts}
    missing, mismatches, retired, seen = [], [], [], set()
    for row in rows:
        key = (row.platform, fold_handle(row.handle))
        account = by_key.get(key)
        if account is None:
            missing.append(row)
            continue
        seen.add(key)
        if account.status == AccountStatus.RETIRED:
            retired.append(Held(row, account))
        if row.owner is not None and row.owner != (account.owner_email or "").lower():
            mismatches.append(Held(row, account))
    unknown = sorted((a for k, a in by_key.items() if k not in seen and a.status != AccountStatus.RETIRED),
                     key=lambda a: (a.tier, a.key))
    return Reconciliation(len(rows), tuple(missing), tuple(unknown), tuple(mismatches), tuple(retired), len(seen))
