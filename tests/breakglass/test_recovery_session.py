"""Recovery (break-glass) sessions through the services, on real vaults: K shares open one,
K-1 and a mistyped share do not; every entry is marked with the incident and the chain
verifies; it reveals anything and changes nothing but operators; locking it (or the next
unlock after a crash) opens the post-incident workflow."""

from __future__ import annotations

import json
import re
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from shamir_mnemonic.wordlist import WORDLIST

from smvault.domain.errors import AuthenticationError, InvalidInputError, PolicyError
from smvault.domain.shares import ShareProblem
from smvault.services import accounts, grants, kit, logs, offboarding, operators, people, secrets
from smvault.services.abilities import abilities
from smvault.services.post_incident import post_incident_status, post_incidents
from smvault.services.session import BREAK_GLASS_REFUSAL, check_recovery_inputs, unlock, unlock_recovery
from smvault.store import failures
from tests.conftest import PASSPHRASE

CUSTODIANS = ["bo@example.com", "cy@example.com", "di@example.com"]
REASON = "every operator is locked out"
INCIDENT = "INC-4711"
NEW_PASS = b"restored operator passphrase"



# Words the error messages themselves use that happen to be SLIP-39 words too.
MESSAGE_WORDS = {"again", "break", "glass", "member", "group", "index", "true", "false", "example"}  # "example": the custodians' emails


def leaked(text: str, share: str) -> set[str]:
    """The share's words that appear in `text` (beyond the messages' own vocabulary)."""
    return set(re.findall(r"[a-z]+", text.lower())) & set(share.split()) - MESSAGE_WORDS

class Kitted:
    """The `session` vault (alice) with three custodians, a 2-of-3 kit, and two accounts with
    secrets nobody holds a grant on."""

    def __init__(self, session, clock, vault_dir, made):
        self.session, self.clock, self.vault_dir, self.kit = session, clock, vault_dir, made
        self.shares = [sheet.mnemonic for sheet in made.sheets]

    def recover(self, *numbers: int, incident: str = INCIDENT, reason: str = REASON):
        picked = [self.shares[n - 1] for n in (numbers or (1, 2))]
        return unlock_recovery(self.vault_dir, picked, reason=reason, incident=incident, clock=self.clock)

    def operator(self):
        return unlock(self.vault_dir, "alice", PASSPHRASE, clock=self.clock)


@pytest.fixture
def kitted(session, clock, vault_dir) -> Kitted:
    for email in CUSTODIANS:
        people.add_person(session, email.split("@")[0].title(), email)
    made = kit.create_kit(session, CUSTODIANS, 2)
    accounts.add_account(session, "x", "acme", mfa="totp")
    accounts.add_account(session, "instagram", "brand")
    secrets.set_password(session, "x:acme", "acme-password-1")
    secrets.set_totp(session, "x:acme", "JBSWY3DPEHPK3PXP")
    secrets.add_recovery_codes(session, "x:acme", ["code-one", "code-two"])
    secrets.set_password(session, "instagram:brand", "brand-password-1")
    clock.advance(minutes=1)
    return Kitted(session, clock, vault_dir, made)


def state(session) -> tuple:
    """The log head and every table's rows: what "nothing changed" compares."""
    conn = session.vault.conn
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return session.vault.log.head(), {t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables}


# --- opening ----------------------------------------------------------------------------------------


def test_k_shares_open_a_recovery_session_logged_with_reason_incident_kit_and_custodians(kitted):
    with kitted.recover(1, 3) as rec:
        bg = rec.break_glass
        assert bg.id.startswith("recovery-") and bg.incident == INCIDENT and bg.reason == REASON
        assert bg.kit_id == kitted.kit.kit_id and bg.members == (1, 3)
        assert (rec.operator.name, rec.operator.id, rec.person.id) == ("break-glass", None, None)
        first = rec.vault.log.entries(limit=1)[0]
        assert first["action"] == "breakglass.unlock" and first["op"] == "break-glass"
        assert first["bg"] == {"id": bg.id, "incident": INCIDENT}
        assert first["detail"] == {"reason": REASON, "incident": INCIDENT, "kit": kitted.kit.kit_id,
                                   "members": [1, 3], "custodians": ["bo@example.com", "di@example.com"]}
        assert "vault.unlock" not in {e["action"] for e in rec.vault.log.entries(limit=3)}


