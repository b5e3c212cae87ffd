"""The deadline sweep over many open cases.

    python bench/timers.py [--quick] [--cases N] [--due N] [--db URL]

Builds N open cases (default 100,000; 10,000 with --quick), each accepted and with its
decision and step clocks armed (four to five deadline rows per case), then measures:

* a sweep when nothing is due, on N cases and on a baseline of 1,000 cases built the
  same way in the same run (the ratio shows whether the sweep depends on N);
* a sweep when ``--due`` deadlines (default 1,000; 200 with --quick) are due, per firing,
  against the same on the 1,000-case baseline.

One case is created through the engine; the others are bulk copies of its rows with
fresh numbers, keys and ids, so that building 100,000 cases takes seconds rather than
the quarter of an hour 400,000 commands would. The due deadlines are warnings, which
notify and record without touching the workflow. Prints figures, then one JSON object
as the last line.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, update  # noqa: E402

from engine import Actor, Database, Engine, FixedClock  # noqa: E402
from engine import people  # noqa: E402
from engine.commands import CompleteTask, StartCase  # noqa: E402
from engine.demo import seed  # noqa: E402
from engine.models import Base, Case, Clock, Deadline, Task  # noqa: E402
from engine.people import actor_for  # noqa: E402
from engine.workdays import seed_from_chinesecalendar  # noqa: E402
from timers import sweep  # noqa: E402

START = "2026-03-02T09:00:00+08:00"
CHUNK = 5000


def _columns(row, skip=("id",)) -> dict:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}


def build(url: str, cases: int, due: int) -> tuple[Database, Engine]:
    """A database with ``cases`` accepted cases; ``due`` of them have their warning due."""
    db = Database(url)
    Base.metadata.drop_all(db.engine)
    db.create_schema()
    clock = FixedClock(START)
    engine = Engine(db, clock)
    with db.transaction() as session:
        seed(session, clock.now())
        seed_from_chinesecalendar(session)
    with db.reader() as session:
        clerk = actor_for(session, "chuangkou")
    template = engine.execute(StartCase(item="GENERAL", applicant="模板"), Actor.applicant("模板"))
    with db.reader() as session:
        task_id = session.scalar(select(Task.id).where(Task.case_id == template.id, Task.state == "ready"))
    engine.execute(CompleteTask(task=task_id, data={"acceptance": "accept"}), clerk)

    with db.reader() as session:
        case = session.get(Case, template.id)
        case_row = _columns(case)
        case_row["workflow_state"] = session.scalar(select(Case.workflow_state).where(Case.id == case.id))
        tasks = [_columns(t) for t in session.scalars(select(Task).where(Task.case_id == case.id,
                                                                         Task.state == "ready"))]
        clocks = list(session.scalars(select(Clock).where(Clock.case_id == case.id, Clock.state == "running")))
        clock_rows = [(c.id, _columns(c)) for c in clocks]
        deadline_rows = [_columns(d) for d in session.scalars(
            select(Deadline).where(Deadline.case_id == case.id, Deadline.state == "armed"))]
    past = clock.now() - timedelta(hours=1)

    with db.engine.begin() as conn:
        next_case = conn.scalar(select(func.max(Case.id))) + 1
        next_task = conn.scalar(select(func.max(Task.id))) + 1
        next_clock = conn.scalar(select(func.max(Clock.id))) + 1
        for first in range(0, cases - 1, CHUNK):
            batch = range(first, min(first + CHUNK, cases - 1))
            case_values, task_values, clock_values, deadline_values = [], [], [], []
            for i in batch:
                case_id = next_case + i
                case_values.append({**case_row, "id": case_id, "number": f"BENCH-{i:07d}",
                                    "key": str(uuid.uuid4()), "applicant": f"申请人{i}"})
                task_ids = {}
                for n, t in enumerate(tasks):
                    task_ids[t["spiff_id"]] = next_task + i * len(tasks) + n
                    task_values.append({**t, "id": task_ids[t["spiff_id"]], "case_id": case_id,
                                        "spiff_id": str(uuid.uuid4())})
                clock_ids = {}
                for n, (old_id, c) in enumerate(clock_rows):
                    clock_ids[old_id] = next_clock + i * len(clock_rows) + n
                    clock_values.append({**c, "id": clock_ids[old_id], "case_id": case_id,
                                         "task_id": next(iter(task_ids.values())) if c["task_id"] else None})
                for d in deadline_rows:
                    row = {**d, "case_id": case_id, "clock_id": clock_ids[d["clock_id"]]}
                    if i < due and d["key"] == "decision/warning":
                        row["due_at"] = past
                    deadline_values.append(row)
            conn.execute(insert(Case), case_values)
            conn.execute(insert(Task), task_values)
            conn.execute(insert(Clock), clock_values)
            conn.execute(insert(Deadline), deadline_values)
        if not db.is_sqlite:
            for table in ("cases", "tasks", "case_clocks", "deadlines"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
            conn.exec_driver_sql("ANALYZE")
    return db, engine


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
    start = time.perf_counter()
    report = sweep(engine, engine.now())
    elapsed = time.perf_counter() - start
    assert report.fired == due and not report.failed, report.to_dict()
    db.dispose()
    return {"cases": cases, "deadlines": deadlines, "empty_sweep_ms": min(empty) * 1000,
            "due": due, "due_sweep_s": elapsed, "per_firing_ms": elapsed / due * 1000}


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
    }
    print(f"{result['cases']:,} open cases, {result['deadlines']:,} deadline rows ({result['database']})")
    print(f"sweep, nothing due:   {result['empty_sweep_ms']:.2f} ms "
          f"(1,000 cases: {result['empty_sweep_ms_baseline_1k']:.2f} ms; ratio {result['empty_sweep_ratio']})")
    print(f"sweep, {due:,} due:     {result['due_sweep_s']:.2f} s, {result['per_firing_ms']:.2f} ms per firing "
          f"(1,000 cases: {result['per_firing_ms_baseline_1k']:.2f} ms; ratio {result['per_firing_ratio']})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
