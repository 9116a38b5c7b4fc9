"""What every command needs: the vault location, the operator, passphrases, a session."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from smvault.domain.errors import UsageError

VAULT_ENV = "SMVAULT_VAULT"
OPERATOR_ENV = "SMVAULT_OPERATOR"
PASSPHRASE_FILE_ENV = "SMVAULT_PASSPHRASE_FILE"
PASSPHRASE_ENV = "SMVAULT_PASSPHRASE"
NEW_PASSPHRASE_FILE_ENV = "SMVAULT_NEW_PASSPHRASE_FILE"
NEW_PASSPHRASE_ENV = "SMVAULT_NEW_PASSPHRASE"


def default_vault_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("smvault")) / "vault"


def _read_passphrase_file(path: str, what: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    # One trailing newline is the file's, not the passphrase's (echo adds one).
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        raise UsageError(f"the {what} file {path} is empty")
    return data


def stdin_is_tty() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


@dataclass
class Options:
    vault: Path | None
    operator: str | None
    passphrase_file: str | None
    anchor_dir: Path | None = None

    @property
    def vault_dir(self) -> Path:
        return (self.vault or Path(os.environ.get(VAULT_ENV) or default_vault_dir())).expanduser()

    def operator_name(self) -> str:
        name = self.operator or os.environ.get(OPERATOR_ENV)
        if name:
            return name
        from smvault.services.vaults import operator_names

        names = operator_names(self.vault_dir)
        if len(names) == 1:
            return names[0]
        raise UsageError(
            f"this vault has {len(names)} operators: say which with --operator NAME "
            f"or {OPERATOR_ENV}"
        )

    def passphrase(self, prompt: str = "Passphrase") -> bytes:
        """--passphrase-file, then SMVAULT_PASSPHRASE_FILE, then SMVAULT_PASSPHRASE, then a TTY."""
        path = self.passphrase_file or os.environ.get(PASSPHRASE_FILE_ENV)
        if path:
            return _read_passphrase_file(path, "passphrase")
        value = os.environ.get(PASSPHRASE_ENV)
        if value:
            return value.encode()
        if stdin_is_tty():
            return click.prompt(prompt, hide_input=True, err=True).encode()
        raise UsageError(
            f"no passphrase: use --passphrase-file F, {PASSPHRASE_FILE_ENV}, or {PASSPHRASE_ENV}, "
            "or run on a terminal"
        )

    def new_passphrase(self, file_option: str | None, prompt: str) -> bytes:
        path = file_option or os.environ.get(NEW_PASSPHRASE_FILE_ENV)
        if path:
            return _read_passphrase_file(path, "new passphrase")
        value = os.environ.get(NEW_PASSPHRASE_ENV)
        if value:
            return value.encode()
        if stdin_is_tty():
            return click.prompt(prompt, hide_input=True, confirmation_prompt=True, err=True).encode()
        raise UsageError(
            f"no new passphrase: use --new-passphrase-file F, {NEW_PASSPHRASE_FILE_ENV}, "
            f"or {NEW_PASSPHRASE_ENV}, or run on a terminal"
        )

    @contextmanager
    def session(self, check: bool = True, passphrase: bytes | None = None) -> Iterator:
        from smvault.services.session import unlock

        operator = self.operator_name()
        if passphrase is None:
            passphrase = self.passphrase(f"Passphrase for {operator}")
        session = unlock(
            self.vault_dir, operator, passphrase,
            anchor_dir=self.anchor_dir, check=check,
        )
        try:
            yield session
        except BaseException:
            session.close(failing=True)
            raise
        session.close()


pass_options = click.make_pass_decorator(Options)
