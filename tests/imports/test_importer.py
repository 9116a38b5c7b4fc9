"""services.importer against real vaults: plan, apply all or nothing, and what is logged."""

from __future__ import annotations

import hashlib
import os
import re
import signal
from pathlib import Path

import pytest

from smvault.domain import otp
from smvault.domain.errors import InvalidInputError, PolicyError, UsageError
from smvault.domain.imports import Entry, EntryKind, ImportFileError, Parsed
from smvault.domain.models import Account
from smvault.services import accounts, grants, importer, people, secrets
from smvault.services.importer import ImportFile, ImportRefused, apply_import, plan_import, read_import

SEED = "JBSWY3DPEHPK3PXP"
OTHER_SEED = "GEZDGNBVGY3TQOJQ"
HEADER = "platform,handle,tier,owner,login_id,password,totp,recovery_codes"


@pytest.fixture
def team(session):
    people.add_person(session, "Bob Builder", "bob@example.com")
    people.add_person(session, "Cara Agency", "cara@example.com")
    return session


def csv_file(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "inv.csv") -> ImportFile:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return read_import(path, "csv")


def otp_file(tmp_path: Path, *uris: str) -> ImportFile:
    """What an authenticator export parses to (the parsers have tests of their own)."""
    entries = []
    for line, uri in enumerate(uris, 1):
        params = otp.parse_otpauth_uri(uri)
        entries.append(Entry(f"codes.txt:{line}", EntryKind.OTP, title=params.issuer or params.label, otp=params))
    return ImportFile(tmp_path / "codes.txt", Parsed("codes.txt", "otpauth", tuple(entries)), "0" * 64)


def items_file(tmp_path: Path, *entries: Entry) -> ImportFile:
    return ImportFile(tmp_path / "export.json", Parsed("export.json", "bitwarden", entries), "0" * 64)


def snapshot(session) -> tuple:
    """Everything an import could change: accounts, each one's secrets, the log's head."""
    vault = session.vault
    state = []
    for account in vault.accounts.all():
        password = vault.secrets.password(account.id)
        state.append((account, password and password[0], repr(vault.secrets.totp(account.id)),
                      vault.secrets.totp(account.id) and vault.secrets.totp(account.id).secret,
                      [(c.code, c.used_at) for c in vault.secrets.recovery_codes(account.id)]))
    return tuple(state), vault.log.head(), vault.log.count()


def log_text(session) -> str:
    return b"".join(bytes(row[2]) for row in session.vault.log.raw_rows()).decode()


def actions_since(session, seq: int) -> list[str]:
    return [e["action"] for e in session.vault.log.entries(after_seq=seq, newest_first=False)]


# --- creating, updating, unchanged --------------------------------------------------------


def test_new_accounts_are_planned_then_created_with_their_secrets(team, tmp_path):
    imported = csv_file(tmp_path, f"instagram,acme,1,bob@example.com,social@acme.example,pw-one,{SEED},rc-1 rc-2",
                        "x,acme,,,,pw-two,,")
    before = snapshot(team)
    plan = plan_import(team, imported)
    assert snapshot(team) == before  # a plan writes and logs nothing
    assert [(c.where, c.account_key, c.action, c.fields, c.secrets) for c in plan.creates] == [
        (f"{imported.path}:2", "instagram:acme", "create", ("tier", "owner", "login_id"),
         ("password", "totp", "recovery-codes")),
        (f"{imported.path}:3", "x:acme", "create", (), ("password",)),
    ]
    assert (plan.updates, plan.unchanged, plan.problems, plan.blocked, plan.empty) == ((), (), (), False, False)
    head = team.vault.log.head().seq

    result = apply_import(team, imported)
    assert (result.created, result.updated, result.skipped) == (2, 0, 0)
    acme = team.vault.accounts.by_key("instagram", "acme")
    assert (acme.tier, acme.login_id, acme.owner_id) == (1, "social@acme.example", team.vault.people.by_email("bob@example.com").id)
    assert team.vault.secrets.password(acme.id)[0] == "pw-one"
    assert team.vault.secrets.totp(acme.id).secret == otp.decode_base32_secret(SEED)
    assert [c.code for c in team.vault.secrets.recovery_codes(acme.id)] == ["rc-1", "rc-2"]
    assert actions_since(team, head) == [
        "account.add", "secret.password.set", "secret.totp.set", "secret.recovery-codes.add",
        "account.add", "secret.password.set", "import.apply",
    ]
    (entry,) = team.vault.log.entries(actions=("import.apply",))
    sha256 = hashlib.sha256(imported.path.read_bytes()).hexdigest()
    assert entry["detail"] == {"format": "csv", "file": "inv.csv", "sha256": sha256,
                               "created": 2, "updated": 0, "unchanged": 0, "skipped": 0, "replace_secrets": False}
    # every secret set says it came from this file: offboarding never takes it for a rotation
    sets = team.vault.log.entries(actions=("secret.password.set", "secret.totp.set", "secret.recovery-codes.add"),
                                  newest_first=False)
    assert [(e["action"], e["detail"]["via"], e["detail"]["import"]) for e in sets] == [
        (action, "import", sha256[:16]) for action in
        ("secret.password.set", "secret.totp.set", "secret.recovery-codes.add", "secret.password.set")]
    text = log_text(team)
    for secret in ("pw-one", "pw-two", SEED, otp.decode_base32_secret(SEED).hex(), "rc-1", "rc-2"):
        assert secret not in text


