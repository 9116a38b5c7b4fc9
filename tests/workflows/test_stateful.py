"""Hypothesis drives grants, disclosures, rotations and the three workflows in any order.

Two operators work the vault, each in their own session: alice (the first operator) and olga
(added by alice). Offboardings are started for the people who are not operators, worked and
closed (the successor is always one of the operators, with or without an override); olga
requests ownership transfers and alice approves them (her own session, or her passphrase at
olga's terminal); reviews are started and decided by either operator. Rules that need an open
workflow only run when one is open, and pick among the open ones, so the closes happen.

After every step: every successful mutation added exactly one log entry and every refused
one none; the chain verifies; nobody whose offboarding is closed holds an active grant (those
who have left included). Roster sync is not a rule: applying a roster is the documented
exception to one entry per call (one entry per person it changes).

`hypothesis.event` marks how often the interesting things happened; run with
`--hypothesis-show-statistics` to see them (nothing is printed otherwise).
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from smvault.domain.errors import SmvaultError
from smvault.domain.workflow import WorkflowKind
from smvault.services import accounts, grants, offboarding, operators, people, review, secrets, transfer
from smvault.services.session import create_vault, unlock

PASSPHRASES = {"alice": b"correct horse battery", "olga": b"olga keeps her own passphrase"}
OPERATORS = tuple(PASSPHRASES)
PEOPLE = ("ann", "bob", "cat", "dan")  # never operators: the leavers
NEW_OWNER = "tess"  # never leaves: the first transfer can always be requested
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
        vault, anchors = self.dir / "v", self.dir / "anchors"
        alice = create_vault(vault, "alice", PASSPHRASES["alice"], clock=self.clock, email=email("alice"),
                             anchor_dir=anchors)
        operators.add_operator(alice, "olga", PASSPHRASES["olga"], email=email("olga"), person_name="Olga Ops")
        for name in (*PEOPLE, NEW_OWNER):
            people.add_person(alice, name.title(), email(name))
        for ref in ACCOUNTS:
            platform, handle = ref.split(":")
            accounts.add_account(alice, platform, handle, login_id=f"{handle}@example.com", mfa="none")
            secrets.set_password(alice, ref)
            # Both operators manage every account: they reveal for people, request transfers
            # and decide reviews.
            for name in OPERATORS:
                grants.add_grant(alice, email(name), ref, "manage")
        self.sessions = {"alice": alice,
                         "olga": unlock(vault, "olga", PASSPHRASES["olga"], clock=self.clock, anchor_dir=anchors)}
        self.vault = alice.vault

    def teardown(self) -> None:
        for session in self.sessions.values():
            session.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- one logged mutation per rule: +1 entry on success, +0 on a refusal -----------------

    def mutate(self, operator: str, fn, *args, **kwargs) -> bool:
        before = self.vault.log.head().seq
        try:
            fn(self.sessions[operator], *args, **kwargs)
        except SmvaultError:
            assert self.vault.log.head().seq == before, f"{fn.__name__} refused but logged"
            return False
        assert self.vault.log.head().seq == before + 1, f"{fn.__name__} logged != 1 entry"
        return True

    # -- what is open (read from the vault, so the model cannot drift from it) ---------------

    def open_offboardings(self) -> list[str]:
        ids = [w.person_id for w in self.vault.workflows.find(WorkflowKind.OFFBOARDING)]
        return sorted(self.vault.people.get(i).email for i in ids)

    def open_transfers(self, state: str | None = None) -> list[str]:
        found = self.vault.workflows.find(WorkflowKind.TRANSFER)
        keys = self.vault.accounts.by_ids({w.account_id for w in found if state in (None, w.state)})
        return sorted(a.key for a in keys.values())

    def open_reviews(self) -> list[tuple[int, int]]:
        return [(w.id, total) for w, total, _ in self.vault.workflows.headers(WorkflowKind.REVIEW)]

    # -- every example starts with one workflow of each kind under way --------------------

    @initialize(who=st.sampled_from(PEOPLE), ref=st.sampled_from(ACCOUNTS), level=st.sampled_from(LEVELS),
                days=st.integers(0, 2))
    def first_leaver(self, who, ref, level, days):
        assert self.mutate("alice", grants.add_grant, email(who), ref, level)
        assert self.mutate("olga", offboarding.start_offboarding, email(who),
                           self.clock.now.date() + timedelta(days=days))
        event("offboarding started")

    @initialize(ref=st.sampled_from(ACCOUNTS))
    def first_transfer(self, ref):
        assert self.mutate("olga", transfer.start_transfer, ref, email(NEW_OWNER))

    @initialize()
    def first_review(self):
        assert self.mutate("alice", review.start_review)

    # -- grants and secrets --------------------------------------------------------------

    @rule(who=st.sampled_from(PEOPLE), ref=st.sampled_from(ACCOUNTS), level=st.sampled_from(LEVELS))
    def grant(self, who, ref, level):
        self.mutate("alice", grants.add_grant, email(who), ref, level)

    @rule(who=st.sampled_from(PEOPLE), ref=st.sampled_from(ACCOUNTS))
    def revoke(self, who, ref):
        self.mutate("alice", grants.revoke_grants, email(who), ref)

    @rule(operator=st.sampled_from(OPERATORS), who=st.sampled_from(PEOPLE), ref=st.sampled_from(ACCOUNTS))
    def reveal_for(self, operator, who, ref):
        self.mutate(operator, secrets.reveal, ref, "password", email(who))

    @rule(ref=st.sampled_from(ACCOUNTS))
    def rotate(self, ref):
        self.mutate("alice", secrets.set_password, ref)

    @rule(days=st.integers(1, 3))
    def time_passes(self, days):
        self.clock.now += timedelta(days=days)

    # -- offboarding ---------------------------------------------------------------------

    @rule(operator=st.sampled_from(OPERATORS), who=st.sampled_from(PEOPLE), days=st.integers(0, 3))
    def start_offboarding(self, operator, who, days):
        if self.mutate(operator, offboarding.start_offboarding, email(who), self.clock.now.date() + timedelta(days=days)):
            event("offboarding started")

    @precondition(lambda self: self.open_offboardings())
    @rule(data=st.data())
    def revoke_leaver_grants(self, data):
        self.mutate("olga", offboarding.revoke_leaver_grants, data.draw(st.sampled_from(self.open_offboardings())))

    @precondition(lambda self: self.open_offboardings())
    @rule(data=st.data(), position=st.integers(1, 6))
    def resolve_step(self, data, position):
        leaver = data.draw(st.sampled_from(self.open_offboardings()))
        self.mutate("alice", offboarding.resolve_offboarding_step, leaver, position, "done on the platform")

    @precondition(lambda self: self.open_offboardings())
    @rule(data=st.data(), operator=st.sampled_from(OPERATORS),
          successor=st.sampled_from((None, *OPERATORS, PEOPLE[0])), override=st.sampled_from((None, "HR confirmed")))
    def close_offboarding(self, data, operator, successor, override):
        """Any close: refused by the guard, open steps, or a successor who is no operator."""
        leaver = data.draw(st.sampled_from(self.open_offboardings()))
        if self.mutate(operator, offboarding.close_offboarding, leaver, email(successor) if successor else None,
                       override):
            event("offboarding closed")

    @precondition(lambda self: self.open_offboardings())
    @rule(data=st.data(), operator=st.sampled_from(OPERATORS), successor=st.sampled_from(OPERATORS))
    def close_offboarding_with_override(self, data, operator, successor):
        """A successor operator and an override reason: what the guard and open steps ask for."""
        leaver = data.draw(st.sampled_from(self.open_offboardings()))
        if self.mutate(operator, offboarding.close_offboarding, leaver, email(successor), "HR confirmed"):
            event("offboarding closed")

    # -- ownership transfers: olga requests, alice approves --------------------------------

    @rule(ref=st.sampled_from(ACCOUNTS), to=st.sampled_from((*PEOPLE, NEW_OWNER)))
    def start_transfer(self, ref, to):
        self.mutate("olga", transfer.start_transfer, ref, email(to))

    @precondition(lambda self: self.open_transfers("requested"))
    @rule(data=st.data(), same_terminal=st.booleans())
    def approve_transfer(self, data, same_terminal):
        ref = data.draw(st.sampled_from(self.open_transfers("requested")))
        assert not self.mutate("olga", transfer.approve_transfer, ref)  # never the requester herself
        if same_terminal:  # alice types her passphrase at olga's terminal
            approved = self.mutate("olga", transfer.approve_transfer_as, ref, "alice", PASSPHRASES["alice"])
        else:
            approved = self.mutate("alice", transfer.approve_transfer, ref)
        if approved:
            event("transfer approved")

    @precondition(lambda self: self.open_transfers())
    @rule(data=st.data(), operator=st.sampled_from(OPERATORS))
    def cancel_transfer(self, data, operator):
        ref = data.draw(st.sampled_from(self.open_transfers()))
        if self.mutate(operator, transfer.cancel_transfer, ref, "no longer needed"):
            event("transfer cancelled")

    # -- access reviews ---------------------------------------------------------------------

    @rule(operator=st.sampled_from(OPERATORS), platform=st.sampled_from((None, "instagram")))
    def start_review(self, operator, platform):
        self.mutate(operator, review.start_review, platform)

    @precondition(lambda self: self.open_reviews())
    @rule(data=st.data(), operator=st.sampled_from(OPERATORS),
          decision=st.sampled_from(("keep", "keep", "revoke")))
    def decide(self, data, operator, decision):
        review_id, total = data.draw(st.sampled_from(self.open_reviews()))
        position = data.draw(st.integers(1, total))
        if self.mutate(operator, review.decide, review_id, position, decision, "reviewed"):
            event("review item decided")

    @precondition(lambda self: self.open_reviews())
    @rule(data=st.data())
    def close_review(self, data):
        review_id, _ = data.draw(st.sampled_from(self.open_reviews()))
        if self.mutate("alice", review.close_review, review_id):
            event("review closed")

    @precondition(lambda self: self.open_reviews())
    @rule(data=st.data())
    def finish_review(self, data):
        """Decide every item left (by the operator who does not hold the grant), then close."""
        review_id, _ = data.draw(st.sampled_from(self.open_reviews()))
        for item in review.review_status(self.sessions["alice"], review_id).items:
            if item.decision is None:
                decider = "olga" if item.person_email == email("alice") else "alice"
                self.mutate(decider, review.decide, review_id, item.position, "keep", "still needed")
        if self.mutate("alice", review.close_review, review_id):
            event("review closed")

    # -- invariants ---------------------------------------------------------------------

    @invariant()
    def offboarded_people_hold_no_active_grant(self):
        vault, now = self.vault, self.clock.now
        for name in PEOPLE:
            person = vault.people.by_email(email(name))
            latest = vault.workflows.find(WorkflowKind.OFFBOARDING, open_only=False, person_id=person.id)
            if not latest or not latest[0].closed:
                continue
            active = [g for g in vault.grants.of_person(person.id) if g.active(now)]
            assert not active, f"{name}'s offboarding is closed, yet they hold {active}"
            event("invariant: a closed offboarding checked")
            if person.status(now.date()).value == "left":
                event("invariant: a leaver who has left checked")

    @invariant()
    def chain_verifies(self):
        assert self.vault.log.verify().ok


TestWorkflows = Workflows.TestCase
TestWorkflows.settings = settings(
    max_examples=50, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
