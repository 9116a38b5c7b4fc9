"""Tests for the access-log hash chain (smvault.domain.logchain)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from smvault.domain.errors import IntegrityError
from smvault.domain.logchain import (
    HASH_TAG,
    KINDS,
    ChainLink,
    LogDamage,
    VerifyResult,
    _hmac_pads,
    canonical_body,
    check_anchor,
    entry_hash,
    entry_mac,
    genesis_hash,
    verify_rows,
)

Row = tuple[int, bytes, bytes, bytes, bytes, int]

VAULT_ID = "vault-0f3a"
EPOCHS = (1, 2, 3)
KEYS: dict[int, bytes] = {ep: hashlib.sha256(b"test log key %d" % ep).digest() for ep in EPOCHS}
UNKNOWN_EPOCH = 99
WRONG_KEY = hashlib.sha256(b"attacker's guess").digest()

PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- helpers


def build_rows(
    entries: Sequence[Mapping[str, object]],
    keys: Mapping[int, bytes] = KEYS,
    epochs: Sequence[int] | None = None,
    vault_id: str = VAULT_ID,
) -> list[Row]:
    """Rows for ``entries`` (seq = position, from 1), each MACed under its epoch's key."""
    if epochs is None:
        epochs = [min(keys)] * len(entries)
    prev = genesis_hash(vault_id)
    rows: list[Row] = []
    for seq, (fields, epoch) in enumerate(zip(entries, epochs, strict=True), start=1):
        body = canonical_body({**fields, "seq": seq}).encode("utf-8")
        h = entry_hash(prev, body)
        rows.append((seq, prev, body, h, entry_mac(keys[epoch], h), epoch))
        prev = h
    return rows


def verify_full(rows, keys: Mapping[int, bytes] = KEYS, vault_id: str = VAULT_ID) -> VerifyResult:
    return verify_rows(
        iter(rows), start=ChainLink(0, genesis_hash(vault_id)), keys=keys, expected_first_seq=1
    )


def verify_from(anchor: ChainLink, rows, keys: Mapping[int, bytes] = KEYS) -> VerifyResult:
    return verify_rows(iter(rows), start=anchor, keys=keys, expected_first_seq=anchor.seq + 1)


def link_at(rows: Sequence[Row], seq: int, vault_id: str = VAULT_ID) -> ChainLink:
    """The link of entry ``seq`` in an unmodified chain (seq 0: the genesis)."""
    if seq == 0:
        return ChainLink(0, genesis_hash(vault_id))
    return ChainLink(seq, rows[seq - 1][3])


def first_difference(original: Sequence[Row], mutated: Sequence[Row]) -> int | None:
    """1-based position of the first row that differs; None if ``mutated`` is a prefix."""
    for pos, (a, b) in enumerate(zip(original, mutated), start=1):
        if a != b:
            return pos
    if len(mutated) > len(original):
        return len(original) + 1
    return None


def renumber(rows: Sequence[Row]) -> list[Row]:
    """Rewrite the seq column to match positions (bodies keep the seq they were hashed with)."""
    return [(pos, *row[1:]) for pos, row in enumerate(rows, start=1)]


def rechain(rows: Sequence[Row], frm: int, mac_key: bytes | None) -> list[Row]:
    """Recompute hashes (and links) from position ``frm`` on; MACs with ``mac_key``, or kept."""
    out = list(rows[: frm - 1])
    prev = rows[frm - 2][3] if frm > 1 else genesis_hash(VAULT_ID)
    for seq, _p, body, _h, mac, epoch in rows[frm - 1 :]:
        h = entry_hash(prev, body)
        out.append((seq, prev, body, h, mac if mac_key is None else entry_mac(mac_key, h), epoch))
        prev = h
    return out


def edit_field(row: Row) -> Row:
    fields = json.loads(row[2])
    fields["actor"] = str(fields.get("actor", "")) + "x"
    return (row[0], row[1], canonical_body(fields).encode("utf-8"), *row[3:])


