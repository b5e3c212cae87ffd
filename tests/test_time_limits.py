"""Scenarios on a controlled clock: clocks, pauses, extensions, cards and deemed decisions,
all on the official 2026 schedule."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from engine.clock import CHINA_TZ
from engine.commands import (CompleteTask, ExtendDeadline, ReceiveSupplement, RequestSupplement, ResumeClocks,
                             SuspendClocks)
from engine.deploy import set_time_policy
from engine.errors import Conflict, NotAllowed
from engine.store.models import Case, Clock, Deadline, HistoryEntry, Message, Notice, Task, User
from timers import sweep



def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def sweep_at(flow, clock, when: str):
    clock.set(at(when))
    return sweep(flow.engine)


def case_of(db, number: str) -> Case:
    with db.reader() as session:
        return session.scalar(select(Case).where(Case.number == number))


def deadline(db, number: str, key: str) -> Deadline:
    with db.reader() as session:
        case_id = session.scalar(select(Case.id).where(Case.number == number))
        return session.scalar(select(Deadline).where(Deadline.case_id == case_id, Deadline.key == key))


def fired(db, number: str) -> list[tuple[date, str]]:
    """(China date of the sweep, deadline key) for every deadline the case saw fire."""
    with db.reader() as session:
        case_id = session.scalar(select(Case.id).where(Case.number == number))
        rows = session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case_id,
                                                          HistoryEntry.command == "fire_deadline")
                               .order_by(HistoryEntry.seq))
        return [(r.at.astimezone(CHINA_TZ).date(), r.payload["deadline"]) for r in rows]


def inbox(db, username: str) -> list[str]:
    with db.reader() as session:
        user_id = session.scalar(select(User.id).where(User.username == username))
        return [m.title for m in session.scalars(select(Message).where(Message.user_id == user_id)
                                                 .order_by(Message.id))]


def accept(flow, clock, when: str, number: str):
    clock.set(at(when))
    return flow.complete("chuangkou", {"acceptance": "accept"}, number=number)


# ---------------------------------------------------------------- acceptance

def test_late_acceptance_becomes_deemed_acceptance_from_the_day_of_arrival(flow, clock, seeded):
    case = flow.start()  # Monday 2026-03-02 09:00
    assert deadline(seeded, case.number, "acceptance/deemed").due_on == date(2026, 3, 9)

    sweep_at(flow, clock, "2026-03-09T18:00")  # the 5th working day is not over yet
    assert case_of(seeded, case.number).acceptance is None

    sweep_at(flow, clock, "2026-03-10T08:00")
    row = case_of(seeded, case.number)
    assert row.acceptance == "deemed"
    assert row.accepted_at == at("2026-03-02T09:00")
    with seeded.reader() as session:
        accepted = session.scalar(select(Task).where(Task.case_id == row.id, Task.element_id == "accept_application"))
        assert accepted.deemed and accepted.state == "completed" and "视为受理" in accepted.opinion
        decision = session.scalar(select(Clock).where(Clock.case_id == row.id, Clock.key == "decision"))
        assert decision.started_on == date(2026, 3, 2)
        notices = [n.kind for n in session.scalars(select(Notice).where(Notice.case_id == row.id))]
    assert notices == ["deemed_acceptance"]
    assert deadline(seeded, case.number, "decision/red").due_on == date(2026, 3, 30)
    assert [k for _, k in fired(seeded, case.number)] == ["acceptance/warning", "acceptance/deemed"]
    assert flow.task_of("shencha", case.number).element_id == "review"


def test_acceptance_in_time_starts_the_decision_clock_that_day(flow, clock, seeded):
    case = flow.start()
    accept(flow, clock, "2026-03-04T10:00", case.number)
    row = case_of(seeded, case.number)
    assert row.acceptance == "accepted" and row.accepted_at == at("2026-03-04T10:00")
    assert deadline(seeded, case.number, "acceptance/deemed").state == "cancelled"
    assert deadline(seeded, case.number, "decision/yellow").due_on == date(2026, 3, 18)  # promised 10
    assert deadline(seeded, case.number, "decision/red").due_on == date(2026, 4, 1)  # statutory 20


def test_supplement_before_acceptance_delays_the_decision_clock(flow, clock, seeded, actors):
    case = flow.start()
    clock.set(at("2026-03-03T10:00"))
    flow.engine.execute(RequestSupplement(case=case.number, materials=("营业执照副本", "场所平面图")),
                        actors["chuangkou"])
    assert deadline(seeded, case.number, "acceptance/deemed").state == "cancelled"

    sweep_at(flow, clock, "2026-03-19T09:00")  # nothing runs while the applicant gathers materials
    assert fired(seeded, case.number) == [] and case_of(seeded, case.number).acceptance == "supplement"

    with pytest.raises(Conflict):  # cannot accept before the supplement is registered
        flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    clock.set(at("2026-03-20T15:00"))
    flow.engine.execute(ReceiveSupplement(case=case.number), actors["chuangkou"])
    accept(flow, clock, "2026-03-23T09:30", case.number)

    row = case_of(seeded, case.number)
    assert row.acceptance == "accepted" and row.accepted_at == at("2026-03-20T15:00")
    # 20 working days from 2026-03-20; 清明 (4 April, a Saturday) gives Monday 6 April off.
    assert deadline(seeded, case.number, "decision/red").due_on == date(2026, 4, 20)
    with seeded.reader() as session:
        notice = session.scalar(select(Notice).where(Notice.case_id == row.id, Notice.kind == "supplement"))
    assert "营业执照副本" in notice.body and "场所平面图" in notice.body


def test_supplement_needs_the_acceptance_step_and_its_clerk(flow, clock, seeded, actors):
    case = flow.start()
    with pytest.raises(NotAllowed):
        flow.engine.execute(RequestSupplement(case=case.number, materials=("身份证",)), actors["shencha"])
    accept(flow, clock, "2026-03-03T10:00", case.number)
    with pytest.raises(Conflict):
        flow.engine.execute(RequestSupplement(case=case.number, materials=("身份证",)), actors["chuangkou"])


# ---------------------------------------------------------------- suspension and extension

def test_an_inspection_of_seven_working_days_pushes_the_deadline_by_seven(flow, clock, seeded, actors):
    case = flow.start()
    accept(flow, clock, "2026-03-02T10:00", case.number)
    assert deadline(seeded, case.number, "decision/red").due_on == date(2026, 3, 30)

    clock.set(at("2026-03-04T11:00"))
    flow.engine.execute(SuspendClocks(case=case.number, kind="inspection", days=7, reason="委托第三方检验"),
                        actors["shencha"])
    assert deadline(seeded, case.number, "decision/red").state == "paused"
    assert case_of(seeded, case.number).suspended

    # The declared 7 working days end on 2026-03-13; the sweep comes round late, on Monday.
    sweep_at(flow, clock, "2026-03-16T09:00")
    red = deadline(seeded, case.number, "decision/red")
    assert red.state == "armed" and red.due_on == date(2026, 4, 9)  # 30 March + 7 working days (清明 off)
    assert not case_of(seeded, case.number).suspended
    with seeded.reader() as session:
        notice = session.scalar(select(Notice).where(Notice.kind == "suspension"))
    assert "检验" in notice.body and "7 个工作日" in notice.body


def test_ending_a_suspension_early_keeps_the_time_already_used(flow, clock, seeded, actors):
    case = flow.start()
    accept(flow, clock, "2026-03-02T10:00", case.number)
    clock.set(at("2026-03-04T11:00"))
    flow.engine.execute(SuspendClocks(case=case.number, kind="expert_review", days=10, reason="专家评审"),
                        actors["shencha"])
    clock.set(at("2026-03-06T16:00"))
    flow.engine.execute(ResumeClocks(case=case.number), actors["shencha"])
    assert deadline(seeded, case.number, "decision/red").due_on == date(2026, 4, 1)  # 2 working days stood
    assert deadline(seeded, case.number, "suspension.1/resume").state == "cancelled"


def test_an_extension_adds_ten_working_days_once_by_the_head(flow, clock, seeded, actors):
    case = flow.start()
    accept(flow, clock, "2026-03-02T10:00", case.number)
    clock.set(at("2026-03-20T10:00"))
    with pytest.raises(NotAllowed):
        flow.engine.execute(ExtendDeadline(case=case.number, reason="需现场核查"), actors["shencha"])
    result = flow.engine.execute(ExtendDeadline(case=case.number, reason="需现场核查"), actors["fuzeren"])
    assert result["until"] == "2026-04-14"
    assert deadline(seeded, case.number, "decision/red").due_on == date(2026, 4, 14)
    assert deadline(seeded, case.number, "decision/yellow").due_on == date(2026, 3, 30)
    with pytest.raises(Conflict):
        flow.engine.execute(ExtendDeadline(case=case.number, reason="再延一次"), actors["fuzeren"])
    with seeded.reader() as session:
        notice = session.scalar(select(Notice).where(Notice.kind == "extension"))
    assert "需现场核查" in notice.body and "10 个工作日" in notice.body


# ---------------------------------------------------------------- warnings and cards

def test_warning_yellow_and_red_come_on_the_right_days_and_escalate(flow, clock, seeded):
    case = flow.start()
    accept(flow, clock, "2026-03-02T10:00", case.number)
    day = date(2026, 3, 2)
    while day <= date(2026, 4, 1):
        sweep_at(flow, clock, f"{day.isoformat()}T08:00")
        day = day.fromordinal(day.toordinal() + 1)
    decision = [(d, k) for d, k in fired(seeded, case.number) if k.startswith("decision/")]
    assert decision == [
        (date(2026, 3, 14), "decision/warning"),   # end of 13 March: one working day before the promise
        (date(2026, 3, 17), "decision/yellow"),    # promised limit (10 working days) passed on 16 March
        (date(2026, 3, 18), "decision/yellow.1"),  # a working day later: the 负责人
        (date(2026, 3, 19), "decision/yellow.2"),  # two: the supervisor
        (date(2026, 3, 31), "decision/red"),       # statutory limit (20) passed on 30 March
    ]
    assert case_of(seeded, case.number).card == "red"
    shencha, fuzeren, jiancha = inbox(seeded, "shencha"), inbox(seeded, "fuzeren"), inbox(seeded, "jiancha")
    assert any("【预警】" in t and "承诺时限将于 2026-03-16 届满" in t for t in shencha)
    assert any("【黄牌】" in t for t in shencha) and not any("【预警】" in t for t in fuzeren)
    assert any("【升级·黄牌】" in t for t in fuzeren) and any("【升级·黄牌】" in t for t in jiancha)
    assert all(any("【红牌】" in t and "法定时限（2026-03-30）" in t for t in box) for box in (shencha, fuzeren, jiancha))
    # The review step has its own limit of 5 working days: it went yellow long before the case.
    assert (date(2026, 3, 10), f"step.{flow_task_id(seeded, case.number, 'review')}/yellow") in fired(seeded, case.number)


def flow_task_id(db, number: str, element: str) -> str:
    with db.reader() as session:
        case_id = session.scalar(select(Case.id).where(Case.number == number))
        return session.scalar(select(Task.spiff_id).where(Task.case_id == case_id, Task.element_id == element))


def test_a_step_done_in_time_stops_its_alerts_and_records_the_outcome(flow, clock, seeded):
    case = flow.start()
    accept(flow, clock, "2026-03-02T10:00", case.number)
    clock.set(at("2026-03-05T10:00"))
    flow.complete("shencha", {"review_result": "pass"}, number=case.number)
    sweep_at(flow, clock, "2026-03-12T08:00")
    with seeded.reader() as session:
        step = session.scalar(select(Clock).where(Clock.kind == "step", Clock.key.like("step.%"))
                              .order_by(Clock.id))
        assert step.state == "stopped" and step.outcome == "on_time"
    assert not any(k.startswith("step.") and "review" in k for _, k in fired(seeded, case.number))


# ---------------------------------------------------------------- deemed approval

@pytest.fixture
def joint(seeded):
    return "JOINT"  # the demo's 联办件: 民政 and 卫健 in parallel, 民政 may default


def test_a_parallel_department_defaults_and_the_case_moves_on(flow, clock, seeded, joint, actors):
    case = flow.start(item=joint)
    accept(flow, clock, "2026-03-02T10:00", case.number)
    clock.set(at("2026-03-03T10:00"))
    flow.complete("ws_shencha", {"ws_result": "agree"}, opinion="同意", number=case.number)

    sweep_at(flow, clock, "2026-03-05T20:00")  # 民政's 3 working days end on 5 March
    assert flow.task_of("mz_shencha", case.number).element_id == "mz_opinion"

    sweep_at(flow, clock, "2026-03-06T08:00")
    with seeded.reader() as session:
        mz = session.scalar(select(Task).where(Task.element_id == "mz_opinion", Task.kind == "bpmn"))
        assert mz.deemed and mz.state == "completed" and mz.form_data == {"mz_result": "agree"}
        assert mz.completed_by_id is None and "超时默许" in mz.opinion
    decide = flow.task_of("fuzeren", case.number)
    assert decide.element_id == "decide"  # the case moved on
    followup = flow.task_of("mz_shencha", case.number)
    assert followup.kind == "followup" and followup.name == "补充意见：民政意见"
    assert any("超时默许" in t for t in inbox(seeded, "mz_fuzeren"))
    assert deadline(seeded, case.number, f"followup.{followup.spiff_id}/yellow").due_on == date(2026, 3, 9)

    clock.set(at("2026-03-06T15:00"))
    flow.engine.execute(CompleteTask(task=followup.id, opinion="经核查，同意。"), actors["mz_shencha"])
    assert deadline(seeded, case.number, f"followup.{followup.spiff_id}/yellow").state == "cancelled"
    # The department's step that got its own answer in time was not deemed.
    with seeded.reader() as session:
        ws = session.scalar(select(Task).where(Task.element_id == "ws_opinion"))
    assert not ws.deemed


def test_item_deemed_approval_concludes_the_decision_as_a_grant(flow, clock, seeded):
    with seeded.transaction() as session:
        set_time_policy(session, "GENERAL", {"statutory_days": 20, "deemed_approval": True})
    case = flow.start()
    accept(flow, clock, "2026-03-02T10:00", case.number)
    clock.set(at("2026-03-04T10:00"))
    flow.complete("shencha", {"review_result": "pass"}, number=case.number)
    sweep_at(flow, clock, "2026-03-31T08:00")
    row = case_of(seeded, case.number)
    assert row.decision == "deemed_grant" and row.state == "concluded"
    assert row.card == "yellow"  # the decision step ran past its own 3 days; no red card
    with seeded.reader() as session:
        assert session.scalar(select(Notice).where(Notice.kind == "deemed_approval")) is not None


def test_deemed_approval_stops_at_a_step_that_cannot_be_deemed_and_flags_red(flow, clock, seeded):
    with seeded.transaction() as session:
        set_time_policy(session, "GENERAL", {"statutory_days": 20, "deemed_approval": True})
    case = flow.start()
    accept(flow, clock, "2026-03-02T10:00", case.number)
    sweep_at(flow, clock, "2026-03-31T08:00")
    row = case_of(seeded, case.number)
    assert row.decision is None and row.card == "red"
    with seeded.reader() as session:
        entry = session.scalar(select(HistoryEntry).where(HistoryEntry.command == "fire_deadline",
                                                          HistoryEntry.payload["deadline"].as_string() == "decision/deemed"))
    assert entry.payload["outcome"] == "blocked" and entry.payload["waiting"] == ["审查"]


def test_history_records_every_time_command_with_its_actor(flow, clock, seeded, actors):
    case = flow.start()
    sweep_at(flow, clock, "2026-03-10T08:00")
    with seeded.reader() as session:
        entries = session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case_of(seeded, case.number).id)
                                  .order_by(HistoryEntry.seq)).all()
    assert [(e.command, e.actor) for e in entries] == [
        ("start_case", "applicant:张三"), ("fire_deadline", "system:timer"), ("fire_deadline", "system:timer")]
    assert entries[-1].ready_tasks[0]["element"] == "review"
