"""How `smvault --recovery` (no command, on a terminal) asks the UI to start: on the recovery
screen, with what the command line already gave (reason, incident, shares read from files)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecoveryStart:
    reason: str | None = None
    incident: str | None = None
    # Share texts from --share-file: as secret as a passphrase, so kept out of the repr; the
    # recovery screen puts them in its (masked) fields and this copy is dropped at start.
    shares: list[str] = field(default_factory=list, repr=False)
