"""init, backup, restore, demo."""

from __future__ import annotations

from pathlib import Path

import os

import click

from smvault.cli.context import OPERATOR_ENV, Options, pass_options
from smvault.domain.errors import ConflictError, UsageError
from smvault.cli.output import emit_json, say
from smvault.cli.params import json_option


@click.command()
@click.option("--operator", "operator_name", required=True, help="Name of the first operator.")
@click.option("--email", help="The operator's email (their person record).")
@click.option("--name", "person_name", help="The operator's full name.")
@pass_options
def init(opts: Options, operator_name: str, email: str | None, person_name: str | None) -> None:
    """Create a vault and its first operator."""
    from smvault.services.session import create_vault

    passphrase = opts.new_passphrase(opts.passphrase_file, f"New passphrase for {operator_name}")
    session = create_vault(
        opts.vault_dir, operator_name, passphrase, email=email, person_name=person_name,
        anchor_dir=opts.anchor_dir,
    )
    session.close()
    say(f"Created vault {session.vault.vault_id} at {opts.vault_dir} with operator {operator_name}.")


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@pass_options
def backup(opts: Options, file: Path) -> None:
    """Write an encrypted backup (keyring + database) to FILE."""
    from smvault.services.backup import backup as run

    with opts.session() as session:
        run(session, file)
    say(f"Backup written to {file}. It opens with any current operator's passphrase.")


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--vault", "target", required=True, type=click.Path(path_type=Path), help="New vault directory.")
@pass_options
def restore(opts: Options, file: Path, target: Path) -> None:
    """Restore backup FILE into a new vault directory."""
    from smvault.services.backup import restore as run

    operator = opts.operator or os.environ.get(OPERATOR_ENV)
    if not operator:
        raise UsageError("restore needs --operator NAME (an operator in the backup)")
    session = run(file, target, operator, opts.passphrase(f"Passphrase for {operator}"),
                  anchor_dir=opts.anchor_dir)
    head = session.vault.log.head()
    session.close()
    say(f"Restored into {target}; log verified up to entry {head.seq}; this machine's anchor moved to it.")


@click.command()
@click.option("--vault", "target", type=click.Path(path_type=Path), help="Where to build the demo vault.")
@click.option("--no-open", is_flag=True, help="Only build it: do not open the terminal UI.")
@json_option
@pass_options
def demo(opts: Options, target: Path | None, no_open: bool, as_json: bool) -> None:
    """Build (or reuse) a realistic demo vault, print its passphrase, and open it in the UI."""
    from smvault.services.demo import DEMO_OPERATOR, DEMO_PASSPHRASE, build_demo, is_demo_vault
    from smvault.services.vaults import vault_exists

    directory = target or opts.vault or Path("smvault-demo")
    reused = vault_exists(directory)
    if reused and not is_demo_vault(directory):
        raise ConflictError(f"{directory} holds a vault that is not the demo: choose another --vault")
    summary = {} if reused else build_demo(directory, anchor_dir=opts.anchor_dir)
    if as_json:
        emit_json({"vault": str(directory), "operator": DEMO_OPERATOR, "passphrase": DEMO_PASSPHRASE,
                   "reused": reused, **summary})
        return
    say(f"Demo vault: {directory}" + ("  (reused: delete it to rebuild with today's dates)" if reused else ""))
    say(f"Operator:   {DEMO_OPERATOR}")
    say(f"Passphrase: {DEMO_PASSPHRASE}   (demo only: never use a published passphrase)")
    if summary:
        say(", ".join(f"{k}: {v}" for k, v in summary.items()))
    from smvault.cli.ui_cmds import on_terminal, open_tui

    if not no_open and on_terminal():
        opts.vault = directory
        open_tui(opts, operator=DEMO_OPERATOR,
                 hint=f"Demo passphrase: {DEMO_PASSPHRASE}  (published: it only opens the demo)")


COMMANDS = [init, backup, restore, demo]
