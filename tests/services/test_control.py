"""who-can: every independent path back into an account, and the controller count."""

from __future__ import annotations

from smvault.services import accounts, control, grants, operators, people, secrets

PASS2 = b"second operator passphrase"


def _setup(session):
    for name, email in [("Bob", "bob@example.com"), ("Cara", "cara@example.com"),
                        ("Dev", "dev@example.com"), ("Eve", "eve@example.com")]:
        people.add_person(session, name, email)
    accounts.add_account(session, "youtube", "acme", login_id="yt@example.com", mfa="totp",
                         recovery_email="recovery@example.com", recovery_email_controller="cara@example.com")
    grants.add_grant(session, "alice@example.com", "youtube:acme", "manage")


def kinds(result):
    return {p.kind: sorted(result.people[i].email for i in p.person_ids) for p in result.report.paths}


def test_vault_path_needs_a_complete_credential_set(session):
    _setup(session)
    result = control.who_can(session, "youtube:acme")
    vault = result.report.paths[0]
    assert vault.kind == "vault" and not vault.usable
    assert "password" in vault.missing and any("MFA" in m for m in vault.missing)
    secrets.set_password(session, "youtube:acme", "pw-123456")
    assert not control.who_can(session, "youtube:acme").report.paths[0].usable  # MFA still missing
    secrets.add_recovery_codes(session, "youtube:acme", ["code-a"])
    result = control.who_can(session, "youtube:acme")
    assert result.report.paths[0].usable
    assert kinds(result) == {"vault": ["alice@example.com"], "recovery-email": ["cara@example.com"]}
    assert result.report.controller_count == 2


def test_using_the_last_recovery_code_breaks_the_vault_path(session):
    _setup(session)
    secrets.set_password(session, "youtube:acme", "pw-123456")
    secrets.add_recovery_codes(session, "youtube:acme", ["code-a"])
    secrets.use_recovery_code(session, "youtube:acme")
    assert not control.who_can(session, "youtube:acme").report.paths[0].usable


def test_only_operators_with_reveal_are_on_the_vault_path(session):
    _setup(session)
    secrets.set_password(session, "youtube:acme", "pw-123456")
    secrets.set_totp(session, "youtube:acme", "JBSWY3DPEHPK3PXP")
    grants.add_grant(session, "bob@example.com", "youtube:acme", "reveal")  # not an operator
    grants.add_grant(session, "dev@example.com", "youtube:acme", "code-only")
    operators.add_operator(session, "dev", PASS2, email="dev@example.com")
    result = control.who_can(session, "youtube:acme")
    assert kinds(result)["vault"] == ["alice@example.com"]  # dev is code-only, bob not an operator
    grants.add_grant(session, "dev@example.com", "youtube:acme", "reveal")
    assert kinds(control.who_can(session, "youtube:acme"))["vault"] == ["alice@example.com", "dev@example.com"]


def test_platform_admins_device_holders_and_distinct_count(session):
    _setup(session)
    accounts.update_account(session, "youtube:acme", totp_holder="eve@example.com",
                            recovery_phone="+15550100", recovery_phone_controller="cara@example.com")
    grants.add_grant(session, "bob@example.com", "youtube:acme", "platform-admin")
    grants.add_grant(session, "cara@example.com", "youtube:acme", "platform-admin")
    result = control.who_can(session, "youtube:acme")
    assert kinds(result) == {
        "vault": [],
        "platform-admin": ["bob@example.com", "cara@example.com"],
        "recovery-email": ["cara@example.com"],
        "recovery-phone": ["cara@example.com"],
        "totp-device": ["eve@example.com"],
    }
    assert result.report.controller_count == 3  # bob, cara, eve: cara counted once
    secrets.set_totp(session, "youtube:acme", "JBSWY3DPEHPK3PXP")
    assert "totp-device" not in kinds(control.who_can(session, "youtube:acme"))


def test_people_who_left_do_not_count(session, clock):
    _setup(session)
    grants.add_grant(session, "bob@example.com", "youtube:acme", "platform-admin")
    people.mark_leaving(session, "cara@example.com", clock().date())
    result = control.who_can(session, "youtube:acme")
    assert result.report.controller_count == 1
    assert [result.people[i].email for i in result.report.excluded_left_ids] == ["cara@example.com"]


def test_under_controlled_lists_accounts_below_two(session):
    _setup(session)
    accounts.add_account(session, "x", "healthy", recovery_email_controller="bob@example.com",
                         recovery_phone_controller="dev@example.com")
    accounts.add_account(session, "x", "retired-one", status="retired")
    flagged = {a.key for a, _ in control.under_controlled(session)}
    assert "youtube:acme" in flagged and "x:healthy" not in flagged and "x:retired-one" not in flagged


def test_all_accounts_check_agrees_with_who_can_on_the_demo(tmp_path, clock):
    """The bulk check reads leaner facts; it must flag exactly what who-can would."""
    from smvault.services.demo import DEMO_OPERATOR, DEMO_PASSPHRASE, build_demo
    from smvault.services.session import unlock

    build_demo(tmp_path / "demo", clock=clock)
    s = unlock(tmp_path / "demo", DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), clock=clock)
    try:
        bulk = {a.key: r.controller_count for a, r in control.under_controlled(s)}
        one_by_one = {}
        for account in accounts.list_accounts(s):
            if account.status.value == "retired":
                continue
            count = control.who_can(s, account.key).report.controller_count
            if count < control.MIN_CONTROLLERS:
                one_by_one[account.key] = count
        assert bulk == one_by_one and bulk
    finally:
        s.close()
