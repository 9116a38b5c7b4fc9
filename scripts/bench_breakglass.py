"""Break-glass figures for scripts/bench: the emergency kit, recovery unlock, emergency access.

Issue 5 sets no numbers; the targets here are common sense: a recovery unlock <= 1 s beyond
its anchor/log check, each new unlock hook (post_incident.cover_unlocked_sessions,
emergency.sweep) <= 20 ms, a reveal under an emergency grant <= a normal reveal + 5 ms, the
sweep that lapses a grant and opens its post-incident workflow <= 200 ms.

Runs against the working copy, after every other figure: a replacement kit rekeys the whole
database, and every step writes to the log. Every session here runs on one clock the bench
moves forward (real time plus an offset), so an emergency grant can lapse without waiting.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import bench_data

perf = time.perf_counter

T_RECOVERY_BEYOND_CHECK = 1.0
T_UNLOCK_HOOK = 0.020
T_EMERGENCY_REVEAL_EXTRA = 0.005
T_LAPSE_SWEEP = 0.200

CUSTODIANS, THRESHOLD = 5, 3
RECOVERY_REVEALS = 10
APPROVER = "op02"  # built by bench_data with its own slot; the admin did not add it (dual control)


class ShiftedClock:
    """Real time plus an offset that only grows: a clock the bench can move forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, minutes: float) -> None:
        self.offset += timedelta(minutes=minutes)


def bench_breakglass(args, meta, vault_dir: Path, anchor_dir: Path, *, row, say, section, fmt_s, med,
                     spread, verdict, time_calls, phase_timer) -> None:
    from smvault.services.session import unlock

    section("Break glass")
    tools = dict(row=row, say=say, fmt_s=fmt_s, med=med, spread=spread, verdict=verdict,
                 time_calls=time_calls, phase_timer=phase_timer)
    clock = ShiftedClock()

    def admin_session():
        return unlock(vault_dir, meta["operator"], bench_data.PASSPHRASE, clock=clock, anchor_dir=anchor_dir)

    with tempfile.TemporaryDirectory(prefix="smvault-bench-kit-") as tmp:
        with admin_session() as session:
            shares = bench_kits(args, session, Path(tmp), **tools)
    bench_recovery(args, vault_dir, anchor_dir, clock, shares, **tools)
    with admin_session() as session:
        bench_hooks(args, session, **tools)
        if APPROVER not in meta["operators"]:
            say(f"(no operator {APPROVER} in this vault: emergency access not measured)")
            return
        bench_emergency(args, session, clock, **tools)


# --------------------------------------------------------------------------- the kit


def _custodians(session, count: int) -> list[str]:
    """Active people other than the admin (the first ones are operators' people: never leavers)."""
    today = session.now().date()
    people = [p for p in session.vault.people.all()
              if p.id != session.person.id and p.status(today).value == "active"]
    return [p.email for p in people[:count]]


def _db_bytes(vault_dir: Path) -> int:
    return sum(p.stat().st_size for p in vault_dir.glob("vault.db*"))


def bench_kits(args, session, tmp: Path, *, row, say, fmt_s, phase_timer, **_) -> list[str]:
    """The first kit, then its replacement (a rekey). Returns K shares of the kit in force."""
    from smvault.services import kit as kit_mod
    from smvault.services import kit_sheet
    from smvault.store.vault import Vault

    vault_dir = session.vault.directory
    custodians = _custodians(session, CUSTODIANS)
    first = kit_mod.kit_info(vault_dir) is None
    timer = phase_timer()
    labels = ("write the sheets (HTML + SVG QR, text)", "seal the recovery slot",
              "rekey: reseal slots + rewrite the database", "  PRAGMA rekey + checkpoint + keyring promote")
    timer.wrap(kit_sheet, "write_kit", labels[0])
    timer.wrap(kit_mod, "set_recovery_slot", labels[1])
    timer.wrap(kit_mod, "replace_recovery_slot", labels[2])
    timer.wrap(Vault, "rekey", labels[3])

    def in_order(times: dict[str, float]) -> dict[str, float]:  # nested phases end first
        return {label: times[label] for label in labels if label in times}

    try:
        t0 = perf()
        kit_mod.create_kit(session, custodians, THRESHOLD, out_dir=tmp / "kit-1")
        seconds = perf() - t0
        phases = in_order(timer.times)
        say(f"kit create ({'first kit' if first else 'a kit existed already'}), {CUSTODIANS} custodians, "
            f"threshold {THRESHOLD}: {fmt_s(seconds)} ("
            + ", ".join(f"{k} {fmt_s(v)}" for k, v in phases.items()) + ")")
        row(f"kit create, first kit ({THRESHOLD} of {CUSTODIANS}, sheets written)", fmt_s(seconds), "", "info", 1)
        for label, value in phases.items():
            row(f"  {label}", fmt_s(value), "", "info", 1)

        timer.reset()
        size = _db_bytes(vault_dir)
        t0 = perf()
        kit = kit_mod.create_kit(session, custodians, THRESHOLD, out_dir=tmp / "kit-2")
        seconds = perf() - t0
        phases = in_order(timer.times)
    finally:
        timer.restore()
    say(f"kit create, replacement (rekeys the database, {size / 1e6:.0f} MB incl. WAL): {fmt_s(seconds)} ("
        + ", ".join(f"{k.strip()} {fmt_s(v)}" for k, v in phases.items()) + ")")
    row(f"kit create, replacement: rekey of a {size / 1e6:.0f} MB database", fmt_s(seconds), "", "info", 1)
    for label, value in phases.items():
        row(f"  {label}", fmt_s(value), "", "info", 1)
    # Custodians 1, 3 and 5 come to the rescue.
    return [kit.sheets[i].mnemonic for i in range(0, CUSTODIANS, 2)][:THRESHOLD]


