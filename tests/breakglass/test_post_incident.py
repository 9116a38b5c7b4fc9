"""The post-incident workflow: exactly what a break-glass session disclosed becomes rotation
steps, which resolve themselves when the secret is replaced after its last disclosure (by
log order); a new kit resolves the kit step; the log review needs a note; one workflow per
incident while it is open; closing needs every step done or an override."""

from __future__ import annotations

import pytest

from smvault.domain.errors import ConflictError, InvalidInputError, PolicyError
from smvault.services import accounts, grants, kit, people, secrets
from smvault.services.post_incident import (
    close_post_incident,
    open_post_incident,
    post_incident_status,
    post_incidents,
    resolve_post_incident_step,
)
from smvault.services.session import unlock, unlock_recovery
from smvault.services.workflows import open_counts, workflow_rows
from tests.conftest import PASSPHRASE

CUSTODIANS = ["bo@example.com", "cy@example.com", "di@example.com"]
INCIDENT = "INC-900"


class Vault:
    def __init__(self, session, clock, vault_dir, shares):
        self.session, self.clock, self.vault_dir, self.shares = session, clock, vault_dir, shares

    def recover(self, incident: str = INCIDENT):
        return unlock_recovery(self.vault_dir, self.shares[:2], reason="operators locked out",
                               incident=incident, clock=self.clock)

    def operator(self):
        return unlock(self.vault_dir, "alice", PASSPHRASE, clock=self.clock)


@pytest.fixture
def vault(session, clock, vault_dir) -> Vault:
    for email in CUSTODIANS:
        people.add_person(session, email.split("@")[0].title(), email)
    made = kit.create_kit(session, CUSTODIANS, 2)
    for platform, handle in (("x", "acme"), ("instagram", "brand"), ("youtube", "chan")):
        accounts.add_account(session, platform, handle, mfa="totp")
        secrets.set_password(session, f"{platform}:{handle}", f"{handle}-password-1")
        secrets.set_totp(session, f"{platform}:{handle}", "JBSWY3DPEHPK3PXP")
    secrets.add_recovery_codes(session, "x:acme", ["one", "two", "three"])
    grants.add_grant(session, "alice@example.com", "instagram:brand", "manage")
    clock.advance(minutes=1)
    return Vault(session, clock, vault_dir, [sheet.mnemonic for sheet in made.sheets])


def steps(view) -> list[tuple]:
    return [(s.kind, s.account_key, s.done) for s in view.steps]


def the_workflow(session):
    [row] = post_incidents(session)
    return post_incident_status(session, row.workflow_id)


def test_the_workflow_lists_exactly_what_the_session_disclosed(vault):
    secrets.reveal(vault.session, "instagram:brand")  # alice, outside the session: not listed
    with vault.recover() as rec:
        secrets.reveal(rec, "x:acme")
        secrets.copy_secret(rec, "x:acme")  # the same password again: one step
        secrets.totp_qr(rec, "youtube:chan")  # a QR code carries the seed
        secrets.totp_code(rec, "instagram:brand")  # a live code expires: no step
        secrets.use_recovery_code(rec, "x:acme")
        secrets.reveal(vault.session, "instagram:brand", "totp-seed")  # alice, during it: not listed
    with vault.operator() as s:
        view = the_workflow(s)
        assert view.incident == INCIDENT and view.state == "open"
        assert steps(view) == [
            ("rotate-password", "x:acme", False),
            ("reenrol-totp", "youtube:chan", False),
            ("regenerate-recovery-codes", "x:acme", False),
            ("new-kit", None, False),
            ("review-log", None, False),
        ]
        session_log = view.sessions[0]
        assert view.steps[-1].title.endswith("what was done, by whom, and why")
        assert f"log seq {session_log.first_seq} to {session_log.last_seq}" in view.steps[-1].title
        assert view.steps[-1].manual and not view.steps[0].manual


def test_a_rotation_resolves_its_step_only_after_the_last_disclosure_by_log_order(vault):
    rec = vault.recover()
    secrets.reveal(rec, "x:acme")
    secrets.set_password(vault.session, "x:acme", "acme-password-2")  # same second, before the next reveal
    secrets.reveal(rec, "x:acme")
    rec.close()
    with vault.operator() as s:
        assert steps(the_workflow(s))[0] == ("rotate-password", "x:acme", False)
        secrets.set_password(s, "x:acme", "acme-password-3")
        rotated = s.vault.log.head().seq
        view = the_workflow(s)
        assert steps(view)[0] == ("rotate-password", "x:acme", True)
        assert view.steps[0].evidence == f"password set by alice at {s.ts()} (log seq {rotated})"


def test_the_kit_step_resolves_when_a_new_kit_follows_the_session(vault):
    with vault.recover():
        pass
    s = vault.session  # a new kit rekeys the vault: other open sessions would be left behind
    workflow_id = the_workflow(s).workflow_id
    with pytest.raises(ConflictError, match="smvault kit create"):
        resolve_post_incident_step(s, workflow_id, 1, "did it on paper")
    kit.create_kit(s, CUSTODIANS, 3)
    view = the_workflow(s)
    assert steps(view) == [("new-kit", None, True), ("review-log", None, False)]
    assert "new emergency kit" in view.steps[0].evidence


