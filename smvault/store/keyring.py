"""The keyring: one slot per operator, each able to recover the vault key.

Each slot holds an X25519 key pair. The private key is sealed (ChaCha20-Poly1305) under a
key-encryption key derived from the operator's passphrase with Argon2id; the vault key is
sealed *to the slot's public key* with an ECIES "sealed box" (ephemeral X25519, HKDF-SHA256,
ChaCha20-Poly1305). So:

- unlock      = Argon2id -> open the private key -> open the vault-key box;
- rekey       = seal a new vault key to every remaining public key; nobody's passphrase needed;
- passphrase  = re-seal the same private key under a new salt and parameters.

Every AEAD binds the keyring format and version, the vault id, the operator name and the
slot's public key (the vault-key box also binds the keyring generation), so a slot cannot be
moved to another operator, another vault or across a rekey.

The optional recovery slot (the emergency kit) works the same way, except that its X25519
private key is never stored: it is derived with HKDF from the kit's recovery secret, which
exists only as SLIP-39 shares held by custodians. A rekey therefore reseals the recovery box
to its public key without anyone's shares. Its box binds the vault id, the generation and the
kit's public description (kit id, SLIP-39 identifier, threshold, custodians, creation time).

Anyone holding the keyring can seal *some* key to an operator's public key (a sealed box does
not authenticate its sender); such a key simply fails to open the database. What this file
guarantees is confidentiality of the vault key and detection of edits, not who wrote a box.

Python cannot wipe memory: passphrases, derived keys, private keys and vault keys live in
ordinary `bytes` objects until the garbage collector reclaims them. Keep their lifetimes short
and never put them in messages, reprs or logs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import unicodedata
from base64 import b64decode, b64encode
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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
from smvault.domain.text import has_hidden_chars
from smvault.store.kdf import MAX_SALT_LEN, MIN_SALT_LEN, KdfProfile, derive_key

KEYRING_FILE: Final = "keyring.json"
BACKUP_SUFFIX: Final = ".bak"
PENDING_SUFFIX: Final = ".pending"
TMP_SUFFIX: Final = ".tmp"

FORMAT: Final = "smvault-keyring"
FORMAT_VERSION: Final = 1

VAULT_KEY_LEN: Final = 32
SALT_LEN: Final = 16
MAX_KEYRING_BYTES: Final = 4 * 1024 * 1024
MAX_OPERATOR_LEN: Final = 64

_KEY_LEN = 32  # X25519 public/private keys, ChaCha20 keys
_NONCE_LEN = 12
_TAG_LEN = 16
_SEALED_PRIVATE_KEY_LEN = _NONCE_LEN + _KEY_LEN + _TAG_LEN  # nonce | ciphertext+tag
_SEALED_VAULT_KEY_LEN = _KEY_LEN + _NONCE_LEN + VAULT_KEY_LEN + _TAG_LEN  # eph pub | nonce | ct+tag

_PURPOSE_PRIVATE_KEY = b"private-key"
_PURPOSE_VAULT_KEY = b"vault-key"
_PURPOSE_RECOVERY_KEY = b"recovery-key"
_PURPOSE_RECOVERY_VAULT_KEY = b"recovery-vault-key"
_HKDF_INFO = b"smvault-keyring/v1 sealed vault key"

RECOVERY_SECRET_LENS: Final = (16, 32)  # the secret SLIP-39 shares carry: 128 or 256 bits
MAX_CUSTODIANS: Final = 16  # SLIP-39's limit on shares in a group
MAX_CUSTODIAN_LEN: Final = 254  # an email address
_SLIP39_IDENTIFIER_LIMIT = 2**15


class WrongSharesError(WrongPassphraseError):
    """Well-formed shares that do not open this vault's current emergency kit."""

    def __init__(self) -> None:
        super().__init__("these shares do not open this vault's current emergency kit")


_VAULT_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


# --------------------------------------------------------------------------- model


def _operator_problem(name: object) -> str | None:
    """Why `name` is not acceptable as an operator name, or None if it is."""
    if not isinstance(name, str):
        return "an operator name must be text"
    if not 1 <= len(name) <= MAX_OPERATOR_LEN:
        return f"an operator name must be 1 to {MAX_OPERATOR_LEN} characters"
    if name != name.strip():
        return "an operator name must not start or end with spaces"
    if unicodedata.normalize("NFC", name) != name:
        return "an operator name must be in Unicode normal form C"
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return "an operator name must not contain control or format characters"
    return None


def _vault_id_ok(vault_id: object) -> bool:
    return isinstance(vault_id, str) and _VAULT_ID_RE.fullmatch(vault_id) is not None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, repr=False)
class Slot:
    """One operator's way in. Holds only public or sealed material."""

    operator: str
    profile: KdfProfile
    salt: bytes
    public_key: bytes
    sealed_private_key: bytes
    sealed_vault_key: bytes

    def __post_init__(self) -> None:
        problem = _operator_problem(self.operator)
        if problem:
            raise InvalidInputError(problem)
        if not isinstance(self.profile, KdfProfile):
            raise InvalidInputError("a slot's profile must be a KdfProfile")
        for field, lengths in (
            ("salt", range(MIN_SALT_LEN, MAX_SALT_LEN + 1)),
            ("public_key", (_KEY_LEN,)),
            ("sealed_private_key", (_SEALED_PRIVATE_KEY_LEN,)),
            ("sealed_vault_key", (_SEALED_VAULT_KEY_LEN,)),
        ):
            value = getattr(self, field)
            if not isinstance(value, bytes) or len(value) not in lengths:
                raise InvalidInputError(f"a slot's {field} has the wrong type or length")

    def __repr__(self) -> str:
        return f"Slot(operator={self.operator!r}, profile={self.profile!r})"