# --------------------------------------------------------------------------- recovery unlock


def _accounts_with_passwords(session, count: int, exclude: set[int] = frozenset()) -> list:
    found = []
    for account in session.vault.accounts.all():
        if account.id in exclude or account.status.value != "active":
            continue
        if session.vault.secrets.password(account.id) is not None:
            found.append(account)
            if len(found) == count:
                break
    return found


def bench_recovery(args, vault_dir: Path, anchor_dir: Path, clock, shares: list[str], *, row, say, fmt_s,
                   med, spread, verdict, phase_timer, **_) -> None:
    from smvault.services import emergency, kit as kit_mod, post_incident
    from smvault.services import session as session_mod
    from smvault.services.secrets import reveal
    from smvault.store import keyring as keyring_mod
    from smvault.store import vault as vault_mod

    timer = phase_timer()
    timer.wrap(kit_mod, "recover_from_shares", "parse + combine the shares (SLIP-39)")
    timer.wrap(keyring_mod, "unlock_recovery", "unseal the recovery slot (X25519)")
    timer.wrap(vault_mod, "connect", "connect: key, probe, pragmas")
    timer.wrap(session_mod, "verify_since_anchor", "anchor check + incremental verify")
    timer.wrap(session_mod, "log_unlock", "breakglass.unlock entry (commit) + anchor write")
    timer.wrap(post_incident, "cover_unlocked_sessions", "hook: cover_unlocked_sessions")
    timer.wrap(emergency, "sweep", "hook: emergency.sweep")
    timer.wrap(post_incident, "open_post_incident", "open the post-incident workflow")

    def one(n: int):
        timer.reset()
        t0 = perf()
        session = session_mod.unlock_recovery(
            vault_dir, shares, reason="bench: operators locked out", incident=f"BENCH-R{n}",
            clock=clock, anchor_dir=anchor_dir)
        return perf() - t0, dict(timer.times), session

    reps = max(args.runs, 3)
    totals, beyond, closes, phase_runs = [], [], [], []
    try:
        for n in range(reps + 1):  # the first one warms the imports and the page cache
            total, phases, session = one(n)
            timer.reset()
            t0 = perf()
            session.close()
            if n:
                closes.append(perf() - t0)
                totals.append(total)
                beyond.append(total - phases.get("anchor check + incremental verify", 0.0))
                phase_runs.append(phases)

        # A session that reveals passwords: its lock opens the rotation of each of them.
        total, _, session = one(reps + 1)
        accounts = _accounts_with_passwords(session, RECOVERY_REVEALS)
        reveals = []
        for account in accounts:
            t0 = perf()
            reveal(session, account.key, "password")
            reveals.append(perf() - t0)
        timer.reset()
        t0 = perf()
        session.close()
        close_revealed = perf() - t0
        close_phases = dict(timer.times)
    finally:
        timer.restore()

    say(f"recovery unlock with {len(shares)} shares: {fmt_s(med(totals))} ({spread(totals)}); beyond the "
        f"anchor/log check {fmt_s(med(beyond))}")
    row(f"recovery unlock, {len(shares)} shares (whole unlock_recovery)", fmt_s(med(totals)), "", "info", reps)
    row("  beyond the anchor/log check", fmt_s(med(beyond)), f"<= {fmt_s(T_RECOVERY_BEYOND_CHECK)}",
        verdict(med(beyond) <= T_RECOVERY_BEYOND_CHECK), reps)
    labels = [label for label in phase_runs[0] if label != "open the post-incident workflow"]
    for label in labels:
        values = [p.get(label, 0.0) for p in phase_runs]
        say(f"  {label:<50} {fmt_s(med(values))}")
        row(f"    {label}", fmt_s(med(values)), "", "info", reps)
    say(f"lock of a recovery session that revealed nothing: {fmt_s(med(closes))} ({spread(closes)})")
    row("lock of a recovery session, nothing revealed", fmt_s(med(closes)), "", "info", reps)
    say(f"recovery session revealing {len(reveals)} passwords: each reveal {fmt_s(med(reveals))} "
        f"({spread(reveals)}); its lock {fmt_s(close_revealed)}, of which opening the post-incident "
        f"workflow {fmt_s(close_phases.get('open the post-incident workflow', 0.0))} "
        f"(workflow {session.post_incident_id})")
    row("reveal in a recovery session (password, committed)", fmt_s(med(reveals)), "", "info", len(reveals))
    row(f"lock of a recovery session that revealed {len(reveals)} passwords", fmt_s(close_revealed), "",
        "info", 1)
    row("  open the post-incident workflow", fmt_s(close_phases.get("open the post-incident workflow", 0.0)),
        "", "info", 1)


