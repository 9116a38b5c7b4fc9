"""operator add | remove | passwd | list."""

from __future__ import annotations

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_json, say, table
from smvault.cli.params import json_option


@click.group()
def operator() -> None:
    """People who can unlock the vault."""


@operator.command("add")
@click.argument("name")
@click.option("--email", help="The new operator's email (their person record; created if new).")
@click.option("--name", "person_name", help="Full name, when a person record is created.")
@click.option("--new-passphrase-file", metavar="F", help="Read the new operator's passphrase from F.")
@pass_options
def operator_add(opts: Options, name: str, email: str | None, person_name: str | None,
                 new_passphrase_file: str | None) -> None:
    """Add operator NAME with their own passphrase."""
    from smvault.services.operators import add_operator

    with opts.session() as session:
        passphrase = opts.new_passphrase(new_passphrase_file, f"Passphrase for new operator {name}")
        add_operator(session, name, passphrase, email, person_name)
    say(f"Operator {name} added.")


@operator.command("remove")
@click.argument("name")
@pass_options
def operator_remove(opts: Options, name: str) -> None:
    """Remove operator NAME; the database is rekeyed and every other slot resealed."""
    from smvault.services.operators import remove_operator

    with opts.session() as session:
        remove_operator(session, name)
    say(f"Operator {name} removed; the vault was rekeyed.")


@operator.command("passwd")
@click.option("--new-passphrase-file", metavar="F", help="Read the new passphrase from F.")
@pass_options
def operator_passwd(opts: Options, new_passphrase_file: str | None) -> None:
    """Change your own passphrase."""
    from smvault.services.operators import change_passphrase

    name = opts.operator_name()
    old = opts.passphrase(f"Current passphrase for {name}")
    with opts.session(passphrase=old) as session:
        new = opts.new_passphrase(new_passphrase_file, f"New passphrase for {name}")
        change_passphrase(session, old, new)
    say(f"Passphrase for {name} changed.")


@operator.command("list")
@json_option
@pass_options
def operator_list(opts: Options, as_json: bool) -> None:
    """List operators."""
    from smvault.services.operators import list_operators

    with opts.session() as session:
        rows = list_operators(session)
    if as_json:
        emit_json([{"name": op.name, "email": email, "since": op.created_at} for op, email in rows])
    else:
        table(["name", "email", "since"], [(op.name, email, op.created_at) for op, email in rows])


COMMANDS = [operator]
