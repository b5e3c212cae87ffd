"""Two clerks submit the same task at the same moment: one wins, one gets a clear conflict."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from engine import Engine, FixedClock
from engine.commands import CompleteTask
from engine.errors import Conflict
from engine.store.models import HistoryEntry
from engine.people import actor_for, add_user

pytestmark = [pytest.mark.slow, pytest.mark.concurrency]


def test_two_threads_completing_the_same_task(flow, seeded):
    with seeded.transaction() as session:
        add_user(session, "chuangkou2", roles=["window_clerk"], department_code="scjg")
    with seeded.reader() as session:
        clerks = [actor_for(session, "chuangkou"), actor_for(session, "chuangkou2")]
    case = flow.start()
    task = flow.task_of("chuangkou")
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def submit(actor):
        engine = Engine(seeded, FixedClock("2026-03-02T10:00"))
        barrier.wait()
        try:
            engine.execute(CompleteTask(task=task.id, data={"acceptance": "accept"}, opinion=actor.name), actor)
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=submit, args=(c,)) for c in clerks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(map(type, outcomes), key=str) == sorted([str, Conflict], key=str), outcomes
    conflict = next(o for o in outcomes if isinstance(o, Conflict))
    assert "不在待办中" in conflict.message or "重试" in conflict.message
    with seeded.reader() as session:
        entries = list(session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id)
                                       .order_by(HistoryEntry.seq)))
    assert [e.command for e in entries] == ["start_case", "complete_task"]


def test_many_threads_many_cases_keep_numbers_unique(seeded, flow):
    """Case numbers come from an atomic counter: concurrent starts never collide."""
    numbers: list[str] = []
    errors: list[Exception] = []

    def start():
        try:
            numbers.append(flow.start().number)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(set(numbers)) == 8
