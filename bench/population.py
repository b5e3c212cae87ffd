"""A large population of open cases for benchmarks, built fast.

One case is created through the engine (started and accepted, so that its decision
and step clocks are armed); the others are bulk copies of its rows — case, ready
task, clocks, deadlines — with fresh numbers, keys and ids. Building 100,000 cases
this way takes seconds instead of the quarter of an hour the commands would.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from engine import Actor, Database, Engine, FixedClock
from engine.commands import CompleteTask, StartCase
from cli.demo import seed
from engine.store.models import Case, Clock, Deadline, Task
from engine.people import actor_for
from engine.timelimits.workdays import seed_from_chinesecalendar

START = "2026-03-02T09:00:00+08:00"
CHUNK = 5000


def _columns(row, skip=("id",)) -> dict:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}


def _insert(conn, table, rows: list[dict]) -> None:
    """Many rows with the same keys in one DB-API ``executemany``: each value through its column's
    bind processor, without SQLAlchemy's per-row statement machinery (ten times faster here)."""
    keys = list(rows[0])
    dialect = conn.dialect
    processors = [table.c[k].type._cached_bind_processor(dialect) for k in keys]
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(k) for k in keys)}) "
           f"VALUES ({', '.join([mark] * len(keys))})")
    pairs = list(zip(keys, processors))
    params = [tuple(row[k] if f is None or row[k] is None else f(row[k]) for k, f in pairs) for row in rows]
    conn.exec_driver_sql(sql, params)


def build(url: str, cases: int, due: int) -> tuple[Database, Engine]:
    """A database with ``cases`` accepted cases; ``due`` of them have their warning due."""
    db = Database(url)
    db.drop_schema()
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
                    due_on = t["due_on"] + timedelta(days=i % 30) if t["due_on"] else None
                    task_values.append({**t, "id": task_ids[t["spiff_id"]], "case_id": case_id,
                                        "spiff_id": str(uuid.uuid4()), "due_on": due_on,
                                        "alert": "yellow" if i % 10 == 0 else "warning" if i % 10 == 5 else t["alert"]})
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
            for model, values in ((Case, case_values), (Task, task_values), (Clock, clock_values),
                                  (Deadline, deadline_values)):
                _insert(conn, model.__table__, values)
        if not db.is_sqlite:
            for table in ("cases", "tasks", "case_clocks", "deadlines"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
            conn.exec_driver_sql("ANALYZE")
    db.optimize()  # as the running service's hourly job would have
    if not db.is_sqlite:  # as autovacuum would have after so many inserts: the visibility map that
        # lets an index answer a query alone (the inbox's pieces, its search) without the table
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE) tasks, cases")
    return db, engine
