"""Backups (one encrypted file) and restoring them into a new vault directory."""

from __future__ import annotations

from pathlib import Path

from smvault.domain.clock import Clock, system_clock
from smvault.domain.errors import IntegrityError
from smvault.services.session import Session, unlock
from smvault.store.vault import unpack_backup


def backup(session: Session, target: Path) -> None:
    """Logged first, so the backup itself records that it was taken."""
    with session.atomic():
        session.record("vault.backup", detail={"file": target.name})
    session.vault.write_backup(target)


def restore(
    backup_file: Path,
    directory: Path,
    operator: str,
    passphrase: bytes,
    *,
    clock: Clock = system_clock,
    anchor_dir: Path | None = None,
) -> Session:
    """Unpack, verify the whole chain, log the restore and move this machine's anchor to it.

    A restored backup is older than the anchor by design; the restore is the one place that
    may move the anchor back, and it says so in the log.
    """
    unpack_backup(backup_file, directory)
    session = unlock(directory, operator, passphrase, clock=clock, anchor_dir=anchor_dir, check=False)
    try:
        result = session.vault.log.verify()
        if not result.ok:
            raise IntegrityError(f"the backup's access log fails verification: {result.damage}")
        previous = session.anchor.read_quietly()
        with session.atomic():
            link = session.record(
                "vault.restore",
                detail={"file": backup_file.name,
                        "previous_anchor_seq": previous.seq if previous else None},
            )
        session.anchor.reset(link)
    except BaseException:
        session.vault.close()
        raise
    return session
