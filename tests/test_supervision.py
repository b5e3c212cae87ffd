"""Supervision (issue 15): facts and statistics from histories on a controlled clock, findings
with their evidence and states, 效能告诫 and the two-warnings rule, the board."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime

import openpyxl
import pytest
from sqlalchemy import func, select

from engine.clock import CHINA_TZ
from engine.commands import (AcknowledgeRefusal, CloseFinding, CompleteTask, ConfirmFinding, DecideWarning,
                             DetectFindings,
                             ExplainFinding, ExtendDeadline, IssueWarning, ReceiveSupplement, RecordMaterials,
                             RequestExplanation, RequestSupplement)
from engine.errors import BadInput, Conflict, NotAllowed, NotFound
from engine.store.models import (Case, CommandRefusal, EfficiencyWarning, Finding, HistoryEntry, Message, Meta, SupervisionAct, TrendFigures,
                                 User)
from engine.supervision.board import board
from engine.supervision.report import DEFINITIONS, monthly_report, remember_finished_months, remember_trend, report_csv
from engine.supervision.statistics import statistics
from engine.timelimits.workdays import calendar_version
from engine.supervision.views import findings_page
from timers import sweep


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def step(flow, clock, when, user, data, number, opinion="同意"):
    clock.set(at(when))
    return flow.complete(user, data, opinion=opinion, number=number)


def granted(flow, clock, start, accept, review, decide, decision="grant"):
    """A GENERAL case: received at ``start``, accepted, reviewed and decided at the times given."""
    clock.set(at(start))
    case = flow.start()
    step(flow, clock, accept, "chuangkou", {"acceptance": "accept"}, case.number)
    step(flow, clock, review, "shencha", {"review_result": "pass"}, case.number)
    step(flow, clock, decide, "fuzeren", {"decision": decision}, case.number)
    return case.number


def supplement_then_deny(flow, clock):
    """收件 Mon 03-02; one-time notice 03-03; materials back 03-16; accepted 03-17; denied 03-23."""
    clock.set(at("2026-03-02T09:00"))
    case = flow.start()
    clock.set(at("2026-03-03T10:00"))
    flow.engine.execute(RequestSupplement(case=case.number, materials=("营业执照副本",)), flow.actors["chuangkou"])
    clock.set(at("2026-03-16T14:00"))
    flow.engine.execute(ReceiveSupplement(case=case.number), flow.actors["chuangkou"])
    step(flow, clock, "2026-03-17T09:00", "chuangkou", {"acceptance": "accept"}, case.number)
    step(flow, clock, "2026-03-20T16:00", "shencha", {"review_result": "fail"}, case.number)
    step(flow, clock, "2026-03-23T10:00", "fuzeren", {"decision": "deny"}, case.number)
    return case.number


def stats(flow, start, end, group="department"):
    with flow.db.reader() as session:
        return statistics(session, flow.engine.calendar(session), start, end, group)


# ---------------------------------------------------------------- statistics, hand-computed

def test_a_supplement_pause_is_not_time_used_and_a_refusal_counts(flow, clock):
    number = supplement_then_deny(flow, clock)
    s = stats(flow, date(2026, 3, 1), date(2026, 3, 31))
    t = s["total"]["figures"]
    # 03-02 → 03-23 is 15 working days; waiting for the supplement 03-03 → 03-16 is 9 of them
    assert t["avg_used"] == 6
    assert (t["received"], t["concluded"], t["on_time"], t["refusals"], t["supplements"]) == (1, 1, 1, 1, 1)
    assert t["on_time_rate"] == 1 and t["avg_promised"] == 10 and t["avg_statutory"] == 20
    assert t["compression"] == pytest.approx(1 - 6 / 20)
    assert s["cases"]["total"]["refusals"] == [number]


def test_an_extension_raises_the_limit_and_is_shown(flow, clock):
    clock.set(at("2026-03-02T09:00"))
    case = flow.start()
    step(flow, clock, "2026-03-02T10:00", "chuangkou", {"acceptance": "accept"}, case.number)
    step(flow, clock, "2026-03-06T10:00", "shencha", {"review_result": "pass"}, case.number)
    clock.set(at("2026-03-09T10:00"))
    flow.engine.execute(ExtendDeadline(case=case.number, reason="需组织现场核查"), flow.actors["fuzeren"])
    step(flow, clock, "2026-03-18T10:00", "fuzeren", {"decision": "grant"}, case.number)
    t = stats(flow, date(2026, 3, 1), date(2026, 3, 31))["total"]["figures"]
    # 03-02 → 03-18: 12 working days, over the promised 10 but within 10 + 10 extended
    assert (t["avg_used"], t["extensions"], t["on_time"], t["overdue"]) == (12, 1, 1, 0)


def test_a_case_done_on_the_spot_counts_as_on_the_spot(flow, clock):
    number = granted(flow, clock, "2026-03-02T09:00", "2026-03-02T09:30", "2026-03-02T10:30", "2026-03-02T11:00")
    s = stats(flow, date(2026, 3, 2), date(2026, 3, 2), "clerk")
    assert s["rows"][0]["label"] == "王窗口"
    f = s["rows"][0]["figures"]
    assert (f["on_spot"], f["on_spot_rate"], f["avg_used"]) == (1, 1, 0)
    assert s["cases"]["chuangkou"]["on_spot"] == [number]


def test_refused_at_the_window_is_no_conclusion_and_a_jiban_is_no_compression(flow, clock):
    """The centre's definitions (docs/supervision.md): 不予受理 is counted apart, not as 办结 nor
    现场办结; a 承诺件 decided the day it came in is 现场办结; a 即办件 counts in 即办件率 and is left
    out of the limits and the compression, which are over 承诺件."""
    refused = flow.start(applicant="赵七")
    step(flow, clock, "2026-03-02T09:10", "chuangkou", {"acceptance": "refuse"}, refused.number,
         opinion="不属于本部门职权范围")
    quick = granted(flow, clock, "2026-03-02T09:20", "2026-03-02T09:30", "2026-03-02T10:30", "2026-03-02T11:00")
    clock.set(at("2026-03-02T11:10"))
    marriage = flow.start(item="MZ-JHDJ", applicant="王五、李六")
    step(flow, clock, "2026-03-02T11:20", "mz_chuangkou", {"acceptance": "accept", "identity_checked": "checked"},
         marriage.number)
    step(flow, clock, "2026-03-02T11:40", "mz_chuangkou",
         {"decision": "grant", "certificate_no": "J330100-2026-000123"}, marriage.number)
    slow = granted(flow, clock, "2026-03-03T09:00", "2026-03-03T10:00", "2026-03-06T10:00", "2026-03-09T10:00")
    s = stats(flow, date(2026, 3, 1), date(2026, 3, 31))
    t, cases = s["total"]["figures"], s["cases"]["total"]
    assert (t["received"], t["concluded"], t["not_accepted"], t["refusals"]) == (4, 3, 1, 0)
    assert cases["not_accepted"] == [refused.number] and refused.number not in cases["concluded"]
    assert sorted(cases["on_spot"]) == sorted([quick, marriage.number]) and t["on_spot_rate"] == pytest.approx(2 / 3)
    assert cases["instant"] == [marriage.number] and t["instant_rate"] == pytest.approx(1 / 3)
    # limits and compression over the two 承诺件 (promised 10, statutory 20): used 0 and 4 working days
    assert sorted(cases["limited"]) == sorted([quick, slow])
    assert (t["avg_promised"], t["avg_statutory"]) == (10, 20)
    assert t["promise_compression"] == pytest.approx(1 - 20 / 40)
    assert t["compression"] == pytest.approx(1 - 4 / 40)
    assert t["avg_used"] == pytest.approx(4 / 3)  # time used over every 办结, the 即办件 included


def test_a_case_crossing_a_month_boundary_is_received_in_one_month_and_concluded_in_the_next(flow, clock):
    number = granted(flow, clock, "2026-03-30T09:00", "2026-03-30T10:00", "2026-04-01T10:00", "2026-04-02T10:00")
    march = stats(flow, date(2026, 3, 1), date(2026, 3, 31))["total"]["figures"]
    april = stats(flow, date(2026, 4, 1), date(2026, 4, 30), "item")
    assert (march["received"], march["concluded"], march["avg_used"]) == (1, 0, None)
    assert (april["total"]["figures"]["received"], april["total"]["figures"]["concluded"]) == (0, 1)
    assert april["total"]["figures"]["avg_used"] == 3  # 03-31, 04-01, 04-02
    assert april["cases"]["GENERAL"]["concluded"] == [number]


def test_a_late_case_is_overdue(flow, clock):
    granted(flow, clock, "2026-03-02T09:00", "2026-03-02T10:00", "2026-03-13T10:00", "2026-03-17T10:00")
    t = stats(flow, date(2026, 3, 1), date(2026, 3, 31))["total"]["figures"]
    assert (t["avg_used"], t["overdue"], t["on_time"], t["on_time_rate"]) == (11, 1, 0, 0)


# ---------------------------------------------------------------- findings

def findings(flow) -> list[Finding]:
    with flow.db.reader() as session:
        rows = list(session.scalars(select(Finding).order_by(Finding.id)))
        for r in rows:
            r.case.number  # noqa: B018 (load before the session closes)
        return rows


def test_a_red_card_finding_names_the_limit_that_passed(flow, clock):
    """A red card from the decision clock's statutory end reads 办理时限; the summary follows the
    clock that fired (a step's limit would read 环节时限), not a fixed sentence."""
    clock.set(at("2026-03-02T09:00"))
    case = flow.start()
    step(flow, clock, "2026-03-02T10:00", "chuangkou", {"acceptance": "accept"}, case.number)
    clock.set(at("2026-04-01T09:00"))  # past the 20 working days of the statutory limit (03-30)
    sweep(flow.engine)
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    (found,) = [f for f in findings(flow) if f.kind == "overdue"]
    assert found.summary == "办件超过办理时限，亮红牌"
    with flow.db.reader() as session:
        red = session.scalar(select(HistoryEntry).where(HistoryEntry.case_id == found.case_id,
                                                        HistoryEntry.seq == found.evidence[0]))
        assert (red.command, red.payload["kind"], red.payload["clock"]) == ("fire_deadline", "red", "decision")


def test_a_red_card_from_a_step_s_own_limit_is_named_so(flow, clock):
    """食品生产许可's 先行审查 (the county's part) has a limit of its own, 20 working days: passed
    long before the decision's 40, its red card reads 先行审查时限, on the board and in the finding."""
    clock.set(at("2026-03-02T09:00"))
    case = flow.start(item="SCJG-SPSC", applicant="某食品厂")
    step(flow, clock, "2026-03-02T10:00", "xian_chuangkou", {"acceptance": "accept"}, case.number)
    clock.set(at("2026-04-01T09:00"))  # 先行审查 ended 03-30; the decision's promised end is 04-07
    sweep(flow.engine)
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    (found,) = [f for f in findings(flow) if f.kind == "overdue"]
    assert found.summary == "办件超过先行审查时限，亮红牌"
    with flow.db.reader() as session:
        (row,) = board(session, flow.actors["jiancha"], flow.engine.calendar(session), date(2026, 4, 1))["rows"]
    assert (row.card, row.clock, row.card_clock) == ("red", "先行审查时限", "")
    assert (row.due_on, row.days, row.case_limit) == (date(2026, 3, 30), -2,
                                                      "办件办理时限（承诺） 至 2026-04-07，剩余 3 个工作日")
    assert row.department == "县市场监督管理局"


def test_the_board_and_the_inbox_count_a_late_step_alike(flow, clock):
    """Past the promised end and the decision step's own limit: the yellow card is about the step
    still open, longest overdue — the board counts to its day, as the 负责人's inbox does, and
    says where the case's own limit stands, as the case page does."""
    from engine.read.queries import inbox  # import here: only this test reads an inbox

    clock.set(at("2026-03-02T09:00"))
    case = flow.start()
    step(flow, clock, "2026-03-02T10:00", "chuangkou", {"acceptance": "accept"}, case.number)
    step(flow, clock, "2026-03-03T10:00", "shencha", {"review_result": "pass"}, case.number)
    clock.set(at("2026-03-18T09:00"))
    sweep(flow.engine)
    today = date(2026, 3, 18)
    with flow.db.reader() as session:
        calendar = flow.engine.calendar(session)
        (row,) = board(session, flow.actors["jiancha"], calendar, today)["rows"]
        (mine,) = inbox(session, flow.actors["fuzeren"], today=today, calendar=calendar).rows
    assert (row.card, row.clock, row.due_on, row.days) == ("yellow", "环节时限（决定）", date(2026, 3, 6), -8)
    assert (mine["due_on"], mine["remaining_days"]) == ("2026-03-06", -8)
    assert row.case_limit == "办件办理时限（法定） 至 2026-03-30，剩余 8 个工作日，已过承诺期限"


def test_a_late_step_of_another_department_s_item_is_that_department_s_on_the_board(flow, clock):
    """A 12345 complaint is the 政务办's item, handled by the unit it names (联办): its step's
    yellow card is the unit's — listed under it, found by its filter, on its 负责人's board."""
    clock.set(at("2026-03-02T09:00"))
    case = flow.start(item="ZWFW-12345", applicant="市民刘女士")
    step(flow, clock, "2026-03-02T09:30", "rexian", {"acceptance": "accept", "category": "efficiency",
                                                      "content": "窗口办事推诿", "responsible_unit": "scjg"},
         case.number)
    clock.set(at("2026-03-10T08:00"))  # the unit's 5 working days ended on 9 March
    sweep(flow.engine)
    with flow.db.reader() as session:
        calendar = flow.engine.calendar(session)
        (row,) = board(session, flow.actors["jiancha"], calendar, date(2026, 3, 10))["rows"]
        assert (row.card, row.clock, row.department, row.department_code) == (
            "yellow", "环节时限（承办单位办理）", "市市场监督管理局", "zwfw")
        assert [r.number for r in board(session, flow.actors["jiancha"], calendar, date(2026, 3, 10),
                                        department="scjg")["rows"]] == [case.number]
        assert [r.number for r in board(session, flow.actors["fuzeren"], calendar, date(2026, 3, 10))["rows"]] \
            == [case.number]  # the unit's 负责人 sees it on their board


@pytest.mark.slow
def test_findings_are_detected_with_evidence_once_and_the_run_is_recorded(flow, clock):
    refused = supplement_then_deny(flow, clock)
    late = granted(flow, clock, "2026-03-24T09:00", "2026-03-24T10:00", "2026-04-10T10:00", "2026-04-13T10:00")
    clock.set(at("2026-04-13T18:00"))
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])  # nothing new the second time
    found = {(f.case.number, f.kind): f for f in findings(flow)}
    assert set(found) == {(refused, "refusal"), (late, "overdue")}
    assert found[(refused, "refusal")].evidence == [6] and "不予许可" in found[(refused, "refusal")].summary
    assert found[(late, "overdue")].evidence == [4]  # the entry that concluded it
    assert found[(late, "overdue")].summary == "办结时已用 13 个工作日，时限 10 个工作日，超期 3 个工作日"
    with flow.db.reader() as session:
        acts = [a.command for a in session.scalars(select(SupervisionAct).order_by(SupervisionAct.id))]
    assert acts == ["detect_findings", "detect_findings"]


