"""Workflow reports for HR and audit: one structure, written as Markdown, JSON or CSV.

Every report ends with a log checkpoint (seq and entry hash of the entry that recorded the
report), which ties the paper to the log: anyone holding the vault can check that entry.
CSV cells are neutralised against formula injection, since these files are opened in
spreadsheets: control characters are removed first (tab and CR among them, which a
spreadsheet may skip before a formula), then a cell starting with = + - @ is prefixed with a
quote, unless it is a plain number (-5 is a number, not a formula). Markdown cells escape
every character that could make markup of user text (a link, an HTML tag, emphasis, a
heading, a table cell).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from smvault.domain.text import has_control_chars, printable

FORMATS = ("md", "json", "csv")
_FORMULA_STARTS = ("=", "+", "-", "@")
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_MD_SPECIAL = re.compile(r"([\\|<>\[\]()*_#`])")
# Cells with none of these are returned as they are: most cells of a large report.
_MD_UNSAFE = re.compile(r"[\\|<>\[\]()*_#`\x00-\x1f\x7f-\x9f]")


def csv_safe(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula; control characters are
    removed too (the CSV is also printed to the terminal)."""
    text = "" if value is None else str(value)
    if not text.startswith(_FORMULA_STARTS) and not has_control_chars(text):
        return text  # most cells: what the steps below would return unchanged
    text = printable(text)  # first: "\x01=1" must be judged as the "=1" it becomes
    if _NUMBER.fullmatch(text):
        return text
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def md_cell(value: object) -> str:
    """User text as literal Markdown on one line: control characters removed, newlines as
    spaces, and \\ | < > [ ] ( ) * _ # ` escaped with a backslash."""
    text = "" if value is None else str(value)
    if _MD_UNSAFE.search(text) is None:
        return text
    text = printable(text.replace("\n", " "))
    return _MD_SPECIAL.sub(r"\\\1", text)


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Checkpoint:
    vault_id: str
    seq: int
    entry_hash: str  # hex
    ts: str

    def line(self) -> str:
        return f"smvault checkpoint vault={self.vault_id} seq={self.seq} hash={self.entry_hash} at={self.ts}"


@dataclass(frozen=True)
class Report:
    title: str
    facts: tuple[tuple[str, Any], ...]  # (label, value) pairs shown at the top
    tables: tuple[Table, ...]
    checkpoint: Checkpoint
    data: dict[str, Any] = field(default_factory=dict)  # extra structured fields for the JSON form

    def render(self, fmt: str) -> str:
        if fmt == "md":
            return self.markdown()
        if fmt == "json":
            return self.json()
        if fmt == "csv":
            return self.csv()
        raise ValueError(fmt)

    def markdown(self) -> str:
        out = [f"# {md_cell(self.title)}", ""]
        out += [f"- **{md_cell(label)}**: {md_cell(value)}" for label, value in self.facts]
        for table in self.tables:
            out += ["", f"## {md_cell(table.title)}", ""]
            if not table.rows:
                out.append("(none)")
                continue
            out.append("| " + " | ".join(md_cell(h) for h in table.headers) + " |")
            out.append("|" + "---|" * len(table.headers))
            out += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in table.rows]
        out += ["", "## Log checkpoint", "", f"`{self.checkpoint.line()}`", ""]
        return "\n".join(out)

    def json(self) -> str:
        body = {
            "title": self.title,
            "facts": {label: value for label, value in self.facts},
            **self.data,
            "tables": {t.title: [dict(zip(t.headers, row)) for row in t.rows] for t in self.tables},
            "checkpoint": self.checkpoint.__dict__,
        }
        return json.dumps(body, indent=2, sort_keys=False, default=str) + "\n"

    def csv(self) -> str:
        """One CSV: a section column names the table each row belongs to."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        for label, value in self.facts:
            writer.writerow(["fact", csv_safe(label), csv_safe(value)])
        for table in self.tables:
            writer.writerow(["section", *(csv_safe(h) for h in table.headers)])
            for row in table.rows:
                writer.writerow([csv_safe(table.title), *(csv_safe(c) for c in row)])
        writer.writerow(["checkpoint", csv_safe(self.checkpoint.line())])
        return buffer.getvalue()