_TIMESTAMP_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _custodian_problem(custodian: object) -> str | None:
    """Why `custodian` is not acceptable as a custodian (an email address), or None."""
    if not isinstance(custodian, str) or not 3 <= len(custodian) <= MAX_CUSTODIAN_LEN:
        return f"a custodian must be an email address of 3 to {MAX_CUSTODIAN_LEN} characters"
    if "@" not in custodian or has_hidden_chars(custodian) or any(ch.isspace() for ch in custodian):
        return "a custodian must be an email address without spaces, control or format characters"
    return None


def _recovery_slot_problem(slot: RecoverySlot) -> str | None:
    """Why the kit described by `slot` is not acceptable, or None (checked on build and load)."""
    if not _vault_id_ok(slot.kit_id):
        return "a kit id must be 1 to 128 letters, digits, '.', '_' or '-'"
    if not _is_int(slot.identifier) or not 0 <= slot.identifier < _SLIP39_IDENTIFIER_LIMIT:
        return f"a kit's SLIP-39 identifier must be an integer from 0 to {_SLIP39_IDENTIFIER_LIMIT - 1}"
    if not isinstance(slot.custodians, tuple) or not 2 <= len(slot.custodians) <= MAX_CUSTODIANS:
        return f"a kit needs 2 to {MAX_CUSTODIANS} custodians"
    for custodian in slot.custodians:
        problem = _custodian_problem(custodian)
        if problem:
            return problem
    if len(set(slot.custodians)) != len(slot.custodians):
        return "a kit's custodians must be distinct"
    if not _is_int(slot.threshold) or not 2 <= slot.threshold <= len(slot.custodians):
        return "a kit's threshold must be from 2 to its number of custodians"
    if not isinstance(slot.created_at, str) or not _TIMESTAMP_RE.fullmatch(slot.created_at):
        return "a kit's creation time must be a UTC timestamp like 2026-01-31T09:30:00Z"
    return None


@dataclass(frozen=True, repr=False)
class RecoverySlot:
    """The emergency kit's way in: the vault key sealed to a key derived from the shares.

    Everything here is public or sealed; `custodians` are emails in SLIP-39 member order
    (share 1 belongs to custodians[0]).
    """

    kit_id: str
    identifier: int  # the SLIP-39 identifier every share of this kit carries
    threshold: int
    custodians: tuple[str, ...]
    created_at: str
    public_key: bytes
    sealed_vault_key: bytes

    def __post_init__(self) -> None:
        if isinstance(self.custodians, list):
            object.__setattr__(self, "custodians", tuple(self.custodians))
        problem = _recovery_slot_problem(self)
        if problem:
            raise InvalidInputError(problem)
        for field, length in (("public_key", _KEY_LEN), ("sealed_vault_key", _SEALED_VAULT_KEY_LEN)):
            value = getattr(self, field)
            if not isinstance(value, bytes) or len(value) != length:
                raise InvalidInputError(f"the recovery slot's {field} has the wrong type or length")

    def __repr__(self) -> str:
        return (
            f"RecoverySlot(kit_id={self.kit_id!r}, threshold={self.threshold},"
            f" custodians={len(self.custodians)})"
        )


@dataclass(frozen=True, repr=False)
class Keyring:
    """All slots of one vault. Immutable: every change returns a new Keyring."""

    vault_id: str
    generation: int
    slots: Mapping[str, Slot]
    recovery: RecoverySlot | None = None  # the emergency kit, if one was created

    def __post_init__(self) -> None:
        if not _vault_id_ok(self.vault_id):
            raise InvalidInputError(
                "a vault id must be 1 to 128 letters, digits, '.', '_' or '-'"
                " and start with a letter or digit"
            )
        if not _is_int(self.generation) or not 1 <= self.generation < 2**63:
            raise InvalidInputError("a keyring generation must be a positive integer")
        slots = dict(self.slots)
        for name, slot in slots.items():
            if not isinstance(slot, Slot) or slot.operator != name:
                raise InvalidInputError("each keyring slot must be filed under its operator's name")
        object.__setattr__(self, "slots", MappingProxyType(slots))
        if self.recovery is not None and not isinstance(self.recovery, RecoverySlot):
            raise InvalidInputError("the recovery slot must be a RecoverySlot or None")

    @property
    def operators(self) -> tuple[str, ...]:
        return tuple(sorted(self.slots))

    def __repr__(self) -> str:
        return (
            f"Keyring(vault_id={self.vault_id!r}, generation={self.generation},"
            f" operators={list(self.operators)!r}, recovery={self.recovery!r})"
        )


# --------------------------------------------------------------------------- crypto


def _encode(*fields: bytes) -> bytes:
    """Unambiguous (length-prefixed) concatenation."""
    return b"".join(len(f).to_bytes(4, "big") + f for f in fields)


def _aad(purpose: bytes, vault_id: str, operator: str, public_key: bytes, *extra: bytes) -> bytes:
    """Everything a box is bound to."""
    return _encode(
        FORMAT.encode(),
        FORMAT_VERSION.to_bytes(4, "big"),
        purpose,
        vault_id.encode(),
        operator.encode(),
        public_key,
        *extra,
    )


def _private_key_aad(vault_id: str, operator: str, public_key: bytes) -> bytes:
    return _aad(_PURPOSE_PRIVATE_KEY, vault_id, operator, public_key)


def _vault_key_aad(vault_id: str, generation: int, operator: str, public_key: bytes) -> bytes:
    return _aad(_PURPOSE_VAULT_KEY, vault_id, operator, public_key, generation.to_bytes(8, "big"))


