"""What a file may make us spend on deriving its key.

A file says how expensive its key derivation is, and the file may be hostile: it must not
cost minutes or gigabytes. Argon2 work is counted as passes x memory, memory below 1 MiB
counted as 1 MiB (so a tiny memory cannot buy millions of passes). Every real setting is far
below the caps: Bitwarden's own ceilings are 10 passes and 1 GiB, KeePassXC's default is about
one second of native work, smvault's handover packets use 3 passes of 64 MiB.
"""

from __future__ import annotations

from smvault.domain.imports.model import ImportFileError

PBKDF2_MAX_ITERATIONS = 10_000_000
ARGON2_MAX_MEMORY_KIB = 1024 * 1024  # 1 GiB
ARGON2_MAX_WORK_KIB = 16 * 1024 * 1024  # passes x KiB: 16 GiB in all
ARGON2_MAX_PARALLELISM = 16  # Bitwarden's own ceiling
_MIN_MEMORY_COUNTED_KIB = 1024


def check_argon2_cost(time_cost: int, memory_kib: int, parallelism: int, source: str, *,
                      max_parallelism: int = ARGON2_MAX_PARALLELISM, advice: str = "") -> None:
    """ImportFileError unless Argon2 with these costs is valid and within the caps. `source`
    starts the message ("p.smh: header: kdf"); `advice` ends it (how to lower the costs)."""
    ending = f": {advice}" if advice else " (more would take too long or too much memory to open)"
    if parallelism > max_parallelism:
        raise ImportFileError(f"{source}: the key derivation asks for {parallelism:,} lanes "
                              f"(at most {max_parallelism}){ending}")
    if memory_kib > ARGON2_MAX_MEMORY_KIB:
        raise ImportFileError(f"{source}: the key derivation asks for {memory_kib:,} KiB of memory "
                              f"(at most {ARGON2_MAX_MEMORY_KIB:,}, 1 GiB){ending}")
    if time_cost < 1 or parallelism < 1 or memory_kib < 8 * parallelism:
        raise ImportFileError(f"{source}: the Argon2 settings are not valid (at least 1 pass, 1 lane "
                              "and 8 KiB of memory per lane)")
    if time_cost * max(memory_kib, _MIN_MEMORY_COUNTED_KIB) > ARGON2_MAX_WORK_KIB:
        raise ImportFileError(f"{source}: the key derivation asks for {time_cost:,} passes over "
                              f"{memory_kib:,} KiB (at most 16 GiB of Argon2 work in all){ending}")
