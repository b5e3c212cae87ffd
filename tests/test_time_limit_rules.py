"""Time-limit rules found wrong or missing (issue 10, point 7): each rule with its case."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from engine.commands import (CompleteTask, ExtendDeadline, ReceiveSupplement, RequestSupplement, ResumeClocks,
                             SuspendClocks)
from engine.deploy import set_time_policy
from engine.errors import Conflict
from engine.store.models import Case, HistoryEntry, Message, Notice, User
from engine.timelimits.policy import TimePolicy
from engine.timelimits.schedule import import_schedule, parse_schedule

from .test_time_limits import accept, at, case_of, deadline, fired, inbox, sweep_at


# ---------------------------------------------------------------- extension during a suspension

def test_an_extension_asked_for_during_a_suspension_does_not_count_the_pause(flow, clock, seeded, actors):
    case = flow.start()
    accept(flow, clock, "2026-03-02T10:00", case.number)  # statutory limit: 30 March
    clock.set(at("2026-03-25T10:00"))
    flow.engine.execute(SuspendClocks(case=case.number, kind="testing", days=15, reason="送检"), actors["shencha"])
    # 2 April: past 30 March on the calendar, but the clock has stood since 25 March.
    clock.set(at("2026-04-02T10:00"))
    result = flow.engine.execute(ExtendDeadline(case=case.number, reason="检测结果需专家复核"), actors["fuzeren"])
    assert result["days"] == 10
    with seeded.reader() as session:
        notice = session.scalar(select(Notice).where(Notice.kind == "extension"))
    assert "特别程序所需时间不计算在内" in notice.body
    # Resumed on 3 April: 7 working days stood (26 March … 3 April, 清明 not yet), plus 10 extended.
    clock.set(at("2026-04-03T10:00"))
    flow.engine.execute(ResumeClocks(case=case.number), actors["shencha"])
    red = deadline(seeded, case.number, "decision/red")
    with seeded.reader() as session:
        expected = flow.engine.calendar(session).add(date(2026, 3, 2), 20 + 7 + 10).value
    assert red.state == "armed" and red.due_on == expected


def test_an_extension_after_the_statutory_limit_is_still_refused(flow, clock, seeded, actors):
    case = flow.start()
    accept(flow, clock, "2026-03-02T10:00", case.number)
    clock.set(at("2026-03-31T10:00"))  # statutory limit 30 March, no suspension
    with pytest.raises(Conflict) as caught:
        flow.engine.execute(ExtendDeadline(case=case.number, reason="来不及"), actors["fuzeren"])
    assert "2026-03-30 届满" in caught.value.message


# ---------------------------------------------------------------- a late one-time notice

def test_a_one_time_notice_after_the_acceptance_limit_is_refused(flow, clock, seeded, actors):
    case = flow.start()  # Monday 2 March: the acceptance limit is 9 March
    sweep_at(flow, clock, "2026-03-09T18:00")
    clock.set(at("2026-03-10T07:30"))  # the limit has passed; the sweep has not run yet
    with pytest.raises(Conflict) as caught:
        flow.engine.execute(RequestSupplement(case=case.number, materials=("营业执照副本",)), actors["chuangkou"])
    assert "第三十二条" in caught.value.message and "2026-03-09" in caught.value.message
    assert case_of(seeded, case.number).acceptance is None
    sweep_at(flow, clock, "2026-03-10T08:00")  # the deemed acceptance stands
    row = case_of(seeded, case.number)
    assert row.acceptance == "deemed" and row.accepted_at == at("2026-03-02T09:00")


def test_a_one_time_notice_on_the_last_day_is_in_time(flow, clock, seeded, actors):
    case = flow.start()
    clock.set(at("2026-03-09T17:00"))
    record = flow.engine.execute(RequestSupplement(case=case.number, materials=("营业执照副本",)),
                                 actors["chuangkou"])
    assert record["in_time"] and case_of(seeded, case.number).acceptance == "supplement"


# ---------------------------------------------------------------- same-day statutory limit

def test_a_same_day_statutory_limit_gives_the_red_card_that_day(flow, clock, seeded):
    with seeded.transaction() as session:
        set_time_policy(session, "GENERAL", {"statutory_days": 0})
    case = flow.start()
    accept(flow, clock, "2026-03-02T10:00", case.number)
    red = deadline(seeded, case.number, "decision/red")
    assert red.due_on == date(2026, 3, 2)
    assert sweep_at(flow, clock, "2026-03-02T23:59").fired == 0
    sweep_at(flow, clock, "2026-03-03T00:01")
    assert case_of(seeded, case.number).card == "red"
    assert "decision/red" in [k for _, k in fired(seeded, case.number)]
    assert any("已超过法定时限（2026-03-02）" in t for t in inbox(seeded, "fuzeren"))


def test_statutory_zero_is_valid_in_the_policy_and_the_catalogue():
    from engine.catalogue import _validator

    assert TimePolicy.from_dict({"statutory_days": 0, "promised_days": 0}).statutory_days == 0
    limits = {"code": "X-TEST", "name": "当场办结", "department": "scjg", "kind": "即办件", "process": "x.bpmn",
              "legal_basis": ["x"], "conditions": ["x"], "materials": [{"name": "x", "required": True}],
              "fees": {"amount": 0, "basis": "x"}, "limits": {"statutory_days": 0}, "complaint": {"phone": "12345"}}
    assert list(_validator.iter_errors(limits)) == []


# ---------------------------------------------------------------- a second one-time notice

def _supplied(flow, clock, actors, number):
    clock.set(at("2026-03-03T10:00"))
    flow.engine.execute(RequestSupplement(case=number, materials=("营业执照副本", "场所平面图")), actors["chuangkou"])
    clock.set(at("2026-03-10T10:00"))
    flow.engine.execute(ReceiveSupplement(case=number), actors["chuangkou"])


def test_a_second_notice_for_new_materials_is_refused(flow, clock, seeded, actors):
    case = flow.start()
    _supplied(flow, clock, actors, case.number)
    clock.set(at("2026-03-11T10:00"))
    with pytest.raises(Conflict) as caught:
        flow.engine.execute(RequestSupplement(case=case.number, materials=("场所平面图", "卫生许可证")),
                            actors["chuangkou"])
    assert "卫生许可证" in caught.value.message and "一次性告知" in caught.value.message


def test_a_second_notice_for_defects_in_the_supplied_materials_is_recorded_and_reported(flow, clock, seeded,
                                                                                        actors):
    case = flow.start()
    _supplied(flow, clock, actors, case.number)
    clock.set(at("2026-03-11T10:00"))
    record = flow.engine.execute(RequestSupplement(case=case.number, materials=("场所平面图",),
                                                   note="平面图未标注面积"), actors["chuangkou"])
    assert record["defects_in_supplied"] and record["round"] == 2 and record["notified"] == ["jiancha"]
    with seeded.reader() as session:
        row = session.scalar(select(Case).where(Case.number == case.number))
        entry = session.scalar(select(HistoryEntry).where(HistoryEntry.case_id == row.id)
                               .order_by(HistoryEntry.seq.desc()).limit(1))
        notice = session.scalars(select(Notice).where(Notice.case_id == row.id, Notice.kind == "supplement")
                                 .order_by(Notice.id)).all()[-1]
    assert entry.payload["defects_in_supplied"] is True and entry.payload["round"] == 2
    assert notice.detail["defects_in_supplied"] and "已补正的材料" in notice.body
    assert any("再次告知" in t for t in inbox(seeded, "jiancha"))


# ---------------------------------------------------------------- calendar import keeps going

def test_a_case_that_cannot_be_recomputed_does_not_stop_the_calendar_import(flow, clock, seeded, monkeypatch):
    from engine.timelimits import recompute

    clock.set(at("2026-12-10T09:00"))
    broken, fine = flow.start(), flow.start()
    for number in (broken.number, fine.number):
        flow.complete("chuangkou", {"acceptance": "accept"}, number=number)
    original = recompute.recompute_all

    def failing(t):
        if t.row.number == broken.number:
            raise RuntimeError("模拟的损坏办件")
        return original(t)

    monkeypatch.setattr(recompute, "recompute_all", failing)
    schedule = {"year": 2027, "source": "测试", "days_off": [{"date": "2027-01-01", "name": "元旦"},
                                                             {"date": "2027-01-04", "name": "测试"}]}
    result = import_schedule(flow.engine, parse_schedule(json.dumps(schedule)), "admin")
    assert [f["case"] for f in result["failed"]] == [broken.number] and "模拟的损坏办件" in result["failed"][0]["error"]
    assert {m["case"] for m in result["moved"]} == {fine.number}
    assert deadline(seeded, fine.number, "decision/red").due_on == date(2027, 1, 11)
    assert deadline(seeded, broken.number, "decision/red").due_on == date(2027, 1, 8)  # unchanged, still provisional


# ---------------------------------------------------------------- 联办件: the government's head extends

def test_a_joint_case_is_extended_by_the_head_of_the_peoples_government(flow, clock, seeded, actors):
    from engine.commands import DecideExtension, RequestExtension
    from engine.errors import NotAllowed
    from engine.read.queries import pending_extension_requests

    case = flow.start(item="JOINT", applicant="某养老服务有限公司")
    accept(flow, clock, "2026-03-02T10:00", case.number)
    clock.set(at("2026-03-20T10:00"))
    with pytest.raises(NotAllowed) as caught:
        flow.engine.execute(ExtendDeadline(case=case.number, reason="需补充专家论证"), actors["fuzeren"])
    assert "本级人民政府负责人" in caught.value.message and "第四十二条" in caught.value.message

    result = flow.engine.execute(RequestExtension(case=case.number, reason="需补充专家论证"), actors["ws_shencha"])
    assert result == {"days": 15}
    with seeded.reader() as session:
        assert [r["case"] for r in pending_extension_requests(session, actors["fushizhang"])] == [case.number]
        assert pending_extension_requests(session, actors["fuzeren"]) == []
    assert any("延期申请" in t for t in inbox(seeded, "fushizhang"))
    with pytest.raises(NotAllowed):
        flow.engine.execute(DecideExtension(case=case.number, approve=True), actors["fuzeren"])
    clock.set(at("2026-03-20T15:00"))
    record = flow.engine.execute(DecideExtension(case=case.number, approve=True, note="同意"), actors["fushizhang"])
    assert record["days"] == 15
    with seeded.reader() as session:
        notice = session.scalar(select(Notice).where(Notice.kind == "extension"))
    assert "经本级人民政府负责人批准" in notice.body and "15 个工作日" in notice.body


def test_an_ordinary_case_is_still_extended_by_the_departments_head(flow, clock, seeded, actors):
    from engine.errors import NotAllowed

    case = flow.start()
    accept(flow, clock, "2026-03-02T10:00", case.number)
    with pytest.raises(NotAllowed):
        flow.engine.execute(ExtendDeadline(case=case.number, reason="x"), actors["fushizhang"])
    assert flow.engine.execute(ExtendDeadline(case=case.number, reason="需现场核查"), actors["fuzeren"])["days"] == 10


# ---------------------------------------------------------------- 上报件: the lower level's own 20 days

def _reported_case(flow, clock):
    case = flow.start(item="SCJG-SPSC", applicant="某食品厂")
    clock.set(at("2026-03-02T10:00"))
    flow.complete("xian_chuangkou", {"acceptance": "accept"}, number=case.number)
    return case


def test_a_reported_case_has_the_lower_levels_own_clock_until_it_is_reported(flow, clock, seeded):
    case = _reported_case(flow, clock)
    assert deadline(seeded, case.number, "preliminary/red").due_on == date(2026, 3, 30)  # 20 working days
    assert deadline(seeded, case.number, "preliminary/warning").due_on == date(2026, 3, 27)
    clock.set(at("2026-03-10T10:00"))
    flow.complete("xian_shencha", {"preliminary_result": "recommend", "preliminary_notes": "现场核查合格"},
                  number=case.number)
    assert flow.task_of("shencha", case.number).element_id == "city_review"  # reported up to the city
    with seeded.reader() as session:
        from engine.store.models import Clock

        row = session.scalar(select(Case).where(Case.number == case.number))
        clock_row = session.scalar(select(Clock).where(Clock.case_id == row.id, Clock.key == "preliminary"))
    assert (clock_row.state, clock_row.outcome) == ("stopped", "on_time")
    assert deadline(seeded, case.number, "preliminary/red").state == "cancelled"


def test_a_lower_level_late_with_its_preliminary_review_gets_the_red_card(flow, clock, seeded):
    case = _reported_case(flow, clock)
    sweep_at(flow, clock, "2026-03-31T08:00")
    assert "preliminary/red" in [k for _, k in fired(seeded, case.number)]
    assert case_of(seeded, case.number).card == "red"
    assert any("已超过先行审查时限（2026-03-30）" in t for t in inbox(seeded, "xian_fuzeren"))


def test_the_catalogue_gives_a_reported_item_twenty_preliminary_days(seeded):
    from engine.store.models import Item

    with seeded.reader() as session:
        policy = session.scalar(select(Item.time_policy).where(Item.code == "SCJG-SPSC"))
        general = session.scalar(select(Item.time_policy).where(Item.code == "GENERAL"))
    assert policy["preliminary_days"] == 20 and "preliminary_days" not in general


def test_the_extension_approver_is_part_of_the_policy_and_checked():
    from engine.errors import BadInput

    assert TimePolicy.from_dict({"extension_approver": "government"}).to_dict()["extension_approver"] == "government"
    assert "extension_approver" not in TimePolicy.from_dict({}).to_dict()  # stored policies keep their shape
    with pytest.raises(BadInput) as caught:
        TimePolicy.from_dict({"extension_approver": "mayor"})
    assert "本级人民政府负责人" in caught.value.message