def _box_key(shared_secret: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    return HKDF(
        algorithm=SHA256(),
        length=_KEY_LEN,
        salt=None,
        info=_HKDF_INFO + ephemeral_public + recipient_public,
    ).derive(shared_secret)


def _damaged_slot(operator: str) -> IntegrityError:
    return IntegrityError(f"keyring slot for '{operator}' is damaged")


def _seal_to(public_key: bytes, vault_key: bytes, aad: bytes) -> bytes:
    """A sealed box (ephemeral X25519 + HKDF + ChaCha20-Poly1305) for `public_key`.

    Raises ValueError for a low-order public key (only a damaged slot can hold one).
    """
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public_key))
    nonce = os.urandom(_NONCE_LEN)
    sealed = ChaCha20Poly1305(_box_key(shared, ephemeral_public, public_key)).encrypt(
        nonce, vault_key, aad
    )
    return ephemeral_public + nonce + sealed


def _open_box(box: bytes, private_key: X25519PrivateKey, public_key: bytes, aad: bytes) -> bytes:
    """The vault key in `box`; raises InvalidTag or ValueError when it does not open."""
    ephemeral_public, nonce, sealed = (
        box[:_KEY_LEN],
        box[_KEY_LEN : _KEY_LEN + _NONCE_LEN],
        box[_KEY_LEN + _NONCE_LEN :],
    )
    shared = private_key.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    vault_key = ChaCha20Poly1305(_box_key(shared, ephemeral_public, public_key)).decrypt(
        nonce, sealed, aad
    )
    if len(vault_key) != VAULT_KEY_LEN:
        raise ValueError("wrong vault key length")
    return vault_key


def _seal_vault_key(
    vault_id: str, generation: int, operator: str, public_key: bytes, vault_key: bytes
) -> bytes:
    try:
        return _seal_to(
            public_key, vault_key, _vault_key_aad(vault_id, generation, operator, public_key)
        )
    except ValueError:
        raise _damaged_slot(operator) from None


def _unseal_vault_key(kr: Keyring, slot: Slot, private_key: X25519PrivateKey) -> bytes:
    aad = _vault_key_aad(kr.vault_id, kr.generation, slot.operator, slot.public_key)
    try:
        return _open_box(slot.sealed_vault_key, private_key, slot.public_key, aad)
    except (InvalidTag, ValueError):
        raise _damaged_slot(slot.operator) from None


# -- the recovery slot


def _recovery_private_key(vault_id: str, kit_id: str, recovery_secret: bytes) -> X25519PrivateKey:
    """The kit's private key, a pure function of the shares' secret (never stored)."""
    info = _encode(
        FORMAT.encode(),
        FORMAT_VERSION.to_bytes(4, "big"),
        _PURPOSE_RECOVERY_KEY,
        vault_id.encode(),
        kit_id.encode(),
    )
    seed = HKDF(algorithm=SHA256(), length=_KEY_LEN, salt=None, info=info).derive(recovery_secret)
    return X25519PrivateKey.from_private_bytes(seed)


def _recovery_aad(vault_id: str, generation: int, slot: RecoverySlot) -> bytes:
    """Binds the box to the vault, the generation and everything the kit says about itself."""
    return _aad(
        _PURPOSE_RECOVERY_VAULT_KEY,
        vault_id,
        slot.kit_id,
        slot.public_key,
        generation.to_bytes(8, "big"),
        slot.identifier.to_bytes(4, "big"),
        slot.threshold.to_bytes(4, "big"),
        slot.created_at.encode(),
        len(slot.custodians).to_bytes(4, "big"),
        *(custodian.encode() for custodian in slot.custodians),
    )


_DAMAGED_RECOVERY = "the keyring's recovery slot (emergency kit) is damaged"


def _sealed_recovery(
    vault_id: str, generation: int, slot: RecoverySlot, vault_key: bytes
) -> RecoverySlot:
    """`slot` with `vault_key` sealed to its public key for `generation` (no shares needed)."""
    try:
        box = _seal_to(slot.public_key, vault_key, _recovery_aad(vault_id, generation, slot))
    except ValueError:
        raise IntegrityError(_DAMAGED_RECOVERY) from None
    return dataclasses.replace(slot, sealed_vault_key=box)


def _seal_private_key(
    vault_id: str,
    operator: str,
    private_key: X25519PrivateKey,
    passphrase: bytes,
    salt: bytes,
    profile: KdfProfile,
) -> bytes:
    public_key = private_key.public_key().public_bytes_raw()
    kek = derive_key(passphrase, salt, profile)
    nonce = os.urandom(_NONCE_LEN)
    sealed = ChaCha20Poly1305(kek).encrypt(
        nonce, private_key.private_bytes_raw(), _private_key_aad(vault_id, operator, public_key)
    )
    return nonce + sealed


def _open_private_key(kr: Keyring, slot: Slot, passphrase: bytes) -> X25519PrivateKey:
    kek = derive_key(passphrase, slot.salt, slot.profile)
    nonce, sealed = slot.sealed_private_key[:_NONCE_LEN], slot.sealed_private_key[_NONCE_LEN:]
    try:
        raw = ChaCha20Poly1305(kek).decrypt(
            nonce, sealed, _private_key_aad(kr.vault_id, slot.operator, slot.public_key)
        )
    except InvalidTag:
        # A wrong passphrase and an edited salt, parameter, name or public key all look alike.
        raise WrongPassphraseError(f"wrong passphrase for operator '{slot.operator}'") from None
    try:
        private_key = X25519PrivateKey.from_private_bytes(raw)
    except ValueError:
        raise _damaged_slot(slot.operator) from None
    if private_key.public_key().public_bytes_raw() != slot.public_key:
        raise _damaged_slot(slot.operator)
    return private_key


