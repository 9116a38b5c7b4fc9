"""The keyring: slots, sealing, binding, and the files on disk."""

from __future__ import annotations

import base64
import dataclasses
import functools
import itertools
import json
import os
import stat
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smvault.domain.errors import (
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PolicyError,
    SmvaultError,
    UnknownOperatorError,
    WrongPassphraseError,
)
from smvault.domain.models import normalize_email
from smvault.store import keyring
from smvault.store.kdf import DEFAULT_PROFILE, TEST_PROFILE, KdfProfile, derive_key
from smvault.store.keyring import (
    BACKUP_SUFFIX,
    KEYRING_FILE,
    PENDING_SUFFIX,
    Keyring,
    RecoverySlot,
    Slot,
    WrongSharesError,
    commit_pending,
    discard_pending,
    from_json,
    load,
    load_pending,
    new_keyring,
    resealed,
    save,
    save_pending,
    to_json,
    unlock,
    unlock_recovery,
    with_operator,
    with_passphrase,
    with_recovery,
    without_operator,
)

VAULT_ID = "vault-7f3a"
ALICE_PASS = b"correct horse battery staple"
BOB_PASS = "s\u00e9same, ouvre-toi".encode()
CAROL_PASS = b"carol's long passphrase 42"
SHARED_PASS = b"the same passphrase for everyone"
SLOT_FIELDS = ("kdf", "public_key", "sealed_private_key", "sealed_vault_key")
SEALED_FIELDS = ("salt", "public_key", "sealed_private_key", "sealed_vault_key")


def make_keyring(
    operators: dict[str, bytes], vault_key: bytes, vault_id: str = VAULT_ID
) -> Keyring:
    kr = new_keyring(vault_id)
    for name, passphrase in operators.items():
        kr = with_operator(kr, name, passphrase, vault_key, TEST_PROFILE)
    return kr


@functools.cache
def shared_fixture() -> tuple[Keyring, bytes]:
    """A two-operator keyring built once (Hypothesis tests cannot use function fixtures)."""
    vault_key = os.urandom(32)
    return make_keyring({"alice": ALICE_PASS, "bob": BOB_PASS}, vault_key), vault_key


@pytest.fixture
def vault_key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def kr(vault_key: bytes) -> Keyring:
    return make_keyring({"alice": ALICE_PASS, "bob": BOB_PASS}, vault_key)


def document(kr: Keyring) -> dict:
    return json.loads(to_json(kr))


def from_document(doc: dict) -> Keyring:
    return from_json(json.dumps(doc).encode())


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --------------------------------------------------------------------------- basics


def test_new_keyring_is_empty_generation_one() -> None:
    kr = new_keyring(VAULT_ID)
    assert kr.vault_id == VAULT_ID
    assert kr.generation == 1
    assert dict(kr.slots) == {}
    assert kr.recovery is None


def test_round_trip_through_json_and_disk(tmp_path: Path, kr: Keyring, vault_key: bytes) -> None:
    assert from_json(to_json(kr)) == kr
    save(tmp_path, kr)
    loaded = load(tmp_path)
    assert loaded == kr
    assert unlock(loaded, "alice", ALICE_PASS) == vault_key
    assert to_json(loaded) == to_json(kr)


def test_json_layout(kr: Keyring) -> None:
    doc = document(kr)
    assert doc["format"] == "smvault-keyring"
    assert doc["version"] == 1
    assert doc["vault_id"] == VAULT_ID
    assert doc["generation"] == 1
    assert doc["recovery"] is None
    assert set(doc["slots"]) == {"alice", "bob"}
    slot = doc["slots"]["alice"]
    assert set(slot) == set(SLOT_FIELDS)
    assert slot["kdf"]["alg"] == "argon2id"
    assert (slot["kdf"]["t"], slot["kdf"]["m"], slot["kdf"]["p"]) == (1, 64, 1)
    assert len(base64.b64decode(slot["kdf"]["salt"])) == 16
    assert len(base64.b64decode(slot["public_key"])) == 32


def test_two_operators_unlock_to_the_same_vault_key(kr: Keyring, vault_key: bytes) -> None:
    assert unlock(kr, "alice", ALICE_PASS) == vault_key
    assert unlock(kr, "bob", BOB_PASS) == vault_key
    assert kr.slots["alice"].public_key != kr.slots["bob"].public_key
    assert kr.slots["alice"].salt != kr.slots["bob"].salt


def test_same_passphrase_gives_different_slots(vault_key: bytes) -> None:
    kr = make_keyring({"alice": SHARED_PASS, "bob": SHARED_PASS}, vault_key)
    a, b = kr.slots["alice"], kr.slots["bob"]
    assert a.salt != b.salt
    assert a.sealed_private_key != b.sealed_private_key
    assert unlock(kr, "alice", SHARED_PASS) == unlock(kr, "bob", SHARED_PASS) == vault_key


def test_wrong_passphrase(kr: Keyring) -> None:
    with pytest.raises(WrongPassphraseError) as info:
        unlock(kr, "alice", BOB_PASS)
    assert info.value.message == "wrong passphrase for operator 'alice'"
    with pytest.raises(WrongPassphraseError):
        unlock(kr, "alice", b"")
    with pytest.raises(WrongPassphraseError):
        unlock(kr, "alice", ALICE_PASS + b" ")