def test_fewer_than_k_shares_open_nothing_and_the_failure_is_logged_at_the_next_unlock(kitted):
    before = state(kitted.session)
    with pytest.raises(ShareProblem, match="1 share entered; this kit needs 2"):
        kitted.recover(2)
    assert state(kitted.session) == before
    noted = failures.pending(kitted.vault_dir)
    assert [(e["operator"], e["reason"]) for e in noted] == [("break-glass", "recovery: ShareProblem")]
    with kitted.operator() as s:
        failed = s.vault.log.entries(actions=("vault.unlock-failed",))
        assert [e["detail"]["operator"] for e in failed] == ["break-glass"]
        assert not leaked(json.dumps(failed), kitted.shares[1])


def test_a_mistyped_word_is_named_by_position_never_by_its_words(kitted):
    words = kitted.shares[1].split()
    words[6] = next(w for w in WORDLIST if w != words[6] and w[:1] == words[6][:1])
    with pytest.raises(ShareProblem) as refused:
        unlock_recovery(kitted.vault_dir, [kitted.shares[0], " ".join(words)], reason=REASON,
                        incident=INCIDENT, clock=kitted.clock)
    message = refused.value.message
    assert "share 2" in message and "word 7" in message
    assert not leaked(message, " ".join(words)) and not leaked(message, kitted.shares[1])


def test_shares_of_a_replaced_kit_do_not_open_the_vault(kitted):
    kit.create_kit(kitted.session, CUSTODIANS, 2)
    with pytest.raises(ShareProblem) as refused:
        kitted.recover(1, 2)
    assert refused.value.message.startswith("share 1 is not from this vault's current emergency kit")


BAD_INPUTS = [
    ("", INCIDENT, "reason"), (REASON, "", "incident"), (REASON, "INC 1", "incident"),
    ("bad\x1b[31m", INCIDENT, "control"),
]


@pytest.mark.parametrize("reason, incident, message", BAD_INPUTS)
def test_reason_and_incident_are_required_and_checked_before_the_shares(kitted, reason, incident, message):
    before = state(kitted.session)
    with pytest.raises(InvalidInputError, match=message) as refused:
        unlock_recovery(kitted.vault_dir, ["not even a share"], reason=reason, incident=incident, clock=kitted.clock)
    assert not isinstance(refused.value, ShareProblem)  # refused before the shares were read
    assert state(kitted.session) == before and failures.pending(kitted.vault_dir) == []


@pytest.mark.parametrize("reason, incident, message", BAD_INPUTS)
def test_check_recovery_inputs_refuses_what_unlock_recovery_refuses(reason, incident, message):
    with pytest.raises(InvalidInputError, match=message) as refused:
        check_recovery_inputs(reason, incident)
    with pytest.raises(InvalidInputError) as unlocking:
        unlock_recovery("/nonexistent", [], reason=reason, incident=incident)
    assert refused.value.message == unlocking.value.message


def test_check_recovery_inputs_cleans_both():
    assert check_recovery_inputs("  locked out  ", " INC-9 ") == ("locked out", "INC-9")


def test_a_recovery_session_has_no_open_emergency_request_of_its_own(kitted):
    from smvault.services import emergency as em

    em.request_access(kitted.session, "x:acme", reason="spam", incident="INC-1")
    with kitted.recover() as rec:
        assert em.open_request_id(rec, "x:acme") is None  # alice's request is not the session's
    assert em.open_request_id(kitted.session, "x:acme") is not None


