"""End to end: every shared fixture file through `smvault import` into a real vault, then every
entry its EXPECTED.json lists read back from the vault and checked code by code.

The fixtures are other projects' real exports (../shared/fixtures; never copied here, their
licences differ): a test skips cleanly when they are absent, or when the parser of a format
has not been written yet.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from smvault.domain import otp
from tests.conftest import shared_fixture


@dataclass(frozen=True)
class Expected:
    """One OTP entry a file must bring in, as the account it must land on."""

    key: str | None  # PLATFORM:HANDLE, when the rules (README "Import") fix it
    secret: str  # base32
    kind: str
    algorithm: str = "SHA1"
    digits: int = 6
    period: int = 30
    counter: int = 0
    codes: tuple[tuple[int, str], ...] = ()  # (unix time, code) or, for hotp, (counter, code)
    login_id: str | None = None


def slug(text: str) -> str:
    return re.sub(r"[\s:]+", "-", text.strip()).strip("-")


def aegis_expected(issuers: set[str] | None = None) -> list[Expected]:
    """aegis/EXPECTED.json: authenticator entries land on other:ISSUER/NAME."""
    found = []
    for e in json.loads(shared_fixture("aegis/EXPECTED.json").read_text())["entries"]:
        if issuers is not None and e["issuer"] not in issuers:
            continue
        codes = e.get("codes_at_unix_time") or e.get("code_at_counter")
        found.append(Expected(f"other:{slug(e['issuer'])}/{e['name']}", e["secret_base32"], e["type"], e["algorithm"],
                              e["digits"], e.get("period", 30), e.get("counter", 0),
                              tuple((int(k), v) for k, v in codes.items()), e["name"]))
    return found


def google_expected(relative: str) -> list[Expected]:
    """google-migration: entries land on other:ISSUER/LABEL, or other:NAME without an issuer."""
    folder = json.loads(shared_fixture("google-migration/EXPECTED.json").read_text())
    cross = folder["codes_for_cross_check"]
    if relative == "example_export.txt":
        entries = json.loads(shared_fixture("google-migration/example_output.expected.json").read_text())
    else:
        entries = folder[relative]["expected"]
    found = []
    for e in entries:
        secret = e.get("secret") or e["secret_base32"]
        issuer, name = e["issuer"], e["name"]
        label = name.removeprefix(f"{issuer}:") if issuer else name
        key = f"other:{slug(issuer)}/{slug(label)}" if issuer else f"other:{slug(label)}"
        checks = cross.get(secret, {})
        if e["type"] == "hotp":
            codes = tuple((int(k.rsplit("_", 1)[1]), v) for k, v in checks.items() if k.startswith("hotp_"))
        else:
            codes = tuple((int(k.rsplit("_", 1)[1]), v) for k, v in checks.items() if k.startswith("totp_"))
        found.append(Expected(key, secret, e["type"], counter=e.get("counter") or 0, codes=codes, login_id=label))
    return found


def bitwarden_item(relative: str) -> dict:
    doc = json.loads(shared_fixture("bitwarden/EXPECTED.json").read_text())
    item = doc["bitwarden_encrypted_export.json"]["expected_item"]
    assert doc["bitwarden_encrypted_argon2id_export.json"]["expected_item"] == "same as above"
    return item


@pytest.fixture
def vault(session, run_cli):
    """A real vault (operator alice) that run_cli imports into and `session` reads back."""
    return session


def counts(session) -> tuple:
    return (len(session.vault.accounts.all()), session.vault.secrets.counts(),
            len(session.vault.log.entries(actions=("import.apply",))))


def run_import(run_cli, tmp_path, fmt: str, path: Path, password: str | None, *flags: str):
    args = ["import", fmt, str(path), *flags]
    if password is not None:
        password_file = tmp_path / "file-password"
        password_file.write_text(password + "\n")
        args += ["--password-file", str(password_file)]
    return run_cli(*args)


def check_in_vault(session, expected: Expected) -> None:
    """The account exists with exactly this seed and parameters, and gives the expected codes."""
    vault = session.vault
    secret = otp.decode_base32_secret(expected.secret)
    holders = [a for a in vault.accounts.all() if (p := vault.secrets.totp(a.id)) and p.secret == secret]
    if expected.key is not None:
        platform, handle = expected.key.split(":", 1)
        account = vault.accounts.by_key(platform, handle)
        assert account is not None, f"{expected.key} not in the vault: {[a.key for a in vault.accounts.all()]}"
        assert account in holders
    else:
        assert len(holders) == 1, [a.key for a in holders]
        (account,) = holders
    params = vault.secrets.totp(account.id)
    assert (params.kind, params.algorithm, params.digits) == (expected.kind, expected.algorithm, expected.digits)
    if expected.kind == "hotp":
        assert params.counter == expected.counter
        for counter, code in expected.codes:
            assert otp.hotp(params.secret, counter, params.digits, params.algorithm) == code
    else:
        assert params.period == expected.period
        for at, code in expected.codes:
            assert otp.current_code(params, at)[0] == code
    if expected.login_id is not None:
        assert account.login_id == expected.login_id


# --- authenticator exports ------------------------------------------------------------------

AUTHENTICATOR_CASES = [
    ("otpauth", "aegis/plain.txt", None, None),
    ("aegis", "aegis/aegis_plain.json", None, None),
    ("aegis", "aegis/aegis_encrypted.json", "test", None),
    ("2fas", "aegis/2fas_authenticator_plain_v4.2fas", None, {"Deno", "Issuu", "Air Canada", "WWE", "Boeing"}),
    ("2fas", "aegis/2fas_authenticator_encrypted_v4.2fas", "test", {"Deno", "Issuu", "Air Canada", "WWE", "Boeing"}),
]


@pytest.mark.parametrize(("fmt", "relative", "password", "issuers"), AUTHENTICATOR_CASES,
                         ids=[case[1] for case in AUTHENTICATOR_CASES])
def test_authenticator_exports_bring_in_every_entry(vault, run_cli, tmp_path, fmt, relative, password, issuers):
    path = shared_fixture(relative)
    expected = aegis_expected(issuers)
    dry = run_import(run_cli, tmp_path, fmt, path, password)
    assert dry.code == 0, dry.err
    assert f"{len(expected)} unmatched" in dry.out.splitlines()[0]  # no account yet: listed, not created
    applied = run_import(run_cli, tmp_path, fmt, path, password, "--apply", "--create-missing")
    assert applied.code == 0, applied.err
    assert f"Applied: {len(expected)} created, 0 updated, 0 unchanged, 0 skipped." in applied.out
    assert len(vault.vault.accounts.all()) == len(expected)
    for entry in expected:
        check_in_vault(vault, entry)
    again = run_import(run_cli, tmp_path, fmt, path, password, "--create-missing")
    assert f"{len(expected)} unchanged" in again.out.splitlines()[0]


def test_an_authenticator_export_attaches_seeds_to_existing_accounts(vault, run_cli, tmp_path):
    from smvault.services.accounts import add_account

    path = shared_fixture("aegis/aegis_plain.json")
    add_account(vault, "other", "Deno/Mason")
    add_account(vault, "other", "wwe/mason")  # handles match ignoring case, as the vault's
    result = run_import(run_cli, tmp_path, "aegis", path, None, "--apply")
    assert result.code == 0, result.err
    assert "Applied: 0 created, 2 updated, 0 unchanged, 0 skipped." in result.out
    expected = {e.key: e for e in aegis_expected()}
    check_in_vault(vault, expected["other:Deno/Mason"])
    check_in_vault(vault, replace(expected["other:WWE/Mason"], key="other:wwe/mason"))


def test_a_live_code_comes_out_of_smvault_totp(vault, run_cli, tmp_path, pin_clock):
    path = shared_fixture("aegis/plain.txt")
    assert run_import(run_cli, tmp_path, "otpauth", path, None, "--apply", "--create-missing").code == 0
    assert run_cli("grant", "add", "alice@example.com", "other:SPDX/James", "--level", "code-only").code == 0
    pin_clock(datetime.fromtimestamp(2_000_000_000, timezone.utc))
    result = run_cli("totp", "other:SPDX/James", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["code"] == "8081167"  # EXPECTED.json: SHA256, 7 digits, 20 s


# --- password managers ----------------------------------------------------------------------


@pytest.mark.parametrize("relative", ["aegis/bitwarden.json", "aegis/bitwarden.csv"])
def test_bitwarden_items_bring_in_their_seeds(vault, run_cli, tmp_path, relative):
    path = shared_fixture(relative)
    result = run_import(run_cli, tmp_path, "bitwarden", path, None, "--apply")
    assert result.code == 0, result.err
    assert "Applied: 4 created" in result.out  # login items: accounts, without --create-missing
    for entry in aegis_expected({"Deno", "SPDX", "Airbnb"}):
        check_in_vault(vault, replace(entry, login_id=None))  # these items have no login
    (steam,) = aegis_expected({"Boeing"})
    check_in_vault(vault, replace(steam, key=None, login_id=None))  # named by the item's title


@pytest.mark.parametrize("relative", ["bitwarden/bitwarden_encrypted_export.json",
                                      "bitwarden/bitwarden_encrypted_argon2id_export.json"])
def test_password_protected_bitwarden_exports_bring_in_login_password_and_seed(vault, run_cli, tmp_path, relative):
    path = shared_fixture(relative)
    item = bitwarden_item(relative)
    result = run_import(run_cli, tmp_path, "bitwarden", path, "a", "--apply")
    assert result.code == 0, result.err
    account = vault.vault.accounts.by_key("other", item["name"])
    assert account is not None, [a.key for a in vault.vault.accounts.all()]
    assert (account.login_id, account.url) == (item["username"], item["uris"][0])
    assert vault.vault.secrets.password(account.id)[0] == item["password"]
    assert vault.vault.secrets.totp(account.id).secret == otp.decode_base32_secret(item["totp"])
    assert item["password"] not in result.out + result.err


def test_the_plain_bitwarden_export_leaves_out_what_is_not_a_login(vault, run_cli, tmp_path):
    path = shared_fixture("bitwarden/bitwarden_export.json")
    dry = run_import(run_cli, tmp_path, "bitwarden", path, None)
    notes = [line for line in dry.out.splitlines() if "left out" in line]
    assert len(notes) == 3  # a secure note, a card, an identity
    # Its only login's TOTP secret ('DFDFDEF=') decodes to 4 bytes: a damaged seed, refused
    # and named by item and field, never a crash, never the value.
    assert dry.code == 1
    assert dry.err.splitlines()[0] == (f"{path}: item 4 (Login Name): totp: the OTP secret is only 32 bits, "
                                       "too short to be a real key (64 at least): the seed looks damaged")
    assert "DFDFDEF" not in dry.out + dry.err and "mypassword" not in dry.out + dry.err
    before = counts(vault)
    assert run_import(run_cli, tmp_path, "bitwarden", path, None, "--apply").code == 1
    assert counts(vault) == before
    skipped = run_import(run_cli, tmp_path, "bitwarden", path, None, "--apply", "--skip-bad")
    assert "Applied: 0 created, 0 updated, 0 unchanged, 1 skipped." in skipped.out
    assert counts(vault)[:2] == before[:2]  # only the import.apply entry was added


# --- Google Authenticator transfers ---------------------------------------------------------


@pytest.mark.parametrize("relative", ["example_export.txt", "test_plus_problem_export.txt"])
def test_google_transfer_exports_bring_in_every_entry(vault, run_cli, tmp_path, relative):
    path = shared_fixture(f"google-migration/{relative}")
    expected = google_expected(relative)
    result = run_import(run_cli, tmp_path, "google-migration", path, None, "--apply", "--create-missing")
    assert result.code == 0, result.err
    for entry in expected:
        check_in_vault(vault, entry)
    # example_export.txt holds two entries twice over: each account once
    assert len(vault.vault.accounts.all()) == len({e.key for e in expected})


# --- files that must be refused --------------------------------------------------------------

WRONG = "wrong password, or the file was altered"
REFUSED_CASES = [
    ("google-migration", "google-migration/test_export_wrong_data.txt", None, "test_export_wrong_data.txt"),
    ("google-migration", "google-migration/test_export_wrong_prefix.txt", None, "test_export_wrong_prefix.txt"),
    ("aegis", "aegis/aegis_encrypted.json", "not-test", WRONG),
    ("2fas", "aegis/2fas_authenticator_encrypted_v4.2fas", "not-test", WRONG),
    ("bitwarden", "bitwarden/bitwarden_encrypted_export.json", "b", WRONG),
    ("bitwarden", "bitwarden/bitwarden_encrypted_argon2id_export.json", "b", WRONG),
    ("aegis", "aegis/2fas_authenticator_plain_v4.2fas", None, "2fas_authenticator_plain_v4.2fas"),
]


@pytest.mark.parametrize(("fmt", "relative", "password", "says"), REFUSED_CASES,
                         ids=[f"{case[0]}-{Path(case[1]).name}-{case[2]}" for case in REFUSED_CASES])
def test_wrong_files_and_passwords_are_refused_clearly_and_change_nothing(vault, run_cli, tmp_path, fmt,
                                                                          relative, password, says):
    path = shared_fixture(relative)
    before = counts(vault)
    for flags in ((), ("--apply", "--create-missing")):
        result = run_import(run_cli, tmp_path, fmt, path, password, *flags)
        assert result.code == 1, result.out
        assert says in result.err and str(path) in result.err
        assert "Traceback" not in result.err and "unexpected" not in result.err.lower()
    assert counts(vault) == before
