"""The vault's record of its keyring's public half: an edit of keyring.json alone is refused
before any rekey seals a new vault key to it, and at every checked unlock; what a crash
leaves at any step of a keyring change is settled, never an alarm.

Real vaults; crashes are real processes that die (os._exit) at the named step."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from smvault.domain.errors import ConflictError, IntegrityError, SmvaultError
from smvault.services import kit, logs, operators, people
from smvault.services.session import unlock, unlock_recovery
from smvault.store import keyring as keyrings
from smvault.store import vault as vaults
from smvault.store.vault import Vault
from tests.conftest import PASSPHRASE

CUSTODIANS = ["bo@example.com", "cy@example.com", "di@example.com"]
BOB_PASS = b"bob's own passphrase"
RECOVERY_MISMATCH = "keyring.json's recovery slot does not match the kit recorded in the vault"


@pytest.fixture
def team(session, vault_dir):
    """alice (the session) and bob, three custodians and a 2-of-3 kit."""
    for email in CUSTODIANS:
        people.add_person(session, email.split("@")[0].title(), email)
    operators.add_operator(session, "bob", BOB_PASS, email="bob@example.com")
    return kit.create_kit(session, CUSTODIANS, 2)


def edit_keyring(vault_dir: Path, edit) -> None:
    """What someone who can write keyring.json (and nothing else) does."""
    path = vault_dir / "keyring.json"
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document, indent=2))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def their_kit(document) -> bytes:
    """Put a recovery key of the attacker's own in the slot; returns their secret."""
    secret = os.urandom(16)
    mine = keyrings.with_recovery(
        keyrings.new_keyring(document["vault_id"]), secret, os.urandom(32),
        kit_id=document["recovery"]["kit_id"], identifier=document["recovery"]["identifier"], threshold=2,
        custodians=("mallory@evil.example", "bo@example.com", "cy@example.com"), created_at="2026-11-02T09:30:00Z")
    document["recovery"]["public_key"] = b64(mine.recovery.public_key)
    document["recovery"]["custodians"] = list(mine.recovery.custodians)
    return secret


def new_public_key() -> str:
    return b64(X25519PrivateKey.generate().public_key().public_bytes_raw())


def record(vault_dir: Path, clock, key: str = vaults._RECORD):
    with unlock(vault_dir, "alice", PASSPHRASE, clock=clock, check=False) as s:
        return vaults._read_record(s.vault, key)


def settled(s) -> None:
    """The record is keyring.json's public half, and nothing is pending."""
    assert vaults._read_record(s.vault, vaults._PENDING_RECORD) is None
    assert vaults._read_record(s.vault, vaults._RECORD) == keyrings.public_record(keyrings.load(s.vault.directory))


# --- edits are refused before anything is sealed to them --------------------------------------------


def test_a_swapped_kit_key_is_refused_before_a_removal_reseals_the_vault_key_to_it(team, session, vault_dir, clock):
    original = (vault_dir / "keyring.json").read_bytes()
    secret = None

    def swap(document):
        nonlocal secret
        secret = their_kit(document)

    edit_keyring(vault_dir, swap)
    edited = (vault_dir / "keyring.json").read_bytes()
    with pytest.raises(IntegrityError) as refused:
        operators.remove_operator(session, "bob")
    assert refused.value.message.startswith(RECOVERY_MISMATCH)
    assert "custodians, public_key differ" in refused.value.message and "Restore" in refused.value.message
    assert (vault_dir / "keyring.json").read_bytes() == edited  # no rekey happened
    with pytest.raises(SmvaultError):  # their key was never given the vault key
        Vault.open_recovery(vault_dir, secret, "2026-11-02T10:00:00Z")
    session.close()
    # Put back the real keyring: the next unlock finishes bob's removal.
    (vault_dir / "keyring.json").write_bytes(original)
    with unlock(vault_dir, "alice", PASSPHRASE, clock=clock) as s:
        assert set(s.vault.keyring.slots) == {"alice"}
        assert s.vault.log.entries(limit=1)[0]["detail"]["reason"] == "operator bob removed"
        settled(s)