def test_unknown_operator(kr: Keyring) -> None:
    with pytest.raises(UnknownOperatorError) as info:
        unlock(kr, "mallory", ALICE_PASS)
    assert info.value.message == "unknown operator 'mallory'"


def test_passphrase_must_be_bytes(kr: Keyring) -> None:
    with pytest.raises(TypeError):
        unlock(kr, "alice", ALICE_PASS.decode())  # type: ignore[arg-type]


def test_adding_an_existing_operator_conflicts(kr: Keyring, vault_key: bytes) -> None:
    with pytest.raises(ConflictError):
        with_operator(kr, "alice", b"another", vault_key, TEST_PROFILE)


@pytest.mark.parametrize(
    "name", ["", " alice", "bob\n", "a\x1b[31m", "e\u0301", "x" * 65, "a\u202eb"]
)
def test_bad_operator_names_are_refused(kr: Keyring, vault_key: bytes, name: str) -> None:
    with pytest.raises(InvalidInputError):
        with_operator(kr, name, b"pass", vault_key, TEST_PROFILE)


def test_bad_inputs_are_refused(kr: Keyring, vault_key: bytes) -> None:
    with pytest.raises(InvalidInputError):
        with_operator(kr, "carol", b"", vault_key, TEST_PROFILE)
    with pytest.raises(InvalidInputError):
        with_operator(kr, "carol", CAROL_PASS, vault_key[:16], TEST_PROFILE)
    with pytest.raises(InvalidInputError):
        new_keyring("")
    with pytest.raises(InvalidInputError):
        new_keyring("../etc")
    with pytest.raises(InvalidInputError):
        KdfProfile(1, 7, 1)  # Argon2 needs at least 8 KiB per lane
    with pytest.raises(InvalidInputError):
        KdfProfile(0, 64, 1)


def test_keyring_is_immutable(kr: Keyring) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        kr.generation = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        kr.slots["carol"] = kr.slots["alice"]  # type: ignore[index]


# --------------------------------------------------------------------------- binding


@pytest.mark.parametrize(
    "fields",
    [
        combo
        for size in range(1, len(SLOT_FIELDS) + 1)
        for combo in itertools.combinations(SLOT_FIELDS, size)
    ],
    ids=lambda combo: "+".join(combo),
)
def test_swapping_slot_fields_between_operators_fails(vault_key: bytes, fields: tuple) -> None:
    # Same passphrase for both: the worst case, where only the binding can tell them apart.
    kr = make_keyring({"alice": SHARED_PASS, "bob": SHARED_PASS}, vault_key)
    doc = document(kr)
    a, b = doc["slots"]["alice"], doc["slots"]["bob"]
    for field in fields:
        a[field], b[field] = b[field], a[field]
    swapped = from_document(doc)
    for name in ("alice", "bob"):
        with pytest.raises((WrongPassphraseError, IntegrityError)):
            unlock(swapped, name, SHARED_PASS)


def test_slot_cannot_be_moved_to_another_vault() -> None:
    key_a, key_b = os.urandom(32), os.urandom(32)
    kr_a = make_keyring({"alice": SHARED_PASS}, key_a, vault_id="vault-a")
    kr_b = make_keyring({"alice": SHARED_PASS, "bob": SHARED_PASS}, key_b, vault_id="vault-b")
    transplanted = dataclasses.replace(kr_b, slots={**kr_b.slots, "alice": kr_a.slots["alice"]})
    with pytest.raises((WrongPassphraseError, IntegrityError)):
        unlock(transplanted, "alice", SHARED_PASS)
    # Only the vault-key box moved: the private key opens, the box does not.
    box_only = dataclasses.replace(
        kr_b.slots["alice"], sealed_vault_key=kr_a.slots["alice"].sealed_vault_key
    )
    with pytest.raises(IntegrityError):
        unlock(
            dataclasses.replace(kr_b, slots={**kr_b.slots, "alice": box_only}), "alice", SHARED_PASS
        )


def test_vault_key_box_is_bound_to_the_generation(kr: Keyring) -> None:
    doc = document(kr)
    doc["generation"] = 2
    with pytest.raises(IntegrityError) as info:
        unlock(from_document(doc), "alice", ALICE_PASS)
    assert info.value.message == "keyring slot for 'alice' is damaged"


def _flip(data: bytes, index: int, mask: int) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


def _tampered_slot(slot: Slot, field: str, index: int, mask: int) -> Slot:
    return dataclasses.replace(slot, **{field: _flip(getattr(slot, field), index, mask)})


