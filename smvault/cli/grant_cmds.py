"""grant add | revoke | list; who-can."""

from __future__ import annotations

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_json, say, table
from smvault.cli.params import EXPIRY, json_option


@click.group()
def grant() -> None:
    """Who may use which account, and at what level."""


@grant.command("add")
@click.argument("email")
@click.argument("ref", metavar="ACCOUNT")
@click.option("--level", required=True, type=click.Choice(["code-only", "reveal", "manage", "platform-admin"]))
@click.option("--expires", type=EXPIRY, help="Last day (YYYY-MM-DD) or an ISO timestamp.")
@click.option("--reason")
@pass_options
def grant_add(opts: Options, email: str, ref: str, level: str, expires, reason: str | None) -> None:
    """Give EMAIL a grant on ACCOUNT."""
    from smvault.services.grants import add_grant

    with opts.session() as session:
        g = add_grant(session, email, ref, level, expires, reason)
    say(f"Grant {g.id}: {email} {level} on {ref}" + (f" until {g.expires_at:%Y-%m-%d %H:%M}Z" if g.expires_at else "") + ".")


@grant.command("revoke")
@click.argument("email")
@click.argument("ref", metavar="ACCOUNT")
@click.option("--level", type=click.Choice(["code-only", "reveal", "manage", "platform-admin"]), help="Only this level (default: all).")
@pass_options
def grant_revoke(opts: Options, email: str, ref: str, level: str | None) -> None:
    """Revoke EMAIL's grants on ACCOUNT."""
    from smvault.services.grants import revoke_grants

    with opts.session() as session:
        revoked = revoke_grants(session, email, ref, level)
    say(f"Revoked {len(revoked)} grant(s): " + ", ".join(g.level.value for g in revoked) + ".")


@grant.command("list")
@click.option("--person", "email", metavar="EMAIL")
@click.option("--account", "ref", metavar="ACCOUNT")
@click.option("--all", "include_inactive", is_flag=True, help="Include revoked and expired grants.")
@json_option
@pass_options
def grant_list(opts: Options, email, ref, include_inactive, as_json) -> None:
    """List grants in force (or all, with --all)."""
    from smvault.services.grants import in_force_ids, list_grants

    with opts.session() as session:
        grants = list_grants(session, email, ref, include_inactive)
        live = in_force_ids(session, grants)
        emails = {p.id: p.email for p in session.vault.people.all()}
        keys = {a.id: a.key for a in session.vault.accounts.all()}
    rows = [{"id": g.id, "person": emails.get(g.person_id), "account": keys.get(g.account_id),
             "level": g.level, "expires_at": g.expires_at, "in_force": g.id in live,
             "revoked_at": g.revoked_at, "reason": g.reason} for g in grants]
    if as_json:
        emit_json(rows)
    else:
        table(["id", "person", "account", "level", "expires", "in force"],
              [(r["id"], r["person"], r["account"], r["level"], r["expires_at"], r["in_force"]) for r in rows])


@click.command("who-can")
@click.argument("ref", metavar="ACCOUNT")
@json_option
@pass_options
def who_can(opts: Options, ref: str, as_json: bool) -> None:
    """Everyone able to regain control of ACCOUNT, and how."""
    from smvault.services.control import MIN_CONTROLLERS, who_can as run

    with opts.session() as session:
        result = run(session, ref)
    people, report = result.people, result.report

    def who(pid: int) -> dict:
        return {"email": people[pid].email, "name": people[pid].name}

    paths = [{"path": p.kind, "description": p.description, "usable": p.usable,
              "missing": list(p.missing), "people": [who(pid) for pid in p.person_ids]}
             for p in report.paths]
    data = {"account": result.account.key, "paths": paths,
            "controllers": [who(pid) for pid in sorted(report.controller_ids)],
            "controller_count": report.controller_count,
            "left_but_still_recorded": [who(pid) for pid in sorted(report.excluded_left_ids)]}
    if as_json:
        emit_json(data)
        return
    count = report.controller_count
    say(f"{result.account.key}: {count} {'person' if count == 1 else 'people'} can regain control"
        + ("" if count >= MIN_CONTROLLERS else f"  (BELOW {MIN_CONTROLLERS})"))
    for p in paths:
        names = ", ".join(x["email"] for x in p["people"]) or "nobody"
        state = "" if p["usable"] else f"  [incomplete: missing {', '.join(p['missing'])}]"
        say(f"  {p['path']:<15} {names}{state}")
    if data["left_but_still_recorded"]:
        say("  recorded but left: " + ", ".join(x["email"] for x in data["left_but_still_recorded"]))


COMMANDS = [grant, who_can]
