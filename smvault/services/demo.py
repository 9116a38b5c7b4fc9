"""A realistic demo vault for a fictional company, built only through the services API.

Northwind Outfitters (northwind.example) is an invented outdoor-clothing company with ~120
social accounts across its brands and regions, ~60 people (employees, contractors and agency
staff) and a year of history. Every step goes through the same services the CLI and the TUI
call, so every change is in the access log, and the vault shows the problems smvault exists
to catch: a leaver who revealed passwords, a person who left still holding a grant, accounts
only one person could regain, a recovery email on a personal Gmail address, an expired grant,
accounts without MFA, passwords nobody rotated, recovery codes running low.

The story is told with a clock that starts about 14 months before `clock()` and moves forward
to it, so timestamps, rotation dates and expiries look lived-in. The build is deterministic
for a given seed and clock (only keys, salts and log MAC keys are random).

The passphrase is published: it only opens the demo. Both operators use it.
"""

from __future__ import annotations

import base64
import os
import random
import shutil
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from smvault.domain.clock import Clock, system_clock
from smvault.services import accounts, control, grants, operators, people, secrets
from smvault.services.session import Session, create_vault, unlock

DEMO_OPERATOR = "demo"
DEMO_PASSPHRASE = "demo-passphrase-not-secret"
SECOND_OPERATOR = "priya"  # the same published passphrase opens it

COMPANY = "Northwind Outfitters"
DOMAIN = "northwind.example"

DEMO_OPERATOR_EMAIL = f"demo.operator@{DOMAIN}"
SECOND_OPERATOR_EMAIL = f"priya.raman@{DOMAIN}"
HEAD_OF_SOCIAL_EMAIL = f"helen.achebe@{DOMAIN}"
LEAVER_EMAIL = f"marcus.hale@{DOMAIN}"  # leaves three days after the build's clock
LEFT_EMAIL = f"jonas.weber@{DOMAIN}"  # left three weeks ago, still holds grants
PERSONAL_RECOVERY_EMAIL = "tyler.brooks.swims@gmail.com"  # deliberately personal

# Accounts the scripted tour (scripts/demo) shows; the tests check each still fits its role.
TOUR = {
    "interesting": "facebook:tidewaterswim",  # personal Gmail recovery, no MFA, stale password
    "single_controller": "youtube:northwindtrail",  # only the leaver could regain it
    "healthy": "instagram:northwind",
    "totp": "instagram:northwind",
    "expired_grants": "instagram:tidewaterswim",  # the agency's spring-campaign grants
    "leaver": LEAVER_EMAIL,
    "left": LEFT_EMAIL,
}

_BUILD_SPAN_DAYS = 420


# --- the story clock -----------------------------------------------------------------------


class _StoryClock:
    """Moves forward only, never past `end` (the caller's now)."""

    def __init__(self, end: datetime, rng: random.Random) -> None:
        self.end = end
        self.now = end - timedelta(days=_BUILD_SPAN_DAYS)
        self._rng = rng

    def __call__(self) -> datetime:
        return self.now

    def days_before_end(self, days: float) -> None:
        self.now = min(self.end, max(self.now, self.end - timedelta(days=days)))

    def tick(self, low: int = 1, high: int = 12) -> None:
        self.now = min(self.end, self.now + timedelta(minutes=self._rng.randint(low, high),
                                                      seconds=self._rng.randint(0, 59)))


# --- people --------------------------------------------------------------------------------

_FIRST = (
    "Aisha", "Ben", "Chloé", "Daniel", "Elif", "Fatima", "Gabriel", "Hana", "Inés", "Jack",
    "Kofi", "Lena", "Mateo", "Nadia", "Olivia", "Pavel", "Quinn", "Rosa", "Samir", "Tessa",
    "Umar", "Valentina", "Wei", "Ximena", "Yusuf", "Zoë", "Amara", "Bruno", "Clara", "Diego",
    "Emma", "Farid", "Greta", "Hugo", "Isla", "Javier", "Keiko", "Liam", "Maya", "Noah",
    "Omar", "Rahul", "Sofia", "Tomás", "Uma", "Viktor", "Yara", "Zainab", "Lars", "Mei",
    "Nikhil", "Ana", "Erik", "Freya", "Henrik", "Ingrid", "Joon", "Leila", "Mina", "Sean",
)
_LAST = (
    "Adeyemi", "Bauer", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Haddad", "Ito",
    "Jansen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okonkwo", "Petrov", "Quispe",
    "Rossi", "Silva", "Tanaka", "Ueda", "Varga", "Wójcik", "Xu", "Yılmaz", "Zhang", "Novak",
    "Costa", "Andersson", "Brennan", "Chen", "Dimitrov", "Evans", "Ferreira", "Gupta", "Horvat",
    "Iyer", "Johansson", "Kim", "López", "Murphy", "Nguyen", "O'Connor", "Park", "Romano",
    "Schmidt", "Torres", "Vogel", "Walsh", "Mensah",
)
_AGENCIES = (("Brightline Social", "brightline-social.example"), ("Kestrel Creative", "kestrel-creative.example"))
_CONTRACTOR_DOMAIN = "fieldnotes-studio.example"
_REGIONS = ("EMEA", "AMER", "APAC")