@pytest.mark.parametrize("field", SEALED_FIELDS)
def test_flipping_any_byte_of_a_sealed_field_is_detected(field: str) -> None:
    kr, vault_key = shared_fixture()
    slot = kr.slots["alice"]
    expected = IntegrityError if field == "sealed_vault_key" else WrongPassphraseError
    for index in range(len(getattr(slot, field))):
        bad = _tampered_slot(slot, field, index, 0x01)
        with pytest.raises(expected):
            unlock(dataclasses.replace(kr, slots={**kr.slots, "alice": bad}), "alice", ALICE_PASS)


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(SEALED_FIELDS), data=st.data())
def test_any_tampering_of_a_sealed_field_raises_an_smvault_error(field: str, data) -> None:
    kr, _ = shared_fixture()
    slot = kr.slots["alice"]
    index = data.draw(st.integers(0, len(getattr(slot, field)) - 1))
    mask = data.draw(st.integers(1, 255))
    bad = _tampered_slot(slot, field, index, mask)
    with pytest.raises((WrongPassphraseError, IntegrityError)):
        unlock(dataclasses.replace(kr, slots={**kr.slots, "alice": bad}), "alice", ALICE_PASS)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_byte_edit_of_the_file_is_an_error_or_harmless(data) -> None:
    kr, vault_key = shared_fixture()
    raw = to_json(kr)
    index = data.draw(st.integers(0, len(raw) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != raw[index]))
    edited = raw[:index] + bytes([replacement]) + raw[index + 1 :]
    try:
        parsed = from_json(edited)
    except IntegrityError:
        return
    for name, passphrase in (("alice", ALICE_PASS), ("bob", BOB_PASS)):
        try:
            assert unlock(parsed, name, passphrase) == vault_key
        except SmvaultError:
            pass


@settings(deadline=None, max_examples=100)
@given(cut=st.integers(0, 10_000))
def test_truncated_file_is_damaged(cut: int) -> None:
    kr, _ = shared_fixture()
    raw = to_json(kr).rstrip()  # cutting only the final newline leaves valid JSON
    prefix = raw[: cut % len(raw)]
    with pytest.raises(IntegrityError):
        from_json(prefix)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_byte_edit_of_the_recovery_slot_is_an_error_or_harmless(data) -> None:
    """An edit either fails to parse, changes nothing the slot means (it still opens), or
    changes the slot: then the shares no longer open it, and the vault's public record of
    the keyring tells it apart whenever a public field changed."""
    kr, vault_key = shared_fixture()
    kitted = with_kit(kr, vault_key)
    raw = to_json(kitted)
    start = raw.index(b'"recovery"')
    index = data.draw(st.integers(start, len(raw) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != raw[index]))
    edited = raw[:index] + bytes([replacement]) + raw[index + 1 :]
    try:
        parsed = from_json(edited)
    except IntegrityError:
        return
    if parsed == kitted:  # e.g. whitespace: harmless, and it must still open
        assert unlock_recovery(parsed, RECOVERY_SECRET) == vault_key
        return
    assert parsed.slots == kitted.slots and parsed.recovery != kitted.recovery
    with pytest.raises(SmvaultError):
        unlock_recovery(parsed, RECOVERY_SECRET)
    public = ("kit_id", "identifier", "threshold", "custodians", "created_at", "public_key")
    if any(getattr(parsed.recovery, f) != getattr(kitted.recovery, f) for f in public):
        assert keyring.record_differences(parsed, keyring.public_record(kitted))


# --------------------------------------------------------------------------- malformed files


def _broken(kr: Keyring, edit) -> bytes:
    doc = document(kr)
    edit(doc)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["slots"]["alice"]["kdf"].pop("salt"),
            "keyring.json is damaged: missing field, at slots.alice.kdf.salt",
        ),
        (
            lambda d: d["slots"]["bob"].update(extra=1),
            "keyring.json is damaged: unexpected field, at slots.bob.extra",
        ),
        (
            lambda d: d["slots"]["alice"].update(public_key="@@@@"),
            "keyring.json is damaged: invalid base64, at slots.alice.public_key",
        ),
        (
            lambda d: d["slots"]["alice"].update(public_key="AAAA"),
            "keyring.json is damaged: wrong length, at slots.alice.public_key",
        ),
        (
            lambda d: d["slots"]["alice"]["kdf"].update(t="3"),
            "keyring.json is damaged: expected an integer, at slots.alice.kdf.t",
        ),
        (
            lambda d: d["slots"]["alice"]["kdf"].update(t=True),
            "keyring.json is damaged: expected an integer, at slots.alice.kdf.t",
        ),
        (
            lambda d: d["slots"]["alice"]["kdf"].update(alg="scrypt"),
            "keyring.json is damaged: unsupported key derivation, at slots.alice.kdf.alg",
        ),
        (
            lambda d: d.update(generation=0),
            "keyring.json is damaged: not a positive integer, at generation",
        ),
        (
            lambda d: d.update(format="other"),
            "keyring.json is damaged: not an smvault keyring, at format",
        ),
        (lambda d: d.update(slots={}), "keyring.json is damaged: no operator slots, at slots"),
        (
            lambda d: d.update(recovery=[1]),
            "keyring.json is damaged: expected an object or null, at recovery",
        ),
        (lambda d: d.pop("vault_id"), "keyring.json is damaged: missing field, at vault_id"),
    ],
)
def test_malformed_fields_are_reported_by_name(kr: Keyring, edit, message: str) -> None:
    with pytest.raises(IntegrityError) as info:
        from_json(_broken(kr, edit))
    assert info.value.message == message


def test_kdf_parameters_out_of_range_are_damage(kr: Keyring) -> None:
    for params in ({"m": 7}, {"p": 0}, {"t": 10**6}, {"m": 2**40}):
        data = _broken(kr, lambda d: d["slots"]["alice"]["kdf"].update(params))
        with pytest.raises(IntegrityError) as info:
            from_json(data)
        assert info.value.message.endswith("at slots.alice.kdf")


