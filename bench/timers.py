"""The deadline sweep over many open cases.

    python bench/timers.py [--quick] [--cases N] [--due N] [--db URL]

Builds N open cases (default 100,000; 10,000 with --quick), each accepted and with its
decision and step clocks armed (four to five deadline rows per case), then measures:

* a sweep when nothing is due, on N cases and on a baseline of 1,000 cases built the
  same way in the same run (the ratio shows whether the sweep depends on N);
* a sweep when ``--due`` deadlines (default 1,000; 200 with --quick) are due, per firing,
  against the same on the 1,000-case baseline; the median of three such sweeps, the same
  deadlines armed again between them.

The cases are built by ``bench/population.py`` (one made by the engine, the rest bulk
copies). The due deadlines are warnings, which notify and record without touching the
workflow. Prints figures, then one JSON object
as the last line.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402

from bench.population import build  # noqa: E402
from engine import people  # noqa: E402
from engine.store.models import Deadline  # noqa: E402
from timers import sweep  # noqa: E402

#: due sweeps measured; the median is reported
ROUNDS = 3

def measure(url: str, cases: int, due: int) -> dict:
    db, engine = build(url, cases, due)
    with db.reader() as session:
        deadlines = session.scalar(select(func.count(Deadline.id)))
    # Nothing due: move the due ones out of the way first, then time a few empty sweeps.
    with db.transaction() as session:
        session.execute(update(Deadline).where(Deadline.due_at < engine.now()).values(state="paused"))
    empty = []
    for _ in range(5):
        start = time.perf_counter()
        report = sweep(engine, engine.now())
        empty.append(time.perf_counter() - start)
        assert report.fired == 0
    with db.transaction() as session:
        session.execute(update(Deadline).where(Deadline.state == "paused").values(state="armed"))
        ids = list(session.scalars(select(Deadline.id).where(Deadline.state == "armed", Deadline.due_at <= engine.now())))
    # The due sweep in rounds, the median taken (one sweep is a fraction of a second: a burst of
    # other work on the machine would decide it). Between rounds the same deadlines are armed
    # again; firing a warning twice is a firing like the first (a message, the task's alert).
    sweeps = []
    for round_ in range(ROUNDS):
        if round_:
            with db.transaction() as session:
                session.execute(update(Deadline).where(Deadline.id.in_(ids)).values(state="armed", fired_at=None))
        start, cpu = time.perf_counter(), time.process_time()
        report = sweep(engine, engine.now())
        sweeps.append((time.perf_counter() - start, time.process_time() - cpu))
        assert report.fired == due and not report.failed, report.to_dict()
    db.dispose()
    elapsed, cpu = statistics.median(s[0] for s in sweeps), statistics.median(s[1] for s in sweeps)
    return {"cases": cases, "deadlines": deadlines, "empty_sweep_ms": min(empty) * 1000,
            "due": due, "due_sweep_s": elapsed, "per_firing_ms": elapsed / due * 1000,
            "per_firing_cpu_ms": cpu / due * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 cases, 200 due (under 30 seconds)")
    parser.add_argument("--cases", type=int)
    parser.add_argument("--due", type=int)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    cases = args.cases or (10_000 if args.quick else 100_000)
    due = args.due or (200 if args.quick else 1_000)
    people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # seeding users is not what is measured

    with tempfile.TemporaryDirectory() as tmp:
        def url(name: str) -> str:
            return args.db or f"sqlite:///{Path(tmp) / name}"

        baseline = measure(url("baseline.db"), 1_000, min(due, 100))
        big = measure(url("big.db"), cases, due)

    result = {
        "database": "postgresql" if (args.db or "").startswith("postgresql") else "sqlite",
        "cases": big["cases"], "deadlines": big["deadlines"],
        "empty_sweep_ms": round(big["empty_sweep_ms"], 3),
        "empty_sweep_ms_baseline_1k": round(baseline["empty_sweep_ms"], 3),
        "empty_sweep_ratio": round(big["empty_sweep_ms"] / baseline["empty_sweep_ms"], 2),
        "due": due, "due_sweep_s": round(big["due_sweep_s"], 3),
        "per_firing_ms": round(big["per_firing_ms"], 3),
        "per_firing_ms_baseline_1k": round(baseline["per_firing_ms"], 3),
        "per_firing_ratio": round(big["per_firing_ms"] / baseline["per_firing_ms"], 2),
        # this process's CPU: steadier on a busy machine (on PostgreSQL it leaves out the server's work)
        "per_firing_cpu_ms": round(big["per_firing_cpu_ms"], 3),
    }
    print(f"{result['cases']:,} open cases, {result['deadlines']:,} deadline rows ({result['database']})")
    print(f"sweep, nothing due:   {result['empty_sweep_ms']:.2f} ms "
          f"(1,000 cases: {result['empty_sweep_ms_baseline_1k']:.2f} ms; ratio {result['empty_sweep_ratio']})")
    print(f"sweep, {due:,} due:     {result['due_sweep_s']:.2f} s, {result['per_firing_ms']:.2f} ms per firing "
          f"(1,000 cases: {result['per_firing_ms_baseline_1k']:.2f} ms; ratio {result['per_firing_ratio']})")
    print(f"                      {result['per_firing_cpu_ms']:.2f} ms of this process's CPU per firing")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
