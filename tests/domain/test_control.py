"""The fast controller count and the full report agree on every input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smvault.domain.control import ControlFacts, control_report, controller_ids

people = st.integers(1, 8)
maybe_person = st.none() | people
levels = st.sampled_from(["code-only", "reveal", "manage", "platform-admin"])

facts = st.builds(
    ControlFacts,
    account_id=st.just(1),
    login_id=st.none() | st.just("login@example.com"),
    mfa=st.sampled_from(["unknown", "none", "totp", "sms", "security-key"]),
    recovery_email_controller_id=maybe_person,
    recovery_phone_controller_id=maybe_person,
    totp_holder_id=maybe_person,
    has_password=st.booleans(),
    has_totp_seed=st.booleans(),
    recovery_codes_unused=st.integers(0, 3),
)


@settings(max_examples=500, deadline=None)
@given(facts, st.lists(st.tuples(people, levels), max_size=8), st.sets(people), st.sets(people))
def test_fast_count_matches_the_report(f, grants, operators, left):
    report = control_report(f, grants, operators, left)
    assert controller_ids(f, grants, operators, left) == set(report.controller_ids)
    assert not (report.controller_ids & left)
    if report.paths[0].usable:
        assert not report.paths[0].missing
