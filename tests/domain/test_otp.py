"""OTP maths against published vectors, real exports and an independent implementation."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.twofactor.hotp import HOTP
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from hypothesis import given, settings
from hypothesis import strategies as st

from smvault.domain.errors import InvalidInputError
from smvault.domain.otp import (
    ALGORITHMS,
    KINDS,
    OtpParams,
    current_code,
    decode_base32_secret,
    encode_base32_secret,
    hotp,
    parse_otpauth_uri,
    parse_secret_or_uri,
    seconds_left,
    steam_code,
    to_otpauth_uri,
    totp,
)
from tests.conftest import shared_fixture

SECRET_80_B32 = "JBSWY3DPEHPK3PXP"  # Google's Key Uri Format example: 10 bytes
SECRET_64_B32 = "fsfsfsfsefefef"  # Bitwarden/KeePassXC test item: 14 chars, 8 bytes
RFC_SECRET = b"12345678901234567890"
_CRYPTO_HASHES = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256, "SHA512": hashes.SHA512}


def load_json(relative: str) -> Any:
    return json.loads(shared_fixture(relative).read_text(encoding="utf-8"))


def reference_hotp(secret: bytes, counter: int, digits: int = 6, algorithm: str = "SHA1") -> str:
    """cryptography's HOTP, with its key-length check off so short real-world keys work."""
    impl = HOTP(secret, digits, _CRYPTO_HASHES[algorithm](), enforce_key_length=False)
    return impl.generate(counter).decode()


def reference_totp(secret: bytes, at: int, period: int = 30, digits: int = 6) -> str:
    impl = TOTP(secret, digits, hashes.SHA1(), period, enforce_key_length=False)
    return impl.generate(at).decode()


# --- published vectors ----------------------------------------------------------------------


def test_rfc4226_hotp_vectors() -> None:
    data = load_json("rfc/otp_reference_vectors.json")["rfc4226_appendix_d"]
    secret = decode_base32_secret(data["secret_base32"])
    assert secret == data["secret_ascii"].encode()
    for counter, code in data["hotp"].items():
        assert hotp(secret, int(counter)) == code


def test_rfc4226_truncated_values_at_ten_digits() -> None:
    # at 10 digits the code is the whole 31-bit truncated value, zero-padded
    data = load_json("rfc/otp_reference_vectors.json")["rfc4226_appendix_d"]
    secret = data["secret_ascii"].encode()
    for counter, number in data["truncated_decimal"].items():
        assert hotp(secret, int(counter), digits=10) == str(number).zfill(10)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_rfc6238_totp_vectors(algorithm: str) -> None:
    data = load_json("rfc/otp_reference_vectors.json")["rfc6238_appendix_b"]
    seed = data["seeds"][algorithm]
    secret = decode_base32_secret(seed["base32"])
    assert secret == seed["ascii"].encode()
    for vector in data["vectors"]:
        assert totp(secret, vector["unix_time"], 30, 8, algorithm) == vector[algorithm]


def test_key_uri_format_example() -> None:
    data = load_json("rfc/otp_reference_vectors.json")["google_key_uri_format_example"]
    params = parse_otpauth_uri(data["uri"])
    assert params.secret.hex() == data["secret_bytes_hex"]
    assert (params.kind, params.issuer, params.label) == ("totp", "Example", "alice@google.com")
    assert (params.algorithm, params.digits, params.period) == ("SHA1", 6, 30)
    for at, code in data["totp_at"].items():
        assert current_code(params, int(at))[0] == code


def test_steam_guard_vectors() -> None:
    data = load_json("rfc/otp_reference_vectors.json")["steam_guard_real_app_vectors_from_keepassxc_tests"]
    secret = decode_base32_secret(data["secret_base32"])
    for at, code in data["codes"].items():
        assert steam_code(secret, int(at), data["period"]) == code
        assert set(code) <= set(data["alphabet"])


def test_migration_cross_check_codes() -> None:
    data = load_json("google-migration/EXPECTED.json")["codes_for_cross_check"]
    secret = decode_base32_secret("7KSQL2JTUDIS5EF65KLMRQIIGY")
    assert totp(secret, 1700000000) == data["7KSQL2JTUDIS5EF65KLMRQIIGY"]["totp_1700000000"]
    assert hotp(secret, 4) == data["7KSQL2JTUDIS5EF65KLMRQIIGY"]["hotp_counter_4"]


