"""Every catalogue item driven from application to conclusion on a controlled clock."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.commands import ReceiveSupplement, RequestSupplement
from engine.errors import BadInput
from engine.store.models import Clock, Message, Notice, Task
from engine.timelimits.workdays import WorkCalendar

from .test_time_limits import at, case_of, deadline, inbox, sweep_at


def clock_of(db, number: str, key_prefix: str, element: str | None = None) -> Clock:
    with db.reader() as session:
        case_id = case_of(db, number).id
        query = select(Clock).where(Clock.case_id == case_id, Clock.key.startswith(key_prefix)).order_by(Clock.id)
        clocks = list(session.scalars(query))
        if element is not None:
            clocks = [c for c in clocks if c.task is not None and c.task.element_id == element]
        return clocks[-1]


def task_row(db, number: str, element: str) -> Task:
    with db.reader() as session:
        case_id = case_of(db, number).id
        return session.scalar(select(Task).where(Task.case_id == case_id, Task.element_id == element,
                                                 Task.kind == "bpmn").order_by(Task.id.desc()))


def do(flow, clock, when: str, username: str, data: dict, number: str, opinion: str = ""):
    clock.set(at(when))
    return flow.complete(username, data, opinion=opinion, number=number)


# ---------------------------------------------------------------- 结婚登记 (即办件)

def test_marriage_registration_is_done_the_same_day_at_the_window(flow, clock, seeded):
    case = flow.start(item="MZ-JHDJ", applicant="王五、李六")
    assert case.number == "MZJH-20260302-0001"  # the item's own numbering rule
    assert [t.due_on for t in _ready(seeded, case.number)] == [date(2026, 3, 2)]  # the inbox shows 当日办结
    do(flow, clock, "2026-03-02T09:20", "mz_chuangkou", {"acceptance": "accept", "identity_checked": "checked"},
       case.number)
    assert deadline(seeded, case.number, "decision/yellow").due_on == date(2026, 3, 2)  # 当日办结
    do(flow, clock, "2026-03-02T09:40", "mz_chuangkou", {"decision": "grant", "certificate_no": "J330100-2026-000123"},
       case.number)
    row = case_of(seeded, case.number)
    assert row.state == "concluded" and row.decision == "grant" and row.certificate_no == "J330100-2026-000123"
    assert clock_of(seeded, case.number, "decision").outcome == "on_time"


def test_a_refusal_at_acceptance_needs_a_reason_and_is_reported_to_the_supervisor(flow, clock, seeded):
    case = flow.start(item="MZ-JHDJ", applicant="赵七、钱八")
    with pytest.raises(BadInput, match="不予受理须在审批意见中写明理由"):
        do(flow, clock, "2026-03-02T09:30", "mz_chuangkou", {"acceptance": "refuse", "identity_checked": "mismatch"},
           case.number)
    do(flow, clock, "2026-03-02T09:35", "mz_chuangkou", {"acceptance": "refuse", "identity_checked": "mismatch"},
       case.number, opinion="一方未达法定婚龄")
    row = case_of(seeded, case.number)
    assert row.state == "concluded" and row.acceptance == "refused"
    with seeded.reader() as session:
        notice = session.scalar(select(Notice).where(Notice.case_id == row.id, Notice.kind == "refusal"))
    assert "不予受理" in notice.body and "一方未达法定婚龄" in notice.body
    assert any("【否定报备】" in t and case.number in t for t in inbox(seeded, "jiancha"))


# ---------------------------------------------------------------- 食品经营许可 (承诺件)

def test_food_business_licence_with_a_one_time_notice_and_resumption(flow, clock, seeded, actors):
    case = flow.start(item="SCJG-SPJY", applicant="某餐饮管理有限公司")
    assert case.number == "SCJG-SPJY-20260302-00001"
    clock.set(at("2026-03-03T10:00"))
    flow.engine.execute(RequestSupplement(case=case.number, materials=("食品安全管理制度目录", "设备布局图（盖章）")),
                        actors["chuangkou"])
    sweep_at(flow, clock, "2026-03-09T08:00")  # the acceptance clock stopped with the notice: nothing fires
    assert case_of(seeded, case.number).acceptance == "supplement"
    clock.set(at("2026-03-09T14:00"))
    flow.engine.execute(ReceiveSupplement(case=case.number, note="材料已补齐"), actors["chuangkou"])
    do(flow, clock, "2026-03-09T15:00", "chuangkou", {"acceptance": "accept"}, case.number)
    assert clock_of(seeded, case.number, "decision").started_on == date(2026, 3, 9)
    assert deadline(seeded, case.number, "decision/yellow").due_on == date(2026, 3, 23)
    do(flow, clock, "2026-03-10T10:00", "shencha", {"review_result": "pass", "needs_inspection": "true"}, case.number)
    do(flow, clock, "2026-03-12T10:00", "shencha", {"inspection_result": "conform", "inspection_notes": "场所与材料一致"},
       case.number)
    do(flow, clock, "2026-03-13T10:00", "fuzeren", {"decision": "grant"}, case.number, opinion="同意")
    assert clock_of(seeded, case.number, "issue").state == "running"
    do(flow, clock, "2026-03-16T10:00", "chuangkou", {"certificate_no": "JY13301020260042"}, case.number)
    row = case_of(seeded, case.number)
    assert row.state == "concluded" and row.certificate_no == "JY13301020260042" and row.card is None
    assert clock_of(seeded, case.number, "decision").outcome == "on_time"
    assert clock_of(seeded, case.number, "issue").outcome == "on_time"


# ---------------------------------------------------------------- 公共场所卫生许可 (检测不计时)

def test_hygiene_licence_testing_time_does_not_count(flow, clock, seeded):
    case = flow.start(item="WSJK-GGCS", applicant="某酒店有限公司")
    do(flow, clock, "2026-03-02T10:00", "ws_chuangkou", {"acceptance": "accept"}, case.number)
    red_before = deadline(seeded, case.number, "decision/red").due_on
    do(flow, clock, "2026-03-03T10:00", "ws_shencha", {"review_result": "pass"}, case.number)
    assert case_of(seeded, case.number).suspended  # the testing step stops the clocks
    assert deadline(seeded, case.number, "decision/red").state == "paused"
    do(flow, clock, "2026-03-13T16:00", "ws_shencha", {"testing_result": "qualified", "report_no": "JC-2026-0311"},
       case.number)
    row = case_of(seeded, case.number)
    assert not row.suspended
    decision = clock_of(seeded, case.number, "decision")
    assert decision.suspended_days == 8  # 4 March to 13 March
    with seeded.reader() as session:
        calendar = WorkCalendar.load(session)
    assert deadline(seeded, case.number, "decision/red").due_on == calendar.add(red_before, 8).value == date(2026, 4, 10)
    do(flow, clock, "2026-03-16T10:00", "ws_fuzeren", {"decision": "grant"}, case.number)
    do(flow, clock, "2026-03-17T10:00", "ws_chuangkou", {"certificate_no": "卫公证字〔2026〕第0088号"}, case.number)
    assert case_of(seeded, case.number).state == "concluded"
    with seeded.reader() as session:
        notice = session.scalar(select(Notice).where(Notice.case_id == row.id, Notice.kind == "suspension"))
    assert "检测" in notice.body and "10 个工作日" in notice.body


# ---------------------------------------------------------------- 动物诊疗许可 (超期默许)

def test_animal_clinic_licence_is_deemed_approved_when_the_authority_stays_silent(flow, clock, seeded):
    case = flow.start(item="NYNC-DWZL", applicant="某宠物医院有限公司")
    do(flow, clock, "2026-03-02T10:00", "nync_chuangkou", {"acceptance": "accept"}, case.number)
    sweep_at(flow, clock, "2026-03-17T08:00")  # the review's 10 working days are over: deemed agreed
    review = task_row(seeded, case.number, "review_materials")
    assert review.deemed and review.form_data == {"review_result": "pass"}
    assert flow.task_of("nync_shencha", case.number).kind == "followup"
    sweep_at(flow, clock, "2026-03-31T08:00")  # the statutory 20 are over: 超期默许
    row = case_of(seeded, case.number)
    assert row.decision == "deemed_grant" and task_row(seeded, case.number, "decide").deemed
    do(flow, clock, "2026-03-31T10:00", "nync_chuangkou", {"certificate_no": "动诊字 330100-2026-017"}, case.number)
    assert case_of(seeded, case.number).state == "concluded"


# ---------------------------------------------------------------- 企业投资项目并联审批 (联办件)

def test_parallel_review_where_one_department_is_late(flow, clock, seeded):
    case = flow.start(item="FGW-TZXM", applicant="某新能源科技有限公司")
    do(flow, clock, "2026-03-02T10:00", "fgw_chuangkou", {"acceptance": "accept"}, case.number)
    ready = {t.element_id: t.department.code for t in _ready(seeded, case.number)}
    assert ready == {"zrzy_opinion": "zrzy", "sthj_opinion": "sthj", "zjj_opinion": "zjj"}
    do(flow, clock, "2026-03-03T10:00", "zrzy_shencha", {"zrzy_result": "agree"}, case.number)
    do(flow, clock, "2026-03-04T10:00", "sthj_shencha", {"sthj_result": "agree"}, case.number)
    sweep_at(flow, clock, "2026-03-10T08:00")  # 住建's 5 working days ended on 9 March
    assert any("【黄牌】" in t and "建设条件审查意见" in t for t in inbox(seeded, "zjj_shencha"))
    sweep_at(flow, clock, "2026-03-11T08:00")
    assert any("【升级·黄牌】" in t for t in inbox(seeded, "zjj_fuzeren"))
    do(flow, clock, "2026-03-11T10:00", "zjj_shencha", {"zjj_result": "agree"}, case.number)
    assert clock_of(seeded, case.number, "step.", "zjj_opinion").outcome == "late"
    assert clock_of(seeded, case.number, "step.", "zrzy_opinion").outcome == "on_time"
    do(flow, clock, "2026-03-12T10:00", "fgw_shencha", {"consolidated": "all_agree", "consolidation_notes": "三部门均同意"},
       case.number)
    do(flow, clock, "2026-03-13T10:00", "fgw_fuzeren", {"decision": "grant"}, case.number)
    do(flow, clock, "2026-03-16T10:00", "fgw_chuangkou", {"certificate_no": "某发改审批〔2026〕31号"}, case.number)
    row = case_of(seeded, case.number)
    assert row.state == "concluded" and row.card == "yellow" and row.certificate_no == "某发改审批〔2026〕31号"


def _ready(db, number: str) -> list[Task]:
    with db.reader() as session:
        case_id = case_of(db, number).id
        tasks = list(session.scalars(select(Task).where(Task.case_id == case_id, Task.state == "ready")))
        for t in tasks:
            t.department  # noqa: B018 — load while the session is open
        return tasks


# ---------------------------------------------------------------- 12345 诉求件 (督办)

def test_a_complaint_handled_late_is_escalated_and_reopened_when_unsatisfied(flow, clock, seeded):
    case = flow.start(item="ZWFW-12345", applicant="市民刘女士")
    assert case.number.startswith("RX-20260302-") and len(case.number.split("-")[-1]) == 6
    do(flow, clock, "2026-03-02T09:30", "rexian",
       {"acceptance": "accept", "category": "efficiency", "content": "窗口办事推诿，一次性告知不到位",
        "responsible_unit": "scjg"}, case.number)
    handle = flow.task_of("shencha", case.number)
    assert handle.element_id == "handle" and handle.department.code == "scjg"
    sweep_at(flow, clock, "2026-03-10T08:00")  # 5 working days ended on 9 March
    assert any("【黄牌】" in t for t in inbox(seeded, "shencha"))
    assert any("【黄牌】" in t for t in inbox(seeded, "fuzeren"))  # 督办: the unit's head at once
    sweep_at(flow, clock, "2026-03-11T08:00")
    assert any("【升级·黄牌】" in t for t in inbox(seeded, "jiancha"))  # and the supervisor a day later
    do(flow, clock, "2026-03-11T10:00", "shencha", {"handling_result": "explained", "handling_notes": "已约谈当事窗口人员"},
       case.number)
    do(flow, clock, "2026-03-11T16:00", "fuzeren", {"answer_text": "已核实并整改，向您致歉"}, case.number)
    do(flow, clock, "2026-03-12T10:00", "rexian", {"satisfaction": "unsatisfied"}, case.number)
    assert flow.task_of("shencha", case.number).element_id == "handle"  # reopened
    do(flow, clock, "2026-03-13T10:00", "shencha", {"handling_result": "resolved", "handling_notes": "已重新办理"},
       case.number)
    do(flow, clock, "2026-03-13T15:00", "fuzeren", {"answer_text": "已办结"}, case.number)
    do(flow, clock, "2026-03-16T10:00", "rexian", {"satisfaction": "satisfied"}, case.number)
    do(flow, clock, "2026-03-16T11:00", "rexian", {"closing_notes": "满意，归档"}, case.number)
    row = case_of(seeded, case.number)
    assert row.state == "concluded" and row.card == "yellow"


# ---------------------------------------------------------------- 食品生产许可 (上报件)

def test_a_county_case_is_decided_by_the_city_and_delivered_by_the_county(flow, clock, seeded):
    case = flow.start(item="SCJG-SPSC", applicant="某食品有限公司")
    assert case.number.startswith("XSC-")
    do(flow, clock, "2026-03-02T10:00", "xian_chuangkou", {"acceptance": "accept"}, case.number)
    preliminary = flow.task_of("xian_shencha", case.number)
    assert preliminary.department.code == "county_scjg"
    assert clock_of(seeded, case.number, "step.", "preliminary_review").limit_days == 10  # the catalogue's step limit
    do(flow, clock, "2026-03-06T10:00", "xian_shencha",
       {"preliminary_result": "recommend", "preliminary_notes": "现场核查符合要求"}, case.number)
    city = flow.task_of("shencha", case.number)
    assert city.element_id == "city_review" and city.department.code == "scjg"  # crossed to the city level
    do(flow, clock, "2026-03-10T10:00", "shencha", {"city_review_result": "pass"}, case.number)
    do(flow, clock, "2026-03-11T10:00", "fuzeren", {"decision": "grant"}, case.number, opinion="准予许可")
    assert case_of(seeded, case.number).decision == "grant"
    deliver = flow.task_of("xian_chuangkou", case.number)
    assert deliver.element_id == "issue_licence"  # back at the county for delivery
    do(flow, clock, "2026-03-12T10:00", "xian_chuangkou", {"certificate_no": "SC10633010200123"}, case.number)
    row = case_of(seeded, case.number)
    assert row.state == "concluded" and row.certificate_no == "SC10633010200123"


def test_a_city_refusal_is_reported_and_ends_the_county_case(flow, clock, seeded):
    case = flow.start(item="SCJG-SPSC", applicant="某食品有限公司")
    do(flow, clock, "2026-03-02T10:00", "xian_chuangkou", {"acceptance": "accept"}, case.number)
    do(flow, clock, "2026-03-03T10:00", "xian_shencha",
       {"preliminary_result": "not_recommend", "preliminary_notes": "工艺布局存在交叉污染"}, case.number)
    with pytest.raises(BadInput, match="审查意见为“不符合条件”时须在审批意见中写明理由"):
        do(flow, clock, "2026-03-04T10:00", "shencha", {"city_review_result": "fail"}, case.number)
    do(flow, clock, "2026-03-04T10:00", "shencha", {"city_review_result": "fail"}, case.number,
       opinion="工艺布局存在交叉污染，不符合条件")
    do(flow, clock, "2026-03-05T10:00", "fuzeren", {"decision": "deny"}, case.number, opinion="生产工艺布局不符合要求")
    row = case_of(seeded, case.number)
    assert row.state == "concluded" and row.decision == "deny"
    with seeded.reader() as session:
        kinds = list(session.scalars(select(Message.kind).where(Message.case_id == row.id)))
    assert "negative" in kinds


def test_food_business_licence_follows_the_reviewers_choice_about_inspection(flow, clock, seeded):
    """The reviewer decides whether 现场核查 is needed; an unticked box goes straight to the decision."""
    inspected, skipped = flow.start(item="SCJG-SPJY"), flow.start(item="SCJG-SPJY")
    for case in (inspected, skipped):
        do(flow, clock, "2026-03-02T10:00", "chuangkou", {"acceptance": "accept"}, case.number)
    do(flow, clock, "2026-03-03T10:00", "shencha", {"review_result": "pass", "needs_inspection": "true"},
       inspected.number)
    do(flow, clock, "2026-03-03T11:00", "shencha", {"review_result": "pass"}, skipped.number)
    assert [t.element_id for t in _ready(seeded, inspected.number)] == ["site_inspection"]
    assert [t.element_id for t in _ready(seeded, skipped.number)] == ["decide"]
