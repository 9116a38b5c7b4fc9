"""Root command, global options, and the one place errors become messages and exit codes.

Exit codes: 0 ok, 1 error, 2 usage, 3 wrong passphrase or unknown operator, 4 integrity,
5 refused by policy. Nothing reaches the user as a traceback (SMVAULT_DEBUG=1 shows one).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from smvault.cli.context import Options
from smvault.domain.errors import SmvaultError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


@click.group(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--vault", type=click.Path(path_type=Path), help="Vault directory (default: $SMVAULT_VAULT or the user data dir).")
@click.option("--operator", help="Operator to unlock as (default: $SMVAULT_OPERATOR, or the only one).")
@click.option("--passphrase-file", metavar="F", help="Read the passphrase from file F.")
@click.option("--recovery", is_flag=True,
              help="Break glass: unlock with K emergency-kit shares instead of a passphrase (needs --reason and --incident).")
@click.option("--share-file", "share_files", metavar="F", multiple=True,
              help="With --recovery: a file holding one share (repeat for each). Default: one share per line "
                   "on stdin, or asked for on the terminal.")
@click.option("--reason", metavar="TEXT", help="With --recovery: why the glass is broken (logged).")
@click.option("--incident", metavar="ID", help="With --recovery: the incident id (logged on every entry).")
@click.version_option(package_name="smvault")
@click.pass_context
def cli(ctx: click.Context, vault: Path | None, operator: str | None, passphrase_file: str | None,
        recovery: bool, share_files: tuple[str, ...], reason: str | None, incident: str | None) -> None:
    """smvault keeps a company's social-media accounts under control: who can get into which
    account, the secrets that open them, and a tamper-evident log of every time one is used.

    With no command, on a terminal, smvault opens its terminal UI (with --recovery, on its
    break-glass screen)."""
    ctx.obj = Options(vault, operator, passphrase_file, recovery=recovery, share_files=share_files,
                      reason=reason, incident=incident)
    ctx.obj.check_recovery_options(ctx.invoked_subcommand)
    if ctx.invoked_subcommand is None:
        from smvault.cli.ui_cmds import on_terminal, open_tui

        if on_terminal():
            open_tui(ctx.obj)  # with --recovery, it starts on the break-glass screen (opts say so)
        else:
            click.echo(ctx.get_help())


def _register() -> None:
    from smvault.cli import (
        account_cmds,
        breakglass_cmds,
        grant_cmds,
        handover_cmds,
        import_cmds,
        incident_cmds,
        kit_cmds,
        log_cmds,
        offboard_cmds,
        operator_cmds,
        people_cmds,
        reconcile_cmds,
        report_cmds,
        review_cmds,
        secret_cmds,
        transfer_cmds,
        ui_cmds,
        vault_cmds,
    )

    for module in (ui_cmds, vault_cmds, operator_cmds, people_cmds, account_cmds, secret_cmds, grant_cmds,
                   offboard_cmds, transfer_cmds, review_cmds, breakglass_cmds, kit_cmds, incident_cmds,
                   import_cmds, reconcile_cmds, report_cmds, handover_cmds, log_cmds):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def _report(exc: SmvaultError) -> int:
    from smvault.domain.text import printable

    click.echo(f"smvault: {printable(exc.message)}", err=True)
    return exc.exit_code


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="smvault", standalone_mode=False)
        return EXIT_OK
    except SmvaultError as exc:
        code = _report(exc)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except click.exceptions.Abort:
        click.echo("smvault: cancelled", err=True)
        code = EXIT_ERROR
    except KeyboardInterrupt:
        click.echo("smvault: interrupted", err=True)
        code = 130
    except BrokenPipeError:
        code = EXIT_ERROR
    except Exception as exc:  # the last line of defence: no traceback, no exception text
        from smvault.services.errors import translate

        known = translate(exc)
        if known is not None:
            code = _report(known)
        else:
            if os.environ.get("SMVAULT_DEBUG") == "1":
                raise
            click.echo(
                f"smvault: internal error ({type(exc).__name__}); nothing was changed. "
                "Run again with SMVAULT_DEBUG=1 to see the details.",
                err=True,
            )
            code = EXIT_ERROR
    sys.stdout.flush()
    return code


def entry() -> None:
    sys.exit(main())
