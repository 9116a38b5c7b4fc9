"""The emergency kit: a recovery secret split k-of-n among custodians as SLIP-39 shares.

The recovery secret seals the vault key in the keyring's recovery slot (store.keyring), so K
custodians together can open the vault when no operator can. Creating a kit is logged
(`kit.create`); a new kit rekeys the vault so every share of the old one becomes useless.

Reading a kit (`kit_info`, `check_share`, `recover_from_shares`) needs no unlock: it is
what custodians do at the unlock screen. Share words never leave this module except inside a
`Kit` (whose reprs hide them) on their way to the printed sheets.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from smvault.domain.errors import (
    InvalidInputError,
    NotFoundError,
    PolicyError,
    SmvaultError,
    UsageError,
)
from smvault.domain.models import Person, PersonStatus, normalize_email
from smvault.domain.shares import (
    MAX_SHARES,
    RECOVERY_SECRET_LEN,
    ParsedShare,
    ShareProblem,
    check_set,
    combine,
    parse_share,
    split,
)
from smvault.services.session import Session, require_operator
from smvault.store import keyring as keyrings
from smvault.store.keyring import RecoverySlot
from smvault.store.vault import recorded_kit, replace_recovery_slot, set_recovery_slot

MIN_CUSTODIANS = 2
CREATE_ACTION = "kit.create"
KEY_ROTATED_ACTION = "log.key-rotated"


@dataclass(frozen=True)
class KitSheet:
    """What one custodian receives: their share and where it sits in the kit."""

    custodian: Person
    member_index: int  # 1-based, "share N of M"
    count: int
    mnemonic: str = field(repr=False)

    @property
    def words(self) -> list[str]:
        return self.mnemonic.split()


@dataclass(frozen=True)
class Kit:
    """A freshly created kit, with every custodian's share (only ever printed, never logged)."""

    kit_id: str
    threshold: int
    created_at: str
    vault_id: str
    sheets: list[KitSheet] = field(repr=False)
    replaced_kit_id: str | None = None
    files: tuple[Path, ...] = field(default=(), repr=False)

    @property
    def count(self) -> int:
        return len(self.sheets)


@dataclass(frozen=True)
class KitInfo:
    """The current kit as the keyring describes it (readable without unlocking)."""

    kit_id: str
    created_at: str
    threshold: int
    custodians: tuple[str, ...]  # emails, in share order: custodians[0] holds share 1
    vault_id: str

    @property
    def count(self) -> int:
        return len(self.custodians)


@dataclass(frozen=True)
class ShareCheck:
    """One share, checked as it is typed: well-formed, and whether it is this vault's kit's."""

    number: int
    member_index: int
    custodian_email: str | None  # None when the share is not from the current kit
    threshold: int
    current_kit: bool


@dataclass(frozen=True)
class RecoveredSecret:
    """What a set of shares opened: the recovery secret, the kit and who gave their share."""

    secret: bytes = field(repr=False)
    kit: KitInfo
    members: tuple[int, ...]  # the shares' member indexes (1-based), in the order entered
    custodians: tuple[str, ...]  # the emails of their custodians, in the same order


# -- reading (no unlock) ----------------------------------------------------------------------


def _info(vault_id: str, slot: RecoverySlot) -> KitInfo:
    return KitInfo(slot.kit_id, slot.created_at, slot.threshold, slot.custodians, vault_id)


def kit_info(directory: Path) -> KitInfo | None:
    """The vault's current emergency kit, or None if it has none."""
    kr = keyrings.load(Path(directory))
    return _info(kr.vault_id, kr.recovery) if kr.recovery is not None else None


def _kits(directory: Path) -> tuple[str, list[RecoverySlot]]:
    """The vault's id, and the kit in keyring.json, then the one in an interrupted rekey's
    pending keyring.

    A crash between rekeying the database and promoting the pending keyring leaves the new
    kit only in the pending file; opening resolves it (Vault._open_with), so its shares count.
    """
    directory = Path(directory)
    current = keyrings.load(directory)
    found = [kr.recovery for kr in (current, keyrings.load_pending(directory))
             if kr is not None and kr.recovery is not None]
    if not found:
        raise NotFoundError("this vault has no emergency kit")
    return current.vault_id, found


def _kit_of(share: ParsedShare, kits: list[RecoverySlot]) -> RecoverySlot | None:
    for kit in kits:
        if (share.identifier == kit.identifier and share.group_count == 1
                and share.member_threshold == kit.threshold
                and share.member_index <= len(kit.custodians)):
            return kit
    return None


def _not_current(share: ParsedShare, kits: list[RecoverySlot]) -> ShareProblem:
    current = kits[0]
    return ShareProblem(
        f"share {share.number} is not from this vault's current emergency kit"
        f" (kit {current.kit_id[:8]}, created {current.created_at[:10]}): an older kit's"
        " shares, or another vault's, open nothing"
    )


