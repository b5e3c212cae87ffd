"""Objects made from plain rows (engine/store/plain.py) are what the ORM would load: the same
values, persistent and clean in the session, changes to them written, relationships and deferred
columns loaded on first use, and an object the session holds never overwritten by a read."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from engine.store.models import Case, Clock, Deadline, Department, Task, User
from engine.store.plain import Plain
from engine.timelimits.case_time import _CLOCK_ROWS, _CLOCKS
from engine.runtime.projection import open_tasks
from engine.unit_of_work import _LOCKED


def _values(obj) -> dict:
    return {attr.key: getattr(obj, attr.key) for attr in inspect(type(obj)).column_attrs
            if not attr.deferred}


def test_the_objects_are_what_the_orm_loads(flow, seeded):
    case = flow.start()
    with seeded.reader() as orm_session:
        expected_clocks = [_values(c) for c in orm_session.scalars(select(Clock).where(Clock.case_id == case.id)
                                                                   .order_by(Clock.id))]
        expected_deadlines = [_values(d) for d in orm_session.scalars(select(Deadline).where(
            Deadline.case_id == case.id, Deadline.state.in_(("armed", "paused", "fired"))).order_by(Deadline.id))]
        expected_tasks = [(_values(t), t.department.code) for t in orm_session.scalars(
            select(Task).where(Task.case_id == case.id, Task.state == "ready").order_by(Task.created_at, Task.id))]
        expected_case = _values(orm_session.get(Case, case.id))
    assert expected_clocks and expected_deadlines and expected_tasks
    with seeded.reader() as session:
        rows = session.connection().execute(_CLOCKS, {"case_id": case.id}).all()
        loaded = [_CLOCK_ROWS.load(session, row) for row in rows]
        clocks = {id(c): c for c, _ in loaded}
        deadlines = [d for _, d in loaded if d is not None]
        assert [_values(c) for c in clocks.values()] == expected_clocks
        assert sorted((_values(d) for d in deadlines), key=lambda v: v["id"]) == expected_deadlines
        assert [(_values(t), t.department.code) for t in open_tasks(session, case.id)] == expected_tasks
        for obj in (*clocks.values(), *deadlines):
            state = inspect(obj)
            assert state.persistent and not state.modified and obj in session
        # the same row read again is the same object
        assert _CLOCK_ROWS.load(session, rows[0])[0] is next(iter(clocks.values()))
        # a relationship and a deferred column load on first use
        step = next((c for c in clocks.values() if c.task_id is not None), None)
        if step is not None:
            assert step.task.id == step.task_id
        plain_case = Plain(Case).load(session, session.connection().execute(
            select(*Plain(Case).columns).where(Case.id == case.id)).one())
        assert _values(plain_case) == expected_case
        assert "workflow_state" not in plain_case.__dict__
        assert plain_case.workflow_state  # loaded now, by the ORM's deferred loader
        assert plain_case.item.code == "GENERAL"


def test_a_change_is_written_and_a_held_object_is_not_overwritten(flow, seeded):
    case = flow.start()
    with seeded.transaction() as session:
        tasks = open_tasks(session, case.id)
        tasks[0].opinion = "改过的意见"
        # read again in the same session: the changed object comes back as it is
        assert open_tasks(session, case.id)[0] is tasks[0]
        assert tasks[0].opinion == "改过的意见"
        assert tasks[0] in session.dirty
    with seeded.reader() as session:
        assert session.get(Task, tasks[0].id).opinion == "改过的意见"


def test_the_lock_reads_the_case_with_its_item_department_and_version(flow, seeded):
    case = flow.start()
    with seeded.transaction() as session:
        from engine.unit_of_work import CommandContext
        ctx = CommandContext(None, session, None, None)
        row = ctx.lock_case(case.id)
        assert row.number == case.number and row.workflow_state
        assert row.item.department.code and row.process_version.id == row.process_version_id
        assert ctx.calendar_version is not None
        assert [type(obj) for obj in (row, row.item, row.item.department, row.process_version)] == \
            [p.cls for p in _LOCKED.plains]


@pytest.mark.parametrize("cls", [User])
def test_a_class_it_cannot_load_as_the_orm_would_is_refused(cls):
    """A user's department and roles load eagerly: a plain row would leave them out."""
    with pytest.raises(TypeError):
        Plain(cls)


def test_departments_load_plainly():
    assert Plain(Department).cls is Department
