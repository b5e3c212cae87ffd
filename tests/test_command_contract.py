"""The command contract: every command declares who may run it, is refused uniformly for anyone
else with nothing changed, records its inputs apart from its result, and rebuilds for replay;
a form goes stale only when its own task changed."""
from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import func, select

from engine import Actor, NotAllowed
from engine.authorization import POLICIES, Policy
from engine.commands import (COMMANDS, ClaimTask, CompleteTask, DelegateTask, FireDeadline, RecomputeDeadlines,
                             StartCase, UrgeTask)
from engine.errors import Conflict
from engine.read.queries import case_history, get_case, history_dicts
from engine.store.models import (AdministrationAct, Case, CommandRefusal, Deadline, Department, EfficiencyWarning,
                                 Finding, HistoryEntry, Item, SupervisionAct, Task, User)
from timers.sweep import sweep
from web import create_app

from .test_web import csrf_of, login, version_of


# ------------------------------------------------------------------ declarations

def test_every_registered_command_declares_label_policy_and_record_format():
    assert len(COMMANDS) >= 23
    for name, cls in COMMANDS.items():
        assert cls.type == name
        assert isinstance(cls.policy, Policy) and cls.policy in POLICIES, f"{name} has no named policy"
        assert cls.label and not cls.label.isascii(), f"{name} needs a Chinese label"
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, f"{name} must be a frozen dataclass"


def test_a_command_without_a_policy_cannot_even_be_defined():
    from engine.commands.base import CaseCommand

    with pytest.raises(TypeError, match="must declare policy"):
        @dataclasses.dataclass(frozen=True)
        class Unchecked(CaseCommand):  # noqa: F841
            type = "unchecked_example"
            label = "未检查"
            case: str = ""
    assert "unchecked_example" not in COMMANDS


# ------------------------------------------------------------------ refusals for outsiders

def _accepted(flow):
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    return case


def _task(flow, username, number):
    return flow.task_of(username, number).id


def _armed_deadline(flow, number):
    with flow.db.reader() as session:
        case_id = session.scalar(select(Case.id).where(Case.number == number))
        return session.scalar(select(Deadline.key).where(Deadline.case_id == case_id, Deadline.state == "armed")
                              .order_by(Deadline.due_at).limit(1))


def _delegated(flow):
    case = flow.start()
    task = _task(flow, "chuangkou", case.number)
    flow.engine.execute(DelegateTask(task=task, to="shencha"), flow.actors["chuangkou"])
    return case, task


def _completed_acceptance(flow):
    case = _accepted(flow)
    with flow.db.reader() as session:
        return case, session.scalar(select(Task.id).join(Case).where(Case.number == case.number,
                                                                     Task.element_id == "accept_application"))


def _finding(flow):
    """A refusal report (否定报备) on a case refused at acceptance, asked to be explained."""
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "refuse"}, opinion="不属于本机关职权范围", number=case.number)
    (finding,) = flow.engine.execute(COMMANDS["detect_findings"](), flow.actors["jiancha"])
    flow.engine.execute(COMMANDS["request_explanation"](finding=finding["finding"], note="请说明"), flow.actors["jiancha"])
    return finding["finding"]


def _proposed_warning(flow):
    for user in ("shencha", "shencha_b"):
        flow.engine.execute(COMMANDS["issue_warning"](user=user, reason="超期"), flow.actors["jiancha"])
    with flow.db.reader() as session:
        return session.scalar(select(EfficiencyWarning.id).where(EfficiencyWarning.state == "proposed"))