@dataclass
class _Person:
    name: str
    email: str
    team: str | None
    region: str | None
    type: str = "employee"
    manager: str | None = None


def _local_part(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return ".".join("".join(c for c in part.lower() if c.isalnum()) for part in ascii_name.split())


def _fixed_people() -> list[_Person]:
    d = DOMAIN
    return [
        _Person("Priya Raman", SECOND_OPERATOR_EMAIL, "Social Governance", "Global"),
        _Person("Helen Achebe", HEAD_OF_SOCIAL_EMAIL, "Social Media", "Global"),
        _Person("Marcus Hale", LEAVER_EMAIL, "Social Media", "EMEA", manager=HEAD_OF_SOCIAL_EMAIL),
        _Person("Camila Reyes", f"camila.reyes@{d}", "Social Media", "AMER", manager=HEAD_OF_SOCIAL_EMAIL),
        _Person("Kenji Sato", f"kenji.sato@{d}", "Social Media", "APAC", manager=HEAD_OF_SOCIAL_EMAIL),
        _Person("Jonas Weber", LEFT_EMAIL, "Social Media", "EMEA", manager=LEAVER_EMAIL),
        _Person("Tyler Brooks", f"tyler.brooks@{d}", "Social Media", "AMER", manager=f"camila.reyes@{d}"),
        _Person("Ava Lindqvist", f"ava.lindqvist@{_AGENCIES[0][1]}", _AGENCIES[0][0], "EMEA", "agency"),
        _Person("Oscar Mensah", f"oscar.mensah@{_AGENCIES[1][1]}", _AGENCIES[1][0], "AMER", "agency"),
    ]


_LEADS = {"EMEA": LEAVER_EMAIL, "AMER": f"camila.reyes@{DOMAIN}", "APAC": f"kenji.sato@{DOMAIN}"}

# (team, how many, regional?) for employees drawn at random
_EMPLOYEE_TEAMS = (
    ("Social Media", 16, True),
    ("Communications", 5, False),
    ("Customer Care", 5, True),
    ("Brand Studio", 4, False),
    ("E-commerce", 3, True),
    ("Talent Acquisition", 2, False),
    ("Security & IT", 2, False),
)


def _random_people(rng: random.Random, taken: set[str]) -> list[_Person]:
    names = [(f, l) for f in _FIRST for l in _LAST]
    rng.shuffle(names)
    pool = iter(names)

    def fresh(domain: str, suffix: str = "") -> tuple[str, str]:
        for first, last in pool:
            if first in ("Marcus", "Priya") or last in ("Hale", "Raman"):
                continue
            email = f"{_local_part(first)}.{_local_part(last)}{suffix}@{domain}"
            if email not in taken:
                taken.add(email)
                return f"{first} {last}", email
        raise RuntimeError("name pool exhausted")

    result: list[_Person] = []
    for team, count, regional in _EMPLOYEE_TEAMS:
        for i in range(count):
            region = _REGIONS[i % 3] if regional else "Global"
            name, email = fresh(DOMAIN)
            manager = _LEADS[region] if team == "Social Media" else None
            result.append(_Person(name, email, team, region, "employee", manager))
    for i in range(7):  # freelance content creators and community moderators
        region = _REGIONS[i % 3]
        if i % 2:
            name, email = fresh(DOMAIN, ".ext")
        else:
            name, email = fresh(_CONTRACTOR_DOMAIN)
        result.append(_Person(name, email, "Social Media (contract)", region, "contractor", _LEADS[region]))
    for (agency, domain), count in zip(_AGENCIES, (6, 4)):
        for i in range(count):
            name, email = fresh(domain)
            result.append(_Person(name, email, agency, _REGIONS[i % 3], "agency"))
    return result


# --- accounts ------------------------------------------------------------------------------


@dataclass
class _Acct:
    platform: str
    handle: str
    brand: str
    region: str
    unit: str
    tier: int
    owner: str | None = None
    status: str = "active"
    company_owned: bool = True
    login_id: str | None = None
    recovery_email: str | None = None
    recovery_email_controller: str | None = None
    recovery_phone: str | None = None
    recovery_phone_controller: str | None = None
    mfa: str = "unknown"
    totp_holder: str | None = None
    notes: str | None = None
    # What the vault gets, and who else holds what:
    password: bool = True
    overdue: bool = False  # set about 13 months ago and never rotated
    totp: str | None = None  # b32-80 | b32-160 | sha256 | steam | hotp
    codes: int = 0
    codes_used: int = 0
    custodian: bool = True  # the demo operator manages it in the vault
    grants: list[tuple[str, str]] = field(default_factory=list)  # (email, level), open-ended

    @property
    def ref(self) -> str:
        return f"{self.platform}:{self.handle}"

    def fields(self) -> dict[str, object]:
        return {
            "brand": self.brand, "region": self.region, "business_unit": self.unit,
            "tier": self.tier, "status": self.status, "company_owned": self.company_owned,
            "owner": self.owner, "login_id": self.login_id, "recovery_email": self.recovery_email,
            "recovery_email_controller": self.recovery_email_controller,
            "recovery_phone": self.recovery_phone,
            "recovery_phone_controller": self.recovery_phone_controller,
            "mfa": self.mfa, "totp_holder": self.totp_holder, "notes": self.notes,
        }


def _fixed_accounts(care_lead: str) -> list[_Acct]:
    d = DOMAIN
    helen, priya, camila, kenji = HEAD_OF_SOCIAL_EMAIL, SECOND_OPERATOR_EMAIL, _LEADS["AMER"], _LEADS["APAC"]
    marcus, tyler, ava = LEAVER_EMAIL, f"tyler.brooks@{d}", f"ava.lindqvist@{_AGENCIES[0][1]}"
    rec = f"social-recovery@{d}"
    corp = dict(brand="Northwind", region="Global", unit="Corporate Communications", tier=0, owner=helen)
    return [
        _Acct("instagram", "northwind", **corp, login_id=f"social-global@{d}", recovery_email=rec,
              recovery_email_controller=helen, mfa="totp", totp="b32-160", codes=10, codes_used=1,
              grants=[(priya, "manage"), (helen, "platform-admin"), (camila, "reveal"),
                      (marcus, "reveal"), (ava, "code-only")]),
        _Acct("facebook", "northwindoutfitters", **corp, password=False, mfa="security-key",
              notes="Page lives in the Northwind business portfolio; no shared login. "
                    "[Meta: keep 2+ full-control admins]",
              grants=[(helen, "platform-admin"), (priya, "platform-admin"), (marcus, "platform-admin")]),
        _Acct("x", "northwind", **corp, login_id=f"social-global@{d}", recovery_email=rec,
              recovery_email_controller=helen, mfa="totp", totp="b32-80", codes=5,
              grants=[(priya, "manage"), (camila, "reveal"), (ava, "code-only")]),
        _Acct("linkedin", "northwind-outfitters", **corp, password=False, mfa="unknown",
              notes="Company page; super admins only, no shared login.",
              grants=[(helen, "platform-admin"), (marcus, "platform-admin")]),
        _Acct("youtube", "northwindoutfitters", **corp, login_id=f"brand-youtube@{d}", recovery_email=rec,
              recovery_email_controller=helen, mfa="totp", totp="b32-160", codes=10, codes_used=8,
              notes="Brand account; primary owner is the shared login.",
              grants=[(priya, "manage"), (helen, "platform-admin")]),
        _Acct("tiktok", "northwind", **corp, login_id=f"social-global@{d}", mfa="totp", totp="b32-80",
              recovery_phone="+1 202-555-0142", recovery_phone_controller=camila,
              grants=[(priya, "manage"), (ava, "code-only")]),
        _Acct("x", "northwindhelp", "Northwind", "Global", "Customer Care", 1, owner=care_lead,
              login_id=f"care-social@{d}", recovery_email=rec, recovery_email_controller=helen,
              mfa="totp", totp="sha256", grants=[(priya, "manage")]),
        _Acct("facebook", "northwindhelp", "Northwind", "Global", "Customer Care", 1,
              login_id=f"care-social@{d}", mfa="sms", recovery_phone="+1 202-555-0117",
              recovery_phone_controller=camila, overdue=True, grants=[(priya, "reveal")]),
        _Acct("linkedin", "northwind-careers", "Northwind", "Global", "Talent Acquisition", 1,
              login_id=f"talent-social@{d}", mfa="totp", totp="b32-80", codes=10, codes_used=9,
              grants=[(priya, "manage")]),
        _Acct("instagram", "lifeatnorthwind", "Northwind", "Global", "Talent Acquisition", 2,
              login_id=f"talent-social@{d}", mfa="none", overdue=True),
        # The leaver's channel: TOTP only on his phone, recovery on his own mailbox.
        _Acct("youtube", "northwindtrail", "Northwind Trail", "EMEA", "Outdoor", 1, owner=marcus,
              login_id=f"trail-video@{d}", recovery_email=marcus, recovery_email_controller=marcus,
              mfa="totp", totp_holder=marcus, overdue=True,
              notes="Authenticator enrolled on Marcus's phone during the 2024 relaunch.",
              grants=[(priya, "manage"), (marcus, "reveal")]),
        _Acct("instagram", "nwtrail", "Northwind Trail", "Global", "Outdoor", 1, owner=marcus,
              login_id=f"trail-social@{d}", recovery_email=rec, recovery_email_controller=helen,
              mfa="totp", totp="b32-160", codes=10, codes_used=2,
              grants=[(priya, "manage"), (marcus, "reveal"), (marcus, "platform-admin")]),
        _Acct("tiktok", "nwtrail", "Northwind Trail", "Global", "Outdoor", 2, owner=marcus,
              login_id=f"trail-social@{d}", mfa="totp", totp="b32-80", grants=[(marcus, "reveal")]),
        # Personal Gmail as the recovery address, no MFA, a password from last year.
        _Acct("facebook", "tidewaterswim", "Tidewater Swim", "AMER", "Swim", 2, owner=tyler,
              login_id=f"tidewater-social@{d}", recovery_email=PERSONAL_RECOVERY_EMAIL,
              recovery_email_controller=tyler, mfa="none", overdue=True,
              notes="Set up by Tyler before Tidewater moved in-house; recovery still on his Gmail.",
              grants=[(tyler, "reveal")]),
        _Acct("instagram", "tidewaterswim", "Tidewater Swim", "AMER", "Swim", 2, owner=tyler,
              login_id=f"tidewater-social@{d}", mfa="totp", totp="b32-80", codes=8, codes_used=6,
              grants=[(tyler, "reveal"), (camila, "platform-admin")]),
        _Acct("instagram", "northwindkids", "Northwind Kids", "Global", "Kids", 2, owner=camila,
              login_id=f"kids-social@{d}", mfa="sms", recovery_phone="+1 202-555-0188",
              recovery_phone_controller=camila),
        _Acct("instagram", "nwsummit2023", "Northwind Trail", "EMEA", "Outdoor", 3, status="dormant",
              login_id=f"trail-social@{d}", mfa="none", overdue=True,
              notes="[campaign] Summit 2023 launch; keep the handle, nothing posted since."),
        _Acct("x", "tidewaterlaunch22", "Tidewater Swim", "AMER", "Swim", 3, status="retired",
              login_id=f"tidewater-social@{d}", mfa="none", overdue=True),
        _Acct("facebook", "northwindblackfriday", "Northwind", "AMER", "E-commerce", 3, status="dormant",
              login_id=f"ecom-social@{d}", mfa="sms", recovery_phone="+1 202-555-0163",
              recovery_phone_controller=kenji, overdue=True),
        _Acct("tiktok", "nwtrail.challenge", "Northwind Trail", "APAC", "Outdoor", 3, status="retired",
              password=False, custodian=False, notes="Run by the agency for the 2022 challenge."),
        _Acct("youtube", "northwindtv-legacy", "Northwind", "Global", "Corporate Communications", 3,
              status="retired", password=False, notes="[legacy] imported from the 2019 spreadsheet"),
        _Acct("x", "northwind_jp_old", "Northwind", "APAC", "Regional Marketing", 3, status="dormant",
              login_id=f"social-jp@{d}", mfa="unknown", overdue=True, owner=kenji),
        _Acct("other", "northwind-steam", "Northwind Trail", "Global", "Outdoor", 3,
              login_id=f"games-partner@{d}", mfa="totp", totp="steam",
              notes="Steam partner account for the Trail Tycoon game collaboration (Steam Guard)."),
        _Acct("other", "press-wire-portal", "Northwind", "Global", "Corporate Communications", 2,
              login_id=f"press@{d}", mfa="totp", totp="hotp",
              notes="Press-release wire portal; counter-based (HOTP) token.", grants=[(helen, "reveal")]),
    ]


_MARKETS = {
    "AMER": ("us", "ca", "mx", "br"),
    "EMEA": ("uk", "de", "fr", "nl", "es", "nordics"),
    "APAC": ("au", "jp", "sg", "in"),
}
_BIG_MARKETS = ("us", "uk", "de", "jp", "au")
# brand, handle stem, business unit, markets, platforms
_BRANDS = (
    ("Northwind", "northwind", "Regional Marketing",
     ("uk", "de", "fr", "nl", "es", "nordics", "us", "ca", "mx", "br", "au", "jp", "sg", "in"),
     ("facebook", "instagram", "x", "linkedin", "youtube", "tiktok")),
    ("Northwind Trail", "nwtrail", "Outdoor", ("uk", "de", "fr", "nordics", "us", "ca", "au", "jp"),
     ("facebook", "instagram", "youtube", "tiktok")),
    ("Tidewater Swim", "tidewater", "Swim", ("uk", "es", "fr", "us", "br", "mx", "au"),
     ("facebook", "instagram", "tiktok")),
    ("Northwind Kids", "nwkids", "Kids", ("uk", "de", "us", "au"), ("facebook", "instagram")),
)
# Always present: the tour and the two named people rely on them.
_FORCED = {("northwind", "de", "instagram"), ("northwind", "de", "facebook"),
           ("northwind", "uk", "instagram"), ("northwind", "uk", "x"), ("tidewater", "us", "tiktok"),
           ("northwind", "us", "tiktok"), ("nwtrail", "au", "tiktok")}
_REGIONAL_COUNT = 96


def _handle(platform: str, stem: str, market: str) -> str:
    if platform == "instagram" or platform == "tiktok":
        return f"{stem}.{market}"
    if platform == "x":
        return f"{stem}_{'nord' if market == 'nordics' else market}"
    if platform == "linkedin":
        return f"{stem}-{market}"
    return f"{stem}{market}"


def _region_of(market: str) -> str:
    return next(region for region, markets in _MARKETS.items() if market in markets)


def _phone(rng: random.Random, region: str) -> str:
    # Numbers reserved for fiction: NANP 555-01xx, Ofcom 07700 900xxx.
    if region == "AMER":
        return f"+1 202-555-01{rng.randrange(100):02d}"
    return f"+44 7700 900{rng.randrange(1000):03d}"


def _regional_accounts(rng: random.Random, staff: dict[str, list[_Person]]) -> list[_Acct]:
    candidates = [(brand, stem, unit, market, platform)
                  for brand, stem, unit, markets, platforms in _BRANDS
                  for market in markets for platform in platforms]
    forced = [c for c in candidates if (c[1], c[3], c[4]) in _FORCED]
    rest = [c for c in candidates if (c[1], c[3], c[4]) not in _FORCED]
    chosen = set(forced) | set(rng.sample(rest, _REGIONAL_COUNT - len(forced)))
    result = []
    for brand, stem, unit, market, platform in (c for c in candidates if c in chosen):
        region = _region_of(market)
        social = [p.email for p in staff[region]]
        agency = [p.email for p in staff["agency"]]
        lead = _LEADS[region]
        if stem == "northwind" and market in _BIG_MARKETS:
            tier = 1
        else:
            tier = 3 if market in ("sg", "in", "nl", "mx") else 2
        acct = _Acct(platform, _handle(platform, stem, market), brand, region, unit, tier,
                     owner=rng.choice([lead, lead, *social]))
        roll = rng.random()
        acct.status = "dormant" if roll < 0.05 else "active"
        # Meta pages are run through the business portfolio: often no shared login at all.
        if platform == "facebook" and rng.random() < 0.5:
            acct.login_id, acct.password = None, False
        else:
            acct.login_id = f"social-{market}@{DOMAIN}"
            acct.password = rng.random() < 0.93
            acct.overdue = acct.password and rng.random() < 0.25
        if rng.random() < 0.55:
            acct.recovery_email = f"social-recovery-{region.lower()}@{DOMAIN}"
            acct.recovery_email_controller = rng.choice([lead, *social[:2]])
        mfa = rng.random()
        if acct.login_id is None:
            acct.mfa = "security-key" if mfa < 0.5 else "unknown"
        elif mfa < 0.60:
            acct.mfa = "totp"
            kind = rng.random()
            if kind < 0.12:
                acct.totp_holder = rng.choice(social)  # seed on one phone, not in the vault
            else:
                acct.totp = "b32-80" if kind < 0.5 else ("sha256" if kind < 0.58 else "b32-160")
        elif mfa < 0.75:
            acct.mfa = "sms"
            acct.recovery_phone = _phone(rng, region)
            acct.recovery_phone_controller = rng.choice(social)
        elif mfa < 0.82:
            acct.mfa = "security-key"
        elif mfa < 0.92:
            acct.mfa = "none"
        if acct.mfa in ("totp", "security-key", "sms") and acct.password and rng.random() < (
                0.6 if acct.mfa == "sms" else 0.35):
            acct.codes = rng.choice((8, 10, 10, 16))
            acct.codes_used = rng.choice((0, 0, 0, 1, 2, 2, 3, acct.codes - 2, acct.codes - 1))
        if platform == "tiktok" and rng.random() < 0.25:
            acct.custodian = False  # the agency keeps the login; the vault only records it
            acct.password, acct.overdue, acct.totp = False, False, None
            acct.mfa = "unknown" if acct.mfa == "totp" else acct.mfa
            acct.totp_holder = None
            acct.codes = acct.codes_used = 0
            acct.notes = "Login held by the agency; the vault records who can get in."
        # Grants beyond the custodian's.
        if platform in ("facebook", "instagram", "linkedin", "youtube"):
            # Pages without a shared login are only reachable through their admins.
            admins = (1, 2, 2, 3) if acct.login_id is None else (0, 1, 1, 2)
            for email in rng.sample(social, rng.choice(admins)):
                acct.grants.append((email, "platform-admin"))
        if acct.password:
            others = [e for e in social if e != LEAVER_EMAIL]
            for email in rng.sample(others, rng.choice((0, 1, 1, 2))):
                acct.grants.append((email, "reveal"))
            if region == "EMEA" and rng.random() < 0.15:
                acct.grants.append((LEAVER_EMAIL, "reveal"))
        if platform in ("tiktok", "instagram") and (acct.totp or not acct.custodian):
            level = "code-only" if acct.custodian else "platform-admin"
            for email in rng.sample(agency, rng.choice((0, 1, 2))):
                acct.grants.append((email, level))
        if tier <= 1 and acct.custodian:
            acct.grants.append((SECOND_OPERATOR_EMAIL, "manage"))
        elif acct.custodian and acct.password and rng.random() < 0.35:
            acct.grants.append((SECOND_OPERATOR_EMAIL, "reveal"))
        acct.grants = list(dict.fromkeys(acct.grants))
        result.append(acct)
    return result


# --- secrets -------------------------------------------------------------------------------


def _password(rng: random.Random) -> str:
    alphabet = secrets.PASSWORD_ALPHABET
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(20))
        if (any(c.islower() for c in value) and any(c.isupper() for c in value)
                and any(c.isdigit() for c in value) and any(not c.isalnum() for c in value)):
            return value