def test_non_canonical_base64_is_damage(kr: Keyring) -> None:
    salt = document(kr)["slots"]["alice"]["kdf"]["salt"]  # 16 bytes -> ends in "=="
    last = salt[-3]
    other = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    sibling = next(
        c
        for c in other
        if c != last and base64.b64decode(salt[:-3] + c + "==") == base64.b64decode(salt)
    )
    data = _broken(kr, lambda d: d["slots"]["alice"]["kdf"].update(salt=salt[:-3] + sibling + "=="))
    with pytest.raises(IntegrityError, match="non-canonical base64"):
        from_json(data)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "invalid JSON"),
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[]", "expected an object, at the top level"),
        (b'{"format": "smvault-keyring", "format": "x"}', "a key appears twice"),
        (b'{"a": NaN}', "NaN is not allowed"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid JSON"),
        (b'{"format": "smvault-keyring", "version": 2}', "format version 2 is not supported"),
        (
            b'{"format": "smvault-keyring", "version": 1, "vault_id": 1' + b"0" * 5000 + b"}",
            "invalid JSON",
        ),
    ],
)
def test_garbage_is_damage_not_a_crash(data: bytes, fragment: str) -> None:
    with pytest.raises(IntegrityError, match="keyring.json is damaged") as info:
        from_json(data)
    assert fragment in info.value.message


def test_duplicate_operator_in_file_is_damage(kr: Keyring) -> None:
    text = to_json(kr).decode()
    alice = json.dumps(document(kr)["slots"]["alice"])
    duplicated = text.replace('"slots": {', '"slots": {"alice": ' + alice + ",", 1)
    with pytest.raises(IntegrityError, match="a key appears twice"):
        from_json(duplicated.encode())


# --------------------------------------------------------------------------- passphrase change


def test_change_passphrase(kr: Keyring, vault_key: bytes) -> None:
    new_profile = KdfProfile(2, 128, 1)
    changed = with_passphrase(kr, "alice", ALICE_PASS, b"a brand new passphrase", new_profile)
    with pytest.raises(WrongPassphraseError):
        unlock(changed, "alice", ALICE_PASS)
    assert unlock(changed, "alice", b"a brand new passphrase") == vault_key
    assert unlock(changed, "bob", BOB_PASS) == vault_key
    old, new = kr.slots["alice"], changed.slots["alice"]
    assert new.public_key == old.public_key
    assert new.sealed_vault_key == old.sealed_vault_key
    assert new.salt != old.salt
    assert new.profile == new_profile
    assert changed.generation == kr.generation
    assert changed.slots["bob"] == kr.slots["bob"]
    # the change survives the file
    assert unlock(from_json(to_json(changed)), "alice", b"a brand new passphrase") == vault_key


def test_change_passphrase_needs_the_old_one(kr: Keyring) -> None:
    with pytest.raises(WrongPassphraseError):
        with_passphrase(kr, "alice", BOB_PASS, b"new", TEST_PROFILE)
    with pytest.raises(UnknownOperatorError):
        with_passphrase(kr, "mallory", ALICE_PASS, b"new", TEST_PROFILE)
    with pytest.raises(InvalidInputError):
        with_passphrase(kr, "alice", ALICE_PASS, b"", TEST_PROFILE)


# --------------------------------------------------------------------------- removal and rekey


def test_without_operator(vault_key: bytes) -> None:
    kr = make_keyring({"alice": ALICE_PASS, "bob": BOB_PASS, "carol": CAROL_PASS}, vault_key)
    new_key = os.urandom(32)
    after = without_operator(kr, "bob", new_key)

    assert set(after.slots) == {"alice", "carol"}
    assert after.generation == kr.generation + 1
    assert unlock(after, "alice", ALICE_PASS) == new_key
    assert unlock(after, "carol", CAROL_PASS) == new_key
    with pytest.raises(UnknownOperatorError):
        unlock(after, "bob", BOB_PASS)
    # the remaining operators' passphrases and key pairs are unchanged
    for name in ("alice", "carol"):
        assert after.slots[name].public_key == kr.slots[name].public_key
        assert after.slots[name].sealed_private_key == kr.slots[name].sealed_private_key
        assert after.slots[name].sealed_vault_key != kr.slots[name].sealed_vault_key

    # Bob kept everything he had: his old slot, his passphrase, his private key, the old key.
    assert unlock(kr, "bob", BOB_PASS) == vault_key != new_key
    bob_private = keyring._open_private_key(kr, kr.slots["bob"], BOB_PASS)
    for name in ("alice", "carol"):
        with pytest.raises(IntegrityError):
            keyring._unseal_vault_key(after, after.slots[name], bob_private)
    # Putting his old slot back into the new keyring gives him nothing.
    restored = dataclasses.replace(after, slots={**after.slots, "bob": kr.slots["bob"]})
    with pytest.raises(IntegrityError):
        unlock(restored, "bob", BOB_PASS)
    # Nor does sealing his old box into one of the remaining slots.
    for name in ("alice", "carol"):
        grafted = dataclasses.replace(
            after.slots[name], sealed_vault_key=kr.slots["bob"].sealed_vault_key
        )
        with pytest.raises(IntegrityError):
            unlock(
                dataclasses.replace(after, slots={**after.slots, name: grafted}),
                name,
                ALICE_PASS if name == "alice" else CAROL_PASS,
            )