#: For every command: (who is outside its policy, how to build it on a case in the right state).
#: A new command must be added here, or test_every_command_has_an_outsider_example fails.
OUTSIDERS = {
    "start_case": ("jiancha", lambda f: (None, StartCase(item="GENERAL", applicant="张三"))),
    "complete_task": ("mz_shencha", lambda f: (c := f.start(), CompleteTask(
        task=_task(f, "chuangkou", c.number), data={"acceptance": "accept"}))),
    "claim_task": ("shencha", lambda f: (c := f.start(), ClaimTask(task=_task(f, "chuangkou", c.number)))),
    "release_task": ("mz_chuangkou", lambda f: (c := f.start(), COMMANDS["release_task"](
        task=_task(f, "chuangkou", c.number)))),
    "transfer_task": ("mz_chuangkou", lambda f: (c := f.start(), COMMANDS["transfer_task"](
        task=_task(f, "chuangkou", c.number), to="chuangkou"))),
    "urge_task": ("shencha_b", lambda f: (c := f.start(), UrgeTask(task=_task(f, "chuangkou", c.number)))),
    "save_draft": ("mz_chuangkou", lambda f: (c := f.start(), COMMANDS["save_draft"](
        task=_task(f, "chuangkou", c.number), opinion="草稿"))),
    "return_task": ("mz_shencha", lambda f: (c := _accepted(f), COMMANDS["return_task"](
        task=_task(f, "shencha", c.number), to="accept_application", reason="退回"))),
    "take_back_task": ("shencha_b", lambda f: (lambda c, t: (c, COMMANDS["take_back_task"](task=t)))(
        *_completed_acceptance(f))),
    "add_cosigner": ("mz_shencha", lambda f: (c := _accepted(f), COMMANDS["add_cosigner"](
        task=_task(f, "shencha", c.number), to="shencha_b"))),
    "delegate_task": ("mz_shencha", lambda f: (c := _accepted(f), COMMANDS["delegate_task"](
        task=_task(f, "shencha", c.number), to="shencha_b"))),
    "hand_back_task": ("chuangkou", lambda f: (lambda c, t: (c, COMMANDS["hand_back_task"](task=t, opinion="好")))(
        *_delegated(f))),
    "request_supplement": ("mz_chuangkou", lambda f: (c := f.start(), COMMANDS["request_supplement"](
        case=c.number, materials=("营业执照",)))),
    "receive_supplement": ("mz_chuangkou", lambda f: (c := f.start(), COMMANDS["receive_supplement"](case=c.number))),
    "receive_deferred_material": ("mz_chuangkou", lambda f: (c := f.start(), COMMANDS["receive_deferred_material"](
        case=c.number, material="申请书"))),
    "record_materials": ("shencha", lambda f: (c := f.start(), COMMANDS["record_materials"](
        case=c.number, statuses=(("申请书", "received"),)))),
    "attach_material": ("mz_shencha", lambda f: (c := f.start(), COMMANDS["attach_material"](
        case=c.number, material="食品经营许可申请书", filename="申请书.pdf", content_type="application/pdf",
        size=1024, sha256="0" * 64))),
    # the case's own version as the target: the policy refuses before anything is looked at
    "migrate_case": ("fuzeren", lambda f: (c := f.start(), COMMANDS["migrate_case"](
        case=c.number, to=c.process_version.content_hash, reason="迁移"))),
    "submit_supplement": ("chuangkou", lambda f: (c := f.start(), COMMANDS["submit_supplement"](case=c.number))),
    "withdraw_application": ("chuangkou", lambda f: (c := f.start(), COMMANDS["withdraw_application"](case=c.number))),
    "rate_service": ("shencha", lambda f: (c := f.start(), COMMANDS["rate_service"](case=c.number, score=5))),
    "copy_case": ("mz_shencha", lambda f: (c := f.start(), COMMANDS["copy_case"](case=c.number, to=("shencha",)))),
    "suspend_clocks": ("mz_shencha", lambda f: (c := _accepted(f), COMMANDS["suspend_clocks"](
        case=c.number, kind="inspection", days=5, reason="检验"))),
    "resume_clocks": ("mz_shencha", lambda f: (c := _accepted(f), COMMANDS["resume_clocks"](case=c.number))),
    "extend_deadline": ("mz_fuzeren", lambda f: (c := _accepted(f), COMMANDS["extend_deadline"](
        case=c.number, reason="情况复杂", days=5))),
    "request_extension": ("mz_shencha", lambda f: (c := _accepted(f), COMMANDS["request_extension"](
        case=c.number, reason="情况复杂", days=5))),
    "decide_extension": ("shencha", lambda f: (c := _accepted(f), COMMANDS["decide_extension"](
        case=c.number, approve=True))),
    "fire_deadline": ("admin", lambda f: (c := _accepted(f), FireDeadline(case=c.number,
                                                                          key=_armed_deadline(f, c.number)))),
    "record_deadline_failure": ("admin", lambda f: (c := _accepted(f), COMMANDS["record_deadline_failure"](
        case=c.number, key=_armed_deadline(f, c.number), error="boom"))),
    "recompute_deadlines": ("admin", lambda f: (c := _accepted(f), RecomputeDeadlines(case=c.number))),
    # administrators operating cases (engine/commands/operations.py): a supervisor or a 负责人 is refused
    "suspend_case": ("fuzeren", lambda f: (c := f.start(), COMMANDS["suspend_case"](case=c.number, reason="核查"))),
    "resume_case": ("jiancha", lambda f: (c := f.start(), COMMANDS["resume_case"](case=c.number, reason="恢复"))),
    "terminate_case": ("fuzeren", lambda f: (c := f.start(), COMMANDS["terminate_case"](case=c.number, reason="终止"))),
    "void_case": ("chuangkou", lambda f: (c := f.start(), COMMANDS["void_case"](case=c.number, reason="重复登记"))),
    "rewind_case": ("fuzeren", lambda f: (c := _accepted(f), COMMANDS["rewind_case"](
        case=c.number, to="accept_application", reason="重审"))),
    "skip_task": ("shencha", lambda f: (c := f.start(), COMMANDS["skip_task"](
        task=_task(f, "chuangkou", c.number), reason="卡住"))),
    "correct_case_data": ("chuangkou", lambda f: (c := f.start(), COMMANDS["correct_case_data"](
        case=c.number, data={"acceptance": "accept"}, reason="录入错误"))),
    "retry_deadline": ("jiancha", lambda f: (c := _accepted(f), COMMANDS["retry_deadline"](
        case=c.number, key=_armed_deadline(f, c.number), reason="重试"))),
    "resolve_deadline": ("fuzeren", lambda f: (c := _accepted(f), COMMANDS["resolve_deadline"](
        case=c.number, key=_armed_deadline(f, c.number), reason="已处理"))),
    "suspend_item": ("jiancha", lambda f: (None, COMMANDS["suspend_item"](item="GENERAL", reason="整改"))),
    "resume_item": ("fuzeren", lambda f: (None, COMMANDS["resume_item"](item="GENERAL", reason="整改完毕"))),
    # supervision (engine/commands/supervision.py): on findings and warnings, not on a case
    "detect_findings": ("fuzeren", lambda f: (None, COMMANDS["detect_findings"]())),
    "acknowledge_refusal": ("fuzeren", lambda f: (None, COMMANDS["acknowledge_refusal"](finding=_finding(f)))),
    "request_explanation": ("admin", lambda f: (None, COMMANDS["request_explanation"](finding=_finding(f), note="请说明"))),
    "explain_finding": ("mz_fuzeren", lambda f: (None, COMMANDS["explain_finding"](finding=_finding(f), note="说明"))),
    "confirm_finding": ("shencha", lambda f: (None, COMMANDS["confirm_finding"](finding=_finding(f)))),
    "close_finding": ("fuzeren", lambda f: (None, COMMANDS["close_finding"](finding=_finding(f), note="关闭"))),
    "issue_warning": ("fuzeren", lambda f: (None, COMMANDS["issue_warning"](user="shencha", reason="超期"))),
    "decide_warning": ("fuzeren", lambda f: (None, COMMANDS["decide_warning"](warning=_proposed_warning(f)))),
    # the organisation (engine/commands/organisation.py): administrators; AB岗 also the user and their head
    "add_department": ("fuzeren", lambda f: (None, COMMANDS["add_department"](code="x1", name="某科", parent="city"))),
    "rename_department": ("sheji", lambda f: (None, COMMANDS["rename_department"](code="mz", name="市民政"))),
    "move_department": ("jiancha", lambda f: (None, COMMANDS["move_department"](code="village", parent="county"))),
    "deactivate_department": ("fuzeren", lambda f: (None, COMMANDS["deactivate_department"](code="village"))),
    "reactivate_department": ("fuzeren", lambda f: (None, COMMANDS["reactivate_department"](code="village"))),
    "add_user": ("fuzeren", lambda f: (None, COMMANDS["add_user"](username="x1", display_name="某某", department="scjg",
                                                                  roles=("reviewer",)))),
    "edit_user": ("shencha", lambda f: (None, COMMANDS["edit_user"](username="shencha", display_name="李审查",
                                                                    department="scjg", roles=("reviewer", "head")))),
    "deactivate_user": ("fuzeren", lambda f: (None, COMMANDS["deactivate_user"](username="shencha_b"))),
    "reactivate_user": ("fuzeren", lambda f: (None, COMMANDS["reactivate_user"](username="shencha_b"))),
    "reset_password": ("jiancha", lambda f: (None, COMMANDS["reset_password"](username="shencha"))),
    "reset_applicant_password": ("jiancha", lambda f: (None, COMMANDS["reset_applicant_password"](login="X"))),
    "set_backup": ("mz_fuzeren", lambda f: (None, COMMANDS["set_backup"](username="shencha", backup="shencha_b"))),
    "reassign_task": ("fuzeren", lambda f: (c := _accepted(f), COMMANDS["reassign_task"](
        task=_task(f, "shencha", c.number), holder="shencha", to="shencha_b"))),
    # administration (engine/commands/catalogue.py): on an item's guide, not on a case
    "edit_guide": ("sheji", lambda f: (None, COMMANDS["edit_guide"](item="SCJG-SPJY", guide={"fees": {
        "amount": 0, "basis": "免费"}}))),
}


