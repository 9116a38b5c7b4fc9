"""incident list | show | step | close: post-incident rotation after break-glass."""

from __future__ import annotations

import dataclasses

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_json, say, table
from smvault.cli.params import ID, json_option


def view_json(view) -> dict:
    data = dataclasses.asdict(view)
    data["open_steps"] = [s.position for s in view.open_steps]
    return data


def show_view(view) -> None:
    """The checklist as text: the sessions it is about, numbered steps with [x]/[ ] marks."""
    say(f"Post-incident {view.workflow_id} for incident {view.incident}: {view.state}.")
    say(f"Opened {view.opened_at} by {view.opened_by}.")
    if view.state == "closed":
        say(f"Closed {view.closed_at} by {view.closed_by}.")
    if view.override_reason:
        say(f"Closed over open steps; reason: {view.override_reason}")
    say("\nBreak-glass sessions:")
    for item in view.sessions:
        how = "" if item.locked else " (never locked: found at a later unlock)"
        source = f", emergency request {item.source_workflow_id}" if item.source_workflow_id else ""
        say(f"  {item.bg_id} ({item.origin}{source}): log seq {item.first_seq} to {item.last_seq}{how}")
        if item.reason:
            say(f"    reason: {item.reason}")
    done = sum(1 for s in view.steps if s.done)
    say(f"\nSteps ({done} of {len(view.steps)} done):")
    for step in view.steps:
        manual = " (manual: resolve with a note)" if step.manual and not step.done else ""
        say(f"{step.position:>3}. [{'x' if step.done else ' '}] {step.title}{manual}")
        if step.done and step.evidence:
            by = f" ({step.done_by}, {step.done_at})" if step.done_by else ""
            say(f"        evidence: {step.evidence}{by}")


@click.group()
def incident() -> None:
    """After break-glass: rotate what was disclosed, issue a new kit, review the session's log."""


@incident.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include closed ones.")
@json_option
@pass_options
def incident_list(opts: Options, show_all: bool, as_json: bool) -> None:
    """Post-incident workflows, open ones by default, newest first."""
    from smvault.services.post_incident import post_incidents

    with opts.session() as session:
        rows = post_incidents(session, open_only=not show_all)
    if as_json:
        emit_json([dataclasses.asdict(r) for r in rows])
    else:
        table(["id", "incident", "state", "opened", "sessions", "steps"],
              [(r.workflow_id, r.incident, r.state, r.opened_at, r.sessions, f"{r.steps_done}/{r.steps}")
               for r in rows])


@incident.command("show")
@click.argument("workflow_id", metavar="ID", type=ID)
@json_option
@pass_options
def incident_show(opts: Options, workflow_id: int, as_json: bool) -> None:
    """Post-incident workflow ID: its sessions and steps, with what resolved itself."""
    from smvault.services.post_incident import post_incident_status

    with opts.session() as session:
        view = post_incident_status(session, workflow_id)
    if as_json:
        emit_json(view_json(view))
    else:
        show_view(view)


@incident.command("step")
@click.argument("workflow_id", metavar="ID", type=ID)
@click.argument("position", metavar="N", type=ID)
@click.option("--note", required=True, help="Evidence: what was checked or done, where, by whom.")
@json_option
@pass_options
def incident_step(opts: Options, workflow_id: int, position: int, note: str, as_json: bool) -> None:
    """Resolve step N with a note (the log reviewed; a secret rotated outside the vault).
    Rotations made in the vault and a new kit resolve their steps by themselves."""
    from smvault.services.post_incident import resolve_post_incident_step

    with opts.session() as session:
        view = resolve_post_incident_step(session, workflow_id, position, note)
    if as_json:
        emit_json(view_json(view))
        return
    step = next(s for s in view.steps if s.position == position)
    say(f"Step {position} resolved: {step.title}")
    say(f"{len(view.open_steps)} step(s) still open.")


@incident.command("close")
@click.argument("workflow_id", metavar="ID", type=ID)
@click.option("--override", metavar="REASON", help="Close although steps are open (the reason is logged).")
@json_option
@pass_options
def incident_close(opts: Options, workflow_id: int, override: str | None, as_json: bool) -> None:
    """Close post-incident workflow ID: refused while steps are open, unless --override."""
    from smvault.services.post_incident import close_post_incident

    with opts.session() as session:
        view = close_post_incident(session, workflow_id, override)
    if as_json:
        emit_json(view_json(view))
    else:
        show_view(view)


COMMANDS = [incident]