def test_cannot_remove_the_last_or_an_unknown_operator(vault_key: bytes) -> None:
    kr = make_keyring({"alice": ALICE_PASS}, vault_key)
    with pytest.raises(PolicyError):
        without_operator(kr, "alice", os.urandom(32))
    with pytest.raises(NotFoundError):
        without_operator(kr, "bob", os.urandom(32))
    with pytest.raises(InvalidInputError):
        without_operator(make_keyring({"a": b"1", "b": b"2"}, vault_key), "a", b"short")


def test_resealed(kr: Keyring, vault_key: bytes) -> None:
    new_key = os.urandom(32)
    after = resealed(kr, new_key)
    assert after.generation == kr.generation + 1
    assert set(after.slots) == set(kr.slots)
    assert unlock(after, "alice", ALICE_PASS) == new_key
    assert unlock(after, "bob", BOB_PASS) == new_key
    assert unlock(kr, "alice", ALICE_PASS) == vault_key  # the old keyring is untouched


# --------------------------------------------------------------------------- recovery slot


RECOVERY_SECRET = bytes(range(16))
KIT = {
    "kit_id": "0b7c3c52-7d1e-4f57-9a55-2f1d2c6f3e01",
    "identifier": 4321,
    "threshold": 2,
    "custodians": ("dana@example.com", "eve@example.com", "frank@example.com"),
    "created_at": "2026-11-02T09:30:00Z",
}


def with_kit(kr: Keyring, vault_key: bytes, secret: bytes = RECOVERY_SECRET) -> Keyring:
    return with_recovery(kr, secret, vault_key, **KIT)


def test_recovery_slot_round_trips_and_survives_slot_changes(
    tmp_path: Path, kr: Keyring, vault_key: bytes
) -> None:
    kitted = with_kit(kr, vault_key)
    slot = kitted.recovery
    assert isinstance(slot, RecoverySlot)
    assert (slot.kit_id, slot.identifier, slot.threshold, slot.custodians, slot.created_at) == tuple(
        KIT.values()
    )
    assert from_json(to_json(kitted)) == kitted
    assert set(document(kitted)["recovery"]) == {*KIT, "public_key", "sealed_vault_key"}
    save(tmp_path, kitted)
    assert load(tmp_path) == kitted
    assert unlock_recovery(load(tmp_path), RECOVERY_SECRET) == vault_key
    # operations that keep the vault key keep the recovery slot as it is
    added = with_operator(kitted, "carol", CAROL_PASS, vault_key, TEST_PROFILE)
    assert added.recovery == slot
    changed = with_passphrase(kitted, "bob", BOB_PASS, b"new", TEST_PROFILE)
    assert changed.recovery == slot
    # reprs name the kit, not its custodians or any key material
    for text in (repr(kitted), repr(slot)):
        assert KIT["kit_id"] in text and "dana" not in text
        assert base64.b64encode(slot.sealed_vault_key).decode() not in text


def test_wrong_secret_and_no_kit(kr: Keyring, vault_key: bytes) -> None:
    kitted = with_kit(kr, vault_key)
    with pytest.raises(WrongSharesError) as info:
        unlock_recovery(kitted, bytes(16))
    assert isinstance(info.value, WrongPassphraseError) and info.value.exit_code == 3
    assert info.value.message == "these shares do not open this vault's current emergency kit"
    with pytest.raises(NotFoundError, match="no emergency kit"):
        unlock_recovery(kr, RECOVERY_SECRET)
    with pytest.raises(InvalidInputError):
        unlock_recovery(kitted, b"short")


def test_a_kit_is_replaced_only_through_a_rekey(kr: Keyring, vault_key: bytes) -> None:
    kitted = with_kit(kr, vault_key)
    with pytest.raises(ConflictError, match="rekey"):
        with_kit(kitted, vault_key, secret=bytes(16))
    new_key = os.urandom(32)
    cleared = resealed(kitted, new_key, recovery=None)
    assert cleared.recovery is None
    replaced = with_recovery(cleared, bytes(16), new_key, **{**KIT, "kit_id": "second-kit"})
    assert unlock_recovery(replaced, bytes(16)) == new_key
    with pytest.raises(WrongSharesError):
        unlock_recovery(replaced, RECOVERY_SECRET)


def test_rekeys_reseal_the_recovery_slot_without_the_shares(kr: Keyring, vault_key: bytes) -> None:
    kitted = with_kit(kr, vault_key)
    new_key = os.urandom(32)
    removed = without_operator(kitted, "bob", new_key)
    assert removed.generation == kitted.generation + 1
    assert unlock_recovery(removed, RECOVERY_SECRET) == new_key
    assert removed.recovery.public_key == kitted.recovery.public_key
    again = os.urandom(32)
    assert unlock_recovery(resealed(removed, again), RECOVERY_SECRET) == again
    with pytest.raises(TypeError):
        resealed(kitted, new_key, recovery={"opaque": True})


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r.update(identifier=r["identifier"] + 1),
        lambda r: r.update(threshold=3),
        lambda r: r.update(custodians=list(reversed(r["custodians"]))),
        lambda r: r.update(custodians=[*r["custodians"][:2], "mallory@example.com"]),
        lambda r: r.update(created_at="2027-01-01T00:00:00Z"),
    ],
    ids=["identifier", "threshold", "custodian order", "custodian swapped", "created_at"],
)
def test_editing_what_the_kit_says_is_detected(kr: Keyring, vault_key: bytes, edit) -> None:
    doc = document(with_kit(kr, vault_key))
    edit(doc["recovery"])
    edited = from_document(doc)
    with pytest.raises(IntegrityError, match="recovery slot .* is damaged"):
        unlock_recovery(edited, RECOVERY_SECRET)


