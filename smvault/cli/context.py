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


def read_passphrase_file(path: str, what: str) -> bytes:
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


# Commands that open no session of an existing vault: --recovery means nothing to them.
NO_SESSION_COMMANDS = frozenset({"init", "restore", "demo"})


def _read_share_file(path: str) -> str:
    try:
        text = Path(path).read_text(errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not text"
        raise UsageError(f"cannot read the share file {path}: {why}") from None
    if not text.strip():
        raise UsageError(f"the share file {path} is empty")
    from smvault.services.kit_sheet import share_from_sheet

    # A custodian's sheet (.txt or .html, as `kit create` wrote it) is a share file too.
    share = share_from_sheet(text)
    if share is not None:
        if not share.strip():
            raise UsageError(f"the share file {path} looks like an emergency kit sheet, but its share"
                             " words cannot be found in it: give the words alone, one share per file")
        return share
    return text  # blank lines and extra whitespace are the share parser's to ignore


@dataclass
class Options:
    vault: Path | None
    operator: str | None
    passphrase_file: str | None
    anchor_dir: Path | None = None
    # Break glass (`--recovery`): a session opened with emergency-kit shares.
    recovery: bool = False
    share_files: tuple[str, ...] = ()
    reason: str | None = None
    incident: str | None = None

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
            return read_passphrase_file(path, "passphrase")
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
            return read_passphrase_file(path, "new passphrase")
        value = os.environ.get(NEW_PASSPHRASE_ENV)
        if value:
            return value.encode()
        if stdin_is_tty():
            return click.prompt(prompt, hide_input=True, confirmation_prompt=True, err=True).encode()
        raise UsageError(
            f"no new passphrase: use --new-passphrase-file F, {NEW_PASSPHRASE_FILE_ENV}, "
            f"or {NEW_PASSPHRASE_ENV}, or run on a terminal"
        )

    # --- break glass ------------------------------------------------------------------------

    def check_recovery_options(self, command: str | None) -> None:
        """Usage errors (exit 2) before anything is read: the share options without
        --recovery, --recovery with a command that opens no vault, or without its reason
        and incident (the TUI asks for those itself)."""
        if not self.recovery:
            extra = [name for name, value in (("--share-file", self.share_files), ("--reason", self.reason),
                                              ("--incident", self.incident)) if value]
            if extra:
                raise UsageError(f"{', '.join(extra)} only go with --recovery")
            return
        if command in NO_SESSION_COMMANDS:
            raise UsageError(f"--recovery opens a break-glass session of an existing vault; '{command}' opens none")
        if command is None:
            return
        from smvault.services.session import check_recovery_inputs

        if not (self.reason or "").strip() or not (self.incident or "").strip():
            raise UsageError("--recovery needs --reason TEXT and --incident ID (both are logged)")
        check_recovery_inputs(self.reason, self.incident)

    def shares_from_files(self) -> list[str]:
        return [_read_share_file(path) for path in self.share_files]

    def recovery_shares(self) -> list[str]:
        """--share-file files (one share each), else one share per line on stdin when it is
        not a terminal, else asked for one by one on the terminal (hidden)."""
        if self.share_files:
            return self.shares_from_files()
        if not stdin_is_tty():
            shares = [line for line in sys.stdin.read().splitlines() if line.strip()]
            if not shares:
                raise UsageError("--recovery: no shares on stdin (one per line), and no --share-file")
            return shares
        return self._ask_shares()

    def _ask_shares(self) -> list[str]:
        """Prompt until the kit's threshold of valid shares is in; a share that fails its
        check is named (share 2: word 7...) and asked for again."""
        from smvault.domain.shares import ShareProblem
        from smvault.services.kit import check_share, kit_info

        kit = kit_info(self.vault_dir)
        if kit is None:
            raise UsageError(f"the vault at {self.vault_dir} has no emergency kit: --recovery cannot open it")
        click.echo(f"Emergency kit {kit.kit_id[:8]} needs {kit.threshold} of {kit.count} shares.", err=True)
        shares: list[str] = []
        members: list[int] = []
        while len(shares) < kit.threshold:
            number = len(shares) + 1
            text = click.prompt(f"Share {number} of {kit.threshold} (the words, in order)",
                                hide_input=True, err=True)
            try:
                checked = check_share(self.vault_dir, text, number)
            except ShareProblem as problem:
                click.echo(f"smvault: {problem.message}; enter share {number} again.", err=True)
                continue
            if not checked.current_kit:
                click.echo(f"smvault: share {number} is not from this vault's current kit; enter it again.", err=True)
                continue
            if checked.member_index in members:
                click.echo(f"smvault: share {number} is the same share as share {members.index(checked.member_index) + 1}; "
                           "enter another custodian's share.", err=True)
                continue
            click.echo(f"Share {number}: share {checked.member_index} of {checked.custodian_email}, accepted.", err=True)
            shares.append(text)
            members.append(checked.member_index)
        return shares

    @contextmanager
    def session(self, check: bool = True, passphrase: bytes | None = None) -> Iterator:
        if self.recovery:
            from smvault.services.session import unlock_recovery

            self.check_recovery_options("")
            session = unlock_recovery(self.vault_dir, self.recovery_shares(), reason=self.reason,
                                      incident=self.incident, anchor_dir=self.anchor_dir, check=check)
        else:
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