def test_every_inventory_field_lands_where_account_add_puts_it(team, tmp_path):
    header = ("platform,handle,url,brand,region,business_unit,tier,status,company_owned,owner,backup_owner,"
              "login_id,recovery_email,recovery_email_controller,recovery_phone,recovery_phone_controller,mfa,"
              "totp_holder,notes")
    imported = csv_file(tmp_path, "youtube,acme,https://youtube.com/@acme,Acme,EU,Retail,0,dormant,no,bob@example.com,"
                        "cara@example.com,yt@acme.example,Recovery@Acme.example,bob@example.com,+1 555 0100,"
                        "cara@example.com,SMS,bob@example.com,Main channel", header=header)
    apply_import(team, imported)
    account = team.vault.accounts.by_key("youtube", "acme")
    bob, cara = (team.vault.people.by_email(e).id for e in ("bob@example.com", "cara@example.com"))
    assert account == Account(
        id=account.id, platform="youtube", handle="acme", url="https://youtube.com/@acme", brand="Acme", region="EU",
        business_unit="Retail", tier=0, status="dormant", company_owned=False, owner_id=bob, backup_owner_id=cara,
        login_id="yt@acme.example", recovery_email="recovery@acme.example", recovery_email_controller_id=bob,
        recovery_phone="+1 555 0100", recovery_phone_controller_id=cara, mfa="sms", totp_holder_id=bob,
        notes="Main channel")
    assert plan_import(team, imported).unchanged  # stored values compare equal to the file's


def test_importing_the_same_file_again_changes_nothing(team, tmp_path):
    imported = csv_file(tmp_path, f"instagram,acme,1,bob@example.com,social@acme.example,pw-one,{SEED},rc-1 rc-2")
    apply_import(team, imported)
    plan = plan_import(team, imported)
    assert [(c.account_key, c.action) for c in plan.unchanged] == [("instagram:acme", "unchanged")]
    assert plan.empty and not plan.creates and not plan.updates
    head = team.vault.log.head().seq
    result = apply_import(team, imported)
    assert (result.created, result.updated) == (0, 0)
    assert actions_since(team, head) == ["import.apply"]


def test_with_replace_secrets_what_differs_is_an_update_of_exactly_those_fields_and_secrets(team, tmp_path):
    apply_import(team, csv_file(tmp_path, f"instagram,acme,1,bob@example.com,social@acme.example,pw-one,{SEED},rc-1 rc-2"))
    grants.add_grant(team, "alice@example.com", "instagram:acme", "reveal")  # she may compare
    acme = team.vault.accounts.by_key("instagram", "acme")
    # a code used since the export must not come back as unused (marked as use_recovery_code does)
    with team.atomic():
        team.vault.secrets.mark_recovery_code_used(team.vault.secrets.recovery_codes(acme.id)[0].id, team.ts())

    same_codes = csv_file(tmp_path, f"instagram,ACME,2,bob@example.com,,pw-new,{SEED},rc-1 rc-2", name="b.csv")
    plan = plan_import(team, same_codes, replace_secrets=True)
    (change,) = plan.updates
    assert (change.account_key, change.fields, change.secrets, change.replaces) == (
        "instagram:acme", ("tier",), ("password",), ("password",))

    head = team.vault.log.head().seq
    apply_import(team, same_codes, replace_secrets=True)
    assert actions_since(team, head) == ["account.update", "secret.password.set", "import.apply"]
    assert team.vault.accounts.get(acme.id).tier == 2
    assert team.vault.secrets.password(acme.id)[0] == "pw-new"
    assert [c.used_at is None for c in team.vault.secrets.recovery_codes(acme.id)] == [False, True]

    new_codes = csv_file(tmp_path, f"instagram,acme,,,,,{OTHER_SEED},rc-3 rc-1", name="c.csv")
    (change,) = plan_import(team, new_codes, replace_secrets=True).updates
    assert (change.fields, change.secrets, change.replaces) == ((), ("totp", "recovery-codes"), ("totp", "recovery-codes"))
    apply_import(team, new_codes, replace_secrets=True)
    unused = [c.code for c in team.vault.secrets.recovery_codes(acme.id, unused_only=True)]
    assert unused == ["rc-3"]  # a new set replaces the old one (rc-2), as platforms do; rc-1 stays used
    assert team.vault.secrets.totp(acme.id).secret == otp.decode_base32_secret(OTHER_SEED)


