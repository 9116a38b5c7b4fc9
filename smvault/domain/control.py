"""Who can regain control of an account, and by which independent paths.

A path is one way back in if everything else were lost. The controller count is the number
of distinct people across all paths, not counting people who have left: the number that the
continuity rules (at least two per account) are about.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from smvault.domain.models import (
    Account,
    CredentialState,
    Level,
    MfaMethod,
)

VAULT_LEVELS = frozenset({Level.REVEAL, Level.MANAGE})


@dataclass(frozen=True)
class ControlPath:
    kind: str  # vault | platform-admin | recovery-email | recovery-phone | totp-device
    description: str
    person_ids: tuple[int, ...]
    usable: bool = True
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class ControlReport:
    account_id: int
    paths: tuple[ControlPath, ...]
    controller_ids: frozenset[int]
    excluded_left_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def controller_count(self) -> int:
        return len(self.controller_ids)


def vault_credentials_missing(account: Account, creds: CredentialState) -> tuple[str, ...]:
    """What the vault lacks for a complete login: empty when login alone could regain control."""
    missing = []
    if not account.login_id:
        missing.append("login identifier")
    if not creds.has_password:
        missing.append("password")
    if account.mfa is MfaMethod.UNKNOWN:
        missing.append("MFA method (unknown)")
    elif account.mfa is not MfaMethod.NONE:
        has_factor = creds.has_totp_seed or creds.recovery_codes_unused > 0
        if not has_factor:
            missing.append("MFA factor (TOTP seed or unused recovery codes)")
    return tuple(missing)


def control_report(
    account: Account,
    creds: CredentialState,
    active_grants: Iterable[tuple[int, str]],
    operator_person_ids: Collection[int],
    left_ids: Collection[int],
) -> ControlReport:
    """Every independent path back into `account` and the people on each.

    `active_grants` are (person_id, level) pairs of this account's grants that are in force
    now (the store filters revoked and expired ones); `left_ids` are people who have left.
    Plain tuples keep the all-accounts check cheap on large vaults.
    """
    left: set[int] = set()

    def present(ids: Iterable[int | None]) -> tuple[int, ...]:
        keep: set[int] = set()
        for pid in ids:
            if pid is None:
                continue
            if pid in left_ids:
                left.add(pid)
            else:
                keep.add(pid)
        return tuple(sorted(keep))

    grants = list(active_grants)
    paths: list[ControlPath] = []
    missing = vault_credentials_missing(account, creds)
    vault_people = present(
        pid for pid, level in grants if level in VAULT_LEVELS and pid in operator_person_ids
    )
    paths.append(
        ControlPath(
            "vault",
            "log in with the credentials held in the vault",
            vault_people if not missing else (),
            usable=not missing,
            missing=missing,
        )
    )
    admins = present(pid for pid, level in grants if level == Level.PLATFORM_ADMIN)
    if admins:
        paths.append(ControlPath("platform-admin", "admin role on the platform", admins))
    if account.recovery_email_controller_id is not None:
        paths.append(
            ControlPath(
                "recovery-email",
                "controls the recovery email",
                present([account.recovery_email_controller_id]),
            )
        )
    if account.recovery_phone_controller_id is not None:
        paths.append(
            ControlPath(
                "recovery-phone",
                "controls the recovery phone",
                present([account.recovery_phone_controller_id]),
            )
        )
    if (
        account.mfa is MfaMethod.TOTP
        and not creds.has_totp_seed
        and account.totp_holder_id is not None
    ):
        paths.append(
            ControlPath(
                "totp-device",
                "holds the TOTP device (seed not in the vault)",
                present([account.totp_holder_id]),
            )
        )
    controllers = frozenset(pid for path in paths for pid in path.person_ids)
    return ControlReport(account.id, tuple(paths), controllers, frozenset(left - controllers))
