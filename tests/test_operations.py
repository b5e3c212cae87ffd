"""Administrators operating running cases (engine/operations.py, engine/commands/operations.py):
suspend and resume a case or a whole item, terminate, void, move back, skip a stuck step, correct
data, retry or close a failed timer — each a command in the case history, replayable."""
from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli.main import main
from web import create_app

from engine.commands import (CorrectCaseData, RecomputeDeadlines, ResolveDeadline, ResumeCase, ResumeItem, RetryDeadline,
                             RewindCase, SkipTask, StartCase, SuspendCase, SuspendItem, TerminateCase, VoidCase)
from engine.actors import Actor
from engine.deploy import deploy
from engine.errors import BadInput, Conflict, Skipped
from engine.integrity import check
from engine.operations import resume_item, suspend_item
from engine.read.incidents import incidents
from engine.read.search import parse_search, search_cases
from engine.read.views import history_view, task_view
from engine.replay import export_case, replay
from engine.supervision.statistics import statistics
from engine.store.models import AdministrationAct, Case, Clock, Deadline, HistoryEntry, Item, Message, Task, User

from .conftest import FIXTURES
from .helpers import csrf_of, login
from .test_window import COMPANY
from .test_time_limits import at, case_of, deadline, sweep_at


def _accepted(flow):
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    return case


def _history(db, number):
    with db.reader() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        return [(e.command, e.actor, e.inputs, e.payload) for e in
                session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id).order_by(HistoryEntry.seq))]


def _words(db, number):
    with db.reader() as session:
        return history_view(session, session.scalar(select(Case).where(Case.number == number)))


def _tasks(db, number):
    with db.reader() as session:
        case_id = session.scalar(select(Case.id).where(Case.number == number))
        return [(t.element_id, t.state) for t in session.scalars(select(Task).where(Task.case_id == case_id)
                                                                 .order_by(Task.id))]


def _replays(db, number):
    with db.reader() as session:
        history = export_case(session, session.scalar(select(Case).where(Case.number == number)))
    result = replay(history)
    assert result.same, repr(result.divergence)
    # and what is stored (case, tasks, deadlines, workflow) is what replaying the history gives
    assert check(db, number).problems == []
    return result


# ---------------------------------------------------------------- suspend and resume

def test_a_suspended_case_offers_nothing_to_clerks_and_says_who_suspended_it_and_why(flow, clock):
    case = flow.start()
    admin = flow.actors["admin"]
    flow.engine.execute(SuspendCase(case=case.number, reason="申请人涉诉，待法院裁定"), admin)
    task = flow.task_of("chuangkou", case.number)
    with flow.db.reader() as session:
        view = task_view(session, flow.actors["chuangkou"], task.id, flow.engine.definition)
    assert view.operations == frozenset()
    assert "钱管理" in view.held and "申请人涉诉，待法院裁定" in view.held and "挂起" in view.held
    assert view.due["text"] == "办件已挂起，暂停计时"
    with pytest.raises(Conflict) as refused:
        flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    assert "已由管理员 钱管理" in refused.value.message and "恢复前不能办理" in refused.value.message
    assert _tasks(flow.db, case.number) == [("accept_application", "ready")]
    with pytest.raises(Conflict, match="已经挂起"):
        flow.engine.execute(SuspendCase(case=case.number, reason="再挂"), admin)
    words = _words(flow.db, case.number)[-1]
    assert words["what"] == "挂起办件" and words["who"] == "钱管理" and words["said"] == "申请人涉诉，待法院裁定"
    with flow.db.reader() as session:  # the window's clerks, who hold the open step, are told why
        told = session.execute(select(Message.title, Message.body).join(User, Message.user_id == User.id)
                               .where(User.username == "chuangkou")).all()
    assert (f"【办件已挂起】{case.number}：暂停办理，计时暂停", "申请人涉诉，待法院裁定") in told


