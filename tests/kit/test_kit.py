"""The emergency kit against a real vault: K shares open it, K-1 do not, a new kit voids the old."""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path

import pytest

from smvault.domain.errors import (
    AuthenticationError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PolicyError,
    SmvaultError,
    UsageError,
)
from smvault.domain.shares import ShareProblem, combine, parse_share
from smvault.services import kit_sheet
from smvault.services.kit import check_share, kit_info, recover_from_shares, recover_vault_key_secret
from smvault.services.session import unlock
from smvault.store import keyring as keyrings
from smvault.store.keyring import WrongSharesError
from smvault.store.vault import Vault

from .conftest import CUSTODIANS, LEAVING, LEFT, leaks, log_actions, log_bodies

NOW = "2026-11-02T10:00:00Z"
PASSPHRASE = b"correct horse battery staple"


def secret_of(kit, members=(1, 2)) -> bytes:
    """The recovery secret straight from the domain (as a custodian's own tool would get it)."""
    return combine([parse_share(kit.sheets[m - 1].mnemonic, n) for n, m in enumerate(members, 1)])


def opens(vault_dir: Path, secret: bytes) -> bool:
    with Vault.open_recovery(vault_dir, secret, NOW) as vault:
        return vault.people.by_email("alice@example.com") is not None


def test_k_shares_open_the_vault_k_minus_one_do_not(staffed, new_kit, vault_dir):
    kit = new_kit(staffed, threshold=2)
    texts = [sheet.mnemonic for sheet in kit.sheets]
    for pair in itertools.permutations(texts, 2):
        assert opens(vault_dir, recover_vault_key_secret(vault_dir, list(pair)))
    assert opens(vault_dir, secret_of(kit, (3, 1)))
    for text in texts:
        with pytest.raises(ShareProblem) as info:
            recover_vault_key_secret(vault_dir, [text])
        assert info.value.message == "1 share entered; this kit needs 2"
    with pytest.raises(ShareProblem, match="^no shares entered$"):
        recover_vault_key_secret(vault_dir, [])


def test_three_of_four(staffed, new_kit, vault_dir):
    kit = new_kit(staffed, [*CUSTODIANS, "dev@example.com"], threshold=3)
    texts = [sheet.mnemonic for sheet in kit.sheets]
    for chosen in itertools.combinations(texts, 3):
        assert opens(vault_dir, recover_vault_key_secret(vault_dir, list(chosen)))
    for chosen in itertools.combinations(texts, 2):
        with pytest.raises(ShareProblem, match="^2 shares entered; this kit needs 3$"):
            recover_vault_key_secret(vault_dir, list(chosen))
    # all four: checked, the first three used
    assert opens(vault_dir, recover_vault_key_secret(vault_dir, texts))


def test_recover_from_shares_says_which_kit_and_whose_shares(staffed, new_kit, vault_dir):
    kit = new_kit(staffed, threshold=2)
    texts = [sheet.mnemonic for sheet in kit.sheets]
    recovered = recover_from_shares(vault_dir, [texts[2], texts[0], texts[1]])
    assert opens(vault_dir, recovered.secret)
    assert recovered.kit == kit_info(vault_dir)
    assert recovered.members == (3, 1, 2)
    assert recovered.custodians == (CUSTODIANS[2], CUSTODIANS[0], CUSTODIANS[1])
    assert recovered.secret.hex() not in repr(recovered)


def test_a_mistyped_word_and_a_non_word_are_named(staffed, new_kit, vault_dir):
    kit = new_kit(staffed)
    words = kit.sheets[1].words
    typo = list(words)
    typo[6] = "acid" if words[6] != "acid" else "academic"
    with pytest.raises(ShareProblem) as info:
        recover_vault_key_secret(vault_dir, [kit.sheets[0].mnemonic, " ".join(typo)])
    assert info.value.message == "share 2: the checksum fails: word 7 looks mistyped"
    with pytest.raises(ShareProblem) as info:
        check_share(vault_dir, " ".join(typo), 2)
    assert info.value.message == "share 2: the checksum fails: word 7 looks mistyped"
    typo[6] = "notaword"
    with pytest.raises(ShareProblem, match="^share 1: word 7 is not a SLIP-39 word$"):
        check_share(vault_dir, " ".join(typo), 1)