def test_the_recovery_box_is_bound_to_vault_generation_and_kit(kr: Keyring, vault_key: bytes) -> None:
    kitted = with_kit(kr, vault_key)
    older = document(kitted)
    doc = document(kitted)
    doc["generation"] += 1
    with pytest.raises(IntegrityError):
        unlock_recovery(from_document(doc), RECOVERY_SECRET)
    # another kit id derives another key pair: the shares no longer match
    doc = document(kitted)
    doc["recovery"]["kit_id"] = "another-kit"
    with pytest.raises(WrongSharesError):
        unlock_recovery(from_document(doc), RECOVERY_SECRET)
    # the same kit moved into another vault's keyring (same secret) opens nothing there
    other = with_kit(make_keyring({"alice": ALICE_PASS}, vault_key, vault_id="vault-other"), vault_key)
    moved = document(other)
    moved["recovery"] = older["recovery"]
    with pytest.raises(SmvaultError):
        unlock_recovery(from_document(moved), RECOVERY_SECRET)
    # a box from one generation pasted into the next
    rekeyed = document(resealed(kitted, os.urandom(32)))
    rekeyed["recovery"]["sealed_vault_key"] = older["recovery"]["sealed_vault_key"]
    with pytest.raises(IntegrityError):
        unlock_recovery(from_document(rekeyed), RECOVERY_SECRET)


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda r: r.pop("threshold"), "missing field, at recovery.threshold"),
        (lambda r: r.update(extra=1), "unexpected field, at recovery.extra"),
        (lambda r: r.update(kit_id="../etc"), "not a valid kit id, at recovery.kit_id"),
        (lambda r: r.update(identifier=2**15), "not a SLIP-39 identifier (0 to 32767), at recovery.identifier"),
        (lambda r: r.update(identifier="7"), "expected an integer, at recovery.identifier"),
        (lambda r: r.update(threshold=1), "not from 2 to the number of custodians, at recovery.threshold"),
        (lambda r: r.update(threshold=4), "not from 2 to the number of custodians, at recovery.threshold"),
        (lambda r: r.update(custodians="dana@example.com"), "expected a list, at recovery.custodians"),
        (lambda r: r.update(custodians=["dana@example.com"]), "a kit has 2 to 16 custodians, at recovery.custodians"),
        (lambda r: r["custodians"].append("dana@example.com"), "a custodian appears twice, at recovery.custodians[3]"),
        (lambda r: r["custodians"].__setitem__(1, "eve\x1b@example.com"),
         "not a valid custodian email, at recovery.custodians[1]"),
        (lambda r: r.update(created_at="yesterday"), "not a UTC timestamp, at recovery.created_at"),
        (lambda r: r.update(public_key="AAAA"), "wrong length, at recovery.public_key"),
        (lambda r: r.update(sealed_vault_key="!!"), "invalid base64, at recovery.sealed_vault_key"),
    ],
)
def test_malformed_recovery_fields_are_named(kr: Keyring, vault_key: bytes, edit, where: str) -> None:
    doc = document(with_kit(kr, vault_key))
    edit(doc["recovery"])
    with pytest.raises(IntegrityError) as info:
        from_document(doc)
    assert info.value.message == f"keyring.json is damaged: {where}"


def test_recovery_slot_model_checks(kr: Keyring, vault_key: bytes) -> None:
    with pytest.raises(InvalidInputError, match="custodians"):
        with_recovery(kr, RECOVERY_SECRET, vault_key, **{**KIT, "custodians": ("a@example.com",)})
    with pytest.raises(InvalidInputError, match="threshold"):
        with_recovery(kr, RECOVERY_SECRET, vault_key, **{**KIT, "threshold": 9})
    with pytest.raises(InvalidInputError, match="distinct"):
        with_recovery(kr, RECOVERY_SECRET, vault_key, **{**KIT, "custodians": ("a@x.io", "a@x.io")})
    with pytest.raises(InvalidInputError):
        dataclasses.replace(kr, recovery={"opaque": "dict"})


def test_custodians_follow_the_email_rule_no_hidden_characters(kr: Keyring, vault_key: bytes) -> None:
    """The same rule as models.normalize_email: no spaces, no control characters and no
    format characters (zero-width, bidi overrides), which would make a custodian's address
    on a sheet or screen read as someone else's."""
    good = ("a@example.com", "b@example.com")
    assert with_recovery(kr, RECOVERY_SECRET, vault_key, **{**KIT, "custodians": good}).recovery.custodians == good
    for bad in ("a\x1b@example.com", "a b@example.com", "a\u200b@example.com", "a\u202e@example.com"):
        with pytest.raises(InvalidInputError):
            normalize_email(bad)
        with pytest.raises(InvalidInputError, match="without spaces, control or format characters"):
            with_recovery(kr, RECOVERY_SECRET, vault_key, **{**KIT, "custodians": (bad, "b@example.com")})


# --------------------------------------------------------------------------- files