def replace(rows: Sequence[Row], pos: int, row: Row) -> list[Row]:
    out = list(rows)
    out[pos - 1] = row
    return out


# --------------------------------------------------------------------------- strategies

json_leaves = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=12)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
entry_fields = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["reveal", "copy", "totp", "unlock", "grant", "export"]),
        "actor": st.text(max_size=16),
        "account": st.none() | st.text(min_size=1, max_size=16),
    },
    optional={"extra": json_values},
)


@st.composite
def chains(draw, min_size: int = 1, max_size: int = 60):
    """(rows, epochs) for a random chain; key epochs never go backwards."""
    entries = draw(st.lists(entry_fields, min_size=min_size, max_size=max_size))
    epochs, epoch = [], draw(st.sampled_from(EPOCHS))
    for _ in entries:
        if epoch < EPOCHS[-1] and draw(st.integers(0, 9)) == 0:
            epoch += 1
        epochs.append(epoch)
    return build_rows(entries, KEYS, epochs)


MUTATIONS = [
    "edit_byte",
    "edit_field",
    "edit_hash",
    "edit_mac",
    "change_prev",
    "delete_one",
    "delete_run",
    "swap",
    "swap_renumbered",
    "duplicate",
    "duplicate_renumbered",
    "forged_stale_macs",
    "forged_wrong_key",
    "epoch_unknown",
    "epoch_other",
]


def mutate(data, rows: list[Row], name: str) -> tuple[list[Row], tuple[int, str] | None]:
    """Apply mutation ``name``; return the rows and the expected (seq, kind), None if undetectable."""
    n = len(rows)
    pos = data.draw(st.integers(1, n), label="pos")
    row = rows[pos - 1]
    if name == "edit_byte":
        body = bytearray(row[2])
        at = data.draw(st.integers(0, len(body) - 1), label="byte")
        body[at] ^= data.draw(st.integers(1, 255), label="xor")
        return replace(rows, pos, (row[0], row[1], bytes(body), *row[3:])), (pos, "edited")
    if name == "edit_field":
        return replace(rows, pos, edit_field(row)), (pos, "edited")
    if name == "edit_hash":
        h = bytes([row[3][0] ^ 1]) + row[3][1:]
        return replace(rows, pos, (*row[:3], h, *row[4:])), (pos, "edited")
    if name == "edit_mac":
        mac = row[4][:-1] + bytes([row[4][-1] ^ 0x80])
        return replace(rows, pos, (*row[:4], mac, row[5])), (pos, "forged")
    if name == "change_prev":
        other = data.draw(
            st.sampled_from([r[3] for r in rows if r[3] != row[1]] + [bytes(32), b"\xff" * 32]),
            label="new prev",
        )
        return replace(rows, pos, (row[0], other, *row[2:])), (pos, "edited")
    if name == "delete_one":
        out = rows[: pos - 1] + rows[pos:]
        return out, None if pos == n else (pos, "missing")
    if name == "delete_run":
        end = data.draw(st.integers(pos, n), label="end")
        out = rows[: pos - 1] + rows[end:]
        return out, None if end == n else (pos, "missing")
    if name in ("swap", "swap_renumbered"):
        assume(n >= 2)
        i, j = sorted(data.draw(st.lists(st.integers(1, n), min_size=2, max_size=2, unique=True)))
        out = list(rows)
        out[i - 1], out[j - 1] = out[j - 1], out[i - 1]
        if name == "swap_renumbered":
            out = renumber(out)
        return out, (i, "reordered")
    if name in ("duplicate", "duplicate_renumbered"):
        at = data.draw(st.integers(0, n), label="insert at")  # list index for the copy
        out = rows[:at] + [row] + rows[at:]
        if name == "duplicate_renumbered":
            out = renumber(out)
        where = first_difference(rows, out)
        assert where is not None
        return out, (where, "reordered")
    if name in ("forged_stale_macs", "forged_wrong_key"):
        out = rechain(replace(rows, pos, edit_field(row)), pos,
                      None if name == "forged_stale_macs" else WRONG_KEY)
        return out, (pos, "forged")
    if name == "epoch_unknown":
        return replace(rows, pos, (*row[:5], UNKNOWN_EPOCH)), (pos, "unknown-key")
    if name == "epoch_other":
        other = data.draw(st.sampled_from([ep for ep in EPOCHS if ep != row[5]]), label="epoch")
        return replace(rows, pos, (*row[:5], other)), (pos, "edited")
    raise AssertionError(name)


