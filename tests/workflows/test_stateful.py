"""Hypothesis drives grants, disclosures, rotations and offboardings in any order.

After every step: nobody who has left holds an active grant once their offboarding is closed;
every successful mutation added exactly one log entry and every refused one none; the chain
verifies. A real SQLCipher vault per example (cheap Argon2id).
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from smvault.domain.errors import SmvaultError
from smvault.domain.workflow import WorkflowKind
from smvault.services import accounts, grants, offboarding, people, secrets
from smvault.services.session import create_vault

PEOPLE = ("ann", "bob", "cat", "dan")
ACCOUNTS = ("x:one", "x:two", "instagram:three")
LEVELS = ("code-only", "reveal", "manage", "platform-admin")


def email(name: str) -> str:
    return f"{name}@example.com"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class Workflows(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="smvault-stateful-"))
        self.clock = Clock()
        self.session = create_vault(self.dir / "v", "alice", b"correct horse battery", clock=self.clock,
                                    email="alice@example.com", anchor_dir=self.dir / "anchors")
        for name in PEOPLE:
            people.add_person(self.session, name.title(), email(name))
        for ref in ACCOUNTS:
            platform, handle = ref.split(":")
            accounts.add_account(self.session, platform, handle, login_id=f"{handle}@example.com", mfa="none")
            secrets.set_password(self.session, ref)
            # The operator reveals on the people's behalf, so alice needs the right to.
            grants.add_grant(self.session, "alice@example.com", ref, "manage")

    def teardown(self) -> None:
        self.session.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- one logged mutation per rule: +1 entry on success, +0 on a refusal -----------------

    def mutate(self, fn, *args, **kwargs) -> None:
        before = self.session.vault.log.head().seq
        try:
            fn(self.session, *args, **kwargs)
        except SmvaultError:
            assert self.session.vault.log.head().seq == before, f"{fn.__name__} refused but logged"
        else:
            assert self.session.vault.log.head().seq == before + 1, f"{fn.__name__} logged != 1 entry"

    @rule(who=st.sampled_from(PEOPLE), ref=st.sampled_from(ACCOUNTS), level=st.sampled_from(LEVELS))
    def grant(self, who, ref, level):
        self.mutate(grants.add_grant, email(who), ref, level)

    @rule(who=st.sampled_from(PEOPLE), ref=st.sampled_from(ACCOUNTS))
    def revoke(self, who, ref):
        self.mutate(grants.revoke_grants, email(who), ref)

    @rule(who=st.sampled_from(PEOPLE), ref=st.sampled_from(ACCOUNTS))
    def reveal_for(self, who, ref):
        self.mutate(secrets.reveal, ref, "password", email(who))

    @rule(ref=st.sampled_from(ACCOUNTS))
    def rotate(self, ref):
        self.mutate(secrets.set_password, ref)

    @rule(who=st.sampled_from(PEOPLE), days=st.integers(0, 5))
    def start_offboarding(self, who, days):
        self.mutate(offboarding.start_offboarding, email(who), self.clock.now.date() + timedelta(days=days))

    @rule(who=st.sampled_from(PEOPLE))
    def revoke_leaver_grants(self, who):
        self.mutate(offboarding.revoke_leaver_grants, email(who))

    @rule(who=st.sampled_from(PEOPLE), position=st.integers(1, 6))
    def resolve_step(self, who, position):
        self.mutate(offboarding.resolve_offboarding_step, email(who), position, "done on the platform")

    @rule(who=st.sampled_from(PEOPLE), successor=st.sampled_from((None, *PEOPLE)),
          override=st.sampled_from((None, "HR confirmed")))
    def close(self, who, successor, override):
        self.mutate(offboarding.close_offboarding, email(who), email(successor) if successor else None, override)

    @rule(days=st.integers(1, 4))
    def time_passes(self, days):
        self.clock.now += timedelta(days=days)

    # -- invariants ---------------------------------------------------------------------

    @invariant()
    def offboarded_leavers_hold_no_active_grant(self):
        vault, now = self.session.vault, self.clock.now
        for name in PEOPLE:
            person = vault.people.by_email(email(name))
            if person.status(now.date()).value != "left":
                continue
            workflows = vault.workflows.find(WorkflowKind.OFFBOARDING, open_only=False, person_id=person.id)
            if workflows and workflows[0].closed:
                active = [g for g in vault.grants.of_person(person.id) if g.active(now)]
                assert not active, f"{name} left, offboarding closed, still holds {active}"

    @invariant()
    def chain_verifies(self):
        assert self.session.vault.log.verify().ok


TestWorkflows = Workflows.TestCase
TestWorkflows.settings = settings(
    max_examples=30, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