def _b32(rng: random.Random, n: int) -> str:
    return base64.b32encode(rng.randbytes(n)).decode().rstrip("=")


def _totp_text(rng: random.Random, acct: _Acct) -> str:
    issuer = acct.platform.capitalize() if acct.platform != "x" else "X"
    if acct.totp == "b32-80":
        return _b32(rng, 10)  # 16 characters: what many services issue (pyotp refuses them)
    if acct.totp == "b32-160":
        return _b32(rng, 20)
    if acct.totp == "sha256":
        return (f"otpauth://totp/{issuer}:{acct.handle}?secret={_b32(rng, 32)}&issuer={issuer}"
                f"&algorithm=SHA256&digits={rng.choice((6, 8))}&period=30")
    if acct.totp == "steam":
        return f"steam://{_b32(rng, 10)}"
    if acct.totp == "hotp":
        return f"otpauth://hotp/PressWire:{acct.handle}?secret={_b32(rng, 20)}&issuer=PressWire&counter=41"
    raise ValueError(acct.totp)


def _codes(rng: random.Random, n: int) -> list[str]:
    return [f"{rng.randrange(10**4):04d}-{rng.randrange(10**4):04d}" for _ in range(n)]


# --- the build -----------------------------------------------------------------------------


def build_demo(
    directory: Path, *, anchor_dir: Path | None = None, clock: Clock = system_clock, seed: int = 7
) -> dict[str, int]:
    """Build the demo vault in `directory` (which must be empty or absent); returns counts."""
    directory = Path(directory)
    rng = random.Random(seed)
    story = _StoryClock(clock(), rng)
    session = create_vault(
        directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), email=DEMO_OPERATOR_EMAIL,
        person_name="Demo Operator", clock=story, anchor_dir=anchor_dir,
    )
    try:
        try:
            _build(session, story, rng)
        finally:
            session.close()
        # The last days are told by the second operator, so the log shows two of them.
        session = unlock(directory, SECOND_OPERATOR, DEMO_PASSPHRASE.encode(), clock=story,
                         anchor_dir=anchor_dir)
        try:
            _last_days(session, story)
            story.days_before_end(0)
            return summary(session)
        finally:
            session.close()
    except BaseException:
        _discard(directory)
        raise