# --- what it may do -----------------------------------------------------------------------------------


def test_it_reveals_every_secret_without_a_grant_and_every_entry_carries_the_marker(kitted):
    with kitted.recover() as rec:
        start = rec.vault.log.head().seq
        assert secrets.reveal(rec, "x:acme").value == "acme-password-1"
        assert secrets.copy_secret(rec, "instagram:brand").value == "brand-password-1"
        assert secrets.reveal(rec, "x:acme", "totp-seed").value.startswith("otpauth://")
        assert secrets.totp_qr(rec, "x:acme").value.startswith("otpauth://")
        assert len(secrets.totp_code(rec, "x:acme").code) == 6
        assert secrets.use_recovery_code(rec, "x:acme").value == "code-one"
        seen = abilities(rec, "x:acme")
        assert (seen.password, seen.seed, seen.code, seen.recovery, seen.manage) == (True, True, True, True, False)
        bg_id = rec.break_glass.id
    with kitted.operator() as s:
        mine = s.vault.log.entries(after_seq=start - 1, newest_first=False)
        session_entries = [e for e in mine if e.get("op") == "break-glass"]
        assert [e["action"] for e in session_entries] == [
            "breakglass.unlock", "secret.reveal", "secret.copy", "secret.reveal", "totp.qr", "totp.code",
            "secret.recovery-code.use", "breakglass.lock", "post-incident.open"]
        assert all(e["bg"] == {"id": bg_id, "incident": INCIDENT} for e in session_entries)
        assert all("to" not in e for e in session_entries)  # no person learned it: the session did
        assert s.vault.log.break_glass_entries(bg_id) == session_entries
        report = logs.verify(s, record_unlock=False)
        assert report.ok and report.checked == s.vault.log.head().seq - 1  # `log.verify` came after


def test_changes_are_refused_with_a_clear_message_and_write_nothing(kitted):
    with kitted.recover() as rec:
        before = state(rec)
        refusals = [
            lambda: secrets.set_password(rec, "x:acme", "new-password"),
            lambda: grants.add_grant(rec, "bo@example.com", "x:acme", "reveal"),
            lambda: people.add_person(rec, "Zed", "zed@example.com"),
            lambda: people.mark_leaving(rec, "bo@example.com", kitted.clock().date()),
            lambda: accounts.add_account(rec, "tiktok", "brand"),
            lambda: accounts.update_account(rec, "x:acme", brand="Acme"),
            lambda: offboarding.start_offboarding(rec, "cy@example.com", kitted.clock().date()),
            lambda: operators.remove_operator(rec, "alice"),
            lambda: operators.change_passphrase(rec, PASSPHRASE, NEW_PASS),
            lambda: logs.reanchor(rec, "trust me"),
            lambda: kit.create_kit(rec, CUSTODIANS, 2),
        ]
        for refused in refusals:
            with pytest.raises(PolicyError) as error:
                refused()
            assert "break-glass session" in error.value.message
            assert state(rec) == before
        with pytest.raises(PolicyError, match=BREAK_GLASS_REFUSAL.replace(";", ".")):
            secrets.add_recovery_codes(rec, "x:acme", ["new"])


def test_it_can_add_an_operator_when_the_operators_are_locked_out(kitted):
    with kitted.recover() as rec:
        operators.add_operator(rec, "rescue", NEW_PASS, email="rescue@example.com", person_name="Rescue Op")
        operators.add_operator(rec, "bo-op", NEW_PASS, email="bo@example.com")  # an existing person
        start = rec.vault.log.entries(actions=("breakglass.unlock",), limit=1)[0]["seq"]
    with unlock(kitted.vault_dir, "rescue", NEW_PASS, clock=kitted.clock) as s:
        rescue = s.vault.operators.by_name("rescue")
        assert s.vault.operators.added_by(rescue.id) is None
        entries = s.vault.log.entries(actions=("operator.add", "person.add"), after_seq=start, newest_first=False)
        assert [(e["action"], e["op"], e["detail"].get("operator"), "bg" in e) for e in entries] == [
            ("person.add", "break-glass", "rescue", True), ("operator.add", "break-glass", "rescue", True),
            ("operator.add", "break-glass", "bo-op", True)]


