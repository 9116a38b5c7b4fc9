"""smvault kit create | status: exit codes, messages, and no share words on the terminal."""

from __future__ import annotations

import json
import stat

import pytest

from smvault.services.kit import kit_info, recover_vault_key_secret
from smvault.store.vault import Vault

from .conftest import CUSTODIANS, LEAVING

ARGS = ("kit", "create", "--custodians", ",".join(CUSTODIANS), "--threshold", "2")


@pytest.fixture
def vault(staffed, run_cli, pin_clock):
    staffed.close()  # the CLI opens its own sessions
    # the CLI reads the system clock: pin it to the fixtures' day (who is leaving, who has left)
    pin_clock(staffed.clock())
    return run_cli


def _sheets_words(directory) -> list[list[str]]:
    """Each sheet's words, read back from the text files the CLI wrote."""
    from smvault.domain.shares import parse_share

    shares = []
    for path in sorted(directory.glob("*.txt")):
        block = path.read_text().split("YOUR SHARE: 20 WORDS\n\n")[1].split("\n\n")[0]
        shares.append(parse_share(block, 1).mnemonic.split())
    return shares


def _leaks(text: str, shares: list[list[str]]) -> bool:
    tokens = text.lower().split()
    pairs = set(zip(tokens, tokens[1:]))
    return any(pair in pairs for words in shares for pair in zip(words, words[1:])) or any(
        " ".join(words[i:i + 2]) in text.lower() for words in shares for i in range(len(words) - 1))


def test_status_without_a_kit(vault):
    result = vault("kit", "status")
    assert result.code == 0 and "no emergency kit" in result.out
    assert json.loads(vault("kit", "status", "--json").out) is None


def test_create_writes_sheets_and_prints_no_words(vault, vault_dir, tmp_path):
    out = tmp_path / "sheets"
    result = vault(*ARGS, "--out", str(out))
    assert result.code == 0, result.err
    info = kit_info(vault_dir)
    assert f"Emergency kit {info.kit_id[:8]} created: any 2 of 3 custodians can unlock." in result.out
    files = sorted(out.iterdir())
    assert len(files) == 6 and all(str(f) in result.out for f in files)
    assert "hold the kit's shares" in result.err and "delete" in result.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    shares = _sheets_words(out)
    assert len(shares) == 3
    assert not _leaks(result.out + result.err, shares)
    secret = recover_vault_key_secret(vault_dir, [" ".join(w) for w in shares[:2]])
    Vault.open_recovery(vault_dir, secret, "2026-11-02T10:00:00Z").close()

    status = vault("kit", "status")
    assert status.code == 0 and info.kit_id in status.out and "any 2 of 3 custodians" in status.out
    assert all(f"share {n}: {email}" in status.out for n, email in enumerate(CUSTODIANS, 1))
    assert json.loads(vault("kit", "status", "--json").out)["custodians"] == CUSTODIANS

    again = vault(*ARGS, "--out", str(tmp_path / "second"))
    assert again.code == 0 and f"replacing kit {info.kit_id[:8]} (the vault was rekeyed)" in again.out
    verify = vault("log", "verify")
    assert verify.code == 0, verify.err
    assert not _leaks(verify.out + verify.err, shares + _sheets_words(tmp_path / "second"))


def test_default_out_is_named_after_the_kit(vault, vault_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = vault(*ARGS)
    assert result.code == 0, result.err
    kit_id = kit_info(vault_dir).kit_id
    target = tmp_path / f"smvault-kit-{kit_id[:8]}"
    assert target.is_dir() and len(list(target.iterdir())) == 6
    assert f"smvault-kit-{kit_id[:8]}" in result.out


@pytest.mark.parametrize(
    ("custodians", "threshold", "code", "message"),
    [
        ("alice@example.com,ghost@example.com", "2", 1, "no person with email 'ghost@example.com'"),
        (f"alice@example.com,{LEAVING}", "2", 5, f"{LEAVING} is leaving on"),
        (",".join(CUSTODIANS), "1", 2, "the threshold must be from 2 to 3"),
        ("alice@example.com", "2", 2, "a kit needs 2 to 16 custodians; 1 given"),
        (",".join(CUSTODIANS), "two", 2, "'two' is not a valid integer"),
    ],
)
def test_create_errors(vault, vault_dir, tmp_path, custodians, threshold, code, message):
    result = vault("kit", "create", "--custodians", custodians, "--threshold", threshold,
                   "--out", str(tmp_path / "sheets"))
    assert result.code == code
    assert message in result.err
    assert kit_info(vault_dir) is None and not (tmp_path / "sheets").exists()


def test_unusable_out_directory_keeps_the_old_kit(vault, vault_dir, tmp_path):
    assert vault(*ARGS, "--out", str(tmp_path / "first")).code == 0
    old = kit_info(vault_dir)
    old_shares = _sheets_words(tmp_path / "first")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("mine")
    result = vault(*ARGS, "--out", str(busy))
    assert result.code != 0 and "is not empty" in result.err
    (tmp_path / "file").write_text("")
    result = vault(*ARGS, "--out", str(tmp_path / "file" / "kit"))
    assert result.code == 2 and "cannot create" in result.err
    assert kit_info(vault_dir) == old
    secret = recover_vault_key_secret(vault_dir, [" ".join(w) for w in old_shares[1:]])
    Vault.open_recovery(vault_dir, secret, "2026-11-02T10:00:00Z").close()
    # nothing but the unlocks of these commands was logged: no kit.create
    entries = json.loads(vault("log", "tail", "-n", "1000", "--json").out)
    assert [e["action"] for e in entries].count("kit.create") == 1