def test_every_command_has_an_outsider_example():
    assert set(OUTSIDERS) == set(COMMANDS), "add the new command to OUTSIDERS"


def _state(db):
    """Everything a command could change. Not ``command_refusals``: a refused case command appends
    to it after its transaction rolled back (流程错误), checked on its own below."""
    with db.reader() as session:
        return (session.scalar(select(func.count(HistoryEntry.id))), session.scalar(select(func.count(Case.id))),
                sorted(session.execute(select(Task.id, Task.state, Task.assignee_id, Task.delegated_by_id,
                                              Task.version, Task.draft)).all(), key=lambda r: r[0]),
                session.scalar(select(func.count(Deadline.id)).where(Deadline.state == "armed")),
                session.scalar(select(func.count(SupervisionAct.id))),
                session.scalar(select(func.count(AdministrationAct.id))),
                sorted(session.execute(select(User.username, User.active, User.department_id, User.backup_id,
                                              User.away, User.password_hash)).all()),
                sorted(session.execute(select(Department.code, Department.name, Department.parent_id,
                                              Department.active)).all()),
                sorted(session.execute(select(Finding.id, Finding.state)).all()),
                sorted(session.execute(select(EfficiencyWarning.id, EfficiencyWarning.state)).all()),
                session.scalar(select(func.count(AdministrationAct.id))),
                sorted(session.execute(select(Item.code, Item.guide, Item.time_policy)).all(), key=lambda r: r[0]))


