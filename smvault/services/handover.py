"""Handover packets and TOTP exports: secrets leaving the vault in a file, every one logged.

Both are disclosures: the operator who writes the file holds every secret in it (the packet
with its passphrase), so each entry names them as the one who learned it (`to`), and
offboarding them asks for those secrets to be rotated. A packet for a person of this vault
(its EMAIL is theirs) names them as the recipient (`to`) and the operator as the one who
handed it over (`by`): offboarding either asks for the rotation.

The checks, the entries and the file go together: the file is written
(services.private_files.write_logged) inside the transaction that logs it, so a file that
cannot be written leaves no entry, and entries that cannot be committed leave no file. The
file is always a new one: an existing file is refused, never replaced, and so is any place in
the vault's own directory. Emergency access never makes a file: it is for using the account
during the incident, and a file would outlive the window.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from smvault.domain.clock import timestamp
from smvault.domain.errors import InvalidInputError, NotFoundError, PolicyError, UsageError
from smvault.domain.handover import KdfParams, PacketHeader, new_passphrase, read_header, seal
from smvault.domain.imports.model import MAX_FILE_BYTES
from smvault.domain.models import Account, Disclosure, Level, Person, normalize_email
from smvault.domain.text import printable
from smvault.services.input_files import read_capped
from smvault.services.lookup import account_by_ref
from smvault.services.policy import require_disclosure
from smvault.services.private_files import check_target, write_logged
from smvault.services.secrets import disclosure_fields, otpauth_uri
from smvault.services.session import Session, require_operator, slot_profile
from smvault.store.emergency import EmergencyAccess

HANDOVER_ACTION = "handover.create"
TOTP_EXPORT_ACTION = "totp.export"
TOTP_FORMATS = ("uri", "qr")
# Emergency access is time-boxed: a file made under it would outlive the window.
EMERGENCY_REFUSAL = "emergency access is for using the account now; a file export would outlive it"
# A packet carries every secret the vault holds for an account: the operator must be allowed all.
_PACKET_NEEDS = (Disclosure.PASSWORD, Disclosure.TOTP_SEED, Disclosure.RECOVERY_CODES)
_PACKET_SECRETS = tuple(what.value for what in _PACKET_NEEDS)  # the log's field names, as a reveal's


@dataclass(frozen=True, repr=False)
class HandoverResult:
    path: Path
    packet_id: str
    accounts: tuple[str, ...]
    passphrase: str  # shown once to the operator; it opens the packet

    def __repr__(self) -> str:
        return (f"HandoverResult(path={str(self.path)!r}, packet_id={self.packet_id!r}, "
                f"accounts={self.accounts!r}, passphrase=<hidden>)")


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    accounts: tuple[str, ...]


def _accounts(session: Session, refs: Sequence[str]) -> list[Account]:
    if not refs:
        raise UsageError("give at least one account (PLATFORM:HANDLE or id)")
    accounts: list[Account] = []
    for ref in refs:
        account = account_by_ref(session, ref)
        if any(account.id == seen.id for seen in accounts):
            raise InvalidInputError(f"account {account.key} is given twice")
        accounts.append(account)
    return accounts


def _require(session: Session, accounts: Sequence[Account], needs: Sequence[Disclosure],
             recipient: Person | None = None) -> None:
    """The operator may disclose `needs` of every account, and no entry would carry an
    emergency marker (the rule services.secrets.disclosure_fields applies: emergency access
    to the account held by the operator or by the recipient)."""
    emergency = EmergencyAccess(session.vault.conn)
    for account in accounts:
        if emergency.in_force(account.id, session.ts(), session.person.id, recipient.id if recipient else None):
            raise PolicyError(f"{account.key}: {EMERGENCY_REFUSAL}")
        for what in needs:
            require_disclosure(session, account, what)


def _check_out(session: Session, out: Path, what: str) -> None:
    """`out` is a new file in an existing directory outside the vault's (UsageError otherwise)."""
    check_target(out, session.vault.directory, what, replace=False)


def _write_logged(session: Session, out: Path, check: Callable[[], None], make: Callable[[], bytes | str],
                  what: str) -> None:
    """`check()` then write what `make()` returns (it records the entries) to the new file
    `out`, in one transaction (services.private_files.write_logged)."""
    _check_out(session, out, what)
    write_logged(session, out, make, what, replace=False, check=check)


# --- handover packets --------------------------------------------------------------------------