def test_a_swapped_operator_key_is_refused_before_a_removal_or_a_new_kit(team, session, vault_dir, tmp_path):
    operators.add_operator(session, "carol", b"carol's passphrase", email="carol@example.com")
    edit_keyring(vault_dir, lambda d: d["slots"]["bob"].update(public_key=new_public_key()))
    edited = (vault_dir / "keyring.json").read_bytes()
    with pytest.raises(IntegrityError, match="keyring.json's slot for operator 'bob' does not hold the public key"):
        operators.remove_operator(session, "carol")
    with pytest.raises(IntegrityError, match="slot for operator 'bob'"):
        kit.create_kit(session, CUSTODIANS, 3, out_dir=tmp_path / "kit")
    assert not (tmp_path / "kit").exists()
    assert (vault_dir / "keyring.json").read_bytes() == edited
    assert keyrings.load(vault_dir).recovery.kit_id == team.kit_id


def test_an_edited_keyring_is_refused_before_a_first_kit_or_an_operator_is_added(session, vault_dir):
    people.add_person(session, "Bo", "bo@example.com")
    people.add_person(session, "Cy", "cy@example.com")
    edit_keyring(vault_dir, lambda d: d["slots"]["alice"].update(public_key=new_public_key()))
    edited = (vault_dir / "keyring.json").read_bytes()
    with pytest.raises(IntegrityError, match="operator 'alice'"):
        kit.create_kit(session, ["bo@example.com", "cy@example.com"], 2)
    with pytest.raises(IntegrityError, match="operator 'alice'"):
        operators.add_operator(session, "dan", b"dan's passphrase", email="dan@example.com")
    assert (vault_dir / "keyring.json").read_bytes() == edited
    assert session.vault.operators.by_name("dan") is None
    assert vaults._read_record(session.vault, vaults._PENDING_RECORD) is None


EDITS = {
    "kit key": (their_kit, RECOVERY_MISMATCH),
    "kit threshold": (lambda d: d["recovery"].update(threshold=3), RECOVERY_MISMATCH + " (its threshold differs)"),
    "kit dropped": (lambda d: d.update(recovery=None), "keyring.json has no recovery slot"),
    "operator key": (lambda d: d["slots"]["bob"].update(public_key=new_public_key()),
                     "keyring.json's slot for operator 'bob'"),
    "operator dropped": (lambda d: d["slots"].pop("bob"), "keyring.json has no slot for operator 'bob'"),
}


@pytest.mark.parametrize("edit, message", EDITS.values(), ids=EDITS)
def test_every_checked_unlock_refuses_an_edited_keyring(team, session, vault_dir, clock, edit, message):
    session.close()
    edit_keyring(vault_dir, edit)
    before = record(vault_dir, clock)  # an unchecked open (log verify) still works
    with pytest.raises(IntegrityError) as refused:
        unlock(vault_dir, "alice", PASSPHRASE, clock=clock)
    assert message in refused.value.message and "the file was edited" in refused.value.message
    # The custodians' shares do not get past it either (an edited kit does not even open).
    with pytest.raises(SmvaultError) as refused:
        unlock_recovery(vault_dir, [s.mnemonic for s in team.sheets[:2]], reason="r", incident="INC-1",
                        clock=clock)
    if "operator" in message:
        assert isinstance(refused.value, IntegrityError) and message in refused.value.message
    with unlock(vault_dir, "alice", PASSPHRASE, clock=clock, check=False) as s:
        assert vaults._read_record(s.vault, vaults._RECORD) == before
        assert s.vault.log.entries(limit=1)[0]["action"] == "kit.create"  # nothing was logged


def test_the_refusal_names_keyring_json_bak_only_while_it_is_of_the_current_generation(team, session, vault_dir,
                                                                                      clock):
    session.close()
    keyring = vault_dir / "keyring.json"
    good = keyring.read_bytes()
    edit_keyring(vault_dir, their_kit)  # .bak: the keyring from before the kit, same generation
    with pytest.raises(IntegrityError) as refused:
        unlock(vault_dir, "alice", PASSPHRASE, clock=clock)
    assert "or keyring.json.bak, the copy from before its last change" in refused.value.message
    keyring.write_bytes(good)
    with unlock(vault_dir, "alice", PASSPHRASE, clock=clock) as s:
        operators.remove_operator(s, "bob")  # a rekey: .bak is now the previous generation
    backup = keyrings.from_json((vault_dir / "keyring.json.bak").read_bytes())
    assert backup.generation < keyrings.load(vault_dir).generation
    edit_keyring(vault_dir, their_kit)
    with pytest.raises(IntegrityError) as refused:
        unlock(vault_dir, "alice", PASSPHRASE, clock=clock)
    assert "the file was edited" in refused.value.message and "keyring.json.bak, the copy" not in refused.value.message
    assert "Restore the vault from a backup" in refused.value.message


