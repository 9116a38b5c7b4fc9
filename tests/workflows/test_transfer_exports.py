"""Ownership transfer and secrets that leave the vault in a file (handover packets, TOTP
exports): the rotation steps see them as they see a reveal."""

from __future__ import annotations

import pytest

from smvault.domain import transfer as rules
from smvault.services import grants, operators
from smvault.services import transfer as tr
from smvault.services.handover import create_handover, export_totp
from smvault.services.session import unlock
from tests.workflows.test_transfer import _staff, as_dev, by_kind  # noqa: F401 - as_dev is a fixture

ACCOUNT = "youtube:acme"
BOB_PASS = b"bob's own passphrase"
NEW_SEED = "KRSXG5CTMVRXEZLU"


@pytest.fixture
def rotated(session, vault_dir, clock, as_dev):  # noqa: F811 - the imported fixture
    """A transfer of youtube:acme from bob (an operator too, with 'reveal') to carol, approved,
    with the password rotated, a new seed stored and shown by alice: every auto step done."""
    from smvault.services import secrets

    _staff(session, vault_dir, clock)
    operators.add_operator(session, "bob", BOB_PASS, email="bob@example.com")
    grants.add_grant(session, "bob@example.com", ACCOUNT, "reveal")
    tr.start_transfer(session, ACCOUNT, "carol@example.com")
    with as_dev() as dev:
        tr.approve_transfer(dev, ACCOUNT)
    secrets.set_password(session, ACCOUNT)
    secrets.set_totp(session, ACCOUNT, NEW_SEED)
    secrets.totp_qr(session, ACCOUNT)
    steps = by_kind(tr.transfer_status(session, ACCOUNT))
    assert steps["rotate-password"].done and steps["reenrol-totp"].done and steps["qr-enrol"].done
    return session


def _open_auto_steps(session) -> set[str]:
    view = tr.transfer_status(session, ACCOUNT)
    return {s.kind for s in view.steps if s.auto and not s.done and s.kind != rules.UPDATE_ROOT}


def test_a_packet_the_previous_owner_makes_after_rotation_reopens_the_steps(rotated, vault_dir, clock, tmp_path):
    with unlock(vault_dir, "bob", BOB_PASS, clock=clock) as bob:
        create_handover(bob, [ACCOUNT], "someone@partner.example", tmp_path / "p.smh")
    assert _open_auto_steps(rotated) == {"rotate-password", "reenrol-totp", "qr-enrol"}
    blockers = tr.transfer_status(rotated, ACCOUNT).blockers
    assert any("(rotate-password) is not done" in b for b in blockers)
    assert any("(reenrol-totp) is not done" in b for b in blockers)


def test_a_totp_export_by_the_previous_owner_reopens_the_seed_steps(rotated, vault_dir, clock, tmp_path):
    with unlock(vault_dir, "bob", BOB_PASS, clock=clock) as bob:
        export_totp(bob, [ACCOUNT], tmp_path / "seeds.txt", "uri")
    assert _open_auto_steps(rotated) == {"reenrol-totp", "qr-enrol"}  # the password he did not see


def test_a_packet_for_the_previous_owner_reopens_the_steps(rotated, tmp_path):
    create_handover(rotated, [ACCOUNT], "Bob@Example.com", tmp_path / "p.smh")  # alice hands it to bob
    assert _open_auto_steps(rotated) == {"rotate-password", "reenrol-totp", "qr-enrol"}


@pytest.mark.parametrize(("export", "how"), [("packet", "handover packet"), ("totp", "TOTP export")])
def test_a_file_for_someone_else_enrols_the_new_seed_and_says_how(staffed, as_dev, tmp_path,  # noqa: F811
                                                                   export, how):
    from smvault.services import secrets

    tr.start_transfer(staffed, ACCOUNT, "carol@example.com")
    with as_dev() as dev:
        tr.approve_transfer(dev, ACCOUNT)
    secrets.set_totp(staffed, ACCOUNT, NEW_SEED)
    assert not by_kind(tr.transfer_status(staffed, ACCOUNT))["qr-enrol"].done
    if export == "packet":
        create_handover(staffed, [ACCOUNT], "carol@example.com", tmp_path / "p.smh")
    else:
        export_totp(staffed, [ACCOUNT], tmp_path / "seeds.txt", "uri")
    step = by_kind(tr.transfer_status(staffed, ACCOUNT))["qr-enrol"]
    assert step.done and step.evidence.startswith(f"new seed shown for enrolment: {how} (log entry ")


@pytest.fixture
def staffed(session, vault_dir, clock):
    _staff(session, vault_dir, clock)
    return session


# --- the rule itself, on log entries -------------------------------------------------------------------


def _entries(*disclosures: dict) -> list[dict]:
    base = [{"seq": 2, "action": "secret.password.set", "op": "alice", "ts": "t"},
            {"seq": 3, "action": "secret.totp.set", "op": "alice", "ts": "t"}]
    return base + [{"seq": 4 + i, "ts": "t", **d} for i, d in enumerate(disclosures)]


@pytest.mark.parametrize("disclosure", [
    {"action": "handover.create", "field": "password", "to": 7, "op": "bob"},
    {"action": "handover.create", "field": "password", "to": 9, "by": 7, "op": "alice"},
    {"action": "secret.reveal", "field": "password", "to": 7, "op": "alice"},
])
def test_any_disclosure_of_the_password_to_the_previous_owner_counts(disclosure):
    assert rules.ROTATE_PASSWORD in rules.auto_facts(_entries(), 1, 7)
    assert rules.ROTATE_PASSWORD not in rules.auto_facts(_entries(disclosure), 1, 7, {"bob"})


@pytest.mark.parametrize("action", ["totp.export", "totp.qr"])
def test_any_disclosure_of_the_seed_to_the_previous_owner_counts(action):
    shown = rules.auto_facts(_entries({"action": action, "field": "totp-seed", "to": 9, "op": "alice"}), 1, 7)
    assert rules.REENROL_TOTP in shown and rules.QR_ENROL in shown  # shown to someone else: done
    found = rules.auto_facts(_entries({"action": action, "field": "totp-seed", "to": 7, "op": "bob"}), 1, 7)
    assert rules.REENROL_TOTP not in found and rules.QR_ENROL not in found


@pytest.mark.parametrize(("action", "kind"), [("secret.password.set", rules.ROTATE_PASSWORD),
                                              ("secret.totp.set", rules.REENROL_TOTP)])
def test_an_imported_secret_is_no_rotation(action, kind):
    """An import may bring back a value the previous owner knows (an old export): it undoes
    the rotation before it and resolves nothing by itself."""
    imported = {"action": action, "op": "alice", "detail": {"via": "import"}}
    assert kind in rules.auto_facts(_entries(), 1, 7)
    assert kind not in rules.auto_facts(_entries(imported), 1, 7)
    assert kind in rules.auto_facts(_entries(imported, {"action": action, "op": "alice"}), 1, 7)
