"""Importers: one module per format, each `parse(data, source, password=None) -> Parsed`.

Parsers are pure (bytes in, entries out) and load lazily: KDBX support pulls in pykeepass.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from smvault.domain.errors import UsageError
from smvault.domain.imports.model import (
    MAX_FILE_BYTES,
    Entry,
    EntryKind,
    ImportFileError,
    Parsed,
    PasswordNeeded,
    Problem,
)

__all__ = ["FORMATS", "MAX_FILE_BYTES", "Entry", "EntryKind", "ImportFileError", "Parsed",
           "PasswordNeeded", "Problem", "parse_file"]

# format name (as users type it) -> module in this package
_MODULES = {
    "csv": "inventory",
    "bitwarden": "bitwarden",
    "keepass": "keepass",
    "aegis": "aegis",
    "2fas": "twofas",
    "otpauth": "otpauth_list",
    "google-migration": "google_migration",
    "handover": "handover",
}
FORMATS = tuple(_MODULES)


def parse_file(fmt: str, data: bytes, source: str, *, password: bytes | None = None,
               mapping: Mapping[str, str] | None = None) -> Parsed:
    """Parse `data` (the file's bytes; `source` names it in messages) as format `fmt`.
    `mapping` (field -> column header) is for the csv format only."""
    if fmt not in _MODULES:
        raise UsageError(f"unknown import format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(f"{source}: the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    module = importlib.import_module(f"smvault.domain.imports.{_MODULES[fmt]}")
    if fmt == "csv":
        return module.parse(data, source, password, mapping=mapping)
    if mapping:
        raise UsageError("column mappings are for the csv format only")
    return module.parse(data, source, password)