def test_a_vault_without_the_record_trusts_its_keyring_once_then_checks_it(team, session, vault_dir, clock):
    with session.atomic():
        session.vault.conn.execute("DELETE FROM meta WHERE key LIKE 'keyring_public%'")
    session.close()
    with unlock(vault_dir, "alice", PASSPHRASE, clock=clock) as s:
        settled(s)
    edit_keyring(vault_dir, their_kit)
    with pytest.raises(IntegrityError, match=RECOVERY_MISMATCH):
        unlock(vault_dir, "alice", PASSPHRASE, clock=clock)


@pytest.mark.parametrize("key", ["vault_id", "created_at", "keyring_public", "keyring_public_pending"])
def test_no_setting_overwrites_the_vaults_own_keys(session, key):
    from smvault.store.settings import Settings

    with pytest.raises(ValueError, match="is not a setting"):
        Settings(session.vault.conn).put(key, "{}")


def test_a_passphrase_change_keeps_the_record(team, session, vault_dir, clock):
    session.close()
    before = record(vault_dir, clock)
    with unlock(vault_dir, "bob", BOB_PASS, clock=clock) as bob:
        operators.change_passphrase(bob, BOB_PASS, b"bob's newer passphrase")
        settled(bob)
    assert record(vault_dir, clock) == before


# --- a concurrent keyring writer during a kit replacement ------------------------------------------


def test_an_operator_added_while_a_kit_replaces_the_old_one_is_refused_not_lost(team, session, vault_dir, clock,
                                                                                monkeypatch):
    """Another process adds an operator between the kit's reading of the keyring and its
    rekey: it is refused (the pending record), where before its slot was silently dropped."""
    other = unlock(vault_dir, "alice", PASSPHRASE, clock=clock)
    outcome = []
    original = Vault.rekey

    def rekey_after_the_other_process(vault, new_keyring, new_key, **kwargs):
        try:
            operators.add_operator(other, "carol", b"carol's passphrase", email="carol@example.com")
            outcome.append("added")
        except ConflictError as refused:
            outcome.append(refused.message)
        finally:
            other.close()
        original(vault, new_keyring, new_key, **kwargs)

    monkeypatch.setattr(Vault, "rekey", rekey_after_the_other_process)
    kit.create_kit(session, CUSTODIANS, 3)
    monkeypatch.undo()
    assert outcome == ["a change of this vault's keys is under way (in another smvault process, or one that"
                       " stopped half way): unlock the vault again, then retry"]
    assert "carol" not in keyrings.load(vault_dir).slots and session.vault.operators.by_name("carol") is None
    settled(session)
    operators.add_operator(session, "carol", b"carol's passphrase", email="carol@example.com")  # now it may
    assert "carol" in keyrings.load(vault_dir).slots


# --- crashes at every step of a keyring change ---------------------------------------------------------

CHILD = """
import os
from datetime import datetime
from pathlib import Path
from smvault.services import kit, operators
from smvault.services.session import unlock
from smvault.store import keyring as keyrings
import smvault.services.kit as kit_module

def crash(*args, **kwargs):
    os._exit(17)

def then_crash(original):
    def wrapper(*args, **kwargs):
        original(*args, **kwargs)
        os._exit(17)
    return wrapper

now = datetime.fromisoformat({now!r})
s = unlock(Path({vault_dir!r}), "alice", {passphrase!r}, clock=lambda: now)
{patch}
{action}
os._exit(0)
"""

PATCHES = {
    "before the pending keyring": "keyrings.save_pending = crash",
    "after the database rekey": "keyrings.commit_pending = crash",
    "after the new keyring": "keyrings.commit_pending = then_crash(keyrings.commit_pending)",
    "after the keyring write": "keyrings.save = then_crash(keyrings.save)",
    "before the kit's log entry": "kit_module.replace_recovery_slot = then_crash(kit_module.replace_recovery_slot)",
    "before the first kit's log entry": "kit_module.set_recovery_slot = then_crash(kit_module.set_recovery_slot)",
    # An unlock in another process runs between the staging commit and the pending file's
    # write (it drops the pending record as a leftover); then the change promotes and dies.
    "dropped in the gap, after the new keyring": """
from smvault.store import vault as vaults
_save_pending = keyrings.save_pending
def dropped_then_saved(vault_dir, kr):
    vaults.check_keyring_record(s.vault)
    if vaults._read_record(s.vault, vaults._PENDING_RECORD) is not None:
        os._exit(18)  # not dropped: the test would prove nothing
    _save_pending(vault_dir, kr)
keyrings.save_pending = dropped_then_saved
keyrings.commit_pending = then_crash(keyrings.commit_pending)
""",
}
ACTIONS = {
    "remove": "operators.remove_operator(s, 'bob')",
    "new kit": f"kit.create_kit(s, {CUSTODIANS!r}, 3)",
    "add": "operators.add_operator(s, 'carol', b\"carol's passphrase\", email='carol@example.com')",
}