@pytest.mark.parametrize("reason", ["", "   "])
def test_every_operation_needs_a_reason(flow, reason):
    case = flow.start()
    for command in (SuspendCase(case=case.number, reason=reason), TerminateCase(case=case.number, reason=reason),
                    VoidCase(case=case.number, reason=reason), SuspendItem(item="GENERAL", reason=reason)):
        with pytest.raises(BadInput, match="理由不能为空"):
            flow.engine.execute(command, flow.actors["admin"])
    assert [c for c, *_ in _history(flow.db, case.number)] == ["start_case"]


def test_timers_do_not_fire_while_suspended_and_move_by_the_working_days_it_stood_still(flow, clock, seeded):
    case = flow.start()  # 2026-03-02 (a Monday): acceptance warning due 03-06 ends
    warning = deadline(seeded, case.number, "acceptance/warning")
    assert warning.due_on == date(2026, 3, 6)
    clock.set(at("2026-03-03T09:00"))
    flow.engine.execute(SuspendCase(case=case.number, reason="系统故障排查"), flow.actors["admin"])
    assert deadline(seeded, case.number, "acceptance/warning").state == "paused"
    assert sweep_at(flow, clock, "2026-03-10T08:00").fired == 0  # nothing fires while suspended
    with pytest.raises(Skipped):  # a new calendar may still move its deadlines (here: nothing moved)
        flow.engine.execute(RecomputeDeadlines(case=case.number), Actor.system("calendar"))
    clock.set(at("2026-03-10T09:00"))  # suspended Tuesday 03-03 → Tuesday 03-10: five working days
    flow.engine.execute(ResumeCase(case=case.number, reason="排查完毕"), flow.actors["admin"])
    row = deadline(seeded, case.number, "acceptance/warning")
    assert row.state == "armed" and row.due_on == date(2026, 3, 13)
    assert case_of(seeded, case.number).hold is None
    *_, (command, actor, inputs, result) = _history(seeded, case.number)
    assert command == "resume_case" and result["stood_days"] == {"acceptance": 5}
    assert _words(seeded, case.number)[-1]["details"] == "挂起 5 个工作日，期限相应顺延"
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)  # clerks work again
    _replays(seeded, case.number)


@pytest.fixture
def timed(seeded, clock):
    with seeded.transaction() as session:
        deploy(session, (FIXTURES / "workday_timer.bpmn").read_bytes(), "workday_timer.bpmn", "FEE",
               deployed_by="test", at=clock.now(), department_code="scjg", item_name="缴费")
    return "FEE"


def test_a_bpmn_timer_waits_while_the_case_is_suspended(flow, clock, seeded, timed):
    clock.set(at("2026-09-30T10:00"))
    case = flow.start(item=timed)
    timer = next(d for d in _deadlines(seeded, case.number) if d.kind == "timer")
    assert timer.due_on == date(2026, 10, 10)
    clock.set(at("2026-10-09T10:00"))
    flow.engine.execute(SuspendCase(case=case.number, reason="缴费系统停用"), flow.actors["admin"])
    assert sweep_at(flow, clock, "2026-10-13T08:00").fired == 0
    assert flow.task_of("chuangkou", case.number).element_id == "confirm_payment"  # the timer has not run
    clock.set(at("2026-10-13T09:00"))  # Friday 10-09 → Tuesday 10-13: Saturday 10-10 (makeup), 12, 13
    flow.engine.execute(ResumeCase(case=case.number, reason="恢复缴费"), flow.actors["admin"])
    timer = next(d for d in _deadlines(seeded, case.number) if d.kind == "timer")
    # one working day was left (10-10, the makeup Saturday); the day it resumed stood still too
    assert timer.state == "armed" and timer.due_on == date(2026, 10, 14)
    assert sweep_at(flow, clock, "2026-10-14T20:00").fired == 0
    sweep_at(flow, clock, "2026-10-15T08:00")
    assert case_of(seeded, case.number).state == "concluded"  # the timer fired, on its new day
    _replays(seeded, case.number)


