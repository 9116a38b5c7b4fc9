"""person add | list | show | update | leave | sync."""

from __future__ import annotations

from pathlib import Path

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_json, fields, say, table, warn
from smvault.cli.params import DATE, json_option
from smvault.domain.errors import InvalidInputError
from smvault.domain.models import Person
from smvault.domain.text import printable


def person_json(person: Person, today) -> dict:
    return {"id": person.id, "name": person.name, "email": person.email, "team": person.team,
            "region": person.region, "type": person.type, "leave_on": person.leave_on,
            "status": person.status(today)}


@click.group()
def person() -> None:
    """People who hold, held or control access."""


@person.command("add")
@click.argument("name")
@click.option("--email", required=True)
@click.option("--team")
@click.option("--region")
@click.option("--type", "type_", type=click.Choice(["employee", "contractor", "agency"]), default="employee", show_default=True)
@click.option("--manager", metavar="EMAIL")
@json_option
@pass_options
def person_add(opts: Options, name, email, team, region, type_, manager, as_json) -> None:
    """Add a person."""
    from smvault.services.people import add_person

    with opts.session() as session:
        p = add_person(session, name, email, team, region, type_, manager)
        today = session.now().date()
    if as_json:
        emit_json(person_json(p, today))
    else:
        say(f"Added {p.name} <{p.email}> (id {p.id}).")


@person.command("list")
@json_option
@pass_options
def person_list(opts: Options, as_json: bool) -> None:
    """List people."""
    from smvault.services.people import list_people

    with opts.session() as session:
        people = list_people(session)
        today = session.now().date()
    if as_json:
        emit_json([person_json(p, today) for p in people])
    else:
        table(["id", "name", "email", "team", "type", "status", "leaves"],
              [(p.id, p.name, p.email, p.team, p.type, p.status(today), p.leave_on) for p in people])


@person.command("show")
@click.argument("email")
@json_option
@pass_options
def person_show(opts: Options, email: str, as_json: bool) -> None:
    """A person's grants and what they actually learned (from the log)."""
    from smvault.services.grants import in_force_ids
    from smvault.services.people import person_detail

    with opts.session() as session:
        detail = person_detail(session, email)
        today = session.now().date()
        live = in_force_ids(session, detail.grants)
        accounts = {g.account_id: session.vault.accounts.get(g.account_id) for g in detail.grants}
    grants = [{"id": g.id, "account": accounts[g.account_id].key, "level": g.level,
               "expires_at": g.expires_at, "in_force": g.id in live, "reason": g.reason}
              for g in detail.grants]
    learned = [{"seq": e["seq"], "ts": e["ts"], "action": e["action"], "account": e.get("acct"),
                "field": e.get("field"), "by_operator": e.get("op")} for e in detail.learned]
    if as_json:
        emit_json({**person_json(detail.person, today), "grants": grants, "learned": learned})
        return
    p = detail.person
    fields([("name", p.name), ("email", p.email), ("team", p.team), ("region", p.region),
            ("type", p.type), ("status", p.status(today)), ("leaves on", p.leave_on)])
    say("\nGrants:")
    table(["id", "account", "level", "expires", "in force"],
          [(g["id"], g["account"], g["level"], g["expires_at"], g["in_force"]) for g in grants])
    say("\nLearned (disclosures to this person, newest first):")
    table(["seq", "when", "what", "account", "field", "operator"],
          [(e["seq"], e["ts"], e["action"], e["account"], e["field"], e["by_operator"]) for e in learned])


@person.command("update")
@click.argument("email")
@click.option("--name")
@click.option("--email", "new_email", help="New email address.")
@click.option("--team")
@click.option("--region")
@click.option("--type", "type_", type=click.Choice(["employee", "contractor", "agency"]))
@click.option("--manager", metavar="EMAIL")
@pass_options
def person_update(opts: Options, email, name, new_email, team, region, type_, manager) -> None:
    """Change a person's details."""
    from smvault.services.people import update_person

    with opts.session() as session:
        p = update_person(session, email, name=name, email=new_email, team=team, region=region,
                          type=type_, manager=manager)
    say(f"Updated {p.name} <{p.email}>.")


@person.command("leave")
@click.argument("email")
@click.option("--on", "on", type=DATE, required=True, help="Last day (YYYY-MM-DD); left from that day.")
@pass_options
def person_leave(opts: Options, email: str, on) -> None:
    """Record that a person leaves on a date."""
    from smvault.services.people import mark_leaving

    with opts.session() as session:
        p = mark_leaving(session, email, on)
    say(f"{p.name} <{p.email}> leaves on {on.isoformat()}.")


@person.command("sync")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--apply", "apply_", is_flag=True, help="Make the changes (default: a dry run that changes nothing).")
@click.option("--mark-missing", is_flag=True,
              help="People missing from the file leave today (offboarding opened); without it they are only listed.")
@click.option("--column", "columns", multiple=True, metavar="FIELD=HEADER",
              help="Read FIELD from the column named HEADER, e.g. --column email=\"Work Email\" (repeatable).")
@click.option("--mapping", "mapping_file", type=click.Path(path_type=Path, dir_okay=False),
              help='TOML file with a [columns] table of FIELD = "Header" (--column wins).')