# --- locking, and the unlock after a crash -----------------------------------------------------------


def test_locking_logs_the_lock_and_opens_the_post_incident_workflow_even_when_failing(kitted):
    rec = kitted.recover()
    secrets.reveal(rec, "x:acme")
    bg_id = rec.break_glass.id
    rec.close(failing=True)
    rec.close()  # idempotent
    with kitted.operator() as s:
        [row] = post_incidents(s)
        assert rec.post_incident_id == row.workflow_id
        view = post_incident_status(s, row.workflow_id)
        assert view.incident == INCIDENT and [x.bg_id for x in view.sessions] == [bg_id]
        assert view.sessions[0].locked and view.opened_by.startswith("break-glass session")
        assert s.vault.workflows.get(row.workflow_id).opened_by is None


def test_a_recovery_session_closed_without_locking_gets_its_workflow_at_the_next_unlock(kitted):
    rec = kitted.recover()
    secrets.reveal(rec, "instagram:brand")
    bg_id = rec.break_glass.id
    rec.vault.close()  # no Session.close: no lock entry, no workflow
    with kitted.recover(2, 3, incident="INC-other") as other:  # a recovery unlock covers it too...
        assert [r.incident for r in post_incidents(other)] == [INCIDENT]
        assert other.break_glass.id not in {x.bg_id for r in post_incidents(other)
                                            for x in post_incident_status(other, r.workflow_id).sessions}
    with kitted.operator() as s:  # ...and the next operator unlock finds nothing left to cover
        rows = {r.incident: r for r in post_incidents(s)}
        assert set(rows) == {INCIDENT, "INC-other"}
        view = post_incident_status(s, rows[INCIDENT].workflow_id)
        assert [(x.bg_id, x.locked) for x in view.sessions] == [(bg_id, False)]
        assert [st.kind for st in view.steps] == ["rotate-password", "new-kit", "review-log"]
        assert view.opened_by.startswith("the system")