def test_irregular_acceptance_repeated_notices_and_duplicates(flow, clock):
    clock.set(at("2026-03-02T09:00"))
    first = flow.start(applicant="李四")
    flow.engine.execute(RecordMaterials(case=first.number, statuses=(("申请书", "received"),
                                                                     ("申请人身份证明", "missing"))),
                        flow.actors["chuangkou"])
    with pytest.raises(Conflict, match="必需材料不齐（申请人身份证明）"):  # the engine refuses it now
        step(flow, clock, "2026-03-02T10:00", "chuangkou", {"acceptance": "accept"}, first.number)
    second = flow.start(applicant="李四")
    for when in ("2026-03-03T09:00", "2026-03-05T09:00"):
        clock.set(at(when))
        flow.engine.execute(RequestSupplement(case=second.number, materials=("申请书",)), flow.actors["chuangkou"])
        clock.set(at(when.replace("09:00", "15:00")))
        flow.engine.execute(ReceiveSupplement(case=second.number), flow.actors["chuangkou"])
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    kinds = {(f.case.number, f.kind): f.evidence for f in findings(flow)}
    assert kinds.pop((first.number, "process_error"), None) is not None  # the refused 受理, as 流程错误
    assert kinds == {(second.number, "repeated_notice"): [2, 4], (second.number, "duplicate"): [1]}
    # the window let the acceptance limit pass: accepted by law, a 默许 finding, not 违规受理
    clock.set(at("2026-03-12T09:00"))
    sweep(flow.engine)
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    assert {f.kind for f in findings(flow) if f.case.number == first.number} == {"process_error", "deemed"}