def test_by_default_stored_secrets_that_differ_are_kept_and_named_in_a_note(team, tmp_path):
    apply_import(team, csv_file(tmp_path, f"instagram,acme,1,,,pw-current,{SEED},rc-1 rc-2"))
    grants.add_grant(team, "alice@example.com", "instagram:acme", "manage")  # she may compare
    old_export = csv_file(tmp_path, f"instagram,acme,2,,,pw-rotated-away,{OTHER_SEED},rc-old", name="old.csv")
    plan = plan_import(team, old_export)
    (change,) = plan.updates
    assert (change.fields, change.secrets, change.replaces, change.kept) == (
        ("tier",), (), (), ("password", "totp", "recovery-codes"))
    where = f"{old_export.path}:2"
    assert [str(n) for n in plan.notes] == [
        f"{where}: password: kept: password differs from the vault's; --replace-secrets replaces it",
        f"{where}: totp: kept: TOTP seed or parameters differ from the vault's; --replace-secrets replaces them",
        f"{where}: recovery_codes: kept: recovery codes differ from the vault's unused ones; "
        "--replace-secrets retires those",
    ]
    assert not plan.blocked  # a note, not a problem: --apply goes ahead with the rest
    before = snapshot(team)
    head = team.vault.log.head().seq
    apply_import(team, old_export)
    acme = team.vault.accounts.by_key("instagram", "acme")
    assert actions_since(team, head) == ["account.update", "import.apply"]
    assert team.vault.secrets.password(acme.id)[0] == "pw-current"
    assert team.vault.secrets.totp(acme.id).secret == otp.decode_base32_secret(SEED)
    assert [c.code for c in team.vault.secrets.recovery_codes(acme.id, unused_only=True)] == ["rc-1", "rc-2"]
    assert snapshot(team)[0][0][1:] == before[0][0][1:]  # every secret as it was

    only_secrets = csv_file(tmp_path, "instagram,acme,,,,pw-rotated-away,,", name="pw.csv")
    plan = plan_import(team, only_secrets)
    assert [(c.action, c.kept) for c in plan.unchanged] == [("unchanged", ("password",))]


def test_secrets_the_vault_lacks_are_filled_and_said_to_be_new(team, tmp_path):
    accounts.add_account(team, "instagram", "acme")
    secrets.add_recovery_codes(team, "instagram:acme", ["rc-used"])
    grants.add_grant(team, "alice@example.com", "instagram:acme", "manage")  # she may compare
    acme = team.vault.accounts.by_key("instagram", "acme")
    with team.atomic():  # every stored code used: the vault holds none that works
        team.vault.secrets.mark_recovery_code_used(team.vault.secrets.recovery_codes(acme.id)[0].id, team.ts())
    imported = csv_file(tmp_path, f"instagram,acme,,,,pw-first,{SEED},rc-new rc-used")
    (change,) = plan_import(team, imported).updates
    assert (change.secrets, change.replaces, change.kept) == (("password", "totp", "recovery-codes"), (), ())
    apply_import(team, imported)
    assert team.vault.secrets.password(acme.id)[0] == "pw-first"
    assert [c.code for c in team.vault.secrets.recovery_codes(acme.id, unused_only=True)] == ["rc-new"]


def test_an_hotp_counter_only_rises(team, tmp_path):
    accounts.add_account(team, "other", "intranet")
    secrets.set_totp(team, "other:intranet", f"otpauth://hotp/X:y?secret={SEED}&counter=10")
    grants.add_grant(team, "alice@example.com", "other:intranet", "manage")  # she may compare
    intranet = team.vault.accounts.by_key("other", "intranet")
    lower = csv_file(tmp_path, f"other,intranet,,,,,otpauth://hotp/X:y?secret={SEED}&counter=3,", name="low.csv")
    assert [c.account_key for c in plan_import(team, lower).unchanged] == ["other:intranet"]
    assert [c.account_key for c in plan_import(team, lower, replace_secrets=True).unchanged] == ["other:intranet"]

    higher = csv_file(tmp_path, f"other,intranet,,,,,otpauth://hotp/X:y?secret={SEED}&counter=25,", name="hi.csv")
    (change,) = plan_import(team, higher).updates
    assert (change.secrets, change.replaces, change.counter_raised) == (("totp",), (), True)
    apply_import(team, higher)
    assert team.vault.secrets.totp(intranet.id).counter == 25

    # another digits setting for the same seed replaces the parameters, never the counter downwards
    other_digits = csv_file(tmp_path, f"other,intranet,,,,,otpauth://hotp/X:y?secret={SEED}&counter=1&digits=8,",
                            name="d.csv")
    (change,) = plan_import(team, other_digits, replace_secrets=True).updates
    assert (change.secrets, change.replaces, change.counter_raised) == (("totp",), ("totp",), False)
    apply_import(team, other_digits, replace_secrets=True)
    params = team.vault.secrets.totp(intranet.id)
    assert (params.digits, params.counter) == (8, 25)


def test_an_empty_cell_leaves_the_vault_value_alone(team, tmp_path):
    apply_import(team, csv_file(tmp_path, "instagram,acme,1,bob@example.com,social@acme.example,pw,,"))
    plan = plan_import(team, csv_file(tmp_path, "instagram,acme,,,,,,", name="b.csv"))
    assert [c.account_key for c in plan.unchanged] == ["instagram:acme"]


