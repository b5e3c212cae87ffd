"""Replay speed: a batch of recorded histories of the benchmark diagram, against the raw
SpiffWorkflow step measured in the same run, and the batch spread over every core.

    python bench/replay.py [--quick] [--histories N] [--rounds N] [--processes N] [--method fork|spawn]

Records N cases (default 1,000; 100 with --quick) of the three-step approval of
bench/engine_throughput.py (受理 → 审查 → 决定, one in ten refused at the decision) through
the engine on a SQLite file, exports their histories, then replays them:

- one process, one ``Replayer`` for the whole batch (the throw-away database prepared once), in
  rounds that alternate with raw SpiffWorkflow running the same steps in memory (no database, no
  history), as bench/engine_throughput.py does: the ratio of a replayed command to the raw step
  is the median of the rounds' ratios, by wall clock and by this process's CPU time (a busy
  machine slows both alike). Time spent outside ``Engine.execute`` — replay's own work per
  history (restoring the prepared database, comparing, looking up actors) — is printed apart;
- the old way on a sample — a fresh database built for each history — for comparison;
- ``replay_item`` (what ``approvals replay --item`` runs, export included) in one process and
  in one process per core, alternately: the speed-up by wall clock and by CPU time (this
  process's CPU plus the busiest worker's: what the wall clock shows when each process has a
  core to itself, whatever else runs on the machine).

The shipped histories in tests/histories are replayed too, as a check. Prints figures, then
one JSON object as the last line.
"""
from __future__ import annotations

import argparse
import json
import statistics
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