def test_off_system_signs_a_step_done_within_a_minute_of_arriving(flow, clock):
    number = granted(flow, clock, "2026-03-02T09:00", "2026-03-02T10:00", "2026-03-03T10:00", "2026-03-03T10:00:30")
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    (finding,) = findings(flow)
    assert (finding.case.number, finding.kind, finding.evidence) == (number, "off_system", [4])


def test_a_refusal_is_acknowledged_and_a_finding_explained_by_the_head_and_closed(flow, clock):
    supplement_then_deny(flow, clock)
    granted(flow, clock, "2026-03-24T09:00", "2026-03-24T10:00", "2026-04-10T10:00", "2026-04-13T10:00")
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    refusal, overdue = sorted(findings(flow), key=lambda f: f.kind != "refusal")
    jiancha, head = flow.actors["jiancha"], flow.actors["fuzeren"]
    with pytest.raises(NotAllowed):
        flow.engine.execute(AcknowledgeRefusal(finding=refusal.id), head)
    with pytest.raises(BadInput, match="只有否定报备"):
        flow.engine.execute(AcknowledgeRefusal(finding=overdue.id), jiancha)
    flow.engine.execute(AcknowledgeRefusal(finding=refusal.id, note="已阅"), jiancha)
    with pytest.raises(Conflict):
        flow.engine.execute(ExplainFinding(finding=overdue.id, note="人手不足"), head)  # not asked yet
    flow.engine.execute(RequestExplanation(finding=overdue.id, note="请说明超期原因"), jiancha)
    with pytest.raises(NotAllowed):
        flow.engine.execute(ExplainFinding(finding=overdue.id, note="人手不足"), flow.actors["mz_fuzeren"])
    flow.engine.execute(ExplainFinding(finding=overdue.id, note="审查员病假，已调整 AB 岗"), head)
    flow.engine.execute(ConfirmFinding(finding=overdue.id), jiancha)
    flow.engine.execute(CloseFinding(finding=overdue.id, note="已整改"), jiancha)
    refusal, overdue = sorted(findings(flow), key=lambda f: f.kind != "refusal")
    assert refusal.state == "closed" and [t["act"] for t in refusal.trail] == ["detected", "acknowledged"]
    assert [t["act"] for t in overdue.trail] == ["detected", "asked", "explained", "confirmed", "closed"]
    assert overdue.trail[2]["by"] == "fuzeren" and overdue.state == "closed"


# ---------------------------------------------------------------- 效能告诫

