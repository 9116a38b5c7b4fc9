"""Build the synthetic organisation that scripts/bench measures.

The vault is real in every way that matters to the figures:

* created with ``services.session.create_vault`` and the REAL default Argon2id profile
  (``SMVAULT_INSECURE_TEST_KDF`` is removed from the environment first), so unlocking it costs
  what a user's unlock costs;
* people, operators, accounts, secrets and grants go through the store repositories, in big
  ``with session.atomic():`` batches;
* every log entry is a real chained, MACed entry appended with ``vault.log.append`` inside
  those transactions, with bodies shaped like the ones the services write (reveals and TOTP
  codes name the account, the recipient and the field).

The result lives in a cache directory::

    DIR/meta.json    generator version, sizes, chosen references, build time (written last)
    DIR/vault/       the vault directory (keyring.json + vault.db)
    DIR/anchors/     the local anchor written when the build session closed
    DIR/passphrase   the operator passphrase (synthetic data, not a secret)

A cache is reused only when meta.json says it was built by the same GENERATOR_VERSION with
the same sizes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import string
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

# Bump whenever the generated data changes shape: cached vaults with another version are rebuilt.
GENERATOR_VERSION = 6  # 6: built with schema v6 (break glass: workflow kinds, log_break_glass index)

PASSPHRASE = b"bench passphrase - synthetic data only"
OPERATOR = "admin"
BATCH = 10_000  # rows or log entries per transaction


@dataclass(frozen=True)
class Sizes:
    accounts: int
    people: int
    grants: int
    log: int
    operators: int
    heavy_grants: int = 500  # one person holding this many grants

    def as_dict(self) -> dict:
        return dict(self.__dict__)


LARGE = Sizes(accounts=5_000, people=2_000, grants=50_000, log=1_000_000, operators=10)
QUICK = Sizes(accounts=500, people=200, grants=5_000, log=50_000, operators=3)

PLATFORMS = ("facebook", "instagram", "x", "linkedin", "youtube", "tiktok", "threads", "pinterest")
BRANDS = ("acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne", "tyrell",
          "soylent", "cyberdyne", "wonka", "oscorp", "gringotts", "dunder")
REGIONS = ("uk", "de", "fr", "es", "it", "nl", "us", "ca", "br", "mx", "jp", "kr", "in", "au", "za")
TEAMS = ("social", "brand", "comms", "support", "growth", "agency-ops", "security", "legal")
LEVELS = ("code-only", "reveal", "manage", "platform-admin")
LEVEL_WEIGHTS = (30, 30, 15, 25)


class FakeClock:
    """A clock the builder moves forward: entries get plausible, increasing timestamps."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def ts(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")


def read_meta(cache: Path) -> dict | None:
    try:
        return json.loads((cache / "meta.json").read_text())
    except (OSError, ValueError):
        return None


def cache_matches(cache: Path, sizes: Sizes) -> bool:
    meta = read_meta(cache)
    return (
        meta is not None
        and meta.get("generator") == GENERATOR_VERSION
        and meta.get("sizes") == sizes.as_dict()
        and (cache / "vault" / "vault.db").is_file()
        and (cache / "vault" / "keyring.json").is_file()
    )


def _safe_to_wipe(cache: Path) -> bool:
    """Only wipe a directory that is empty or clearly one of ours."""
    if not cache.exists():
        return True
    entries = {p.name for p in cache.iterdir()}
    return not entries or entries <= {"meta.json", "vault", "anchors", "passphrase", "build.log"}


