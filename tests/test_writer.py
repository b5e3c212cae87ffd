"""The write transaction's lighter flush (engine/store/writer.py) writes what SQLAlchemy's unit of
work would: the same rows, the same defaults, the case's version check — and a command leaves
nothing for the unit of work."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import InternalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from engine.clock import parse_datetime as parse_time
from engine.commands import ClaimTask
from engine.errors import Conflict
from engine.store.models import Case, Clock, Department, Message, Task
from engine.store import writer
from engine.store.writer import WriterSession, write_changes
from tests.conftest import SEED_AT


def _rows(session, case_id: int) -> dict:
    """The case's rows by table, as the database holds them, without their ids (a rolled-back
    PostgreSQL sequence does not go back) but with the task a clock refers to by element."""
    def plain(row, *, drop=("id",)):
        return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in drop}

    tasks = {t.id: t.element_id for t in session.scalars(select(Task).where(Task.case_id == case_id))}
    return {
        "case": plain(session.get(Case, case_id), drop=()),
        "tasks": sorted((plain(t) for t in session.scalars(select(Task).where(Task.case_id == case_id))),
                        key=repr),
        "clocks": sorted(({**plain(c, drop=("id", "task_id")), "task": tasks.get(c.task_id)}
                          for c in session.scalars(select(Clock).where(Clock.case_id == case_id))), key=repr),
        "messages": sorted((plain(m) for m in session.scalars(select(Message).where(Message.case_id == case_id))),
                           key=repr),
    }


def _change(session, case_id: int) -> None:
    """What a command does to a case's rows, in the ways the engine does them: a changed task, a
    new task with only some fields (defaults for the rest), a new clock of that new task (by the
    relationship, before either has an id), a JSON value changed in place, a case update."""
    at = parse_time(SEED_AT)
    case = session.get(Case, case_id)
    task = session.scalars(select(Task).where(Task.case_id == case_id, Task.state == "ready")).first()
    task.state, task.completed_at = "completed", at
    department = session.scalars(select(Department)).first()
    new_task = Task(case_id=case_id, spiff_id="11111111-2222-3333-4444-555555555555", element_id="extra",
                    name="补充环节", role="shenchayuan", department=department, created_at=at)
    session.add(new_task)
    clock = Clock(case_id=case_id, key="step.extra", kind="step", task=new_task, started_at=at,
                  started_on=date(2026, 3, 2), limit_days=3, detail={})
    session.add(clock)
    session.add(Message(user_id=1, case=case, kind="warning", title="预警", created_at=at))
    case.card = "yellow"
    case.application = dict(case.application or {})
    case.application["extra"] = "值"
    flag_modified(case, "application")
    case.materials = None  # None set on a JSON column: JSON null, as the unit of work writes it


def _in_both_sessions(seeded, work) -> dict:
    """``work(name, session)`` in a plain session (the unit of work) and in the writer's, each in a
    transaction rolled back after: what each returned, by name."""
    results = {}
    for name, cls in (("unit-of-work", Session), ("writer", WriterSession)):
        session = cls(seeded.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False)
        with session, session.begin() as transaction:
            results[name] = work(name, session)
            transaction.rollback()
    return results


def test_the_writer_writes_what_the_unit_of_work_writes(flow, seeded):
    case = flow.start()

    def change_and_read(_name, session):
        _change(session, case.id)
        session.flush()
        with session.no_autoflush:
            return _rows(session, case.id)

    results = _in_both_sessions(seeded, change_and_read)
    assert results["writer"] == results["unit-of-work"]
    assert results["writer"]["case"]["version"] == 3  # started (1), then this update
    new = next(t for t in results["writer"]["tasks"] if t["element_id"] == "extra")
    assert (new["state"], new["kind"], new["deemed"], new["version"]) == ("ready", "bpmn", False, 1)
    clock = next(c for c in results["writer"]["clocks"] if c["key"] == "step.extra")
    assert (clock["task"], clock["state"], clock["extended_days"]) == ("extra", "running", 0)


def test_a_command_leaves_nothing_to_the_unit_of_work(flow, seeded):
    """The writer is not silently bypassed: in a task's completion (task, clocks, deadlines,
    case, documents) the unit of work's own flush finds nothing left to write."""
    flushed: list = []
    listener = lambda session, _context, _objects: flushed.append(  # noqa: E731
        sorted(type(o).__name__ for o in (*session.new, *session.dirty)))
    event.listen(WriterSession, "before_flush", listener)
    try:
        flow.start()
        flushed.clear()
        flow.complete("chuangkou", {"acceptance": "accept"})
    finally:
        event.remove(WriterSession, "before_flush", listener)
    assert flushed == []


