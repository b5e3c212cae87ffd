"""Replay speed: a batch of recorded histories of the benchmark diagram, against the raw
SpiffWorkflow step measured in the same run.

    python bench/replay.py [--quick] [--histories N] [--processes N]

Records N cases (default 1,000; 100 with --quick) of the three-step approval of
bench/engine_throughput.py (受理 → 审查 → 决定, one in ten refused at the decision) through
the engine on a SQLite file, exports their histories, then replays them:

- one process, one ``Replayer`` for the whole batch (the throw-away database prepared once):
  milliseconds per replayed command and histories per second;
- the old way on a sample — a fresh database built for each history — for comparison;
- ``replay_item`` (what ``approvals replay --item`` runs): one worker process per core, each
  reading its cases from the database, histories per second including the export;
- raw SpiffWorkflow running the same steps in memory (no database, no history), the baseline:
  the per-replayed-command cost is printed as a ratio against its step.

The shipped histories in tests/histories are replayed too, as a check. Prints figures, then
one JSON object as the last line.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.engine_throughput import STEPS, run_raw_spiff  # noqa: E402
from cli.demo import seed  # noqa: E402
from engine import Actor, Database, Engine, FixedClock, people  # noqa: E402
from engine.commands import CompleteTask, StartCase  # noqa: E402
from engine.people import actor_for  # noqa: E402
from engine.replay import Replayer, cores, export_case, load_history, replay, replay_item  # noqa: E402
from engine.store.models import Case, Task  # noqa: E402
from tests.histories.scenarios import HERE  # noqa: E402

DIAGRAM = ROOT / "bpmn" / "general_approval.bpmn"
START = "2026-03-02T09:00:00+08:00"


def record(db: Database, cases: int) -> None:
    """``cases`` cases of the benchmark diagram, a few minutes apart, each run to its end."""
    clock = FixedClock(START)
    with db.transaction() as session:
        seed(session, clock.now())
    with db.reader() as session:
        actors = {name: actor_for(session, name) for name, _ in STEPS}
    engine = Engine(db, clock)
    at = clock.now()
    for i in range(cases):
        at += timedelta(minutes=3)
        case = engine.execute(StartCase(item="GENERAL", applicant=f"申请人{i}"), Actor.applicant(f"申请人{i}"), at=at)
        for username, data in STEPS:
            opinion = ""
            if i % 10 == 9 and "decision" in data:
                data, opinion = {"decision": "deny"}, "不符合许可条件"
            with db.reader() as session:
                task_id = session.scalar(select(Task.id).where(Task.case_id == case.id, Task.state == "ready"))
            at += timedelta(minutes=1)
            engine.execute(CompleteTask(task=task_id, data=data, opinion=opinion), actors[username], at=at)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 histories (under a minute)")
    parser.add_argument("--histories", type=int)
    parser.add_argument("--processes", type=int, help="worker processes for the batch (default: one per core)")
    args = parser.parse_args()
    count = args.histories or (100 if args.quick else 1000)
    sample = min(count, 20 if args.quick else 50)
    processes = args.processes or cores()
    people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # seeding is not what is measured

    shipped = [load_history(p.read_bytes()) for p in sorted(HERE.glob("*.json"))]
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/recorded.db")
        db.create_schema()
        start = time.perf_counter()
        record(db, count)
        record_s = time.perf_counter() - start
        start = time.perf_counter()
        with db.reader() as session:
            histories = [export_case(session, case) for case in session.scalars(select(Case).order_by(Case.id))]
        export_s = time.perf_counter() - start
        commands = sum(len(h["commands"]) for h in histories)

        replayer = Replayer()
        assert all(replayer.replay(h).same for h in shipped), "a shipped history no longer replays the same"
        replayer.replay(histories[0])  # parse the diagram and prepare once, as any batch does first
        start = time.perf_counter()
        results = [replayer.replay(h) for h in histories]
        batch_s = time.perf_counter() - start
        replayer.close()
        assert all(r.same for r in results), next(r.summary() for r in results if not r.same)

        start = time.perf_counter()
        for h in histories[:sample]:  # the old way: a fresh database (schema, directory, deploy) per history
            fresh = replay(h)
            assert fresh.same, fresh.summary()  # say why, should it ever diverge
        fresh_s = (time.perf_counter() - start) / sample

        bpmn = DIAGRAM.read_bytes()
        start = time.perf_counter()
        report = replay_item(db, "GENERAL", bpmn, DIAGRAM.name, processes=processes)
        parallel_s = time.perf_counter() - start
        assert report.counts() == {"same": count, "diverged": 0, "failed": 0}, report.counts()
        db.dispose()

    raw_cases = max(count, 200)
    run_raw_spiff(5)  # warm
    raw_s, _raw_cpu = run_raw_spiff(raw_cases)  # wall and CPU seconds; replay compares wall time
    raw_step_ms = raw_s * 1000 / (raw_cases * (1 + len(STEPS)))
    replay_ms = batch_s * 1000 / commands
    result = {
        "bench": "replay", "histories": count, "commands": commands,
        "commands_per_history": round(commands / count, 2),
        "record_ms_per_command": round(record_s * 1000 / commands, 3),
        "export_ms_per_history": round(export_s * 1000 / count, 2),
        "replay_ms_per_command": round(replay_ms, 3),
        "replay_ms_per_history": round(batch_s * 1000 / count, 2),
        "histories_per_s_one_process": round(count / batch_s, 1),
        "fresh_database_ms_per_history": round(fresh_s * 1000, 2),
        "prepare_once_speedup": round(fresh_s / (batch_s / count), 2),
        "processes": report.processes,
        "histories_per_s_all_processes": round(count / parallel_s, 1),
        "raw_spiff_ms_per_step": round(raw_step_ms, 4),
        "replay_vs_raw_ratio": round(replay_ms / raw_step_ms, 1),
        "replay_vs_record_ratio": round(replay_ms / (record_s * 1000 / commands), 2),
        "shipped_histories_same": len(shipped),
    }
    print(f"{count} recorded histories of {DIAGRAM.name}, {commands} commands "
          f"({result['commands_per_history']} per history)")
    print(f"  recording live:            {result['record_ms_per_command']:>9} ms/command")
    print(f"  replay, one process:       {result['replay_ms_per_command']:>9} ms/command  "
          f"{result['histories_per_s_one_process']:>7} histories/s")
    print(f"  replay, fresh db each:     {result['fresh_database_ms_per_history']:>9} ms/history  "
          f"(batch: {result['replay_ms_per_history']} ms/history, {result['prepare_once_speedup']}× faster)")
    print(f"  replay --item, {report.processes} processes: {result['histories_per_s_all_processes']:>7} histories/s "
          f"(with export)")
    print(f"  raw SpiffWorkflow step:    {result['raw_spiff_ms_per_step']:>9} ms  "
          f"→ a replayed command costs {result['replay_vs_raw_ratio']}× the raw step")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
