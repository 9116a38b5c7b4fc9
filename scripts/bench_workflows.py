"""Workflow figures for scripts/bench: the offboarding plan and a roster sync on the large vault.

Targets (issue 4): the offboarding plan for a person holding 500 grants <= 100 ms; a roster
sync of a 2,000-row CSV <= 1 s. Both run against the working copy, after every other figure,
because applying a sync changes the vault.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

T_OFFBOARD_PLAN = 0.100
T_ROSTER_SYNC = 1.0


def roster_csv(session, path: Path, rows: int, seed: int = 7) -> dict[str, int]:
    """An HR export built from the vault's people: most unchanged, some new, changed, ending.

    Everyone in the vault who has not left appears (so nobody is "gone"), then new hires fill
    the file up to `rows`. Returns how many of each kind of change it holds.
    """
    rng = random.Random(seed)
    today = session.now().date()
    people = [p for p in session.vault.people.all() if p.status(today).value != "left"]
    kinds = {"unchanged": 0, "changed": 0, "ending": 0, "new": 0}
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["Work Email", "Full Name", "Department", "Worker Type", "Status", "End Date"])
        for person in people[:rows]:
            team, end, status = person.team or "", "", "active"
            roll = rng.random()
            if roll < 0.05:
                team, kinds["changed"] = f"{team} (reorg)", kinds["changed"] + 1
            elif roll < 0.06 and person.leave_on is None:
                end, status = (today.replace(day=28) if today.day < 28 else today).isoformat(), "leaving"
                kinds["ending"] += 1
            else:
                kinds["unchanged"] += 1
            out.writerow([person.email, person.name, team, person.type.value, status, end])
        for i in range(rows - min(rows, len(people))):
            out.writerow([f"new.hire{i:05d}@corp.example", f"New Hire {i}", "Social", "employee", "active", ""])
            kinds["new"] += 1
    return kinds


ROSTER_MAPPING = {"email": "Work Email", "name": "Full Name", "team": "Department", "type": "Worker Type",
                  "status": "Status", "end_date": "End Date"}


def bench_workflows(args, meta, session, out_dir: Path, *, row, say, section, fmt_s, med, spread,
                    verdict, time_calls) -> None:
    from smvault.services.offboarding import plan_offboarding
    from smvault.services.roster import apply_roster_sync, plan_roster_sync

    section("Workflows")
    heavy = meta["heavy_person"]
    reps = max(args.runs * 3, 15)
    times, plan = time_calls(lambda: plan_offboarding(session, heavy), reps)
    did = sum(1 for s in plan.steps if s.learned == "did")
    could = sum(1 for s in plan.steps if s.learned == "could")
    say(f"offboarding plan for {heavy} ({meta['heavy_person_open_grants']} open grants): "
        f"{len(plan.steps)} steps ({did} did-learn and {could} could-learn rotations, "
        f"{len(plan.blocking)} accounts blocking close); {spread(times)}")
    row(f"offboarding plan, person with {meta['heavy_person_open_grants']} grants", fmt_s(med(times)),
        f"<= {fmt_s(T_OFFBOARD_PLAN)}", verdict(med(times) <= T_OFFBOARD_PLAN), reps)

    path = out_dir / "roster.csv"
    kinds = roster_csv(session, path, 2000)
    say(f"roster CSV: 2,000 rows ({', '.join(f'{n} {k}' for k, n in kinds.items())})")
    times, sync = time_calls(lambda: plan_roster_sync(session, path, ROSTER_MAPPING), max(args.runs, 3), warmup=1)
    row("roster sync dry run, 2,000-row CSV", fmt_s(med(times)), f"<= {fmt_s(T_ROSTER_SYNC)}",
        verdict(med(times) <= T_ROSTER_SYNC), len(times))
    # Applying changes the vault, so it is timed once (on the working copy).
    apply_times, _ = time_calls(lambda: apply_roster_sync(session, path, ROSTER_MAPPING), 1, warmup=0)
    row("roster sync --apply, 2,000-row CSV (one transaction)", fmt_s(apply_times[0]),
        f"<= {fmt_s(T_ROSTER_SYNC)}", verdict(apply_times[0] <= T_ROSTER_SYNC), 1)
