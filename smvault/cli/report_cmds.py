"""report NAME: governance reports (access matrix, leavers, MFA coverage, rotation...)."""

from __future__ import annotations

from pathlib import Path

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import say, write_report
from smvault.domain.governance import REPORTS, check_report_name
from smvault.domain.report import FORMATS


def format_option(function):
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True,
                        help="Markdown, JSON, or CSV (formula-safe for spreadsheets).")(function)


def out_option(function):
    return click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
                        help="Write to this file (created private, mode 0600) instead of stdout.")(function)


def emit_report(make, out: Path | None, vault_dir: Path) -> None:
    """Print the text `make()` renders, or write it to `out` (private, all or nothing;
    never inside the vault directory `vault_dir`)."""
    if out is None:
        click.echo(make(), nl=False)
        return
    write_report(out, make, vault_dir)
    say(f"Wrote {out}.")


_NAMES = "\n".join(f"  {name:<18} {description}" for name, description in REPORTS.items())


@click.command("report", help=f"""Run the governance report NAME: tables for audit, ending with a
log checkpoint (logged as report.run). Reports name people and their access, never a secret.

\b
{_NAMES}""")
@click.argument("name")
@format_option
@out_option
@pass_options
def report(opts: Options, name: str, fmt: str, out: Path | None) -> None:
    from smvault.services.reports import build_report

    check_report_name(name)  # before the passphrase is asked for

    def make() -> str:
        with opts.session() as session:
            return build_report(session, name).render(fmt)

    emit_report(make, out, opts.vault_dir)


COMMANDS = [report]