# --------------------------------------------------------------------------- unlock hooks


def bench_hooks(args, session, *, row, say, fmt_s, med, spread, verdict, time_calls, **_) -> None:
    from smvault.services.emergency import sweep
    from smvault.services.post_incident import cover_unlocked_sessions, post_incidents

    reps = max(args.runs * 5, 25)
    covered = len(post_incidents(session, open_only=False))
    for label, fn in (("post_incident.cover_unlocked_sessions", cover_unlocked_sessions),
                      ("emergency.sweep (nothing due)", sweep)):
        times, _ = time_calls(lambda: fn(session), reps)
        say(f"unlock hook {label}: {fmt_s(med(times))} ({spread(times)}); "
            f"{covered} post-incident workflows in the vault")
        row(f"unlock hook: {label}", fmt_s(med(times)), f"<= {fmt_s(T_UNLOCK_HOOK)}",
            verdict(med(times) <= T_UNLOCK_HOOK), reps)


# --------------------------------------------------------------------------- emergency access


def _add_reveal_grant(session, account) -> None:
    """A plain 'reveal' grant for the admin (services.grants.add_grant would need the admin to
    manage the account first): the same rows and entry the service writes."""
    from smvault.domain.models import Level

    with session.atomic():
        grant = session.vault.grants.add(session.person.id, account.id, Level.REVEAL, session.operator.id,
                                         "bench: normal reveal", None, session.ts())
        session.record("grant.add", account=account.id, acct=account.key, person=session.person.id,
                       detail={"grant": grant.id, "level": "reveal", "email": session.person.email,
                               "expires": None, "reason": "bench: normal reveal"})


