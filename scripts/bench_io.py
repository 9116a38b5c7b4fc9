"""Data in and out, for scripts/bench: imports (rows per second) and governance reports.

Issue 6 asks for: the import of a 5,000-row inventory CSV and of a 1,000-entry Bitwarden JSON
(rows per second, for the dry run and for --apply), and the full access-matrix report on the
large vault in <= 2 s (built, logged and rendered). Imports go into a fresh vault each run, so
every run creates the same 5,000 accounts; the reports read the working copy of the large
vault (each one appends its `report.run` entry).
"""

from __future__ import annotations

import base64
import csv
import json
import random
import tempfile
import time
from pathlib import Path

import bench_data

perf = time.perf_counter

T_ACCESS_MATRIX = 2.0
INVENTORY_ROWS = 5000
BITWARDEN_ITEMS = 1000
_PLATFORMS = ("x", "instagram", "facebook", "linkedin", "youtube", "tiktok")
_HOSTS = {"x": "x.com", "instagram": "instagram.com", "facebook": "facebook.com",
          "linkedin": "linkedin.com/company", "youtube": "youtube.com/@", "tiktok": "tiktok.com/@"}


def _seed(rng: random.Random) -> str:
    return base64.b32encode(rng.randbytes(20)).decode().rstrip("=")


def _password(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%") for _ in range(20))


def inventory_csv(path: Path, rows: int, seed: int = 11) -> None:
    """An inventory as a team keeps it in a spreadsheet: one account per row, with secrets."""
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["Platform", "Handle", "Brand", "Region", "Tier", "Login ID", "Recovery Email",
                      "Password", "TOTP"])
        for n in range(rows):
            platform = _PLATFORMS[n % len(_PLATFORMS)]
            out.writerow([platform, f"brand{n:05d}", f"Brand {n % 97}", ("EMEA", "AMER", "APAC")[n % 3],
                          1 + n % 3, f"social{n:05d}@example.com", f"recovery{n:05d}@example.com",
                          _password(rng), _seed(rng)])


def bitwarden_json(path: Path, items: int, seed: int = 13) -> None:
    """An unencrypted Bitwarden export: logins with a URI naming the account, TOTP on most."""
    rng = random.Random(seed)
    entries = []
    for n in range(items):
        platform = _PLATFORMS[n % len(_PLATFORMS)]
        host = _HOSTS[platform]
        handle = f"bw{n:05d}"
        uri = f"https://{host}{'' if host.endswith('@') else '/'}{handle}"
        totp = (f"otpauth://totp/{platform}:{handle}?secret={_seed(rng)}&issuer={platform}"
                if n % 4 else None)
        entries.append({
            "id": f"00000000-0000-4000-8000-{n:012d}", "organizationId": None, "folderId": None,
            "type": 1, "name": f"{platform} {handle}", "notes": None, "favorite": False,
            "login": {"uris": [{"match": None, "uri": uri}], "username": f"{handle}@example.com",
                      "password": _password(rng), "totp": totp},
            "collectionIds": None,
        })
    path.write_text(json.dumps({"encrypted": False, "folders": [], "items": entries}))


def _fresh_session(directory: Path):
    from smvault.services.session import create_vault

    return create_vault(directory, "bench", bench_data.PASSPHRASE, email="bench@example.com",
                        person_name="Bench Operator")


def _bench_import(label: str, fmt: str, path: Path, rows: int, runs: int, tmp: Path, tools) -> None:
    from smvault.services import importer

    row, say, fmt_s, med, spread = (tools[k] for k in ("row", "say", "fmt_s", "med", "spread"))
    parse_t, plan_t, apply_t = [], [], []
    for run in range(runs):
        session = _fresh_session(tmp / f"{fmt}-{run}")
        try:
            start = perf()
            imported = importer.read_import(path, fmt)
            parse_t.append(perf() - start)
            start = perf()
            plan = importer.plan_import(session, imported)
            plan_t.append(perf() - start)
            start = perf()
            result = importer.apply_import(session, imported)
            apply_t.append(perf() - start)
        finally:
            session.close()
        if len(plan.creates) != rows or result.created != rows or plan.problems:
            raise SystemExit(f"bench: {label}: expected {rows} creates, got {len(plan.creates)} planned, "
                             f"{result.created} created, {len(plan.problems)} problems")
    dry = med(parse_t) + med(plan_t)
    say(f"{label}: read+parse {fmt_s(med(parse_t))}, plan {fmt_s(med(plan_t))}, "
        f"apply {fmt_s(med(apply_t))} ({spread(apply_t)})")
    row(f"{label}: dry run (read, parse, plan)", f"{rows / dry:,.0f} rows/s ({fmt_s(dry)})", "", "info", runs)
    row(f"{label}: --apply (one transaction, a log entry per change)",
        f"{rows / med(apply_t):,.0f} rows/s ({fmt_s(med(apply_t))})", "", "info", runs)


def bench_imports(args, *, row, say, section, fmt_s, med, spread, **_) -> None:
    section("Imports")
    tools = dict(row=row, say=say, fmt_s=fmt_s, med=med, spread=spread)
    runs = max(1, min(args.runs, 3))
    with tempfile.TemporaryDirectory(prefix="smvault-bench-import-") as name:
        tmp = Path(name)
        inventory = tmp / "inventory.csv"
        inventory_csv(inventory, INVENTORY_ROWS)
        _bench_import(f"inventory CSV, {INVENTORY_ROWS:,} rows", "csv", inventory, INVENTORY_ROWS, runs, tmp, tools)
        export = tmp / "bitwarden.json"
        bitwarden_json(export, BITWARDEN_ITEMS)
        _bench_import(f"Bitwarden JSON, {BITWARDEN_ITEMS:,} items", "bitwarden", export, BITWARDEN_ITEMS,
                      runs, tmp, tools)


def bench_reports(args, session, *, row, say, section, fmt_s, med, spread, verdict, **_) -> None:
    from smvault.services.reports import REPORTS, build_report

    section("Reports")
    runs = max(1, args.runs)
    for name in REPORTS:
        times, size = [], 0
        for _ in range(runs if name == "access-matrix" else 1):
            start = perf()
            report = build_report(session, name)
            rendered = [report.render(fmt) for fmt in ("md", "csv", "json")]
            times.append(perf() - start)
            size = sum(len(t.rows) for t in report.tables)
        say(f"report {name}: {fmt_s(med(times))} for {size:,} rows (built, logged, rendered md+csv+json; "
            f"{sum(len(r) for r in rendered) / 1e6:.1f} MB of text)")
        if name == "access-matrix":
            row("access-matrix report, built + md/csv/json", fmt_s(med(times)), f"<= {fmt_s(T_ACCESS_MATRIX)}",
                verdict(med(times) <= T_ACCESS_MATRIX), runs)
        else:
            row(f"{name} report, built + md/csv/json", f"{fmt_s(med(times))} ({size:,} rows)", "", "info", 1)
