"""Reports as text: Markdown that cannot be turned into markup, formula-safe CSV, JSON, and
the checkpoint line that ties each report to the log."""

from __future__ import annotations

import csv
import io
import json

import pytest

from smvault.domain.report import Checkpoint, Report, Table, csv_safe, md_cell

CHECKPOINT = Checkpoint("v-123", 42, "ab" * 32, "2026-11-02T09:30:00Z")


def report(*rows, facts=(("person", "Ann <ann@example.com>"),)) -> Report:
    table = Table("Steps", ("position", "note"), tuple(rows))
    return Report("Offboarding of Ann", tuple(facts), (table,), CHECKPOINT, data={"workflow_id": 7})


def test_markdown_escapes_every_markup_character():
    assert md_cell(r"a\b|c<d>e[f]g(h)i*j_k#l`m") == r"a\\b\|c\<d\>e\[f\]g\(h\)i\*j\_k\#l\`m"
    assert md_cell("[click](http://evil.example)") == r"\[click\]\(http://evil.example\)"
    assert md_cell("<img src=x onerror=alert(1)>") == r"\<img src=x onerror=alert\(1\)\>"
    assert md_cell("two\nlines\x1b[31m") == "two lines\\[31m"  # one line, the escape sequence gone
    assert md_cell(None) == "" and md_cell(5) == "5"


def test_markdown_cells_cannot_break_the_table_or_the_headings():
    text = report((1, "**bold** | extra cell"), facts=(("# heading", "_x_"),)).render("md")
    lines = text.splitlines()
    assert lines[0] == "# Offboarding of Ann"
    assert r"- **\# heading**: \_x\_" in lines
    assert r"| 1 | \*\*bold\*\* \| extra cell |" in lines
    assert lines[-1] == f"`{CHECKPOINT.line()}`"


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "x"), ("\r=1", "'=1"), ("ok\x1b]52;c;aGk=\x07", "ok]52;c;aGk="),
    # judged after the control characters go: each of these becomes a formula once cleaned
    ("\x01=HYPERLINK(\"http://e\")", "'=HYPERLINK(\"http://e\")"), ("\x85-2+3", "'-2+3"),
    ("\n=1+1", "'=1+1"), ("\x1b@SUM(1)", "'@SUM(1)"), ("\t-5", "-5"),
    (-5, "-5"), ("-5", "-5"), ("+3.5", "+3.5"), ("12", "12"), (0, "0"),  # numbers stay numbers
    ("-5e3", "'-5e3"), ("ok = fine", "ok = fine"), (None, ""),
])
def test_csv_cells_never_start_a_formula(value, expected):
    assert csv_safe(value) == expected


def test_csv_layout_and_every_cell_safe():
    text = report((1, "=HYPERLINK(\"http://evil\")"), (-2, "fine")).render("csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["fact", "person", "Ann <ann@example.com>"]
    assert rows[1] == ["section", "position", "note"]
    assert rows[2] == ["Steps", "1", "'=HYPERLINK(\"http://evil\")"]
    assert rows[3] == ["Steps", "-2", "fine"]
    assert rows[-1] == ["checkpoint", CHECKPOINT.line()]
    assert text.endswith("\r\n")


def test_json_shape():
    body = json.loads(report((1, "note")).render("json"))
    assert list(body) == ["title", "facts", "workflow_id", "tables", "checkpoint"]
    assert body["facts"] == {"person": "Ann <ann@example.com>"} and body["workflow_id"] == 7
    assert body["tables"] == {"Steps": [{"position": 1, "note": "note"}]}
    assert body["checkpoint"] == {"vault_id": "v-123", "seq": 42, "entry_hash": "ab" * 32,
                                  "ts": "2026-11-02T09:30:00Z"}


def test_checkpoint_line_names_vault_seq_hash_and_time():
    assert CHECKPOINT.line() == (f"smvault checkpoint vault=v-123 seq=42 hash={'ab' * 32} "
                                 "at=2026-11-02T09:30:00Z")


def test_unknown_format_is_refused():
    with pytest.raises(ValueError):
        report().render("pdf")