def test_a_timer_in_hours_moves_by_the_time_the_case_stood_still(flow, clock, seeded):
    bpmn = (FIXTURES / "workday_timer.bpmn").read_text(encoding="utf-8").replace("workdays(3)", '"PT48H"')
    assert '"PT48H"' in bpmn
    with seeded.transaction() as session:
        deploy(session, bpmn.encode("utf-8"), "hours_timer.bpmn", "FEE48", deployed_by="test", at=clock.now(),
               department_code="scjg", item_name="缴费（48小时）")
    case = flow.start(item="FEE48")  # 2026-03-02 09:00: the timer fires after 2026-03-04 09:00
    clock.set(at("2026-03-03T09:00"))
    flow.engine.execute(SuspendCase(case=case.number, reason="缴费系统停用"), flow.actors["admin"])
    assert sweep_at(flow, clock, "2026-03-05T08:00").fired == 0
    clock.set(at("2026-03-05T09:00"))  # stood still 48 hours
    flow.engine.execute(ResumeCase(case=case.number, reason="恢复缴费"), flow.actors["admin"])
    timer = next(d for d in _deadlines(seeded, case.number) if d.kind == "timer")
    assert timer.state == "armed" and timer.due_at == at("2026-03-06T09:00:01")
    assert sweep_at(flow, clock, "2026-03-06T09:00").fired == 0
    sweep_at(flow, clock, "2026-03-06T09:01")
    assert case_of(seeded, case.number).state == "concluded"
    _replays(seeded, case.number)


def _deadlines(db, number):
    with db.reader() as session:
        case_id = session.scalar(select(Case.id).where(Case.number == number))
        return list(session.scalars(select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.id)))


# ---------------------------------------------------------------- terminate and void

@pytest.mark.parametrize("command, state, label", [(TerminateCase, "terminated", "已终止"),
                                                   (VoidCase, "voided", "已作废")])
def test_terminating_or_voiding_ends_the_case_its_steps_and_its_deadlines(flow, clock, seeded, command, state, label):
    case = _accepted(flow)
    flow.engine.execute(SuspendCase(case=case.number, reason="核查"), flow.actors["admin"])
    with seeded.reader() as session:  # 办件查询 says where it stands, and finds it by that
        found = search_cases(session, flow.actors["admin"], parse_search({"status": "held"}))
        assert [(c["number"], c["status"]) for c in found.rows] == [(case.number, "已挂起")]
    flow.engine.execute(command(case=case.number, reason="申请人已注销"), flow.actors["admin"])
    with seeded.reader() as session:
        found = search_cases(session, flow.actors["admin"], parse_search({"status": state}))
        assert [(c["number"], c["status"]) for c in found.rows] == [(case.number, label)]
        assert search_cases(session, flow.actors["admin"], parse_search({"status": "running"})).rows == []
    row = case_of(seeded, case.number)
    assert row.state == state and row.hold is None
    assert [s for e, s in _tasks(seeded, case.number) if e == "review"] == ["cancelled"]
    assert {d.state for d in _deadlines(seeded, case.number)} <= {"cancelled", "fired"}
    with seeded.reader() as session:
        assert {c.state for c in session.scalars(select(Clock).where(Clock.case_id == row.id))} == {"stopped"}
    with pytest.raises(Conflict, match=f"{label}，不能再办理"):
        flow.engine.execute(ResumeCase(case=case.number, reason="恢复"), flow.actors["admin"])
    with pytest.raises(Conflict, match=label):
        flow.engine.execute(command(case=case.number, reason="再来"), flow.actors["admin"])
    assert sweep_at(flow, clock, "2026-06-01T08:00").fired == 0
    _replays(seeded, case.number)


# ---------------------------------------------------------------- move back, skip

