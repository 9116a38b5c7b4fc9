"""smvault benchmark: a large synthetic organisation, the figures from the performance issue.

Run through scripts/bench (it prepares .venv). The vault is built once into a cache directory
(scripts/bench_data.py) and every run measures a fresh copy of it, so figures from different
runs see the same data. A report, not a test: missed targets are marked MISS, exit code is 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-out"
sys.path.insert(0, str(ROOT / "scripts"))

import bench_breakglass  # noqa: E402
import bench_data  # noqa: E402
import bench_io  # noqa: E402
import bench_workflows  # noqa: E402

perf = time.perf_counter

# Environment that must not leak into the measurements or the CLI subprocesses.
SCRUB_ENV = (
    "SMVAULT_INSECURE_TEST_KDF", "SMVAULT_VAULT", "SMVAULT_OPERATOR",
    "SMVAULT_PASSPHRASE", "SMVAULT_PASSPHRASE_FILE", "SMVAULT_NEW_PASSPHRASE",
    "SMVAULT_NEW_PASSPHRASE_FILE", "SMVAULT_DEBUG",
)

# Targets from the issue.
T_UNLOCK_BEYOND_KDF = 0.025
T_QUERY = 0.010
T_CONTROLLERS = 0.050
T_APPENDS = 500.0
T_VERIFY = 4.0
T_VERIFY_RATIO = 1.5
T_RSS_MB = 150.0
T_TUI_START = 0.8
T_TUI_DASHBOARD = 0.300
T_TUI_ACCOUNTS = 0.400
T_TUI_FILTER = 0.050
T_TUI_RSS_MB = 200.0


# --------------------------------------------------------------------------- reporting


@dataclass
class Row:
    metric: str
    value: str
    target: str = ""
    status: str = "info"
    n: str = ""


ROWS: list[Row] = []
RESULTS: dict[str, object] = {}


def row(metric: str, value: str, target: str = "", status: str = "info", n: object = "") -> None:
    ROWS.append(Row(metric, value, target, status, str(n)))


def section(title: str) -> None:
    ROWS.append(Row(f"## {title}", ""))
    print(f"\n== {title}", flush=True)


def say(text: str = "") -> None:
    print(text, flush=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def fmt_s(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.01:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1000:.2f} ms"


def med(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    return f"min {fmt_s(min(values))}, max {fmt_s(max(values))}"


def print_table() -> None:
    widths = [0, 0, 0, 0, 0]
    body = [r for r in ROWS if not r.metric.startswith("## ")]
    heads = ("metric", "median", "target", "result", "n")
    for r in body:
        for i, cell in enumerate((r.metric, r.value, r.target, r.status, r.n)):
            widths[i] = max(widths[i], len(cell))
    widths = [max(w, len(h)) for w, h in zip(widths, heads)]
    line = "+".join("-" * (w + 2) for w in widths)

    def fmt(cells):
        return " " + " | ".join(c.ljust(w) for c, w in zip(cells, widths))

    say()
    say(fmt(heads))
    say(line)
    for r in ROWS:
        if r.metric.startswith("## "):
            say(fmt((r.metric[3:].upper(), "", "", "", "")))
            continue
        say(fmt((r.metric, r.value, r.target, r.status, r.n)))
    say(line)
    misses = [r.metric.strip() for r in body if r.status == "MISS"]
    say(f" {sum(r.status == 'PASS' for r in body)} PASS, {len(misses)} MISS, "
        f"{sum(r.status == 'SKIP' for r in body)} SKIP")
    for m in misses:
        say(f"   MISS: {m}")


# --------------------------------------------------------------------------- helpers


def proc_status(field: str) -> int | None:
    """A /proc/self/status field in KiB (VmHWM, VmRSS), or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def clean_env(anchor_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUB_ENV}
    env["SMVAULT_ANCHOR_DIR"] = str(anchor_dir)
    return env


def run_timed(cmd: list[str], *, env=None, input_bytes: bytes | None = None) -> tuple[float, subprocess.CompletedProcess]:
    t0 = perf()
    cp = subprocess.run(cmd, env=env, input=input_bytes, capture_output=True,
                        stdin=None if input_bytes is not None else subprocess.DEVNULL)
    return perf() - t0, cp


def via_sh(cmd: list[str]) -> list[str]:
    """Run `cmd` as a child of a small /bin/sh.

    Linux carries a process's peak RSS across exec: a child exec'd straight from this (large)
    process via vfork reports the bench's own peak as its ru_maxrss. A fork of a small shell
    starts from the shell's footprint instead. (`; exit $?` keeps dash from exec'ing directly.)
    """
    return ["/bin/sh", "-c", '"$0" "$@"; exit $?', *cmd]


class PhaseTimer:
    """Wrap module functions in place to time the phases of one call tree."""

    def __init__(self) -> None:
        self.times: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.verified: list[int] = []
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, owner: object, name: str, label: str) -> None:
        original = getattr(owner, name, None)
        if original is None:  # smvault changed shape: that phase reads as 0
            say(f"(note: {getattr(owner, '__name__', owner)}.{name} not found; '{label}' not timed)")
            return
        times, calls = self.times, self.calls

        def timed(*args, **kwargs):
            t0 = perf()
            try:
                return original(*args, **kwargs)
            finally:
                times[label] += perf() - t0
                calls[label] += 1

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def count_verified(self, owner: object) -> None:
        original = owner.verify
        verified = self.verified

        def counting(self_, *args, **kwargs):
            result = original(self_, *args, **kwargs)
            verified.append(result.checked)
            return result

        owner.verify = counting
        self._undo.append((owner, "verify", original))

    def reset(self) -> None:
        self.times.clear()
        self.calls.clear()
        self.verified.clear()

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


# --------------------------------------------------------------------------- machine info