# --- real otpauth lists ---------------------------------------------------------------------


def _aegis_pairs() -> list[tuple[str, dict[str, Any]]]:
    lines = shared_fixture("aegis/plain.txt").read_text(encoding="utf-8").splitlines()
    uris = [line for line in lines if line.strip()]
    entries = load_json("aegis/EXPECTED.json")["entries"]
    assert len(uris) == len(entries) == 7
    return list(zip(uris, entries))


def test_aegis_plain_txt_parses_as_expected() -> None:
    for uri, want in _aegis_pairs():
        params = parse_secret_or_uri(uri)
        assert params.kind == want["type"]
        assert params.issuer == want["issuer"]
        assert params.label == want["name"]
        assert params.secret == decode_base32_secret(want["secret_base32"])
        assert params.algorithm == want["algorithm"]
        assert params.digits == want["digits"]
        if want["type"] == "hotp":
            assert params.counter == want["counter"]
        else:
            assert params.period == want["period"]


def test_aegis_plain_txt_codes() -> None:
    for uri, want in _aegis_pairs():
        params = parse_otpauth_uri(uri)
        for at, code in want.get("codes_at_unix_time", {}).items():
            assert current_code(params, int(at)) == (code, seconds_left(int(at), params.period))
        for counter, code in want.get("code_at_counter", {}).items():
            bumped = OtpParams(**{**_fields(params), "counter": int(counter)})
            assert current_code(bumped, 0) == (code, None)


def test_air_plus_canada_becomes_a_space() -> None:
    params = parse_otpauth_uri(
        "otpauth://hotp/Air%20Canada:Benjamin?secret=KUVJJOM753IHTNDSZVCNKL7GII&issuer=Air+Canada&counter=50"
    )
    assert params.issuer == "Air Canada"


def test_steam_uri_forms() -> None:
    secret = "JRZCL47CMXVOQMNPZR2F7J4RGI"
    forms = [
        f"steam://{secret}",
        f"otpauth://steam/Boeing:Sophia?secret={secret}&issuer=Boeing&algorithm=SHA1&digits=5&period=30",
        f"otpauth://totp/Steam:sophia?secret={secret}&issuer=Steam&encoder=steam",
        f"otpauth://totp/Steam:sophia?secret={secret}&issuer=Steam&digits=steam",
    ]
    for uri in forms:
        params = parse_secret_or_uri(uri)
        assert (params.kind, params.digits) == ("steam", 5)
        assert current_code(params, 1700000000) == ("747JR", 10)  # Aegis vector; 1700000000 % 30 == 20


def test_percent_encoded_padding_in_bitwarden_uri() -> None:
    # Bitwarden's own sample: 'DFDFDEF=' decodes to 4 bytes; accepted, never a crash
    uri = load_json("bitwarden/EXPECTED.json")["bitwarden_export.json"]["login_item"]["totp"]
    params = parse_otpauth_uri(uri)
    assert (params.issuer, params.label, len(params.secret)) == ("Google", "myusername@gmail.com", 4)


# --- short real-world secrets ---------------------------------------------------------------


@pytest.mark.parametrize(("seed", "length"), [(SECRET_80_B32, 10), (SECRET_64_B32, 8)])
def test_short_secrets_give_correct_codes(seed: str, length: int) -> None:
    params = parse_secret_or_uri(seed)
    assert len(params.secret) == length
    for at in (0, 59, 1257894000, 1700000000, 2000000000):
        assert current_code(params, at)[0] == reference_totp(params.secret, at)
    for counter in range(5):
        assert hotp(params.secret, counter) == reference_hotp(params.secret, counter)


def test_80_bit_known_value() -> None:
    assert totp(decode_base32_secret(SECRET_80_B32), 1257894000) == "528064"


