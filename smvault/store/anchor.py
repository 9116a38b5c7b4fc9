"""The local anchor: the last log position this machine saw, kept outside the vault.

SQLCipher cannot tell an old copy of the vault from the current one. The anchor can: if the
vault's log no longer contains the anchored entry, the vault was rolled back or truncated.
Anchors hold only sequence numbers and hashes, nothing secret.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from smvault.domain.errors import IntegrityError, UsageError
from smvault.domain.logchain import ChainLink
from smvault.store.files import locked, write_atomic

ANCHOR_DIR_ENV = "SMVAULT_ANCHOR_DIR"


def default_anchor_dir() -> Path:
    override = os.environ.get(ANCHOR_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs  # deferred: only needed when no directory is given

    return Path(platformdirs.user_state_dir("smvault")) / "anchors"


class AnchorFile:
    def __init__(self, anchor_dir: Path, vault_dir: Path, vault_id: str) -> None:
        anchor_dir = anchor_dir.resolve()
        vault_dir = vault_dir.resolve()
        if anchor_dir == vault_dir or vault_dir in anchor_dir.parents:
            raise UsageError("the anchor directory must be outside the vault directory")
        self.path = anchor_dir / f"{vault_id}.json"
        self.vault_id = vault_id

    def read(self) -> ChainLink | None:
        try:
            data = json.loads(self.path.read_bytes())
            if data.get("vault_id") != self.vault_id:
                raise ValueError("vault id")
            return ChainLink(int(data["seq"]), bytes.fromhex(data["entry_hash"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            raise IntegrityError(f"the local anchor {self.path} is damaged") from None

    def write(self, link: ChainLink) -> None:
        # Locked: another process on this machine may be moving the same anchor.
        with locked(self.path.with_name(self.path.name + ".lock")):
            previous = self.read_quietly()
            if previous is not None and previous.seq > link.seq:
                return  # never move an anchor backwards by accident
            self._store(link)

    def reset(self, link: ChainLink) -> None:
        """Move the anchor to `link` even if backwards (a deliberate, logged restore)."""
        with locked(self.path.with_name(self.path.name + ".lock")):
            self._store(link)

    def _store(self, link: ChainLink) -> None:
        payload = {"vault_id": self.vault_id, "seq": link.seq, "entry_hash": link.entry_hash.hex()}
        write_atomic(self.path, json.dumps(payload).encode())

    def read_quietly(self) -> ChainLink | None:
        try:
            return self.read()
        except IntegrityError:
            return None
