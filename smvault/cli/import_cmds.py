"""import FORMAT FILE: bring accounts and secrets in from other tools' exports."""

from __future__ import annotations

from pathlib import Path

import click

from smvault.cli.context import Options, read_passphrase_file, pass_options, stdin_is_tty
from smvault.cli.output import emit_json, plural, say, table
from smvault.cli.params import json_option
from smvault.domain.errors import InvalidInputError
from smvault.domain.imports import FORMATS
from smvault.domain.text import printable


@click.command("import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(FORMATS))
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--password-file", metavar="F", help="The encrypted export's password, read from file F.")
@click.option("--apply", "apply_", is_flag=True, help="Make the changes (default: a dry run that changes nothing).")
@click.option("--skip-bad", is_flag=True, help="Leave the items with problems out instead of refusing the whole file.")
@click.option("--create-missing", is_flag=True,
              help="Create an account for each authenticator entry that matches none (default: listed only).")
@click.option("--replace-secrets", is_flag=True,
              help="Replace stored secrets that differ from the file's (default: kept, with a note).")
@click.option("--column", "columns", multiple=True, metavar="FIELD=HEADER",
              help="csv: read FIELD from the column named HEADER, e.g. --column handle=\"Account\" (repeatable).")
@click.option("--mapping", "mapping_file", type=click.Path(path_type=Path, dir_okay=False),
              help='csv: TOML file with a [columns] table of FIELD = "Header" (--column wins).')
@json_option
@pass_options
def import_file(opts: Options, fmt: str, file: Path, password_file: str | None, apply_: bool, skip_bad: bool,
                create_missing: bool, replace_secrets: bool, columns, mapping_file, as_json: bool) -> None:
    """Import accounts, passwords, TOTP seeds and recovery codes from FILE. A dry run by
    default: what would be created, updated or left alone, and every problem. --apply does it
    all in one transaction, or nothing when any item has a problem (--skip-bad leaves those out).

    \b
    Formats:
      csv               account inventory (fields below)
      bitwarden         Bitwarden JSON (plain or password-protected) or CSV export
      keepass           KeePass/KeePassXC database (.kdbx) or KeePassXC CSV export
      aegis             Aegis Authenticator export (plain or encrypted)
      2fas              2FAS Authenticator backup (plain or encrypted)
      otpauth           text file of otpauth:// URIs, one per line
      google-migration  Google Authenticator "Transfer accounts" (otpauth-migration://) lines
      handover          an smvault handover packet

    \b
    Matching: platform + handle, from the file or from the item's URL, login, name and OTP
    issuer (other services become other:SERVICE/USER). An item that names no handle also
    matches the one account on its platform whose login is the item's login or OTP label;
    an authenticator entry that matches none is listed (--create-missing creates it).

    \b
    Secrets only fill what the vault lacks: a stored password, TOTP seed or set of unused
    recovery codes that differs is kept (a note says so) unless --replace-secrets. An HOTP
    counter only rises. Imported secrets are logged as imported: they never count as a
    rotation for offboarding or post-incident steps.

    \b
    csv fields: platform, handle (required), url, brand, region, business_unit, tier,
    status, company_owned, owner, backup_owner, login_id, recovery_email,
    recovery_email_controller, recovery_phone, recovery_phone_controller, mfa,
    totp_holder, notes, password, totp, recovery_codes. Headers match ignoring case,
    spaces, '_' and '-'; map others with --column or --mapping. An empty cell leaves the
    vault's value alone. totp: otpauth:// URI or base32 seed; recovery_codes: separated by
    spaces or ';'; owner and the *_controller / totp_holder fields: a person's email.
    Problems are reported as FILE:LINE: field: problem (FILE: item N for JSON and KDBX,
    FILE: account N for handover packets).
    """
    from smvault.services.importer import ImportRefused, apply_import, load_mapping, plan_import

    mapping = load_mapping(columns, mapping_file) if columns or mapping_file else None
    password = read_passphrase_file(password_file, "password") if password_file else None
    imported = _read(file, fmt, password, mapping)
    result = None
    try:
        with opts.session() as session:
            if apply_:
                result = apply_import(session, imported, create_missing=create_missing, skip_bad=skip_bad,
                                      replace_secrets=replace_secrets)
                plan = result.plan
            else:
                plan = plan_import(session, imported, create_missing=create_missing, replace_secrets=replace_secrets)
    except ImportRefused as refused:
        if as_json:
            emit_json(import_plan_json(refused.plan, imported.sha256, None))
        _show_problems(refused.plan)
        raise
    if as_json:
        emit_json(import_plan_json(plan, imported.sha256, result))
    else:
        show_import_plan(plan)
    _show_problems(plan)
    if result is not None:
        if not as_json:
            say(f"\nApplied: {result.created} created, {result.updated} updated, {len(plan.unchanged)} unchanged, "
                f"{result.skipped} skipped.")
        return
    if not as_json:
        say("\ndry run: nothing changed; use --apply")
    if plan.blocked and not skip_bad:
        raise InvalidInputError(f"{plural(len(plan.problems), 'problem')} in {plan.source}: --apply would "
                                "refuse (fix them, or --skip-bad to leave those items out)")


def _read(file: Path, fmt: str, password: bytes | None, mapping):
    """The parsed file; an encrypted one without --password-file asks on a terminal."""
    from smvault.domain.imports import PasswordNeeded
    from smvault.services.importer import read_import

    try:
        return read_import(file, fmt, password, mapping)
    except PasswordNeeded:
        if password is not None or not stdin_is_tty():
            raise InvalidInputError(f"{file} is encrypted: give its password with --password-file F") from None
    asked = click.prompt(f"Password for {printable(str(file))}", hide_input=True, err=True)
    return read_import(file, fmt, asked.encode(), mapping)


def _show_problems(plan) -> None:
    for problem in plan.problems:  # FILE:LINE: field: problem, as editors and CI read them
        click.echo(printable(str(problem)), err=True)


def _change_json(change) -> dict:
    return {"where": change.where, "title": change.title, "account": change.account_key,
            "fields": list(change.fields), "secrets": list(change.secrets), "replaces": list(change.replaces),
            "kept": list(change.kept)}


def _secret_label(change, name: str) -> str:
    """What setting one secret of an existing account does."""
    if name in change.replaces:
        return f"{name} (replaces the stored one)"
    if name == "totp" and change.counter_raised:
        return "totp (raises the HOTP counter)"
    return f"{name} (new)"


def import_plan_json(plan, sha256: str, result) -> dict:
    return {
        "file": plan.source, "format": plan.format, "sha256": sha256,
        "create": [_change_json(c) for c in plan.creates],
        "update": [_change_json(c) for c in plan.updates],
        "unchanged": [_change_json(c) for c in plan.unchanged],
        "unmatched": [{"where": u.where, "title": u.title, "label": u.label} for u in plan.unmatched],
        "notes": [{"where": n.where, "field": n.field, "note": n.message} for n in plan.notes],
        "problems": [{"where": p.where, "field": p.field, "problem": p.message} for p in plan.problems],
        "applied": None if result is None else {"created": result.created, "updated": result.updated,
                                                "skipped": result.skipped},
    }


def show_import_plan(plan) -> None:
    counts = [f"{len(plan.creates)} to create", f"{len(plan.updates)} to update", f"{len(plan.unchanged)} unchanged",
              f"{len(plan.unmatched)} unmatched", plural(len(plan.problems), "problem"), plural(len(plan.notes), "note")]
    say(f"{plan.source} ({plan.format}): {', '.join(counts)}.")
    if plan.creates:
        say(f"\nCreate ({len(plan.creates)}):")
        table(["where", "account", "fields", "secrets"],
              [(c.where, c.account_key, ", ".join(c.fields) or None, ", ".join(c.secrets) or None)
               for c in plan.creates])
    if plan.updates:  # an account's secrets: new, or replacing what the vault holds
        say(f"\nUpdate ({len(plan.updates)}):")
        table(["where", "account", "fields", "secrets"],
              [(c.where, c.account_key, ", ".join(c.fields) or None,
                ", ".join(_secret_label(c, name) for name in c.secrets) or None) for c in plan.updates])
    if plan.unmatched:
        say(f"\nAuthenticator entries matching no account ({len(plan.unmatched)}; --create-missing creates them):")
        table(["where", "title", "label"], [(u.where, u.title, u.label) for u in plan.unmatched])
    if plan.notes:
        say(f"\nNotes ({len(plan.notes)}):")
        table(["where", "field", "note"], [(n.where, n.field, n.message) for n in plan.notes])
    if plan.problems:
        say(f"\nProblems: {len(plan.problems)} (listed on stderr).")
    if plan.empty and not plan.problems:
        if any(c.kept for c in plan.unchanged):
            say("\nNothing to import: stored secrets that differ, or that you may not reveal, are kept "
                "(--replace-secrets replaces them).")
        else:
            say("\nThe vault already matches the file." if plan.unchanged else "\nNothing to import.")


COMMANDS = [import_file]