def assert_damage(result: VerifyResult, rows: Sequence[Row], seq: int, kind: str) -> None:
    assert not result.ok
    assert result.damage is not None
    assert (result.damage.seq, result.damage.kind) == (seq, kind), str(result.damage)
    assert result.checked == seq - 1
    assert result.last == (link_at(rows, seq - 1) if seq > 1 else None)


# --------------------------------------------------------------------------- primitives


def test_genesis_and_hash_definitions():
    assert genesis_hash("v1") == hashlib.sha256(b"smvault/log/genesis/v1\x00v1").digest()
    assert genesis_hash("v1") != genesis_hash("v2")
    prev, body = b"\x01" * 32, b'{"seq":1}'
    assert entry_hash(prev, body) == hashlib.sha256(HASH_TAG + prev + body).digest()
    assert entry_hash(prev, body.decode()) == entry_hash(prev, body)
    assert entry_mac(b"k" * 32, b"h" * 32) == hmac.new(b"k" * 32, b"h" * 32, "sha256").digest()


def test_canonical_body_is_sorted_compact_and_keeps_unicode():
    text = canonical_body({"seq": 3, "b": [1, True, None], "a": {"z": "é", "y": "x"}})
    assert text == '{"a":{"y":"x","z":"é"},"b":[1,true,null],"seq":3}'


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"action": "x"}, ValueError),
        ({"seq": 0}, ValueError),
        ({"seq": True}, ValueError),
        ({"seq": "1"}, ValueError),
        ({"seq": 1, "x": 1.5}, TypeError),
        ({"seq": 1, "x": float("nan")}, TypeError),
        ({"seq": 1, "x": (1, 2)}, TypeError),
        ({"seq": 1, "x": {1: "a"}}, TypeError),
        ({"seq": 1, "x": b"bytes"}, TypeError),
        ({"seq": 1, "x": "\ud800"}, ValueError),
    ],
)
def test_canonical_body_rejects(fields, error):
    with pytest.raises(error):
        canonical_body(fields)


@PROPS
@given(st.binary(max_size=200), st.binary(min_size=32, max_size=32))
def test_precomputed_hmac_pads_match_hmac_digest(key, msg):
    inner, outer = _hmac_pads(key)
    x = inner.copy()
    x.update(msg)
    y = outer.copy()
    y.update(x.digest())
    assert y.digest() == entry_mac(key, msg)


def test_damage_and_result_objects():
    damage = LogDamage(1234, "edited", "its hash does not match its contents")
    assert str(damage) == "entry 1234: edited (its hash does not match its contents)"
    assert {"edited", "forged", "missing", "reordered", "truncated", "rewritten",
            "unknown-key"} == KINDS
    with pytest.raises(ValueError):
        LogDamage(1, "scribbled", "")
    assert VerifyResult(0, None, None).ok
    VerifyResult(0, None, None).raise_for_damage()
    with pytest.raises(IntegrityError, match="entry 1234: edited"):
        VerifyResult(1233, None, damage).raise_for_damage()
    with pytest.raises(ValueError):
        ChainLink(-1, bytes(32))
    with pytest.raises(ValueError):
        ChainLink(1, b"short")
    assert ChainLink(1, bytearray(32)).entry_hash == bytes(32)