def _check_passphrase(passphrase: object, *, allow_empty: bool = False) -> bytes:
    if not isinstance(passphrase, (bytes, bytearray)):
        raise TypeError("a passphrase must be bytes")
    if not allow_empty and not passphrase:
        raise InvalidInputError("the passphrase must not be empty")
    return bytes(passphrase)


def _check_vault_key(vault_key: object) -> bytes:
    if not isinstance(vault_key, (bytes, bytearray)) or len(vault_key) != VAULT_KEY_LEN:
        raise InvalidInputError(f"a vault key must be {VAULT_KEY_LEN} bytes")
    return bytes(vault_key)


def _check_profile(profile: object) -> KdfProfile:
    if not isinstance(profile, KdfProfile):
        raise TypeError("profile must be a KdfProfile")
    return profile


def _new_slot(
    vault_id: str,
    generation: int,
    operator: str,
    private_key: X25519PrivateKey,
    passphrase: bytes,
    profile: KdfProfile,
    sealed_vault_key: bytes | None,
    vault_key: bytes | None = None,
) -> Slot:
    public_key = private_key.public_key().public_bytes_raw()
    salt = os.urandom(SALT_LEN)
    if sealed_vault_key is None:
        assert vault_key is not None
        sealed_vault_key = _seal_vault_key(vault_id, generation, operator, public_key, vault_key)
    return Slot(
        operator=operator,
        profile=profile,
        salt=salt,
        public_key=public_key,
        sealed_private_key=_seal_private_key(
            vault_id, operator, private_key, passphrase, salt, profile
        ),
        sealed_vault_key=sealed_vault_key,
    )


# --------------------------------------------------------------------------- operations


def new_keyring(vault_id: str) -> Keyring:
    """An empty keyring (generation 1). Add an operator before saving it."""
    return Keyring(vault_id=vault_id, generation=1, slots={})


def with_operator(
    kr: Keyring, operator: str, passphrase: bytes, vault_key: bytes, profile: KdfProfile
) -> Keyring:
    """Add a slot for `operator`, with a fresh key pair and salt, sealing `vault_key` to it.

    The caller vouches that `vault_key` is this vault's key (it has just unlocked with it).
    """
    problem = _operator_problem(operator)
    if problem:
        raise InvalidInputError(problem)
    if operator in kr.slots:
        raise ConflictError(f"operator '{operator}' already has a slot in this vault")
    passphrase = _check_passphrase(passphrase)
    vault_key = _check_vault_key(vault_key)
    profile = _check_profile(profile)
    slot = _new_slot(
        kr.vault_id,
        kr.generation,
        operator,
        X25519PrivateKey.generate(),
        passphrase,
        profile,
        sealed_vault_key=None,
        vault_key=vault_key,
    )
    return dataclasses.replace(kr, slots={**kr.slots, operator: slot})


def _slot_for_unlock(kr: Keyring, operator: str) -> Slot:
    slot = kr.slots.get(operator) if isinstance(operator, str) else None
    if slot is None:
        raise UnknownOperatorError(f"unknown operator '{operator}'")
    return slot


def unlock(kr: Keyring, operator: str, passphrase: bytes) -> bytes:
    """The vault key, recovered from `operator`'s slot with `passphrase`."""
    slot = _slot_for_unlock(kr, operator)
    passphrase = _check_passphrase(passphrase, allow_empty=True)
    private_key = _open_private_key(kr, slot, passphrase)
    return _unseal_vault_key(kr, slot, private_key)


def with_passphrase(
    kr: Keyring,
    operator: str,
    old_passphrase: bytes,
    new_passphrase: bytes,
    profile: KdfProfile,
) -> Keyring:
    """Re-seal `operator`'s private key under a new passphrase, salt and parameters.

    The key pair and the vault-key box stay as they are; the box is opened first, so a
    damaged slot is reported now rather than at the next unlock.
    """
    slot = _slot_for_unlock(kr, operator)
    old_passphrase = _check_passphrase(old_passphrase, allow_empty=True)
    new_passphrase = _check_passphrase(new_passphrase)
    profile = _check_profile(profile)
    private_key = _open_private_key(kr, slot, old_passphrase)
    _unseal_vault_key(kr, slot, private_key)
    new_slot = _new_slot(
        kr.vault_id,
        kr.generation,
        operator,
        private_key,
        new_passphrase,
        profile,
        sealed_vault_key=slot.sealed_vault_key,
    )
    return dataclasses.replace(kr, slots={**kr.slots, operator: new_slot})


def _check_recovery_secret(recovery_secret: object) -> bytes:
    if not isinstance(recovery_secret, (bytes, bytearray)) or len(recovery_secret) not in (
        RECOVERY_SECRET_LENS
    ):
        raise InvalidInputError("a recovery secret must be 16 or 32 bytes")
    return bytes(recovery_secret)