@json_option
@pass_options
def person_sync(opts: Options, file: Path, apply_: bool, mark_missing: bool, columns, mapping_file,
                as_json: bool) -> None:
    """Compare an HR roster (CSV) with the vault: new people, changed people, people leaving
    and people missing from the file. With --apply, all of it in one transaction: new people
    added, changes made, leavers given their leave date and their offboarding opened. People
    missing from the file are only listed, unless --mark-missing makes them leave today;
    operators are never marked by a sync (listed with a warning).

    \b
    Fields: email, name (required), team, type, status, end_date. Headers match ignoring
    case, spaces, '_' and '-'; map others with --column or --mapping.
    type:     employee | contractor | agency
    status:   active | leaving (needs end_date) | terminated, inactive, left (ended)
    end_date: YYYY-MM-DD
    Bad rows are all reported as FILE:LINE: field: problem, and nothing is applied; so is a file
    with a header and no rows.
    """
    from smvault.domain.roster import RosterFileError
    from smvault.services.roster import apply_roster_sync, load_mapping, plan_roster_sync

    mapping = load_mapping(columns, mapping_file)
    try:
        with opts.session() as session:
            if apply_:
                result = apply_roster_sync(session, file, mapping, mark_missing)
                plan = result.plan
            else:
                plan = plan_roster_sync(session, file, mapping, mark_missing)
    except RosterFileError as exc:
        for problem in exc.problems:  # FILE:LINE: field: problem, as editors and CI read them
            click.echo(printable(problem), err=True)
        raise InvalidInputError(exc.summary) from None
    for operator in plan.missing_operators:
        warn(f"operator {operator.email} is not in {plan.source}: a sync never marks an operator; "
             "offboard them by hand if they are leaving")
    if as_json:
        body = roster_plan_json(plan)
        if apply_:
            body["applied"] = {"added": result.added, "updated": result.updated,
                               "marked_leaving": result.marked_leaving,
                               "offboardings": list(result.offboardings)}
        emit_json(body)
        return
    show_roster_plan(plan)
    if not apply_:
        say("\ndry run: nothing changed; use --apply")
    elif plan.empty:
        say("\nNothing to apply.")
    else:
        say(f"\nApplied: {result.added} added, {result.updated} updated, {result.marked_leaving} "
            f"given a leave date, {len(result.offboardings)} offboardings opened.")


def _leaver_json(leaver) -> dict:
    return {"email": leaver.person.email, "name": leaver.person.name, "on": leaver.on, "why": leaver.why,
            "line": leaver.line, "opens_offboarding": leaver.opens_offboarding}


def roster_plan_json(plan) -> dict:
    return {
        "file": plan.source, "rows": plan.rows, "unchanged": plan.unchanged,
        "new": [{"line": n.row.line, "email": n.row.email, "name": n.row.name, "team": n.row.team,
                 "type": n.row.type, "leave_on": n.leave_on} for n in plan.new],
        "changed": [{"line": c.line, "email": c.person.email,
                     "changes": {ch.field: {"old": ch.old, "new": ch.new} for ch in c.changes}}
                    for c in plan.changed],
        "leaving": [_leaver_json(leaver) for leaver in plan.leaving],
        "gone": [_leaver_json(leaver) for leaver in plan.gone],
        "mark_missing": plan.mark_missing,
        "missing_operators": [p.email for p in plan.missing_operators],
        "notes": [{"line": n.line, "email": n.email, "note": n.text} for n in plan.notes],
    }


def show_roster_plan(plan) -> None:
    say(f"{plan.source}: {plan.rows} people in the file, {plan.unchanged} unchanged.")
    if plan.new:
        say(f"\nNew ({len(plan.new)}):")
        table(["line", "email", "name", "team", "type", "leaves"],
              [(n.row.line, n.row.email, n.row.name, n.row.team, n.row.type or "employee", n.leave_on)
               for n in plan.new])
    if plan.changed:
        say(f"\nChanged ({len(plan.changed)}):")
        table(["line", "email", "changes"],
              [(c.line, c.person.email, "; ".join(f"{ch.field}: {ch.old or '-'} -> {ch.new}" for ch in c.changes))
               for c in plan.changed])
    for title, leavers in (("Leaving / ending", plan.leaving), ("Missing from the file (leave today)", plan.marked_gone)):
        if leavers:
            say(f"\n{title} ({len(leavers)}):")
            table(["line", "email", "name", "leaves", "why", "offboarding"],
                  [(leaver.line, leaver.person.email, leaver.person.name, leaver.on, leaver.why,
                    "opens" if leaver.opens_offboarding else "exists") for leaver in leavers])
    if plan.gone and not plan.mark_missing:
        say(f"\nMissing from the file, left as they are ({len(plan.gone)}; --mark-missing makes them leave today):")
        table(["email", "name", "team"], [(g.person.email, g.person.name, g.person.team) for g in plan.gone])
    if plan.notes:
        say(f"\nNot applied ({len(plan.notes)}):")
        table(["line", "email", "note"], [(n.line, n.email, n.text) for n in plan.notes])
    if plan.empty:
        say("\nNothing to apply." if plan.gone or plan.missing_operators else "\nThe vault already matches the file.")


COMMANDS = [person]
