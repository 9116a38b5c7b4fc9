"""transfer start | status | approve | step | close | cancel | list."""

from __future__ import annotations

import dataclasses

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_json, fields, say, table
from smvault.cli.params import json_option
from smvault.domain.transfer import TEMPLATES


def transfer_json(view) -> dict:
    return dataclasses.asdict(view)


def show_transfer(view) -> None:
    """The checklist as text: [x]/[ ] per step, open waits (a date, or what they wait for),
    then what blocks closing."""
    fields([
        ("transfer", view.workflow_id), ("account", view.account_key),
        ("to", f"{view.to_name} <{view.to_email}>"), ("from", view.from_email or "nobody"),
        ("template", view.template), ("state", view.state),
        ("requested", f"{view.requested_by}, {view.opened_at}"),
        ("approved", f"{view.approved_by}, {view.approved_at} ({view.approval})" if view.approved_by else None),
        *([("closed", f"{view.closed_by}, {view.closed_at}")] if view.closed_at else []),
        *([("reason", view.cancel_reason)] if view.cancel_reason else []),
    ])
    say("\nSteps:")
    for step in view.steps:
        how = "auto" if step.auto else "manual"
        line = f"  [{'x' if step.done else ' '}] {step.position}. {step.title} ({how})"
        if step.wait and not step.done:
            line += f", {step.wait}"
        say(line)
        if step.done:
            say(f"        {step.evidence or 'done'} ({step.done_by}, {step.done_at})")
    if view.state in ("requested", "approved"):
        if view.blockers:
            say("\nCannot close yet:")
            for blocker in view.blockers:
                say(f"  - {blocker}")
        else:
            say(f"\nReady to close: smvault transfer close {view.workflow_id}")


def _out(view, as_json: bool) -> None:
    if as_json:
        emit_json(transfer_json(view))
    else:
        show_transfer(view)


@click.group()
def transfer() -> None:
    """Move an account to a new owner, approved by a second operator."""


@transfer.command("start")
@click.argument("ref", metavar="ACCOUNT")
@click.option("--to", "to_email", required=True, metavar="EMAIL", help="The new owner.")
@click.option("--template", type=click.Choice(list(TEMPLATES)),
              help="Platform steps to use (default: the account's platform).")
@json_option
@pass_options
def transfer_start(opts: Options, ref: str, to_email: str, template: str | None, as_json: bool) -> None:
    """Request moving ACCOUNT to the person EMAIL (another operator approves)."""
    from smvault.services.transfer import start_transfer

    with opts.session() as session:
        view = start_transfer(session, ref, to_email, template)
    if as_json:
        emit_json(transfer_json(view))
    else:
        say(f"Requested transfer {view.workflow_id}: {view.account_key} -> {view.to_email}. "
            f"Another operator approves it with: smvault transfer approve {view.workflow_id}")


@transfer.command("status")
@click.argument("ident", metavar="ID|ACCOUNT")
@json_option
@pass_options
def transfer_status(opts: Options, ident: str, as_json: bool) -> None:
    """A transfer's checklist: by id, or an account's open (else latest) one."""
    from smvault.services.transfer import transfer_status as run

    with opts.session() as session:
        view = run(session, ident)
    _out(view, as_json)


@transfer.command("approve")
@click.argument("ident", metavar="ID|ACCOUNT")
@json_option
@pass_options
def transfer_approve(opts: Options, ident: str, as_json: bool) -> None:
    """Approve a transfer: a different operator than its requester.

    Run it as yourself (your own --operator and passphrase): that unlock is the approval's
    authentication."""
    from smvault.services.transfer import approve_transfer

    with opts.session() as session:
        view = approve_transfer(session, ident)
    if as_json:
        emit_json(transfer_json(view))
        return
    say(f"Approved transfer {view.workflow_id} ({view.account_key} -> {view.to_email}) "
        f"as {view.approved_by}.")


@transfer.command("step")
@click.argument("ident", metavar="ID|ACCOUNT")
@click.argument("position", type=int, metavar="N")
@click.option("--note", required=True, help="Evidence: what was done, where, by whom.")
@json_option
@pass_options
def transfer_step(opts: Options, ident: str, position: int, note: str, as_json: bool) -> None:
    """Resolve manual step N with a note as evidence."""
    from smvault.services.transfer import resolve_transfer_step

    with opts.session() as session:
        view = resolve_transfer_step(session, ident, position, note)
    if as_json:
        emit_json(transfer_json(view))
        return
    say(f"Step {position} of transfer {view.workflow_id} done; {len(view.open_steps)} open.")


@transfer.command("close")
@click.argument("ident", metavar="ID|ACCOUNT")
@json_option
@pass_options
def transfer_close(opts: Options, ident: str, as_json: bool) -> None:
    """Close a finished transfer: record the new owner and root of control.

    Needs approval, every step done and every waiting period passed."""
    from smvault.services.transfer import close_transfer

    with opts.session() as session:
        view = close_transfer(session, ident)
    if as_json:
        emit_json(transfer_json(view))
    else:
        root = next((s for s in view.steps if s.kind == "update-root-of-control"), None)
        say(f"Closed transfer {view.workflow_id}: {view.to_email} now owns {view.account_key}.")
        if root is not None and root.evidence:
            say(f"Changed: {root.evidence}")


@transfer.command("cancel")
@click.argument("ident", metavar="ID|ACCOUNT")
@click.option("--reason", required=True, help="Why (logged).")
@json_option
@pass_options
def transfer_cancel(opts: Options, ident: str, reason: str, as_json: bool) -> None:
    """Cancel an open transfer; the account is left as it is."""
    from smvault.services.transfer import cancel_transfer

    with opts.session() as session:
        view = cancel_transfer(session, ident, reason)
    if as_json:
        emit_json(transfer_json(view))
        return
    say(f"Cancelled transfer {view.workflow_id} ({view.account_key}).")


@transfer.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include closed and cancelled transfers.")
@json_option
@pass_options
def transfer_list(opts: Options, show_all: bool, as_json: bool) -> None:
    """Transfers, open ones by default, newest first."""
    from smvault.services.workflows import workflow_rows

    with opts.session() as session:
        rows = [r for r in workflow_rows(session, open_only=not show_all) if r.kind == "transfer"]
    if as_json:
        emit_json([dataclasses.asdict(r) for r in rows])
    else:
        table(["id", "account", "to", "state", "opened", "steps"],
              [(r.id, r.account_key, r.person_email, r.state, r.opened_at, f"{r.steps_done}/{r.steps}")
               for r in rows])


COMMANDS = [transfer]
