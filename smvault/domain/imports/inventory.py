"""The `csv` import format: a generic account inventory, one account per row.

Columns are found by header name, ignoring case, spaces, '_' and '-' ("Business Unit" is
business_unit); a mapping (field -> header) names other headers. Only platform and handle
are required; an absent column or an empty cell leaves the vault's value alone. A named
column that is not read is a note; two columns read as one field refuse the file. Cells are
trimmed. Every bad cell is a Problem named FILE:LINE and field (the line where the record
starts, the header being line 1); a row with one is not imported at all, nor is a row with
more or fewer cells than the header (its values would land in the wrong columns).

Secret columns: password, totp (an otpauth:// URI or a base32 seed), recovery_codes
(separated by spaces or ';'). A password keeps its spaces. In a file with secret columns no
problem quotes any cell (a password typed one column off must not reach the screen).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from types import MappingProxyType

from smvault.domain.csvfile import check_mapping, header_key
from smvault.domain.errors import InvalidInputError
from smvault.domain.imports.fields import check_fields, shown
from smvault.domain.imports.model import Entry, EntryKind, ImportFileError, Parsed, Problem, short_seed_problem
from smvault.domain.imports.text import decode_text
from smvault.domain.inputs import ACCOUNT_INPUT_FIELDS, secret_problem
from smvault.domain.models import PLATFORMS, normalize_handle, normalize_platform
from smvault.domain.otp import OtpParams, parse_secret_or_uri

SECRET_FIELDS = ("password", "totp", "recovery_codes")
# In the order a sheet would have them: the account, its owners, its root of control, secrets.
FIELDS = (
    "platform", "handle", "url", "brand", "region", "business_unit", "tier", "status", "company_owned",
    "owner", "backup_owner", "login_id", "recovery_email", "recovery_email_controller", "recovery_phone",
    "recovery_phone_controller", "mfa", "totp_holder", "notes", *SECRET_FIELDS,
)
REQUIRED = ("platform", "handle")
FORMAT = "csv"
_CODE_SEPARATORS = re.compile(r"[\s;]+")


def parse(data: bytes, source: str, password: bytes | None = None,
          mapping: Mapping[str, str] | None = None) -> Parsed:
    """Every row of the inventory; `password` is unused (a CSV is never encrypted)."""
    mapping = check_mapping(mapping or {}, FIELDS, "csv")
    reader = csv.reader(io.StringIO(decode_text(data, source), newline=""))
    header = _next(reader, source, 1)
    if header is None or not any(h.strip() for h in header):
        raise ImportFileError(f"{source}:1: expected a header line (platform, handle, ...)")
    columns, notes = _columns(header, mapping, source)
    quiet = any(field in SECRET_FIELDS for field, _ in columns)
    entries, problems = [], []
    last = reader.line_num
    while True:
        line = last + 1  # a quoted cell may span lines: report where the record starts
        cells = _next(reader, source, line)
        if cells is None:
            break
        last = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank lines, and rows of empty cells as spreadsheets export them
        where = f"{source}:{line}"
        if len(cells) != len(header):
            problems.append(Problem(where, "row", f"{len(cells)} cells, but the header has {len(header)}"))
            continue
        row = {field: _cell(cells[i], field) for field, i in columns}
        found: list[Problem] = []
        entry = _entry(row, where, found)
        problems.extend(_unquoted(p, row) if quiet else p for p in found)
        if entry is not None:
            entries.append(entry)
    return Parsed(source, FORMAT, tuple(entries), tuple(problems), tuple(notes))


def _cell(text: str, field: str) -> str:
    """Trimmed, but a secret keeps its spaces (a password may start or end with one)."""
    return text if field in SECRET_FIELDS and text.strip() else text.strip()


def _unquoted(problem: Problem, row: Mapping[str, str]) -> Problem:
    """`problem` without the cell's value (messages quote it as `shown` does)."""
    value = row.get(problem.field or "")
    if not value:
        return problem
    return Problem(problem.where, problem.field, problem.message.replace(shown(value), "the value"))