def test_two_warnings_to_a_units_staff_in_a_year_propose_one_to_its_head(flow, clock):
    jiancha = flow.actors["jiancha"]
    number = granted(flow, clock, "2026-03-02T09:00", "2026-03-02T10:00", "2026-03-20T10:00", "2026-03-23T10:00")
    first = flow.engine.execute(IssueWarning(user="shencha", reason="审查超期", cases=(number,)), jiancha)
    assert first["target"] == "person"
    with flow.db.reader() as session:
        assert session.scalar(select(EfficiencyWarning).where(EfficiencyWarning.target == "head")) is None
    clock.set(at("2026-05-06T10:00"))
    flow.engine.execute(IssueWarning(user="chuangkou", reason="一次性告知不到位"), jiancha)
    with flow.db.reader() as session:
        proposed = session.scalar(select(EfficiencyWarning).where(EfficiencyWarning.target == "head"))
        assert (proposed.state, proposed.user.username, proposed.year) == ("proposed", "fuzeren", 2026)
    with pytest.raises(NotAllowed):
        flow.engine.execute(DecideWarning(warning=proposed.id), flow.actors["fuzeren"])
    flow.engine.execute(DecideWarning(warning=proposed.id, confirm=True), jiancha)
    with pytest.raises(Conflict):
        flow.engine.execute(DecideWarning(warning=proposed.id, confirm=True), jiancha)
    clock.set(at("2026-06-01T10:00"))
    flow.engine.execute(IssueWarning(user="shencha_b", reason="再次超期"), jiancha)  # no second proposal this year
    with flow.db.reader() as session:
        heads = list(session.scalars(select(EfficiencyWarning).where(EfficiencyWarning.target == "head")))
        assert [(w.state, w.decided_by) for w in heads] == [("issued", "jiancha")]
        assert heads[0].reason.endswith("，对单位负责人进行效能告诫")  # no longer a proposal's 拟


def test_a_warning_needs_one_target_a_reason_and_real_cases(flow, clock):
    jiancha = flow.actors["jiancha"]
    for bad, message in ((IssueWarning(reason="x"), "二选一"), (IssueWarning(user="shencha"), "告诫理由"),
                         (IssueWarning(user="shencha", department="scjg", reason="x"), "二选一"),
                         (IssueWarning(user="shencha", reason="x", cases=("NOPE-1",)), "办件不存在"),
                         (IssueWarning(department="nowhere", reason="x"), "不存在")):
        with pytest.raises(BadInput, match=message):
            flow.engine.execute(bad, jiancha)
    with flow.db.reader() as session:
        assert session.scalar(select(EfficiencyWarning.id)) is None


# ---------------------------------------------------------------- the board

def test_the_board_lists_carded_cases_with_time_left_and_a_head_sees_their_department(flow, clock):
    clock.set(at("2026-03-02T09:00"))
    case = flow.start()
    step(flow, clock, "2026-03-02T10:00", "chuangkou", {"acceptance": "accept"}, case.number)
    clock.set(at("2026-03-10T08:00"))
    sweep(flow.engine)  # the review step's yellow card
    with flow.db.reader() as session:
        cal = flow.engine.calendar(session)
        view = board(session, flow.actors["jiancha"], cal, date(2026, 3, 10))
        (row,) = view["rows"]
        # the card is the review step's: the row counts down that step's limit (5 working days
        # from 03-02, one day late), with the case's own limit beside it (10 working days)
        assert (row.number, row.card, row.window, row.clock) == (case.number, "yellow", "王窗口（市市场监督管理局）",
                                                                 "环节时限（审查）")
        assert (row.due_on, row.days, row.end) == (date(2026, 3, 9), -1, "")
        assert (row.case_limit, row.card_clock, row.department) == (
            "办件办理时限（承诺） 至 2026-03-16，剩余 4 个工作日", "", "市市场监督管理局")
        assert board(session, flow.actors["fuzeren"], cal, date(2026, 3, 10))["rows"][0].number == case.number
        assert board(session, flow.actors["mz_fuzeren"], cal, date(2026, 3, 10))["rows"] == []
        assert board(session, flow.actors["jiancha"], cal, date(2026, 3, 10), card="red")["rows"] == []
        with pytest.raises(NotAllowed):
            board(session, flow.actors["shencha"], cal, date(2026, 3, 10))


# ---------------------------------------------------------------- assessment scores

@pytest.mark.slow
def test_a_units_score_is_broken_down_to_its_events(flow, clock):
    from engine.supervision.assessment import assess  # import here: only the assessment tests use it

    spot = granted(flow, clock, "2026-03-02T09:00", "2026-03-02T09:30", "2026-03-02T10:30", "2026-03-02T11:00")
    late = granted(flow, clock, "2026-03-02T14:00", "2026-03-02T15:00", "2026-03-13T10:00", "2026-03-17T10:00")
    clock.set(at("2026-03-18T10:00"))
    (found,) = flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    flow.engine.execute(ConfirmFinding(finding=found["finding"]), flow.actors["jiancha"])
    warning = flow.engine.execute(IssueWarning(user="shencha", reason="审查超期", cases=(late,)), flow.actors["jiancha"])
    with flow.db.reader() as session:
        result = assess(session, flow.engine.calendar(session), date(2026, 3, 1), date(2026, 3, 31))
    scjg = next(u for u in result["units"] if u["department"] == "市市场监督管理局")
    lines = {line["label"]: line for line in scjg["lines"]}
    # 2 concluded, 1 on time: 按时办结率 50 % of a 100 % target, weight 40 → −20, the late case behind it
    assert (lines["按时办结率"]["points"], lines["按时办结率"]["events"]) == (-20, [late])
    # 现场办结率 50 % of a 90 % target, weight 10 → −10 × 0.4 / 0.9
    assert lines["现场办结率"]["points"] == -4.44
    assert (lines["超期办结"]["points"], lines["超期办结"]["events"]) == (-2, [late])
    assert lines["经确认的监察问题"]["points"] == -3 and late in lines["经确认的监察问题"]["events"][0]
    assert lines["效能告诫"]["points"] == -5 and lines["效能告诫"]["events"] == [f"告诫 {warning['warning']}（李审查）"]
    assert (lines["现场办结"]["points"], lines["现场办结"]["events"]) == (0.1, [spot])
    # the only unit with cases in the period is the only one ranked; the others have nothing to score
    assert scjg["score"] == 65.66 and scjg["rank"] == 1 and result["units"][0] is scjg
    assert {(u["score"], u["rank"]) for u in result["units"] if u is not scjg} == {(None, None)}


def test_a_case_held_to_be_a_fault_earns_no_on_the_spot_bonus(flow, clock):
    from engine.supervision.assessment import assess  # import here: only the assessment tests use it

    quick = granted(flow, clock, "2026-03-02T09:00", "2026-03-02T09:01", "2026-03-02T09:01:30", "2026-03-02T09:02")
    clock.set(at("2026-03-02T10:00"))
    found = flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    (off_system,) = [f for f in found if f["kind"] == "off_system"]
    with flow.db.reader() as session:
        before = assess(session, flow.engine.calendar(session), date(2026, 3, 1), date(2026, 3, 31))
    assert any(line["events"] == [quick] for u in before["units"] for line in u["lines"] if line["label"] == "现场办结")
    flow.engine.execute(ConfirmFinding(finding=off_system["finding"]), flow.actors["jiancha"])
    with flow.db.reader() as session:
        after = assess(session, flow.engine.calendar(session), date(2026, 3, 1), date(2026, 3, 31))
    scjg = next(u for u in after["units"] if u["department"] == "市市场监督管理局")
    assert "现场办结" not in {line["label"] for line in scjg["lines"]}
    assert any(line["label"] == "经确认的监察问题" for line in scjg["lines"])
    heads = [m for m in _messages(flow, "fuzeren") if m.startswith("【监察问题已确认】")]
    assert heads and quick in heads[0]  # the department's head is told