def test_a_recovery_session_killed_after_unlock_gets_its_workflow_at_the_next_unlock(kitted, tmp_path):
    """A real process unlocks with the shares, reveals a password and is killed (SIGKILL)."""
    shares = tmp_path / "shares.json"
    shares.write_text(json.dumps(kitted.shares[:2]))
    script = textwrap.dedent(f"""
        import json, sys, time
        from pathlib import Path
        from smvault.services import secrets
        from smvault.services.session import unlock_recovery
        rec = unlock_recovery(Path({str(kitted.vault_dir)!r}), json.loads(Path({str(shares)!r}).read_text()),
                              reason="killed", incident="INC-kill")
        secrets.reveal(rec, "x:acme")
        print("ready", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ), cwd=os.getcwd())
    try:
        assert proc.stdout.readline().strip() == "ready"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with kitted.operator() as s:
        [row] = post_incidents(s)
        view = post_incident_status(s, row.workflow_id)
        assert row.incident == "INC-kill" and not view.sessions[0].locked
        assert [(st.kind, st.account_key) for st in view.steps] == [
            ("rotate-password", "x:acme"), ("new-kit", None), ("review-log", None)]
        assert logs.verify(s).ok


def test_a_session_still_running_when_another_unlock_covers_it_extends_its_workflow_at_lock(kitted):
    """Another process's unlock cannot tell a running recovery session from a crashed one: it
    opens the workflow early; the session's lock then adds what it did since."""
    rec = kitted.recover()
    secrets.reveal(rec, "x:acme")
    with kitted.operator() as s:
        early = post_incident_status(s, post_incidents(s)[0].workflow_id)
        assert not early.sessions[0].locked
        assert [st.kind for st in early.steps] == ["rotate-password", "new-kit", "review-log"]
    secrets.reveal(rec, "instagram:brand")
    rec.close()
    with kitted.operator() as s:
        [row] = post_incidents(s)
        view = post_incident_status(s, row.workflow_id)
        assert view.sessions[0].locked and view.sessions[0].last_seq > early.sessions[0].last_seq
        assert [(st.kind, st.account_key) for st in view.steps] == [
            ("rotate-password", "x:acme"), ("new-kit", None), ("review-log", None),
            ("rotate-password", "instagram:brand")]
        assert f"to {view.sessions[0].last_seq})" in view.steps[2].title  # the review covers it all
        extended = s.vault.log.entries(actions=("post-incident.extend",), limit=1)[0]
        assert extended["detail"]["steps_added"] == [4] and extended["detail"]["widened"] == [3]


# --- after review ---------------------------------------------------------------------------------------


def test_an_operator_added_by_a_recovery_session_has_no_passphrase_of_their_own_until_they_set_one(kitted):
    """Whoever held the shares chose it: such an operator approves nothing (dual control)
    until they run `operator passwd`."""
    from smvault.services import emergency

    s = kitted.session
    operators.add_operator(s, "bob", b"chosen by alice", email="bob@example.com")
    grants.add_grant(s, "alice@example.com", "x:acme", "code-only")
    with kitted.recover() as rec:
        operators.add_operator(rec, "puppet", NEW_PASS, email="puppet@example.com")
        bg_id = rec.break_glass.id
    puppet = s.vault.operators.by_name("puppet")
    assert s.vault.operators.added_by(puppet.id) is None
    assert s.vault.operators.added_in_break_glass(puppet.id) == bg_id
    assert not s.vault.operators.has_own_passphrase(puppet.id)
    assert s.vault.operators.has_own_passphrase(s.operator.id)  # the first operator chose theirs
    kitted.clock.advance(minutes=1)
    request = emergency.request_access(s, "x:acme", reason="spam", incident="INC-5")
    head = s.vault.log.head()
    with pytest.raises(PolicyError, match="'puppet' was added during a break-glass session"):
        emergency.approve_access_as(s, request.id, "puppet", NEW_PASS)
    assert s.vault.log.head() == head and emergency.emergency_status(s, request.id)[0].state == "requested"
    with unlock(kitted.vault_dir, "puppet", NEW_PASS, clock=kitted.clock) as own:
        operators.change_passphrase(own, NEW_PASS, b"puppet's own passphrase now")
    assert s.vault.operators.has_own_passphrase(puppet.id)


def test_other_failed_unlocks_noted_by_a_recovery_session_carry_no_marker(kitted):
    with pytest.raises(AuthenticationError):
        unlock(kitted.vault_dir, "alice", b"not the passphrase", clock=kitted.clock)
    with kitted.recover() as rec:
        [failed] = rec.vault.log.entries(actions=("vault.unlock-failed",))
        assert failed["detail"]["operator"] == "alice" and "bg" not in failed
        assert "bg" in rec.vault.log.entries(actions=("breakglass.unlock",), limit=1)[0]
        bg_id = rec.break_glass.id
    with kitted.operator() as s:  # not part of what the session did
        assert all(e["action"] != "vault.unlock-failed" for e in s.vault.log.break_glass_entries(bg_id))


def test_a_recovery_session_cannot_take_a_backup_and_no_file_is_written(kitted, tmp_path):
    from smvault.services.backup import backup

    target = tmp_path / "vault.backup"
    with kitted.recover() as rec:
        before = state(rec)
        with pytest.raises(PolicyError, match="cannot take a backup: it would open for ever"):
            backup(rec, target)
        assert state(rec) == before
    assert not target.exists() and not list(tmp_path.glob(".smvault-backup-*"))