def _next(reader, source: str, line: int) -> list[str] | None:
    try:
        return next(reader, None)
    except csv.Error as exc:  # a NUL byte, a runaway quoted cell: the rest cannot be trusted
        raise ImportFileError(f"{source}:{line}: not readable as CSV ({exc})") from None


def _columns(header: list[str], mapping: Mapping[str, str],
             source: str) -> tuple[list[tuple[str, int]], list[Problem]]:
    """(field, column index) in column order, and a note for each named column that is not
    read. A mapped or required header that is absent, or a header that two columns have,
    makes the file unreadable: which of two cells to take cannot be told."""
    index: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        index.setdefault(header_key(name), []).append(i)
    columns, missing, doubled = {}, [], []
    for field in FIELDS:
        wanted = mapping.get(field, field)
        found = index.get(header_key(wanted), [])
        if len(found) > 1:
            numbers = ", ".join(str(i + 1) for i in found)
            doubled.append(f"{field}: more than one column is named {shown(wanted)} (columns {numbers})")
        elif found:
            columns[field] = found[0]
        elif field in mapping or field in REQUIRED:
            missing.append(f"{field} (no column {shown(wanted)})")
    if missing:
        found = ", ".join(shown(h.strip()) for h in header)
        raise ImportFileError(f"{source}:1: the header lacks {'; '.join(missing)}; it has: {found}")
    if doubled:
        raise ImportFileError(f"{source}:1: {'; '.join(doubled)}: keep one")
    read = set(columns.values())
    notes = [Problem(f"{source}:1", None, _unread(name, mapping)) for i, name in enumerate(header)
             if i not in read and name.strip()]
    return sorted(columns.items(), key=lambda item: item[1]), notes  # problems follow the columns


def _unread(name: str, mapping: Mapping[str, str]) -> str:
    field = next((f for f in FIELDS if header_key(f) == header_key(name)), None)
    if field in mapping:
        return f"column {shown(name.strip())} is not read: {field} comes from column {shown(mapping[field])}"
    return f"column {shown(name.strip())} is not an import field; ignored"


def _entry(row: dict[str, str], where: str, problems: list[Problem]) -> Entry | None:
    def bad(field: str, message: str) -> None:
        problems.append(Problem(where, field, message))

    platform = handle = None
    if not row["platform"]:
        bad("platform", "missing")
    else:
        try:
            platform = normalize_platform(row["platform"])
        except InvalidInputError:
            bad("platform", f"{shown(row['platform'])} is not one of {', '.join(PLATFORMS)}")
    if not row["handle"]:
        bad("handle", "missing")
    else:
        try:
            handle = normalize_handle(row["handle"])
        except InvalidInputError:
            bad("handle", f"{shown(row['handle'])} is not a handle: no spaces, control characters or ':'")
    fields = {f: text for f, text in row.items() if f in ACCOUNT_INPUT_FIELDS and text}  # in column order
    for field, message in check_fields(fields)[1]:
        bad(field, message)
    password = row.get("password") or None
    if password is not None and (why := secret_problem(password, "password")):
        bad("password", why)
    otp = _otp(row.get("totp"), bad)
    codes = tuple(c for c in _CODE_SEPARATORS.split(row.get("recovery_codes", "")) if c)
    if any(secret_problem(c, "recovery code") for c in codes):
        bad("recovery_codes", "a recovery code contains control characters or is too long")
    if problems:
        return None
    return Entry(where, EntryKind.ACCOUNT, title=f"{platform}:{handle}", platform=platform, handle=handle,
                 login_id=fields.get("login_id"), url=fields.get("url"), password=password, otp=otp,
                 recovery_codes=codes, fields=MappingProxyType(fields))


def _otp(text: str | None, bad) -> OtpParams | None:
    if not text:
        return None
    try:
        otp = parse_secret_or_uri(text)
    except InvalidInputError as exc:  # the otp module's messages never quote the input
        bad("totp", exc.message)
        return None
    if why := short_seed_problem(otp):
        bad("totp", why)
        return None
    return otp
