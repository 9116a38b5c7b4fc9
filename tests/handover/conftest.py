"""Fixtures for the handover tests.

`stocked` is the `session` vault (operator alice, FakeClock) with people and two accounts
alice manages, every secret stored:

    instagram:acme  every field set; owner bob, backup owner cara, recovery email and phone
                    controlled by cara and dev, TOTP held by bob; platform admins bob and len
                    (len has left: not an admin any more); password, an 80-bit TOTP seed and
                    three recovery codes (one used)
    x:acme-news     a Steam Guard seed and a password, no recovery codes, nothing else set

`log_text(session)` is every log entry's body as stored, for "no secret in the log" checks.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

PASSWORD = "Pa55-word!-instagram"
SEED = "JBSWY3DPEHPK3PXP"  # 80 bits
STEAM_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
X_PASSWORD = "x-news-password-42"
CODES = ["rc-1111-aaaa", "rc-2222-bbbb", "rc-3333-cccc"]
SECRETS = [PASSWORD, SEED, STEAM_SEED, X_PASSWORD, *CODES]
ACME, NEWS = "instagram:acme", "x:acme-news"


@pytest.fixture
def stocked(session, clock):
    from smvault.services import accounts, grants, people, secrets

    for name, email in (("Bob Builder", "bob@example.com"), ("Cara [b]Controller[/b]", "cara@example.com"),
                        ("Dev Ops", "dev@example.com"), ("Len Left", "len@example.com")):
        people.add_person(session, name, email)
    accounts.add_account(
        session, "instagram", "acme", url="https://instagram.com/acme", brand="Acme", region="EMEA",
        business_unit="Retail", tier=1, status="active", company_owned=True, login_id="social@acme.example",
        recovery_email="recovery@acme.example", recovery_email_controller="cara@example.com",
        recovery_phone="+15550100", recovery_phone_controller="dev@example.com", mfa="totp",
        totp_holder="bob@example.com", owner="bob@example.com", backup_owner="cara@example.com",
        notes="Main brand account",
    )
    accounts.add_account(session, "x", "acme-news")
    for ref in (ACME, NEWS):
        grants.add_grant(session, "alice@example.com", ref, "manage")
    grants.add_grant(session, "bob@example.com", ACME, "platform-admin")
    grants.add_grant(session, "len@example.com", ACME, "platform-admin")
    people.mark_leaving(session, "len@example.com", clock().date() - timedelta(days=1))  # grant not revoked
    secrets.set_password(session, ACME, PASSWORD)
    secrets.set_totp(session, ACME, SEED)
    secrets.add_recovery_codes(session, ACME, CODES)
    secrets.use_recovery_code(session, ACME)  # the first one is used: it does not travel
    secrets.set_password(session, NEWS, X_PASSWORD)
    secrets.set_totp(session, NEWS, f"otpauth://totp/Steam:news?secret={STEAM_SEED}&encoder=steam")
    clock.advance(minutes=1)
    return session


def log_text(session) -> str:
    return "\n".join(bytes(row[2]).decode() for row in session.vault.log.raw_rows(0))


def leaked(text: str, *extra: str) -> list[str]:
    """The stored secrets (and `extra` values) that appear in `text`."""
    return [value for value in (*SECRETS, *extra) if value in text]
