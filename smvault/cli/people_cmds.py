"""person add | list | show | update | leave."""

from __future__ import annotations

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_json, fields, say, table
from smvault.cli.params import DATE, json_option
from smvault.domain.models import Person


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


COMMANDS = [person]