def _checked_packet(session: Session, refs: Sequence[str], to_email: str
                    ) -> tuple[str, Person | None, list[Account]]:
    """The recipient's email, the person of this vault it belongs to (if any), the accounts."""
    require_operator(session)  # a recovery session reveals on screen; it hands nothing out in files
    to_email = normalize_email(to_email)
    return to_email, session.vault.people.by_email(to_email), _accounts(session, refs)


def check_handover(session: Session, refs: Sequence[str], to_email: str, out: Path) -> tuple[str, ...]:
    """The accounts a packet for `refs` would hold, after every check `create_handover`
    makes (it makes them again); writes and logs nothing."""
    _, recipient, accounts = _checked_packet(session, refs, to_email)
    _require(session, accounts, _PACKET_NEEDS, recipient)
    _check_out(session, Path(out), "handover packet")
    return tuple(account.key for account in accounts)


def _people(session: Session, accounts: Sequence[Account]) -> tuple[dict[int, Person], dict[int, list[int]]]:
    """The people the accounts name, and each account's platform admins (grants in force,
    people who have left excluded)."""
    vault, now = session.vault, session.ts()
    left = vault.people.left_ids(session.now().date())
    admins = {account.id: [pid for pid, level in vault.grants.in_force_pairs(account.id, now)
                           if level == Level.PLATFORM_ADMIN and pid not in left]
              for account in accounts}
    ids = {pid for account in accounts for pid in (account.owner_id, account.backup_owner_id,
                                                   account.recovery_email_controller_id,
                                                   account.recovery_phone_controller_id, account.totp_holder_id)}
    ids.update(pid for pids in admins.values() for pid in pids)
    ids.discard(None)
    return vault.people.by_ids(ids), admins


def _account_payload(session: Session, account: Account, people: dict[int, Person],
                     admins: list[int]) -> dict:
    def person(pid: int | None) -> dict | None:
        return None if pid is None else {"name": people[pid].name, "email": people[pid].email}

    stored = session.vault.secrets.password(account.id)
    try:
        totp = otpauth_uri(session, account)
    except NotFoundError:
        totp = None
    return {
        "platform": account.platform, "handle": account.handle, "url": account.url, "brand": account.brand,
        "region": account.region, "business_unit": account.business_unit, "tier": account.tier,
        "status": account.status.value, "company_owned": account.company_owned, "login_id": account.login_id,
        "recovery_email": account.recovery_email,
        "recovery_email_controller": person(account.recovery_email_controller_id),
        "recovery_phone": account.recovery_phone,
        "recovery_phone_controller": person(account.recovery_phone_controller_id),
        "mfa": account.mfa.value, "totp_holder": person(account.totp_holder_id),
        "owner": person(account.owner_id), "backup_owner": person(account.backup_owner_id),
        "platform_admins": [person(pid) for pid in admins],
        "password": stored[0] if stored else None,
        "password_rotated_at": timestamp(stored[1]) if stored else None,
        "totp": totp,
        "recovery_codes": [code.code for code in session.vault.secrets.recovery_codes(account.id, unused_only=True)],
        "notes": account.notes,
    }


def _included(item: dict) -> list[str]:
    """The log field names of the secrets an account's payload holds."""
    present = (item["password"] is not None, item["totp"] is not None, bool(item["recovery_codes"]))
    return [name for name, there in zip(_PACKET_SECRETS, present) if there]


def create_handover(session: Session, refs: Sequence[str], to_email: str, out: Path) -> HandoverResult:
    """Seal the accounts (their fields, people and secrets) into a packet for `to_email`,
    written privately to `out`, under a new passphrase returned once (never stored or logged).

    The operator must be allowed to disclose every secret of every account, and hold no
    emergency access to any of them (nor may the recipient). Each secret put in the packet is
    logged as disclosed (`handover.create`, one entry per account and secret; an account with
    no secret in the vault gets one entry disclosing nothing): to the recipient when
    `to_email` is a person of this vault, handed over by the operator, else to the operator.
    `out` must be a new file outside the vault's directory (UsageError otherwise)."""
    to_email, recipient, accounts = _checked_packet(session, refs, to_email)
    out = Path(out)
    packet_id = str(uuid.uuid4())
    passphrase = new_passphrase()
    keys = tuple(account.key for account in accounts)
    profile = slot_profile()  # the vault's own Argon2id costs (cheap in tests only)

    def make() -> bytes:
        people, admins = _people(session, accounts)
        payload = [_account_payload(session, account, people, admins[account.id]) for account in accounts]
        for account, item in zip(accounts, payload):
            included = _included(item)
            detail = {"packet": packet_id, "to": to_email, "file": out.name, "fields": included}
            for secret in included:
                session.record(HANDOVER_ACTION, **disclosure_fields(session, account, recipient, secret),
                               detail=detail)
            if not included:  # the account's facts only: logged, but nothing was disclosed
                session.record(HANDOVER_ACTION, account=account.id, acct=account.key, detail=detail)
        return seal({"accounts": payload}, packet_id=packet_id, to=to_email, from_vault=session.vault.vault_id,
                    created_at=session.ts(), created_by=session.operator.name, accounts=keys,
                    passphrase=passphrase,
                    kdf=KdfParams(profile.time_cost, profile.memory_kib, profile.parallelism))

    _write_logged(session, out, lambda: _require(session, accounts, _PACKET_NEEDS, recipient), make,
                  "handover packet")
    return HandoverResult(out, packet_id, keys, passphrase)


