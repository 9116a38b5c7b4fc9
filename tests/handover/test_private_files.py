"""services.private_files: a new file is never put over an existing one, and nothing the
CLI writes lands in the vault's own directory (handover files and reports alike)."""

from __future__ import annotations

import os
import re
import stat

import pytest

from smvault.domain.errors import UsageError
from smvault.services.private_files import refuse_inside, write_private


def test_without_replace_an_existing_name_is_refused_before_make_runs(tmp_path):
    target = tmp_path / "p.smh"
    target.write_text("theirs\n")
    made = []
    with pytest.raises(UsageError, match=f"^{re.escape(str(target))} already exists: choose another name$"):
        write_private(target, lambda: made.append(1) or "mine", "handover packet", replace=False)
    assert made == [] and target.read_text() == "theirs\n" and os.listdir(tmp_path) == ["p.smh"]


def test_without_replace_a_name_taken_while_making_is_refused_and_theirs_is_kept(tmp_path):
    target = tmp_path / "p.smh"

    def make() -> str:
        target.symlink_to(tmp_path / "nowhere")  # another program takes the name meanwhile
        return "mine"

    with pytest.raises(UsageError, match="already exists: choose another name"):
        write_private(target, make, "handover packet", replace=False)
    assert target.is_symlink() and os.listdir(tmp_path) == ["p.smh"]  # no temporary file left


def test_without_replace_a_free_name_gets_a_private_file(tmp_path):
    target = tmp_path / "p.smh"
    write_private(target, lambda: "mine\n", "handover packet", replace=False)
    assert target.read_text() == "mine\n" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_nlink == 1 and os.listdir(tmp_path) == ["p.smh"]


def test_with_replace_an_existing_file_is_replaced(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old\n")
    write_private(target, lambda: "new\n")
    assert target.read_text() == "new\n" and os.listdir(tmp_path) == ["report.md"]


def test_refuse_inside_sees_through_spellings_of_the_same_directory(tmp_path, monkeypatch):
    vault = tmp_path / "vault"
    (vault / "sub").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(vault)
    monkeypatch.chdir(tmp_path)
    for target in (vault / "vault.db", vault / "sub" / "x.md", tmp_path / "alias" / "x.md",
                   tmp_path / "elsewhere" / ".." / "vault" / "x.md"):
        with pytest.raises(UsageError, match="is inside the vault directory"):
            refuse_inside(target, vault)
    with pytest.raises(UsageError, match="is inside the vault directory"):
        refuse_inside(vault / "x.md", "vault")  # a relative vault directory
    refuse_inside(tmp_path / "x.md", vault)  # beside it is fine
    refuse_inside(tmp_path / "vault-reports" / "x.md", vault)


# --- reports: --out never lands in the vault directory ------------------------------------------------------


@pytest.mark.parametrize("command", [
    ("report", "access-matrix"),
    ("offboard", "report", "bob@example.com"),
    ("review", "report", "1"),
    ("reconcile", "{tmp}/tool-export.csv"),
])
def test_a_report_is_never_written_into_the_vault_directory(session, run_cli, vault_dir, tmp_path, command):
    (tmp_path / "tool-export.csv").write_text("platform,handle\ninstagram,acme\n")
    command = tuple(arg.format(tmp=tmp_path) for arg in command)
    keyring = (vault_dir / "keyring.json").read_bytes()
    head = session.vault.log.head()
    for name in ("keyring.json", "vault.db"):
        result = run_cli(*command, "--out", str(vault_dir / name))
        assert (result.code, result.out) == (2, "")
        assert result.err == (f"smvault: {vault_dir / name} is inside the vault directory {vault_dir}:"
                              " write it somewhere else\n")
    assert (vault_dir / "keyring.json").read_bytes() == keyring
    assert session.vault.log.head() == head  # refused before the vault was even opened
