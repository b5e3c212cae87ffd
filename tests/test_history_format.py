"""The history's stored form (issue 13, storage): of the observed time-limit state the case's flags
in every entry (those at a new case's value left out), the pending deadlines compact and as changes
since the entry before; the ready tasks without an unclaimed task's assignee; a start's result
without the key, number and version the case row gives — all folded back into the full form for
every reader."""
from __future__ import annotations

from sqlalchemy import select

from engine.commands import ClaimTask, ReleaseTask
from engine.read.queries import case_history, get_case, history_dicts
from engine.replay import export_case
from engine.runtime.projection import expand_observed, observe, stored_observed
from engine.store.models import HistoryEntry

CASE = {"acceptance": "accepted", "decision": None, "card": None, "suspended": False}


def deadline(key, due_on, kind=None, state="armed", provisional=False):
    return {"key": key, "kind": kind or key.rsplit("/", 1)[-1], "due_on": due_on, "state": state,
            "provisional": provisional}


def full(*deadlines):
    return {"case": CASE, "deadlines": sorted(deadlines, key=lambda d: d["key"])}


def test_changes_fold_back_into_the_full_states_including_after_entries_in_the_old_form():
    a, b = deadline("decision/red", "2026-03-30"), deadline("decision/yellow", "2026-03-16", provisional=True)
    escalated = deadline("decision/yellow.head", "2026-03-17", kind="escalation")  # kind not in the key
    moved = deadline("decision/red", "2026-04-02", state="paused")
    states = [full(a), full(a, b, escalated), full(moved, b, escalated), full(moved, b, escalated), full()]
    stored, before = [], None
    for state in states:
        stored.append(stored_observed(state, before))
        before = _compact(state)  # what the next command finds pending
    assert expand_observed(stored) == states
    # nothing changed: no deadlines stored at all; of the flags only those not as a new case has them
    assert stored[3] == {"v": 2, "case": {"acceptance": "accepted"}}
    assert stored[2]["dl+"] == {"decision/red": ["2026-04-02", "paused", False]} and "dl-" not in stored[2]
    assert stored[1]["dl+"]["decision/yellow.head"] == ["2026-03-17", "armed", False, "escalation"]
    # entries of format 2 written with all four flags (before 2026-11-25) read as they did
    assert expand_observed([{**e, "case": CASE} for e in stored]) == states
    assert expand_observed([{"v": 2, "dl": {}}])[0]["case"] == {"acceptance": None, "decision": None, "card": None,
                                                                "suspended": False}
    # a case written in the old form continues in the new one: its full entries are the base
    old = [states[0], states[1]]
    newer = [stored_observed(states[2], _compact(states[1])), stored_observed(states[3], _compact(states[2]))]
    assert expand_observed(old + newer) == states[:4]


def _compact(state):
    return stored_observed(state, None)["dl"]


def test_an_engine_history_folds_to_what_the_case_shows_after_every_command(flow, seeded, engine, actors):
    number = flow.start(applicant="张三").number
    flow.complete("chuangkou", {"acceptance": "accept"}, "材料齐全", number=number)
    task = flow.task_of("shencha", number)
    for command in (ClaimTask(task=task.id), ReleaseTask(task=task.id), ClaimTask(task=task.id)):
        engine.execute(command, actors["shencha"])
    with seeded.reader() as session:
        case = get_case(session, number)
        entries = case_history(session, case)
        shown = history_dicts(entries)
        exported = export_case(session, case)["commands"]
        now = observe(session, case)
        stored = list(session.scalars(select(HistoryEntry.observed).where(HistoryEntry.case_id == case.id)
                                      .order_by(HistoryEntry.seq)))
    assert shown[-1]["observed"] == now and exported[-1]["observed"]["deadlines"] == now["deadlines"]
    assert len(now["deadlines"]) >= 3 and all(s["v"] == 2 for s in stored) and "case" not in stored[0]
    # claiming and releasing change no deadline: those entries keep only the case's flags
    assert stored[-3:] == [{"v": 2, "case": {"acceptance": "accepted"}}] * 3
    assert [e["observed"] for e in shown] == [c["observed"] for c in [
        {"observed": {k: v for k, v in e["observed"].items() if k not in ("ready_tasks", "case_state")}} for e in exported]]


def test_a_start_and_ready_tasks_are_stored_without_what_the_case_row_gives_and_read_in_full(flow, seeded, engine,
                                                                                              actors):
    number = flow.start(applicant="张三").number
    task = flow.task_of("chuangkou", number)
    engine.execute(ClaimTask(task=task.id), actors["chuangkou"])
    with seeded.reader() as session:
        case = get_case(session, number)
        rows = case_history(session, case)
        start, claimed = rows[0], rows[1]
        assert set(start.payload) == {"data"}  # key, number and version: on the case row
        assert "assignee" not in start.ready_tasks[0] and claimed.ready_tasks[0]["assignee"] == "chuangkou"
        shown, exported = history_dicts(rows), export_case(session, case)
        version = case.process_version.content_hash
    for result in (shown[0]["result"], exported["commands"][0]["result"]):
        assert result == {"version": version, "key": case.key, "number": number, "data": {}}
        assert list(result) == ["version", "key", "number", "data"]  # the order exports always had
    assert shown[0]["ready_tasks"][0]["assignee"] is None
    assert exported["commands"][0]["observed"]["ready_tasks"][0]["assignee"] is None
    assert exported["commands"][1]["observed"]["ready_tasks"][0]["assignee"] == "chuangkou"