def test_load_missing_vault(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as info:
        load(tmp_path)
    assert info.value.message == f"no vault at {tmp_path} (no keyring.json)"
    with pytest.raises(NotFoundError):
        load(tmp_path / "does-not-exist")


def test_load_damaged_file(tmp_path: Path, kr: Keyring) -> None:
    (tmp_path / KEYRING_FILE).write_bytes(to_json(kr)[:-20])
    with pytest.raises(IntegrityError, match="^keyring.json is damaged: invalid JSON"):
        load(tmp_path)


def test_save_keeps_a_backup_and_leaves_no_temp_files(
    tmp_path: Path, kr: Keyring, vault_key: bytes
) -> None:
    path, bak = tmp_path / KEYRING_FILE, tmp_path / (KEYRING_FILE + BACKUP_SUFFIX)
    save(tmp_path, kr)
    assert not bak.exists()
    first = path.read_bytes()

    second_kr = with_operator(kr, "carol", CAROL_PASS, vault_key, TEST_PROFILE)
    save(tmp_path, second_kr)
    assert path.read_bytes() == to_json(second_kr)
    assert bak.read_bytes() == first
    assert load(tmp_path) == second_kr

    third_kr = with_passphrase(second_kr, "carol", CAROL_PASS, b"carol 2", TEST_PROFILE)
    save(tmp_path, third_kr)
    assert bak.read_bytes() == to_json(second_kr)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [KEYRING_FILE, KEYRING_FILE + BACKUP_SUFFIX]


def test_save_is_atomic_when_the_final_rename_fails(
    tmp_path: Path, kr: Keyring, vault_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    save(tmp_path, kr)
    before = (tmp_path / KEYRING_FILE).read_bytes()
    real_replace = os.replace

    def crash_on_keyring(src, dst):
        if Path(dst).name == KEYRING_FILE:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(keyring.os, "replace", crash_on_keyring)
    changed = with_operator(kr, "carol", CAROL_PASS, vault_key, TEST_PROFILE)
    with pytest.raises(SmvaultError, match="cannot write"):
        save(tmp_path, changed)
    monkeypatch.undo()

    assert (tmp_path / KEYRING_FILE).read_bytes() == before
    assert load(tmp_path) == kr
    assert not (tmp_path / (KEYRING_FILE + ".tmp")).exists()
    save(tmp_path, changed)
    assert load(tmp_path) == changed


def test_stale_temp_files_do_not_block_a_save(tmp_path: Path, kr: Keyring) -> None:
    (tmp_path / (KEYRING_FILE + ".tmp")).write_bytes(b"half-written")
    (tmp_path / (KEYRING_FILE + ".bak.tmp")).write_bytes(b"half-written")
    save(tmp_path, kr)
    save(tmp_path, kr)
    assert load(tmp_path) == kr
    assert (tmp_path / (KEYRING_FILE + BACKUP_SUFFIX)).read_bytes() == to_json(kr)


def test_save_fsyncs_file_and_directory(
    tmp_path: Path, kr: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[bool] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(keyring.os, "fsync", spy)
    save(tmp_path, kr)
    assert synced == [False, True]


def test_saved_files_are_private(tmp_path: Path, kr: Keyring, vault_key: bytes) -> None:
    old_umask = os.umask(0)
    try:
        save(tmp_path, kr)
        save(tmp_path, kr)
        save_pending(tmp_path, resealed(kr, os.urandom(32)))
    finally:
        os.umask(old_umask)
    for name in (KEYRING_FILE, KEYRING_FILE + BACKUP_SUFFIX, KEYRING_FILE + PENDING_SUFFIX):
        assert mode(tmp_path / name) == 0o600, name


def test_save_guards(tmp_path: Path, kr: Keyring, vault_key: bytes) -> None:
    with pytest.raises(PolicyError):
        save(tmp_path, new_keyring(VAULT_ID))
    save(tmp_path, kr)
    other = make_keyring({"alice": ALICE_PASS}, vault_key, vault_id="another-vault")
    with pytest.raises(ConflictError):
        save(tmp_path, other)
    newer = resealed(kr, os.urandom(32))
    save(tmp_path, newer)
    with pytest.raises(ConflictError):  # a stale keyring would seal the old key to everyone
        save(tmp_path, kr)
    assert load(tmp_path) == newer
    (tmp_path / KEYRING_FILE).write_bytes(b"{damaged")
    with pytest.raises(IntegrityError):
        save(tmp_path, newer)


def test_pending_lifecycle(tmp_path: Path, kr: Keyring, vault_key: bytes) -> None:
    path = tmp_path / KEYRING_FILE
    pending_path = tmp_path / (KEYRING_FILE + PENDING_SUFFIX)
    save(tmp_path, kr)
    assert load_pending(tmp_path) is None
    with pytest.raises(NotFoundError):
        commit_pending(tmp_path)

    new_key = os.urandom(32)
    nxt = without_operator(kr, "bob", new_key)
    save_pending(tmp_path, nxt)
    assert load_pending(tmp_path) == nxt
    assert load(tmp_path) == kr  # nothing promoted yet

    discard_pending(tmp_path)
    assert load_pending(tmp_path) is None
    assert not pending_path.exists()
    discard_pending(tmp_path)  # idempotent

    save_pending(tmp_path, nxt)
    commit_pending(tmp_path)
    assert load(tmp_path) == nxt
    assert unlock(load(tmp_path), "alice", ALICE_PASS) == new_key
    assert (tmp_path / (KEYRING_FILE + BACKUP_SUFFIX)).read_bytes() == to_json(kr)
    assert not pending_path.exists()
    assert load_pending(tmp_path) is None
    assert mode(path) == 0o600


def test_pending_guards(tmp_path: Path, kr: Keyring, vault_key: bytes) -> None:
    with pytest.raises(NotFoundError):
        save_pending(tmp_path, resealed(kr, os.urandom(32)))  # no vault yet
    save(tmp_path, kr)
    with pytest.raises(ConflictError):
        save_pending(tmp_path, kr)  # same generation: not a rekey
    other = make_keyring({"alice": ALICE_PASS}, vault_key, vault_id="another-vault")
    with pytest.raises(ConflictError):
        save_pending(tmp_path, resealed(other, os.urandom(32)))
    # a pending file overtaken by a later save cannot be committed over it
    nxt = resealed(kr, os.urandom(32))
    save_pending(tmp_path, nxt)
    save(tmp_path, resealed(nxt, os.urandom(32)))
    with pytest.raises(ConflictError):
        commit_pending(tmp_path)
    (tmp_path / (KEYRING_FILE + PENDING_SUFFIX)).write_bytes(b"[]")
    with pytest.raises(IntegrityError, match="^keyring.json.pending is damaged"):
        load_pending(tmp_path)


# --------------------------------------------------------------------------- no secrets leak


def _encodings(secret: bytes) -> list[bytes]:
    """The secret raw, in hex, and in base64 at each of the three byte alignments."""
    forms = [secret, secret.hex().encode(), secret.hex().upper().encode()]
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * pad + secret)
            forms.append(encoded[4 if pad else 0 : -4])
    return forms


def _assert_absent(secret: bytes, haystack: bytes, what: str) -> None:
    for form in _encodings(secret):
        assert form not in haystack, f"a form of {what} appears"


def test_no_secret_in_repr_messages_or_files(tmp_path: Path, vault_key: bytes) -> None:
    passphrases = {"alice": ALICE_PASS, "bob": BOB_PASS, "carol": CAROL_PASS}
    kr = make_keyring(passphrases, vault_key)
    new_key = os.urandom(32)
    after = without_operator(kr, "carol", new_key)
    save(tmp_path, kr)
    save(tmp_path, after)  # keyring.json + .bak
    save_pending(tmp_path, resealed(after, os.urandom(32)))

    secrets: dict[str, bytes] = {"vault key": vault_key, "new vault key": new_key}
    for name, passphrase in passphrases.items():
        slot = kr.slots[name]
        secrets[f"{name}'s passphrase"] = passphrase
        secrets[f"{name}'s key-encryption key"] = derive_key(passphrase, slot.salt, slot.profile)
        private = keyring._open_private_key(kr, slot, passphrase)
        secrets[f"{name}'s private key"] = private.private_bytes_raw()

    messages = []
    for operation in (
        lambda: unlock(kr, "alice", BOB_PASS),
        lambda: unlock(kr, "nobody", ALICE_PASS),
        lambda: with_passphrase(kr, "bob", ALICE_PASS, BOB_PASS, TEST_PROFILE),
        lambda: unlock(dataclasses.replace(kr, generation=9), "alice", ALICE_PASS),
    ):
        with pytest.raises(SmvaultError) as info:
            operation()
        messages.append(str(info.value))

    haystacks = {
        "repr": "\n".join([repr(kr), repr(after), *map(repr, kr.slots.values()), str(kr)]).encode(),
        "messages": "\n".join(messages).encode(),
        **{p.name: p.read_bytes() for p in tmp_path.iterdir()},
    }
    assert len(haystacks) == 5  # repr, messages, keyring.json, .bak, .pending
    for where, haystack in haystacks.items():
        for what, secret in secrets.items():
            _assert_absent(secret, haystack, f"{what} in {where}")
    assert repr(kr.slots["alice"]) == (
        "Slot(operator='alice', profile=KdfProfile(time_cost=1, memory_kib=64, parallelism=1))"
    )


# --------------------------------------------------------------------------- the real profile


@pytest.mark.slow
def test_default_profile_is_stored_in_the_slot(tmp_path: Path, vault_key: bytes) -> None:
    assert (DEFAULT_PROFILE.time_cost, DEFAULT_PROFILE.memory_kib, DEFAULT_PROFILE.parallelism) == (
        3,
        65536,
        4,
    )
    kr = with_operator(new_keyring(VAULT_ID), "alice", ALICE_PASS, vault_key, DEFAULT_PROFILE)
    assert kr.slots["alice"].profile == DEFAULT_PROFILE
    save(tmp_path, kr)
    kdf = json.loads((tmp_path / KEYRING_FILE).read_bytes())["slots"]["alice"]["kdf"]
    assert (kdf["alg"], kdf["t"], kdf["m"], kdf["p"]) == ("argon2id", 3, 65536, 4)
    loaded = load(tmp_path)
    assert loaded.slots["alice"].profile == DEFAULT_PROFILE
    started = time.perf_counter()
    assert unlock(loaded, "alice", ALICE_PASS) == vault_key
    elapsed = time.perf_counter() - started
    print(f"unlock with DEFAULT_PROFILE took {elapsed:.3f} s")
    with pytest.raises(WrongPassphraseError):
        unlock(loaded, "alice", BOB_PASS)