def test_a_concurrent_change_of_the_case_is_still_refused(flow, seeded):
    """The case's optimistic version check holds in the writer: an update of a case changed
    since it was read matches no row and fails as the unit of work's would."""
    case = flow.start()
    with pytest.raises(StaleDataError):
        with seeded.transaction() as session:
            stale = session.get(Case, case.id)
            # another command's update, after this one read the case
            session.execute(Case.__table__.update().where(Case.__table__.c.id == case.id)
                            .values(version=Case.__table__.c.version + 1))
            stale.card = "red"
            session.flush()


def test_a_command_on_a_case_changed_meanwhile_is_a_conflict(flow, seeded, engine, actors, monkeypatch):
    """End to end: the engine answers a stale case with its Chinese conflict message."""
    case = flow.start()
    task = flow.task_of("chuangkou", case.number)
    calls = {"n": 0}

    def bump_then_write(session):
        if calls["n"] == 0 and any(isinstance(o, Case) for o in session.dirty):
            calls["n"] += 1  # another command's update, after this one read the case
            session.connection().execute(Case.__table__.update().where(Case.__table__.c.id == case.id)
                                         .values(version=Case.__table__.c.version + 1))
        write_changes(session)

    monkeypatch.setattr(writer, "write_changes", bump_then_write)
    with pytest.raises(Conflict) as refused:
        engine.execute(ClaimTask(task=task.id), actors["chuangkou"])
    assert "同时更新" in refused.value.message


def test_a_new_case_is_written_as_the_unit_of_work_writes_it(flow, seeded):
    """A new case (``StartCase``) is the writer's too: the same row, its version started."""
    template = flow.start()

    def add_case(name, session):
        existing = session.get(Case, template.id)
        at = parse_time(SEED_AT)
        row = Case(number=f"NEW-{name}", key=f"key-{name}", item=existing.item,
                   process_version=existing.process_version, applicant="李四", state="running",
                   started_at=at, last_event_at=at, last_seq=0, workflow_state="", time_policy=None,
                   guide=None, applicant_info=None, application={"字段": "值"})
        session.add(row)
        left = []
        event.listen(session, "before_flush", lambda s, _c, _o: left.extend(s.new))
        session.flush()
        assert row.id is not None and not session.new
        assert left == ([] if name == "writer" else [row])  # the writer left nothing to the unit of work
        with session.no_autoflush:
            written = session.connection().execute(
                select(Case.__table__).where(Case.__table__.c.id == row.id)).one()._asdict()
        written.pop("id")
        written["number"], written["key"] = written["number"].split("-")[0], written["key"].split("-")[0]
        return written

    results = _in_both_sessions(seeded, add_case)
    assert results["writer"] == results["unit-of-work"]
    assert results["writer"]["version"] == 1 and results["writer"]["guide"] is None


def test_a_reader_writes_nothing_and_on_postgresql_keeps_its_prepared_statements(flow, seeded):
    """A reader's in-memory change is dropped; on PostgreSQL its transactions are read only and end
    with COMMIT, so the statements psycopg prepared survive it (a ROLLBACK clears them)."""
    case = flow.start()
    with seeded.reader() as session:
        session.get(Case, case.id).applicant = "改在内存里"
    with seeded.reader() as session:
        assert session.get(Case, case.id).applicant == "张三"
    if seeded.is_sqlite:
        return
    with pytest.raises(InternalError, match="read-only"):
        with seeded.reader() as session:
            session.execute(Case.__table__.update().where(Case.__table__.c.id == case.id).values(card="red"))
    seeded.engine.dispose()  # one connection from here on, with nothing prepared yet
    for _ in range(8):  # psycopg prepares a statement on its fifth execution
        with seeded.reader() as session:
            session.scalar(select(Case.number).where(Case.id == case.id))
    with seeded.reader() as session:
        prepared = session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
    assert prepared >= 1
