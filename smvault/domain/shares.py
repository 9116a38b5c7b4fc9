"""Emergency-kit shares: SLIP-39 mnemonics, as custodians type them.

The sharing itself is `shamir_mnemonic` (SLIP-39's reference implementation): splitting,
combining, the wordlist and the RS1024 checksum are all its. What this module adds is what a
person at a keyboard needs: tolerant reading (case, commas, line breaks, the numbers printed on
the sheet), and errors that say *where* a share is wrong (share 2, word 7), never *what* it
says. `shamir_mnemonic`'s own messages quote the first words of a share, so none of them is
ever passed on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from shamir_mnemonic import MnemonicError, Share, combine_mnemonics, generate_mnemonics, rs1024
from shamir_mnemonic.constants import (
    CUSTOMIZATION_STRING_EXTENDABLE,
    CUSTOMIZATION_STRING_ORIG,
    ITERATION_EXP_LENGTH_BITS,
    MAX_SHARE_COUNT,
    RADIX,
    RADIX_BITS,
)
from shamir_mnemonic.wordlist import WORD_INDEX_MAP

from smvault.domain.errors import InvalidInputError

RECOVERY_SECRET_LEN: Final = 16  # 128 bits -> 20-word shares
SHARE_LENGTHS: Final = (20, 33)  # 128- and 256-bit secrets
MAX_SHARES: Final = MAX_SHARE_COUNT

# Separators custodians use when typing or pasting; item numbers ("7." or "7)") as printed on
# the sheet are dropped, so a share copied from the plain-text sheet reads as it is.
_SEPARATORS = re.compile(r"[\s,;]+")
_ITEM_NUMBER = re.compile(r"\d+[.):]?")


class ShareProblem(InvalidInputError):
    """A share, or a set of shares, cannot be used. Says where, never which words."""

    title = "Share"


@dataclass(frozen=True)
class ParsedShare:
    """One checked share. `member_index` is 1-based, like `number` (its place in the input)."""

    number: int
    identifier: int
    member_index: int
    member_threshold: int
    group_index: int  # 1-based; a kit has one group
    group_threshold: int
    group_count: int
    extendable: bool
    iteration_exponent: int
    mnemonic: str = field(repr=False)

    @property
    def set_parameters(self) -> tuple[int, bool, int, int, int]:
        """What every share of one secret has in common (SLIP-39's common parameters)."""
        return (
            self.identifier,
            self.extendable,
            self.iteration_exponent,
            self.group_threshold,
            self.group_count,
        )


# --------------------------------------------------------------------------- reading


def _tokens(text: str) -> list[str]:
    return [
        token
        for token in _SEPARATORS.split(text.strip().lower())
        if token and not _ITEM_NUMBER.fullmatch(token)
    ]


def _positions(numbers: list[int]) -> str:
    """'word 7' or 'words 3, 7 and 12' (1-based)."""
    if len(numbers) == 1:
        return f"word {numbers[0]}"
    return "words " + ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


def _extendable(indices: list[int]) -> bool:
    # The first two words hold identifier (15 bits) | extendable flag (1) | iteration exponent (4).
    return bool(((indices[0] * RADIX + indices[1]) >> ITERATION_EXP_LENGTH_BITS) & 1)


def _customization(extendable: bool) -> bytes:
    return CUSTOMIZATION_STRING_EXTENDABLE if extendable else CUSTOMIZATION_STRING_ORIG


def _checksum_ok(indices: list[int]) -> bool:
    return rs1024.verify_checksum(indices, _customization(_extendable(indices)))


def parse_share(text: str, number: int) -> ParsedShare:
    """Read share `number` (1-based, for messages) from typed or pasted text."""
    tokens = _tokens(text)
    if not tokens:
        raise ShareProblem(f"share {number} is empty")
    unknown = [position for position, token in enumerate(tokens, 1) if token not in WORD_INDEX_MAP]
    if unknown:
        verb = "is not a SLIP-39 word" if len(unknown) == 1 else "are not SLIP-39 words"
        raise ShareProblem(f"share {number}: {_positions(unknown)} {verb}")
    if len(tokens) not in SHARE_LENGTHS:
        raise ShareProblem(f"share {number} has {len(tokens)} words; a share has 20 or 33")
    indices = [WORD_INDEX_MAP[token] for token in tokens]
    if not _checksum_ok(indices):
        raise ShareProblem(f"share {number}: the checksum fails: {_diagnose(indices)}")
    mnemonic = " ".join(tokens)
    try:
        share = Share.from_mnemonic(mnemonic)
    except MnemonicError as exc:
        raise ShareProblem(f"share {number} is not a valid share: {_decode_problem(exc)}") from None
    return ParsedShare(
        number=number,
        identifier=share.identifier,
        member_index=share.index + 1,
        member_threshold=share.member_threshold,
        group_index=share.group_index + 1,
        group_threshold=share.group_threshold,
        group_count=share.group_count,
        extendable=share.extendable,
        iteration_exponent=share.iteration_exponent,
        mnemonic=mnemonic,
    )


def _decode_problem(exc: MnemonicError) -> str:
    # Classified, never quoted: the library's message holds the share's first words.
    text = str(exc).lower()
    if "padding" in text:
        return "its padding bits are wrong"
    if "group threshold" in text:
        return "its group threshold is larger than its group count"
    return "its words do not decode"


# --------------------------------------------------------------------------- mistyped words


def _syndrome_effects(distance_from_end: int) -> list[int]:
    """How changing a value by each XOR-difference d (0..1023) changes the RS1024 polymod.

    The polymod is linear over GF(2): polymod(v XOR e) = polymod(v) XOR L(e), where L depends
    only on how far from the end the change sits. L is measured with shamir_mnemonic's own
    polymod (one call per bit), then extended to all 1024 differences by XOR.
    """
    tail = [0] * distance_from_end
    zero = rs1024._polymod([0, *tail])
    basis = [rs1024._polymod([1 << bit, *tail]) ^ zero for bit in range(RADIX_BITS)]
    effects = [0] * RADIX
    for bit, effect in enumerate(basis):
        for d in range(1 << bit):
            effects[d | (1 << bit)] = effects[d] ^ effect
    return effects


def mistyped_positions(indices: list[int]) -> list[int]:
    """0-based positions where replacing ONE word makes the checksum pass.

    Equivalent to trying every position with each of the 1024 words, but each try costs one
    table lookup instead of a full checksum; every hit is confirmed with rs1024.verify_checksum.
    The extendable flag (word 2) picks the checksum's customization string, so a change there
    is tried against both.
    """
    syndromes = {
        ext: rs1024._polymod([*_customization(ext), *indices]) ^ 1 for ext in (False, True)
    }
    found = []
    for position in range(len(indices)):
        effects = _syndrome_effects(len(indices) - 1 - position)
        for ext, syndrome in syndromes.items():
            try:
                difference = effects.index(syndrome)
            except ValueError:
                continue
            candidate = list(indices)
            candidate[position] ^= difference
            if _extendable(candidate) == ext and rs1024.verify_checksum(
                candidate, _customization(ext)
            ):
                found.append(position)
    return sorted(set(found))


def _swapped_positions(indices: list[int]) -> list[int]:
    """0-based i where swapping words i and i+1 makes the checksum pass."""
    found = []
    for i in range(len(indices) - 1):
        if indices[i] != indices[i + 1]:
            candidate = list(indices)
            candidate[i], candidate[i + 1] = candidate[i + 1], candidate[i]
            if _checksum_ok(candidate):
                found.append(i)
    return found


def _diagnose(indices: list[int]) -> str:
    # RS1024 has distance 4: one wrong word is always found, and then only one fix exists.
    mistyped = mistyped_positions(indices)
    if mistyped:
        where = " or ".join(f"word {p + 1}" for p in mistyped)
        return f"{where} looks mistyped"
    swapped = _swapped_positions(indices)
    if swapped:
        where = " or ".join(f"words {i + 1} and {i + 2}" for i in swapped)
        return f"{where} look swapped"
    return "more than one word is wrong; compare every word with the sheet"


# --------------------------------------------------------------------------- split / combine


def split(secret: bytes, threshold: int, count: int) -> list[str]:
    """`count` mnemonics in one group, any `threshold` of which give back `secret`."""
    if not isinstance(secret, bytes) or len(secret) < 16 or len(secret) % 2:
        raise InvalidInputError("a secret to split must be an even number of bytes, at least 16")
    if not 1 <= threshold <= count <= MAX_SHARES:
        raise InvalidInputError(f"a kit needs 1 <= threshold <= count <= {MAX_SHARES}")
    if threshold == 1 and count > 1:
        raise InvalidInputError("a threshold of 1 would make every share the whole secret")
    (group,) = generate_mnemonics(1, [(threshold, count)], secret)
    return group


def check_set(shares: list[ParsedShare]) -> None:
    """Reject no shares, duplicates and strangers (another secret's shares) with messages
    that name the shares involved. How many are needed is `combine`'s to check."""
    if not shares:
        raise ShareProblem("no shares entered")
    first = shares[0]
    for i, share in enumerate(shares):
        for earlier in shares[:i]:
            if earlier.mnemonic == share.mnemonic:
                raise ShareProblem(f"shares {earlier.number} and {share.number} are the same share")
        if share.set_parameters == first.set_parameters:
            continue
        if (share.identifier, share.extendable, share.iteration_exponent) != (
            first.identifier,
            first.extendable,
            first.iteration_exponent,
        ):
            raise ShareProblem(f"share {share.number} is from a different kit than share {first.number}")
        raise ShareProblem(
            f"share {share.number} does not fit with share {first.number}: their group settings differ"
        )


def _check_counts(shares: list[ParsedShare], allow_extra: bool) -> None:
    """Of one set (check_set): no member twice, and as many shares as the secret takes."""
    first = shares[0]
    groups: dict[int, list[ParsedShare]] = {}
    for share in shares:
        members = groups.setdefault(share.group_index, [])
        for earlier in members:
            if earlier.member_threshold != share.member_threshold:
                raise ShareProblem(
                    f"share {share.number} does not fit with share {earlier.number}:"
                    " they need different numbers of shares"
                )
            if earlier.member_index == share.member_index:
                raise ShareProblem(
                    f"shares {earlier.number} and {share.number} are both share"
                    f" {share.member_index} of the kit, but their words differ"
                )
        members.append(share)
    if first.group_count == 1:
        need, got = first.member_threshold, len(shares)
        if got < need:
            raise ShareProblem(f"{got} share{'s' if got != 1 else ''} entered; this kit needs {need}")
        if got > need and not allow_extra:
            raise ShareProblem(f"{got} shares entered; this kit takes exactly {need}: leave {got - need} out")
        return
    for group, members in sorted(groups.items()):
        need = members[0].member_threshold
        if len(members) != need:
            raise ShareProblem(
                f"group {group}: {len(members)} share{'s' if len(members) != 1 else ''} entered;"
                f" it takes exactly {need}"
            )
    if len(groups) != first.group_threshold:
        raise ShareProblem(
            f"shares from {len(groups)} group{'s' if len(groups) != 1 else ''} entered;"
            f" this secret takes exactly {first.group_threshold}"
        )


def combine(shares: list[ParsedShare], passphrase: bytes = b"", *, allow_extra: bool = False) -> bytes:
    """The secret the shares were split from. Every failure is a ShareProblem.

    With `allow_extra`, a one-group secret may be given more shares than its threshold:
    all of them are checked, the first `threshold` combined."""
    shares = list(shares)
    if not all(isinstance(share, ParsedShare) for share in shares):
        raise TypeError("combine takes ParsedShare values (see parse_share)")
    check_set(shares)
    _check_counts(shares, allow_extra)
    if allow_extra and shares[0].group_count == 1:
        shares = shares[: shares[0].member_threshold]
    try:
        return combine_mnemonics([share.mnemonic for share in shares], passphrase)
    except MnemonicError as exc:
        if "digest" in str(exc).lower():
            raise ShareProblem(
                "these shares do not combine: the result fails its digest check"
                " (a share is damaged, or they come from different kits)"
            ) from None
        raise ShareProblem("these shares do not combine into a secret") from None
    except ValueError:
        raise ShareProblem("these shares do not combine into a secret") from None
