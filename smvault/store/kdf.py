"""Argon2id: turns an operator's passphrase into a 32-byte key-encryption key.

The parameters travel with each keyring slot (so they can be raised later); this module only
knows how to validate them and run the derivation.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2.exceptions import HashingError
from argon2.low_level import ARGON2_VERSION, Type, hash_secret_raw

from smvault.domain.errors import InvalidInputError, SmvaultError

KEY_LEN = 32
MIN_SALT_LEN = 16
MAX_SALT_LEN = 64

# Upper bounds exist so that a damaged or hostile keyring cannot make us allocate absurd
# amounts of memory or spin for hours; they are far above anything interactive.
MAX_TIME_COST = 64
MAX_MEMORY_KIB = 4 * 1024 * 1024  # 4 GiB
MAX_PARALLELISM = 64


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class KdfProfile:
    """Argon2id cost parameters: passes, memory in KiB, lanes."""

    time_cost: int
    memory_kib: int
    parallelism: int

    def __post_init__(self) -> None:
        if not _is_int(self.time_cost) or not 1 <= self.time_cost <= MAX_TIME_COST:
            raise InvalidInputError(
                f"Argon2 time cost must be an integer from 1 to {MAX_TIME_COST}"
            )
        if not _is_int(self.parallelism) or not 1 <= self.parallelism <= MAX_PARALLELISM:
            raise InvalidInputError(
                f"Argon2 parallelism must be an integer from 1 to {MAX_PARALLELISM}"
            )
        # Argon2 itself requires at least 8 KiB per lane.
        if (
            not _is_int(self.memory_kib)
            or not 8 * self.parallelism <= self.memory_kib <= MAX_MEMORY_KIB
        ):
            raise InvalidInputError(
                "Argon2 memory must be an integer number of KiB, at least 8 per lane"
                f" and at most {MAX_MEMORY_KIB}"
            )


DEFAULT_PROFILE = KdfProfile(time_cost=3, memory_kib=65536, parallelism=4)  # RFC 9106, 2nd rec.
TEST_PROFILE = KdfProfile(time_cost=1, memory_kib=64, parallelism=1)  # cheap: tests only


def derive_key(passphrase: bytes, salt: bytes, profile: KdfProfile) -> bytes:
    """Argon2id(passphrase, salt) -> 32 bytes, with the given cost parameters.

    The result is an ordinary `bytes` object: Python gives no way to wipe it from memory.
    """
    if not isinstance(passphrase, (bytes, bytearray)):
        raise TypeError("passphrase must be bytes")
    if not isinstance(salt, (bytes, bytearray)) or not MIN_SALT_LEN <= len(salt) <= MAX_SALT_LEN:
        raise InvalidInputError(f"salt must be {MIN_SALT_LEN} to {MAX_SALT_LEN} bytes")
    if not isinstance(profile, KdfProfile):
        raise TypeError("profile must be a KdfProfile")
    try:
        return hash_secret_raw(
            secret=bytes(passphrase),
            salt=bytes(salt),
            time_cost=profile.time_cost,
            memory_cost=profile.memory_kib,
            parallelism=profile.parallelism,
            hash_len=KEY_LEN,
            type=Type.ID,
            version=ARGON2_VERSION,
        )
    except HashingError as exc:  # e.g. the memory could not be allocated; never secret
        raise SmvaultError(f"key derivation failed: {exc}") from None
