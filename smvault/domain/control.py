"""Who can regain control of an account, and by which independent paths.

A path is one way back in if everything else were lost. The controller count is the number
of distinct people across all paths, not counting people who have left: the number that the
continuity rules (at least two per account) are about.

The inputs are plain tuples so the all-accounts check stays cheap on large vaults: the store
reads exactly these facts in one query.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import NamedTuple

from smvault.domain.models import Level, MfaMethod

# The continuity rule: every account needs at least this many people able to regain it.
MIN_CONTROLLERS = 2

VAULT_LEVELS = frozenset({Level.REVEAL, Level.MANAGE})
# Grant levels that can put someone on a path; code-only never does.
PATH_LEVELS = VAULT_LEVELS | {Level.PLATFORM_ADMIN}


class ControlFacts(NamedTuple):
    """What the rule needs about one account: its root of control and what the vault holds."""

    account_id: int
    login_id: str | None
    mfa: str
    recovery_email_controller_id: int | None
    recovery_phone_controller_id: int | None
    totp_holder_id: int | None
    has_password: bool
    has_totp_seed: bool
    recovery_codes_unused: int


class ControlPath(NamedTuple):
    kind: str  # vault | platform-admin | recovery-email | recovery-phone | totp-device
    description: str
    person_ids: tuple[int, ...]
    usable: bool = True
    missing: tuple[str, ...] = ()


class ControlReport(NamedTuple):
    account_id: int
    paths: tuple[ControlPath, ...]
    controller_ids: frozenset[int]
    excluded_left_ids: frozenset[int] = frozenset()

    @property
    def controller_count(self) -> int:
        return len(self.controller_ids)


def vault_credentials_missing(facts: ControlFacts) -> tuple[str, ...]:
    """What the vault lacks for a complete login: empty when the vault alone gets back in."""
    missing = []
    if not facts.login_id:
        missing.append("login identifier")
    if not facts.has_password:
        missing.append("password")
    if facts.mfa == MfaMethod.UNKNOWN:
        missing.append("MFA method (unknown)")
    elif facts.mfa != MfaMethod.NONE:
        if not (facts.has_totp_seed or facts.recovery_codes_unused > 0):
            missing.append("MFA factor (TOTP seed or unused recovery codes)")
    return tuple(missing)


def control_report(
    facts: ControlFacts,
    active_grants: Iterable[tuple[int, str]],
    operator_person_ids: Collection[int],
    left_ids: Collection[int],
) -> ControlReport:
    """Every independent path back into the account and the people on each.

    `active_grants` are (person_id, level) pairs of the account's grants in force now (the
    store filters revoked and expired ones, and may drop code-only ones, which never count);
    `left_ids` are people who have left.
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
    missing = vault_credentials_missing(facts)
    vault_people = present(
        pid for pid, level in grants if level in VAULT_LEVELS and pid in operator_person_ids
    )
    paths = [
        ControlPath(
            "vault",
            "log in with the credentials held in the vault",
            () if missing else vault_people,
            not missing,
            missing,
        )
    ]
    admins = present(pid for pid, level in grants if level == Level.PLATFORM_ADMIN)
    if admins:
        paths.append(ControlPath("platform-admin", "admin role on the platform", admins))
    if facts.recovery_email_controller_id is not None:
        paths.append(ControlPath("recovery-email", "controls the recovery email",
                                 present([facts.recovery_email_controller_id])))
    if facts.recovery_phone_controller_id is not None:
        paths.append(ControlPath("recovery-phone", "controls the recovery phone",
                                 present([facts.recovery_phone_controller_id])))
    if facts.mfa == MfaMethod.TOTP and not facts.has_totp_seed and facts.totp_holder_id is not None:
        paths.append(ControlPath("totp-device", "holds the TOTP device (seed not in the vault)",
                                 present([facts.totp_holder_id])))
    controllers = frozenset(pid for path in paths for pid in path.person_ids)
    return ControlReport(facts.account_id, tuple(paths), controllers, frozenset(left - controllers))


def controller_ids(
    facts: ControlFacts,
    active_grants: Iterable[tuple[int, str]],
    operator_person_ids: Collection[int],
    left_ids: Collection[int],
) -> set[int]:
    """`control_report(...).controller_ids` without building the paths: the all-accounts
    check runs this for every account and the full report only for the ones it flags.
    A property test holds the two to the same answer."""
    ids: set[int] = set()
    vault_usable = not vault_credentials_missing(facts)
    for pid, level in active_grants:
        if level == Level.PLATFORM_ADMIN or (
            vault_usable and level in VAULT_LEVELS and pid in operator_person_ids
        ):
            ids.add(pid)
    ids.add(facts.recovery_email_controller_id)
    ids.add(facts.recovery_phone_controller_id)
    if facts.mfa == MfaMethod.TOTP and not facts.has_totp_seed:
        ids.add(facts.totp_holder_id)
    ids.discard(None)
    return ids.difference(left_ids)