@pytest.mark.parametrize("command_type", sorted(OUTSIDERS))
def test_every_command_is_refused_for_an_actor_outside_its_policy_with_nothing_changed(flow, command_type):
    outsider, build = OUTSIDERS[command_type]
    _case, command = build(flow)
    before = _state(flow.db)
    refusals = _refusals(flow.db)
    with pytest.raises(NotAllowed) as refused:
        flow.engine.execute(command, flow.actors[outsider])
    assert _state(flow.db) == before
    recorded = [(c, a, code, m) for c, a, code, m in _refusals(flow.db)[len(refusals):]]
    if type(command).records_refusals:  # a case command: its refusal is recorded, and nothing else
        assert recorded == [(command_type, flow.actors[outsider].name, "not_allowed", refused.value.message)]
    else:  # supervision and the timer's own commands
        assert recorded == []


def _refusals(db):
    with db.reader() as session:
        return list(session.execute(select(CommandRefusal.command, CommandRefusal.actor, CommandRefusal.code,
                                           CommandRefusal.message).order_by(CommandRefusal.id)))


def test_an_applicant_may_start_a_case_only_in_their_own_name(flow):
    with pytest.raises(NotAllowed, match="本人"):
        flow.engine.execute(StartCase(item="GENERAL", applicant="李四"), Actor.applicant("张三"))
    case = flow.engine.execute(StartCase(item="GENERAL", applicant="张三"), Actor.applicant("张三"))
    assert case.number.startswith("GENERAL-")
    walk_in = flow.engine.execute(StartCase(item="GENERAL", applicant="李四"), flow.actors["chuangkou"])
    assert walk_in.applicant == "李四"