def _messages(flow, username):
    with flow.db.reader() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return [m.title for m in session.scalars(select(Message).where(Message.user_id == user.id))]


def test_the_scheduled_scan_is_recorded_as_the_system(flow, clock):
    from timers.scheduler import detect_findings  # import here: the scheduler module pulls in APScheduler

    supplement_then_deny(flow, clock)
    detect_findings(flow.engine)
    with flow.db.reader() as session:
        (act,) = session.scalars(select(SupervisionAct))
        assert (act.command, act.actor, act.payload["found"][0]["kind"]) == ("detect_findings", "system:timer", "refusal")


# ---------------------------------------------------------------- the pages, through the test client

@pytest.mark.slow
def test_pages_warn_a_unit_export_the_report_and_keep_heads_and_clerks_out(seeded, engine, flow, clock):
    from web import create_app  # import here: the web app only for this test

    from .helpers import csrf_of, login

    supplement_then_deny(flow, clock)
    app = create_app({"SECRET_KEY": "t"}, db=seeded, clock=engine.clock)
    supervisor = login(app.test_client(), "jiancha")
    form = supervisor.get("/supervision/warnings").get_data(as_text=True)
    done = supervisor.post("/supervision/warnings", data={"csrf_token": csrf_of(form), "target": "unit",
                                                          "user": "shencha", "department": "mz", "reason": "窗口服务投诉多"})
    assert done.status_code == 302
    with seeded.reader() as session:
        (w,) = session.scalars(select(EfficiencyWarning))
        assert (w.target, w.user_id, w.department.name) == ("unit", None, "市民政局")
    bad = supervisor.post("/supervision/warnings", data={"csrf_token": csrf_of(form), "target": "person", "user": "",
                                                         "reason": "x"})
    assert bad.status_code == 400 and "请选择要告诫的人员" in bad.get_data(as_text=True)
    typo = supervisor.post("/supervision/warnings", data={"csrf_token": csrf_of(form), "target": "person",
                                                          "user": "shencha", "reason": "拖延办理", "cases": "GENERAL-1"})
    shown = typo.get_data(as_text=True)  # the form again with what was typed, the message on it
    assert typo.status_code == 400 and "办件不存在：GENERAL-1" in shown and "拖延办理</textarea>" in shown
    csv_text = supervisor.get("/supervision/report.csv?value=2026-03").get_data(as_text=True)
    assert csv_text.startswith("\ufeff月度通报 2026 年 3 月") and "市民政局" in csv_text and "窗口服务投诉多" in csv_text
    assert supervisor.get("/supervision/report?value=2026-13").status_code == 400
    head = login(app.test_client(), "fuzeren")
    assert head.get("/supervision/").status_code == 200 and head.get("/supervision/report").status_code == 403
    mine = head.get("/supervision/warnings")  # a head reads the warnings to the department: none to 市场监管
    assert mine.status_code == 200 and "还没有效能告诫" in mine.get_data(as_text=True)
    assert "发出告诫" not in mine.get_data(as_text=True)
    mz_head = login(app.test_client(), "mz_fuzeren").get("/supervision/warnings").get_data(as_text=True)
    assert "窗口服务投诉多" in mz_head and "发出告诫" not in mz_head
    assert head.post("/supervision/warnings", data={"csrf_token": csrf_of(mine.get_data(as_text=True)), "target": "unit",
                                                    "department": "scjg", "reason": "x"}).status_code == 403
    clerk = login(app.test_client(), "shencha")
    assert clerk.get("/supervision/").status_code == 403 and "电子监察" not in clerk.get("/").get_data(as_text=True)


def test_a_scan_reads_a_bounded_number_of_cases_and_the_next_one_goes_on_from_there(flow, clock, monkeypatch):
    from engine.supervision import findings as detection  # import here: to bound the scan for this test

    refused = supplement_then_deny(flow, clock)
    second = supplement_then_deny(flow, clock)
    monkeypatch.setattr(detection, "SCAN_LIMIT", 1)
    first_run = flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    second_run = flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    third_run = flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    assert [[f["case"] for f in run] for run in (first_run, second_run, third_run)] == [[refused], [second], []]


# ---------------------------------------------------------------- 流程错误: refused operations, recorded

def _refusals(flow):
    with flow.db.reader() as session:
        return [(r.case_id, r.command, r.actor, r.code, r.message)
                for r in session.scalars(select(CommandRefusal).order_by(CommandRefusal.id))]


def test_a_refused_submit_on_a_finished_step_is_recorded_and_found_as_a_process_error(flow, clock):
    clock.set(at("2026-03-02T09:00"))
    case = flow.start()
    accept = flow.task_of("chuangkou", case.number).id
    step(flow, clock, "2026-03-02T10:00", "chuangkou", {"acceptance": "accept"}, case.number)
    with flow.db.reader() as session:
        seqs = session.scalar(select(Case.last_seq).where(Case.number == case.number))
    clock.set(at("2026-03-02T10:05"))
    with pytest.raises((Conflict, NotAllowed)) as refused:  # 提交 again on the step already done
        flow.engine.execute(CompleteTask(task=accept, data={"acceptance": "accept"}), flow.actors["chuangkou"])
    with flow.db.reader() as session:
        row = session.scalars(select(Case).where(Case.number == case.number)).one()
        assert row.last_seq == seqs  # the refused command changed nothing in the case
        case_id = row.id
    assert _refusals(flow) == [(case_id, "complete_task", "chuangkou", refused.value.code, refused.value.message)]

    clock.set(at("2026-03-02T11:00"))
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    with flow.db.reader() as session:
        (finding,) = session.scalars(select(Finding).where(Finding.kind == "process_error")).all()
        (refusal_id,) = session.scalars(select(CommandRefusal.id)).all()
        assert finding.case_id == case_id and finding.state == "open" and finding.evidence == [refusal_id]
        assert finding.summary.startswith("1 次操作被系统拒绝（办理）：")
        assert refused.value.message[:20] in finding.summary
        page = findings_page(session, flow.actors["jiancha"], kind="process_error")
    (shown,) = page["rows"]
    assert shown["evidence_caption"] == "依据（被拒绝的操作）"
    assert [(e["at"], e["said"]) for e in shown["evidence"]] == [("2026-03-02 10:05", refused.value.message)]
    assert shown["evidence"][0]["who"] != "chuangkou"  # the clerk's name, not the login

    # found once: a second scan, and a full one, add nothing; a new refusal is a new finding
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    flow.engine.execute(DetectFindings(full=True), flow.actors["jiancha"])
    with flow.db.reader() as session:
        assert session.scalar(select(func.count(Finding.id)).where(Finding.kind == "process_error")) == 1