def machine_info() -> dict:
    import sqlcipher3

    info: dict[str, object] = {}
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["cpu"] = cpu
    info["cores"] = os.cpu_count()
    try:
        info["usable cores"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
        info["memory"] = f"{int(mem) / 1024 / 1024:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    info["os"] = f"{platform.system()} {platform.release()}"
    info["python"] = f"{platform.python_implementation()} {platform.python_version()}"
    conn = sqlcipher3.connect(":memory:")
    conn.execute("PRAGMA key = \"x'" + "00" * 32 + "'\"")
    info["sqlcipher"] = conn.execute("PRAGMA cipher_version").fetchone()[0]
    provider = conn.execute("PRAGMA cipher_provider").fetchone()
    provider_version = conn.execute("PRAGMA cipher_provider_version").fetchone()
    if provider:
        info["sqlcipher crypto"] = f"{provider[0]} {provider_version[0] if provider_version else ''}".strip()
    info["sqlite"] = sqlcipher3.sqlite_version
    conn.close()
    from importlib.metadata import version

    info["argon2-cffi"] = version("argon2-cffi")
    info["sqlcipher3"] = version("sqlcipher3-binary")
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "smvault"],
                               capture_output=True, text=True).stdout.split("\n")
        changed = [line[3:] for line in dirty if line.strip()]
        info["smvault commit"] = commit + (f" + uncommitted: {', '.join(changed)}" if changed else "")
    except OSError:
        pass
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((ROOT / "smvault").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    info["smvault sources"] = f"sha256 {digest.hexdigest()[:16]} (all smvault/**/*.py)"
    try:
        fs = subprocess.run(["df", "-T", str(OUT)], capture_output=True, text=True).stdout.splitlines()[-1].split()
        info["bench-out filesystem"] = f"{fs[1]} on {fs[0]}"
    except (OSError, IndexError):
        pass
    return info


# --------------------------------------------------------------------------- the vault


def prepare_vault(args, sizes) -> tuple[dict, Path, Path, Path]:
    cache = args.keep or (OUT / ("quick-vault" if args.quick else "large-vault"))
    cache = cache.resolve()
    section("Synthetic organisation")
    if bench_data.cache_matches(cache, sizes):
        meta = bench_data.read_meta(cache)
        say(f"reusing {cache} (generator v{meta['generator']}, built {meta['built_at']} "
            f"in {meta['build_seconds']:.1f} s)")
        built_now = False
    else:
        say(f"building {cache}: {sizes.accounts:,} accounts, {sizes.people:,} people, "
            f"{sizes.grants:,} grants, {sizes.log:,} log entries (real default Argon2id) ...")
        meta = bench_data.build(cache, sizes, progress=say)
        built_now = True
    c = meta["counts"]
    for phase, seconds in meta["phases"].items():
        say(f"  {phase:<40} {seconds:8.2f} s")
    say(f"  rows: {c['people']:,} people, {c['operators']} operators, {c['accounts']:,} accounts, "
        f"{c['grants']:,} grants ({meta['revoked_grants']:,} revoked), {c['passwords']:,} passwords, "
        f"{c['totp_secrets']:,} TOTP seeds, {c['recovery_codes']:,} recovery codes, "
        f"{c['log']:,} log entries; vault.db {meta['db_bytes'] / 1e6:.0f} MB")
    log_rate = c["log"] / meta["build_seconds"]
    row(f"build: {c['log']:,} chained log entries + org" + ("" if built_now else " (cached)"),
        f"{meta['build_seconds']:.1f} s", "", "info", 1)
    say(f"  build took {meta['build_seconds']:.1f} s ({log_rate:,.0f} entries/s overall)")

    # Measure a fresh copy: runs append to the log and move the anchor.
    work = OUT / ("run-quick" if args.quick else "run-large")
    if work.exists():
        shutil.rmtree(work)
    t0 = perf()
    shutil.copytree(cache / "vault", work / "vault")
    shutil.copytree(cache / "anchors", work / "anchors")
    say(f"working copy: {work} (copied in {perf() - t0:.1f} s); "
        f"SMVAULT_ANCHOR_DIR={work / 'anchors'}")
    os.environ["SMVAULT_ANCHOR_DIR"] = str(work / "anchors")
    return meta, work / "vault", work / "anchors", cache / "passphrase"


# --------------------------------------------------------------------------- unlock


def bench_unlock(args, meta, vault_dir: Path, anchor_dir: Path) -> dict:
    from smvault.services import operators as operator_services
    from smvault.services import session as session_mod
    from smvault.store import keyring as keyring_mod
    from smvault.store import vault as vault_mod
    from smvault.store.anchor import AnchorFile
    from smvault.store.kdf import DEFAULT_PROFILE
    from smvault.store import anchor as anchor_mod
    from smvault.store.log import AccessLog

    section("Unlock (services.session.unlock, real default Argon2id)")
    p = DEFAULT_PROFILE
    say(f"KDF profile of the slot: Argon2id t={p.time_cost}, m={p.memory_kib // 1024} MiB, "
        f"p={p.parallelism} (SMVAULT_INSECURE_TEST_KDF unset)")
    passphrase = bench_data.PASSPHRASE
    op = meta["operator"]

    timer = PhaseTimer()
    timer.wrap(keyring_mod, "derive_key", "Argon2id (kdf.derive_key)")
    timer.wrap(keyring_mod, "unlock", "keyring.unlock (KDF + unseal)")
    timer.wrap(keyring_mod, "load", "keyring load + parse")
    timer.wrap(vault_mod, "connect", "connect: key, probe, pragmas")
    timer.wrap(vault_mod, "migrate", "migrate check")
    timer.wrap(session_mod, "verify_since_anchor", "anchor check + incremental verify")
    timer.wrap(session_mod, "log_unlock", "unlock log entry (commit) + anchor write")
    timer.wrap(operator_services, "finish_interrupted_removals", "interrupted-removal check")
    timer.wrap(anchor_mod, "write_atomic", "anchor file write (fsync file + dir)")
    timer.wrap(AccessLog, "append", "log append (no commit)")
    timer.count_verified(AccessLog)

    def one() -> tuple[float, dict, list[int]]:
        timer.reset()
        t0 = perf()
        session = session_mod.unlock(vault_dir, op, passphrase, anchor_dir=anchor_dir)
        total = perf() - t0
        phases = dict(timer.times)
        verified = list(timer.verified)
        session.close()
        return total, phases, verified

    try:
        # The build closed its session with an anchor at the head; one warm-up unlock loads
        # the modules and the page cache.
        one()
        s = session_mod.unlock(vault_dir, op, passphrase, anchor_dir=anchor_dir, check=False)
        try:
            vault_id = s.vault.vault_id
            head = s.vault.log.head().seq
        finally:
            s.vault.close()
        anchor = AnchorFile(anchor_dir, vault_dir, vault_id).read()
        assert anchor is not None, "no local anchor after an unlock"
        say(f"local anchor present: seq {anchor.seq:,} (log head {head:,}) -> each unlock verifies "
            "only the entries appended since the anchor, not the whole log")

        totals, kdfs, keyrings, verified, phase_runs = [], [], [], [], []
        for _ in range(args.runs):
            total, phases, checked = one()
            totals.append(total)
            kdfs.append(phases.get("Argon2id (kdf.derive_key)", 0.0))
            keyrings.append(phases.get("keyring.unlock (KDF + unseal)", 0.0))
            verified.append(sum(checked))
            phase_runs.append(phases)

        # One more: 1,000 entries appended after the anchor (vault closed without moving it).
        gap = 1000
        s = session_mod.unlock(vault_dir, op, passphrase, anchor_dir=anchor_dir, check=False)
        try:
            with s.atomic():
                for _i in range(gap):
                    s.record("totp.code", account=1, acct="bench:gap", to=s.person.id,
                             to_email=s.person.email, field="code", detail={"kind": "totp"})
        finally:
            s.vault.close()  # not s.close(): that would move the anchor to the new head
        gap_total, gap_phases, gap_checked = one()
    finally:
        timer.restore()

    beyond = [t - k for t, k in zip(totals, kdfs)]
    beyond_keyring = [t - k for t, k in zip(totals, keyrings)]
    kdf = med(kdfs)
    say(f"unlock total {fmt_s(med(totals))} ({spread(totals)}); Argon2id {fmt_s(kdf)}; "
        f"beyond the KDF {fmt_s(med(beyond))} ({spread(beyond)})")
    row("unlock total", fmt_s(med(totals)), "", "info", args.runs)
    row("  Argon2id KDF (derive_key)", fmt_s(kdf), "", "info", args.runs)
    row("  keyring.unlock (KDF + X25519/AEAD unseal)", fmt_s(med(keyrings)), "", "info", args.runs)
    row("unlock beyond the KDF (total - Argon2id)", fmt_s(med(beyond)),
        f"<= {fmt_s(T_UNLOCK_BEYOND_KDF)}", verdict(med(beyond) <= T_UNLOCK_BEYOND_KDF), args.runs)
    row("  rest of unlock (total - keyring.unlock)", fmt_s(med(beyond_keyring)), "", "info", args.runs)
    labels = [
        "keyring load + parse", "connect: key, probe, pragmas", "migrate check",
        "anchor check + incremental verify", "unlock log entry (commit) + anchor write",
        "interrupted-removal check",
    ]
    accounted = []
    for label in labels:
        values = [ph.get(label, 0.0) for ph in phase_runs]
        row(f"    {label}", fmt_s(med(values)), "", "info", args.runs)
        if label.startswith("unlock log entry"):
            anchor_w = [ph.get("anchor file write (fsync file + dir)", 0.0) for ph in phase_runs]
            appends = [ph.get("log append (no commit)", 0.0) for ph in phase_runs]
            commit = [v - a - b for v, a, b in zip(values, anchor_w, appends)]
            row("      log append (hash, MAC, INSERT)", fmt_s(med(appends)), "", "info", args.runs)
            row("      BEGIN IMMEDIATE + COMMIT (fsync), failures file", fmt_s(med(commit)), "", "info", args.runs)
            row("      anchor file write (fsync file + fsync dir)", fmt_s(med(anchor_w)), "", "info", args.runs)
    for ph, tot in zip(phase_runs, totals):
        accounted.append(tot - ph.get("keyring.unlock (KDF + unseal)", 0.0) - sum(ph.get(lb, 0.0) for lb in labels))
    row("    other (operator/person lookups, session)", fmt_s(med(accounted)), "", "info", args.runs)

    only_new = all(v == 0 for v in verified) and sum(gap_checked) == gap
    say(f"entries verified per unlock with the anchor at the head: {verified}; "
        f"with {gap:,} entries appended since the anchor: {sum(gap_checked):,}")
    row("unlock verifies only entries since the local anchor",
        f"{max(verified)} / {sum(gap_checked):,} rows", f"0 / {gap:,} rows", verdict(only_new), args.runs + 1)
    gap_beyond = gap_total - gap_phases.get("Argon2id (kdf.derive_key)", 0.0)
    row(f"  unlock beyond KDF, {gap:,} new entries since anchor", fmt_s(gap_beyond), "", "info", 1)
    RESULTS["unlock"] = {"total": totals, "kdf": kdfs, "keyring_unlock": keyrings,
                         "beyond_kdf": beyond, "verified": verified, "gap_verified": gap_checked,
                         "gap_beyond_kdf": gap_beyond}
    return {"kdf": kdf, "vault_id": vault_id}


# --------------------------------------------------------------------------- queries


def time_calls(fn, reps: int, warmup: int = 2) -> tuple[list[float], object]:
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(reps):
        t0 = perf()
        result = fn()
        times.append(perf() - t0)
    return times, result


def bench_queries(args, meta, session) -> None:
    from smvault.domain.control import controller_ids
    from smvault.services import control, grants

    section("Queries (services.control / services.grants, one open session)")
    reps = max(args.runs * 5, 25)
    acct = meta["who_can_account"]
    times, who = time_calls(lambda: control.who_can(session, acct), reps)
    say(f"who-can {acct}: {fmt_s(med(times))} ({spread(times)}); "
        f"{who.report.controller_count} controllers over {len(who.report.paths)} paths")
    row(f"who-can (one account, {who.report.controller_count} controllers)", fmt_s(med(times)),
        f"<= {fmt_s(T_QUERY)}", verdict(med(times) <= T_QUERY), reps)

    from smvault.store.grants import Grants
    from smvault.store.people import People

    for label, email in (("typical", meta["typical_person"]), ("heavy", meta["heavy_person"])):
        times, result = time_calls(lambda: grants.list_grants(session, email=email), reps)
        say(f"grants of {email} ({label}): {len(result)} in force, {fmt_s(med(times))} ({spread(times)})")
        row(f"one person's grants ({len(result)} grants)", fmt_s(med(times)),
            f"<= {fmt_s(T_QUERY)}", verdict(med(times) <= T_QUERY), reps)
        # What one call spends in the repositories it uses.
        timer = PhaseTimer()
        timer.wrap(Grants, "of_person", "of_person")
        timer.wrap(People, "left_ids", "left_ids")
        try:
            grants.list_grants(session, email=email)
        finally:
            timer.restore()
        row("  grants.of_person() (SQL + Grant objects)", fmt_s(timer.times["of_person"]), "", "info", 1)
        row(f"  people.left_ids(): {timer.calls['left_ids']} calls", fmt_s(timer.times["left_ids"]), "", "info", 1)

    reps_c = max(args.runs * 3, 15)
    times, flagged = time_calls(lambda: control.under_controlled(session), reps_c)
    n_accounts = meta["counts"]["accounts"]
    say(f"fewer than two controllers, all {n_accounts:,} accounts: {fmt_s(med(times))} "
        f"({spread(times)}); {len(flagged):,} accounts flagged")
    row(f"controller check, all {n_accounts:,} accounts ({len(flagged):,} flagged)", fmt_s(med(times)),
        f"<= {fmt_s(T_CONTROLLERS)}", verdict(med(times) <= T_CONTROLLERS), reps_c)

    # Where the controller check spends its time: the same steps, timed one by one.
    vault = session.vault
    ts, today = session.ts(), session.now().date()
    parts = {
        "accounts.all_control_facts() (one query)": lambda: vault.accounts.all_control_facts(),
        "grants.path_grants_by_account() (table scan)": lambda: vault.grants.path_grants_by_account(ts),
        "operators + people.left_ids()": lambda: (vault.operators.person_ids(), vault.people.left_ids(today)),
    }
    for label, fn in parts.items():
        t, _ = time_calls(fn, reps_c)
        row(f"  {label}", fmt_s(med(t)), "", "info", reps_c)
    facts = vault.accounts.all_control_facts()
    by_account = vault.grants.path_grants_by_account(ts)
    operators = vault.operators.person_ids()
    left = vault.people.left_ids(today)

    def counts():
        for f in facts:
            controller_ids(f, by_account.get(f.account_id, ()), operators, left)

    t, _ = time_calls(counts, reps_c)
    row("  controller_ids() for every account (pure Python)", fmt_s(med(t)), "", "info", reps_c)


# --------------------------------------------------------------------------- log


def bare_scan(conn) -> None:
    previous = conn.text_factory
    conn.text_factory = bytes  # as AccessLog.raw_rows does
    try:
        for row_ in conn.execute("SELECT seq, prev_hash, body, entry_hash, mac, key_epoch FROM log ORDER BY seq"):
            pass
    finally:
        conn.text_factory = previous


def bench_verify(args, session) -> None:
    section("Full log verify vs a bare SELECT scan (same connection, same run)")
    log, conn = session.vault.log, session.vault.conn
    head = log.head().seq
    bare_scan(conn)  # warm-up: OS page cache
    scans, verifies, rawiter = [], [], []
    for i in range(args.runs):
        order = ("scan", "verify") if i % 2 == 0 else ("verify", "scan")
        for what in order:
            t0 = perf()
            if what == "scan":
                bare_scan(conn)
                scans.append(perf() - t0)
            else:
                result = log.verify()
                verifies.append(perf() - t0)
                assert result.ok and result.checked == head, result
    for _ in range(max(1, args.runs // 2)):
        t0 = perf()
        for _row in log.raw_rows(0):
            pass
        rawiter.append(perf() - t0)
    v, s = med(verifies), med(scans)
    ratio = v / s
    say(f"{head:,} entries: verify {fmt_s(v)} ({spread(verifies)}), bare scan {fmt_s(s)} "
        f"({spread(scans)}), ratio {ratio:.2f}x; raw_rows() iteration alone {fmt_s(med(rawiter))}")
    say(f"per entry: verify {v / head * 1e6:.2f} us, scan {s / head * 1e6:.2f} us, "
        f"verify work beyond the scan {(v - s) / head * 1e6:.2f} us")
    row(f"full verify, {head:,} entries (AccessLog.verify)", fmt_s(v), f"<= {fmt_s(T_VERIFY)}",
        verdict(v <= T_VERIFY), args.runs)
    row("  bare SELECT scan of the same rows", fmt_s(s), "", "info", args.runs)
    row("verify / bare scan", f"{ratio:.2f}x", f"<= {T_VERIFY_RATIO}x", verdict(ratio <= T_VERIFY_RATIO), args.runs)
    row("  raw_rows() iteration, no hashing", fmt_s(med(rawiter)), "", "info", len(rawiter))
    RESULTS["verify"] = {"entries": head, "verify": verifies, "scan": scans, "raw_rows": rawiter,
                         "ratio": ratio}


def child_verify(vault_dir: str, anchor_dir: str, operator: str, passfile: str) -> None:
    """In a child process: unlock, reset the RSS high-water mark, full verify, report peaks."""
    from smvault.services.session import unlock

    passphrase = Path(passfile).read_bytes().rstrip(b"\n")
    session = unlock(Path(vault_dir), operator, passphrase, anchor_dir=Path(anchor_dir), check=False)
    after_unlock = {"maxrss": maxrss_kib(), "hwm": proc_status("VmHWM"), "rss": proc_status("VmRSS")}
    reset = False
    try:
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := current RSS (Linux >= 4.0)
        reset = True
    except OSError:
        pass
    t0 = perf()
    result = session.vault.log.verify()
    seconds = perf() - t0
    out = {
        "ok": result.ok, "checked": result.checked, "seconds": seconds,
        "after_unlock": after_unlock, "hwm_reset": reset,
        "verify_hwm": proc_status("VmHWM"), "maxrss": maxrss_kib(), "rss": proc_status("VmRSS"),
    }
    session.vault.close()
    print(json.dumps(out))


def bench_rss(args, meta, vault_dir: Path, anchor_dir: Path, passfile: Path) -> None:
    section("Peak RSS of a full verify (separate child process)")
    cmd = via_sh([sys.executable, str(Path(__file__).resolve()), "--child-verify",
                  str(vault_dir), str(anchor_dir), meta["operator"], str(passfile)])
    cp = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(anchor_dir))
    if cp.returncode != 0:
        say(cp.stderr)
        row("peak RSS, child: unlock + full verify", "child failed", f"<= {T_RSS_MB:.0f} MB", "MISS")
        return
    data = json.loads(cp.stdout.strip().splitlines()[-1])
    assert data["ok"], data
    # Resetting VmHWM also resets what getrusage reports from then on, so the process's peak
    # is the larger of the two readings: after unlock (Argon2id's 64 MiB) and after verify.
    peak = max(data["after_unlock"]["maxrss"], data["maxrss"]) / 1024
    say(f"child (python: unlock, then verify {data['checked']:,} entries in {fmt_s(data['seconds'])}): "
        f"peak RSS {peak:.0f} MB (ru_maxrss; {data['after_unlock']['maxrss'] / 1024:.0f} MB reached during "
        f"unlock, where Argon2id takes 64 MiB; RSS after unlock {data['after_unlock']['rss'] / 1024:.0f} MB)")
    row("peak RSS, child process: unlock + full verify (ru_maxrss)", f"{peak:.0f} MB",
        f"<= {T_RSS_MB:.0f} MB", verdict(peak <= T_RSS_MB), 1)
    if data["hwm_reset"] and data["verify_hwm"]:
        during = data["verify_hwm"] / 1024
        say(f"peak during the verify alone (VmHWM reset after unlock): {during:.0f} MB "
            f"(RSS when it started {data['after_unlock']['rss'] / 1024:.0f} MB)")
        row("  peak RSS during the verify itself (VmHWM reset after unlock)", f"{during:.0f} MB",
            f"<= {T_RSS_MB:.0f} MB", verdict(during <= T_RSS_MB), 1)
    else:
        say("(could not reset VmHWM: only the whole child's peak is reported)")
    RESULTS["rss_child"] = data


def bench_tui(args, meta, vault_dir: Path, anchor_dir: Path, passfile: Path) -> None:
    section("Terminal UI on the large vault (child process, headless Textual driver, 160x48)")
    child = Path(__file__).resolve().parent / "bench_tui.py"
    runs = []
    for _ in range(args.runs):
        env = clean_env(anchor_dir)
        t0 = time.time()
        cp = subprocess.run([sys.executable, str(child), str(vault_dir), str(anchor_dir), meta["operator"],
                             str(passfile), repr(t0)], capture_output=True, text=True, env=env)
        if cp.returncode != 0:
            say(cp.stderr[-2000:])
            row("terminal UI", "child failed", "", "MISS")
            return
        runs.append(json.loads(cp.stdout.strip().splitlines()[-1]))
    start = [r["start_to_unlock_painted"] for r in runs]
    beyond = [r["unlock_to_dashboard"] - r["kdf"] for r in runs]
    accounts = [r["accounts_ready"] for r in runs]
    keys = [k for r in runs for k in r["filter_keystrokes"]]
    rss = max(r["peak_rss_mb"] for r in runs)
    say(f"process start to unlock screen painted: median {fmt_s(med(start))} ({spread(start)})")
    say(f"enter to dashboard painted: median {fmt_s(med([r['unlock_to_dashboard'] for r in runs]))}, "
        f"of which Argon2id {fmt_s(med([r['kdf'] for r in runs]))}; beyond the KDF {fmt_s(med(beyond))} "
        f"({spread(beyond)})")
    say(f"accounts view ready with {runs[0]['accounts']:,} rows: median {fmt_s(med(accounts))} ({spread(accounts)})")
    say(f"filter keystroke to repaint ({len(keys)} keystrokes): median {fmt_s(med(keys))}, "
        f"p90 {fmt_s(sorted(keys)[int(len(keys) * 0.9)])}, max {fmt_s(max(keys))}")
    row("TUI: process start to unlock screen painted", fmt_s(med(start)), f"<= {fmt_s(T_TUI_START)}",
        verdict(med(start) <= T_TUI_START), len(start))
    row("TUI: unlock to dashboard painted, beyond the KDF", fmt_s(med(beyond)), f"<= {fmt_s(T_TUI_DASHBOARD)}",
        verdict(med(beyond) <= T_TUI_DASHBOARD), len(beyond))
    row(f"TUI: accounts view ready ({runs[0]['accounts']:,} rows)", fmt_s(med(accounts)),
        f"<= {fmt_s(T_TUI_ACCOUNTS)}", verdict(med(accounts) <= T_TUI_ACCOUNTS), len(accounts))
    row("TUI: filter keystroke to repaint", fmt_s(med(keys)), f"<= {fmt_s(T_TUI_FILTER)}",
        verdict(med(keys) <= T_TUI_FILTER), len(keys))
    row("TUI: peak RSS of the UI process", f"{rss:.0f} MB", f"<= {T_TUI_RSS_MB:.0f} MB",
        verdict(rss <= T_TUI_RSS_MB), len(runs))
    RESULTS["tui"] = runs


def fsync_probe(n: int, sync_fn) -> list[float]:
    """n x (300-byte append + sync) on bench-out's filesystem: the disk's floor for a commit."""
    probe = OUT / ".fsync-probe"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        lat = []
        for _ in range(n):
            t0 = perf()
            os.write(fd, b"x" * 300)
            sync_fn(fd)
            lat.append(perf() - t0)
        return lat
    finally:
        os.close(fd)
        probe.unlink()


def bench_appends(args, meta, session) -> None:
    section("Durable log appends (one transaction and one commit each)")
    conn = session.vault.conn
    sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    say(f"journal_mode={journal}, synchronous={names.get(sync, sync)} (as the store sets them); "
        "SQLite calls fsync() (not fdatasync) on the WAL at every commit")
    per_run = 200 if args.quick else 500
    acct = session.vault.accounts.by_key(*meta["cli_account"].split(":", 1))

    def append() -> None:
        session.record("totp.code", account=acct.id, acct=acct.key, to=session.person.id,
                       to_email=session.person.email, field="code", detail={"kind": "totp"})

    rates, cpu, fsyncs, fdatasyncs = [], [], [], []
    for _ in range(args.runs):
        t0 = perf()
        for _i in range(per_run):
            with session.atomic():
                append()
        rates.append(per_run / (perf() - t0))
        # The same appends in ONE transaction: their CPU cost without a commit each.
        t0 = perf()
        with session.atomic():
            for _i in range(per_run):
                append()
        cpu.append((perf() - t0) / per_run)
        # The floor the disk sets, measured in the same round (the disk is shared and noisy).
        fsyncs += fsync_probe(per_run, os.fsync)
        fdatasyncs += fsync_probe(per_run // 2, getattr(os, "fdatasync", os.fsync))
    rate = med(rates)
    floor = med(fsyncs)
    say(f"{per_run} appends per run: median {rate:,.0f}/s (min {min(rates):,.0f}, max {max(rates):,.0f}); "
        f"{1000 / rate:.2f} ms per durable append, of which {fmt_s(med(cpu))} CPU (hash, MAC, INSERT)")
    say(f"disk floor on {OUT}: 300 B write + fsync {fmt_s(floor)} (so at most {1 / floor:,.0f} commits/s), "
        f"write + fdatasync {fmt_s(med(fdatasyncs))}")
    row(f"durable log appends/s (synchronous={names.get(sync, sync)})", f"{rate:,.0f}/s",
        f">= {T_APPENDS:.0f}/s", verdict(rate >= T_APPENDS), f"{args.runs}x{per_run}")
    row("  one append without its own commit (CPU: hash, MAC, INSERT)", fmt_s(med(cpu)), "", "info",
        f"{args.runs}x{per_run}")
    row("  disk floor: 300 B write + fsync (SQLite's WAL commit)", fmt_s(floor), "", "info", len(fsyncs))
    row("    = at most this many commits/s on this disk", f"{1 / floor:,.0f}/s", "", "info", len(fsyncs))
    row("  same write + fdatasync, for comparison", fmt_s(med(fdatasyncs)), "", "info", len(fdatasyncs))
    RESULTS["appends"] = {"rates": rates, "cpu": cpu, "fsync_median": floor,
                          "fdatasync_median": med(fdatasyncs)}


# --------------------------------------------------------------------------- CLI helpers


TOTP_IN_PROCESS = """
import json, sys
from smvault.cli.main import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "textual": "textual" in sys.modules, "rich": "rich" in sys.modules,
                  "modules": list(sys.modules)}), file=sys.stderr)
"""

# `smvault totp` in a fresh process, with its phases timed from the inside.
CLI_PROFILE = """
import json, sys, time
perf = time.perf_counter
t0 = perf()
import importlib
from smvault.cli.main import main as cli_main
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception:
        pass
t1 = perf()
from smvault.services import secrets, session as session_mod
from smvault.store import keyring
times = {"kdf": 0.0, "unlock": 0.0, "command": 0.0, "close": 0.0}
def timed(owner, name, label):
    original = getattr(owner, name, None)
    if original is None:
        return
    def wrapper(*a, **k):
        s = perf()
        try:
            return original(*a, **k)
        finally:
            times[label] = times.get(label, 0.0) + perf() - s
    setattr(owner, name, wrapper)
timed(keyring, "derive_key", "kdf")
timed(session_mod, "unlock", "unlock")
timed(secrets, "totp_code", "command")
timed(session_mod.Session, "close", "close")
t2 = perf()
rc = cli_main(sys.argv[2:])
t3 = perf()
times.update(imports=t1 - t0, main=t3 - t2, rc=rc)
print(json.dumps(times), file=sys.stderr)
"""

LIST_MODULES = "import sys, json; print(json.dumps(list(sys.modules)))"

IMPORT_ALL = """
import importlib, json, sys
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception:
        pass
"""


def import_times(stderr: str) -> dict[str, float]:
    """Module -> its own (exclusive) import time, from -X importtime output."""
    own: dict[str, float] = {}
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", line)
        if m:
            own[m.group(4)] = own.get(m.group(4), 0.0) + int(m.group(1)) / 1e6
    return own


def import_buckets(own: dict[str, float], baseline: set[str]) -> dict[str, float]:
    """Exclusive import time per package, leaving out what a bare interpreter imports anyway."""
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    buckets: dict[str, float] = defaultdict(float)
    for name, seconds in own.items():
        if name in baseline:
            continue
        root = name.split(".")[0]
        if root == "smvault":
            key = ".".join(name.split(".")[:2])
        elif root in ("_cffi_backend", "cffi", "_argon2_cffi_bindings", "argon2"):
            key = "argon2-cffi"
        elif root in stdlib or root.lstrip("_") in stdlib:
            key = "stdlib"
        else:
            key = root
        buckets[key] += seconds
    return buckets


# --------------------------------------------------------------------------- keepassxc

KXC_PASSWORD = b"kxc bench password"
KXC_ENTRIES = 1000
KXC_VERSION = 2


def _kxc(exe, *args, password=KXC_PASSWORD, repeat=1):
    return subprocess.run([exe, *args], input=(password + b"\n") * repeat, capture_output=True)


def kdf_line(exe, db: Path) -> str:
    cp = _kxc(exe, "db-info", "-q", str(db))
    for line in cp.stdout.decode(errors="replace").splitlines():
        if line.startswith("KDF:"):
            return line[4:].strip()
    return "?"


def build_kdbx(exe: str, version: str, kdir: Path) -> dict:
    """1,000 entries with TOTP via `keepassxc-cli import` (same default KDF as db-create),
    plus a copy whose only difference is a slower KDF (import -t 1000)."""
    import base64
    import random
    import uuid
    from xml.sax.saxutils import escape

    meta_path = kdir / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("version") == version and meta.get("generator") == KXC_VERSION:
            return meta
    except (OSError, ValueError):
        pass
    if kdir.exists():
        shutil.rmtree(kdir)
    kdir.mkdir(parents=True)
    rng = random.Random(7)

    def uid() -> str:
        return base64.b64encode(uuid.UUID(int=rng.getrandbits(128)).bytes).decode()

    b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    entries = []
    for i in range(KXC_ENTRIES):
        secret = "".join(rng.choice(b32) for _ in range(32))
        title = f"acct-{i:05d}"
        otp = f"otpauth://totp/bench:{title}?secret={secret}&period=30&digits=6&issuer=bench"
        pw = "".join(rng.choice(b32.lower() + "!#%") for _ in range(20))
        entries.append(
            f"<Entry><UUID>{uid()}</UUID>"
            f"<String><Key>Title</Key><Value>{title}</Value></String>"
            f"<String><Key>UserName</Key><Value>social+{title}@corp.example</Value></String>"
            f"<String><Key>Password</Key><Value ProtectInMemory=\"True\">{escape(pw)}</Value></String>"
            f"<String><Key>URL</Key><Value>https://social.example/{title}</Value></String>"
            f"<String><Key>otp</Key><Value>{escape(otp)}</Value></String></Entry>"
        )
    xml = (
        '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<KeePassFile><Meta>'
        "<Generator>smvault-bench</Generator><DatabaseName>bench</DatabaseName></Meta>"
        f"<Root><Group><UUID>{uid()}</UUID><Name>Root</Name>{''.join(entries)}</Group></Root></KeePassFile>\n"
    )
    (kdir / "bench.xml").write_text(xml)
    db, slow, empty = kdir / "bench.kdbx", kdir / "bench-slow-kdf.kdbx", kdir / "empty.kdbx"
    for args in (("import", "-q", "-p", str(kdir / "bench.xml"), str(db)),
                 ("import", "-q", "-p", "-t", "1000", str(kdir / "bench.xml"), str(slow)),
                 ("db-create", "-q", "-p", str(empty))):
        cp = _kxc(exe, *args, repeat=2)
        if cp.returncode != 0:
            raise RuntimeError(f"keepassxc-cli {args[0]} failed: {cp.stderr.decode(errors='replace')}")
    (kdir / "bench.xml").unlink()  # holds the synthetic TOTP seeds in clear
    meta = {"version": version, "generator": KXC_VERSION, "entries": KXC_ENTRIES,
            "entry": f"acct-{KXC_ENTRIES // 2:05d}",
            "kdf_default": kdf_line(exe, db), "kdf_slow": kdf_line(exe, slow),
            "kdf_db_create_default": kdf_line(exe, empty)}
    meta_path.write_text(json.dumps(meta, indent=2))
    return meta


def _rounds(kdf: str) -> int | None:
    m = re.search(r"\((\d+) rounds", kdf)
    return int(m.group(1)) if m else None


def find_keepassxc(args) -> str | None:
    exe = shutil.which("keepassxc-cli")
    if exe is None and args.install_keepassxc:
        say("keepassxc-cli not found: apt-get install -y keepassxc ...")
        cp = subprocess.run(["apt-get", "install", "-y", "keepassxc"], capture_output=True)
        if cp.returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "keepassxc"], capture_output=True)
        exe = shutil.which("keepassxc-cli")
    return exe


# --------------------------------------------------------------------------- CLI


def bench_cli(args, meta, vault_dir: Path, anchor_dir: Path, passfile: Path) -> None:
    """smvault totp and keepassxc-cli show -t, interleaved so both see the same machine load."""
    from smvault.store.kdf import DEFAULT_PROFILE, derive_key

    section("The CLI as a whole process: smvault totp vs keepassxc-cli show -t")
    py = sys.executable
    # An installed smvault has compiled bytecode; this checkout is an editable install, and
    # PYTHONDONTWRITEBYTECODE (if set) would make every run recompile smvault's sources. Time
    # the CLI with a bytecode cache kept under bench-out/ instead (nothing written to smvault/).
    nocache_env = clean_env(anchor_dir)
    env = clean_env(anchor_dir)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(OUT / "pycache")
    subprocess.run([py, "-m", "compileall", "-q", str(ROOT / "smvault")], env=env, capture_output=True)
    no_bytecode = os.environ.get("PYTHONDONTWRITEBYTECODE") is not None
    say(f"bytecode cache for the CLI runs: {OUT / 'pycache'} (PYTHONPYCACHEPREFIX)"
        + ("; PYTHONDONTWRITEBYTECODE is set in this environment, so runs without that cache are "
           "timed too" if no_bytecode else ""))
    reps = max(args.runs, 9)
    smvault_exe = str(Path(py).parent / "smvault")
    argv = ["--vault", str(vault_dir), "--operator", meta["operator"], "--passphrase-file", str(passfile),
            "totp", meta["cli_account"]]

    # What the CLI imports, and whether Textual is among it.
    cp = subprocess.run([py, "-c", "import sys, smvault.cli.main; print('textual' in sys.modules)"],
                        capture_output=True, text=True, env=env)
    textual_on_import = cp.stdout.strip() == "True"
    cp = subprocess.run([py, "-c", TOTP_IN_PROCESS, *argv], capture_output=True, text=True, env=env)
    info = json.loads(cp.stderr.strip().splitlines()[-1])
    baseline = json.loads(subprocess.run([py, "-c", LIST_MODULES], capture_output=True, text=True,
                                         env=env).stdout)
    loaded = [m for m in info["modules"] if m not in set(baseline) and m != "__main__"]
    row("textual imported by the CLI (import / totp run)",
        f"{'yes' if textual_on_import else 'no'} / {'yes' if info['textual'] else 'no'}", "no",
        verdict(not textual_on_import and not info["textual"]), 1)
    say(f"textual in sys.modules after `import smvault.cli.main`: {textual_on_import}; after a whole "
        f"`totp` run: {info['textual']} (rich: {info['rich']}); {len(loaded)} modules beyond a bare interpreter")

    exe = find_keepassxc(args)
    kxc = None
    if exe is None:
        say("keepassxc-cli not installed (pass --install-keepassxc to apt-get install it): that row is skipped")
    else:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
        kmeta = build_kdbx(exe, version, OUT / "keepassxc")
        kxc = {"exe": exe, "version": version, "meta": kmeta,
               "db": OUT / "keepassxc" / "bench.kdbx", "slow": OUT / "keepassxc" / "bench-slow-kdf.kdbx"}
        say(f"keepassxc-cli {version}: {kmeta['entries']:,} entries with TOTP, imported with `keepassxc-cli "
            f"import` (KDF: {kmeta['kdf_default']}; `db-create`'s default is {kmeta['kdf_db_create_default']}); "
            f"a copy differing only in its KDF ({kmeta['kdf_slow']}) isolates the KDF's cost")

    def smvault_totp(env=env) -> float:
        t, cp = run_timed([smvault_exe, *argv], env=env)
        if cp.returncode != 0 or not re.match(rb"^\d{6}\s", cp.stdout):
            raise SystemExit(f"smvault totp failed: {cp.stdout[:60]!r} {cp.stderr[:300]!r}")
        return t

    def kxc_show(db: Path) -> float:
        t, cp = run_timed([kxc["exe"], "show", "-q", "-t", str(db), kxc["meta"]["entry"]],
                          input_bytes=KXC_PASSWORD + b"\n")
        if cp.returncode != 0 or not re.match(rb"^\d{6}\s*$", cp.stdout):
            raise SystemExit(f"keepassxc-cli show -t failed: {cp.stdout[:40]!r} {cp.stderr[:200]!r}")
        return t

    def argon2() -> float:
        t0 = perf()
        derive_key(bench_data.PASSPHRASE, b"0123456789abcdef", DEFAULT_PROFILE)
        return perf() - t0

    def profiled() -> dict:
        """One `totp` run that times its own phases; its wall time is taken from outside."""
        t0 = perf()
        cp = subprocess.run([py, "-c", CLI_PROFILE, json.dumps(loaded), *argv], capture_output=True,
                            text=True, env=env)
        wall = perf() - t0
        data = json.loads(cp.stderr.strip().splitlines()[-1])
        if data.get("rc") != 0:
            raise SystemExit(f"profiled smvault totp failed: {cp.stderr[-300:]}")
        data["wall"] = wall
        return data

    samples: dict[str, list[float]] = defaultdict(list)
    for i in range(reps + 1):  # the first round warms caches and is dropped
        inside = profiled()
        round_ = {
            "startup": run_timed([py, "-c", "pass"], env=env)[0],
            "startup -S": run_timed([py, "-S", "-c", "pass"], env=env)[0],
            "import cli.main": run_timed([py, "-c", "import smvault.cli.main"], env=env)[0],
            "kdf in bench": argon2(),
            "totp": smvault_totp(),
            **{f"cli {k}": v for k, v in inside.items() if k != "rc"},
        }
        if no_bytecode:
            round_["totp no bytecode"] = smvault_totp(nocache_env)
        if kxc:
            round_["kxc"] = kxc_show(kxc["db"])
            round_["kxc slow"] = kxc_show(kxc["slow"])
        if i:
            for k, v in round_.items():
                samples[k].append(v)

    m = {k: med(v) for k, v in samples.items()}
    kdf_cli = m["cli kdf"]
    # Paired: each profiled process's wall time minus the Argon2id time inside that same
    # process. Robust against load swings between processes (Argon2id uses 4 threads).
    beyond_runs = [w - k for w, k in zip(samples["cli wall"], samples["cli kdf"])]
    beyond = med(beyond_runs)
    imports = m["cli imports"]
    unlock_rest = med([u - k for u, k in zip(samples["cli unlock"], samples["cli kdf"])])
    other = med([w - st - im - mn for w, st, im, mn in zip(samples["cli wall"], samples["startup"],
                                                           samples["cli imports"], samples["cli main"])])
    main_other = med([mn - u - c - cl for mn, u, c, cl in zip(samples["cli main"], samples["cli unlock"],
                                                              samples["cli command"], samples["cli close"])])
    # Distribution of the import time by package (from -X importtime, scaled to the wall time).
    base_own = import_times(subprocess.run([py, "-X", "importtime", "-c", "pass"], capture_output=True,
                                           text=True, env=env).stderr)
    shares: dict[str, list[float]] = defaultdict(list)
    for _ in range(3):
        cp = subprocess.run([py, "-X", "importtime", "-c", TOTP_IN_PROCESS, *argv], capture_output=True,
                            text=True, env=env)
        b = import_buckets(import_times(cp.stderr), set(base_own))
        total_b = sum(b.values()) or 1.0
        for k, v in b.items():
            shares[k].append(v / total_b)
    dist = sorted(((k, med(v + [0.0] * (3 - len(v)))) for k, v in shares.items()), key=lambda kv: -kv[1])
    fsyncs = count_fsyncs([smvault_exe, *argv], env)

    say(f"smvault totp: total {fmt_s(m['totp'])} ({spread(samples['totp'])}); Argon2id inside the CLI "
        f"process {fmt_s(kdf_cli)} (same profile in this bench process: {fmt_s(m['kdf in bench'])}); "
        f"beyond the KDF {fmt_s(beyond)} ({spread(beyond_runs)}; each run's wall time minus its own "
        "Argon2id time)")
    say(f"  = interpreter startup {fmt_s(m['startup'])} + imports {fmt_s(imports)} ({len(loaded)} modules "
        f"beyond a bare interpreter) + unlock beyond the KDF {fmt_s(unlock_rest)} + the totp command and "
        f"its commit {fmt_s(m['cli command'])} + session close {fmt_s(m['cli close'])} + rest of main() "
        f"{fmt_s(main_other)} + interpreter exit/other {fmt_s(other)}")
    say("  import time by package (share, -X importtime): "
        + ", ".join(f"{k} {v * 100:.0f}%" for k, v in dist[:10]))
    if fsyncs is not None:
        say(f"  fsync/fdatasync calls in one `totp` run (strace -c): {fsyncs}")
    row("python -c pass (interpreter startup)", fmt_s(m["startup"]), "", "info", reps)
    row("  python -S -c pass (no site.py: no editable-install finder)", fmt_s(m["startup -S"]), "", "info", reps)
    row("python -c 'import smvault.cli.main'", fmt_s(m["import cli.main"]), "", "info", reps)
    row("smvault totp ACCOUNT, whole process", fmt_s(m["totp"]), "", "info", reps)
    row("  Argon2id KDF, timed inside the CLI process", fmt_s(kdf_cli), "", "info", reps)
    row("  smvault totp beyond the KDF (wall - own KDF, paired)", fmt_s(beyond), "", "info", reps)
    row("    interpreter startup (python -c pass)", fmt_s(m["startup"]), "", "info", reps)
    row(f"    imports ({len(loaded)} modules beyond a bare interpreter)", fmt_s(imports), "", "info", reps)
    for k, v in dist[:6]:
        row(f"      {k} (share of -X importtime)", fmt_s(v * imports), "", "info", "3")
    row("    unlock beyond the KDF (inside the CLI)", fmt_s(unlock_rest), "", "info", reps)
    row("    totp_code(): policy, code, logged commit", fmt_s(m["cli command"]), "", "info", reps)
    row("    Session.close(): anchor write, WAL checkpoint", fmt_s(m["cli close"]), "", "info", reps)
    row("    rest of main(): click, passphrase file, output", fmt_s(main_other), "", "info", reps)
    row("    interpreter exit, process spawn, other", fmt_s(other), "", "info", reps)
    if fsyncs is not None:
        row("    fsync calls in one totp run (strace)", str(fsyncs), "", "info", 1)
    if no_bytecode:
        say(f"  without a bytecode cache for smvault (PYTHONDONTWRITEBYTECODE as set here): "
            f"{fmt_s(m['totp no bytecode'])} total, {fmt_s(m['totp no bytecode'] - kdf_cli)} beyond the KDF")
        row("  same, no .pyc for smvault (PYTHONDONTWRITEBYTECODE=1 here)", fmt_s(m["totp no bytecode"]),
            "", "info", reps)
    RESULTS["cli"] = {"samples": samples, "imports_share": dist, "fsyncs": fsyncs, "modules": loaded}

    target = "<= keepassxc-cli's"
    if not kxc:
        row("keepassxc-cli show -t", "keepassxc-cli not installed", "", "SKIP", "")
        row("smvault totp beyond the KDF vs keepassxc-cli", fmt_s(beyond), target, "SKIP", "")
        return
    r_def, r_slow = _rounds(kxc["meta"]["kdf_default"]), _rounds(kxc["meta"]["kdf_slow"])
    total, total_slow = m["kxc"], m["kxc slow"]
    if r_def and r_slow and r_slow > r_def and total_slow > total:
        # Same entries, same cipher, only the KDF rounds differ: the extra time is the extra
        # rounds, so one round costs (T_slow - T) / (R_slow - R).
        kdf = (total_slow - total) * r_def / (r_slow - r_def)
        how = (f"KDF from two copies differing only in rounds ({r_def:,} vs {r_slow:,}): {fmt_s(total)} vs "
               f"{fmt_s(total_slow)} -> {fmt_s(kdf)} for {r_def:,} rounds")
    else:
        kdf = 0.0
        how = f"could not isolate the KDF ({kxc['meta']['kdf_default']}); counted as 0"
    kbeyond = total - kdf
    say(f"keepassxc-cli show -t: total {fmt_s(total)} ({spread(samples['kxc'])}); {how}; "
        f"beyond its KDF {fmt_s(kbeyond)} (a read-only command: no writes, no fsync)")
    row(f"keepassxc-cli show -t ({kxc['meta']['entries']:,} entries), whole process", fmt_s(total), "", "info", reps)
    row(f"  its KDF ({kxc['meta']['kdf_default']}), by differential", fmt_s(kdf), "", "info", reps)
    row("  keepassxc-cli beyond its KDF", fmt_s(kbeyond), "", "info", reps)
    row("smvault totp beyond the KDF vs keepassxc-cli's", f"{fmt_s(beyond)} vs {fmt_s(kbeyond)}", target,
        verdict(beyond <= kbeyond), reps)
    RESULTS["keepassxc"] = {"version": kxc["version"], "kdf": kdf, "beyond": kbeyond, "meta": kxc["meta"]}


def count_fsyncs(cmd: list[str], env) -> int | None:
    strace = shutil.which("strace")
    if strace is None:
        return None
    out = OUT / ".strace.txt"
    cp = subprocess.run([strace, "-f", "-c", "-o", str(out), "-e",
                         "trace=fsync,fdatasync,msync,sync_file_range", *cmd], capture_output=True, env=env)
    try:
        text = out.read_text()
        out.unlink()
    except OSError:
        return None
    if cp.returncode != 0:
        return None
    total = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[-1] in ("fsync", "fdatasync", "msync", "sync_file_range"):
            total += int(parts[3])
    return total


def smvault_log_verify_cli(args, meta, vault_dir, anchor_dir, passfile) -> None:
    """`smvault log verify` as users run it: time and peak RSS of the whole process."""
    exe = str(Path(sys.executable).parent / "smvault")
    cmd = via_sh([exe, "--vault", str(vault_dir), "--operator", meta["operator"], "--passphrase-file",
                  str(passfile), "log", "verify"])
    t0 = perf()
    proc = subprocess.Popen(cmd, env=clean_env(anchor_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    seconds = perf() - t0
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        say(f"`smvault log verify` failed ({proc.returncode}): {err.decode(errors='replace')[:300]}")
        row("smvault log verify (whole process, + page check)", "failed", "", "MISS", 1)
        return
    say(f"`smvault log verify` (chain + page HMAC check): {fmt_s(seconds)}, "
        f"peak RSS {ru.ru_maxrss / 1024:.0f} MB")
    row("smvault log verify (whole process, + page check)", fmt_s(seconds), "", "info", 1)
    row("  its peak RSS (wait4 ru_maxrss)", f"{ru.ru_maxrss / 1024:.0f} MB", f"<= {T_RSS_MB:.0f} MB",
        verdict(ru.ru_maxrss / 1024 <= T_RSS_MB), 1)


# --------------------------------------------------------------------------- workflows


def run_workflows(args, meta, vault_dir: Path, anchor_dir: Path) -> None:
    """Last: applying a roster sync changes the working copy."""
    from smvault.services.session import unlock

    session = unlock(vault_dir, meta["operator"], bench_data.PASSPHRASE, anchor_dir=anchor_dir)
    try:
        bench_workflows.bench_workflows(
            args, meta, session, vault_dir.parent, row=row, say=say, section=section, fmt_s=fmt_s,
            med=med, spread=spread, verdict=verdict, time_calls=time_calls)
    finally:
        session.close()


# --------------------------------------------------------------------------- break glass


def run_breakglass(args, meta, vault_dir: Path, anchor_dir: Path) -> None:
    """After the workflows: a replacement kit rekeys the working copy, the clock moves forward."""
    bench_breakglass.bench_breakglass(
        args, meta, vault_dir, anchor_dir, row=row, say=say, section=section, fmt_s=fmt_s, med=med,
        spread=spread, verdict=verdict, time_calls=time_calls, phase_timer=PhaseTimer)


# --------------------------------------------------------------------------- data in and out


def run_io(args, meta, vault_dir: Path, anchor_dir: Path) -> None:
    """Reports read the working copy (each logs one entry); imports go into fresh vaults."""
    from smvault.services.session import unlock

    tools = dict(row=row, say=say, section=section, fmt_s=fmt_s, med=med, spread=spread, verdict=verdict)
    session = unlock(vault_dir, meta["operator"], bench_data.PASSPHRASE, anchor_dir=anchor_dir)
    try:
        bench_io.bench_reports(args, session, **tools)
    finally:
        session.close()
    bench_io.bench_imports(args, **tools)


# --------------------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child-verify"]:
        child_verify(*argv[1:5])
        return 0
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small org (500 accounts, 200 people, 5,000 grants, 50,000 log entries)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="cache directory for the built vault (default bench-out/large-vault, "
                             "or bench-out/quick-vault with --quick); reused when built by the same "
                             "generator version")
    parser.add_argument("--runs", type=int, default=5, metavar="N",
                        help="timed runs per figure (default 5; fast queries use more)")
    parser.add_argument("--install-keepassxc", action="store_true",
                        help="apt-get install keepassxc if keepassxc-cli is missing")
    parser.add_argument("--no-cli-verify", action="store_true",
                        help="skip timing `smvault log verify` as a whole process")
    parser.add_argument("--tui-only", action="store_true",
                        help="only the terminal UI figures (start, dashboard, accounts, filter, RSS)")
    parser.add_argument("--workflows-only", action="store_true",
                        help="only the workflow figures (offboarding plan, roster sync)")
    parser.add_argument("--breakglass-only", action="store_true",
                        help="only the break-glass figures (kit create and rekey, recovery unlock, "
                             "unlock hooks, emergency access reveal and lapse)")
    parser.add_argument("--io-only", action="store_true",
                        help="only the data-in-and-out figures (governance reports on the vault, "
                             "a 5,000-row inventory CSV and a 1,000-item Bitwarden JSON import)")
    args = parser.parse_args(argv)
    args.runs = max(1, args.runs)
    for name in SCRUB_ENV:
        os.environ.pop(name, None)
    OUT.mkdir(exist_ok=True)
    t_start = perf()

    sizes = bench_data.QUICK if args.quick else bench_data.LARGE
    say(f"smvault benchmark ({'quick' if args.quick else 'full'}; {args.runs} runs per figure)")
    for key, value in machine_info().items():
        say(f"  {key:<22} {value}")
    load_start = os.getloadavg()
    say(f"  {'load average':<22} {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}"
        + ("  (other work is running: expect noisier figures)" if load_start[0] > 0.5 else ""))

    meta, vault_dir, anchor_dir, passfile = prepare_vault(args, sizes)
    if args.tui_only:
        bench_tui(args, meta, vault_dir, anchor_dir, passfile)
        print_table()
        return 0
    if args.workflows_only:
        run_workflows(args, meta, vault_dir, anchor_dir)
        print_table()
        return 0
    if args.breakglass_only:
        run_breakglass(args, meta, vault_dir, anchor_dir)
        print_table()
        return 0
    if args.io_only:
        run_io(args, meta, vault_dir, anchor_dir)
        print_table()
        return 0
    bench_unlock(args, meta, vault_dir, anchor_dir)

    from smvault.services.session import unlock

    session = unlock(vault_dir, meta["operator"], bench_data.PASSPHRASE, anchor_dir=anchor_dir)
    try:
        bench_queries(args, meta, session)
        bench_verify(args, session)
    finally:
        session.close()
    bench_rss(args, meta, vault_dir, anchor_dir, passfile)
    if not args.no_cli_verify:
        smvault_log_verify_cli(args, meta, vault_dir, anchor_dir, passfile)
    session = unlock(vault_dir, meta["operator"], bench_data.PASSPHRASE, anchor_dir=anchor_dir)
    try:
        bench_appends(args, meta, session)
    finally:
        session.close()
    bench_cli(args, meta, vault_dir, anchor_dir, passfile)
    bench_tui(args, meta, vault_dir, anchor_dir, passfile)
    run_io(args, meta, vault_dir, anchor_dir)
    run_workflows(args, meta, vault_dir, anchor_dir)
    run_breakglass(args, meta, vault_dir, anchor_dir)

    section("Memory")
    peak = maxrss_kib() / 1024
    hwm = proc_status("VmHWM")
    say(f"bench process peak RSS: ru_maxrss {peak:.0f} MB" + (f", VmHWM {hwm / 1024:.0f} MB" if hwm else ""))
    row("peak RSS of this whole bench process", f"{peak:.0f} MB", "", "info", 1)

    load_end = os.getloadavg()
    say(f"load average at the end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f} "
        f"on {os.cpu_count()} cores")
    RESULTS["load"] = {"start": load_start, "end": load_end}
    print_table()
    say(f"\nbench took {perf() - t_start:.0f} s; results also in "
        f"{OUT / ('results-quick.json' if args.quick else 'results-large.json')}")
    RESULTS["rows"] = [r.__dict__ for r in ROWS]
    RESULTS["meta"] = meta
    (OUT / ("results-quick.json" if args.quick else "results-large.json")).write_text(
        json.dumps(RESULTS, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