def test_start_and_expected_first_seq_must_agree():
    with pytest.raises(ValueError):
        verify_rows([], start=ChainLink(0, bytes(32)), keys=KEYS, expected_first_seq=2)


def test_empty_log_verifies():
    result = verify_full([])
    assert result.ok and result.checked == 0 and result.last is None


# --------------------------------------------------------------------------- properties


@PROPS
@given(chains())
def test_unmodified_chains_verify(rows):
    result = verify_full(rows)
    assert result.ok, str(result.damage)
    assert result.checked == len(rows)
    assert result.last == link_at(rows, len(rows))


@PROPS
@given(chains(), st.sampled_from(MUTATIONS), st.data())
def test_single_mutation_is_found_and_named(rows, name, data):
    mutated, expected = mutate(data, rows, name)
    result = verify_full(mutated)
    if expected is None:  # the tail was cut: looks like a shorter, valid log
        assert result.ok
        assert first_difference(rows, mutated) is None
        return
    seq, kind = expected
    assert first_difference(rows, mutated) == seq
    assert_damage(result, rows, seq, kind)
    assert str(result.damage).startswith(f"entry {seq}: {kind} (")


@PROPS
@given(chains(min_size=2), st.data())
def test_truncation_needs_an_anchor(rows, data):
    n = len(rows)
    keep = data.draw(st.integers(0, n - 1), label="keep")
    anchor = link_at(rows, data.draw(st.integers(keep + 1, n), label="anchor seq"))
    cut = rows[:keep]
    assert verify_full(cut).ok  # invisible to the chain alone
    damage = check_anchor(anchor, None, keep)
    assert damage is not None
    assert (damage.seq, damage.kind) == (keep + 1, "truncated")
    # ...while an anchor the cut log still holds is fine.
    if keep:
        kept = link_at(rows, data.draw(st.integers(1, keep), label="kept anchor"))
        assert check_anchor(kept, cut[kept.seq - 1][3], keep) is None


@PROPS
@given(chains(), st.one_of(st.none(), st.sampled_from(MUTATIONS)), st.data())
def test_incremental_verify_agrees_with_full(rows, name, data):
    mutated, _ = (rows, None) if name is None else mutate(data, rows, name)
    a = data.draw(st.integers(0, len(rows)), label="anchor seq")
    where = first_difference(rows, mutated)
    assume(where is None or where > a)  # an incremental verify trusts what precedes its anchor
    assume(len(mutated) >= a)
    anchor = link_at(rows, a)
    if a:
        assert check_anchor(anchor, mutated[a - 1][3], len(mutated)) is None
    full = verify_full(mutated)
    inc = verify_from(anchor, mutated[a:])
    assert inc.damage == full.damage
    assert full.checked == a + inc.checked
    assert inc.last == (full.last if full.last is not None and full.last.seq > a else None)


# --------------------------------------------------------------------------- specific cases


ENTRIES = [{"action": "reveal", "actor": f"op{i}", "account": "acme-x"} for i in range(10)]


def test_rewritten_before_anchor_by_key_holder():
    rows = build_rows(ENTRIES)
    anchor = link_at(rows, 6)
    # Someone holding the log key edits entry 4 and recomputes every hash and MAC after it.
    rewritten = rechain(replace(rows, 4, edit_field(rows[3])), 4, KEYS[1])
    assert verify_full(rewritten).ok  # internally perfect...
    damage = check_anchor(anchor, rewritten[5][3], len(rewritten))  # ...but not the anchored log
    assert (damage.seq, damage.kind) == (6, "rewritten")
    inc = verify_from(anchor, rewritten[6:])
    assert (inc.damage.seq, inc.damage.kind) == (6, "rewritten")
    assert inc.checked == 0 and inc.last is None


def test_replaced_entry_signed_with_the_key_names_the_next_entry():
    rows = build_rows(ENTRIES)
    # Entry 4 replaced by a validly signed one; entry 5 then no longer follows it.
    forged4 = rechain(replace(rows, 4, edit_field(rows[3])), 4, KEYS[1])[3]
    mutated = replace(rows, 4, forged4)
    result = verify_full(mutated)
    assert_damage(result, mutated, 5, "edited")
    assert "entry 4" in result.damage.detail