def test_bad_input_and_supervision_refusals_are_not_recorded(flow, clock):
    clock.set(at("2026-03-02T09:00"))
    case = flow.start()
    task = flow.task_of("chuangkou", case.number).id
    with pytest.raises(BadInput):  # a typo: no such choice
        flow.engine.execute(CompleteTask(task=task, data={"acceptance": "maybe"}), flow.actors["chuangkou"])
    with pytest.raises(NotAllowed):  # a supervision command refused: no case's 流程错误
        flow.engine.execute(DetectFindings(), flow.actors["chuangkou"])
    assert _refusals(flow) == []
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    with flow.db.reader() as session:
        assert session.scalar(select(func.count(Finding.id)).where(Finding.kind == "process_error")) == 0


def test_an_outsider_refused_is_recorded_and_a_long_message_is_cut_to_its_bound(flow, clock):
    clock.set(at("2026-03-02T09:00"))
    case = flow.start()
    with pytest.raises(NotAllowed) as refused:
        flow.engine.execute(CompleteTask(task=flow.task_of("chuangkou", case.number).id,
                                         data={"acceptance": "accept"}), flow.actors["mz_shencha"])
    (row,) = _refusals(flow)
    assert row[1:] == ("complete_task", "mz_shencha", "not_allowed", refused.value.message)
    flow.engine._record_refusal(CompleteTask(task=1, data={}), flow.actors["chuangkou"], at("2026-03-02T09:01"),
                                Conflict("很长" * 1000), row[0])
    assert len(_refusals(flow)[-1][4]) == CommandRefusal.MAX_MESSAGE


def test_only_refusals_met_inside_the_case_s_departments_are_process_errors(flow, clock):
    """An outsider's refused operation (another department's clerk, a stale link) is kept in the
    record but is no 流程错误 of the case; a refusal met by the item department's own staff is."""
    clock.set(at("2026-03-02T09:00"))
    case = flow.start()
    task = flow.task_of("chuangkou", case.number).id
    with pytest.raises(NotAllowed):  # 民政's reviewer on 市场监管's acceptance step
        flow.engine.execute(CompleteTask(task=task, data={"acceptance": "accept"}), flow.actors["mz_shencha"])
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    with flow.db.reader() as session:
        assert session.scalar(select(func.count(Finding.id)).where(Finding.kind == "process_error")) == 0
    clock.set(at("2026-03-02T09:10"))
    with pytest.raises(NotAllowed):  # the department's reviewer on the window's step: beyond the role
        flow.engine.execute(CompleteTask(task=task, data={"acceptance": "accept"}), flow.actors["shencha"])
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    with flow.db.reader() as session:
        (finding,) = session.scalars(select(Finding).where(Finding.kind == "process_error")).all()
        (outsider, insider) = session.scalars(select(CommandRefusal.id).order_by(CommandRefusal.id)).all()
        assert finding.evidence == [insider]


