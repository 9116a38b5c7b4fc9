"""Hash-chain maths for the append-only access log.

Each stored row is ``(seq, prev_hash, body, entry_hash, mac, key_epoch)``:

* ``body`` is :func:`canonical_body` of the entry's fields, UTF-8 encoded, and includes the
  entry's own ``"seq"`` (so that a moved entry can be recognised after a failure);
* ``entry_hash = SHA-256(HASH_TAG || prev_hash || body)`` over the *stored bytes*;
* ``prev_hash`` is the previous entry's ``entry_hash`` (for entry 1: :func:`genesis_hash`);
* ``mac = HMAC-SHA256(log key of key_epoch, entry_hash)``.

:func:`verify_rows` checks a stream of rows in one pass and never parses JSON unless something
is already wrong (then only to say *what* is wrong). :func:`check_anchor` compares the log with
an anchor kept outside the vault, which is the only way to notice a truncated or rolled-back log.

Nothing here ever handles a secret value: bodies hold names and ids, and log keys are only
used, never put into a message or a ``repr``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from smvault.domain.errors import IntegrityError

__all__ = [
    "HASH_TAG",
    "GENESIS_TAG",
    "KINDS",
    "ChainLink",
    "LogDamage",
    "VerifyResult",
    "canonical_body",
    "check_anchor",
    "entry_hash",
    "entry_mac",
    "genesis_hash",
    "verify_rows",
]

HASH_TAG = b"smvault/log/v1\x00"
GENESIS_TAG = b"smvault/log/genesis/v1\x00"

EDITED = "edited"
FORGED = "forged"
MISSING = "missing"
REORDERED = "reordered"
TRUNCATED = "truncated"
REWRITTEN = "rewritten"
UNKNOWN_KEY = "unknown-key"
KINDS = frozenset({EDITED, FORGED, MISSING, REORDERED, TRUNCATED, REWRITTEN, UNKNOWN_KEY})

_HASH_LEN = 32
_BLOCK = 64  # SHA-256 block size, for the HMAC pads
# After a failure, how many further rows may be read to tell "missing" from "reordered".
_LOOKAHEAD = 100_000


# --------------------------------------------------------------------------- primitives


def genesis_hash(vault_id: str) -> bytes:
    """The ``prev_hash`` of entry 1 of the vault ``vault_id``."""
    return hashlib.sha256(GENESIS_TAG + vault_id.encode("utf-8")).digest()


def _check_value(value: object, path: str) -> None:
    if value is None or isinstance(value, (str, int)):  # bool is an int
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"log field {path!r} is not valid Unicode text") from None
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                raise TypeError(f"log field {path!r} has a key that is not a string")
            _check_value(k, f"{path}.<key>")
            _check_value(item, f"{path}.{k}")
        return
    raise TypeError(
        f"log field {path!r} has type {type(value).__name__}; "
        "only str, int, bool, None, list and dict are allowed"
    )


def canonical_body(fields: Mapping[str, object]) -> str:
    """The one canonical JSON text of a log entry.

    Keys sorted, no whitespace, non-ASCII kept as is, no floats. ``fields`` must hold
    ``"seq"`` (a positive int). Raises ``TypeError``/``ValueError`` for anything else: the
    log writer is the only caller, so a bad field is a programming error.
    """
    if not isinstance(fields, Mapping):
        raise TypeError("log entry fields must be a mapping")
    seq = fields.get("seq")
    if "seq" not in fields or isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ValueError("log entry fields must include 'seq', a positive integer")
    plain = dict(fields)
    _check_value(plain, "entry")
    return json.dumps(
        plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(prev_hash: bytes, body: bytes) -> bytes:
    """``SHA-256(HASH_TAG || prev_hash || body)``; ``body`` as stored (``str`` is UTF-8 encoded)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return hashlib.sha256(HASH_TAG + bytes(prev_hash) + bytes(body)).digest()


def entry_mac(log_key: bytes, entry_hash: bytes) -> bytes:
    """``HMAC-SHA256(log_key, entry_hash)``."""
    return hmac.digest(log_key, entry_hash, "sha256")


