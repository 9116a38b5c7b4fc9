"""offboard start | status | revoke-grants | step | close | report."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_json, emit_report, plural, say
from smvault.cli.params import DATE, format_option, json_option, out_option


def view_json(view) -> dict:
    data = dataclasses.asdict(view)
    data["open_steps"] = [s.position for s in view.open_steps]
    return data


def show_view(view) -> None:
    """The checklist as text: numbered steps with [x]/[ ] marks, then what blocks closing."""
    who = f"{view.person_name} <{view.person_email}>"
    leaves = f"leaves {view.leave_on.isoformat()}" if view.leave_on else "no leave date yet (give --on DATE to start)"
    if view.state == "plan":
        say(f"Offboarding plan for {who}, {leaves}.")
        say("Dry run: nothing was changed (the unlock is logged, as on every command).")
    else:
        say(f"Offboarding {view.workflow_id} of {who}: {view.state}, {leaves}.")
        say(f"Opened {view.opened_at} by {view.opened_by}.")
        if view.state == "closed":
            say(f"Closed {view.closed_at} by {view.closed_by}.")
    if view.successor_email:
        say(f"Successor: {view.successor_email}")
    if view.override_reason:
        say(f"Closed over open steps; reason: {view.override_reason}")
    done = sum(1 for s in view.steps if s.done)
    say(f"\nSteps ({done} of {len(view.steps)} done):")
    for step in view.steps:
        label = {"did": " [did learn]", "could": " [could learn]"}.get(step.learned or "", "")
        manual = " (manual: resolve with a note)" if step.manual and not step.done else ""
        say(f"{step.position:>3}. [{'x' if step.done else ' '}] {step.title}{label}{manual}")
        if step.done and step.evidence:
            by = f" ({step.done_by}, {step.done_at})" if step.done_by else ""
            say(f"        evidence: {step.evidence}{by}")
    if view.blocking:
        heading = "Blocking close" if view.state != "closed" else "Below two controllers at close"
        say(f"\n{heading}: {plural(len(view.blocking), 'account')} would be left with fewer than 2 "
            f"people able to regain control without {view.person_name}:")
        for key, count in view.blocking:
            handed = f" (successor: {view.successor_email})" if view.successor_email else ""
            say(f"  {key}: {plural(count, 'controller')}{handed}")
        if view.state != "closed" and not view.successor_email:
            say(f"Add controllers, or name a successor: smvault offboard close {view.person_email} "
                "--successor EMAIL")


@click.group()
def offboard() -> None:
    """Offboard a leaver: a plan from the data, steps that resolve themselves, a guarded close."""


@offboard.command("start")
@click.argument("email")
@click.option("--on", "on", type=DATE, help="Leave date (YYYY-MM-DD); sets the person's leave date.")
@click.option("--dry-run", is_flag=True, help="Show the full plan; change and log nothing.")
@json_option
@pass_options
def offboard_start(opts: Options, email: str, on, dry_run: bool, as_json: bool) -> None:
    """Open EMAIL's offboarding with a plan generated from grants, the log and the accounts."""
    from smvault.services.offboarding import plan_offboarding, start_offboarding

    with opts.session() as session:
        view = (plan_offboarding if dry_run else start_offboarding)(session, email, on)
    if as_json:
        emit_json(view_json(view))
    else:
        show_view(view)


@offboard.command("status")
@click.argument("email")
@json_option
@pass_options
def offboard_status(opts: Options, email: str, as_json: bool) -> None:
    """EMAIL's open offboarding (else the last closed one): steps, evidence, what blocks closing."""
    from smvault.services.offboarding import offboarding_status

    with opts.session() as session:
        view = offboarding_status(session, email)
    if as_json:
        emit_json(view_json(view))
    else:
        show_view(view)


@offboard.command("revoke-grants")
@click.argument("email")
@pass_options
def offboard_revoke_grants(opts: Options, email: str) -> None:
    """Revoke every vault grant the leaver holds, in one logged action."""
    from smvault.services.offboarding import revoke_leaver_grants

    with opts.session() as session:
        count = revoke_leaver_grants(session, email)
    say(f"Revoked {plural(count, 'grant')} of {email}.")


@offboard.command("step")
@click.argument("email")
@click.argument("position", metavar="N", type=click.IntRange(min=1))
@click.option("--note", required=True, help="Evidence: what was done, where, by whom.")
@pass_options
def offboard_step(opts: Options, email: str, position: int, note: str) -> None:
    """Resolve step N of EMAIL's offboarding with a note (platform-side work, or a secret
    rotated outside the vault). Step 1, revoking vault grants, is done by `offboard
    revoke-grants` (or the close), never by a note."""
    from smvault.services.offboarding import resolve_offboarding_step

    with opts.session() as session:
        view = resolve_offboarding_step(session, email, position, note)
    step = next(s for s in view.steps if s.position == position)
    say(f"Step {position} resolved: {step.title}")
    say(f"{len(view.open_steps)} step(s) still open.")


@offboard.command("close")
@click.argument("email")
@click.option("--successor", metavar="EMAIL",
              help="An operator who is staying takes over where fewer than 2 people could regain control.")
@click.option("--override", metavar="REASON", help="Close although steps are open (the reason is logged).")
@json_option
@pass_options
def offboard_close(opts: Options, email: str, successor: str | None, override: str | None, as_json: bool) -> None:
    """Close EMAIL's offboarding: revokes any grant left; refused while an account would be
    left with fewer than 2 controllers (unless --successor) or steps are open (unless --override)."""
    from smvault.services.offboarding import close_offboarding

    with opts.session() as session:
        view = close_offboarding(session, email, successor, override)
    if as_json:
        emit_json(view_json(view))
    else:
        show_view(view)


@offboard.command("report")
@click.argument("email")
@format_option
@out_option
@pass_options
def offboard_report(opts: Options, email: str, fmt: str, out: Path | None) -> None:
    """EMAIL's offboarding for HR and audit (Markdown, JSON or CSV), ending with a log checkpoint."""
    from smvault.services.offboarding import offboarding_report

    emit_report(opts, lambda session: offboarding_report(session, email), fmt, out)


COMMANDS = [offboard]
