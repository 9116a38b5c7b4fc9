"""A text file of otpauth:// (or steam://) URIs, one a line, as authenticator apps export them.

Blank lines and lines starting with '#' are skipped. A line that is not a usable URI is a
problem named by its line; the message says what is wrong, never the URI (it holds the secret).
"""

from __future__ import annotations

from smvault.domain.errors import InvalidInputError
from smvault.domain.imports.model import Entry, EntryKind, Parsed, Problem, short_seed_problem
from smvault.domain.imports.text import numbered_lines
from smvault.domain.otp import parse_otpauth_uri

FORMAT = "otpauth"
_MIGRATION_SCHEME = "otpauth-migration:"


def parse(data: bytes, source: str, password: bytes | None = None) -> Parsed:
    """`password` is unused: these lists are never encrypted."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    for where, line in numbered_lines(data, source):
        if line.lower().startswith(_MIGRATION_SCHEME):
            problems.append(Problem(where, "uri", "an otpauth-migration:// line: import this file "
                                                  "with the google-migration format"))
            continue
        try:
            params = parse_otpauth_uri(line)
        except InvalidInputError as exc:
            problems.append(Problem(where, "uri", exc.message))
            continue
        if why := short_seed_problem(params):
            problems.append(Problem(where, "secret", why))
            continue
        entries.append(Entry(where=where, kind=EntryKind.OTP, title=params.issuer or params.label, otp=params))
    return Parsed(source=source, format=FORMAT, entries=tuple(entries), problems=tuple(problems))