def test_duplicate_and_mixed_shares(staffed, new_kit, vault_dir):
    old = new_kit(staffed)
    new = new_kit(staffed)
    a, b = new.sheets[0].mnemonic, new.sheets[1].mnemonic
    with pytest.raises(ShareProblem, match="^shares 1 and 2 are the same share$"):
        recover_vault_key_secret(vault_dir, [a, a.upper()])
    with pytest.raises(ShareProblem, match="^share 2 is from a different kit than share 1$"):
        recover_vault_key_secret(vault_dir, [a, old.sheets[1].mnemonic])
    with pytest.raises(ShareProblem, match="^share 3 is from a different kit than share 1$"):
        recover_vault_key_secret(vault_dir, [a, b, old.sheets[2].mnemonic])


def test_check_share_and_kit_info(staffed, new_kit, vault_dir):
    with pytest.raises(NotFoundError, match="no emergency kit"):
        check_share(vault_dir, "anything", 1)
    assert kit_info(vault_dir) is None
    old = new_kit(staffed)
    kit = new_kit(staffed)
    info = kit_info(vault_dir)
    assert (info.kit_id, info.threshold, info.custodians, info.created_at) == (
        kit.kit_id, 2, tuple(CUSTODIANS), kit.created_at)
    assert info.vault_id == staffed.vault.vault_id
    check = check_share(vault_dir, kit.sheets[1].mnemonic, 3)
    assert (check.number, check.member_index, check.custodian_email, check.threshold, check.current_kit) == (
        3, 2, "bob@example.com", 2, True)
    stale = check_share(vault_dir, old.sheets[1].mnemonic, 1)
    assert not stale.current_kit and stale.custodian_email is None


def test_a_new_kit_voids_the_old_shares(staffed, new_kit, vault_dir, tmp_path):
    old = new_kit(staffed)
    generation = keyrings.load(vault_dir).generation
    new = new_kit(staffed)
    assert keyrings.load(vault_dir).generation == generation + 1  # rekeyed
    assert opens(vault_dir, secret_of(new))
    old_texts = [sheet.mnemonic for sheet in old.sheets[:2]]
    with pytest.raises(ShareProblem, match="^share 1 is not from this vault's current emergency kit"):
        recover_vault_key_secret(vault_dir, old_texts)
    with pytest.raises(WrongSharesError) as info:
        Vault.open_recovery(vault_dir, secret_of(old), NOW)
    assert isinstance(info.value, AuthenticationError)
    # An attacker who kept the old shares and has the directory, with the old keyring copy
    # (keyring.json.bak still holds the old kit): the database was rekeyed, so nothing opens.
    stolen = tmp_path / "stolen"
    shutil.copytree(vault_dir, stolen)
    assert opens(stolen, secret_of(new))  # the copy itself is sound
    backup = keyrings.from_json((stolen / "keyring.json.bak").read_bytes())
    assert backup.recovery is not None and backup.recovery.kit_id == old.kit_id
    shutil.copy(stolen / "keyring.json.bak", stolen / "keyring.json")
    with pytest.raises(IntegrityError, match="cannot be decrypted"):
        Vault.open_recovery(stolen, secret_of(old), NOW)
    # operators are unaffected
    unlock(vault_dir, "alice", PASSPHRASE, clock=staffed.clock).close()


def test_first_kit_keeps_the_vault_key(staffed, new_kit, vault_dir):
    before = keyrings.load(vault_dir)
    new_kit(staffed)
    after = keyrings.load(vault_dir)
    assert after.generation == before.generation and after.slots == before.slots
    assert keyrings.unlock(after, "alice", PASSPHRASE) == keyrings.unlock(before, "alice", PASSPHRASE)


def test_operator_removal_keeps_the_kit_working(staffed, new_kit, vault_dir):
    from smvault.services.operators import add_operator, remove_operator

    add_operator(staffed, "bob", b"bob has a passphrase", email="bob@example.com")
    kit = new_kit(staffed)
    generation = keyrings.load(vault_dir).generation
    remove_operator(staffed, "bob")
    rekeyed = keyrings.load(vault_dir)
    assert rekeyed.generation == generation + 1 and "bob" not in rekeyed.slots
    assert rekeyed.recovery.kit_id == kit.kit_id
    assert opens(vault_dir, recover_vault_key_secret(vault_dir, [s.mnemonic for s in kit.sheets[1:]]))