def check_share(directory: Path, text: str, number: int) -> ShareCheck:
    """Check one share as it is entered. Raises ShareProblem for bad words or checksum."""
    _, kits = _kits(directory)
    share = parse_share(text, number)
    kit = _kit_of(share, kits)
    return ShareCheck(
        number=number,
        member_index=share.member_index,
        custodian_email=kit.custodians[share.member_index - 1] if kit else None,
        threshold=kit.threshold if kit else share.member_threshold,
        current_kit=kit is not None,
    )


def recover_from_shares(directory: Path, texts: list[str]) -> RecoveredSecret:
    """The recovery secret from custodians' shares (for Vault.open_recovery), with the kit
    they belong to and whose they are.

    Every share must be well-formed, distinct and from the current kit; the first
    `threshold` of them are combined (more are allowed, and checked, but not needed).
    """
    vault_id, kits = _kits(directory)
    shares = [parse_share(text, number) for number, text in enumerate(texts, 1)]
    check_set(shares)  # the same share twice, or another kit's, before "not current"
    kit = _kit_of(shares[0], kits)
    for share in shares:
        if _kit_of(share, kits) is not kit or kit is None:
            raise _not_current(share, kits)
    return RecoveredSecret(
        secret=combine(shares, allow_extra=True),
        kit=_info(vault_id, kit),
        members=tuple(share.member_index for share in shares),
        custodians=tuple(kit.custodians[share.member_index - 1] for share in shares),
    )


def recover_vault_key_secret(directory: Path, texts: list[str]) -> bytes:
    """Just the recovery secret of `recover_from_shares`."""
    return recover_from_shares(directory, texts).secret


# -- creating ---------------------------------------------------------------------------------


def _custodian_people(session: Session, emails: list[str]) -> list[Person]:
    today = session.now().date()
    people: list[Person] = []
    seen: set[str] = set()
    for raw in emails:
        email = normalize_email(raw)
        if email in seen:
            raise InvalidInputError(f"{email} is listed twice: each custodian holds one share")
        seen.add(email)
        person = session.vault.people.by_email(email)
        if person is None:
            raise NotFoundError(f"no person with email {email!r}: add them first (smvault person add)")
        status = person.status(today)
        if status is PersonStatus.LEFT:
            raise PolicyError(f"{email} has left: a custodian must be someone still here")
        if status is PersonStatus.LEAVING:
            raise PolicyError(
                f"{email} is leaving on {person.leave_on.isoformat()}: choose a custodian who is staying"
            )
        people.append(person)
    if not MIN_CUSTODIANS <= len(people) <= MAX_SHARES:
        raise UsageError(f"a kit needs {MIN_CUSTODIANS} to {MAX_SHARES} custodians; {len(people)} given")
    return people


def _check_kit_id(kit_id: str) -> None:
    try:
        valid = str(uuid.UUID(kit_id)) == kit_id
    except (ValueError, TypeError, AttributeError):
        valid = False
    if not valid:
        raise UsageError("a kit id is a UUID in its usual lowercase form")


def _check_threshold(threshold: int, count: int) -> None:
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 2 <= threshold <= count:
        raise UsageError(
            f"the threshold must be from 2 to {count} (the number of custodians); {threshold} given"
        )


def _split_for_new_kit(secret: bytes, threshold: int, count: int, previous: RecoverySlot | None) -> list[str]:
    """Mnemonics whose SLIP-39 identifier differs from the old kit's (15 random bits could
    repeat), so an old share is always told apart as "not from the current kit"."""
    while True:
        mnemonics = split(secret, threshold, count)
        if previous is None or parse_share(mnemonics[0], 1).identifier != previous.identifier:
            break
    # Check before anything is printed or sealed: these sheets must give the secret back.
    if combine([parse_share(m, n) for n, m in enumerate(mnemonics[-threshold:], 1)]) != secret:
        raise SmvaultError("the new kit's shares did not combine back to its secret; nothing was changed")
    return mnemonics


