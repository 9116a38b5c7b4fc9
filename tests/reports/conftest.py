"""A small organisation built through the services, where every report has something to say.

Built at T0 (the `clock` fixture's start), then the clock moves 200 days (T1), a few things
happen, and it moves 2 more days (NOW = T0 + 202 days):

    people      alice (the operator), Bob Builder, Cara Chen (left on T0+30),
                Dev Patel (leaving on T1+10, offboarding open), Eve Evans
    x:acme          tier 0, totp (seed stored), password at T0, 10 recovery codes,
                    recovery email ops@acme.example held by bob;
                    grants: alice manage, bob reveal (revealed to him at T1),
                    eve code-only (granted at T1)
    instagram:solo  tier 1, mfa none, password at T0, recovery email on gmail held by nobody;
                    grants: alice manage, bob reveal expiring at T0+10 (expired)
    youtube:legacy  tier 2, dormant, mfa unknown, no password, owner cara,
                    recovery phone held by cara; grant: cara reveal (made before she left)
    tiktok:codes    tier 3, totp (no seed), password at T0, 3 recovery codes (2 used),
                    recovery phone held by nobody; grants: alice manage, dev code-only,
                    bob code-only (revoked)
    linkedin:full   tier 1, totp held on dev's phone, no password, 2 recovery codes (both
                    used), recovery email held by dev; grants: alice manage, bob platform-admin
    facebook:gone   retired, mfa none, owner cara: left out of every account list

    workflows   an access review due T1+1 (overdue at NOW), dev's offboarding (due T1+10)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

ALICE, BOB, CARA, DEV, EVE = (f"{n}@example.com" for n in ("alice", "bob", "cara", "dev", "eve"))
SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@dataclass
class Org:
    session: object
    clock: object
    t0: datetime
    t1: datetime

    @property
    def now(self) -> datetime:
        return self.clock()


@pytest.fixture
def org(session, clock) -> Org:
    from smvault.services import accounts, grants, offboarding, people, review, secrets

    s = session
    t0 = clock()
    people.add_person(s, "Bob Builder", BOB)
    people.add_person(s, "Cara Chen", CARA)
    people.add_person(s, "Dev Patel", DEV)
    people.add_person(s, "Eve Evans", EVE)

    accounts.add_account(s, "x", "acme", tier=0, mfa="totp", login_id="acme@corp.example",
                         recovery_email="ops@acme.example", recovery_email_controller=BOB)
    accounts.add_account(s, "instagram", "solo", tier=1, mfa="none", login_id="solo@corp.example",
                         recovery_email="someone@gmail.com")
    accounts.add_account(s, "youtube", "legacy", tier=2, status="dormant", owner=CARA,
                         recovery_phone="+15550100", recovery_phone_controller=CARA)
    accounts.add_account(s, "tiktok", "codes", tier=3, mfa="totp", login_id="codes@corp.example",
                         recovery_phone="+15550199")
    accounts.add_account(s, "linkedin", "full", tier=1, mfa="totp", login_id="full@corp.example",
                         totp_holder=DEV, recovery_email="social@corp.example", recovery_email_controller=DEV)
    accounts.add_account(s, "facebook", "gone", status="retired", mfa="none", owner=CARA)

    grants.add_grant(s, ALICE, "x:acme", "manage")
    grants.add_grant(s, BOB, "x:acme", "reveal")
    grants.add_grant(s, ALICE, "instagram:solo", "manage")
    grants.add_grant(s, BOB, "instagram:solo", "reveal", expires_at=t0 + timedelta(days=10))
    grants.add_grant(s, CARA, "youtube:legacy", "reveal")
    grants.add_grant(s, ALICE, "tiktok:codes", "manage")
    grants.add_grant(s, DEV, "tiktok:codes", "code-only")
    grants.add_grant(s, BOB, "tiktok:codes", "code-only")
    grants.revoke_grants(s, BOB, "tiktok:codes")
    grants.add_grant(s, ALICE, "linkedin:full", "manage")
    grants.add_grant(s, BOB, "linkedin:full", "platform-admin")

    for ref in ("x:acme", "instagram:solo", "tiktok:codes"):
        secrets.set_password(s, ref, f"pw-{ref}-123456")
    secrets.set_totp(s, "x:acme", SEED)
    secrets.add_recovery_codes(s, "x:acme", [f"acme-code-{i}" for i in range(10)])
    secrets.add_recovery_codes(s, "tiktok:codes", ["tt-1", "tt-2", "tt-3"])
    secrets.add_recovery_codes(s, "linkedin:full", ["li-1", "li-2"])
    for ref in ("tiktok:codes", "tiktok:codes", "linkedin:full", "linkedin:full"):
        secrets.use_recovery_code(s, ref)
    people.mark_leaving(s, CARA, (t0 + timedelta(days=30)).date())

    clock.advance(days=200)
    t1 = clock()
    secrets.reveal(s, "x:acme", "password", for_email=BOB)
    grants.add_grant(s, EVE, "x:acme", "code-only")
    offboarding.start_offboarding(s, DEV, on=(t1 + timedelta(days=10)).date())
    review.start_review(s, None, (t1 + timedelta(days=1)).date())
    clock.advance(days=2)
    return Org(s, clock, t0, t1)