def crash(vault_dir: Path, clock, action: str, patch: str) -> None:
    script = CHILD.format(now=clock().isoformat(), vault_dir=str(vault_dir), passphrase=PASSPHRASE,
                          patch=PATCHES[patch], action=ACTIONS[action])
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)
    assert proc.returncode == 17, proc.stderr


def unlocked_after_the_crash(vault_dir: Path, clock):
    clock.advance(minutes=1)
    s = unlock(vault_dir, "alice", PASSPHRASE, clock=clock)  # no IntegrityError: no false alarm
    settled(s)
    assert logs.verify(s).ok
    return s


@pytest.mark.parametrize("patch", ["before the pending keyring", "after the database rekey", "after the new keyring",
                                   "dropped in the gap, after the new keyring"])
def test_a_removal_that_crashed_at_any_step_is_settled_at_the_next_unlock(team, session, vault_dir, clock, patch):
    session.close()
    crash(vault_dir, clock, "remove", patch)
    with unlocked_after_the_crash(vault_dir, clock) as s:
        assert set(keyrings.load(vault_dir).slots) == {"alice"}
        assert s.vault.operators.by_name("bob") is None
        assert keyrings.load(vault_dir).recovery.kit_id == team.kit_id  # the kit survives the rekey


@pytest.mark.parametrize("patch, new_kit_in_force", [
    ("before the pending keyring", False), ("after the database rekey", True), ("after the new keyring", True),
    ("before the kit's log entry", True), ("dropped in the gap, after the new keyring", True),
])
def test_a_kit_replacement_that_crashed_at_any_step_is_settled_and_logged(team, session, vault_dir, clock,
                                                                          patch, new_kit_in_force):
    session.close()
    crash(vault_dir, clock, "new kit", patch)
    with unlocked_after_the_crash(vault_dir, clock) as s:
        current = keyrings.load(vault_dir).recovery
        assert (current.kit_id != team.kit_id) is new_kit_in_force
        entry = s.vault.log.kit_created(current.kit_id)
        assert entry is not None
        assert entry["detail"].get("recovered", False) is new_kit_in_force
        if new_kit_in_force:
            assert entry["detail"]["threshold"] == 3 and None not in entry["detail"]["custodians"]
    if not new_kit_in_force:  # the old kit's shares still open it
        unlock_recovery(vault_dir, [x.mnemonic for x in team.sheets[:2]], reason="r", incident="INC-1",
                        clock=clock).close()


def test_a_first_kit_that_crashed_after_its_keyring_write_is_settled_and_logged(session, vault_dir, clock):
    for email in CUSTODIANS:
        people.add_person(session, email.split("@")[0].title(), email)
    session.close()
    crash(vault_dir, clock, "new kit", "after the keyring write")
    with unlocked_after_the_crash(vault_dir, clock) as s:
        current = keyrings.load(vault_dir).recovery
        assert current is not None and s.vault.log.kit_created(current.kit_id)["detail"]["recovered"] is True


def test_a_first_kit_that_crashed_before_its_log_entry_is_logged_at_the_next_unlock(session, vault_dir, clock):
    for email in CUSTODIANS:
        people.add_person(session, email.split("@")[0].title(), email)
    session.close()
    crash(vault_dir, clock, "new kit", "before the first kit's log entry")
    with unlocked_after_the_crash(vault_dir, clock) as s:
        current = keyrings.load(vault_dir).recovery
        assert s.vault.log.kit_created(current.kit_id)["detail"]["recovered"] is True
    with unlock(vault_dir, "alice", PASSPHRASE, clock=clock) as s:  # logged once
        assert len(s.vault.log.entries(actions=("kit.create",))) == 1


def test_an_operator_add_that_crashed_after_its_keyring_write_is_settled(team, session, vault_dir, clock):
    session.close()
    crash(vault_dir, clock, "add", "after the keyring write")
    assert "carol" in keyrings.load(vault_dir).slots  # a slot of no operator: the add rolled back
    with unlocked_after_the_crash(vault_dir, clock) as s:
        assert "carol" not in keyrings.load(vault_dir).slots and s.vault.operators.by_name("carol") is None
        operators.add_operator(s, "carol", b"carol's passphrase", email="carol@example.com")