def create_kit(
    session: Session,
    custodians: list[str],
    threshold: int,
    *,
    out_dir: Path | None = None,
    kit_id: str | None = None,
) -> Kit:
    """A new kit for `custodians` (emails of active people), any `threshold` of whom can unlock.

    With `out_dir`, the sheets are written there (kit_sheet.write_kit) BEFORE the kit is put in
    force: if they cannot be written, nothing changes and nothing is logged; if putting the kit
    in force fails, the sheets are removed again. So sheets on disk always belong to the kit in
    force, and the old kit stays usable until its replacement exists on paper.
    `kit_id` (default: a new UUID) lets a caller name the directory after the kit beforehand.
    """
    from smvault.services.kit_sheet import write_kit  # it imports this module

    # Before anything happens: a recovery session's allow-list would only refuse the log
    # entry, after the rekey and the sheets. A new kit is an operator's job.
    require_operator(session)
    if kit_id is not None:
        _check_kit_id(kit_id)
    people = _custodian_people(session, custodians)
    _check_threshold(threshold, len(people))
    vault = session.vault
    previous = keyrings.load(vault.directory).recovery
    secret = os.urandom(RECOVERY_SECRET_LEN)
    mnemonics = _split_for_new_kit(secret, threshold, len(people), previous)
    kit = Kit(
        kit_id=kit_id or str(uuid.uuid4()),
        threshold=threshold,
        created_at=session.ts(),
        vault_id=vault.vault_id,
        sheets=[KitSheet(person, index, len(people), mnemonic)
                for index, (person, mnemonic) in enumerate(zip(people, mnemonics, strict=True), 1)],
        replaced_kit_id=previous.kit_id if previous else None,
    )
    slot = {
        "kit_id": kit.kit_id,
        "identifier": parse_share(mnemonics[0], 1).identifier,
        "threshold": threshold,
        "custodians": tuple(person.email for person in people),
        "created_at": kit.created_at,
    }
    detail = {
        "kit_id": kit.kit_id,
        "threshold": threshold,
        "custodians": [person.id for person in people],
        "replaced_kit_id": kit.replaced_kit_id,
        "rekeyed": previous is not None,
    }
    files = tuple(write_kit(kit, Path(out_dir))) if out_dir is not None else ()
    try:
        # The keyring changes first, in steps that check keyring.json against the vault's
        # record of it and survive a crash (store.vault); a PRAGMA rekey commits whatever
        # transaction is open, so neither can share one with the log entry. When the change
        # fails, the old kit stands and nothing is logged; the entry after it is one small
        # append, and if a crash loses it the next unlock writes it (log_unlogged_kit).
        if previous is None:
            set_recovery_slot(vault, secret, **slot)
            with session.atomic():
                session.record(CREATE_ACTION, detail=detail)
        else:
            replace_recovery_slot(vault, secret, **slot)
            with session.atomic():
                session.record(CREATE_ACTION, detail=detail)
                # As after an operator's removal: whoever kept the old vault key (an old
                # keyring copy and the old shares) had the log's MAC key too; the entries from
                # here on use one they never saw.
                epoch = vault.log.create_key_epoch(session.ts())
                session.record(KEY_ROTATED_ACTION,
                               detail={"epoch": epoch, "reason": "emergency kit replaced"})
    except BaseException as exc:
        _after_failure(vault.directory, kit, files, Path(out_dir) if out_dir is not None else None, exc)
        raise
    return dataclasses.replace(kit, files=files)


def log_unlogged_kit(session: Session) -> dict | None:
    """The kit in force without its `kit.create` entry (a crash between putting it in force and
    logging it) gets one now, marked `recovered: true`. Every checked unlock runs this (one
    indexed lookup); returns the detail logged, or None. The vault's own bookkeeping: a
    recovery session records it too, without its marker."""
    vault = session.vault
    kit = recorded_kit(vault)
    if kit is None or vault.log.kit_created(kit["kit_id"]) is not None:
        return None
    custodians = []
    for email in kit.get("custodians") or ():
        person = vault.people.by_email(email)
        custodians.append(person.id if person is not None else None)
    detail = {"kit_id": kit["kit_id"], "threshold": kit.get("threshold"), "custodians": custodians,
              "created_at": kit.get("created_at"), "recovered": True}
    with session.atomic(), session.system_work():
        session.record(CREATE_ACTION, marked=False, detail=detail)
    return detail


def _kit_state(directory: Path, kit_id: str) -> str | None:
    """'in force' (keyring.json holds the kit), 'pending' (a rekey stopped half way), or None."""
    try:
        current, pending = keyrings.load(directory), keyrings.load_pending(directory)
    except SmvaultError:
        return None
    if current.recovery is not None and current.recovery.kit_id == kit_id:
        return "in force"
    if pending is not None and pending.recovery is not None and pending.recovery.kit_id == kit_id:
        return "pending"
    return None


def _after_failure(directory: Path, kit: Kit, files: tuple[Path, ...], out_dir: Path | None,
                   exc: BaseException) -> None:
    """Remove the sheets of a kit that never came into force; keep (and say so) otherwise."""
    from smvault.services.kit_sheet import discard_kit_files

    state = _kit_state(directory, kit.kit_id)
    if state is None:
        discard_kit_files(files, out_dir)
        return
    where = f" Its sheets are in {out_dir}." if files else ""
    reason = exc.message if isinstance(exc, SmvaultError) else type(exc).__name__
    if state == "in force":
        raise SmvaultError(
            f"emergency kit {kit.kit_id[:8]} is in force, but its log entry could not be"
            f" written ({reason}).{where} They are valid; an older kit's sheets are void."
        ) from None
    # The rekey stopped half way: the next unlock finishes or undoes it, so only then is it
    # known whether these sheets are the kit. Keep them rather than guess.
    raise SmvaultError(
        f"creating emergency kit {kit.kit_id[:8]} was interrupted ({reason}).{where}"
        " Unlock the vault again, then run 'smvault kit status': if it shows this kit,"
        " hand the sheets out; if not, destroy them."
    ) from None
