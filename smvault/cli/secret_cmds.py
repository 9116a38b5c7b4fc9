"""secret set-password | set-totp | add-recovery-codes | use-recovery-code | reveal; totp."""

from __future__ import annotations

import sys

import click

from smvault.cli.context import Options, pass_options, stdin_is_tty
from smvault.cli.output import emit_json, say
from smvault.cli.params import json_option
from smvault.domain.errors import UsageError


def _read_secret(prompt: str, confirm: bool = False) -> str:
    """From a hidden prompt on a terminal, else from stdin (one trailing newline dropped)."""
    if stdin_is_tty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    data = sys.stdin.read()
    if data.endswith("\r\n"):
        data = data[:-2]
    elif data.endswith("\n"):
        data = data[:-1]
    if not data:
        raise UsageError("nothing on standard input")
    return data


@click.group()
def secret() -> None:
    """Store and reveal passwords, TOTP seeds and recovery codes (every reveal is logged)."""


@secret.command("set-password")
@click.argument("ref", metavar="ACCOUNT")
@click.option("--generate", is_flag=True, help="Generate a strong password and print it once.")
@pass_options
def set_password(opts: Options, ref: str, generate: bool) -> None:
    """Store the account's password (from stdin when not a terminal)."""
    from smvault.services.secrets import set_password as run

    with opts.session() as session:
        value = None if generate else _read_secret("Password", confirm=True)
        generated = run(session, ref, value)
    if generated is not None:
        click.echo(generated)
    else:
        say("Password stored.")


@secret.command("set-totp")
@click.argument("ref", metavar="ACCOUNT")
@pass_options
def set_totp(opts: Options, ref: str) -> None:
    """Store a TOTP seed: base32 or an otpauth:// URI (from stdin when not a terminal)."""
    from smvault.services.secrets import set_totp as run

    with opts.session() as session:
        params = run(session, ref, _read_secret("TOTP seed or otpauth:// URI"))
    say(f"TOTP stored ({params.kind}, {params.algorithm}, {params.digits} digits, {params.period} s).")


@secret.command("add-recovery-codes")
@click.argument("ref", metavar="ACCOUNT")
@click.option("--keep-old", is_flag=True, help="Keep unused older codes (default: a new set replaces them).")
@pass_options
def add_recovery_codes(opts: Options, ref: str, keep_old: bool) -> None:
    """Store recovery codes, one per line on stdin."""
    from smvault.services.secrets import add_recovery_codes as run

    if stdin_is_tty():
        say("Paste recovery codes, one per line; end with an empty line.")
        codes = []
        while line := click.prompt("", default="", show_default=False, hide_input=True, err=True):
            codes.append(line)
    else:
        codes = sys.stdin.read().splitlines()
    with opts.session() as session:
        count = run(session, ref, codes, replace=not keep_old)
    say(f"{count} recovery codes stored.")


@secret.command("use-recovery-code")
@click.argument("ref", metavar="ACCOUNT")
@click.option("--for", "for_email", metavar="EMAIL", help="Disclose to this person (needs their grant).")
@json_option
@pass_options
def use_recovery_code(opts: Options, ref: str, for_email: str | None, as_json: bool) -> None:
    """Print the next unused recovery code and mark it used."""
    from smvault.services.secrets import use_recovery_code as run

    with opts.session() as session:
        revealed = run(session, ref, for_email)
    if as_json:
        emit_json({"account": revealed.account.key, "field": revealed.field, "value": revealed.value})
    else:
        click.echo(revealed.value)


@secret.command("reveal")
@click.argument("ref", metavar="ACCOUNT")
@click.option("--field", type=click.Choice(["password", "totp-seed", "recovery-codes"]), default="password", show_default=True)
@click.option("--for", "for_email", metavar="EMAIL", help="Disclose to this person (needs their grant).")
@json_option
@pass_options
def reveal(opts: Options, ref: str, field: str, for_email: str | None, as_json: bool) -> None:
    """Print a secret (logged, with who it was disclosed to)."""
    from smvault.services.secrets import reveal as run

    with opts.session() as session:
        revealed = run(session, ref, field, for_email)
    if as_json:
        emit_json({"account": revealed.account.key, "field": revealed.field, "value": revealed.value})
    elif isinstance(revealed.value, list):
        for code in revealed.value:
            click.echo(code)
    else:
        click.echo(revealed.value)


@click.command()
@click.argument("ref", metavar="ACCOUNT")
@click.option("--for", "for_email", metavar="EMAIL", help="Disclose to this person (needs their grant).")
@json_option
@pass_options
def totp(opts: Options, ref: str, for_email: str | None, as_json: bool) -> None:
    """The current TOTP code and seconds left (logged)."""
    from smvault.services.secrets import totp_code

    with opts.session() as session:
        code = totp_code(session, ref, for_email)
    if as_json:
        emit_json({"account": code.account.key, "code": code.code, "seconds_left": code.seconds_left, "kind": code.kind})
    elif code.seconds_left is None:
        click.echo(f"{code.code}  (HOTP: counter advanced)")
    else:
        click.echo(f"{code.code}  ({code.seconds_left} s left)")


COMMANDS = [secret, totp]