def test_kit_create_is_logged_and_the_chain_verifies(staffed, new_kit, vault_dir):
    from smvault.services.logs import verify

    first = new_kit(staffed)
    second = new_kit(staffed, ["bob@example.com", "cara@example.com"], threshold=2)
    entries = [json.loads(body) for body in log_bodies(staffed)]
    created = [e for e in entries if e["action"] == "kit.create"]
    people = staffed.vault.people
    assert [e["detail"] for e in created] == [
        {"kit_id": first.kit_id, "threshold": 2, "rekeyed": False, "replaced_kit_id": None,
         "custodians": [people.by_email(email).id for email in CUSTODIANS]},
        {"kit_id": second.kit_id, "threshold": 2, "rekeyed": True, "replaced_kit_id": first.kit_id,
         "custodians": [people.by_email(email).id for email in CUSTODIANS[1:]]},
    ]
    assert all(e["op"] == "alice" for e in created)
    report = verify(staffed)
    assert report.ok
    assert not any(leaks(body, first, second) for body in log_bodies(staffed))


def test_a_replacement_starts_a_new_log_key(staffed, new_kit, vault_dir):
    new_kit(staffed)
    epochs = set(staffed.vault.log.keys())
    second = new_kit(staffed)
    [created, rotated] = staffed.vault.log.entries(limit=2, newest_first=False,
                                                    after_seq=staffed.vault.log.head().seq - 2)
    assert (created["action"], created["detail"]["kit_id"]) == ("kit.create", second.kit_id)
    assert rotated["action"] == "log.key-rotated" and rotated["detail"]["reason"] == "emergency kit replaced"
    assert set(staffed.vault.log.keys()) == epochs | {rotated["detail"]["epoch"]}
    assert staffed.vault.log.verify().ok


@pytest.mark.parametrize(
    ("custodians", "threshold", "error", "message"),
    [
        (["alice@example.com", "nobody@example.com"], 2, NotFoundError, "nobody@example.com"),
        (["alice@example.com", LEAVING], 2, PolicyError, f"{LEAVING} is leaving on"),
        (["alice@example.com", LEFT], 2, PolicyError, f"{LEFT} has left"),
        (["alice@example.com", "Bob@Example.com", "bob@example.com"], 2, InvalidInputError,
         "bob@example.com is listed twice"),
        (["alice@example.com", "not-an-email"], 2, InvalidInputError, "not-an-email"),
        (["alice@example.com"], 2, UsageError, "a kit needs 2 to 16 custodians; 1 given"),
        (CUSTODIANS, 1, UsageError, "the threshold must be from 2 to 3"),
        (CUSTODIANS, 4, UsageError, "the threshold must be from 2 to 3"),
    ],
)
def test_custodian_and_threshold_rules_change_nothing(staffed, new_kit, vault_dir, tmp_path,
                                                      custodians, threshold, error, message):
    before = log_actions(staffed)
    keyring_before = (vault_dir / "keyring.json").read_bytes()
    with pytest.raises(error) as info:
        new_kit(staffed, custodians, threshold, out_dir=tmp_path / "sheets")
    assert message in info.value.message
    assert log_actions(staffed) == before
    assert (vault_dir / "keyring.json").read_bytes() == keyring_before
    assert not (tmp_path / "sheets").exists()


def _old_kit_still_works(staffed, vault_dir, old, before_actions):
    assert kit_info(vault_dir).kit_id == old.kit_id
    assert opens(vault_dir, recover_vault_key_secret(vault_dir, [s.mnemonic for s in old.sheets[:2]]))
    assert log_actions(staffed) == before_actions


def test_sheets_that_cannot_be_written_leave_the_old_kit(staffed, new_kit, vault_dir, tmp_path):
    old = new_kit(staffed)
    before = log_actions(staffed)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me")
    with pytest.raises(ConflictError, match="is not empty"):
        new_kit(staffed, out_dir=busy)
    assert [p.name for p in busy.iterdir()] == ["notes.txt"] and (busy / "notes.txt").read_text() == "keep me"
    _old_kit_still_works(staffed, vault_dir, old, before)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    with pytest.raises(UsageError, match="cannot create"):
        new_kit(staffed, out_dir=a_file / "kit")
    _old_kit_still_works(staffed, vault_dir, old, before)


def test_a_failure_half_way_through_the_sheets_removes_them(staffed, new_kit, vault_dir, tmp_path, monkeypatch):
    old = new_kit(staffed)
    before = log_actions(staffed)
    calls = []
    real = kit_sheet.render_text

    def disk_full_on_the_third(kit, sheet):
        calls.append(sheet.member_index)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(kit, sheet)

    monkeypatch.setattr(kit_sheet, "render_text", disk_full_on_the_third)
    target = tmp_path / "half"
    with pytest.raises(UsageError, match="No space left on device"):
        new_kit(staffed, out_dir=target)
    assert not target.exists()
    _old_kit_still_works(staffed, vault_dir, old, before)