def bench_emergency(args, session, clock, *, row, say, fmt_s, med, spread, verdict, time_calls,
                    phase_timer, **_) -> None:
    from smvault.services import emergency, post_incident
    from smvault.services.secrets import reveal
    from smvault.store import keyring as keyring_mod
    from smvault.store.emergency import EmergencyAccess

    cycles = max(1, min(args.runs, 3))
    held = {g.account_id for g in session.vault.grants.of_person(session.person.id, include_revoked=True)}
    normal, *targets = _accounts_with_passwords(session, cycles + 1, exclude=held)
    _add_reveal_grant(session, normal)
    approver_passphrase = bench_data.PASSPHRASE + APPROVER.encode()
    minutes = 60

    timer = phase_timer()
    timer.wrap(keyring_mod, "derive_key", "Argon2id (kdf.derive_key)")
    timer.wrap(post_incident, "open_post_incident", "open the post-incident workflow")
    requests, approves, approves_beyond, lapses, lapse_opens, sweeps_active = [], [], [], [], [], []
    normal_reveals, emergency_reveals = [], []
    query_hit = query_miss = None
    steps = []
    try:
        for n, account in enumerate(targets):
            t0 = perf()
            view = emergency.request_access(session, account.key, reason="bench: incident",
                                            incident=f"BENCH-E{n}", minutes=minutes)
            requests.append(perf() - t0)
            timer.reset()
            t0 = perf()
            view = emergency.approve_access_as(session, view.id, APPROVER, approver_passphrase)
            approves.append(perf() - t0)
            approves_beyond.append(approves[-1] - timer.times.get("Argon2id (kdf.derive_key)", 0.0))
            assert view.state == "active", view.state

            if n == 0:
                # Interleaved, so load swings hit both the same way.
                reps = max(args.runs * 5, 25)
                for i in range(reps + 2):
                    t0 = perf()
                    reveal(session, normal.key, "password")
                    t1 = perf()
                    reveal(session, account.key, "password")
                    t2 = perf()
                    if i >= 2:
                        normal_reveals.append(t1 - t0)
                        emergency_reveals.append(t2 - t1)
                access = EmergencyAccess(session.vault.conn)
                query_hit, _ = time_calls(lambda: access.in_force(session.person.id, account.id, session.ts()), reps)
                query_miss, _ = time_calls(lambda: access.in_force(session.person.id, normal.id, session.ts()), reps)
                times, _ = time_calls(lambda: emergency.sweep(session), reps)
                sweeps_active += times
            else:
                reveal(session, account.key, "password")

            clock.advance(minutes + 1)
            timer.reset()
            t0 = perf()
            changed = emergency.sweep(session)
            lapses.append(perf() - t0)
            lapse_opens.append(timer.times.get("open the post-incident workflow", 0.0))
            lapsed = [v for v in changed if v.id == view.id]
            assert lapsed and lapsed[0].state == "lapsed" and lapsed[0].post_incident_id, changed
            status = post_incident.post_incident_status(session, lapsed[0].post_incident_id)
            steps.append(len(status.steps))
    finally:
        timer.restore()

    say(f"emergency access x{cycles} (admin asks, {APPROVER} approves at the same terminal): request "
        f"{fmt_s(med(requests))}, approve {fmt_s(med(approves))} (beyond {APPROVER}'s Argon2id "
        f"{fmt_s(med(approves_beyond))})")
    row("emergency request (breakglass request)", fmt_s(med(requests)), "", "info", cycles)
    row(f"emergency approve at the same terminal ({APPROVER}'s passphrase)", fmt_s(med(approves)), "", "info",
        cycles)
    row("  beyond the approver's Argon2id", fmt_s(med(approves_beyond)), "", "info", cycles)
    extra = med(emergency_reveals) - med(normal_reveals)
    say(f"reveal password: normal 'reveal' grant {fmt_s(med(normal_reveals))} ({spread(normal_reveals)}); "
        f"under an emergency grant {fmt_s(med(emergency_reveals))} ({spread(emergency_reveals)}); "
        f"the bg-marker query alone: {fmt_s(med(query_hit))} in force, {fmt_s(med(query_miss))} not")
    row("reveal password, normal 'reveal' grant (committed)", fmt_s(med(normal_reveals)), "", "info",
        len(normal_reveals))
    row("reveal password, under an emergency grant", fmt_s(med(emergency_reveals)),
        f"<= normal + {fmt_s(T_EMERGENCY_REVEAL_EXTRA)}", verdict(extra <= T_EMERGENCY_REVEAL_EXTRA),
        len(emergency_reveals))
    row("  EmergencyAccess.in_force query (bg marker), in force", fmt_s(med(query_hit)), "", "info",
        len(query_hit))
    row("  EmergencyAccess.in_force query, none in force", fmt_s(med(query_miss)), "", "info", len(query_miss))
    row("emergency.sweep, 1 active grant, nothing due", fmt_s(med(sweeps_active)), f"<= {fmt_s(T_UNLOCK_HOOK)}",
        verdict(med(sweeps_active) <= T_UNLOCK_HOOK), len(sweeps_active))
    say(f"lapse: emergency.sweep after the clock moved {minutes + 1} min: {fmt_s(med(lapses))} "
        f"({spread(lapses)}), of which opening the post-incident workflow {fmt_s(med(lapse_opens))}; "
        f"post-incident steps {steps}")
    row("lapse: emergency.sweep closing 1 grant + opening its post-incident", fmt_s(med(lapses)),
        f"<= {fmt_s(T_LAPSE_SWEEP)}", verdict(med(lapses) <= T_LAPSE_SWEEP), cycles)
    row("  open the post-incident workflow", fmt_s(med(lapse_opens)), "", "info", cycles)