def test_a_delegate_hands_back_but_cannot_complete_return_transfer_or_release(flow):
    case = _accepted(flow)
    task = _task(flow, "shencha", case.number)
    flow.engine.execute(DelegateTask(task=task, to="mz_shencha"), flow.actors["shencha"])
    delegate = flow.actors["mz_shencha"]
    for command in (CompleteTask(task=task, data={"review_result": "pass"}),
                    COMMANDS["return_task"](task=task, to="accept_application", reason="不行"),
                    COMMANDS["transfer_task"](task=task, to="shencha_b"),
                    COMMANDS["release_task"](task=task),
                    COMMANDS["delegate_task"](task=task, to="shencha_b")):
        with pytest.raises(NotAllowed, match="交回委派人"):
            flow.engine.execute(command, delegate)
    flow.engine.execute(COMMANDS["save_draft"](task=task, opinion="初步核实"), delegate)
    flow.engine.execute(COMMANDS["hand_back_task"](task=task, opinion="经核实符合"), delegate)
    with pytest.raises(NotAllowed):  # the owner has it again; the delegate is done
        flow.engine.execute(COMMANDS["save_draft"](task=task, opinion="再改"), delegate)


# ------------------------------------------------------------------ history and replay records

def test_history_keeps_inputs_apart_from_results_and_every_entry_rebuilds_its_command(flow):
    case = _accepted(flow)
    flow.complete("shencha", {"review_result": "pass"}, opinion="符合条件", number=case.number)
    with flow.db.reader() as session:
        entries = list(session.scalars(select(HistoryEntry).join(Case).where(Case.number == case.number)
                                       .order_by(HistoryEntry.seq)))
    start, accept, review = entries
    assert start.inputs == {"item": "GENERAL", "applicant": "张三", "data": {}}
    # the key, number and version a start minted are on the case row: every reader gets them back
    assert set(start.payload) == {"data"}
    assert review.inputs["opinion"] == "符合条件"
    assert "opinion" not in review.payload and review.payload["data"] == {"review_result": "pass"}
    assert isinstance(review.inputs["task"], str)  # the SpiffWorkflow id, the same on every database
    with flow.db.reader() as session:
        shown = history_dicts(case_history(session, get_case(session, case.number)))
    assert set(shown[0]["result"]) >= {"key", "number", "version"}
    for entry, full in zip(entries, shown):
        rebuilt = COMMANDS[entry.command].from_record(json.loads(json.dumps(entry.inputs)), full["result"],
                                                      version=shown[0]["result"]["version"])
        assert type(rebuilt).type == entry.command


# ------------------------------------------------------------------ staleness per task

@pytest.fixture
def app(seeded, engine):
    return create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)


def _form(client, task_id):
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    return {"csrf_token": csrf_of(page), "task_version": version_of(page)}


