"""Who can regain control of accounts: one account in detail, or every account at once."""

from __future__ import annotations

from dataclasses import dataclass

from smvault.domain.control import ControlReport, control_report
from smvault.domain.models import Account, Person
from smvault.services.lookup import account_by_ref
from smvault.services.session import Session

MIN_CONTROLLERS = 2


@dataclass(frozen=True)
class WhoCan:
    account: Account
    report: ControlReport
    people: dict[int, Person]


def who_can(session: Session, ref: str) -> WhoCan:
    vault = session.vault
    account = account_by_ref(session, ref)
    report = control_report(
        account,
        vault.secrets.state(account.id),
        vault.grants.in_force_pairs(account.id, session.ts()),
        vault.operators.person_ids(),
        vault.people.left_ids(session.now().date()),
    )
    ids = set(report.controller_ids) | set(report.excluded_left_ids)
    return WhoCan(account, report, vault.people.by_ids(ids))


def under_controlled(session: Session, minimum: int = MIN_CONTROLLERS) -> list[tuple[Account, ControlReport]]:
    """Accounts (not retired) that fewer than `minimum` people could regain control of."""
    vault = session.vault
    states = vault.secrets.states()
    grants = vault.grants.in_force_by_account(session.ts())
    operators = vault.operators.person_ids()
    left = vault.people.left_ids(session.now().date())
    from smvault.domain.models import AccountStatus, CredentialState

    empty = CredentialState()
    result = []
    for account in vault.accounts.all():
        if account.status is AccountStatus.RETIRED:
            continue
        report = control_report(
            account, states.get(account.id, empty), grants.get(account.id, ()), operators, left
        )
        if report.controller_count < minimum:
            result.append((account, report))
    return result
