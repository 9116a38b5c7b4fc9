"""Password-manager logins, read the same way for Bitwarden and KeePass: one login -> one entry.

- url is the first URL; the others and the folder or group the login was filed under go into
  the entry's notes, after its own notes, so nothing the user filed is lost. Every URL loses
  its query and its fragment (they can hold a password or a token, and an account's URL is
  shown and logged); Facebook's profile.php?id=N keeps its id, the account's only name. A URL
  that may hold a user name or password is left out, with a note: a password may hold '/',
  '?', '#' or '@', so where it ends cannot be told for sure.
- A TOTP secret shorter than 64 bits is a problem, not an entry (model.short_seed_problem).
- Values are kept exactly as written (a password may start or end with a space).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from smvault.domain.errors import InvalidInputError
from smvault.domain.imports.model import Entry, EntryKind, ImportFileError, ItemProblem, Problem, short_seed_problem
from smvault.domain.imports.text import titled
from smvault.domain.otp import OtpParams, parse_secret_or_uri

_PROFILE_ID = re.compile(r"id=[0-9]{1,30}")


def item_where(source: str, number: int, title: object) -> str:
    """'export.json: item 3 (Test 3)': items of a JSON or KDBX file, 1-based, in file order."""
    return titled(f"{source}: item {number}", title)


def read_totp(text: str, field: str, title: str | None, username: str | None) -> OtpParams:
    """An otpauth:// or steam:// URI or a bare base32 seed. The URI's issuer and account
    name are kept; when it has none, the item's title and username stand in."""
    try:
        otp = parse_secret_or_uri(text)
    except InvalidInputError as exc:  # otp.py's messages never quote the input
        raise ItemProblem(field, f"not a valid TOTP secret or otpauth:// URI ({exc.message.rstrip('.')})") from None
    return named_otp(otp, field, title, username)


def named_otp(otp: OtpParams, field: str, title: str | None, username: str | None) -> OtpParams:
    if why := short_seed_problem(otp):
        raise ItemProblem(field, why)
    # title and username passed check_text (or came from XML or CSV): OtpParams accepts them
    return dataclasses.replace(otp, issuer=otp.issuer or title, label=otp.label or username)


def public_url(url: str) -> str | None:
    """`url` without query or fragment (a profile.php?id=N keeps its id); None when it may
    hold a user name or password: an '@' before the first '/' (bob:s3cr#t@x.com), or after a
    ':' that comes before it (bob:pa/ss@x.com). A path's '@' (tiktok.com/@acme) is no user."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url  # "instagram.com/acme", as people type it
    head = rest.partition("/")[0]
    if "@" in head or (":" in head and "@" in rest[rest.index(":"):]):
        return None
    rest, _, query = rest.partition("#")[0].partition("?")
    host, slash, path = rest.partition("/")  # the host ends at the first '/', '?' or '#', as in a browser
    ids = [pair for pair in query.split("&") if _PROFILE_ID.fullmatch(pair)] if path.endswith("profile.php") else []
    kept = f"?{ids[0]}" if ids else ""
    return f"{scheme}{sep}{host}{slash}{path}{kept}"


def login_entry(where: str, *, title: str | None, username: str | None, password: str | None,
                urls: Sequence[str], otp: OtpParams | None, notes: str | None,
                filed_under: tuple[str, str | None] = ("Folder", None),
                left_out: list[Problem]) -> Entry | None:
    """The entry for one login, or None when it holds nothing to import. URLs after the first,
    and the folder or group it was filed under, are appended to the notes. A URL that may hold
    a user name or password is left out with a note in `left_out`."""
    public = [public_url(url) for url in urls]
    if None in public:
        left_out.append(Problem(where, "url", "left out: it may hold a user name or password"))
    urls = [url for url in public if url is not None]
    if not (username or password or urls or otp):
        return None
    label, place = filed_under
    extra = [notes] if notes else []
    if len(urls) > 1:
        extra.append("Other URLs: " + " ".join(urls[1:]))
    if place:
        extra.append(f"{label}: {place}")
    return Entry(where=where, kind=EntryKind.ACCOUNT, title=title, login_id=username,
                 url=urls[0] if urls else None, password=password, otp=otp,
                 notes="\n".join(extra) or None)


def left_out_fields(where: str, count: int | None = None) -> Problem:
    """The note for an imported item whose custom fields stay behind (their number if known)."""
    what = "custom fields" if count is None else f"{count} custom field{'s' if count != 1 else ''}"
    return Problem(where, "fields", f"left out: {what}")


@dataclass(frozen=True)
class CsvRow:
    line: int  # the physical line where the record starts (the header is line 1)
    cells: Mapping[str, str] = field(repr=False)  # lower-cased header -> cell; passwords among them


def read_csv(text: str, source: str, required: Sequence[str]) -> list[CsvRow | Problem]:
    """The rows of a CSV file with a header, in file order; a row whose width differs from the
    header's is a Problem in its place. Headers are matched ignoring case and surrounding spaces."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            if any(cells):  # blank lines and all-empty rows carry nothing
                records.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:  # its messages name the fault, never the cell's text
        raise ImportFileError(f"{source}:{reader.line_num}: not valid CSV ({exc})") from None
    if not records:
        raise ImportFileError(f"{source}: the file is empty: expected a header line")
    header_line, header = records[0]
    names = [name.strip().lower() for name in header]
    missing = [name for name in required if name not in names]
    if missing:
        raise ImportFileError(f"{source}:{header_line}: the header lacks the column(s) {', '.join(missing)}")
    rows: list[CsvRow | Problem] = []
    for line, cells in records[1:]:
        if len(cells) != len(names):
            rows.append(Problem(f"{source}:{line}", None, f"the row has {len(cells)} columns, the header has {len(names)}"))
            continue
        cells_by_name: dict[str, str] = {}
        for name, cell in zip(names, cells, strict=True):
            cells_by_name.setdefault(name, cell)  # the first of two same-named columns wins
        rows.append(CsvRow(line, cells_by_name))
    return rows