# --- the same account twice in one file ---------------------------------------------------


def test_the_same_account_twice_with_different_values_is_a_problem_for_both(team, tmp_path):
    imported = csv_file(tmp_path, "instagram,acme,1,,,pw-one,,", "x,other,,,,,,", "instagram,Acme,1,,,pw-two,,")
    plan = plan_import(team, imported)
    where = str(imported.path)
    assert [(p.where, p.field) for p in plan.problems] == [(f"{where}:2", "account"), (f"{where}:4", "account")]
    assert plan.problems[0].message == (f"instagram:acme is in the file 2 times with different values "
                                        f"({where}:2, {where}:4)")
    assert "pw-" not in str(plan.problems)
    assert [c.account_key for c in plan.creates] == ["x:other"]


def test_an_identical_copy_is_imported_once_with_a_note(team, tmp_path):
    imported = csv_file(tmp_path, "instagram,acme,1,,,pw,,", "instagram,acme,1,,,pw,,")
    plan = plan_import(team, imported)
    assert plan.problems == () and len(plan.creates) == 1
    assert [(n.where, n.message) for n in plan.notes] == [
        (f"{imported.path}:3", f"the same as {imported.path}:2: imported once")]


# --- authenticator entries ----------------------------------------------------------------


def test_an_otp_entry_attaches_to_the_account_it_names_or_whose_login_it_is(team, tmp_path):
    accounts.add_account(team, "instagram", "acme", login_id="social@acme.example")
    accounts.add_account(team, "x", "acme")
    imported = otp_file(tmp_path,
                        f"otpauth://totp/Instagram:social%40acme.example?secret={SEED}&issuer=Instagram",
                        f"otpauth://totp/Twitter:acme?secret={OTHER_SEED}&issuer=Twitter&digits=8")
    plan = plan_import(team, imported)
    assert [(c.account_key, c.fields, c.secrets) for c in plan.updates] == [
        ("instagram:acme", (), ("totp",)), ("x:acme", ("login_id",), ("totp",))]
    apply_import(team, imported)
    x = team.vault.accounts.by_key("x", "acme")
    params = team.vault.secrets.totp(x.id)
    assert (params.secret, params.digits) == (otp.decode_base32_secret(OTHER_SEED), 8)
    assert x.login_id == "acme" and x.mfa == "totp"  # an empty login is filled; set_totp sets mfa


def test_otp_entries_matching_nothing_are_listed_or_created_with_create_missing(team, tmp_path):
    imported = otp_file(tmp_path, f"otpauth://totp/Deno:Mason?secret={SEED}&issuer=Deno",
                        f"otpauth://hotp/WWE:Mason?secret={OTHER_SEED}&issuer=WWE&counter=10300")
    plan = plan_import(team, imported)
    assert [(u.where, u.title, u.label) for u in plan.unmatched] == [("codes.txt:1", "Deno", "Mason"),
                                                                     ("codes.txt:2", "WWE", "Mason")]
    assert plan.empty and not plan.blocked
    result = apply_import(team, imported)
    assert result.created == 0 and team.vault.accounts.all() == []

    plan = plan_import(team, imported, create_missing=True)
    assert plan.unmatched == ()
    assert [(c.account_key, c.fields, c.secrets) for c in plan.creates] == [
        ("other:Deno/Mason", ("login_id",), ("totp",)), ("other:WWE/Mason", ("login_id",), ("totp",))]
    apply_import(team, imported, create_missing=True)
    wwe = team.vault.accounts.by_key("other", "WWE/Mason")
    params = team.vault.secrets.totp(wwe.id)
    assert (params.kind, params.counter, params.algorithm) == ("hotp", 10300, "SHA1")


def test_two_accounts_with_the_entry_login_is_a_problem_and_other_never_matches_by_login(team, tmp_path):
    accounts.add_account(team, "instagram", "acme", login_id="social@acme.example")
    accounts.add_account(team, "instagram", "acme-eu", login_id="SOCIAL@acme.example")
    accounts.add_account(team, "other", "intranet", login_id="Mason")
    imported = otp_file(tmp_path, f"otpauth://totp/Instagram:social%40acme.example?secret={SEED}&issuer=Instagram",
                        f"otpauth://totp/Deno:Mason?secret={SEED}&issuer=Deno")
    plan = plan_import(team, imported)
    assert [str(p) for p in plan.problems] == [
        "codes.txt:1: account: 2 instagram accounts log in as 'social@acme.example' "
        "(instagram:acme, instagram:acme-eu): cannot tell which one this seed is for"]
    assert [u.where for u in plan.unmatched] == ["codes.txt:2"]  # not other:intranet


# --- problems ------------------------------------------------------------------------------


