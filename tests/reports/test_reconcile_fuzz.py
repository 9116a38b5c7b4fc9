"""The inventory parser on hostile text: random text, and a valid export mutated at random,
either parse or raise an InvalidInputError (InventoryFileError) naming the file; never
another exception, and never a row that breaks the rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smvault.domain.errors import InvalidInputError
from smvault.domain.models import PLATFORMS, fold_handle
from smvault.domain.reconcile import InventoryFileError, parse_inventory

VALID = ("\ufeffPlatform,Handle,Owner\r\n"
         "twitter,@acme,alice@example.com\r\n"
         '"instagram","brand,""q""",\r\n'
         'youtube,"chan",bob@example.com\r\n'
         "tiktok,old,\r\n")
# Characters that matter to CSV and to the field rules, plus a few that should never pass.
ALPHABET = st.sampled_from(list(',"\r\n\t @:=+-\\\x00\x1b\x85\u202e\ufeffaxXéÉ/') +
                           ["twitter", "ig", "owner", "Facebook Page", "https://x.com/"])


def check(text: str) -> None:
    try:
        rows = parse_inventory(text, "fuzz.csv")
    except InvalidInputError as exc:
        assert isinstance(exc, InventoryFileError) and exc.message.split(": ", 1)[0].endswith("fuzz.csv")
        assert exc.problems and all(p.startswith("fuzz.csv:") for p in exc.problems)
        return
    keys = [(r.platform, fold_handle(r.handle)) for r in rows]
    assert len(keys) == len(set(keys))
    for row in rows:
        assert row.platform in PLATFORMS and row.handle and not row.handle.startswith("@")
        assert not any(ch.isspace() or ch == ":" for ch in row.handle)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400))
def test_random_text(text):
    check(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID)), st.integers(0, 3), st.lists(ALPHABET, max_size=3)),
                max_size=6))
def test_a_valid_export_mutated(edits):
    text = VALID
    for position, cut, insert in edits:
        position = min(position, len(text))
        text = text[:position] + "".join(insert) + text[position + cut:]
    check(text)


def test_the_unmutated_export_parses():
    assert [r.key for r in parse_inventory(VALID, "fuzz.csv")] == [
        "x:acme", 'instagram:brand,"q"', "youtube:chan", "tiktok:old"]


def test_a_cell_past_the_csv_field_limit_is_a_problem_not_a_crash():
    for text in ("platform,handle\nx," + "a" * 200_000 + "\n", "platform," + "h" * 200_000 + "\nx,a\n"):
        try:
            parse_inventory(text, "fuzz.csv")
        except InventoryFileError as exc:
            assert any("field larger than field limit" in p for p in exc.problems)
        else:
            raise AssertionError("a 200,000-character cell was accepted")