def is_demo_vault(directory: Path) -> bool:
    """A vault whose operators are exactly the demo's: the only kind `demo` may reuse."""
    from smvault.services.vaults import operator_names

    return sorted(operator_names(directory)) == sorted((DEMO_OPERATOR, SECOND_OPERATOR))


def _discard(directory: Path) -> None:
    """A half-built demo is useless and would block the next attempt: remove what we wrote."""
    if directory.is_dir():
        for entry in directory.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        os.rmdir(directory)


def summary(session: Session) -> dict[str, int]:
    return {
        "people": len(people.list_people(session)),
        "operators": len(operators.list_operators(session)),
        "accounts": len(accounts.list_accounts(session)),
        "grants": len(grants.list_grants(session)),
        "log_entries": session.vault.log.count(),
        "below_two_controllers": len(control.under_controlled(session)),
    }


_REASONS = {"manage": "Vault custodian / social governance", "platform-admin": "Admin role on the platform",
            "reveal": "Posting and community management", "code-only": "Agency posting"}


def _build(session: Session, story: _StoryClock, rng: random.Random) -> None:
    fixed = _fixed_people()
    taken = {p.email for p in fixed} | {DEMO_OPERATOR_EMAIL}
    others = _random_people(rng, taken)
    everyone = fixed + others
    staff: dict[str, list[_Person]] = {r: [] for r in _REGIONS}
    staff["agency"] = []
    for p in everyone:
        if p.team and p.team.startswith("Social Media") and p.region in staff and p.email != LEFT_EMAIL:
            staff[p.region].append(p)
        if p.type == "agency":
            staff["agency"].append(p)
    care_lead = next(p.email for p in everyone if p.team == "Customer Care")
    accts = _fixed_accounts(care_lead) + _regional_accounts(rng, staff)
    by_ref = {a.ref: a for a in accts}
    # Kestrel Creative comes on board later; everyone else is there from the start.
    later = [p for p in everyone if p.email.endswith("@" + _AGENCIES[1][1])]
    founding = [p for p in everyone if p not in later]

    def add_people(batch: list[_Person]) -> None:
        for p in batch:
            people.add_person(session, p.name, p.email, p.team, p.region, p.type, p.manager)
            story.tick(2, 30)

    # Fourteen months ago: the inventory is typed in from the old spreadsheet, passwords and all.
    with session.atomic():
        people.update_person(session, DEMO_OPERATOR_EMAIL, team="Security & IT Governance", region="Global")
        add_people(founding)
    story.days_before_end(_BUILD_SPAN_DAYS - 2)
    # (Nobody manages an account yet, so the operator may store its password: see policy.)
    with session.atomic():
        for a in accts:
            accounts.add_account(session, a.platform, a.handle, **a.fields())
            story.tick(1, 6)
            if a.password:
                secrets.set_password(session, a.ref, _password(rng))
                story.tick(1, 4)

    # The second operator joins, Kestrel Creative comes on board, the access review hands out
    # lasting grants. The custodian's 'manage' goes in before anyone else's: after that,
    # changing an account's grants needs 'manage' on it.
    story.days_before_end(300)
    operators.add_operator(session, SECOND_OPERATOR, DEMO_PASSPHRASE.encode(), email=SECOND_OPERATOR_EMAIL)
    with session.atomic():
        add_people(later)
        for a in accts:
            planned = [(e, lvl) for e, lvl in a.grants if lvl != "manage"]
            if a.custodian:
                planned.append((DEMO_OPERATOR_EMAIL, "manage"))
            planned += [(e, lvl) for e, lvl in a.grants if lvl == "manage"]
            for email, level in planned:
                grants.add_grant(session, email, a.ref, level, reason=_REASONS[level])
                story.tick(1, 5)

    # Jonas, community manager for Germany, gets his access; TOTP and recovery codes go in.
    story.days_before_end(200)
    de_insta, de_page = "instagram:northwind.de", "facebook:northwindde"
    with session.atomic():
        grants.add_grant(session, LEFT_EMAIL, de_insta, "reveal", reason="Community management DACH")
        grants.add_grant(session, LEFT_EMAIL, de_page, "platform-admin", reason="Page admin DACH")
        for a in accts:
            if a.totp:
                secrets.set_totp(session, a.ref, _totp_text(rng, a))
                story.tick(1, 20)
            if a.codes:
                secrets.add_recovery_codes(session, a.ref, _codes(rng, a.codes))
                story.tick(1, 20)
        if by_ref[de_insta].password:
            secrets.reveal(session, de_insta, "password", for_email=LEFT_EMAIL)
    # Over the following weeks, logins on new devices eat into the recovery codes.
    with session.atomic():
        for a in accts:
            for _ in range(a.codes_used):
                secrets.use_recovery_code(session, a.ref)
                story.tick(20, 480)

    # A spring campaign with Kestrel Creative: time-boxed grants that have since expired.
    story.days_before_end(150)
    kestrel = [p.email for p in staff["agency"] if p.email.endswith(_AGENCIES[1][1])]
    campaign = [by_ref[TOUR["expired_grants"]]] + [
        a for a in accts if a.platform in ("tiktok", "instagram") and a.totp and a.custodian
        and a.region == "AMER" and a.status == "active" and a.ref != TOUR["expired_grants"]][:2]
    contractor = next(p.email for p in others if p.type == "contractor")
    with session.atomic():
        ends = story.now + timedelta(days=90)
        for a in campaign:
            for email in kestrel[:2]:
                if (email, "code-only") not in a.grants:
                    grants.add_grant(session, email, a.ref, "code-only", expires_at=ends,
                                     reason="Spring campaign (Kestrel Creative)")
                    story.tick(1, 5)
        reveal_target = next(a for a in accts if a.password and a.custodian and a.region == "AMER"
                             and (contractor, "reveal") not in a.grants and a.status == "active")
        grants.add_grant(session, contractor, reveal_target.ref, "reveal", reason="Holiday cover")
        story.tick(60, 600)
        for a in campaign:
            for email in kestrel[:2]:
                secrets.totp_code(session, a.ref, for_email=email)
                story.tick(30, 900)

    # Rotations: most passwords get a new value; about a quarter keep last year's.
    story.days_before_end(100)
    with session.atomic():
        for a in accts:
            if a.password and not a.overdue and a.status != "retired":
                secrets.set_password(session, a.ref, _password(rng))
                story.tick(1, 15)

    # Offboarding slips: the holiday cover is revoked, Jonas leaves but keeps his grants.
    story.days_before_end(45)
    with session.atomic():
        grants.revoke_grants(session, contractor, reveal_target.ref)
        people.mark_leaving(session, LEFT_EMAIL, story.end.date() - timedelta(days=21))

    # Ordinary weeks: live codes for the agencies, password reveals for the social team.
    story.days_before_end(40)
    with session.atomic():
        _everyday_use(session, story, rng, accts)

    # The leaver's last weeks: what he learned is what must be rotated.
    story.days_before_end(14)
    with session.atomic():
        marcus = [a for a in accts if (LEAVER_EMAIL, "reveal") in a.grants]
        with_password = [a for a in marcus if a.password]
        for a in with_password[:3]:
            secrets.reveal(session, a.ref, "password", for_email=LEAVER_EMAIL)
            story.tick(30, 600)
        seeded = [a for a in marcus if a.totp in ("b32-80", "b32-160", "sha256")]
        if seeded:
            secrets.reveal(session, seeded[-1].ref, "totp-seed", for_email=LEAVER_EMAIL)
        for a in seeded[:2]:
            secrets.totp_code(session, a.ref, for_email=LEAVER_EMAIL)
            story.tick(30, 600)
        with_codes = [a for a in marcus if a.codes and a.codes > a.codes_used + 1]
        if with_codes:
            secrets.use_recovery_code(session, with_codes[0].ref, for_email=LEAVER_EMAIL)


