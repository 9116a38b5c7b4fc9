"""The checkpoint that ends a report: the log entry that recorded the report, as a line for paper."""

from __future__ import annotations

from smvault.domain.logchain import ChainLink
from smvault.domain.report import Checkpoint
from smvault.services.session import Session


def checkpoint_of(session: Session, link: ChainLink) -> Checkpoint:
    """The checkpoint of the entry at `link` (just recorded), dated as that entry is: the clock
    read again after the commit could already show a later second. One primary-key read."""
    [entry] = session.vault.log.entries(after_seq=link.seq - 1, limit=1, newest_first=False)
    return Checkpoint(session.vault.vault_id, link.seq, link.entry_hash.hex(), entry["ts"])