def build(cache: Path, sizes: Sizes, *, seed: int = 20240611, progress=print) -> dict:
    """Build the organisation into `cache` (wiping an older build there). Returns meta."""
    # Real default KDF: the unlock figures are only meaningful with it.
    os.environ.pop("SMVAULT_INSECURE_TEST_KDF", None)

    from smvault.domain.models import Level, PersonType
    from smvault.domain.otp import OtpParams
    from smvault.services.session import create_vault
    from smvault.store.kdf import DEFAULT_PROFILE
    from smvault.store.vault import add_operator_slot

    if not _safe_to_wipe(cache):
        raise SystemExit(f"refusing to wipe {cache}: it does not look like a bench cache")
    if cache.exists():
        shutil.rmtree(cache)
    cache.mkdir(parents=True)
    vault_dir, anchor_dir = cache / "vault", cache / "anchors"
    (cache / "passphrase").write_bytes(PASSPHRASE + b"\n")

    rng = random.Random(seed)
    real_now = datetime.now(timezone.utc).replace(microsecond=0)
    clock = FakeClock(real_now - timedelta(days=400))
    phases: dict[str, float] = {}
    t_all = time.perf_counter()

    # -- vault ----------------------------------------------------------------------------
    t = time.perf_counter()
    session = create_vault(
        vault_dir, OPERATOR, PASSPHRASE, email="admin@corp.example", person_name="Bench Admin",
        clock=clock, anchor_dir=anchor_dir, profile=None,
    )
    slot = session.vault.keyring.slots[OPERATOR]
    assert slot.profile == DEFAULT_PROFILE, f"expected the default KDF profile, got {slot.profile}"
    vault = session.vault
    log = vault.log
    phases["create vault (1 Argon2id slot)"] = time.perf_counter() - t

    operator_names = [OPERATOR]

    def record(action: str, op: str | None = None, step: float = 10.0, **fields) -> None:
        clock.advance(step)
        entry = {"ts": clock.ts(), "op": op or OPERATOR, "action": action}
        entry.update({k: v for k, v in fields.items() if v is not None})
        log.append(entry)

    # -- people ---------------------------------------------------------------------------
    t = time.perf_counter()
    people: list = [session.person]  # the admin is person 1
    types = (PersonType.EMPLOYEE,) * 16 + (PersonType.CONTRACTOR,) * 3 + (PersonType.AGENCY,)
    today = real_now.date()
    left_ids: set[int] = set()
    with session.atomic():
        for i in range(2, sizes.people + 1):
            email = f"p{i:05d}@corp.example" if i % 23 else f"p{i:05d}@agency-partner.example"
            manager = people[rng.randrange(min(len(people), 50))].id if rng.random() < 0.9 else None
            person = vault.people.add(
                f"Person {i:05d}", email, rng.choice(TEAMS), rng.choice(REGIONS), rng.choice(types),
                manager, clock.ts(),
            )
            people.append(person)
            record("person.add", person=person.id, detail={"email": email})
        # Leavers (4 %) and people leaving soon (2 %): offboarding has something to find.
        for person in people[sizes.operators:]:
            r = rng.random()
            if r < 0.04:
                on = today - timedelta(days=rng.randint(1, 300))
                left_ids.add(person.id)
            elif r < 0.06:
                on = today + timedelta(days=rng.randint(1, 60))
            else:
                continue
            vault.people.update(person.id, {"leave_on": on})
            record("person.leave", person=person.id, detail={"on": on.isoformat()})
    phases["people"] = time.perf_counter() - t

    # -- operators (each with a real Argon2id slot) ----------------------------------------
    t = time.perf_counter()
    operator_ids = [session.operator.id]
    for n in range(2, sizes.operators + 1):
        name = f"op{n:02d}"
        person = people[n - 1]
        with session.atomic():
            op = vault.operators.add(name, person.id, clock.ts())
            record("operator.add", person=person.id, detail={"operator": name})
            add_operator_slot(vault, name, PASSPHRASE + name.encode(), DEFAULT_PROFILE)
        operator_names.append(name)
        operator_ids.append(op.id)
    phases[f"operators ({sizes.operators - 1} more Argon2id slots)"] = time.perf_counter() - t
    operator_person_ids = {people[i].id for i in range(sizes.operators)}

    # -- accounts and secrets --------------------------------------------------------------
    t = time.perf_counter()
    accounts: list = []
    totp_accounts: set[int] = set()
    who_can_index = sizes.accounts // 2
    cli_index = sizes.accounts // 3
    pool = [p for p in people if p.id not in left_ids]
    mfa_choices = ("totp",) * 12 + ("sms",) * 3 + ("security-key",) + ("none",) + ("unknown",) * 3
    for start in range(0, sizes.accounts, BATCH):
        with session.atomic():
            for i in range(start, min(start + BATCH, sizes.accounts)):
                platform = PLATFORMS[i % len(PLATFORMS)]
                handle = f"{BRANDS[i % len(BRANDS)]}-{REGIONS[(i // 7) % len(REGIONS)]}-{i:05d}"
                r = rng.random()
                status = "active" if r < 0.90 else ("dormant" if r < 0.97 else "retired")
                mfa = rng.choice(mfa_choices)
                if i in (who_can_index, cli_index):
                    status, mfa = "active", "totp"
                fields: dict[str, object] = {
                    "url": f"https://{platform}.example/{handle}",
                    "brand": BRANDS[i % len(BRANDS)],
                    "region": REGIONS[(i // 7) % len(REGIONS)],
                    "business_unit": rng.choice(("consumer", "b2b", "careers", "support")),
                    "tier": rng.choice((0, 1, 1, 2, 2, 2, 3)),
                    "status": status,
                    "company_owned": rng.random() < 0.95,
                    "owner_id": rng.choice(pool).id,
                    "login_id": f"social+{handle}@corp.example" if rng.random() < 0.95 else None,
                    "mfa": mfa,
                }
                if rng.random() < 0.7:
                    fields["recovery_email"] = f"recovery+{i}@corp.example"
                    fields["recovery_email_controller_id"] = rng.choice(people).id
                if rng.random() < 0.4:
                    fields["recovery_phone"] = f"+44 7700 9{i:05d}"
                    fields["recovery_phone_controller_id"] = rng.choice(people).id
                seed_in_vault = mfa == "totp" and (rng.random() < 0.6 or i in (who_can_index, cli_index))
                if mfa == "totp" and not seed_in_vault:
                    fields["totp_holder_id"] = rng.choice(people).id
                fields = {k: v for k, v in fields.items() if v is not None}
                account = vault.accounts.add(platform, handle, fields, clock.ts())
                accounts.append(account)
                record("account.add", account=account.id, acct=account.key,
                       detail={k: v for k, v in fields.items() if k not in ("url",)})
                if rng.random() < 0.85 or i in (who_can_index, cli_index):
                    pw = "".join(rng.choice(string.ascii_letters + string.digits + "!#%&*+-")
                                 for _ in range(20))
                    vault.secrets.set_password(account.id, pw, clock.ts())
                    record("secret.password.set", account=account.id, acct=account.key,
                           detail={"generated": False})
                if seed_in_vault:
                    params = OtpParams(secret=rng.randbytes(20))
                    vault.secrets.set_totp(account.id, params, clock.ts())
                    totp_accounts.add(account.id)
                    record("secret.totp.set", account=account.id, acct=account.key,
                           detail={"kind": "totp", "algorithm": "SHA1", "digits": 6, "period": 30})
                if rng.random() < 0.3:
                    codes = [f"{rng.randrange(10**8):08d}" for _ in range(10)]
                    vault.secrets.add_recovery_codes(account.id, codes, clock.ts())
                    record("secret.recovery-codes.add", account=account.id, acct=account.key,
                           detail={"added": 10, "retired": 0})
    phases["accounts + secrets"] = time.perf_counter() - t

    # -- grants ----------------------------------------------------------------------------
    t = time.perf_counter()
    admin = people[0]
    heavy = next(p for p in people[sizes.operators:] if p.id not in left_ids)
    who_can_account = accounts[who_can_index]
    cli_account = accounts[cli_index]
    planned: list[tuple[int, int, str]] = []
    taken: set[tuple[int, int, str]] = set()

    def plan(person_id: int, account_id: int, level: str) -> bool:
        key = (person_id, account_id, level)
        if key in taken:
            return False
        taken.add(key)
        planned.append(key)
        return True

    # The admin manages 2 % of accounts, including the ones the bench uses.
    plan(admin.id, cli_account.id, "manage")
    plan(admin.id, who_can_account.id, "manage")
    for account in accounts[:: 50]:
        plan(admin.id, account.id, "manage")
    # One heavy holder: `heavy_grants` grants on distinct accounts.
    for account in rng.sample(accounts, min(sizes.heavy_grants, len(accounts))):
        plan(heavy.id, account.id, rng.choices(LEVELS, LEVEL_WEIGHTS)[0])
    others = [p for p in people if p.id not in (admin.id, heavy.id)]
    while len(planned) < sizes.grants:
        plan(rng.choice(others).id, rng.choice(accounts).id, rng.choices(LEVELS, LEVEL_WEIGHTS)[0])
    rng.shuffle(planned)

    granted: list[tuple[int, int, int, str]] = []  # (grant id, person, account, level)
    emails = {p.id: p.email for p in people}
    keys = {a.id: a.key for a in accounts}
    protected = {(admin.id, cli_account.id), (admin.id, who_can_account.id)}
    revoked = 0
    for start in range(0, len(planned), BATCH):
        with session.atomic():
            for person_id, account_id, level in planned[start:start + BATCH]:
                r = rng.random()
                expires = None
                if (person_id, account_id) not in protected:
                    if r < 0.05:  # expired: stops working by itself
                        expires = real_now - timedelta(days=rng.randint(1, 30))
                    elif r < 0.15:
                        expires = real_now + timedelta(days=rng.randint(30, 365))
                exp_ts = expires.strftime("%Y-%m-%dT%H:%M:%SZ") if expires else None
                by = rng.choice(operator_ids)
                reason = rng.choice(("campaign", "agency contract", "backup admin", "support rota", None))
                grant = vault.grants.add(person_id, account_id, Level(level), by, reason, exp_ts, clock.ts())
                record("grant.add", op=operator_names[operator_ids.index(by)], account=account_id,
                       acct=keys[account_id], person=person_id,
                       detail={"grant": grant.id, "level": level, "email": emails[person_id],
                               "expires": exp_ts, "reason": reason})
                if (person_id, account_id) not in protected and person_id != heavy.id and rng.random() < 0.04:
                    vault.grants.revoke(grant.id, by, clock.ts())
                    record("grant.revoke", op=operator_names[operator_ids.index(by)],
                           account=account_id, acct=keys[account_id], person=person_id,
                           detail={"grants": [grant.id], "levels": [level], "email": emails[person_id]})
                    revoked += 1
                else:
                    granted.append((grant.id, person_id, account_id, level))
    phases["grants"] = time.perf_counter() - t

    # -- the bulk of the log: disclosures --------------------------------------------------
    t = time.perf_counter()
    head = log.head().seq
    remaining = sizes.log - head
    if remaining < 0:
        raise SystemExit(f"the setup alone wrote {head} log entries, more than {sizes.log}")
    end = real_now - timedelta(days=1)
    step = max((end - clock.now).total_seconds() / max(remaining, 1), 0.0)
    disclosable = [g for g in granted if g[3] != "platform-admin"]
    op_people = {name: people[i] for i, name in enumerate(operator_names)}
    written = 0
    last_report = time.perf_counter()
    while written < remaining:
        with session.atomic():
            for _ in range(min(BATCH, remaining - written)):
                op = rng.choice(operator_names)
                r = rng.random()
                if r < 0.004:
                    record("vault.unlock", op=op, step=step)
                elif r < 0.0045:
                    record("log.checkpoint", op=op, step=step)
                else:
                    _, person_id, account_id, level = rng.choice(disclosable)
                    for_other = rng.random() < 0.5
                    to_id = person_id if for_other else op_people[op].id
                    if level == "code-only" or account_id in totp_accounts and rng.random() < 0.5:
                        action, field, detail = "totp.code", "code", {"kind": "totp"}
                    else:
                        field = rng.choices(("password", "totp-seed", "recovery-codes"), (80, 10, 10))[0]
                        action, detail = "secret.reveal", None
                    record(action, op=op, step=step, account=account_id, acct=keys[account_id],
                           to=to_id, to_email=emails[to_id], field=field,
                           **{"for": True if for_other else None}, detail=detail)
                written += 1
        if time.perf_counter() - last_report > 10:
            last_report = time.perf_counter()
            rate = written / (last_report - t)
            progress(f"  log: {head + written:,}/{sizes.log:,} entries "
                     f"({rate:,.0f}/s, ~{(remaining - written) / rate:.0f} s left)")
    phases["log entries (bulk disclosures)"] = time.perf_counter() - t
    assert log.head().seq == sizes.log, (log.head().seq, sizes.log)

    # -- settle: fold the WAL into the database, write the anchor, close -------------------
    t = time.perf_counter()
    vault.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = {
        table: vault.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("people", "operators", "accounts", "grants", "passwords", "totp_secrets",
                      "recovery_codes", "log")
    }
    session.close()  # moves the local anchor to the head of the log
    phases["checkpoint + close"] = time.perf_counter() - t

    # The person whose open grants are closest to 25 (not an operator, not a leaver).
    open_count: dict[int, int] = {}
    for _, person_id, _, _ in granted:
        open_count[person_id] = open_count.get(person_id, 0) + 1
    typical_id = min(
        (pid for pid in open_count if pid not in operator_person_ids and pid not in left_ids and pid != heavy.id),
        key=lambda pid: (abs(open_count[pid] - 25), pid),
    )
    build_seconds = time.perf_counter() - t_all
    meta = {
        "generator": GENERATOR_VERSION,
        "sizes": sizes.as_dict(),
        "seed": seed,
        "built_at": real_now.isoformat(),
        "build_seconds": round(build_seconds, 2),
        "phases": {k: round(v, 2) for k, v in phases.items()},
        "counts": counts,
        "revoked_grants": revoked,
        "operator": OPERATOR,
        "operators": operator_names,
        "who_can_account": who_can_account.key,
        "cli_account": cli_account.key,
        "typical_person": emails[typical_id],
        "typical_person_open_grants": open_count[typical_id],
        "heavy_person": heavy.email,
        "heavy_person_open_grants": open_count.get(heavy.id, 0),
        "db_bytes": (vault_dir / "vault.db").stat().st_size,
    }
    (cache / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build the synthetic bench vault")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    meta = build(args.dir, QUICK if args.quick else LARGE)
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
