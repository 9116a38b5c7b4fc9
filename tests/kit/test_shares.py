"""SLIP-39 shares as custodians type them: the official vectors, splitting, and naming mistakes."""

from __future__ import annotations

import json
import random
import re
import time

import pytest
from shamir_mnemonic.wordlist import WORDLIST

from smvault.domain.shares import (
    RECOVERY_SECRET_LEN,
    ParsedShare,
    ShareProblem,
    combine,
    mistyped_positions,
    parse_share,
    split,
)
from tests.conftest import FIXTURES

VECTORS = FIXTURES / "slip39" / "vectors.json"
SECRET = bytes(range(100, 100 + RECOVERY_SECRET_LEN))


def _vectors():
    if not VECTORS.exists():
        return [pytest.param(None, id="vectors-missing")]
    return [pytest.param(v, id=v[0].split(".")[0]) for v in json.loads(VECTORS.read_text())]


def _words_of(message: str) -> set[str]:
    return set(re.findall(r"[a-z]+", message.lower())) & set(WORDLIST)


@pytest.mark.parametrize("vector", _vectors())
def test_slip39_vectors_through_our_parse_and_combine(vector):
    if vector is None:
        pytest.skip(f"SLIP-39 vectors not found at {VECTORS} (../shared/fixtures is absent)")
    description, mnemonics, expected, *_ = vector
    try:
        shares = [parse_share(m, n) for n, m in enumerate(mnemonics, 1)]
        secret = combine(shares, b"TREZOR")
    except ShareProblem as problem:
        assert not expected, f"{description}: a valid set was rejected ({problem.message})"
        # the message names places, never words of the shares
        assert not _words_of(problem.message) & {w for m in mnemonics for w in m.split()}
        return
    assert expected, f"{description}: an invalid set was accepted"
    assert secret.hex() == expected


def test_all_45_vectors_are_there():
    if not VECTORS.exists():
        pytest.skip(f"SLIP-39 vectors not found at {VECTORS}")
    assert len(json.loads(VECTORS.read_text())) == 45


@pytest.mark.parametrize(("threshold", "count"), [(2, 2), (2, 3), (3, 5), (16, 16)])
def test_split_and_combine_round_trip(threshold, count):
    mnemonics = split(SECRET, threshold, count)
    assert len(mnemonics) == count and all(len(m.split()) == 20 for m in mnemonics)
    shares = [parse_share(m, n) for n, m in enumerate(mnemonics, 1)]
    assert [s.member_index for s in shares] == list(range(1, count + 1))
    assert {s.member_threshold for s in shares} == {threshold}
    assert len({s.identifier for s in shares}) == 1
    rng = random.Random(threshold * 100 + count)
    for _ in range(3):
        chosen = rng.sample(shares, threshold)
        assert combine(chosen) == SECRET
    with pytest.raises(ShareProblem, match=f"^{threshold - 1} shares? entered; this kit needs {threshold}$"):
        combine(shares[: threshold - 1])


def test_split_refuses_what_slip39_cannot_do():
    for threshold, count in ((0, 3), (4, 3), (2, 17), (1, 3)):
        with pytest.raises(Exception) as info:
            split(SECRET, threshold, count)
        assert not isinstance(info.value, ShareProblem)
    with pytest.raises(Exception):
        split(b"short", 2, 3)


def test_reading_is_tolerant_of_case_separators_and_sheet_numbers():
    mnemonic = split(SECRET, 2, 3)[0]
    words = mnemonic.split()
    pasted = "\n".join(f"{n:>2}. {w.upper()}," for n, w in enumerate(words, 1))
    assert parse_share(pasted, 1).mnemonic == mnemonic
    assert parse_share("  " + "\t ".join(words) + " \n", 1).mnemonic == mnemonic
    assert parse_share(";".join(words), 1).mnemonic == mnemonic


def test_every_single_mistyped_word_is_named_by_position():
    mnemonic = split(SECRET, 2, 3)[0]
    words = mnemonic.split()
    rng = random.Random(7)
    slowest = 0.0
    for position in range(len(words)):
        # some random substitutes, plus (for word 2) one that flips the extendable flag,
        # which changes the checksum's customization string
        index = WORDLIST.index(words[position])
        substitutes = {WORDLIST[index ^ 16], *rng.sample(WORDLIST, 6)} - {words[position]}
        for substitute in substitutes:
            typo = list(words)
            typo[position] = substitute
            started = time.perf_counter()
            with pytest.raises(ShareProblem) as info:
                parse_share(" ".join(typo), 4)
            slowest = max(slowest, time.perf_counter() - started)
            assert info.value.message == f"share 4: the checksum fails: word {position + 1} looks mistyped"
            assert substitute not in info.value.message and words[position] not in info.value.message
    assert slowest < 0.5, f"the mistyped-word search took {slowest:.3f} s"