def _rounds(histories: list[dict], replayer: Replayer, rounds: int) -> dict:
    """Replay ``histories`` in ``rounds`` slices, each followed by raw SpiffWorkflow on as many
    cases (at least 50); per round the wall and CPU milliseconds per replayed command, per raw
    step, and the time in ``Engine.execute``."""
    engine = replayer._engine
    inside = [0.0, 0.0]
    execute = engine.execute

    def timed(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return execute(*args, **kwargs)
        finally:
            inside[0] += time.perf_counter() - t0
            inside[1] += time.process_time() - c0

    engine.execute = timed  # this instance only; the replayer keeps one engine for its database
    size = -(-len(histories) // rounds)
    out = {"replay_ms": [], "replay_cpu_ms": [], "raw_ms": [], "raw_cpu_ms": [], "own_ms": [], "own_cpu_ms": []}
    try:
        for r in range(rounds):
            batch = histories[r * size:(r + 1) * size]
            if not batch:
                break
            commands = sum(len(h["commands"]) for h in batch)
            inside[:] = [0.0, 0.0]
            t0, c0 = time.perf_counter(), time.process_time()
            results = [replayer.replay(h) for h in batch]
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            assert all(x.same for x in results), next(x.summary() for x in results if not x.same)
            out["replay_ms"].append(wall * 1000 / commands)
            out["replay_cpu_ms"].append(cpu * 1000 / commands)
            out["own_ms"].append((wall - inside[0]) * 1000 / len(batch))
            out["own_cpu_ms"].append((cpu - inside[1]) * 1000 / len(batch))
            raw_cases = max(len(batch), 50)
            raw_s, raw_cpu = run_raw_spiff(raw_cases)
            out["raw_ms"].append(raw_s * 1000 / (raw_cases * (1 + len(STEPS))))
            out["raw_cpu_ms"].append(raw_cpu * 1000 / (raw_cases * (1 + len(STEPS))))
    finally:
        del engine.execute
    return out


def _scaling(db: Database, processes: int, method: str | None, pairs: int, count: int) -> dict:
    """``replay_item`` in one process and in ``processes``, alternately, ``pairs`` times each."""
    bpmn = DIAGRAM.read_bytes()
    one, many = [], []
    for _ in range(pairs):
        for runs, n in ((one, 1), (many, processes)):
            report = replay_item(db, "GENERAL", bpmn, DIAGRAM.name, processes=n, method=method)
            assert report.counts() == {"same": count, "diverged": 0, "failed": 0}, report.counts()
            assert [r.case for r in report.rows] == sorted(r.case for r in report.rows)
            runs.append(report)
    critical = [r.cpu_self + max(r.cpu_workers.values(), default=0.0) for r in many]
    return {
        "processes": many[0].processes, "method": many[0].method,
        "one_s": statistics.median(r.seconds for r in one), "many_s": statistics.median(r.seconds for r in many),
        "one_cpu_s": statistics.median(r.cpu_self for r in one),
        "many_critical_cpu_s": statistics.median(critical),
        "many_total_cpu_s": statistics.median(r.cpu_self + sum(r.cpu_workers.values()) for r in many),
        "speedup": statistics.median(a.seconds / b.seconds for a, b in zip(one, many)),
        "cpu_speedup": statistics.median(a.cpu_self / c for a, c in zip(one, critical)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 histories (under 30 s)")
    parser.add_argument("--histories", type=int)
    parser.add_argument("--rounds", type=int, help="replay rounds alternating with raw SpiffWorkflow")
    parser.add_argument("--processes", type=int, help="worker processes for the batch (default: one per core)")
    parser.add_argument("--method", choices=("fork", "spawn"), help="how workers start (default: as replay_item)")
    args = parser.parse_args()
    count = args.histories or (100 if args.quick else 1000)
    rounds = args.rounds or (5 if args.quick else 10)
    sample = min(count, 10 if args.quick else 50)
    pairs = 1 if args.quick else 2
    processes = args.processes or max(2, cores())
    people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # seeding is not what is measured

    shipped = [load_history(p.read_bytes()) for p in sorted(HERE.glob("*.json"))]
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/recorded.db")
        db.create_schema()
        start = time.perf_counter()
        record(db, count)
        record_s = time.perf_counter() - start
        with db.reader() as session:
            cases = list(session.scalars(select(Case).order_by(Case.id)))
            start = time.perf_counter()
            for case in cases[:sample]:
                export_case(session, case)
            export_s = (time.perf_counter() - start) / sample
            start, cache = time.perf_counter(), {}
            histories = [export_case(session, case, cache=cache) for case in cases]
            export_cached_s = (time.perf_counter() - start) / count
        commands = sum(len(h["commands"]) for h in histories)

        replayer = Replayer()
        assert all(replayer.replay(h).same for h in shipped), "a shipped history no longer replays the same"
        replayer.replay(histories[0])  # parse the diagram and prepare once, as any batch does first
        measured = _rounds(histories, replayer, rounds)
        replayer.close()

        start = time.perf_counter()
        for h in histories[:sample]:  # the old way: a fresh database (schema, directory, deploy) per history
            fresh = replay(h)
            assert fresh.same, fresh.summary()  # say why, should it ever diverge
        fresh_s = (time.perf_counter() - start) / sample

        scaling = _scaling(db, processes, args.method, pairs, count)
        db.dispose()

    median = statistics.median
    replay_ms, raw_ms = median(measured["replay_ms"]), median(measured["raw_ms"])
    ratios = sorted(a / b for a, b in zip(measured["replay_ms"], measured["raw_ms"]))
    cpu_ratios = sorted(a / b for a, b in zip(measured["replay_cpu_ms"], measured["raw_cpu_ms"]))
    per_history_s = replay_ms * commands / count / 1000
    result = {
        "bench": "replay", "histories": count, "commands": commands, "rounds": len(ratios),
        "commands_per_history": round(commands / count, 2),
        "record_ms_per_command": round(record_s * 1000 / commands, 3),
        "export_ms_per_history": round(export_s * 1000, 2),
        "export_ms_per_history_batch": round(export_cached_s * 1000, 2),
        "replay_ms_per_command": round(replay_ms, 3),
        "replay_cpu_ms_per_command": round(median(measured["replay_cpu_ms"]), 3),
        "replay_ms_per_history": round(per_history_s * 1000, 2),
        "replay_own_ms_per_history": round(median(measured["own_ms"]), 3),
        "replay_own_cpu_ms_per_history": round(median(measured["own_cpu_ms"]), 3),
        "histories_per_s_one_process": round(1 / per_history_s, 1),
        "fresh_database_ms_per_history": round(fresh_s * 1000, 2),
        "prepare_once_speedup": round(fresh_s / per_history_s, 2),
        "raw_spiff_ms_per_step": round(raw_ms, 4),
        "raw_spiff_cpu_ms_per_step": round(median(measured["raw_cpu_ms"]), 4),
        "replay_vs_raw_ratio": round(median(ratios), 1),
        "replay_vs_raw_ratio_range": [round(ratios[0], 1), round(ratios[-1], 1)],
        "replay_vs_raw_cpu_ratio": round(median(cpu_ratios), 1),
        "replay_vs_record_ratio": round(replay_ms / (record_s * 1000 / commands), 2),
        "item_histories_per_s_one_process": round(count / scaling["one_s"], 1),
        "processes": scaling["processes"], "start_method": scaling["method"],
        "histories_per_s_all_processes": round(count / scaling["many_s"], 1),
        "all_processes_speedup": round(scaling["speedup"], 2),
        "all_processes_cpu_speedup": round(scaling["cpu_speedup"], 2),
        "all_processes_cpu_overhead": round(scaling["many_total_cpu_s"] / scaling["one_cpu_s"], 2),
        "shipped_histories_same": len(shipped),
    }
    print(f"{count} recorded histories of {DIAGRAM.name}, {commands} commands "
          f"({result['commands_per_history']} per history)")
    print(f"  recording live:            {result['record_ms_per_command']:>9} ms/command")
    print(f"  export:                    {result['export_ms_per_history']:>9} ms/history alone, "
          f"{result['export_ms_per_history_batch']} ms in a batch")
    print(f"  replay, one process:       {result['replay_ms_per_command']:>9} ms/command  "
          f"{result['histories_per_s_one_process']:>7} histories/s  (CPU {result['replay_cpu_ms_per_command']} ms/command; "
          f"outside Engine.execute {result['replay_own_ms_per_history']} ms/history)")
    print(f"  replay, fresh db each:     {result['fresh_database_ms_per_history']:>9} ms/history  "
          f"(batch: {result['replay_ms_per_history']} ms/history, {result['prepare_once_speedup']}× faster)")
    print(f"  raw SpiffWorkflow step:    {result['raw_spiff_ms_per_step']:>9} ms  "
          f"→ a replayed command costs {result['replay_vs_raw_ratio']}× the raw step (median of {len(ratios)} rounds, "
          f"range {result['replay_vs_raw_ratio_range'][0]}–{result['replay_vs_raw_ratio_range'][1]}; "
          f"by CPU {result['replay_vs_raw_cpu_ratio']}×)")
    print(f"  replay --item, 1 process:  {result['item_histories_per_s_one_process']:>9} histories/s (with export)")
    print(f"  replay --item, {result['processes']} processes ({result['start_method']}): "
          f"{result['histories_per_s_all_processes']} histories/s — {result['all_processes_speedup']}× one process "
          f"by wall clock, {result['all_processes_cpu_speedup']}× by CPU (busiest worker); "
          f"total CPU {result['all_processes_cpu_overhead']}× one process's")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