def _hmac_pads(key: bytes) -> tuple[object, object]:
    """SHA-256 states with the HMAC inner/outer key blocks already absorbed (RFC 2104).

    ``verify_rows`` copies these per row instead of calling :func:`hmac.digest`: with
    OpenSSL 3, ``hmac.digest`` sets up a MAC context on every call and costs more than twice
    as much. The result is the same bytes (the tests check it against :func:`entry_mac`).
    """
    key = bytes(key)
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\x00")
    inner = hashlib.sha256(key.translate(bytes(b ^ 0x36 for b in range(256))))
    outer = hashlib.sha256(key.translate(bytes(b ^ 0x5C for b in range(256))))
    return inner, outer


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ChainLink:
    """A point in the chain: entry ``seq`` has hash ``entry_hash`` (seq 0 is the genesis).

    Used as the start of a verification and as an anchor / checkpoint kept outside the vault.
    """

    seq: int
    entry_hash: bytes

    def __post_init__(self) -> None:
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or self.seq < 0:
            raise ValueError("a chain link's seq must be a non-negative integer")
        if not isinstance(self.entry_hash, (bytes, bytearray, memoryview)):
            raise TypeError("a chain link's hash must be bytes")
        h = bytes(self.entry_hash)
        if len(h) != _HASH_LEN:
            raise ValueError("a chain link's hash must be 32 bytes")
        object.__setattr__(self, "entry_hash", h)


@dataclass(frozen=True)
class LogDamage:
    """The first damage found: which entry, what kind, and a short explanation.

    ``kind`` is one of :data:`KINDS`. ``str()`` gives one line for a person, e.g.
    ``entry 1234: edited (its hash does not match its contents)``.
    """

    seq: int
    kind: str
    detail: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown log damage kind {self.kind!r}")

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.kind} ({self.detail})"


@dataclass(frozen=True)
class VerifyResult:
    """``checked`` rows verified; ``last`` is the last verified entry (``None`` if none was);
    ``damage`` is the first damage found, or ``None``."""

    checked: int
    last: ChainLink | None
    damage: LogDamage | None = field(default=None)

    @property
    def ok(self) -> bool:
        return self.damage is None

    def raise_for_damage(self) -> None:
        """Raise :class:`IntegrityError` naming the damage, if any."""
        if self.damage is not None:
            raise IntegrityError(f"The access log failed verification: {self.damage}.")


# --------------------------------------------------------------------------- verification


def verify_rows(
    rows: Iterable[tuple[int, bytes, bytes | str, bytes, bytes, int]],
    *,
    start: ChainLink,
    keys: Mapping[int, bytes],
    expected_first_seq: int,
) -> VerifyResult:
    """Verify ``(seq, prev_hash, body, entry_hash, mac, key_epoch)`` rows in one streaming pass.

    ``start`` is the link the first row must extend: ``ChainLink(0, genesis_hash(vault_id))``
    for a full verify, or an anchor for an incremental one; ``expected_first_seq`` must be
    ``start.seq + 1``. ``keys`` maps key epochs to log keys. ``rows`` is iterated once (it may
    be a cursor) and is not read past the first damage, except for a bounded look-ahead used
    to tell a missing entry from a moved one.

    Returns at the first damage. Unless the damage is ``rewritten`` (which names
    ``start.seq``), ``damage.seq`` is the first entry that failed and every entry before it
    verified: ``damage.seq == (last.seq if last else start.seq) + 1``. Truncation cannot be
    seen here: compare with an anchor (:func:`check_anchor`).
    """
    if isinstance(expected_first_seq, bool) or not isinstance(expected_first_seq, int):
        raise TypeError("expected_first_seq must be an int")
    if expected_first_seq != start.seq + 1:
        raise ValueError(
            f"rows must start right after the start link: expected seq {start.seq + 1}, "
            f"got {expected_first_seq}"
        )
    keys = dict(keys)
    pads = {epoch: _hmac_pads(key) for epoch, key in keys.items()}

    # Hot loop: everything bound to locals; per row one SHA-256 and one HMAC, no JSON.
    sha256 = hashlib.sha256
    tag = HASH_TAG
    expected = expected_first_seq
    prev = start.entry_hash
    cur_epoch: object = object()  # matches no epoch: the first row looks its key up
    inner = outer = None
    it = iter(rows)
    for row in it:
        seq, p, body, h, mac, epoch = row
        if seq != expected or p != prev:
            break
        try:
            if sha256(tag + p + body).digest() != h:
                break
        except TypeError:  # body given as str (or not text at all)
            if body.__class__ is not str:
                break
            try:
                body = body.encode("utf-8")
            except UnicodeEncodeError:
                break
            if sha256(tag + p + body).digest() != h:
                break
        if epoch != cur_epoch:
            pair = pads.get(epoch)
            if pair is None:
                break
            inner, outer = pair
            cur_epoch = epoch
        x = inner.copy()
        x.update(h)
        y = outer.copy()
        y.update(x.digest())
        if y.digest() != mac:
            break
        prev = h
        expected += 1
    else:
        checked = expected - expected_first_seq
        return VerifyResult(checked, ChainLink(expected - 1, prev) if checked else None, None)

    checked = expected - expected_first_seq
    last = ChainLink(expected - 1, prev) if checked else None
    return VerifyResult(checked, last, _classify(row, expected, prev, it, keys, start))