def test_moving_a_case_back_withdraws_the_open_step_and_reopens_the_earlier_one(flow, clock, seeded):
    case = _accepted(flow)
    clock.set(at("2026-03-03T10:00"))
    flow.engine.execute(RewindCase(case=case.number, to="accept_application", reason="受理有误，重新受理"),
                        flow.actors["admin"])
    # the step's row is ready again (as after 退回), its finished round kept as a completed row
    assert sorted(_tasks(seeded, case.number)) == [("accept_application", "completed"), ("accept_application", "ready"),
                                                   ("review", "cancelled")]
    with seeded.reader() as session:
        steps = [(c.state, c.outcome) for c in session.scalars(select(Clock).where(Clock.case_id == case.id,
                                                                                  Clock.kind == "step"))]
    assert steps == [("stopped", "cancelled")]  # the review's step clock follows the withdrawn step
    assert _words(seeded, case.number)[-1]["what"] == "回退到“受理”（管理）"
    with pytest.raises(BadInput, match="没有已办理的环节“decide”"):
        flow.engine.execute(RewindCase(case=case.number, to="decide", reason="x"), flow.actors["admin"])
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    assert flow.task_of("shencha", case.number).element_id == "review"
    _replays(seeded, case.number)


def test_skipping_a_stuck_step_moves_the_flow_on_with_the_values_it_needs(flow, clock, seeded):
    case = _accepted(flow)
    review = flow.task_of("shencha", case.number)
    with pytest.raises(BadInput, match="流程的表单中没有这些字段：nonsense"):
        flow.engine.execute(SkipTask(task=review.id, reason="审查员离职", data={"nonsense": 1}), flow.actors["admin"])
    with pytest.raises(BadInput, match="审查结论"):  # a value outside the field's options
        flow.engine.execute(SkipTask(task=review.id, reason="审查员离职", data={"review_result": "maybe"}),
                            flow.actors["admin"])
    flow.engine.execute(SkipTask(task=review.id, reason="审查员离职，系统无法转办", data={"review_result": "pass"}),
                        flow.actors["admin"])
    assert _tasks(seeded, case.number)[-2:] == [("review", "completed"), ("decide", "ready")]
    last = _words(seeded, case.number)[-1]
    assert last["what"] == "跳过环节（管理）" and last["step"] == "审查" and last["said"] == "审查员离职，系统无法转办"
    _replays(seeded, case.number)


# ---------------------------------------------------------------- correct data

def test_correcting_data_records_old_and_new_values_and_the_flow_sees_the_new_ones(flow, clock, seeded):
    case = flow.engine.execute(StartCase(
        item="GENERAL", applicant=COMPANY["name"], applicant_info=COMPANY,
        application={"subject": "开办小吃店"}), flow.actors["chuangkou"])
    flow.engine.execute(CorrectCaseData(case=case.number, application={"subject": "开办小吃店（东门）"},
                                        data={"review_result": "pass"}, reason="窗口录入错误"), flow.actors["admin"])
    assert case_of(seeded, case.number).application["subject"] == "开办小吃店（东门）"
    *_, (command, _, _, result) = _history(seeded, case.number)
    assert result["changes"][0] == {"part": "application", "field": "subject", "label": "申请事项",
                                    "old": "开办小吃店", "new": "开办小吃店（东门）"}
    assert result["changes"][1]["old"] is None and result["changes"][1]["new"] == "pass"
    assert "申请事项：开办小吃店 → 开办小吃店（东门）" in _words(seeded, case.number)[-1]["details"]
    with pytest.raises(BadInput, match="没有需要更正的内容"):
        flow.engine.execute(CorrectCaseData(case=case.number, application={"subject": "开办小吃店（东门）"},
                                            reason="再改"), flow.actors["admin"])
    with pytest.raises(BadInput, match="流程的表单中没有这些字段"):
        flow.engine.execute(CorrectCaseData(case=case.number, data={"shop": "x"}, reason="再改"), flow.actors["admin"])
    # an option typed as people read it (its name) is taken for its value
    flow.engine.execute(CorrectCaseData(case=case.number, data={"review_result": "不符合条件"}, reason="审查结论录错"),
                        flow.actors["admin"])
    *_, (_, _, _, result) = _history(seeded, case.number)
    assert (result["changes"][0]["old"], result["changes"][0]["new"]) == ("pass", "fail")
    _replays(seeded, case.number)


# ---------------------------------------------------------------- incidents

