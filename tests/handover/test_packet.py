"""The packet format (domain.handover): sealed under Argon2id + AEAD, the header bound to it,
every malformed or altered file refused with ImportFileError and nothing else."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shamir_mnemonic.wordlist import WORDLIST

from smvault.domain import handover
from smvault.domain.handover import (
    CIPHERS,
    KdfParams,
    new_passphrase,
    open_packet,
    read_header,
    seal,
)
from smvault.domain.imports import ImportFileError
from smvault.domain.text import has_control_chars

CHEAP = KdfParams(time_cost=1, memory_kib=64, parallelism=1)
PAYLOAD = {"accounts": [{"platform": "x", "handle": "acme", "password": "pw-secret-1"}]}
PASSPHRASE = "acid acne adapt adjust admit adult agency aircraft alarm album alcohol alien"
WRONG = "wrong passphrase, or the packet was altered"


def make(payload=PAYLOAD, passphrase=PASSPHRASE, cipher="AES-256-GCM", accounts=("x:acme",)) -> bytes:
    return seal(payload, packet_id="0b6f0c1e-7a43-4a53-9d0e-2f1b8f8ad001", to="dest@example.com",
                from_vault="vault-1", created_at="2026-11-02T09:30:00Z", created_by="alice",
                accounts=accounts, passphrase=passphrase, kdf=CHEAP, cipher=cipher)


PACKET = make()


def refused(data: bytes, passphrase: bytes = PASSPHRASE.encode()) -> str:
    with pytest.raises(ImportFileError) as err:
        open_packet(data, "p.smh", passphrase)
    assert err.value.message.startswith("p.smh:")
    err.value.message.encode("utf-8")  # a terminal can print it
    return err.value.message


def with_header(data: bytes, change) -> bytes:
    """The packet with its header line decoded, changed by `change(header)`, re-encoded as
    seal writes it."""
    line, rest = data.split(b"\n", 1)
    header = json.loads(line)
    change(header)
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + rest


# --- sealing and opening ----------------------------------------------------------------------------


@pytest.mark.parametrize("cipher", sorted(CIPHERS))
def test_round_trip_with_each_cipher(cipher):
    data = make(cipher=cipher)
    header, payload = open_packet(data, "p.smh", PASSPHRASE.encode())
    assert payload == PAYLOAD
    assert header.cipher == cipher and header.to == "dest@example.com" and header.accounts == ("x:acme",)
    assert header.kdf == CHEAP and len(header.salt) == 16 and len(header.nonce) == 12


def test_the_file_is_a_readable_header_line_then_base64():
    line, body, end = PACKET.split(b"\n")
    header = json.loads(line)
    assert list(header) == ["format", "version", "packet", "to", "from_vault", "created_at", "created_by",
                            "accounts", "kdf", "cipher", "nonce"]
    assert header["format"] == "smvault-handover" and header["version"] == 1
    assert header["kdf"]["name"] == "argon2id" and header["cipher"] == "AES-256-GCM"
    assert base64.b64decode(body, validate=True) and end == b""
    assert b"pw-secret-1" not in PACKET and PASSPHRASE.encode() not in PACKET


def test_two_packets_of_the_same_payload_share_no_salt_nonce_or_ciphertext():
    first, second = make(), make()
    assert first != second
    assert read_header(first, "a").salt != read_header(second, "b").salt
    assert read_header(first, "a").nonce != read_header(second, "b").nonce


def test_read_header_needs_no_passphrase():
    header = read_header(PACKET, "p.smh")
    assert (header.packet_id, header.created_by, header.from_vault) == (
        "0b6f0c1e-7a43-4a53-9d0e-2f1b8f8ad001", "alice", "vault-1")
    assert "pw-secret-1" not in repr(header)


def test_wrong_passphrase_is_refused_with_one_message():
    assert refused(PACKET, b"acid acne adapt adjust admit adult agency aircraft alarm album alcohol alien x") \
        == f"p.smh: {WRONG}"
    assert refused(PACKET, b"") == f"p.smh: {WRONG}"


def test_the_passphrase_may_be_typed_back_in_any_case_and_spacing():
    for typed in (PASSPHRASE.upper(), "  " + PASSPHRASE.replace(" ", "-") + "\n",
                  PASSPHRASE.replace(" ", "\n   ")):
        assert open_packet(PACKET, "p.smh", typed.encode())[1] == PAYLOAD


def test_the_passphrase_may_be_pasted_with_unicode_spaces_and_wide_letters():
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in PASSPHRASE)  # 'ａｃｉｄ'
    for typed in (PASSPHRASE.replace(" ", "\u00a0"), PASSPHRASE.replace(" ", "\u3000\u2009"), fullwidth):
        assert open_packet(PACKET, "p.smh", typed.encode())[1] == PAYLOAD


def test_a_windows_line_ending_or_bom_does_not_break_the_packet():
    crlf = b"\xef\xbb\xbf" + PACKET.replace(b"\n", b"\r\n")
    assert open_packet(crlf, "p.smh", PASSPHRASE.encode())[1] == PAYLOAD


def test_new_passphrase_is_12_wordlist_words_with_120_bits():
    phrases = {new_passphrase() for _ in range(50)}
    assert len(phrases) == 50
    for phrase in phrases:
        words = phrase.split(" ")
        assert len(words) == 12 and all(word in WORDLIST for word in words)
    assert len(WORDLIST) == 1024  # 12 words x 10 bits


# --- the header is bound ------------------------------------------------------------------------


def _set(path, value):
    def change(header):
        target = header
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


ALTERED = [
    (("packet",), "0b6f0c1e-7a43-4a53-9d0e-2f1b8f8ad002"),
    (("to",), "attacker@example.com"),
    (("from_vault",), "vault-2"),
    (("created_at",), "2026-11-02T09:30:01Z"),
    (("created_by",), "mallory"),
    (("accounts",), ["x:acme", "x:other"]),
    (("accounts",), []),
    (("kdf", "time_cost"), 2),
    (("kdf", "memory_kib"), 128),
    (("kdf", "parallelism"), 2),
    (("kdf", "salt"), base64.b64encode(bytes(16)).decode()),
    (("cipher",), "ChaCha20-Poly1305"),
    (("nonce",), base64.b64encode(bytes(12)).decode()),
]


@pytest.mark.parametrize(("path", "value"), ALTERED, ids=[".".join(p) + f"={v!r}"[:30] for p, v in ALTERED])
def test_every_header_field_is_bound_to_the_sealed_part(path, value):
    assert refused(with_header(PACKET, _set(path, value))) == f"p.smh: {WRONG}"


def test_even_the_header_spacing_is_bound():
    line, rest = PACKET.split(b"\n", 1)
    assert refused(line.replace(b'","to":', b'", "to":') + b"\n" + rest) == f"p.smh: {WRONG}"


@pytest.mark.parametrize(("path", "value", "message"), [
    (("format",), "other", "not an smvault handover packet"),
    (("version",), 2, "handover packet version 2 is not supported"),
    (("version",), True, "handover packet version ? is not supported"),
    (("version",), 1.0, "handover packet version ? is not supported"),
    (("to",), "", "header: to: must be non-empty text"),
    (("to",), "dest\ud800@example.com", "header: to: holds control characters or text that is not valid Unicode"),
    (("created_by",), "alice\x1b]52;c;eA==\x07", "header: created_by: holds control characters"),
    (("accounts",), "x:acme", "header: accounts: must be a list"),
    (("accounts",), ["x:acme\ud800"], "header: accounts: must be a list of account names"),
    (("accounts",), ["x:acme\x9b2J"], "header: accounts: must be a list of account names"),
    (("kdf", "name"), "scrypt", "header: kdf.name: must be argon2id"),
    (("kdf", "time_cost"), "1", "header: kdf.time_cost: must be a whole number"),
    (("kdf", "salt"), "not base64!", "header: kdf.salt: must be 16 to 64 bytes in base64"),
    (("kdf", "salt"), base64.b64encode(bytes(8)).decode(), "header: kdf.salt: must be 16 to 64 bytes"),
    (("cipher",), "AES-128-CBC", "header: cipher: must be one of AES-256-GCM, ChaCha20-Poly1305"),
    (("cipher",), ["AES-256-GCM"], "header: cipher: must be one of"),
    (("kdf",), [], "header: kdf: must hold exactly name, time_cost, memory_kib, parallelism, salt"),
    (("packet",), {"id": 1}, "header: packet: must be non-empty text"),
    (("nonce",), base64.b64encode(bytes(16)).decode(), "header: nonce: must be 12 bytes in base64"),
    (("extra",), 1, "header: a field this version does not have"),
])
def test_a_malformed_header_is_named(path, value, message):
    data = with_header(PACKET, _set(path, value))
    with pytest.raises(ImportFileError, match="^p.smh: " + message.replace("?", r"\?")):
        read_header(data, "p.smh")
    assert message in refused(data)


def test_a_missing_header_field_is_named():
    data = with_header(PACKET, lambda header: header.pop("nonce"))
    assert refused(data) == "p.smh: header: nonce: missing"


# --- KDF caps: a hostile header cannot make us burn memory or time -------------------------------------


@pytest.mark.parametrize(("field", "value", "message"), [
    ("memory_kib", 1024 * 1024 + 1, "header: kdf: the key derivation asks for 1,048,577 KiB of memory "
                                    "(at most 1,048,576, 1 GiB)"),
    ("memory_kib", 7, "header: kdf: the Argon2 settings are not valid"),
    # below 1 MiB, memory counts as 1 MiB: many passes over little memory are work too
    ("time_cost", 16 * 1024 + 1, "header: kdf: the key derivation asks for 16,385 passes over 64 KiB "
                                 "(at most 16 GiB of Argon2 work in all)"),
    ("time_cost", 0, "header: kdf: the Argon2 settings are not valid"),
    ("parallelism", 17, "header: kdf: the key derivation asks for 17 lanes (at most 16)"),
    ("parallelism", 0, "header: kdf: the Argon2 settings are not valid"),
    ("time_cost", 10**30, "16 GiB of Argon2 work"),
])
def test_kdf_costs_above_the_caps_are_refused_before_any_derivation(monkeypatch, field, value, message):
    def no_derivation(**_):
        raise AssertionError("the KDF ran")

    monkeypatch.setattr(handover, "hash_secret_raw", no_derivation)
    data = with_header(PACKET, _set(("kdf", field), value))
    assert message in refused(data)


def test_the_caps_themselves_are_accepted():
    kdf = {"name": "argon2id", "time_cost": 16, "memory_kib": 1024 * 1024, "parallelism": 16,
           "salt": base64.b64encode(bytes(64)).decode()}
    header = read_header(with_header(PACKET, _set(("kdf",), kdf)), "p.smh")
    assert header.kdf == KdfParams(16, 1024 * 1024, 16)
    with pytest.raises(ImportFileError, match="17 passes over 1,048,576 KiB"):  # 17 GiB of work
        read_header(with_header(PACKET, _set(("kdf",), kdf | {"time_cost": 17})), "p.smh")


def test_seal_refuses_costs_it_could_not_open():
    with pytest.raises(ImportFileError, match="16 GiB of Argon2 work"):
        seal(PAYLOAD, packet_id="p", to="t@example.com", from_vault="v", created_at="c", created_by="b",
             accounts=(), passphrase=PASSPHRASE, kdf=KdfParams(17, 1024 * 1024, 1))


# --- malformed files -----------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    (b"", "not an smvault handover packet (no header line)"),
    (b"hello\nworld\n", "not an smvault handover packet (no header line)"),
    (b'{"format": "smvault-handover"', "not an smvault handover packet (no header line)"),
    (b"{not json\nAAAA\n", "line 1: the packet header is not valid JSON"),
    (b"[1, 2]\nAAAA\n", "not an smvault handover packet (no header line)"),
    (b'{"format": "aegis"}\nAAAA\n', "not an smvault handover packet"),
    (b'{"format": "smvault-handover", "version": 1}\n', "header: packet: missing"),
    (b"{" + b"[" * 100000 + b"\n", "line 1: the packet header is not valid JSON"),
    (b'{"format":"\xff"}\n', "line 1: the packet header is not valid JSON"),
])
def test_files_that_are_no_packet(data, message):
    assert refused(data) == f"p.smh: {message}"


def test_a_body_that_is_not_base64_is_named():
    line = PACKET.split(b"\n", 1)[0]
    assert refused(line + b"\n*** not base64 ***\n") == "p.smh: line 2: the sealed part is not base64"


def test_a_sealed_part_shorter_than_a_tag_is_refused_before_any_derivation(monkeypatch):
    def no_derivation(**_):
        raise AssertionError("the KDF ran")

    monkeypatch.setattr(handover, "hash_secret_raw", no_derivation)
    line = PACKET.split(b"\n", 1)[0]
    for body in (b"", base64.b64encode(bytes(15))):
        assert refused(line + b"\n" + body + b"\n") == "p.smh: line 2: the sealed part is missing or cut short"


def test_every_truncation_is_refused():
    for end in range(0, len(PACKET) - 1, 7):  # the last byte is the final newline: optional
        refused(PACKET[:end])


def test_a_payload_that_is_not_a_list_of_accounts_is_refused_after_opening():
    for payload in ({"accounts": {}}, {"items": []}):
        assert refused(make(payload=payload)) == \
            "p.smh: the packet opened, but its contents are not a list of accounts"


# --- fuzz: only ImportFileError, and an altered packet never opens to something else ----------------------


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_only_ever_raise_import_file_error(data):
    refused(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_packets_are_refused_or_open_to_the_same_payload(data):
    packet = bytearray(PACKET)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        position = data.draw(st.integers(0, len(packet)), label="position")
        kind = data.draw(st.sampled_from(["flip", "insert", "delete"]), label="kind")
        if kind == "insert" or position == len(packet):
            packet[position:position] = data.draw(st.binary(min_size=1, max_size=3), label="inserted")
        elif kind == "flip":
            packet[position] ^= data.draw(st.integers(1, 255), label="mask")
        else:
            del packet[position]
    try:
        _, payload = open_packet(bytes(packet), "p.smh", PASSPHRASE.encode())
    except ImportFileError as exc:
        assert exc.message.startswith("p.smh: ")
    else:  # only changes that leave the header's bytes and the sealed bytes as they were
        assert payload == PAYLOAD


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
    | st.sampled_from(["\ud800", "a\udfffb", "x\x1b[2Jy", "\x9b", "x:acme"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5)
HEADER_KEYS = ["format", "version", "packet", "to", "from_vault", "created_at", "created_by", "accounts", "kdf",
               "cipher", "nonce", "other"]
KDF_KEYS = ["name", "time_cost", "memory_kib", "parallelism", "salt", "other"]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(HEADER_KEYS), JSON_VALUES, max_size=3),
       st.dictionaries(st.sampled_from(KDF_KEYS), JSON_VALUES, max_size=2))
def test_any_header_values_only_ever_raise_import_file_error(changes, kdf_changes):
    def change(header):
        header["kdf"].update(kdf_changes)
        header.update(changes)

    data = with_header(PACKET, change)
    try:  # what `smvault handover inspect` prints, before any passphrase
        header = read_header(data, "p.smh")
    except ImportFileError as exc:
        exc.message.encode("utf-8")
    else:
        for text in (header.packet_id, header.to, header.from_vault, header.created_at, header.created_by,
                     *header.accounts):
            text.encode("utf-8")
            assert text and not has_control_chars(text)
    if data == PACKET:  # nothing changed after all (the same values drawn)
        assert open_packet(data, "p.smh", PASSPHRASE.encode())[1] == PAYLOAD
    else:
        refused(data)
