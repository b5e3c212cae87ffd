"""Engine throughput against raw in-memory SpiffWorkflow, the SQL a command sends, the cost of a
command on an old case against a new one, and what a concluded case stores.

    python bench/engine_throughput.py [--quick] [--cases N] [--rounds N] [--db URL]

The benchmark diagram (general_approval: start, then accept, review and decide) runs ``--cases``
cases per round; rounds alternate the engine and the same steps in raw SpiffWorkflow, and the
ratio is the median of the rounds' ratios (a busy machine slows both alike). A database given by
``--db`` is emptied first (for PostgreSQL: ``--db "$APPROVALS_DATABASE_URL"`` of a scratch database). Prints figures, then one JSON object as
the last line.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
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
from engine.store.models import Case, Task  # noqa: E402
from engine.runtime.spiff import StateCodec  # noqa: E402
from sqlalchemy import event, select, update  # noqa: E402

STEPS = [("chuangkou", {"acceptance": "accept"}), ("shencha", {"review_result": "pass"}),
         ("fuzeren", {"decision": "grant"})]
KINDS = ("select", "insert", "update", "delete")
#: the tables that hold a case's rows, and the column naming the case
CASE_TABLES = {"cases": "id", "tasks": "case_id", "case_clocks": "case_id", "deadlines": "case_id",
               "case_history": "case_id", "case_notices": "case_id", "messages": "case_id",
               "case_requests": "case_id"}


class Statements:
    """Counts the SQL statements the engine sends while ``on``, by kind (``before_cursor_execute``)."""

    def __init__(self, db: Database):
        self.on = False
        self.counts: Counter = Counter()
        event.listen(db.engine, "before_cursor_execute", self._count)

    def _count(self, _conn, _cursor, statement, _params, _context, _executemany) -> None:
        if self.on:
            word = statement.lstrip().split(None, 1)[0].lower()
            self.counts[word if word in KINDS else "other"] += 1


def run_engine(engine: Engine, db: Database, actors: dict, cases: int,
               statements: Statements | None = None) -> tuple[float, float]:
    """Seconds (wall clock, and this process's CPU) spent in ``Engine.execute`` for ``cases`` cases run to the end; finding each next task
    (an inbox query, not a command) is left out of the time and of the statement count."""
    spent = [0.0, 0.0]

    def timed(command, actor):
        if statements is not None:
            statements.on = True
        t0, c0 = time.perf_counter(), time.process_time()
        value = engine.execute(command, actor)
        spent[0] += time.perf_counter() - t0
        spent[1] += time.process_time() - c0
        if statements is not None:
            statements.on = False
        return value

    for i in range(cases):
        case = timed(StartCase(item="GENERAL", applicant=f"申请人{i}"), Actor.applicant(f"申请人{i}"))
        for username, data in STEPS:
            with db.reader() as session:
                task_id = session.scalar(select(Task.id).where(Task.case_id == case.id, Task.state == "ready"))
            timed(CompleteTask(task=task_id, data=data), actors[username])
    return spent[0], spent[1]


def _benchmark_definition():
    return parse_definition((ROOT / "bpmn" / "general_approval.bpmn").read_bytes(), "general_approval.bpmn")


def run_raw_spiff(cases: int, store=None, definition=None) -> tuple[float, float]:
    """The same flow in SpiffWorkflow alone: no database, no history, no projection (wall, CPU).
    ``store``: called with the workflow after each step, returns the one to go on with."""
    definition = definition or _benchmark_definition()
    script_engine = make_script_engine()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(cases):
        workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=script_engine)
        workflow.do_engine_steps()
        if store is not None:
            workflow = store(workflow, script_engine)
        for _username, data in STEPS:
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update(data)
            task.run()
            workflow.do_engine_steps()
            if store is not None:
                workflow = store(workflow, script_engine)
        assert workflow.completed
    return time.perf_counter() - start, time.process_time() - cpu


def run_stored_spiff(cases: int, db: Database, case_id: int) -> tuple[float, float]:
    """The floor under any persisted command: the same flow in SpiffWorkflow, each step with its
    state restored before and stored after by the engine's own codec (``StateCodec``), and one
    write transaction that updates one case row and commits (wall, CPU). No projection, no
    history, no time limits: what a command would cost if the engine added nothing of its own."""
    definition, codec = _benchmark_definition(), StateCodec()
    touch = update(Case).where(Case.id == case_id)

    def store(workflow, script_engine) -> BpmnWorkflow:
        state = codec.dump(workflow)
        with db.transaction() as session:
            session.execute(touch.values(workflow_state=state))
        restored = codec.load(state, definition.spec, definition.subprocess_specs)
        restored.script_engine = script_engine
        return restored

    return run_raw_spiff(cases, store, definition)


def _sqlite_row_size(column: str) -> str:
    """An SQL expression for the bytes SQLite's record format spends on one value."""
    return (f"CASE typeof({column}) WHEN 'null' THEN 0 WHEN 'real' THEN 8 "
            f"WHEN 'integer' THEN (CASE WHEN {column} BETWEEN 0 AND 1 THEN 0 WHEN abs({column}) < 128 THEN 1 "
            f"WHEN abs({column}) < 32768 THEN 2 WHEN abs({column}) < 8388608 THEN 3 "
            f"WHEN abs({column}) < 2147483648 THEN 4 WHEN abs({column}) < 140737488355328 THEN 6 ELSE 8 END) "
            f"ELSE length(CAST({column} AS BLOB)) END")


def bytes_per_case(db: Database, case_ids: list[int]) -> dict[str, float]:
    """The average stored size of the rows of these cases, per table: PostgreSQL's own
    ``pg_column_size`` of each row (after its TOAST compression); on SQLite the bytes of each
    record (values as SQLite stores them, plus a header byte per column). Indexes are not counted."""
    ids = ",".join(str(i) for i in case_ids)
    sizes = {}
    with db.engine.connect() as conn:
        for table, column in CASE_TABLES.items():
            if db.is_sqlite:
                names = [row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info({table})")]
                row_size = " + ".join([_sqlite_row_size(f'"{n}"') for n in names] + [str(len(names) + 1)])
                query = f"SELECT coalesce(sum({row_size}), 0) FROM {table} WHERE {column} IN ({ids})"
            else:
                query = f"SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t WHERE {column} IN ({ids})"
            sizes[table] = conn.exec_driver_sql(query).scalar() / len(case_ids)
    return sizes


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
    parser.add_argument("--cases", type=int, help="cases per round")
    parser.add_argument("--rounds", type=int)
    # not APPROVALS_DATABASE_URL by default: the bench empties the database it is given
    parser.add_argument("--db", help="database URL, emptied first (default: a temporary SQLite file)")
    args = parser.parse_args()
    cases = args.cases or (20 if args.quick else 50)
    rounds = args.rounds or (5 if args.quick else 10)
    old_case_commands = 500
    samples = 20 if args.quick else 60
    people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # seeding is not what is measured

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.db or f"sqlite:///{tmp}/bench.db")
        db.drop_schema()
        db.create_schema()
        clock = FixedClock("2026-03-02T09:00")
        with db.transaction() as session:
            seed(session, clock.now())
        with db.reader() as session:
            actors = {name: actor_for(session, name) for name, _ in STEPS}
        engine = Engine(db, clock)
        statements = Statements(db)
        run_engine(engine, db, actors, 3)  # warm caches (definition parse, statements)
        run_raw_spiff(3)
        # Rounds alternate the engine and raw SpiffWorkflow, so that both see the same machine.
        with db.reader() as session:
            floor_case = session.scalar(select(Case.id).order_by(Case.id))
        run_stored_spiff(3, db, floor_case)
        engine_s, raw_s, floor_s = [], [], []
        for _ in range(rounds):
            engine_s.append(run_engine(engine, db, actors, cases, statements))
            raw_s.append(run_raw_spiff(cases))
            floor_s.append(run_stored_spiff(cases, db, floor_case))
        with db.reader() as session:
            concluded = list(session.scalars(select(Case.id).where(Case.state == "concluded")))
        sizes = bytes_per_case(db, concluded)
        counted = dict(statements.counts)
        new_ms, old_ms = command_costs(engine, db, actors["chuangkou"], old_case_commands, samples)
        db.dispose()

    per_case = 1 + len(STEPS)
    commands = cases * rounds * per_case
    ratios = sorted(e[0] / r[0] for e, r in zip(engine_s, raw_s))
    cpu_ratios = sorted(e[1] / r[1] for e, r in zip(engine_s, raw_s))
    engine_ms = statistics.median(e[0] for e in engine_s) * 1000 / (cases * per_case)
    raw_ms = statistics.median(r[0] for r in raw_s) * 1000 / (cases * per_case)
    engine_cpu_ms = statistics.median(e[1] for e in engine_s) * 1000 / (cases * per_case)
    floor_ms = statistics.median(f[0] for f in floor_s) * 1000 / (cases * per_case)
    floor_ratios = sorted(f[0] / r[0] for f, r in zip(floor_s, raw_s))
    over_floor = sorted(e[0] / f[0] for e, f in zip(engine_s, floor_s))
    result = {
        "bench": "engine_throughput", "database": "sqlite" if not args.db else args.db.split(":")[0],
        "cases": cases * rounds, "commands": commands, "rounds": rounds,
        "engine_cases_per_s": round(1000 / (engine_ms * per_case), 1),
        "engine_ms_per_command": round(engine_ms, 3),
        "raw_spiff_cases_per_s": round(1000 / (raw_ms * per_case), 1),
        "raw_spiff_ms_per_command": round(raw_ms, 3),
        "engine_vs_raw_ratio": round(statistics.median(ratios), 1),
        "engine_vs_raw_ratio_range": [round(ratios[0], 1), round(ratios[-1], 1)],
        # this process's CPU only: steadier on a busy machine, but leaves out the PostgreSQL server's work
        "engine_cpu_ms_per_command": round(engine_cpu_ms, 3),
        "engine_vs_raw_cpu_ratio": round(statistics.median(cpu_ratios), 1),
        # the floor: the raw steps with the state restored and stored by the engine's codec and a
        # one-row write transaction each (``run_stored_spiff``): what persistence alone costs
        "stored_spiff_ms_per_command": round(floor_ms, 3),
        "stored_spiff_vs_raw_ratio": round(statistics.median(floor_ratios), 1),
        "engine_vs_stored_spiff_ratio": round(statistics.median(over_floor), 2),
        # BEGIN is "other"; COMMIT goes through the driver, not as a statement
        "sql_per_command": {kind: round(counted.get(kind, 0) / commands, 2) for kind in (*KINDS, "other")},
        "sql_per_command_total": round(sum(counted.get(kind, 0) for kind in KINDS) / commands, 2),
        "command_ms_new_case": round(new_ms, 3),
        "command_ms_case_with_500_commands": round(old_ms, 3),
        "old_vs_new_ratio": round(old_ms / new_ms, 2),
        "bytes_per_concluded_case": round(sum(sizes.values())),
        "bytes_by_table": {table: round(size) for table, size in sizes.items() if size},
    }
    print(f"{result['cases']} cases × {per_case} commands (start + 3 tasks) on {result['database']}, "
          f"in {rounds} rounds alternating with raw SpiffWorkflow")
    print(f"  engine:    {result['engine_cases_per_s']:>8} cases/s  {result['engine_ms_per_command']:>8} ms/command"
          f"  (time in Engine.execute only)")
    print(f"  raw Spiff: {result['raw_spiff_cases_per_s']:>8} cases/s  {result['raw_spiff_ms_per_command']:>8} ms/command"
          f"  (in memory, no persistence)")
    print(f"  stored:    {result['stored_spiff_ms_per_command']:>8} ms/command"
          f"  (raw Spiff, its state restored and stored each step, one write transaction)")
    print(f"  stored / raw: {result['stored_spiff_vs_raw_ratio']}×; engine / stored: "
          f"{result['engine_vs_stored_spiff_ratio']}×")
    print(f"  engine / raw: {result['engine_vs_raw_ratio']}× (median of rounds; range "
          f"{result['engine_vs_raw_ratio_range'][0]}–{result['engine_vs_raw_ratio_range'][1]}); "
          f"by this process's CPU time {result['engine_vs_raw_cpu_ratio']}×")
    print("  SQL statements per command: " + ", ".join(f"{k} {v}" for k, v in result["sql_per_command"].items())
          + f" (select+insert+update+delete: {result['sql_per_command_total']})")
    print(f"command on a new case: {result['command_ms_new_case']} ms; on a case with {old_case_commands} "
          f"earlier commands: {result['command_ms_case_with_500_commands']} ms "
          f"(ratio {result['old_vs_new_ratio']})")
    print(f"a concluded case stores {result['bytes_per_concluded_case']:,} bytes: "
          + ", ".join(f"{t} {b:,}" for t, b in result["bytes_by_table"].items()))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