def test_unknown_people_and_bad_values_are_problems(team, tmp_path):
    imported = csv_file(tmp_path, "instagram,acme,1,dora@example.com,,,,", "x,acme,1,cara@example.com,,,,")
    plan = plan_import(team, imported)
    assert [str(p) for p in plan.problems] == [
        f"{imported.path}:2: owner: no person with email dora@example.com in the vault (add them first: smvault person add)"]
    assert [c.account_key for c in plan.creates] == ["x:acme"]
    handover_like = items_file(tmp_path, Entry("packet: item 1", EntryKind.ACCOUNT, platform="x", handle="y",
                                               fields={"brand": "a\x1bb", "colour": "red"}))
    assert [str(p) for p in plan_import(team, handover_like).problems] == [
        "packet: item 1: colour: not an account field", "packet: item 1: brand: contains control characters"]


def test_an_owner_is_not_replaced_by_an_import(team, tmp_path):
    accounts.add_account(team, "instagram", "acme", owner="bob@example.com")
    plan = plan_import(team, csv_file(tmp_path, "instagram,acme,,cara@example.com,,,,"))
    assert [p.message for p in plan.problems] == [
        "instagram:acme already has another owner: ownership moves through "
        "`smvault transfer start instagram:acme --to EMAIL`"]


def test_accounts_managed_by_someone_else_are_a_problem(team, tmp_path):
    accounts.add_account(team, "instagram", "acme")
    grants.add_grant(team, "bob@example.com", "instagram:acme", "manage")
    plan = plan_import(team, csv_file(tmp_path, "instagram,acme,,,,new-pw,,"))
    assert [(p.field, p.message) for p in plan.problems] == [
        ("account", "operator alice@example.com needs a 'manage' grant on instagram:acme to change its secrets or grants")]


def test_password_manager_notes_are_left_out_and_urls_only_fill_empty_fields(team, tmp_path):
    accounts.add_account(team, "instagram", "acme", url="https://instagram.com/acme")
    imported = items_file(tmp_path, Entry("export.json: item 1 (Acme)", EntryKind.ACCOUNT, title="Acme",
                                          url="https://www.instagram.com/acme/", login_id="acme.social",
                                          password="pw", notes="PIN 1234"))
    plan = plan_import(team, imported)
    (change,) = plan.updates
    assert (change.fields, change.secrets) == (("login_id",), ("password",))
    assert [(n.where, n.field) for n in plan.notes] == [("export.json: item 1 (Acme)", "notes")]
    apply_import(team, imported)
    acme = team.vault.accounts.by_key("instagram", "acme")
    assert (acme.url, acme.login_id, acme.notes) == ("https://instagram.com/acme", "acme.social", None)
    assert "PIN 1234" not in log_text(team)


# --- applying all or nothing --------------------------------------------------------------


def test_apply_with_a_problem_refuses_and_changes_nothing(team, tmp_path):
    apply_import(team, csv_file(tmp_path, f"instagram,acme,1,,,pw-old,{SEED},rc-1", name="first.csv"))
    imported = csv_file(tmp_path, "instagram,acme,2,,,pw-new,,", "x,acme,1,dora@example.com,,,,", "youtube,acme,,,,pw,,")
    before = snapshot(team)
    with pytest.raises(ImportRefused) as refused:
        apply_import(team, imported)
    assert isinstance(refused.value, InvalidInputError)
    assert refused.value.message == (f"1 problem in {imported.path}; nothing imported "
                                     "(fix them, or --skip-bad to leave those items out)")
    assert refused.value.plan.problems[0].field == "owner"
    assert snapshot(team) == before


def test_skip_bad_applies_everything_else(team, tmp_path):
    imported = csv_file(tmp_path, "instagram,acme,1,,,pw,,", "x,acme,1,dora@example.com,,,,", "x,b c,,,,,,")
    result = apply_import(team, imported, skip_bad=True)
    assert (result.created, result.updated, result.skipped) == (1, 0, 2)
    assert [a.key for a in team.vault.accounts.all()] == ["instagram:acme"]
    (entry,) = team.vault.log.entries(actions=("import.apply",))
    assert entry["detail"]["skipped"] == 2 and entry["detail"]["created"] == 1


@pytest.mark.parametrize("target", ["add_account", "update_account", "set_password", "set_totp",
                                    "add_recovery_codes", "record"])
def test_a_failure_half_way_rolls_everything_back_log_entries_included(team, tmp_path, monkeypatch, target):
    apply_import(team, csv_file(tmp_path, "instagram,old,,,,,,", "x,old,,,,,,", name="first.csv"))
    imported = csv_file(tmp_path, *(f"instagram,acct{i},,,,pw-{i},{SEED},rc-{i}" for i in range(3)),
                        "instagram,old,1,,,pw-old,,", "x,old,1,,,,,")
    before = snapshot(team)
    calls = []
    owner = team if target == "record" else importer
    real = getattr(owner, target)

    def failing(*args, **kwargs):
        calls.append(target)
        if len(calls) == 2:  # the second call: after some changes and log entries were made
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, target, failing)
    with pytest.raises(OSError):
        apply_import(team, imported)
    assert len(calls) == 2
    assert snapshot(team) == before
    monkeypatch.undo()
    head = team.vault.log.head().seq
    assert apply_import(team, imported).created == 3  # and the vault still works
    assert actions_since(team, head) == [
        *["account.add", "secret.password.set", "secret.totp.set", "secret.recovery-codes.add"] * 3,
        "account.update", "secret.password.set", "account.update", "import.apply"]