@settings(max_examples=60, deadline=None)
@given(
    secret=st.binary(min_size=1, max_size=80),
    counter=st.integers(0, 2**64 - 1),
    digits=st.integers(6, 8),
    algorithm=st.sampled_from(ALGORITHMS),
)
def test_hotp_matches_cryptography(secret: bytes, counter: int, digits: int, algorithm: str) -> None:
    assert hotp(secret, counter, digits, algorithm) == reference_hotp(secret, counter, digits, algorithm)


# --- rollover -------------------------------------------------------------------------------


def test_code_and_countdown_change_exactly_on_the_boundary() -> None:
    # T = floor(t / 30): 59.999 is still step 1 (RFC 4226 counter 1), 60 is step 2
    assert totp(RFC_SECRET, 59.999) == hotp(RFC_SECRET, 1) == "287082"
    assert totp(RFC_SECRET, 60) == hotp(RFC_SECRET, 2) == "359152"
    assert seconds_left(59, 30) == 1
    assert seconds_left(59.999, 30) == 1
    assert seconds_left(60, 30) == 30
    assert seconds_left(61, 30) == 29


@pytest.mark.parametrize("period", [1, 20, 30, 50, 300])
def test_seconds_left_range(period: int) -> None:
    values = {seconds_left(1700000000 + s, period) for s in range(2 * period)}
    assert values == set(range(1, period + 1))


def test_current_code_reports_countdown_only_for_clocks() -> None:
    timed = OtpParams(secret=RFC_SECRET, period=50)
    assert current_code(timed, 1700000000) == (totp(RFC_SECRET, 1700000000, 50), 50 - 1700000000 % 50)
    counted = OtpParams(secret=RFC_SECRET, kind="hotp", counter=7)
    assert current_code(counted, 1700000000) == ("162583", None)


# --- secrets stay hidden --------------------------------------------------------------------


def test_repr_hides_the_secret() -> None:
    params = parse_secret_or_uri(f"otpauth://totp/Example:alice?secret={SECRET_80_B32}&issuer=Example")
    for shown in (repr(params), str(params), f"{params!r}", repr([params])):
        assert "<hidden>" in shown
        assert SECRET_80_B32 not in shown
        assert repr(params.secret) not in shown
        assert params.secret.hex() not in shown
    assert "issuer='Example'" in repr(params)


SEED = "JBSWY3DPEHPK3PXQ"  # marker: must never show up in a message

MALFORMED_URIS = [
    f"http://totp/x?secret={SEED}",
    f"otpauth:/totp/x?secret={SEED}",
    f"otpauth://xotp/x?secret={SEED}",
    "otpauth://totp/x?issuer=Nobody",
    f"otpauth://totp/x?secret={SEED}1",
    f"otpauth://totp/x?secret={SEED}!",
    "otpauth://totp/x?secret=",
    f"otpauth://hotp/x?secret={SEED}",
    f"otpauth://hotp/x?secret={SEED}&counter=-1",
    f"otpauth://totp/x?secret={SEED}&digits=abc",
    f"otpauth://totp/x?secret={SEED}&digits=5",
    f"otpauth://totp/x?secret={SEED}&digits=11",
    f"otpauth://totp/x?secret={SEED}&digits=%D9%A6",  # Arabic-Indic six: not a digit here
    f"otpauth://totp/x?secret={SEED}&period=0",
    f"otpauth://totp/x?secret={SEED}&period=99999",
    f"otpauth://totp/x?secret={SEED}&algorithm=MD5",
    f"otpauth://totp/x?secret={SEED}&algorithm={SEED}",
    f"otpauth://totp/x?secret={SEED}&secret={SEED}",
    f"otpauth://steam/x?secret={SEED}&algorithm=SHA256",
    "steam://",
    f"steam://{SEED}!",
]

MALFORMED_SEEDS = ["", "   ", "A", f"{SEED}1", f"{SEED}!", f"{SEED[:-1]}ſ", "====", f"{SEED}=x"]


@pytest.mark.parametrize("text", MALFORMED_URIS)
def test_malformed_uri_is_refused_without_echo(text: str) -> None:
    for parse in (parse_otpauth_uri, parse_secret_or_uri):
        with pytest.raises(InvalidInputError) as caught:
            parse(text)
        assert SEED.lower() not in str(caught.value).lower()
        assert SEED not in caught.value.message