def test_the_excel_report_opens_and_holds_the_same_rows_as_the_csv(seeded, engine, flow, clock):
    from web import create_app  # import here: the web app only for this test

    from .helpers import login

    supplement_then_deny(flow, clock)
    flow.engine.execute(IssueWarning(department="mz", reason="窗口服务投诉多"), flow.actors["jiancha"])
    flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    app = create_app({"SECRET_KEY": "t"}, db=seeded, clock=engine.clock)
    supervisor = login(app.test_client(), "jiancha")
    answer = supervisor.get("/supervision/report.xlsx?value=2026-03")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    assert answer.headers["Content-Disposition"].endswith("report-2026-03.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames == ["单位排名", "超期与红牌", "监察事项", "效能告诫"]
    csv_rows = [r for r in csv.reader(io.StringIO(supervisor.get("/supervision/report.csv?value=2026-03")
                                                  .get_data(as_text=True).lstrip("\ufeff"))) if r]
    xlsx_rows = [list(row) for sheet in book for row in sheet.iter_rows(values_only=True)
                 if any(v not in (None, "") for v in row)]
    assert len(csv_rows) == len(xlsx_rows)
    for r, x in zip(csv_rows, xlsx_rows):
        x = x[:len(r)] if not any(x[len(r):]) else x  # a sheet's rows are as wide as its widest
        assert len(x) == len(r), r
        # numbers stay numbers in the workbook (a score of 90.0 is the number 90, a rate 100.0% the number 1)
        as_number = lambda v: float(v[:-1]) / 100 if v.endswith("%") else float(v)  # noqa: E731
        assert [pytest.approx(as_number(v)) if isinstance(w, (int, float)) else v for v, w in zip(r, x)] == \
               [w if isinstance(w, (int, float)) else ("" if w is None else w) for w in x], r
    assert len(csv_rows) == len(xlsx_rows) and any("窗口服务投诉多" in r for r in csv_rows)
    ranking = book["单位排名"]
    assert ranking["A3"].value == "排名" and ranking["A3"].font.bold and ranking.freeze_panes == "A4"
    assert ranking.column_dimensions["B"].width >= 10  # a unit's Chinese name fits
    assert 8 <= ranking.column_dimensions["J"].width <= 60
    rate = next(c for row in ranking.iter_rows(min_row=4) for c in row
                if isinstance(c.value, (int, float)) and c.number_format == "0.0%")
    assert 0 <= rate.value <= 1  # a rate is a number shown as a percentage
    late = [list(r) for r in book["超期与红牌"].iter_rows(values_only=True)]
    assert late[0][0].startswith("超期办结的办件（") and late[1][0] == "办件编号"
    assert ["无"] in [[v for v in r if v is not None] for r in late]  # an empty list says so
    assert login(app.test_client(), "fuzeren").get("/supervision/report.xlsx").status_code == 403


# ---------------------------------------------------------------- the trend's finished months, stored once

def _report(flow, year, month, today):
    with flow.db.reader() as session:
        return monthly_report(session, flow.engine.calendar(session), year, month, today=today)


def test_the_trend_stores_finished_months_once_and_reads_them_back(flow, clock):
    supplement_then_deny(flow, clock)  # received and concluded in March 2026
    clock.set(at("2026-04-10T09:00"))
    first = _report(flow, 2026, 4, date(2026, 4, 10))
    assert [m["label"] for m in first["trend"]] == ["11 月", "12 月", "1 月", "2 月", "3 月", "4 月"]
    assert first["trend"][4] == {"label": "3 月", "received": 1, "concluded": 1, "on_time_rate": 1.0}
    # April has not ended on the clock: not stored; the five months before it are
    assert [f["period"] for f in first["trend_fill"]] == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    assert remember_trend(flow.db, first, clock.now()) == 5
    assert remember_trend(flow.db, first, clock.now()) == 0  # stored already
    with flow.db.reader() as session:
        stored = {r.period: r.figures for r in session.scalars(select(TrendFigures))}
    assert stored["2026-03"] == {"received": 1, "concluded": 1, "on_time_rate": 1.0, "definitions": DEFINITIONS}

    # a case made afterwards in March (only a test's clock goes back): the stored month is what
    # the report shows, proof that it was read and not computed again; without ``today`` it is computed
    clock.set(at("2026-03-30T09:00"))
    flow.start(applicant="王五")
    again = _report(flow, 2026, 4, date(2026, 4, 10))
    assert again["trend"][4]["received"] == 1 and again["trend_fill"] == []
    assert _report(flow, 2026, 4, None)["trend"][4]["received"] == 2
    assert again["trend"][5] == first["trend"][5]  # April, computed each time

    # a changed working-day calendar: the months are computed again and replaced
    with flow.db.transaction() as session:
        session.merge(Meta(key="calendar_version", value=str(calendar_version(session) + 1)))
    recomputed = _report(flow, 2026, 4, date(2026, 4, 10))
    assert recomputed["trend"][4]["received"] == 2 and len(recomputed["trend_fill"]) == 5
    assert remember_trend(flow.db, recomputed, clock.now()) == 5
    with flow.db.reader() as session:
        assert session.scalars(select(TrendFigures.figures).where(TrendFigures.period == "2026-03")).one()["received"] == 2


def test_the_timer_process_stores_the_finished_months_and_old_definitions_are_recomputed(flow, clock):
    supplement_then_deny(flow, clock)
    clock.set(at("2026-04-01T00:20"))
    assert remember_finished_months(flow.db, flow.engine.calendar, clock.now()) == 5
    assert remember_finished_months(flow.db, flow.engine.calendar, clock.now()) == 0
    assert _report(flow, 2026, 4, date(2026, 4, 1))["trend_fill"] == []  # the page finds them stored
    with flow.db.transaction() as session:  # a month stored under the first definitions (no marker)
        row = session.scalars(select(TrendFigures).where(TrendFigures.period == "2026-03")).one()
        row.figures = {"received": 1, "concluded": 9, "on_time_rate": 1.0}
    report = _report(flow, 2026, 4, date(2026, 4, 1))
    assert report["trend"][4]["concluded"] == 1 and [f["period"] for f in report["trend_fill"]] == ["2026-03"]
    assert remember_finished_months(flow.db, flow.engine.calendar, clock.now()) == 1


def test_the_timer_process_schedules_the_trend_and_its_job_stores_the_months(flow, clock):
    from apscheduler.schedulers.background import BackgroundScheduler

    from timers import scheduler

    jobs = {job.id: job for job in scheduler._add_job(BackgroundScheduler(timezone=CHINA_TZ), flow.engine, 30).get_jobs()}
    assert {"sweep-deadlines", "detect-findings", "remember-trend"} <= set(jobs)
    assert "hour='0'" in str(jobs["remember-trend"].trigger) and "minute='20'" in str(jobs["remember-trend"].trigger)
    supplement_then_deny(flow, clock)
    clock.set(at("2026-04-02T00:20"))
    scheduler.remember_trend(flow.engine)
    with flow.db.reader() as session:
        assert session.scalars(select(TrendFigures.figures).where(TrendFigures.period == "2026-03")).one()["concluded"] == 1


def test_the_history_says_what_a_step_decided_so_a_refusal_never_reads_like_an_acceptance(flow, clock):
    from engine.read.views import history_view

    number = supplement_then_deny(flow, clock)
    with flow.db.reader() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        done = [(h["step"], h["details"]) for h in history_view(session, case) if h["what"] == "办理"]
    # the outcome first, then the paper it issued
    assert done[0][1].split("；")[0] == "予以受理" and "出具受理通知书" in done[0][1]
    assert done[-1][1].split("；")[0] == "不予许可" and "出具不予行政许可决定书" in done[-1][1]


# ---------------------------------------------------------------- from a case to what supervision did about it

def red_case_explained_and_warned(flow, clock) -> tuple[str, int]:
    """A case red since 03-31 (statutory end 03-30), its 办理超时 finding explained by the head
    on request, and a warning to the reviewer naming the case. Returns its number and the finding."""
    clock.set(at("2026-03-02T09:00"))
    case = flow.start()
    step(flow, clock, "2026-03-02T10:00", "chuangkou", {"acceptance": "accept"}, case.number)
    clock.set(at("2026-04-01T09:00"))
    sweep(flow.engine)
    jiancha = flow.actors["jiancha"]
    flow.engine.execute(DetectFindings(), jiancha)
    (found,) = [f for f in findings(flow) if f.kind == "overdue"]
    flow.engine.execute(RequestExplanation(finding=found.id, note="请说明超期原因"), jiancha)
    flow.engine.execute(ExplainFinding(finding=found.id, note="审查员病假，已调整 AB 岗"), flow.actors["fuzeren"])
    flow.engine.execute(IssueWarning(user="shencha", reason="审查环节超期未办", cases=(case.number,)), jiancha)
    return case.number, found.id


def test_a_case_shows_its_findings_and_warnings_to_those_who_may_see_supervision(flow, clock):
    from engine.supervision.views import case_supervision  # import here: only these tests read it

    number, finding = red_case_explained_and_warned(flow, clock)
    with flow.db.reader() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        seen = case_supervision(session, flow.actors["jiancha"], case)
        (f,) = seen["findings"]
        assert (f["id"], f["kind"], f["state"]) == (finding, "overdue", "explained")
        assert [(e["by"], e["note"]) for e in f["explanations"]] == [("赵负责", "审查员病假，已调整 AB 岗")]
        (w,) = seen["warnings"]
        assert (w["person"], w["reason"], w["state_name"]) == ("李审查", "审查环节超期未办", "已告诫")
        head = case_supervision(session, flow.actors["fuzeren"], case)  # the department's head: the same
        assert [x["id"] for x in head["findings"]] == [finding] and len(head["warnings"]) == 1
        other = case_supervision(session, flow.actors["mz_fuzeren"], case)  # another department's head: none
        assert other["findings"] == [] and other["warnings"] == []
        assert case_supervision(session, flow.actors["shencha"], case) is None  # a clerk sees no supervision
        (row,) = board(session, flow.actors["jiancha"], flow.engine.calendar(session), date(2026, 4, 1))["rows"]
        assert (row.number, row.findings) == (number, 1)
        jiancha = flow.actors["jiancha"]
        assert [r["id"] for r in findings_page(session, jiancha, case=number)["rows"]] == [finding]
        assert findings_page(session, jiancha, case=number + "9")["rows"] == []
        assert [r["id"] for r in findings_page(session, jiancha, department="scjg")["rows"]] == [finding]
        assert findings_page(session, jiancha, department="mz")["rows"] == []
        # a head's own department stays the scope whatever department is asked for
        assert [r["id"] for r in findings_page(session, flow.actors["fuzeren"], department="mz")["rows"]] == [finding]


def test_finding_numbers_are_read_as_the_findings_page_titles_them_and_nothing_is_dropped():
    from engine.supervision.warnings import parse_finding_numbers  # import here: only this test reads it

    for typed, numbers in (("第8号", (8,)), ("第 8 号", (8,)), ("8", (8,)), ("第 8 号、第9号", (8, 9)),
                           ("8, 9，10 11", (8, 9, 10, 11)), ("8号", (8,)), ("", ()), ("第 8 号, 8", (8,))):
        assert parse_finding_numbers(typed) == numbers, typed
    for typed in ("第八号", "八", "8a", "#8", "第 8 号，十"):
        with pytest.raises(BadInput, match="相关监察事项编号看不懂"):
            parse_finding_numbers(typed)


def test_a_warning_from_a_finding_is_drafted_with_its_case_department_and_person(flow, clock):
    from engine.supervision.views import warning_draft  # import here: only this test reads it

    number, finding = red_case_explained_and_warned(flow, clock)
    supplement = supplement_then_deny(flow, clock)
    flow.engine.execute(DetectFindings(full=True), flow.actors["jiancha"])  # a case of March, after April's scan
    refusal = next(f for f in findings(flow) if f.kind == "refusal" and f.case.number == supplement)
    with flow.db.reader() as session:
        # a red card: fired by the timer, no one handles the open step by name: the department
        assert warning_draft(session, finding) == {"findings": f"第 {finding} 号", "cases": number, "department": "scjg",
                                                   "target": "unit", "user": "", "reason": ""}
        # a refusal: the head who decided it
        drafted = warning_draft(session, refusal.id)
        assert (drafted["target"], drafted["user"], drafted["cases"]) == ("person", "fuzeren", supplement)
        with pytest.raises(NotFound):
            warning_draft(session, 999)


def test_a_past_month_s_report_lists_the_cases_red_at_its_end_and_does_not_change(flow, clock):
    """Red since 04-01 (the statutory end 03-30 passed; the sweep came in the morning): not red at
    the end of March; red at the end of April, and still so in April's report once it concluded in
    May. The month being reported lists the cards of today, and says so."""
    clock.set(at("2026-03-02T09:00"))
    case = flow.start()
    step(flow, clock, "2026-03-02T10:00", "chuangkou", {"acceptance": "accept"}, case.number)
    clock.set(at("2026-04-01T09:00"))
    sweep(flow.engine)
    march = _report(flow, 2026, 3, date(2026, 4, 2))
    assert (march["red_label"], march["red_open"]) == ("月末（2026-03-31）仍亮红牌的在办件", [])
    april_now = _report(flow, 2026, 4, date(2026, 4, 15))
    assert april_now["red_label"] == "截至今日（2026-04-15）仍亮红牌的在办件"
    assert [n for n, _ in april_now["red_open"]] == [case.number]
    step(flow, clock, "2026-05-06T10:00", "shencha", {"review_result": "pass"}, case.number)
    step(flow, clock, "2026-05-07T10:00", "fuzeren", {"decision": "grant"}, case.number)
    april = _report(flow, 2026, 4, date(2026, 5, 8))
    assert april["red_label"] == "月末（2026-04-30）仍亮红牌的在办件"
    assert [n for n, _ in april["red_open"]] == [case.number]  # concluded since: the report stands
    assert _report(flow, 2026, 5, date(2026, 5, 8))["red_open"] == []  # concluded: no longer open
    lines = report_csv(april).splitlines()
    assert "月末（2026-04-30）仍亮红牌的在办件（1 件）" in lines


def test_bad_periods_and_a_dismissal_without_reason_come_back_to_the_page_with_what_is_wrong(seeded, engine, flow, clock):
    from web import create_app  # import here: the web app only for this test

    from .helpers import csrf_of, login

    clock.set(at("2026-03-16T10:00"))
    for user, reason in (("shencha", "审查超期"), ("chuangkou", "一次性告知不到位")):
        flow.engine.execute(IssueWarning(user=user, reason=reason), flow.actors["jiancha"])
    app = create_app({"SECRET_KEY": "t"}, db=seeded, clock=engine.clock)
    supervisor = login(app.test_client(), "jiancha")
    for url, said in (("/supervision/stats?period=month&value=2026-13", "没有第 13 个月"),
                      ("/supervision/stats?period=month&value=十月", "月份格式不对：应如 2026-03（四位年份-月份），收到“十月”"),
                      ("/supervision/stats?period=quarter&value=2026-10", "这里要填季度，如 2026-Q4"),
                      ("/supervision/stats?period=range&start=2026-03-10&end=2026-03-01", "结束日期 2026-03-01 早于开始日期 2026-03-10"),
                      ("/supervision/stats?period=range&start=2026-03-10&end=", "请填写结束日期"),
                      ("/supervision/ratings?period=quarter&value=2026-Q5", "没有第 5 季度"),
                      ("/supervision/report?value=十月", "月份格式不对"),
                      ("/supervision/report?value=1999-01", "年份超出范围：只能查看 2000 年至 2100 年，收到 1999 年"),
                      ("/supervision/report.csv?value=1999-01", "年份超出范围")):
        page = supervisor.get(url)
        shown = page.get_data(as_text=True)
        assert page.status_code == 400 and said in shown, (url, shown[-800:])
        assert "月份格式不对，应如 2026-03" not in shown
    stats = supervisor.get("/supervision/stats?period=month&value=2026-13").get_data(as_text=True)
    assert 'name="value" value="2026-13"' in stats and 'aria-invalid="true"' in stats and "统计</button>" in stats
    with seeded.reader() as session:
        proposed = session.scalar(select(EfficiencyWarning).where(EfficiencyWarning.state == "proposed"))
    form = supervisor.get("/supervision/warnings").get_data(as_text=True)
    refused = supervisor.post(f"/supervision/warnings/{proposed.id}/decide",
                              data={"csrf_token": csrf_of(form), "confirm": "0", "note": "  "})
    shown = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "不予告诫的理由" in shown and f'id="decide-{proposed.id}-error"' in shown
    assert "发出告诫" in shown  # the warnings page, not a bare error page
    with seeded.reader() as session:
        assert session.get(EfficiencyWarning, proposed.id).state == "proposed"