# --- reading files ------------------------------------------------------------------------


def test_read_import_names_the_file_and_caps_its_size(tmp_path, monkeypatch):
    with pytest.raises(ImportFileError, match=r"missing.csv: cannot read the file: No such file"):
        read_import(tmp_path / "missing.csv", "csv")
    with pytest.raises(ImportFileError, match=r"cannot read the file: Is a directory"):
        read_import(tmp_path, "csv")
    with pytest.raises(UsageError, match="unknown import format 'lastpass'"):
        read_import(tmp_path / "x.csv", "lastpass")
    big = tmp_path / "big.csv"
    big.write_text("platform,handle\n" + "x,a\n" * 100)
    monkeypatch.setattr(importer, "MAX_FILE_BYTES", 64)
    with pytest.raises(ImportFileError, match=r"big.csv: the file is larger than"):
        read_import(big, "csv")


def test_a_fifo_is_refused_at_once_instead_of_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)

    def hung(signum, frame):
        raise AssertionError("reading the FIFO blocked")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        with pytest.raises(ImportFileError, match=rf"^{re.escape(str(fifo))}: cannot read the file: not a regular file$"):
            read_import(fifo, "csv")
        with pytest.raises(InvalidInputError, match=r"export.csv: cannot read the mapping file: not a regular file"):
            importer.load_mapping(mapping_file=fifo)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    link = tmp_path / "link.csv"  # a symlink to a regular file is read as that file
    (tmp_path / "real.csv").write_text("platform,handle\nx,acme\n")
    link.symlink_to(tmp_path / "real.csv")
    assert [e.handle for e in read_import(link, "csv").parsed.entries] == ["acme"]


def test_an_import_file_shows_no_secret(tmp_path):
    imported = csv_file(tmp_path, f"instagram,acme,,,,pw-secret,{SEED},rc-secret")
    assert imported.sha256 == hashlib.sha256(imported.path.read_bytes()).hexdigest()
    for text in (repr(imported), repr(imported.parsed)):
        assert "pw-secret" not in text and SEED not in text and "rc-secret" not in text