def test_a_keyring_that_cannot_be_written_removes_the_sheets(staffed, new_kit, vault_dir, tmp_path):
    # A directory where the keyring's temporary file goes makes the real write fail.
    (vault_dir / "keyring.json.tmp").mkdir()
    before = log_actions(staffed)
    target = tmp_path / "first"
    with pytest.raises(SmvaultError, match="cannot write"):
        new_kit(staffed, out_dir=target)
    assert not target.exists() and kit_info(vault_dir) is None
    assert log_actions(staffed) == before
    (vault_dir / "keyring.json.tmp").rmdir()
    old = new_kit(staffed)
    # replacing: the pending keyring cannot be written, so the database is never rekeyed
    (vault_dir / "keyring.json.pending.tmp").mkdir()
    before = log_actions(staffed)
    with pytest.raises(SmvaultError, match="cannot write"):
        new_kit(staffed, out_dir=tmp_path / "second")
    assert not (tmp_path / "second").exists()
    _old_kit_still_works(staffed, vault_dir, old, before)


def test_a_recovery_session_cannot_create_a_kit(staffed, new_kit, vault_dir, tmp_path):
    from smvault.services.kit import create_kit
    from smvault.services.session import unlock_recovery

    kit = new_kit(staffed)
    staffed.close()
    recovery = unlock_recovery(vault_dir, [s.mnemonic for s in kit.sheets[:2]], reason="test",
                               incident="INC-1", clock=staffed.clock)
    try:
        before = log_actions(recovery)
        with pytest.raises(PolicyError):
            create_kit(recovery, CUSTODIANS, 2, out_dir=tmp_path / "bg")
        assert not (tmp_path / "bg").exists() and log_actions(recovery) == before
    finally:
        recovery.close()


def test_no_share_word_in_reprs_or_errors(staffed, new_kit, vault_dir):
    kit = new_kit(staffed)
    texts = [repr(kit), str(kit), *(repr(sheet) for sheet in kit.sheets), repr(kit_info(vault_dir))]
    assert not any(leaks(text, kit) for text in texts)
    for sheet in kit.sheets:
        assert all(word not in repr(sheet).split() for word in sheet.words)
    assert os.stat(kit.files[0]).st_mode & 0o777 == 0o600


def _interrupted_replacement(session, vault_dir, *, database_rekeyed: bool):
    """A new kit's keyring left pending, as a crash inside replace_recovery_slot leaves it."""
    from smvault.domain.shares import split

    secret = os.urandom(16)
    mnemonics = split(secret, 2, 3)
    new_key = os.urandom(32)
    kr = keyrings.resealed(keyrings.load(vault_dir), new_key, recovery=None)
    kr = keyrings.with_recovery(
        kr, secret, new_key, kit_id="5d1b1f0e-8a8c-4d0a-9a6e-3b2f0c1d2e3f",
        identifier=parse_share(mnemonics[0], 1).identifier, threshold=2,
        custodians=tuple(CUSTODIANS), created_at="2026-11-02T09:45:00Z")
    keyrings.save_pending(vault_dir, kr)
    if database_rekeyed:
        session.vault.conn.execute(f"PRAGMA rekey = \"x'{new_key.hex()}'\"")
        session.vault.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return mnemonics


def test_a_replacement_interrupted_after_the_rekey_opens_with_the_new_shares(staffed, new_kit, vault_dir):
    old = new_kit(staffed)
    new = _interrupted_replacement(staffed, vault_dir, database_rekeyed=True)
    with pytest.raises(WrongSharesError):
        Vault.open_recovery(vault_dir, secret_of(old), NOW)
    assert check_share(vault_dir, new[2], 1).current_kit  # the pending kit's shares are known
    assert opens(vault_dir, recover_vault_key_secret(vault_dir, new[:2]))
    assert kit_info(vault_dir).kit_id.startswith("5d1b1f0e")  # the open finished the rekey
    assert keyrings.load_pending(vault_dir) is None


def test_a_replacement_interrupted_before_the_rekey_keeps_the_old_kit(staffed, new_kit, vault_dir):
    old = new_kit(staffed)
    new = _interrupted_replacement(staffed, vault_dir, database_rekeyed=False)
    with pytest.raises(WrongSharesError):
        Vault.open_recovery(vault_dir, recover_vault_key_secret(vault_dir, new[:2]), NOW)
    assert opens(vault_dir, secret_of(old))
    assert kit_info(vault_dir).kit_id == old.kit_id and keyrings.load_pending(vault_dir) is None