def test_log_of_another_vault_fails_at_entry_1():
    rows = build_rows(ENTRIES, vault_id="another-vault")
    result = verify_full(rows)
    assert_damage(result, rows, 1, "edited")
    assert "genesis" in result.damage.detail


def test_missing_entries_named_with_their_range():
    rows = build_rows(ENTRIES)
    result = verify_full(rows[:2] + rows[6:])
    assert_damage(result, rows, 3, "missing")
    assert "entries 3 to 6" in str(result.damage)
    renumbered = verify_full(renumber(rows[:2] + rows[6:]))
    assert_damage(renumbered, rows, 3, "missing")
    assert "renumbered" in str(renumbered.damage)


def test_check_anchor_cases():
    rows = build_rows(ENTRIES)
    anchor = link_at(rows, 5)
    assert check_anchor(anchor, rows[4][3], 10) is None
    assert check_anchor(anchor, rows[3][3], 10).kind == "rewritten"
    assert check_anchor(anchor, None, 3).kind == "truncated"
    assert check_anchor(anchor, None, 3).seq == 4
    assert check_anchor(anchor, None, 9).kind == "missing"  # a hole, not a cut tail
    genesis = link_at(rows, 0)
    assert check_anchor(genesis, None, 0) is None
    assert check_anchor(genesis, None, 10) is None
    assert check_anchor(genesis, genesis.entry_hash, 10) is None
    assert check_anchor(genesis, genesis_hash("another-vault"), 10).kind == "rewritten"


def test_str_bodies_are_accepted():
    rows = build_rows(ENTRIES)
    as_text = [(r[0], r[1], r[2].decode("utf-8"), *r[3:]) for r in rows]
    assert verify_full(as_text).ok
    edited = replace(as_text, 7, (7, as_text[6][1], as_text[6][2].replace("op6", "op7"),
                                  *as_text[6][3:]))
    assert_damage(verify_full(edited), rows, 7, "edited")
    broken = replace(as_text, 2, (2, as_text[1][1], "\ud800", *as_text[1][3:]))
    assert_damage(verify_full(broken), rows, 2, "edited")


def test_keys_mapping_missing_an_epoch():
    rows = build_rows(ENTRIES, epochs=[1] * 5 + [2] * 5)
    result = verify_full(rows, keys={1: KEYS[1]})
    assert_damage(result, rows, 6, "unknown-key")
    assert "epoch 2" in str(result.damage)


class OneShotRows:
    """An iterable that may be iterated only once and has no length."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self._rows = rows
        self.iterations = 0
        self.consumed = 0

    def __iter__(self) -> Iterator[Row]:
        self.iterations += 1
        if self.iterations > 1:
            raise AssertionError("rows iterated twice")
        for row in self._rows:
            self.consumed += 1
            yield row

    def __len__(self) -> int:
        raise AssertionError("len() called on rows")


def test_verify_streams_its_rows():
    rows = build_rows(ENTRIES)
    stream = OneShotRows(rows)
    result = verify_rows(
        stream, start=link_at(rows, 0), keys=KEYS, expected_first_seq=1
    )
    assert result.ok and result.checked == 10 and stream.iterations == 1
    # A plain generator works too, and reading stops at the first (non-gap) damage.
    stream = OneShotRows(replace(rows, 3, edit_field(rows[2])))
    result = verify_rows(
        stream, start=link_at(rows, 0), keys=KEYS, expected_first_seq=1
    )
    assert (result.damage.seq, result.damage.kind) == (3, "edited")
    assert stream.consumed == 3
    gen = (row for row in rows)
    assert verify_rows(gen, start=link_at(rows, 0), keys=KEYS, expected_first_seq=1).ok