def test_closing_needs_every_step_done_or_an_override_and_persists_what_resolved_itself(vault):
    with vault.recover() as rec:
        secrets.reveal(rec, "instagram:brand")
    s = vault.session  # a new kit rekeys the vault: other open sessions would be left behind
    view = the_workflow(s)
    before = s.vault.log.head()
    with pytest.raises(PolicyError, match="3 step\\(s\\) still open .*--override"):
        close_post_incident(s, view.workflow_id)
    assert s.vault.log.head() == before
    secrets.set_password(s, "instagram:brand", "brand-password-2")
    kit.create_kit(s, CUSTODIANS, 2)
    with pytest.raises(ConflictError, match="already resolved itself"):
        resolve_post_incident_step(s, view.workflow_id, 1, "rotated")
    resolve_post_incident_step(s, view.workflow_id, 3, "reviewed with the custodians: one reveal, expected")
    closed = close_post_incident(s, view.workflow_id)
    assert closed.state == "closed" and closed.closed_by == "alice" and not closed.open_steps
    stored = s.vault.workflows.get(view.workflow_id)
    assert [(st.done, st.data.get("derived", False)) for st in stored.steps] == [
        (True, True), (True, True), (True, False)]
    entry = s.vault.log.entries(limit=1)[0]
    assert entry["action"] == "post-incident.close" and entry["detail"]["steps"]["resolved_themselves"] == [1, 2]
    with pytest.raises(ConflictError, match="already closed"):
        close_post_incident(s, view.workflow_id)


def test_an_override_closes_over_open_steps_and_is_logged(vault):
    with vault.recover():
        pass
    with vault.operator() as s:
        view = close_post_incident(s, the_workflow(s).workflow_id, override="kit replaced on paper, see ticket")
        assert view.state == "closed" and view.override_reason == "kit replaced on paper, see ticket"
        assert s.vault.log.entries(limit=1)[0]["detail"]["override"] == "kit replaced on paper, see ticket"


def test_a_second_session_for_the_incident_extends_the_open_workflow(vault):
    with vault.recover() as rec:
        secrets.reveal(rec, "x:acme")
    with vault.recover() as rec:
        secrets.reveal(rec, "x:acme")  # covered by the open step
        secrets.reveal(rec, "youtube:chan")
    with vault.operator() as s:
        view = the_workflow(s)
        assert len(view.sessions) == 2
        assert [(k, a) for k, a, _ in steps(view)] == [
            ("rotate-password", "x:acme"), ("new-kit", None), ("review-log", None),
            ("rotate-password", "youtube:chan"), ("review-log", None)]
        assert [st.bg_id for st in view.steps[2::2]] == [x.bg_id for x in view.sessions]
        workflow_id = view.workflow_id
        close_post_incident(s, workflow_id, override="test")
    with vault.recover():  # the incident's workflow is closed: a new one opens
        pass
    with vault.operator() as s:
        assert [r.state for r in post_incidents(s, open_only=False)] == ["open", "closed"]


def test_a_step_resolved_by_a_note_does_not_cover_a_later_disclosure(vault):
    with vault.recover() as rec:
        secrets.reveal(rec, "x:acme")
    with vault.operator() as s:
        resolve_post_incident_step(s, the_workflow(s).workflow_id, 1, "rotated on the platform and in the vault")
    with vault.recover() as rec:
        secrets.reveal(rec, "x:acme")
    with vault.operator() as s:
        assert [(k, a, d) for k, a, d in steps(the_workflow(s)) if k == "rotate-password"] == [
            ("rotate-password", "x:acme", True), ("rotate-password", "x:acme", False)]


def test_a_recovery_session_cannot_work_the_workflow(vault):
    with vault.recover():
        pass
    with vault.recover(incident="INC-901") as rec:
        workflow_id = [r for r in post_incidents(rec) if r.incident == INCIDENT][0].workflow_id
        before = rec.vault.log.head()
        with pytest.raises(PolicyError, match="break-glass session"):
            resolve_post_incident_step(rec, workflow_id, 2, "I reviewed myself")
        with pytest.raises(PolicyError, match="break-glass session"):
            close_post_incident(rec, workflow_id, override="nothing to see")
        assert rec.vault.log.head() == before


def test_disclosures_under_an_emergency_grant_open_the_same_kind_of_workflow(vault):
    s = vault.session
    marker = {"id": "emergency-77", "incident": "INC-em"}
    with s.atomic():  # what services.secrets logs under emergency access (helper C's marker)
        s.record("breakglass.approve", account=2, acct="instagram:brand", bg=marker)
        s.record("secret.reveal", account=2, acct="instagram:brand", to=1, to_email="alice@example.com",
                 field="password", bg=marker)
    assert open_post_incident(s, bg_id="emergency-78", incident="INC-em", reason="r", origin="emergency") is None
    with pytest.raises(InvalidInputError):
        open_post_incident(s, bg_id="emergency-77", incident="INC-em", reason="r", origin="recovery")
    workflow = open_post_incident(s, bg_id="emergency-77", incident="INC-em", reason="checkout broke",
                                  origin="emergency", source_workflow_id=77, by_system=True)
    view = post_incident_status(s, workflow.id)
    assert steps(view) == [("rotate-password", "instagram:brand", False), ("review-log", None, False)]
    assert view.sessions[0].source_workflow_id == 77 and workflow.opened_by is None
    assert "emergency access 77" in view.steps[0].title
    # Idempotent: opening it again for the same grant adds nothing and logs nothing.
    head = s.vault.log.head()
    assert open_post_incident(s, bg_id="emergency-77", incident="INC-em", reason="again",
                              origin="emergency").id == workflow.id
    assert s.vault.log.head() == head


def test_workflow_lists_and_counts_show_post_incident_workflows(vault):
    with vault.recover():
        pass
    with vault.operator() as s:
        rows = [r for r in workflow_rows(s) if r.kind == "post-incident"]
        assert [(r.subject, r.state, r.steps, r.steps_done) for r in rows] == [(f"incident {INCIDENT}", "open", 2, 0)]
        assert open_counts(s)["post-incident"] == 1 and open_counts(s)["emergency"] == 0