def test_mistyped_search_on_a_33_word_share_and_its_cost():
    mnemonic = split(bytes(32), 2, 3)[1]
    words = mnemonic.split()
    typo = list(words)
    typo[31] = "academic" if words[31] != "academic" else "acid"
    indices = [WORDLIST.index(w) for w in typo]
    started = time.perf_counter()
    assert mistyped_positions(indices) == [31]
    assert time.perf_counter() - started < 0.5


def test_other_mistakes_are_named_by_position():
    words = split(SECRET, 2, 3)[0].split()
    not_words = list(words)
    not_words[6] = "xylophonic"
    with pytest.raises(ShareProblem, match=r"^share 2: word 7 is not a SLIP-39 word$"):
        parse_share(" ".join(not_words), 2)
    not_words[11] = "acad3mic"
    with pytest.raises(ShareProblem, match=r"^share 2: words 7 and 12 are not SLIP-39 words$"):
        parse_share(" ".join(not_words), 2)
    with pytest.raises(ShareProblem, match=r"^share 2 has 19 words; a share has 20 or 33$"):
        parse_share(" ".join(words[:-1]), 2)
    with pytest.raises(ShareProblem, match=r"^share 3 is empty$"):
        parse_share(" , \n", 3)
    swapped = list(words)
    swapped[4], swapped[5] = swapped[5], swapped[4]
    if swapped != words:
        with pytest.raises(ShareProblem, match=r"^share 1: the checksum fails: words 5 and 6 look swapped$"):
            parse_share(" ".join(swapped), 1)
    two_wrong = list(words)
    two_wrong[2] = WORDLIST[(WORDLIST.index(words[2]) + 1) % 1024]
    two_wrong[15] = WORDLIST[(WORDLIST.index(words[15]) + 1) % 1024]
    with pytest.raises(ShareProblem, match=r"more than one word is wrong"):
        parse_share(" ".join(two_wrong), 1)


def test_sets_of_shares_that_cannot_combine_are_named():
    first = [parse_share(m, n) for n, m in enumerate(split(SECRET, 2, 3), 1)]
    other = [parse_share(m, n) for n, m in enumerate(split(SECRET, 2, 3), 3)]
    if first[0].identifier == other[0].identifier:  # 1 in 32768: draw again
        other = [parse_share(m, n) for n, m in enumerate(split(SECRET, 2, 3), 3)]
    again = parse_share(first[0].mnemonic, 3)
    with pytest.raises(ShareProblem, match=r"^shares 1 and 3 are the same share$"):
        combine([first[0], first[1], again])
    with pytest.raises(ShareProblem, match=r"^share 3 is from a different kit than share 1$"):
        combine([first[0], first[1], other[0]])
    with pytest.raises(ShareProblem, match=r"^3 shares entered; this kit takes exactly 2"):
        combine(first)
    with pytest.raises(ShareProblem, match=r"^no shares entered$"):
        combine([])


def test_combine_may_take_extra_shares_checks_them_all_and_uses_the_first_threshold():
    shares = [parse_share(m, n) for n, m in enumerate(split(SECRET, 2, 4), 1)]
    assert combine(shares, allow_extra=True) == SECRET
    assert combine(shares[1:3], allow_extra=True) == SECRET
    with pytest.raises(ShareProblem, match=r"^1 share entered; this kit needs 2$"):
        combine(shares[:1], allow_extra=True)
    again = parse_share(shares[0].mnemonic, 4)
    with pytest.raises(ShareProblem, match=r"^shares 1 and 4 are the same share$"):
        combine([*shares[:3], again], allow_extra=True)  # an extra share is checked too


# The repr's own field names and values; SLIP-39 words too, so a random share may hold them.
REPR_VOCABULARY = {"group", "index", "member", "true", "false", "count", "number", "threshold"}


def test_reprs_and_messages_hold_no_words():
    mnemonic = split(SECRET, 2, 3)[0]
    share = parse_share(mnemonic, 1)
    assert isinstance(share, ParsedShare)
    for text in (repr(share), str(share)):
        assert not _words_of(text) & set(mnemonic.split()) - REPR_VOCABULARY
    bad = mnemonic.split()
    bad[0] = "zzz"
    with pytest.raises(ShareProblem) as info:
        parse_share(" ".join(bad), 1)
    assert not _words_of(str(info.value)) & set(mnemonic.split())
    assert not _words_of(repr(info.value)) & set(mnemonic.split())