def test_load_mapping_takes_flags_over_the_file(tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\nplatform = "Network"\nhandle = "Name"\n')
    assert importer.load_mapping(["handle=Account"], mapping) == {"platform": "Network", "handle": "Account"}
    with pytest.raises(UsageError, match="unknown csv field 'email'"):
        importer.load_mapping(["email=Mail"])
    with pytest.raises(InvalidInputError, match="cannot read the mapping file"):
        importer.load_mapping(mapping_file=tmp_path / "nope.toml")


# --- who may compare secrets --------------------------------------------------------------


def test_a_dry_run_tells_no_one_without_manage_whether_a_guessed_secret_is_right(team, tmp_path, monkeypatch):
    accounts.add_account(team, "instagram", "acme")
    secrets.set_password(team, "instagram:acme", "right-password")
    secrets.set_totp(team, "instagram:acme", SEED)
    secrets.add_recovery_codes(team, "instagram:acme", ["rc-right"])
    grants.add_grant(team, "bob@example.com", "instagram:acme", "manage")  # alice holds none

    def outcome(row: str, **flags) -> tuple:
        plan = plan_import(team, csv_file(tmp_path, row, name="guess.csv"), **flags)
        return (plan.creates, plan.updates, plan.unchanged, plan.unmatched, plan.problems, plan.notes)

    right = outcome(f"instagram,acme,,,,right-password,{SEED},rc-right")
    assert right == outcome(f"instagram,acme,,,,wrong-password,{OTHER_SEED},rc-wrong")
    assert right == outcome("instagram,acme,,,,right-password,,", replace_secrets=True)[:4] + right[4:]
    assert [(p.field, p.message) for p in right[4]] == [
        ("account", "operator alice@example.com needs a 'manage' grant on instagram:acme to change its secrets or grants")]
    assert right[2] == () and right[5] == ()  # never "unchanged", no "kept" note

    def no_reading(*args):
        raise AssertionError("the stored secrets were read")

    monkeypatch.setattr(importer, "_stored", no_reading)
    assert outcome(f"instagram,acme,,,,right-password,{SEED},rc-right") == right
    # an entry with nothing to write and no secret still reads as unchanged: nothing is compared
    assert [c.account_key for c in outcome("instagram,acme,,,,,,")[2]] == ["instagram:acme"]


def test_an_account_nobody_manages_has_its_secrets_set_blind_never_compared(team, tmp_path):
    """Any operator may manage an account nobody manages, but not reveal its secrets: a plan
    must read the same whether a guess is right or wrong, and say the secret was not compared."""
    accounts.add_account(team, "instagram", "acme")
    secrets.set_password(team, "instagram:acme", "right-password")
    secrets.set_totp(team, "instagram:acme", SEED)
    secrets.add_recovery_codes(team, "instagram:acme", ["rc-right"])
    with pytest.raises(PolicyError):
        secrets.reveal(team, "instagram:acme", "password")  # alice holds no grant

    def outcome(row: str, **flags) -> tuple:
        plan = plan_import(team, csv_file(tmp_path, row, name="guess.csv"), **flags)
        # what is shown of each change (the codes to store are the file's own)
        return (*([(c.account_key, c.action, c.secrets, c.replaces, c.kept, c.unseen) for c in changes]
                  for changes in (plan.creates, plan.updates, plan.unchanged)),
                plan.unmatched, plan.problems, [(n.field, n.message) for n in plan.notes])

    right = outcome(f"instagram,acme,,,,right-password,{SEED},rc-right")
    assert right == outcome(f"instagram,acme,,,,wrong-password,{OTHER_SEED},rc-wrong")
    all_three = ("password", "totp", "recovery-codes")
    assert right[2] == [("instagram:acme", "unchanged", (), (), all_three, all_three)]
    assert right[5] == [
        ("password", "kept, not compared: you may not reveal the vault's password; --replace-secrets replaces it"),
        ("totp", "kept, not compared: you may not reveal the vault's TOTP seed; --replace-secrets replaces it"),
        ("recovery_codes", "kept, not compared: you may not reveal the vault's recovery codes; "
                           "--replace-secrets retires those")]
    replacing = outcome(f"instagram,acme,,,,right-password,{SEED},rc-right", replace_secrets=True)
    assert replacing == outcome(f"instagram,acme,,,,wrong-password,{OTHER_SEED},rc-wrong", replace_secrets=True)
    assert replacing[1] == [("instagram:acme", "update", all_three, all_three, (), all_three)]

    grants.add_grant(team, "alice@example.com", "instagram:acme", "manage")  # now she may compare
    assert outcome(f"instagram,acme,,,,right-password,{SEED},rc-right") != right


# --- matching password-manager items by login ---------------------------------------------


def test_a_password_manager_item_without_a_handle_matches_the_account_that_logs_in_as_its_user(team, tmp_path):
    accounts.add_account(team, "instagram", "acme", login_id="social@acme.example")
    by_login = Entry("export.json: item 1 (Instagram)", EntryKind.ACCOUNT, title="Instagram",
                     url="https://www.instagram.com/", login_id="Social@acme.example", password="pw-one")
    plan = plan_import(team, items_file(tmp_path, by_login))
    assert plan.creates == () and plan.problems == ()
    assert [(c.account_key, c.secrets) for c in plan.updates] == [("instagram:acme", ("password",))]

    by_url = Entry("export.json: item 2 (Acme)", EntryKind.ACCOUNT, title="Acme",
                   url="https://instagram.com/acme", password="pw-two")
    plan = plan_import(team, items_file(tmp_path, by_login, by_url))
    assert [str(p) for p in plan.problems] == [
        f"export.json: item {n} ({title}): account: instagram:acme is in the file 2 times with different values "
        "(export.json: item 1 (Instagram), export.json: item 2 (Acme))" for n, title in ((1, "Instagram"), (2, "Acme"))]

    accounts.add_account(team, "instagram", "acme-eu", login_id="SOCIAL@acme.example")
    plan = plan_import(team, items_file(tmp_path, by_login))
    assert [str(p) for p in plan.problems] == [
        "export.json: item 1 (Instagram): account: 2 instagram accounts log in as 'Social@acme.example' "
        "(instagram:acme, instagram:acme-eu): cannot tell which one this item is for"]
    assert plan.creates == ()


def test_an_item_naming_its_handle_or_on_other_never_matches_by_login(team, tmp_path):
    accounts.add_account(team, "instagram", "acme", login_id="social@acme.example")
    accounts.add_account(team, "other", "intranet", login_id="mason")
    named = Entry("packet: account 1", EntryKind.ACCOUNT, platform="instagram", handle="acme-new",
                  login_id="social@acme.example")
    other = Entry("export.json: item 1 (Deno)", EntryKind.ACCOUNT, title="Deno", url="https://deno.com",
                  login_id="mason", password="pw")
    plan = plan_import(team, items_file(tmp_path, named, other))
    assert sorted(c.account_key for c in plan.creates) == ["instagram:acme-new", "other:Deno/mason"]


# --- imported secrets are no rotation -----------------------------------------------------


def rotate_step(view, key: str):
    return next(s for s in view.steps if s.kind == "rotate-password" and s.account_key == key)


def test_an_imported_password_leaves_the_leavers_rotation_open_and_one_typed_resolves_it(team, tmp_path, clock):
    from datetime import timedelta

    from smvault.services import offboarding

    accounts.add_account(team, "x", "one")
    secrets.set_password(team, "x:one", "known-to-cara")
    grants.add_grant(team, "alice@example.com", "x:one", "manage")
    grants.add_grant(team, "cara@example.com", "x:one", "reveal")
    clock.advance(minutes=5)
    secrets.reveal(team, "x:one", "password", for_email="cara@example.com")
    clock.advance(minutes=5)
    offboarding.start_offboarding(team, "cara@example.com", clock.now.date() + timedelta(days=5))
    assert not rotate_step(offboarding.offboarding_status(team, "cara@example.com"), "x:one").done

    apply_import(team, csv_file(tmp_path, "x,one,,,,from-an-old-export,,"), replace_secrets=True)
    assert team.vault.secrets.password(team.vault.accounts.by_key("x", "one").id)[0] == "from-an-old-export"
    assert not rotate_step(offboarding.offboarding_status(team, "cara@example.com"), "x:one").done

    secrets.set_password(team, "x:one", "typed-by-hand")
    assert rotate_step(offboarding.offboarding_status(team, "cara@example.com"), "x:one").done


def test_an_import_before_the_offboarding_starts_is_no_rotation_either(team, tmp_path, clock):
    from smvault.services import offboarding

    accounts.add_account(team, "x", "one")
    secrets.set_password(team, "x:one", "known-to-cara")
    grants.add_grant(team, "alice@example.com", "x:one", "manage")
    grants.add_grant(team, "cara@example.com", "x:one", "reveal")
    secrets.reveal(team, "x:one", "password", for_email="cara@example.com")
    grants.revoke_grants(team, "cara@example.com", "x:one")  # no grant of hers could reveal it since
    clock.advance(minutes=5)
    apply_import(team, csv_file(tmp_path, "x,one,,,,from-an-old-export,,"), replace_secrets=True)
    clock.advance(minutes=5)
    view = offboarding.plan_offboarding(team, "cara@example.com")
    assert rotate_step(view, "x:one").learned == "did"


def test_a_break_glass_session_may_not_import_and_an_import_does_not_rotate_what_it_saw(team, tmp_path, clock, vault_dir):
    from smvault.domain.errors import PolicyError
    from smvault.services import kit
    from smvault.services.post_incident import post_incident_status, post_incidents
    from smvault.services.session import BREAK_GLASS_REFUSAL, unlock_recovery

    custodians = ["bo@example.com", "cy@example.com", "di@example.com"]
    for email in custodians:
        people.add_person(team, email.split("@")[0].title(), email)
    made = kit.create_kit(team, custodians, 2)
    accounts.add_account(team, "x", "acme")
    secrets.set_password(team, "x:acme", "seen-in-the-incident")
    clock.advance(minutes=1)
    imported = csv_file(tmp_path, "x,acme,,,,from-an-old-export,,", "x,new,,,,pw,,")

    with unlock_recovery(vault_dir, [sheet.mnemonic for sheet in made.sheets[:2]], reason="operators locked out",
                         incident="INC-1", clock=clock) as rec:
        before = snapshot(rec)
        for attempt in (lambda: plan_import(rec, imported), lambda: apply_import(rec, imported, replace_secrets=True)):
            with pytest.raises(PolicyError) as refused:
                attempt()
            assert refused.value.message == BREAK_GLASS_REFUSAL
        assert snapshot(rec) == before
        secrets.reveal(rec, "x:acme")

    def rotation_done() -> bool:
        [row] = post_incidents(team)
        view = post_incident_status(team, row.workflow_id)
        return next(s for s in view.steps if s.kind == "rotate-password" and s.account_key == "x:acme").done

    assert not rotation_done()
    apply_import(team, imported, replace_secrets=True)
    assert not rotation_done()  # the imported value may be the very one the session saw
    secrets.set_password(team, "x:acme", "typed-after-the-incident")
    assert rotation_done()


def test_a_secret_that_only_ever_came_by_import_was_never_replaced(team, tmp_path, clock):
    """Re-importing a password, a seed or codes the leaver saw (or could see) replaces nothing,
    even when every value the account ever had came by import: the plan keeps its steps."""
    from smvault.services import offboarding

    row = f"x,one,,,,from-a-file,{SEED},rc-1 rc-2"
    apply_import(team, csv_file(tmp_path, row, "x,two,,,,also-from-a-file,,"))
    grants.add_grant(team, "alice@example.com", "x:one", "manage")
    grants.add_grant(team, "alice@example.com", "x:two", "manage")
    grants.add_grant(team, "cara@example.com", "x:one", "reveal")
    grants.add_grant(team, "cara@example.com", "x:two", "reveal")
    clock.advance(hours=1)
    for what in ("password", "totp-seed", "recovery-codes"):
        secrets.reveal(team, "x:one", what, for_email="cara@example.com")
    grants.revoke_grants(team, "cara@example.com", "x:two")  # never revealed: she could have
    clock.advance(hours=1)
    apply_import(team, csv_file(tmp_path, "x,one,,,,old-export,,rc-1 rc-2", "x,two,,,,old-export,,", name="again.csv"),
                 replace_secrets=True)
    clock.advance(hours=1)
    rows = [(s.kind, s.account_key, s.learned) for s in offboarding.plan_offboarding(team, "cara@example.com").steps
            if s.account_key is not None]
    assert rows == [("rotate-password", "x:one", "did"), ("rotate-password", "x:two", "could"),
                    ("reenrol-totp", "x:one", None), ("regenerate-recovery-codes", "x:one", None)]