def _plural_missing(first: int, upto: int) -> str:
    """'entry 5 is missing' / 'entries 5 to 9 are missing' for the range [first, upto)."""
    if upto - first == 1:
        return f"entry {first} is missing"
    return f"entries {first} to {upto - 1} are missing"


def _body_seq(body: bytes) -> int | None:
    """The ``"seq"`` a body claims, or ``None`` if it cannot be read."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(value, dict):
        return None
    seq = value.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int):
        return None
    return seq


def _linked_later(it: Iterator, link: bytes, lo: int, hi: int | None) -> bool:
    """Read ahead (bounded): does a later row extend ``link``, or carry a seq in [lo, hi)?

    True means the entry expected here exists further on: the log was reordered, not cut.
    """
    n = 0
    for later in it:
        try:
            later_seq, later_prev = later[0], later[1]
        except (TypeError, IndexError, KeyError):
            return False
        if later_prev == link:
            return True
        if hi is not None and isinstance(later_seq, int) and lo <= later_seq < hi:
            return True
        n += 1
        if n >= _LOOKAHEAD:
            break
    return False


def _classify(
    row: tuple, e: int, link: bytes, it: Iterator, keys: dict[int, bytes], start: ChainLink
) -> LogDamage:
    """Say what is wrong with ``row``, found where entry ``e`` (extending ``link``) should be.

    Order of the checks: the seq column; the row's own hash; its link to entry e-1 (with the
    body's ``"seq"`` to tell moved/duplicated/missing entries from edits); its key; its MAC.
    """
    seq, p, body, h, mac, epoch = row

    # 1. The seq column: a gap, or an entry out of order.
    if seq != e:
        if isinstance(seq, bool) or not isinstance(seq, int):
            return LogDamage(e, EDITED, "its sequence number is not a number")
        if seq < e:
            return LogDamage(
                e, REORDERED, f"entry {seq} appears again where entry {e} should be "
                "(duplicated or moved)"
            )
        if _linked_later(it, link, e, seq):
            return LogDamage(
                e, REORDERED, f"entry {seq} appears where entry {e} should be; "
                f"entry {e} comes later"
            )
        return LogDamage(e, MISSING, _plural_missing(e, seq))

    # 2. The row's own hash.
    if isinstance(body, str):
        try:
            body = body.encode("utf-8")
        except UnicodeEncodeError:
            return LogDamage(e, EDITED, "its contents are not valid text")
    try:
        consistent = entry_hash(p, body) == h
    except TypeError:
        consistent = False
    if not consistent:
        return LogDamage(e, EDITED, "its hash does not match its contents")

    # 3. The link to the previous entry. The row is internally consistent here.
    if p != link:
        claimed = _body_seq(body)
        if claimed is not None and claimed != e:
            if claimed < e:
                return LogDamage(
                    e, REORDERED, f"it holds entry {claimed}, which belongs earlier "
                    "(duplicated or moved)"
                )
            if _linked_later(it, link, e, None):
                return LogDamage(
                    e, REORDERED, f"it holds entry {claimed}; entry {e} comes later"
                )
            return LogDamage(
                e, MISSING, _plural_missing(e, claimed) + " (later entries were renumbered)"
            )
        key = keys.get(epoch)
        if key is None:
            return LogDamage(e, UNKNOWN_KEY, f"it is signed with log key epoch {epoch}, "
                             "which is not known")
        if entry_mac(key, h) != mac:
            return LogDamage(
                e, FORGED, f"its link to entry {e - 1} was changed by someone without the log key"
            )
        # An authentic entry that does not follow what precedes it: whoever changed it held
        # the log key. Which of the two was replaced cannot be told; name this entry.
        if e == start.seq + 1:
            if start.seq == 0:
                return LogDamage(
                    e, EDITED, "it does not follow this vault's genesis: the log belongs to "
                    "another vault, or was rewritten by someone holding the log key"
                )
            return LogDamage(
                start.seq, REWRITTEN, f"entry {e} does not follow the anchor: the log was "
                f"changed at or before entry {start.seq}"
            )
        return LogDamage(
            e, EDITED, f"it does not follow entry {e - 1}: entry {e - 1} or this entry's link "
            "was changed by someone holding the log key"
        )

    # 4. Key and MAC.
    key = keys.get(epoch)
    if key is None:
        return LogDamage(e, UNKNOWN_KEY, f"it is signed with log key epoch {epoch}, "
                         "which is not known")
    try:
        mac_ok = entry_mac(key, h) == mac
    except TypeError:
        mac_ok = False
    if mac_ok:  # cannot happen after a fast-path failure; kept so the function is total
        return LogDamage(e, EDITED, "it failed verification")
    for other_epoch, other_key in keys.items():
        if other_epoch != epoch and entry_mac(other_key, h) == mac:
            return LogDamage(
                e, EDITED, f"its key epoch was changed (its MAC matches epoch {other_epoch}, "
                f"not {epoch})"
            )
    return LogDamage(
        e, FORGED, "its hash chain is consistent but its MAC is wrong: rewritten by someone "
        "without the log key"
    )


# --------------------------------------------------------------------------- anchors


def check_anchor(
    anchor: ChainLink, hash_at_anchor_seq: bytes | None, last_seq: int
) -> LogDamage | None:
    """Does the log still extend ``anchor``?

    ``hash_at_anchor_seq`` is the stored ``entry_hash`` of entry ``anchor.seq`` (``None`` if
    there is no such entry); ``last_seq`` is the log's highest seq (0 if empty).

    * no entry, log ends before the anchor -> ``truncated``, naming the first absent entry;
    * no entry, though the log goes past it -> ``missing``, naming ``anchor.seq``;
    * a different hash -> ``rewritten``, naming ``anchor.seq``.

    An anchor at seq 0 (the genesis) has no entry of its own: with ``None`` it always holds;
    given a hash (the vault's genesis hash) it is compared like any other.
    """
    if hash_at_anchor_seq is None:
        if anchor.seq == 0:
            return None
        if last_seq < anchor.seq:
            return LogDamage(
                last_seq + 1, TRUNCATED, f"the log ends at entry {last_seq}, but an anchor "
                f"shows entry {anchor.seq} existed"
            )
        return LogDamage(anchor.seq, MISSING, "the anchored entry is not in the log")
    if bytes(hash_at_anchor_seq) != anchor.entry_hash:
        return LogDamage(
            anchor.seq, REWRITTEN, "it differs from the anchor: the log was changed at or "
            "before this entry"
        )
    return None
