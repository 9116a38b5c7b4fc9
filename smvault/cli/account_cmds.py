"""account add | list | show | update."""

from __future__ import annotations

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_json, fields, say, table
from smvault.cli.params import json_option
from smvault.domain.models import Account


def _root_of_control_options(command):
    """The options shared by add and update (each maps to an account field)."""
    options = [
        click.option("--url", "url"),
        click.option("--brand"),
        click.option("--region"),
        click.option("--business-unit", "business_unit"),
        click.option("--tier", type=click.IntRange(0, 3), help="Criticality 0 (highest) to 3."),
        click.option("--status", type=click.Choice(["active", "dormant", "retired"])),
        click.option("--company-owned/--not-company-owned", "company_owned", default=None),
        click.option("--owner", metavar="EMAIL"),
        click.option("--backup-owner", "backup_owner", metavar="EMAIL", help="Who takes over if the owner cannot."),
        click.option("--login-id", "login_id", help="The login identifier (email, phone or username)."),
        click.option("--recovery-email", "recovery_email"),
        click.option("--recovery-email-controller", "recovery_email_controller", metavar="EMAIL"),
        click.option("--recovery-phone", "recovery_phone"),
        click.option("--recovery-phone-controller", "recovery_phone_controller", metavar="EMAIL"),
        click.option("--mfa", type=click.Choice(["unknown", "none", "totp", "sms", "security-key"])),
        click.option("--totp-holder", "totp_holder", metavar="EMAIL", help="Whose device holds the TOTP factor."),
        click.option("--notes"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def account_json(a: Account, people: dict[int, str]) -> dict:
    return {
        "id": a.id, "key": a.key, "platform": a.platform, "handle": a.handle, "url": a.url,
        "brand": a.brand, "region": a.region, "business_unit": a.business_unit, "tier": a.tier,
        "status": a.status, "company_owned": a.company_owned, "owner": people.get(a.owner_id),
        "backup_owner": people.get(a.backup_owner_id),
        "root_of_control": {
            "login_id": a.login_id,
            "recovery_email": a.recovery_email,
            "recovery_email_controller": people.get(a.recovery_email_controller_id),
            "recovery_phone": a.recovery_phone,
            "recovery_phone_controller": people.get(a.recovery_phone_controller_id),
            "mfa": a.mfa,
            "totp_holder": people.get(a.totp_holder_id),
        },
        "notes": a.notes,
    }


def _emails(session) -> dict[int, str]:
    return {p.id: p.email for p in session.vault.people.all()}


@click.group()
def account() -> None:
    """Social-media accounts and their root of control (ACCOUNT = PLATFORM:HANDLE or id)."""


@account.command("add")
@click.argument("platform")
@click.argument("handle")
@_root_of_control_options
@json_option
@pass_options
def account_add(opts: Options, platform: str, handle: str, as_json: bool, **raw) -> None:
    """Add an account."""
    from smvault.services.accounts import add_account

    with opts.session() as session:
        a = add_account(session, platform, handle, **raw)
        emails = _emails(session)
    if as_json:
        emit_json(account_json(a, emails))
    else:
        say(f"Added {a.key} (id {a.id}).")


@account.command("list")
@json_option
@pass_options
def account_list(opts: Options, as_json: bool) -> None:
    """List accounts."""
    from smvault.services.accounts import list_accounts

    with opts.session() as session:
        accounts = list_accounts(session)
        emails = _emails(session)
    if as_json:
        emit_json([account_json(a, emails) for a in accounts])
    else:
        table(["id", "account", "brand", "region", "tier", "status", "mfa", "owner"],
              [(a.id, a.key, a.brand, a.region, a.tier, a.status, a.mfa, emails.get(a.owner_id))
               for a in accounts])


@account.command("show")
@click.argument("ref", metavar="ACCOUNT")
@json_option
@pass_options
def account_show(opts: Options, ref: str, as_json: bool) -> None:
    """One account: root of control, what the vault holds (not the values), grants."""
    from smvault.services.accounts import account_detail
    from smvault.services.grants import in_force_ids

    with opts.session() as session:
        d = account_detail(session, ref)
        emails = _emails(session)
        live = in_force_ids(session, d.grants)
    c = d.credentials
    held = {"password": c.has_password, "password_rotated_at": c.password_rotated_at,
            "totp_seed": c.has_totp_seed, "totp_kind": c.totp_kind,
            "recovery_codes_unused": c.recovery_codes_unused, "recovery_codes_total": c.recovery_codes_total}
    grants = [{"id": g.id, "person": emails.get(g.person_id), "level": g.level,
               "expires_at": g.expires_at, "in_force": g.id in live} for g in d.grants]
    if as_json:
        emit_json({**account_json(d.account, emails), "vault_holds": held, "grants": grants})
        return
    data = account_json(d.account, emails)
    rc = data.pop("root_of_control")
    fields([(k.replace("_", " "), v) for k, v in data.items()])
    say("\nRoot of control:")
    fields([(k.replace("_", " "), v) for k, v in rc.items()])
    say("\nThe vault holds:")
    fields([(k.replace("_", " "), v) for k, v in held.items()])
    say("\nGrants:")
    table(["id", "person", "level", "expires", "in force"],
          [(g["id"], g["person"], g["level"], g["expires_at"], g["in_force"]) for g in grants])


@account.command("update")
@click.argument("ref", metavar="ACCOUNT")
@_root_of_control_options
@click.option("--clear", "clear", multiple=True, metavar="FIELD",
              help="Empty a field (e.g. --clear recovery_phone). Repeatable.")
@pass_options
def account_update(opts: Options, ref: str, clear: tuple[str, ...], **raw) -> None:
    """Change an account's details or root of control."""
    from smvault.services.accounts import update_account

    with opts.session() as session:
        a = update_account(session, ref, clear=tuple(c.replace("-", "_") for c in clear), **raw)
    say(f"Updated {a.key}.")


COMMANDS = [account]