@pytest.mark.parametrize("text", MALFORMED_SEEDS)
def test_malformed_seed_is_refused_without_echo(text: str) -> None:
    for parse in (decode_base32_secret, parse_secret_or_uri):
        with pytest.raises(InvalidInputError) as caught:
            parse(text)
        assert SEED[:12].lower() not in str(caught.value).lower()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"secret": b""}, "secret"),
        ({"secret": "JBSWY3DP"}, "secret"),
        ({"kind": "motp"}, "kind"),
        ({"algorithm": "sha1"}, "algorithm"),
        ({"algorithm": "MD5"}, "algorithm"),
        ({"digits": 5}, "digits"),
        ({"digits": 11}, "digits"),
        ({"digits": True}, "digits"),
        ({"period": 0}, "period"),
        ({"period": 3601}, "period"),
        ({"counter": -1}, "counter"),
        ({"issuer": 3}, "issuer"),
        ({"label": "\ud800"}, "label"),
        ({"kind": "steam", "algorithm": "SHA256"}, "algorithm"),
    ],
)
def test_params_validation_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError, match=field):
        OtpParams(**{"secret": RFC_SECRET, **changes})


def test_steam_is_always_five_characters() -> None:
    assert OtpParams(secret=RFC_SECRET, kind="steam").digits == 5


@pytest.mark.parametrize(("at", "period"), [(-1, 30), (float("nan"), 30), (float("inf"), 30), (0, 0)])
def test_bad_time_or_period_is_refused(at: float, period: int) -> None:
    with pytest.raises(InvalidInputError):
        totp(RFC_SECRET, at, period)


# --- base32 ---------------------------------------------------------------------------------


def test_base32_is_lenient() -> None:
    want = decode_base32_secret(SECRET_80_B32)
    for text in ("jbsw y3dp ehpk 3pxp", "JBSW-Y3DP-EHPK-3PXP", " jbswy3dpehpk3pxp\n", "JBSWY3DPEHPK3PXP======"):
        assert decode_base32_secret(text) == want
    assert decode_base32_secret("GEZA") == b"12"  # missing '====' padding


@given(st.binary(min_size=1, max_size=64))
def test_base32_round_trip_matches_stdlib(secret: bytes) -> None:
    encoded = encode_base32_secret(secret)
    assert encoded == base64.b32encode(secret).decode().rstrip("=")
    assert decode_base32_secret(encoded) == secret
    assert decode_base32_secret(encoded.lower()) == secret


# --- round trip and robustness --------------------------------------------------------------


def _fields(params: OtpParams) -> dict[str, Any]:
    names = ("secret", "kind", "algorithm", "digits", "period", "counter", "issuer", "label")
    return {name: getattr(params, name) for name in names}


_names = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20).filter(
    lambda s: s == s.strip() and s != ""
)


@st.composite
def otp_params(draw: st.DrawFn) -> OtpParams:
    kind = draw(st.sampled_from(KINDS))
    return OtpParams(
        secret=draw(st.binary(min_size=1, max_size=64)),
        kind=kind,
        algorithm="SHA1" if kind == "steam" else draw(st.sampled_from(ALGORITHMS)),
        digits=draw(st.integers(6, 10)),
        period=draw(st.integers(1, 3600)),
        counter=draw(st.integers(0, 2**64 - 1)) if kind == "hotp" else 0,
        issuer=draw(st.none() | _names),
        label=draw(st.none() | _names),
    )


@settings(max_examples=150, deadline=None)
@given(otp_params())
def test_uri_round_trip(params: OtpParams) -> None:
    uri = to_otpauth_uri(params)
    assert uri.startswith("otpauth://")
    assert parse_otpauth_uri(uri) == params
    assert parse_secret_or_uri(uri) == params


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["", "otpauth://", "otpauth://totp/", "otpauth://hotp/a?secret=GEZA&", "steam://"]),
    text=st.text(max_size=60),
)
def test_random_text_only_raises_invalid_input(prefix: str, text: str) -> None:
    for parse in (parse_secret_or_uri, parse_otpauth_uri, decode_base32_secret):
        try:
            parse(prefix + text)
        except InvalidInputError:
            pass