def packet_info(path: Path) -> PacketHeader:
    """A packet's readable header (who it is for, from whom, which accounts); no passphrase."""
    path = Path(path)
    return read_header(read_capped(path, MAX_FILE_BYTES, "handover packet"), str(path))


# --- TOTP export ----------------------------------------------------------------------------------


def _checked_totp(session: Session, refs: Sequence[str], fmt: str) -> list[Account]:
    if fmt not in TOTP_FORMATS:
        raise UsageError(f"format must be one of {', '.join(TOTP_FORMATS)}, got {fmt!r}")
    require_operator(session)
    return _accounts(session, refs)


def _require_totp(session: Session, accounts: Sequence[Account], fmt: str) -> None:
    """As a packet's checks (the seed, and QR for `qr`), and every account has a seed."""
    _require(session, accounts, (Disclosure.TOTP_SEED, Disclosure.QR) if fmt == "qr" else (Disclosure.TOTP_SEED,))
    for account in accounts:
        if session.vault.secrets.totp(account.id) is None:
            raise InvalidInputError(f"{account.key} has no TOTP seed in the vault: nothing to export")


def check_totp_export(session: Session, refs: Sequence[str], out: Path, fmt: str) -> tuple[str, ...]:
    """The accounts `export_totp` would write, after every check it makes; writes nothing."""
    accounts = _checked_totp(session, refs, fmt)
    _require_totp(session, accounts, fmt)
    _check_out(session, Path(out), "TOTP export")
    return tuple(account.key for account in accounts)


def export_totp(session: Session, refs: Sequence[str], out: Path, fmt: str) -> ExportResult:
    """Write the accounts' TOTP seeds privately to `out`: otpauth:// URIs one per line
    (`uri`), or an HTML page with one QR code per account (`qr`). Each account's seed is
    logged as disclosed to the operator (`totp.export`). Refused under emergency access;
    `out` must be a new file outside the vault's directory (UsageError otherwise)."""
    accounts = _checked_totp(session, refs, fmt)
    out = Path(out)

    def make() -> str:
        uris = []
        for account in accounts:
            uris.append(otpauth_uri(session, account))
            session.record(TOTP_EXPORT_ACTION, **disclosure_fields(session, account, None, "totp-seed"),
                           detail={"format": fmt, "file": out.name})
        if fmt == "uri":
            return "".join(f"{uri}\n" for uri in uris)
        return _qr_page([account.key for account in accounts], uris, session.ts())

    _write_logged(session, out, lambda: _require_totp(session, accounts, fmt), make, "TOTP export")
    return ExportResult(out, fmt, tuple(account.key for account in accounts))


_TOTP_PAGE_CSS = """
body { font-family: Arial, Helvetica, sans-serif; color: #000; background: #fff; }
.warning { border: 2px solid #000; padding: 2mm 3mm; font-weight: bold; }
figure.code { display: inline-block; margin: 4mm; break-inside: avoid; text-align: center; }
figure.code svg { display: block; }
"""


def _qr_page(keys: Sequence[str], uris: Sequence[str], created_at: str) -> str:
    """A self-contained page (no script, no external resource): one QR code per account."""
    # the kit's sheets are drawn the same way
    from smvault.services.kit_sheet import html_page, qr_svg

    esc = html.escape
    codes = "\n".join(
        f'<figure class="code">{qr_svg(uri)}<figcaption>{esc(printable(key))}</figcaption></figure>'
        for key, uri in zip(keys, uris)
    )
    return html_page("smvault TOTP export", _TOTP_PAGE_CSS, f"""<h1>smvault TOTP export</h1>
<p class="warning">CONFIDENTIAL: each QR code holds a TOTP seed. Scan them into the
authenticator, then delete this file (and empty any trash). Exported {esc(created_at)}.</p>
{codes}""")