def _everyday_use(session: Session, story: _StoryClock, rng: random.Random, accts: list[_Acct]) -> None:
    for a in accts:
        if a.status != "active" or not a.custodian:
            continue
        for email, level in a.grants:
            if email in (LEAVER_EMAIL, SECOND_OPERATOR_EMAIL):
                continue
            if level == "code-only" and a.totp and rng.random() < 0.6:
                for _ in range(rng.randint(1, 3)):
                    secrets.totp_code(session, a.ref, for_email=email)
                    story.tick(20, 300)
            elif level == "reveal" and a.password and rng.random() < 0.3:
                secrets.reveal(session, a.ref, "password", for_email=email)
                story.tick(20, 300)


def _last_days(session: Session, story: _StoryClock) -> None:
    """Priya, the second operator: HR's notice about Marcus, and a handover reveal."""
    story.days_before_end(2)
    with session.atomic():
        people.mark_leaving(session, LEAVER_EMAIL, story.end.date() + timedelta(days=3))
        story.tick(10, 60)
        secrets.reveal(session, TOUR["healthy"], "password", for_email=LEAVER_EMAIL)
        story.tick(10, 60)
        grants.add_grant(session, _LEADS["AMER"], TOUR["single_controller"], "reveal",
                         expires_at=story.end + timedelta(days=30), reason="Handover from Marcus")