def _break(db, number, key="acceptance/warning"):
    row = deadline(db, number, key)
    with db.transaction() as session:
        broken = session.get(Deadline, row.id)  # an escalation that lost its detail: it cannot fire
        broken.kind, broken.detail = "escalate", {}
    return row.id


def test_a_failed_firing_is_listed_retried_through_the_command_path_or_closed(flow, clock, seeded):
    case, other = flow.start(), flow.start()
    broken, closed = _break(seeded, case.number), _break(seeded, other.number)
    sweep_at(flow, clock, "2026-03-07T08:00")
    with seeded.reader() as session:
        listed = incidents(session)
    assert [(i["case"], i["key"], i["attempts"], i["state_label"]) for i in listed] == [
        (case.number, "acceptance/warning", 1, "重试中"), (other.number, "acceptance/warning", 1, "重试中")]
    assert "'to'" in listed[0]["error"] and listed[0]["kind_label"] == "升级提醒"
    with pytest.raises(Conflict, match="重试仍然失败"):
        flow.engine.execute(RetryDeadline(deadline=broken, reason="再试一次"), flow.actors["admin"])
    with seeded.transaction() as session:  # repaired by hand: a warning again
        session.get(Deadline, broken).kind = "warning"
    flow.engine.execute(RetryDeadline(deadline=broken, reason="已修复数据"), flow.actors["admin"])
    assert deadline(seeded, case.number, "acceptance/warning").state == "fired"
    flow.engine.execute(ResolveDeadline(deadline=closed, reason="已人工通知办理人"), flow.actors["admin"])
    row = deadline(seeded, other.number, "acceptance/warning")
    assert row.state == "cancelled" and row.detail["resolved"]["reason"] == "已人工通知办理人"
    with seeded.reader() as session:
        assert incidents(session) == []
    with pytest.raises(Conflict, match="没有触发失败"):
        flow.engine.execute(ResolveDeadline(deadline=closed, reason="again"), flow.actors["admin"])
    failure, retried = _words(seeded, case.number)[-2:]
    assert failure["what"].endswith("升级提醒触发失败") and retried["what"] == "重试定时触发"
    assert retried["who"] == "钱管理" and retried["said"] == "已修复数据"


# ---------------------------------------------------------------- a whole item

def test_suspending_an_item_refuses_new_cases_and_suspends_each_running_one(flow, clock, seeded):
    held_alone, with_item = flow.start(), flow.start()
    admin = flow.actors["admin"]
    flow.engine.execute(SuspendCase(case=held_alone.number, reason="单独核查"), admin)
    run = suspend_item(flow.engine, admin, "GENERAL", "事项依据修订，暂停受理")
    assert run.done == [with_item.number] and run.skipped == [held_alone.number] and run.failed == []
    with pytest.raises(Conflict, match="已暂停受理（事项依据修订，暂停受理），暂不能登记或申请"):
        flow.start()
    with pytest.raises(Conflict, match="暂不能登记或申请"):
        flow.engine.execute(StartCase(item="GENERAL", applicant="李四"), flow.actors["chuangkou"])
    assert case_of(seeded, with_item.number).hold["item"] is True
    with seeded.reader() as session:
        acts = [(a.command, a.actor, a.inputs["reason"]) for a in session.scalars(select(AdministrationAct))]
    assert acts == [("suspend_item", "admin", "事项依据修订，暂停受理")]
    run = resume_item(flow.engine, admin, "GENERAL", "修订完毕")
    assert run.done == [with_item.number] and run.skipped == [held_alone.number]
    assert case_of(seeded, with_item.number).hold is None
    assert case_of(seeded, held_alone.number).hold["reason"] == "单独核查"  # suspended on its own: stays
    assert flow.start().number
    with pytest.raises(Conflict, match="没有暂停受理"):
        flow.engine.execute(ResumeItem(item="GENERAL", reason="x"), admin)
    _replays(seeded, with_item.number)


# ---------------------------------------------------------------- the command line