def with_recovery(
    kr: Keyring,
    recovery_secret: bytes,
    vault_key: bytes,
    *,
    kit_id: str,
    identifier: int,
    threshold: int,
    custodians: tuple[str, ...] | list[str],
    created_at: str,
) -> Keyring:
    """Add the emergency kit's slot: `vault_key` sealed to the key `recovery_secret` derives.

    Refuses a keyring that already has a kit: replacing one in place would leave the old
    shares working against any old copy of the keyring (keyring.json.bak). Replace a kit by
    rekeying: `resealed(kr, new_key, recovery=None)`, then this, then a database rekey.
    """
    if kr.recovery is not None:
        raise ConflictError(
            "this keyring already has an emergency kit: a new one needs a rekey"
            " (resealed(..., recovery=None) first)"
        )
    recovery_secret = _check_recovery_secret(recovery_secret)
    vault_key = _check_vault_key(vault_key)
    if not _vault_id_ok(kit_id):
        raise InvalidInputError("a kit id must be 1 to 128 letters, digits, '.', '_' or '-'")
    public_key = _recovery_private_key(kr.vault_id, kit_id, recovery_secret).public_key()
    unsealed = RecoverySlot(
        kit_id=kit_id,
        identifier=identifier,
        threshold=threshold,
        custodians=tuple(custodians),
        created_at=created_at,
        public_key=public_key.public_bytes_raw(),
        sealed_vault_key=bytes(_SEALED_VAULT_KEY_LEN),  # a placeholder, replaced just below
    )
    slot = _sealed_recovery(kr.vault_id, kr.generation, unsealed, vault_key)
    return dataclasses.replace(kr, recovery=slot)


def unlock_recovery(kr: Keyring, recovery_secret: bytes) -> bytes:
    """The vault key, recovered from the emergency kit's slot with the shares' secret."""
    slot = kr.recovery
    if slot is None:
        raise NotFoundError("this vault has no emergency kit")
    recovery_secret = _check_recovery_secret(recovery_secret)
    private_key = _recovery_private_key(kr.vault_id, slot.kit_id, recovery_secret)
    if private_key.public_key().public_bytes_raw() != slot.public_key:
        raise WrongSharesError()  # shares of an older kit, or of another vault's
    try:
        return _open_box(
            slot.sealed_vault_key,
            private_key,
            slot.public_key,
            _recovery_aad(kr.vault_id, kr.generation, slot),
        )
    except (InvalidTag, ValueError):
        # The key is right, so the box or what it is bound to (threshold, custodians...) was edited.
        raise IntegrityError(_DAMAGED_RECOVERY) from None


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


_KEEP: Final = _Keep()


def _resealed(
    kr: Keyring, slots: Mapping[str, Slot], new_vault_key: bytes, recovery: object
) -> Keyring:
    """Seal `new_vault_key` to every slot for generation+1.

    The recovery slot is resealed to its own public key (`recovery=KEEP`, the default: the
    emergency kit keeps working across the rekey) or dropped (`recovery=None`, when a new kit
    is about to replace it).
    """
    new_vault_key = _check_vault_key(new_vault_key)
    if recovery is not _KEEP and recovery is not None:
        raise TypeError("recovery must be KEEP (reseal the kit) or None (drop it)")
    generation = kr.generation + 1
    new_slots = {
        name: dataclasses.replace(
            slot,
            sealed_vault_key=_seal_vault_key(
                kr.vault_id, generation, name, slot.public_key, new_vault_key
            ),
        )
        for name, slot in slots.items()
    }
    new_recovery = None
    if recovery is _KEEP and kr.recovery is not None:
        new_recovery = _sealed_recovery(kr.vault_id, generation, kr.recovery, new_vault_key)
    return Keyring(kr.vault_id, generation, new_slots, new_recovery)


def without_operator(kr: Keyring, operator: str, new_vault_key: bytes) -> Keyring:
    """Drop `operator`'s slot and seal `new_vault_key` to every remaining slot (generation+1).

    The removed person may have kept the old vault key, so the database must be rekeyed to
    `new_vault_key` (see save_pending / commit_pending for the two-phase write).
    A recovery slot is resealed to the new key (see `_resealed`).
    """
    if not isinstance(operator, str) or operator not in kr.slots:
        raise NotFoundError(f"unknown operator '{operator}'")
    if len(kr.slots) == 1:
        raise PolicyError(f"cannot remove '{operator}': a vault needs at least one operator")
    remaining = {name: slot for name, slot in kr.slots.items() if name != operator}
    return _resealed(kr, remaining, new_vault_key, _KEEP)


def resealed(kr: Keyring, new_vault_key: bytes, *, recovery: object = _KEEP) -> Keyring:
    """Seal `new_vault_key` to every slot (generation+1), for a rekey without removal."""
    if not kr.slots:
        raise PolicyError("the keyring has no operators to seal a vault key to")
    return _resealed(kr, kr.slots, new_vault_key, recovery)


# --------------------------------------------------------------------------- public record

# keyring.json is an ordinary file: whoever can write it (and nothing else) can swap a public
# key for one of their own. Nothing opens with such a slot, but the next rekey would seal the
# new vault key to it. So the vault keeps the keyring's public half inside its encrypted
# database (store.vault), and every rekey compares the file with that record first.


def public_record(kr: Keyring) -> dict[str, Any]:
    """The keyring's public description: each operator's public key and the recovery slot's
    public fields (never a sealed box: those change at every rekey and vouch for nothing)."""
    recovery = kr.recovery
    return {
        "operators": {
            name: b64encode(slot.public_key).decode("ascii") for name, slot in sorted(kr.slots.items())
        },
        "recovery": None
        if recovery is None
        else {
            "kit_id": recovery.kit_id,
            "identifier": recovery.identifier,
            "threshold": recovery.threshold,
            "custodians": list(recovery.custodians),
            "created_at": recovery.created_at,
            "public_key": b64encode(recovery.public_key).decode("ascii"),
        },
    }


