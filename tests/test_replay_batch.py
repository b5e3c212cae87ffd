"""Batch replay (``approvals replay --item``): the export a batch shares between its cases, and the
cases spread over worker processes — every case replayed exactly once, the same verdicts and the
same order as in one process, whether the workers are forked or spawned."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from cli.demo_cases import seed_cases
from engine import Actor
from engine.clock import FixedClock
from engine.commands import CompleteTask, StartCase
from engine.people import actor_for
from engine.replay import export_case, replay_item, start_method
from engine.store.models import Case, Task

from .conftest import BPMN

pytestmark = [pytest.mark.slow, pytest.mark.replay]

GENERAL = (BPMN / "general_approval.bpmn").read_text(encoding="utf-8")
#: the review's "pass" renamed: a case that was reviewed diverges at its third command
STRICTER = GENERAL.replace('<camunda:value id="pass" name="符合条件" />',
                           '<camunda:value id="ok" name="符合条件" />').encode("utf-8")


def test_a_batch_export_is_the_same_as_one_case_at_a_time(seeded):
    """``export_case(…, cache=…)`` keeps the directory, calendar and versions its cases share; what
    it exports is byte for byte what a lone export gives, for cases of every item and state, in
    any order."""
    seed_cases(seeded, FixedClock("2026-11-25T10:00:00+08:00").now())
    with seeded.reader() as session:
        cases = list(session.scalars(select(Case).order_by(Case.number)))
        alone = [json.dumps(export_case(session, c), sort_keys=True, ensure_ascii=False) for c in cases]
        cache: dict = {}
        batch = [json.dumps(export_case(session, c, cache=cache), sort_keys=True, ensure_ascii=False) for c in cases]
        backwards: dict = {}
        reverse = [json.dumps(export_case(session, c, cache=backwards), sort_keys=True, ensure_ascii=False)
                   for c in reversed(cases)]
    assert len(cases) >= 40 and len({h for h in alone}) == len(cases)
    assert batch == alone and list(reversed(reverse)) == alone
    assert any(key[0] == "directory" for key in cache if isinstance(key, tuple))  # it did keep something


def _cases(engine, db, count: int) -> dict[str, str]:
    """``count`` cases of GENERAL left at three stages: started, accepted, reviewed; the verdict
    each gets against ``STRICTER``."""
    with db.reader() as session:
        actors = {name: actor_for(session, name) for name in ("chuangkou", "shencha")}
    at = FixedClock("2026-03-02T09:00:00+08:00").now()
    expected = {}
    for i in range(count):
        at += timedelta(minutes=5)
        case = engine.execute(StartCase(item="GENERAL", applicant=f"申请人{i}"), Actor.applicant(f"申请人{i}"), at=at)
        steps = [("chuangkou", {"acceptance": "accept"}), ("shencha", {"review_result": "pass"})][:i % 3]
        for username, data in steps:
            with db.reader() as session:
                task = session.scalar(select(Task.id).where(Task.case_id == case.id, Task.state == "ready"))
            at += timedelta(minutes=1)
            engine.execute(CompleteTask(task=task, data=data), actors[username], at=at)
        expected[case.number] = "diverged" if len(steps) == 2 else "same"
    return expected


@pytest.mark.concurrency
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_several_processes_replay_every_case_once_with_the_verdicts_of_one(seeded, engine, method):
    if method == "fork" and start_method() != "fork":
        pytest.skip("this process runs other threads (or is not on Linux): replay_item would not fork")
    expected = _cases(engine, seeded, 45)
    parallel = replay_item(seeded, "GENERAL", STRICTER, "stricter.bpmn", processes=2, method=method)
    # after the workers: this process's own connections still work (the workers never touched them)
    serial = replay_item(seeded, "GENERAL", STRICTER, "stricter.bpmn", processes=1)
    assert (serial.processes, parallel.processes, parallel.method) == (1, 2, method)
    assert [r.case for r in parallel.rows] == sorted(expected)  # each case once, in case-number order
    assert {r.case: r.outcome for r in parallel.rows} == expected
    assert [r.to_dict() for r in parallel.rows] == [r.to_dict() for r in serial.rows]
    assert all(r.seq == 3 and "被拒绝" in r.message for r in parallel.rows if r.outcome == "diverged")
    assert parallel.counts() == {"same": 30, "diverged": 15, "failed": 0}
    assert 1 <= len(parallel.cpu_workers) <= 2 and parallel.histories_per_s > 0


def test_workers_are_spawned_while_another_thread_runs():
    """Forking while another thread may hold a lock could leave the child stuck: then spawn."""
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert start_method() == "spawn"
    finally:
        release.set()
        thread.join()