@pytest.mark.slow
def test_the_command_line_holds_and_releases_a_case_and_an_item(db):
    def run(*args, ok=True):
        result = CliRunner().invoke(main, ["--db", db.url, *args], catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output + result.stderr
        return result

    run("init-db", "--simulation")
    run("demo")
    number = run("start", "GENERAL", "--applicant", "张三", "--now", "2026-03-02T09:00").stdout.strip()
    assert run("case", "hold", number, "--reason", "核查", "--now", "2026-03-03T09:00").stdout.strip() == \
        "已挂起办件，暂停 1 项时限"
    assert json.loads(run("case", "show", number, "--json").stdout)["hold"]["reason"] == "核查"
    assert "恢复前不能办理" in run("complete", "1", "--user", "chuangkou", "--data", '{"acceptance": "accept"}',
                            "--now", "2026-03-03T10:00", ok=False).stderr
    resumed = json.loads(run("case", "unhold", number, "--reason", "核查完毕", "--now", "2026-03-05T09:00",
                             "--json").stdout)
    assert resumed["stood_days"] == {"acceptance": 2} and resumed["reason"] == "核查完毕"
    assert "挂起办件 1 件" in run("item", "hold", "GENERAL", "--reason", "修订", "--now", "2026-03-05T10:00").stdout
    assert "已暂停受理" in run("start", "GENERAL", "--applicant", "李四", "--now", "2026-03-05T11:00", ok=False).stderr
    report = json.loads(run("item", "unhold", "GENERAL", "--reason", "完毕", "--now", "2026-03-05T12:00", "--json").stdout)
    assert report["done"] == [number]
    assert run("case", "void", number, "--reason", "重复登记", "--now", "2026-03-05T13:00").stdout.strip() == "已作废办件"
    assert run("incidents").stdout.strip() == "没有故障事件"
    assert json.loads(run("case", "show", number, "--json").stdout)["state"] == "voided"


def test_a_voided_case_is_left_out_of_the_statistics_and_a_terminated_one_counts_as_received(flow, clock):
    voided, terminated, running = flow.start(), flow.start(), flow.start()
    flow.engine.execute(VoidCase(case=voided.number, reason="重复登记"), flow.actors["admin"])
    flow.engine.execute(TerminateCase(case=terminated.number, reason="申请人已注销"), flow.actors["admin"])
    with flow.db.reader() as session:
        figures = statistics(session, flow.engine.calendar(session), date(2026, 3, 1), date(2026, 3, 31))
    assert sorted(figures["cases"]["total"]["received"]) == sorted([terminated.number, running.number])
    assert figures["cases"]["total"]["concluded"] == []


# ---------------------------------------------------------------- the web routes

def test_the_routes_are_for_administrators_and_a_bad_post_changes_nothing(flow, seeded, engine):
    case = flow.start()
    app = create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)
    clerk = login(app.test_client(), "chuangkou")
    token = csrf_of(clerk.get(f"/cases/{case.number}").get_data(as_text=True))
    page = clerk.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "管理操作" not in page
    for path in (f"/admin/cases/{case.number}/suspend", "/admin/incidents"):
        response = (clerk.post(path, data={"csrf_token": token, "reason": "x"}) if "suspend" in path
                    else clerk.get(path))
        assert response.status_code == 403 and "只有管理员" in response.get_data(as_text=True)
    admin = login(app.test_client(), "admin")
    page = admin.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "管理操作" in page
    token = csrf_of(page)
    for path, data in ((f"/admin/cases/{case.number}/suspend", {"reason": "  "}),
                       (f"/admin/cases/{case.number}/end", {"how": "delete", "reason": "x"}),
                       (f"/admin/cases/{case.number}/skip", {"reason": "x"}),
                       ("/admin/items/GENERAL/hold", {"reason": ""})):
        response = admin.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 400, path
        assert any(words in response.get_data(as_text=True) for words in ("不能为空", "请选择")), path
    assert [c for c, *_ in _history(seeded, case.number)] == ["start_case"]
    with seeded.reader() as session:
        assert session.scalar(select(Item.hold).where(Item.code == "GENERAL")) is None
