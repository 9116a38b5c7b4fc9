"""kit create | status: the emergency kit (k-of-n recovery shares, one printed sheet each)."""

from __future__ import annotations

from pathlib import Path

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_json, fields, say, warn
from smvault.cli.params import json_option


@click.group()
def kit() -> None:
    """The emergency kit: custodians who, K together, can unlock the vault."""


def _custodian_list(value: str) -> list[str]:
    return [email.strip() for email in value.split(",") if email.strip()]


@kit.command("create")
@click.option("--custodians", required=True, metavar="EMAIL,EMAIL,...",
              help="People (by email) who each get one share, in share order.")
@click.option("--threshold", required=True, type=int, metavar="K",
              help="How many custodians together can unlock (at least 2).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), metavar="DIR",
              help="New or empty directory for the sheets (default: ./smvault-kit-<kit id>).")
@pass_options
def kit_create(opts: Options, custodians: str, threshold: int, out_dir: Path | None) -> None:
    """Create a new emergency kit and write one sheet per custodian.

    A new kit replaces the old one: the vault is rekeyed, and the old kit's shares open
    nothing any more. The sheets hold the shares: print them, hand each to its custodian
    sealed, then delete the files."""
    import uuid

    from smvault.services.kit import create_kit

    # The kit id is chosen here so the default directory can be named after it: the sheets
    # are written before the kit is put in force.
    kit_id = str(uuid.uuid4())
    target = out_dir or Path(f"smvault-kit-{kit_id[:8]}")
    with opts.session() as session:
        made = create_kit(session, _custodian_list(custodians), threshold, out_dir=target, kit_id=kit_id)
    replaced = f", replacing kit {made.replaced_kit_id[:8]} (the vault was rekeyed)" if made.replaced_kit_id else ""
    say(f"Emergency kit {made.kit_id[:8]} created: any {made.threshold} of {made.count} custodians"
        f" can unlock{replaced}.")
    say(f"Sheets written to {target}:")
    for path in made.files:
        say(f"  {path}")
    warn(f"these files hold the kit's shares. Print each sheet, hand it sealed to its custodian,"
         f" then delete {target} (and empty any trash).")


@kit.command("status")
@json_option
@pass_options
def kit_status(opts: Options, as_json: bool) -> None:
    """Show the current emergency kit (readable without unlocking)."""
    from smvault.services.kit import kit_info

    info = kit_info(opts.vault_dir)
    if as_json:
        emit_json(None if info is None else {
            "kit_id": info.kit_id, "created_at": info.created_at, "threshold": info.threshold,
            "custodians": list(info.custodians), "vault_id": info.vault_id,
        })
        return
    if info is None:
        say("This vault has no emergency kit. Create one: smvault kit create --custodians ... --threshold K")
        return
    fields([("kit", info.kit_id), ("created", info.created_at), ("vault", info.vault_id),
            ("needed", f"any {info.threshold} of {info.count} custodians")])
    say("\nCustodians:")
    for index, email in enumerate(info.custodians, 1):
        say(f"  share {index}: {email}")


COMMANDS = [kit]
