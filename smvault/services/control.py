"""Who can regain control of accounts: one account in detail, or every account at once."""

from __future__ import annotations

from dataclasses import dataclass

from smvault.domain.control import MIN_CONTROLLERS, ControlFacts, ControlReport, control_report, controller_ids
from smvault.domain.models import Account, Person
from smvault.services.lookup import account_by_ref
from smvault.services.session import Session


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


class _ControlInputs:
    """What the all-accounts rule needs besides each account's facts, read once: the path
    grants of every account, current operators and people who have left. Every bulk count
    (under_controlled, controller_counts) goes through it, so the rule lives in one place."""

    def __init__(self, session: Session) -> None:
        vault = session.vault
        self.grants = vault.grants.path_grants_by_account(session.ts())
        self.operators = vault.operators.person_ids()
        self.left = vault.people.left_ids(session.now().date())

    def count(self, facts: ControlFacts) -> int:
        return len(controller_ids(facts, self.grants.get(facts.account_id, ()), self.operators, self.left))

    def report(self, facts: ControlFacts) -> ControlReport:
        return control_report(facts, self.grants.get(facts.account_id, ()), self.operators, self.left)


def controller_counts(session: Session, include_retired: bool = True) -> dict[int, int]:
    """How many people could regain control of each account, by account id."""
    inputs = _ControlInputs(session)
    facts = session.vault.accounts.all_control_facts(None if include_retired else "retired")
    return {f.account_id: inputs.count(f) for f in facts}


def under_controlled(session: Session, minimum: int = MIN_CONTROLLERS) -> list[tuple[Account, ControlReport]]:
    """Accounts (not retired) that fewer than `minimum` people could regain control of."""
    inputs = _ControlInputs(session)
    flagged = [
        inputs.report(facts)
        for facts in session.vault.accounts.all_control_facts()
        if inputs.count(facts) < minimum
    ]
    # Full account records only for the few flagged, not for every account in the vault.
    accounts = session.vault.accounts.by_ids({r.account_id for r in flagged})
    return [(accounts[r.account_id], r) for r in flagged]
