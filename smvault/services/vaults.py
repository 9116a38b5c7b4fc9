"""Facts about a vault directory that need no passphrase."""

from __future__ import annotations

from pathlib import Path

from smvault.store import keyring as keyrings


def operator_names(directory: Path) -> list[str]:
    return sorted(keyrings.load(directory).slots)


def vault_exists(directory: Path) -> bool:
    return (Path(directory) / keyrings.KEYRING_FILE).exists()
