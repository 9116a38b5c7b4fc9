"""Reading, verifying, checkpointing and exporting the access log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from smvault.domain.errors import UsageError
from smvault.domain.logchain import ChainLink, LogDamage, check_anchor
from smvault.services.session import Session, log_unlock
from smvault.store.log_clock import LogClock

# How many entries dated backwards `verify` names (it counts them all).
CLOCK_STEPS_SHOWN = 20


def tail(session: Session, limit: int = 20, account_ref: str | None = None) -> list[dict]:
    account_id = None
    if account_ref:
        from smvault.services.lookup import account_by_ref

        account_id = account_by_ref(session, account_ref).id
    entries = session.vault.log.entries(limit=limit, account_id=account_id)
    return list(reversed(entries))


def search(
    session: Session,
    *,
    actor: str | None = None,
    account_ref: str | None = None,
    action: str | None = None,
    limit: int = 200,
) -> list[dict]:
    """Entries matching every filter given, newest first, at most `limit`.

    `actor` is an operator name (exact, ignoring case); `action` a prefix ("secret." finds
    "secret.reveal" and "secret.copy"); `account_ref` PLATFORM:HANDLE or an id.
    """
    if limit < 1:
        raise UsageError("the limit must be at least 1")
    account_id = None
    if account_ref and account_ref.strip():
        from smvault.services.lookup import account_by_ref

        account_id = account_by_ref(session, account_ref).id
    return session.vault.log.entries(
        limit=limit,
        account_id=account_id,
        operator=(actor or "").strip() or None,
        action_prefix=(action or "").strip() or None,
    )


def head_seq(session: Session) -> int:
    """The sequence number of the newest entry (0 for an empty log)."""
    return session.vault.log.head().seq


def since(session: Session, seq: int, limit: int = 500) -> list[dict]:
    """Entries after `seq`, oldest first, at most `limit`: a live tail polls with the last
    seq it showed."""
    if limit < 1:
        raise UsageError("the limit must be at least 1")
    return session.vault.log.entries(after_seq=seq, limit=limit, newest_first=False)


@dataclass(frozen=True)
class ClockStep:
    """An entry dated before the entry just before it: some machine's clock was behind (or,
    before it, ahead). Not damage (the chain orders entries, not their timestamps), but
    waits and time boxes are timed with the clock: worth a look."""

    seq: int
    ts: str
    previous_ts: str  # the timestamp of entry seq - 1

    def __str__(self) -> str:
        return f"entry {self.seq} is dated {self.ts}, before entry {self.seq - 1} ({self.previous_ts})"


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    head: ChainLink | None
    damage: LogDamage | None
    anchor: ChainLink | None
    page_problems: list[str]
    clock_steps: tuple[ClockStep, ...] = ()  # the first CLOCK_STEPS_SHOWN of them
    clock_step_count: int = 0  # all of them

    @property
    def ok(self) -> bool:
        """Timestamps going backwards are a warning, never damage."""
        return self.damage is None and not self.page_problems


def verify(session: Session, pages: bool = True, record_unlock: bool = True) -> VerifyReport:
    """Full chain from genesis, this machine's anchor, and (with `pages`) every page's HMAC.

    The CLI runs it on a session opened without checks, so when all is well the unlock is
    logged after (`record_unlock`); the UI's session was unlocked (and logged) already.
    """
    log = session.vault.log
    result = log.verify()
    anchor = session.anchor.read_quietly()
    damage = result.damage
    if damage is None and anchor is not None:
        damage = check_anchor(anchor, log.hash_at(anchor.seq), log.head().seq)
    problems = session.vault.page_problems() if pages else []
    count, steps = LogClock(session.vault.conn).steps_back(CLOCK_STEPS_SHOWN)
    report = VerifyReport(result.checked, result.last, damage, anchor, problems,
                          tuple(ClockStep(*step) for step in steps), count)
    if report.ok:
        if record_unlock:
            log_unlock(session)
        with session.atomic():
            session.record("log.verify", detail={"checked": result.checked,
                                                 **({"clock_steps_back": count} if count else {})})
    return report


def checkpoint(session: Session) -> dict:
    """A line to keep outside the vault (paper, another system): proves the log's state."""
    with session.atomic():
        link = session.record("log.checkpoint")
    return {"vault_id": session.vault.vault_id, "seq": link.seq, "entry_hash": link.entry_hash.hex(),
            "ts": session.ts()}


def export_jsonl(session: Session) -> Iterator[str]:
    """Every entry as a JSON line with its chain fields, so a copy can be verified offline."""
    with session.atomic():
        session.record("log.export", detail={"format": "jsonl"})
    for seq, prev, body, digest, mac, epoch in session.vault.log.raw_rows(0):
        yield json.dumps({
            "seq": seq, "prev_hash": bytes(prev).hex(), "body": bytes(body).decode(),
            "entry_hash": bytes(digest).hex(), "mac": bytes(mac).hex(), "key_epoch": epoch,
        }, ensure_ascii=True)


def reanchor(session: Session, reason: str) -> ChainLink:
    """Accept the vault's current log as this machine's reference (after a deliberate restore)."""
    reason = reason.strip()
    if not reason:
        raise UsageError("reanchor needs --reason")
    result = session.vault.log.verify()
    if not result.ok:
        from smvault.domain.errors import IntegrityError

        raise IntegrityError(f"refusing to reanchor: the log itself fails verification: {result.damage}")
    previous = session.anchor.read_quietly()
    with session.atomic():
        link = session.record(
            "log.reanchor",
            detail={"reason": reason[:500],
                    "previous_anchor": {"seq": previous.seq, "entry_hash": previous.entry_hash.hex()} if previous else None},
        )
    session.anchor.reset(link)
    return link