def record_json(record: Mapping[str, Any]) -> str:
    """Canonical JSON text of a public record (what the database stores)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


_RECOVERY_RECORD_FIELDS = ("kit_id", "identifier", "threshold", "custodians", "created_at", "public_key")


def record_differences(
    kr: Keyring, record: Mapping[str, Any], *, unrecorded_ok: frozenset[str] = frozenset()
) -> list[str]:
    """How `kr` differs from `record` (a `public_record`), in words; empty when it matches.

    A slot the record does not hold, for a name in `unrecorded_ok`, is no difference: the
    caller knows it is not an operator (an interrupted `operator add`, or a slot nobody will
    ever seal a key to) and leaves it out of every rekey.
    """
    problems: list[str] = []
    ours = public_record(kr)
    recorded_ops: Mapping[str, str] = record.get("operators") or {}
    for name, key in ours["operators"].items():
        if name not in recorded_ops:
            if name not in unrecorded_ok:
                problems.append(f"keyring.json has a slot for '{name}', whom the vault does not record")
        elif recorded_ops[name] != key:
            problems.append(
                f"keyring.json's slot for operator '{name}' does not hold the public key recorded in the vault"
            )
    for name in recorded_ops:
        if name not in ours["operators"]:
            problems.append(f"keyring.json has no slot for operator '{name}', whom the vault records")
    mine, theirs = ours["recovery"], record.get("recovery")
    if mine is None and theirs is not None:
        problems.append(
            f"keyring.json has no recovery slot, but the vault records emergency kit {theirs['kit_id'][:8]}"
        )
    elif mine is not None and theirs is None:
        problems.append(
            "keyring.json has a recovery slot, but the vault records no emergency kit"
        )
    elif mine is not None and theirs is not None and mine != theirs:
        fields = [f for f in _RECOVERY_RECORD_FIELDS if mine.get(f) != theirs.get(f)]
        problems.append(
            "keyring.json's recovery slot does not match the kit recorded in the vault"
            f" (its {', '.join(fields)} differ{'s' if len(fields) == 1 else ''})"
        )
    return problems


# --------------------------------------------------------------------------- JSON


def to_json(kr: Keyring) -> bytes:
    """The keyring as JSON text (ASCII, stable order). Holds only public or sealed data."""

    def b64(data: bytes) -> str:
        return b64encode(data).decode("ascii")

    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "vault_id": kr.vault_id,
        "generation": kr.generation,
        "slots": {
            name: {
                "kdf": {
                    "alg": "argon2id",
                    "t": slot.profile.time_cost,
                    "m": slot.profile.memory_kib,
                    "p": slot.profile.parallelism,
                    "salt": b64(slot.salt),
                },
                "public_key": b64(slot.public_key),
                "sealed_private_key": b64(slot.sealed_private_key),
                "sealed_vault_key": b64(slot.sealed_vault_key),
            }
            for name, slot in sorted(kr.slots.items())
        },
        "recovery": None
        if kr.recovery is None
        else {
            "kit_id": kr.recovery.kit_id,
            "identifier": kr.recovery.identifier,
            "threshold": kr.recovery.threshold,
            "custodians": list(kr.recovery.custodians),
            "created_at": kr.recovery.created_at,
            "public_key": b64(kr.recovery.public_key),
            "sealed_vault_key": b64(kr.recovery.sealed_vault_key),
        },
    }
    return (json.dumps(document, indent=2, ensure_ascii=True, allow_nan=False) + "\n").encode(
        "ascii"
    )


class _Damaged(Exception):
    def __init__(self, what: str, where: str) -> None:
        super().__init__(what, where)
        self.what = what
        self.where = where


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Damaged("a key appears twice", json.dumps(key))
        result[key] = value
    return result


def _reject_constant(name: str) -> None:
    raise _Damaged(f"{name} is not allowed", "a number")


def _object(value: object, where: str, fields: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Damaged("expected an object", where)
    for field in fields:
        if field not in value:
            raise _Damaged("missing field", f"{where}.{field}" if where else field)
    for field in value:
        if field not in fields:
            raise _Damaged("unexpected field", f"{where}.{field}" if where else field)
    return value


def _bytes_field(value: object, where: str, lengths: range | tuple[int, ...]) -> bytes:
    if not isinstance(value, str) or not value.isascii():
        raise _Damaged("expected base64 text", where)
    try:
        data = b64decode(value, validate=True)
    except ValueError:
        raise _Damaged("invalid base64", where) from None
    if b64encode(data).decode("ascii") != value:
        raise _Damaged("non-canonical base64", where)
    if len(data) not in lengths:
        raise _Damaged("wrong length", where)
    return data


def _int_field(value: object, where: str) -> int:
    if not _is_int(value):
        raise _Damaged("expected an integer", where)
    assert isinstance(value, int)
    return value


def _parse(document: object) -> Keyring:
    if not isinstance(document, dict):
        raise _Damaged("expected an object", "the top level")
    if document.get("format") != FORMAT:
        raise _Damaged("not an smvault keyring", "format")
    version = document.get("version")
    if _is_int(version) and version != FORMAT_VERSION:
        raise _Damaged(f"format version {version} is not supported by this smvault", "version")
    if version != FORMAT_VERSION:
        raise _Damaged("expected format version 1", "version")
    _object(document, "", ("format", "version", "vault_id", "generation", "slots", "recovery"))

    vault_id = document["vault_id"]
    if not _vault_id_ok(vault_id):
        raise _Damaged("not a valid vault id", "vault_id")
    generation = _int_field(document["generation"], "generation")
    if not 1 <= generation < 2**63:
        raise _Damaged("not a positive integer", "generation")

    raw_slots = document["slots"]
    if not isinstance(raw_slots, dict):
        raise _Damaged("expected an object", "slots")
    if not raw_slots:
        raise _Damaged("no operator slots", "slots")
    slots: dict[str, Slot] = {}
    for index, (name, raw) in enumerate(raw_slots.items(), start=1):
        if _operator_problem(name):
            raise _Damaged("not a valid operator name", f"slots (entry {index})")
        where = f"slots.{name}"
        raw = _object(raw, where, ("kdf", "public_key", "sealed_private_key", "sealed_vault_key"))
        kdf = _object(raw["kdf"], f"{where}.kdf", ("alg", "t", "m", "p", "salt"))
        if kdf["alg"] != "argon2id":
            raise _Damaged("unsupported key derivation", f"{where}.kdf.alg")
        try:
            profile = KdfProfile(
                time_cost=_int_field(kdf["t"], f"{where}.kdf.t"),
                memory_kib=_int_field(kdf["m"], f"{where}.kdf.m"),
                parallelism=_int_field(kdf["p"], f"{where}.kdf.p"),
            )
        except InvalidInputError as exc:
            raise _Damaged(exc.message, f"{where}.kdf") from None
        slots[name] = Slot(
            operator=name,
            profile=profile,
            salt=_bytes_field(
                kdf["salt"], f"{where}.kdf.salt", range(MIN_SALT_LEN, MAX_SALT_LEN + 1)
            ),
            public_key=_bytes_field(raw["public_key"], f"{where}.public_key", (_KEY_LEN,)),
            sealed_private_key=_bytes_field(
                raw["sealed_private_key"],
                f"{where}.sealed_private_key",
                (_SEALED_PRIVATE_KEY_LEN,),
            ),
            sealed_vault_key=_bytes_field(
                raw["sealed_vault_key"], f"{where}.sealed_vault_key", (_SEALED_VAULT_KEY_LEN,)
            ),
        )

    recovery = document["recovery"]
    if recovery is not None and not isinstance(recovery, dict):
        raise _Damaged("expected an object or null", "recovery")
    return Keyring(
        vault_id=vault_id,
        generation=generation,
        slots=slots,
        recovery=None if recovery is None else _parse_recovery(recovery),
    )


_RECOVERY_FIELDS = (
    "kit_id",
    "identifier",
    "threshold",
    "custodians",
    "created_at",
    "public_key",
    "sealed_vault_key",
)


def _parse_recovery(raw: dict[str, Any]) -> RecoverySlot:
    where = "recovery"
    _object(raw, where, _RECOVERY_FIELDS)
    if not _vault_id_ok(raw["kit_id"]):
        raise _Damaged("not a valid kit id", f"{where}.kit_id")
    identifier = _int_field(raw["identifier"], f"{where}.identifier")
    if not 0 <= identifier < _SLIP39_IDENTIFIER_LIMIT:
        raise _Damaged("not a SLIP-39 identifier (0 to 32767)", f"{where}.identifier")
    threshold = _int_field(raw["threshold"], f"{where}.threshold")
    custodians = raw["custodians"]
    if not isinstance(custodians, list):
        raise _Damaged("expected a list", f"{where}.custodians")
    for index, custodian in enumerate(custodians):
        if _custodian_problem(custodian):
            raise _Damaged("not a valid custodian email", f"{where}.custodians[{index}]")
        if custodian in custodians[:index]:
            raise _Damaged("a custodian appears twice", f"{where}.custodians[{index}]")
    if not 2 <= len(custodians) <= MAX_CUSTODIANS:
        raise _Damaged(f"a kit has 2 to {MAX_CUSTODIANS} custodians", f"{where}.custodians")
    if not 2 <= threshold <= len(custodians):
        raise _Damaged("not from 2 to the number of custodians", f"{where}.threshold")
    created_at = raw["created_at"]
    if not isinstance(created_at, str) or not _TIMESTAMP_RE.fullmatch(created_at):
        raise _Damaged("not a UTC timestamp", f"{where}.created_at")
    try:
        return RecoverySlot(
            kit_id=raw["kit_id"],
            identifier=identifier,
            threshold=threshold,
            custodians=tuple(custodians),
            created_at=created_at,
            public_key=_bytes_field(raw["public_key"], f"{where}.public_key", (_KEY_LEN,)),
            sealed_vault_key=_bytes_field(
                raw["sealed_vault_key"], f"{where}.sealed_vault_key", (_SEALED_VAULT_KEY_LEN,)
            ),
        )
    except InvalidInputError as exc:  # a model check the field checks above did not anticipate
        raise _Damaged(exc.message, where) from None


def from_json(data: bytes, *, source: str = KEYRING_FILE) -> Keyring:
    """Parse and check a keyring; anything malformed raises IntegrityError naming `source`."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("keyring data must be bytes")
    try:
        if len(data) > MAX_KEYRING_BYTES:
            raise _Damaged(f"larger than {MAX_KEYRING_BYTES} bytes", "the whole file")
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Damaged("not UTF-8 text", f"byte {exc.start}") from None
        try:
            document = json.loads(
                text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
            )
        except json.JSONDecodeError as exc:
            raise _Damaged(f"invalid JSON ({exc.msg})", f"line {exc.lineno} column {exc.colno}")
        except (ValueError, RecursionError):  # e.g. a 5000-digit number, absurd nesting
            raise _Damaged("invalid JSON", "the top level") from None
        return _parse(document)
    except _Damaged as exc:
        raise IntegrityError(f"{source} is damaged: {exc.what}, at {exc.where}") from None
    except InvalidInputError as exc:  # a model check that _parse did not anticipate
        raise IntegrityError(f"{source} is damaged: {exc.message}") from None


