"""handover create | totp | inspect: secrets leaving the vault in a file, confirmed and logged."""

from __future__ import annotations

from pathlib import Path

import click

from smvault.cli.context import Options, pass_options, stdin_is_tty
from smvault.cli.output import emit_json, fields, plural, say
from smvault.cli.params import json_option
from smvault.domain.errors import UsageError
from smvault.domain.models import normalize_email
from smvault.domain.text import printable

_OUT = click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
                    help="The new file to write (mode 0600); an existing file, or one in the vault's"
                         " directory, is refused.")
_YES = click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed when not on a terminal).")


@click.group()
def handover() -> None:
    """Hand accounts and their secrets to another team: a sealed packet, or a TOTP export."""


def _require_confirmation_possible(yes: bool) -> None:
    if not yes and not stdin_is_tty():
        raise UsageError("this exports secrets: confirm on a terminal or pass --yes")


def _confirm(lines: list[str], yes: bool) -> None:
    """Show what is about to be written (stderr: stdout carries the result), then ask."""
    for line in lines:
        click.echo(printable(line), err=True)
    if not yes:
        click.confirm("Write this file?", default=False, abort=True, err=True)


@handover.command("create")
@click.argument("refs", metavar="ACCOUNT...", nargs=-1, required=True)
@click.option("--to", "to_email", required=True, metavar="EMAIL", help="Who the packet is for.")
@_OUT
@_YES
@pass_options
def handover_create(opts: Options, refs: tuple[str, ...], to_email: str, out: Path, yes: bool) -> None:
    """Seal accounts (fields, people, password, TOTP seed, unused recovery codes) into a
    packet for EMAIL. The passphrase that opens it is printed once, here: send it by
    another channel than the file. Every secret in it counts as disclosed to you, and to
    EMAIL when that is a person of this vault (logged). Refused under emergency access."""
    from smvault.services.handover import check_handover, create_handover

    _require_confirmation_possible(yes)
    with opts.session() as session:
        keys = check_handover(session, refs, to_email, out)
        _confirm([f"Handover packet for {normalize_email(to_email)}, written to {out}, holding the secrets of:",
                  *(f"  {key}" for key in keys)], yes)
        result = create_handover(session, refs, to_email, out)
    say(f"Handover packet {result.packet_id} written to {result.path} ({plural(len(result.accounts), 'account')}).")
    say("Passphrase (shown only now; send it by a different channel than the file):")
    click.echo(result.passphrase)


@handover.command("totp")
@click.argument("refs", metavar="ACCOUNT...", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["uri", "qr"]), required=True,
              help="uri: otpauth:// URIs, one per line; qr: an HTML page with one QR code per account.")
@_OUT
@_YES
@pass_options
def handover_totp(opts: Options, refs: tuple[str, ...], fmt: str, out: Path, yes: bool) -> None:
    """Export the accounts' TOTP seeds to a file, unencrypted, for enrolling an authenticator.
    Each seed counts as disclosed to you (logged). Refused under emergency access."""
    from smvault.services.handover import check_totp_export, export_totp

    _require_confirmation_possible(yes)
    with opts.session() as session:
        keys = check_totp_export(session, refs, out, fmt)
        what = "otpauth:// URIs" if fmt == "uri" else "QR codes (HTML)"
        _confirm([f"TOTP seeds as {what}, unencrypted, written to {out}, for:", *(f"  {key}" for key in keys)], yes)
        result = export_totp(session, refs, out, fmt)
    say(f"TOTP seeds of {plural(len(result.accounts), 'account')} written to {result.path}. It is not encrypted:"
        " delete it once the seeds are enrolled.")


@handover.command("inspect")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@json_option
def handover_inspect(file: Path, as_json: bool) -> None:
    """Show a packet's header (who it is for, from whom, which accounts); no passphrase needed."""
    from smvault.services.handover import packet_info

    header = packet_info(file)
    if as_json:
        emit_json({"packet": header.packet_id, "to": header.to, "from_vault": header.from_vault,
                   "created_at": header.created_at, "created_by": header.created_by,
                   "accounts": list(header.accounts), "cipher": header.cipher})
        return
    fields([("packet", header.packet_id), ("to", header.to), ("from vault", header.from_vault),
            ("created", header.created_at), ("by", header.created_by), ("accounts", len(header.accounts))])
    for key in header.accounts:
        say(f"  {key}")


COMMANDS = [handover]
