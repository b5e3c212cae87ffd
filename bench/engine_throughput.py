"""Engine throughput on SQLite against raw in-memory SpiffWorkflow, and the cost of a
command on an old case against a new one.

    python bench/engine_throughput.py [--quick] [--cases N] [--db URL]

Prints figures, then one JSON object as the last line.
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

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine import Actor, Database, Engine, FixedClock  # noqa: E402
from engine import people  # noqa: E402
from engine.commands import ClaimTask, CompleteTask, ReleaseTask, StartCase  # noqa: E402
from engine.runtime.definitions import parse_definition  # noqa: E402
from cli.demo import seed  # noqa: E402
from engine.runtime.expressions import make_script_engine  # noqa: E402
from engine.people import actor_for  # noqa: E402
from engine.read.queries import ready_tasks  # noqa: E402

STEPS = [("chuangkou", {"acceptance": "accept"}), ("shencha", {"review_result": "pass"}),
         ("fuzeren", {"decision": "grant"})]


def run_engine(engine: Engine, db: Database, actors: dict, cases: int) -> float:
    start = time.perf_counter()
    for i in range(cases):
        case = engine.execute(StartCase(item="GENERAL", applicant=f"申请人{i}"), Actor.applicant(f"申请人{i}"))
        for username, data in STEPS:
            with db.reader() as session:
                task_id = next(t.id for t in ready_tasks(session, actors[username], limit=5)
                               if t.case_id == case.id)
            engine.execute(CompleteTask(task=task_id, data=data), actors[username])
    return time.perf_counter() - start


def run_raw_spiff(cases: int) -> float:
    """The same flow in SpiffWorkflow alone: no database, no history, no projection."""
    definition = parse_definition((ROOT / "bpmn" / "general_approval.bpmn").read_bytes(), "general_approval.bpmn")
    script_engine = make_script_engine()
    start = time.perf_counter()
    for _ in range(cases):
        workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=script_engine)
        workflow.do_engine_steps()
        for _username, data in STEPS:
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update(data)
            task.run()
            workflow.do_engine_steps()
        assert workflow.completed
    return time.perf_counter() - start


class AgedCase:
    """A case whose one task has been claimed and released until it has ``commands`` history entries."""

    def __init__(self, engine: Engine, db: Database, actor: Actor, commands: int):
        self.engine, self.actor = engine, actor
        case = engine.execute(StartCase(item="GENERAL", applicant=f"案件{commands}"), Actor.applicant(f"案件{commands}"))
        with db.reader() as session:
            self.task_id = next(t.id for t in ready_tasks(session, actor, limit=2000) if t.case_id == case.id)
        self.claimed = False
        for _ in range(commands - 1):
            self.step()

    def step(self) -> float:
        command = ReleaseTask(task=self.task_id) if self.claimed else ClaimTask(task=self.task_id)
        t0 = time.perf_counter()
        self.engine.execute(command, self.actor)
        self.claimed = not self.claimed
        return (time.perf_counter() - t0) * 1000


def command_costs(engine: Engine, db: Database, actor: Actor, earlier: int, samples: int) -> tuple[float, float]:
    """Median ms of a command on a new case and on one with ``earlier`` commands, measured alternately."""
    new, old = AgedCase(engine, db, actor, 1), AgedCase(engine, db, actor, earlier)
    new_ms, old_ms = [], []
    for _ in range(samples):
        new_ms.append(new.step())
        old_ms.append(old.step())
    return statistics.median(new_ms), statistics.median(old_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small run, under 30 seconds")
    parser.add_argument("--cases", type=int)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    cases = args.cases or (40 if args.quick else 300)
    old_case_commands = 500
    samples = 20 if args.quick else 60
    people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # seeding is not what is measured

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.db or f"sqlite:///{tmp}/bench.db")
        db.create_schema()
        clock = FixedClock("2026-03-02T09:00")
        with db.transaction() as session:
            seed(session, clock.now())
        with db.reader() as session:
            actors = {name: actor_for(session, name) for name, _ in STEPS}
        engine = Engine(db, clock)
        run_engine(engine, db, actors, 3)  # warm caches (definition parse, statements)
        engine_seconds = run_engine(engine, db, actors, cases)
        new_ms, old_ms = command_costs(engine, db, actors["chuangkou"], old_case_commands, samples)
        db.dispose()
    raw_seconds = run_raw_spiff(cases)

    commands = cases * (1 + len(STEPS))
    result = {
        "bench": "engine_throughput", "database": "sqlite" if not args.db else args.db.split(":")[0],
        "cases": cases, "commands": commands,
        "engine_cases_per_s": round(cases / engine_seconds, 1),
        "engine_ms_per_command": round(engine_seconds * 1000 / commands, 3),
        "raw_spiff_cases_per_s": round(cases / raw_seconds, 1),
        "raw_spiff_ms_per_command": round(raw_seconds * 1000 / commands, 3),
        "engine_vs_raw_ratio": round(engine_seconds / raw_seconds, 1),
        "command_ms_new_case": round(new_ms, 3),
        "command_ms_case_with_500_commands": round(old_ms, 3),
        "old_vs_new_ratio": round(old_ms / new_ms, 2),
    }
    print(f"{cases} cases × 4 commands (start + 3 tasks) on {result['database']}")
    print(f"  engine:    {result['engine_cases_per_s']:>8} cases/s  {result['engine_ms_per_command']:>8} ms/command")
    print(f"  raw Spiff: {result['raw_spiff_cases_per_s']:>8} cases/s  {result['raw_spiff_ms_per_command']:>8} ms/command"
          f"  (in memory, no persistence)")
    print(f"  engine / raw: {result['engine_vs_raw_ratio']}×")
    print(f"command on a new case: {result['command_ms_new_case']} ms; on a case with {old_case_commands} "
          f"earlier commands: {result['command_ms_case_with_500_commands']} ms "
          f"(ratio {result['old_vs_new_ratio']})")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