# --------------------------------------------------------------------------- files


def _keyring_path(vault_dir: Path) -> Path:
    return Path(vault_dir) / KEYRING_FILE


def _pending_path(vault_dir: Path) -> Path:
    return Path(vault_dir) / (KEYRING_FILE + PENDING_SUFFIX)


def _backup_path(vault_dir: Path) -> Path:
    return Path(vault_dir) / (KEYRING_FILE + BACKUP_SUFFIX)


def _io_error(action: str, path: Path, exc: OSError) -> SmvaultError:
    return SmvaultError(f"cannot {action} {path}: {exc.strerror or exc}")


def _read(path: Path) -> bytes:
    """The file's bytes (FileNotFoundError propagates; other OS errors become SmvaultError)."""
    try:
        with open(path, "rb") as f:
            return f.read(MAX_KEYRING_BYTES + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _io_error("read", path, exc) from None


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(directory: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:  # e.g. Windows cannot open a directory; nothing more we can do
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes) -> None:
    """Create `path` afresh (mode 0600), write `data`, fsync. Removes a stale file first."""
    _unlink_quietly(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # whatever the umask
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(path)
        raise
    os.close(fd)


def _keep_backup(current: Path, backup: Path) -> None:
    """Make `backup` a copy of `current` (atomically replacing an older backup)."""
    staging = backup.with_name(backup.name + TMP_SUFFIX)
    _unlink_quietly(staging)
    try:
        os.link(current, staging)  # same inode: survives the rename of the new keyring over it
    except FileNotFoundError:
        raise
    except OSError:  # no hard links on this file system: copy instead
        _write_synced(staging, _read(current))
    os.replace(staging, backup)


def _atomic_write(path: Path, data: bytes, *, backup: Path | None) -> None:
    """Write `path` so that it is always either the old or the new file, never a mix.

    temp file + fsync -> (keep the previous file as `backup`) -> rename -> fsync directory.
    """
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        _write_synced(tmp, data)
        try:
            if backup is not None and path.exists():
                _keep_backup(path, backup)
            os.replace(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise
    except OSError as exc:
        raise _io_error("write", path, exc) from None
    _fsync_dir(path.parent)


def _check_saveable(kr: Keyring) -> None:
    if not isinstance(kr, Keyring):
        raise TypeError("expected a Keyring")
    if not kr.slots:
        raise PolicyError("refusing to save a keyring without operators: nobody could unlock it")


def _check_successor(current: Keyring, kr: Keyring, what: str, *, strictly_newer: bool) -> None:
    if current.vault_id != kr.vault_id:
        raise ConflictError(
            f"{what} belongs to vault '{kr.vault_id}', but this directory holds"
            f" vault '{current.vault_id}'"
        )
    if current.generation > kr.generation or (
        strictly_newer and current.generation == kr.generation
    ):
        raise ConflictError(
            f"{what} is generation {kr.generation}, but the vault's keyring is already"
            f" generation {current.generation}: it was changed meanwhile"
        )


def _load_if_present(path: Path, source: str) -> Keyring | None:
    try:
        data = _read(path)
    except FileNotFoundError:
        return None
    return from_json(data, source=source)


def load(vault_dir: Path) -> Keyring:
    """Read `vault_dir`/keyring.json."""
    kr = _load_if_present(_keyring_path(vault_dir), KEYRING_FILE)
    if kr is None:
        raise NotFoundError(f"no vault at {vault_dir} (no {KEYRING_FILE})")
    return kr


def save(vault_dir: Path, kr: Keyring) -> None:
    """Atomically write keyring.json (mode 0600), keeping the previous one as keyring.json.bak.

    Refuses to overwrite another vault's keyring or a newer generation (a stale keyring
    written after a rekey would seal the old key to everyone), and refuses to overwrite a
    damaged keyring.json (restore it from the backup first, so the backup is not lost).
    """
    _check_saveable(kr)
    path = _keyring_path(vault_dir)
    current = _load_if_present(path, KEYRING_FILE)
    if current is not None:
        _check_successor(current, kr, "the keyring being saved", strictly_newer=False)
    _atomic_write(path, to_json(kr), backup=_backup_path(vault_dir))


def save_pending(vault_dir: Path, kr: Keyring) -> None:
    """Write the next-generation keyring as keyring.json.pending, before rekeying the DB."""
    _check_saveable(kr)
    _check_successor(load(vault_dir), kr, "the pending keyring", strictly_newer=True)
    _atomic_write(_pending_path(vault_dir), to_json(kr), backup=None)


def load_pending(vault_dir: Path) -> Keyring | None:
    """The pending keyring, or None if there is none."""
    return _load_if_present(_pending_path(vault_dir), KEYRING_FILE + PENDING_SUFFIX)


def commit_pending(vault_dir: Path) -> None:
    """Promote keyring.json.pending to keyring.json atomically; the old one becomes .bak."""
    pending = load_pending(vault_dir)
    if pending is None:
        raise NotFoundError(f"no pending keyring to commit in {vault_dir}")
    _check_successor(load(vault_dir), pending, "the pending keyring", strictly_newer=True)
    path = _keyring_path(vault_dir)
    try:
        _keep_backup(path, _backup_path(vault_dir))
        os.replace(_pending_path(vault_dir), path)
    except OSError as exc:
        raise _io_error("write", path, exc) from None
    _fsync_dir(path.parent)


def discard_pending(vault_dir: Path) -> None:
    """Remove keyring.json.pending if present (the rekey did not happen)."""
    path = _pending_path(vault_dir)
    try:
        _unlink_quietly(path)
    except OSError as exc:
        raise _io_error("remove", path, exc) from None
    _fsync_dir(path.parent)
