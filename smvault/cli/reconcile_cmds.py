"""reconcile FILE: a social-media management tool's account export against the vault."""

from __future__ import annotations

from pathlib import Path

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_report
from smvault.cli.params import format_option, out_option
from smvault.domain.errors import InvalidInputError
from smvault.domain.text import printable


@click.command("reconcile")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--column", "columns", multiple=True, metavar="FIELD=HEADER",
              help="Read FIELD from the column named HEADER, e.g. --column handle=\"Profile\" (repeatable).")
@click.option("--mapping", "mapping_file", type=click.Path(path_type=Path, dir_okay=False),
              help='TOML file with a [columns] table of FIELD = "Header" (--column wins).')
@format_option
@out_option
@pass_options
def reconcile(opts: Options, file: Path, columns, mapping_file, fmt: str, out: Path | None) -> None:
    """Compare the account inventory exported from a social-media management tool (CSV) with
    the vault: accounts the tool manages that the vault does not hold, vault accounts (not
    retired) the tool does not know, owners that differ, and accounts retired in the vault
    that the tool still manages. A report ending with a log checkpoint (logged as
    reconcile.run); differences are its content, not an error.

    \b
    Fields: platform, handle (required), owner (an email). Headers match ignoring case,
    spaces, '_' and '-'; map others with --column or --mapping.
    platform: facebook, instagram, x (or twitter), linkedin, youtube, tiktok, ...
              or a name holding one ("Facebook Page", "LinkedIn Company")
    handle:   a leading '@' is dropped, a profile URL gives its account; compared ignoring case
    Bad rows are all reported as FILE:LINE: field: problem, before the vault is unlocked,
    and nothing is reported; so is a file with no rows.
    """
    from smvault.services.reconcile import InventoryFileError, load_mapping, read_inventory
    from smvault.services.reconcile import reconcile as run

    mapping = load_mapping(columns, mapping_file)
    try:
        inventory = read_inventory(file, mapping)  # a bad file: nothing unlocked, nothing logged
    except InventoryFileError as exc:
        for problem in exc.problems:  # FILE:LINE: field: problem, as editors and CI read them
            click.echo(printable(problem), err=True)
        raise InvalidInputError(exc.summary) from None
    emit_report(opts, lambda session: run(session, inventory), fmt, out)


COMMANDS = [reconcile]