def test_two_parallel_reviewers_of_a_joint_case_both_submit(app, flow, clock):
    case = flow.start(item="FGW-TZXM", applicant="某新能源科技有限公司")
    flow.complete("fgw_chuangkou", {"acceptance": "accept"}, number=case.number)
    zrzy, sthj = login(app.test_client(), "zrzy_shencha"), login(app.test_client(), "sthj_shencha")
    zrzy_task, sthj_task = _task(flow, "zrzy_shencha", case.number), _task(flow, "sthj_shencha", case.number)
    zrzy_form, sthj_form = _form(zrzy, zrzy_task), _form(sthj, sthj_task)  # both pages open at once
    clock.advance(hours=1)
    assert zrzy.post(f"/tasks/{zrzy_task}/complete", data={**zrzy_form, "zrzy_result": "agree"}).status_code == 302
    clock.advance(hours=1)
    response = sthj.post(f"/tasks/{sthj_task}/complete", data={**sthj_form, "sthj_result": "agree"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with flow.db.reader() as session:
        done = set(session.scalars(select(Task.element_id).join(Case).where(Case.number == case.number,
                                                                             Task.state == "completed")))
    assert {"zrzy_opinion", "sthj_opinion"} <= done


def test_an_urge_a_colleagues_draft_or_the_sweep_between_render_and_submit_does_not_refuse_the_form(
        app, flow, clock, engine):
    case = _accepted(flow)
    task = _task(flow, "shencha", case.number)
    client = login(app.test_client(), "shencha")
    form = _form(client, task)
    engine.execute(UrgeTask(task=task, note="请尽快"), flow.actors["fuzeren"])
    clock.set("2026-03-30T08:00:00+08:00")  # past the warning and the promised limit
    assert sweep(engine).fired > 0
    response = client.post(f"/tasks/{task}/complete", data={**form, "review_result": "pass", "opinion": "符合"})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_the_same_task_submitted_twice_is_still_refused(app, flow):
    case = flow.start()
    task = _task(flow, "chuangkou", case.number)
    client = login(app.test_client(), "chuangkou")
    form = _form(client, task)
    assert client.post(f"/tasks/{task}/complete", data={**form, "acceptance": "accept"}).status_code == 302
    again = client.post(f"/tasks/{task}/complete", data={**form, "acceptance": "accept"})
    assert again.status_code == 409 and "无需再办理" in again.get_data(as_text=True)


def test_a_form_is_stale_once_its_own_task_changed_hands(flow):
    case = flow.start()
    task = _task(flow, "chuangkou", case.number)
    with flow.db.reader() as session:
        rendered = session.get(Task, task).version
    flow.engine.execute(ClaimTask(task=task), flow.actors["chuangkou"])  # from another page, say
    with pytest.raises(Conflict, match="已被他人处理过"):
        flow.engine.execute(CompleteTask(task=task, data={"acceptance": "accept"}, expected_version=rendered),
                            flow.actors["chuangkou"])


# ------------------------------------------------------------------ the history, in words

def test_the_case_history_reads_in_words_with_names_and_china_time(app, flow, clock, engine):
    from engine.read.views import history_view

    case = _accepted(flow)
    clock.set("2026-03-10T08:00:00+08:00")
    sweep(engine)
    flow.complete("shencha", {"review_result": "pass"}, opinion="符合条件", number=case.number)
    decide = _task(flow, "fuzeren", case.number)
    engine.execute(COMMANDS["return_task"](task=decide, to="review", reason="核查记录不全"), flow.actors["fuzeren"])
    with flow.db.reader() as session:
        lines = history_view(session, session.scalar(select(Case).where(Case.number == case.number)))
    said = [(h["who"], h["what"], h["said"]) for h in lines]
    assert said[0] == ("申请人 张三", "提交申请", "")
    assert said[1][:2] == ("王窗口", "办理") and lines[1]["step"] == "受理"
    assert ("系统", "环节时限（审查）预警", "") in said
    assert ("李审查", "办理", "符合条件") in said
    assert said[-1] == ("赵负责", "从“决定”退回到“审查”", "核查记录不全")  # from where, to where, why
    assert lines[0]["at"] == "2026-03-02 09:00"  # China time
    page = login(app.test_client(), "fuzeren").get(f"/cases/{case.number}").get_data(as_text=True)
    assert "applicant:" not in page and "system:" not in page and "赵负责" in page
    assert "<strong>系统</strong>：环节时限（审查）预警" in page and "，理由：<q>核查记录不全</q>" in page


def test_a_delegator_sees_the_delegated_step_read_only_and_the_delegate_sees_who_asked(app, flow):
    case = _accepted(flow)
    task = _task(flow, "shencha", case.number)
    flow.engine.execute(DelegateTask(task=task, to="mz_shencha", note="请协助核查"), flow.actors["shencha"])
    owner = login(app.test_client(), "shencha").get(f"/tasks/{task}")
    page = owner.get_data(as_text=True)
    assert owner.status_code == 200 and "已委派给 周审查" in page
    assert "提交</button>" not in page and "暂存" not in page and "退回</button>" not in page
    delegate = login(app.test_client(), "mz_shencha").get(f"/tasks/{task}").get_data(as_text=True)
    assert "这是 李审查 委派给您的任务" in delegate


def test_the_window_is_offered_the_supplement_arrival_only_while_a_notice_is_out(flow, engine):
    from engine.read.views import task_view

    case = flow.start()
    task = _task(flow, "chuangkou", case.number)
    with flow.db.reader() as session:
        ops = task_view(session, flow.actors["chuangkou"], task, engine.definition).operations
    assert "request_supplement" in ops and "receive_supplement" not in ops
    flow.engine.execute(COMMANDS["request_supplement"](case=case.number, materials=("营业执照",)),
                        flow.actors["chuangkou"])
    with flow.db.reader() as session:
        ops = task_view(session, flow.actors["chuangkou"], task, engine.definition).operations
    assert "receive_supplement" in ops and "request_supplement" not in ops
