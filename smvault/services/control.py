"""Who can regain control of accounts: one account in detail, or every account at once."""

from __future__ import annotations

from dataclasses import dataclass

from smvault.domain.control import ControlReport, control_report, controller_ids
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
        vault.accounts.control_facts(account.id),
        vault.grants.in_force_pairs(account.id, session.ts()),
        vault.operators.person_ids(),
        vault.people.left_ids(session.now().date()),
    )
    ids = set(report.controller_ids) | set(report.excluded_left_ids)
    return WhoCan(account, report, vault.people.by_ids(ids))


def under_controlled(session: Session, minimum: int = MIN_CONTROLLERS) -> list[tuple[Account, ControlReport]]:
    """Accounts (not retired) that fewer than `minimum` people could regain control of."""
    vault = session.vault
    grants = vault.grants.path_grants_by_account(session.ts())
    operators = vault.operators.person_ids()
    left = vault.people.left_ids(session.now().date())
    flagged = []
    for facts in vault.accounts.all_control_facts():
        account_grants = grants.get(facts.account_id, ())
        if len(controller_ids(facts, account_grants, operators, left)) < minimum:
            flagged.append(control_report(facts, account_grants, operators, left))
    # Full account records only for the few flagged, not for every account in the vault.
    return [(vault.accounts.get(r.account_id), r) for r in flagged]
