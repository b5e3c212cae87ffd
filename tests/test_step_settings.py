"""Per-step settings on the diagram (camunda:property on a user task), enforced by the engine:
field access, the operations offered, who handles the step, and what happens when nobody may.
A refusal names the reason in Chinese and changes nothing."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine import Actor
from engine.commands import AddCosigner, CompleteTask, DelegateTask, ReturnTask, SaveDraft, TransferTask
from engine.deploy import deploy
from engine.errors import BadInput
from engine.people import actor_for, add_user
from engine.read.views import task_form, task_view
from engine.replay import export_case, replay
from engine.runtime.definitions import parse_definition
from engine.runtime.lint import lint
from engine.store.models import Case, HistoryEntry, Task, User
from engine.versions import change_summary

from .helpers import BPMN

GENERAL = (BPMN / "general_approval.bpmn").read_text(encoding="utf-8")


def with_settings(xml: str, element: str, settings: dict[str, str], fields: str = "") -> str:
    """``xml`` with ``settings`` as camunda:property entries of ``element`` and ``fields`` added
    to its form."""
    start = xml.index(f'<bpmn:userTask id="{element}"')
    end = xml.index("</bpmn:userTask>", start)
    block = xml[start:end]
    props = "".join(f'<camunda:property name="{k}" value="{v}" />' for k, v in settings.items())
    block = block.replace("</camunda:properties>", props + "</camunda:properties>", 1)
    block = block.replace("<camunda:formData>", "<camunda:formData>" + fields, 1)
    return xml[:start] + block + xml[end:]


NOTES = '<camunda:formField id="review_notes" label="审查记录" type="text" />'
RESULT = ('<camunda:formField id="review_result" label="审查结论" type="enum">'
          '<camunda:value id="pass" name="符合条件" /><camunda:value id="fail" name="不符合条件" /></camunda:formField>')


def use(db, clock, xml: str) -> None:
    with db.transaction() as session:
        deploy(session, xml.encode("utf-8"), "general_approval.bpmn", "GENERAL", deployed_by="admin", at=clock.now())


def accepted(flow, **extra):
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept", **extra})
    return case


def history_length(db, number: str) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count(HistoryEntry.id)).join(Case).where(Case.number == number))


def open_task(db, number: str) -> Task:
    with db.reader() as session:
        row = session.scalar(select(Task).join(Case).where(Case.number == number, Task.state == "ready",
                                                           Task.kind == "bpmn"))
        session.expunge(row)
        return row


# ---------------------------------------------------------------- 1. field access

def test_a_read_only_or_hidden_field_cannot_be_changed_and_the_page_follows(flow, seeded, clock, engine):
    xml = with_settings(GENERAL, "review", {}, NOTES)
    xml = with_settings(xml, "decide", {"readonly": "review_result", "hidden": "review_notes"}, RESULT + NOTES)
    use(seeded, clock, xml)
    case = accepted(flow)
    flow.complete("shencha", {"review_result": "pass", "review_notes": "现场照片齐全"})
    before = history_length(seeded, case.number)
    head = flow.actors["fuzeren"]
    task = open_task(seeded, case.number)
    with pytest.raises(BadInput, match="字段“审查结论”在“决定”环节只读，不能修改"):
        engine.execute(CompleteTask(task=task.id, data={"decision": "grant", "review_result": "fail"}), head)
    with pytest.raises(BadInput, match="字段“审查记录”在“决定”环节不可见，不能修改"):
        engine.execute(CompleteTask(task=task.id, data={"decision": "grant", "review_notes": "改了"}), head)
    with pytest.raises(BadInput, match="只读"):
        engine.execute(SaveDraft(task=task.id, data={"review_result": "fail"}), head)
    assert history_length(seeded, case.number) == before and open_task(seeded, case.number).state == "ready"

    with seeded.reader() as session:
        view = task_view(session, head, task.id, engine.definition)
        posted = [f.id for f in task_form(session, task.id, engine.definition)]
    assert [f.id for f in view.form] == ["review_result", "decision"]  # 审查记录 not shown at all
    assert view.access == {"review_result": "readonly", "decision": "editable"}
    assert view.current == {"review_result": "符合条件"}
    assert posted == ["decision"]
    assert all(r["label"] != "审查记录" for w in view.earlier for r in w["records"])

    # the same value, or none, is not a change
    engine.execute(CompleteTask(task=task.id, data={"decision": "grant", "review_result": "pass"}), head)
    with seeded.reader() as session:
        assert session.scalar(select(Case.state).where(Case.number == case.number)) == "concluded"


# ---------------------------------------------------------------- 2. operations

def test_only_the_operations_a_step_offers(flow, seeded, clock, engine):
    use(seeded, clock, with_settings(GENERAL, "decide", {"operations": "approve,transfer"}))
    case = accepted(flow)
    flow.complete("shencha", {"review_result": "pass"})
    head = flow.actors["fuzeren"]
    task = open_task(seeded, case.number)
    before = history_length(seeded, case.number)
    refusals = [(ReturnTask(task=task.id, to="review", reason="补充核查"), "退回"),
                (DelegateTask(task=task.id, to="shencha"), "委派"),
                (AddCosigner(task=task.id, to="shencha"), "加签"),
                (CompleteTask(task=task.id, data={"decision": "deny"}, opinion="不符合"), "不予受理/不予许可")]
    for command, name in refusals:
        with pytest.raises(BadInput, match=f"“决定”环节不提供“{re.escape(name)}”操作"):
            engine.execute(command, head)
    assert history_length(seeded, case.number) == before
    with seeded.reader() as session:
        view = task_view(session, head, task.id, engine.definition)
    assert {"return_task", "delegate_task", "add_cosigner"}.isdisjoint(view.operations)
    assert "complete_task" in view.operations
    assert [o for o, _ in view.form[0].options] == ["grant"]  # 不予许可 is not offered
    engine.execute(CompleteTask(task=task.id, data={"decision": "grant"}), head)


def test_a_step_without_settings_offers_everything_as_before(flow, seeded, engine):
    case = accepted(flow)
    task = open_task(seeded, case.number)
    with seeded.reader() as session:
        view = task_view(session, flow.actors["shencha"], task.id, engine.definition)
    assert {"complete_task", "return_task", "transfer_task", "delegate_task", "add_cosigner"} <= view.operations
    assert [f.id for f in view.form] == ["review_result"] and view.access == {"review_result": "editable"}


# ---------------------------------------------------------------- 3. handlers

def test_the_departments_head_handles_a_head_step(flow, seeded, clock, engine):
    use(seeded, clock, with_settings(GENERAL, "review", {"handler": "head"}))
    case = accepted(flow)
    task = open_task(seeded, case.number)
    assert task.role == "head"
    with pytest.raises(Exception):
        flow.task_of("shencha", case.number)
    flow.complete("fuzeren", {"review_result": "pass"}, number=case.number)


def test_heads_up_the_chain_each_in_turn(flow, seeded, clock, engine):
    with seeded.transaction() as session:
        add_user(session, "shi_fuzeren", roles=["head"], department_code="city", display_name="市负责")
    use(seeded, clock, with_settings(GENERAL, "decide", {"handler": "head_chain"}))
    case = accepted(flow)
    flow.complete("shencha", {"review_result": "pass"})
    flow.complete("fuzeren", {"decision": "grant"}, opinion="同意，报市政府")
    task = open_task(seeded, case.number)
    with seeded.reader() as session:
        city_head = actor_for(session, "shi_fuzeren")
        assert task.element_id == "decide" and task.department_id == session.scalar(
            select(User.department_id).where(User.username == "shi_fuzeren"))
        entry = session.scalar(select(HistoryEntry).join(Case).where(Case.number == case.number)
                               .order_by(HistoryEntry.seq.desc()).limit(1))
        assert entry.payload["next_level"] == "city" and entry.case_state == "running"
        view = task_view(session, city_head, task.id, engine.definition)
    assert any(w["name"] == "决定" and w["opinion"] == "同意，报市政府" for w in view.earlier)
    engine.execute(CompleteTask(task=task.id, data={"decision": "grant"}), city_head)
    with seeded.reader() as session:
        assert session.scalar(select(Case.state).where(Case.number == case.number)) == "concluded"


def test_chain_levels_stop_the_chain(flow, seeded, clock):
    with seeded.transaction() as session:
        add_user(session, "shi_fuzeren", roles=["head"], department_code="city", display_name="市负责")
    use(seeded, clock, with_settings(GENERAL, "decide", {"handler": "head_chain", "chain_levels": "1"}))
    case = accepted(flow)
    flow.complete("shencha", {"review_result": "pass"})
    flow.complete("fuzeren", {"decision": "grant"})
    with seeded.reader() as session:
        assert session.scalar(select(Case.state).where(Case.number == case.number)) == "concluded"


def test_the_previous_handler_chooses_the_next_one(flow, seeded, clock, engine):
    use(seeded, clock, with_settings(GENERAL, "review", {"handler": "chosen"}))
    case = flow.start()
    task = open_task(seeded, case.number)
    clerk = flow.actors["chuangkou"]
    with seeded.reader() as session:
        view = task_view(session, clerk, task.id, engine.definition)
    assert view.pickers == {"next_handler_review": [("shencha", "李审查"), ("shencha_b", "卫审查")]}
    assert view.form[-1].label == "“审查”的办理人"
    before = history_length(seeded, case.number)
    with pytest.raises(BadInput, match="赵负责 不是 市市场监督管理局 的审查员，不能办理“审查”"):
        engine.execute(CompleteTask(task=task.id, data={"acceptance": "accept", "next_handler_review": "fuzeren"}), clerk)
    assert history_length(seeded, case.number) == before
    engine.execute(CompleteTask(task=task.id, data={"acceptance": "accept", "next_handler_review": "shencha_b"}), clerk)
    review = open_task(seeded, case.number)
    with seeded.reader() as session:
        assert session.get(User, review.assignee_id).username == "shencha_b"
    with pytest.raises(Exception):
        flow.task_of("shencha", case.number)
    flow.complete("shencha_b", {"review_result": "pass"}, number=case.number)
    with seeded.reader() as session:
        exported = export_case(session, session.scalar(select(Case).where(Case.number == case.number)))
    result = replay(exported, xml_bytes(seeded, case.number))
    assert result.same and result.replayed == result.commands, result.summary()


def xml_bytes(db, number: str) -> bytes:
    from engine.store.models import ProcessVersion
    with db.reader() as session:
        return session.scalar(select(ProcessVersion.bpmn_xml).join(Case, Case.process_version_id == ProcessVersion.id)
                              .where(Case.number == number)).encode("utf-8")


def test_a_person_named_in_a_form_field_handles_the_step(flow, seeded, clock, engine):
    xml = with_settings(GENERAL, "accept_application", {},
                        '<camunda:formField id="reviewer" label="审查人" type="string" />')
    use(seeded, clock, with_settings(xml, "review", {"handler": "field", "handler_field": "reviewer"}))
    case = accepted(flow, reviewer="shencha_b")
    review = open_task(seeded, case.number)
    with seeded.reader() as session:
        assert session.get(User, review.assignee_id).username == "shencha_b"
    other = flow.start()
    with pytest.raises(BadInput, match="“审查”的办理人 “nobody” 不存在或已停用"):
        flow.complete("chuangkou", {"acceptance": "accept", "reviewer": "nobody"}, number=other.number)


# ---------------------------------------------------------------- 4. nobody fits

def test_nobody_fits_skip_passes_the_step_with_a_record(flow, seeded, clock):
    settings = {"department": "zrzy", "handler": "head", "nobody": "skip"}  # 自然资源 has no 负责人
    use(seeded, clock, with_settings(GENERAL, "review", settings))
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"})
    task = open_task(seeded, case.number)
    assert task.element_id == "decide"
    with seeded.reader() as session:
        entry = session.scalar(select(HistoryEntry).join(Case).where(Case.number == case.number)
                               .order_by(HistoryEntry.seq.desc()).limit(1))
        skipped = session.scalar(select(Task).join(Case).where(Case.number == case.number, Task.element_id == "review"))
    assert entry.payload["skipped"] == [{"element": "review", "name": "审查"}]
    assert skipped.state == "completed" and skipped.completed_by_id is None and "跳过" in skipped.opinion


def test_nobody_fits_admin_sends_the_step_to_the_items_head(flow, seeded, clock):
    settings = {"department": "zrzy", "handler": "head", "nobody": "admin"}
    use(seeded, clock, with_settings(GENERAL, "review", settings))
    case = accepted(flow)
    flow.complete("fuzeren", {"review_result": "pass"}, number=case.number)


# ---------------------------------------------------------------- the linter and the version summary

@pytest.mark.parametrize("settings, reason", [
    ({"readonly": "nope"}, "只读字段 “nope” 不是流程中任何表单的字段"),
    ({"hidden": "acceptance", "readonly": "acceptance"}, "不能既只读又隐藏"),
    ({"operations": "approve,fly"}, "未知的操作 “fly”"),
    ({"handler": "boss"}, "未知的办理人规则 “boss”"),
    ({"handler": "field"}, "须用 handler_field 写明字段"),
    ({"handler": "head_chain", "chain_levels": "x"}, "chain_levels（逐级审批的级数） 应为整数，收到 “x”"),
    ({"handler": "head_chain", "chain_levels": "0"}, "应在 1 到 10 之间"),
    ({"nobody": "later"}, "无人可办时的处理 “later” 无效"),
    ({"at_limit": "remind", "remind_times": "many"}, "remind_times（提醒次数） 应为整数"),
])
def test_the_linter_locates_bad_settings(settings, reason):
    report = lint(with_settings(GENERAL, "review", settings), "general_approval.bpmn")
    problems = [p for p in report.problems if p.rule == "step_settings"]
    assert len(problems) == 1 and problems[0].element == "review" and problems[0].line
    assert reason in problems[0].reason and problems[0].severity == "error"


def test_the_version_summary_lists_setting_changes():
    old = parse_definition(GENERAL, "general_approval.bpmn")
    new = parse_definition(with_settings(GENERAL, "review", {"readonly": "acceptance", "operations": "approve,return",
                                                              "handler": "head", "nobody": "skip"}),
                           "general_approval.bpmn")
    changed = {c["id"]: c["changes"] for c in change_summary(old, new)["changed"]}
    assert changed["review"] == ["只读字段 改为 受理意见", "可用操作 改为 通过/同意、退回", "办理人 改为 本部门负责人",
                                 "无人可办时 改为 跳过并记录"]


def test_settings_survive_a_round_trip_of_the_properties():
    definition = parse_definition(with_settings(GENERAL, "review", {"operations": "approve, return"}), "x.bpmn")
    assert definition.user_tasks["review"].rules.operations == frozenset({"approve", "return"})
    assert parse_definition(GENERAL, "x.bpmn").user_tasks["review"].rules.operations is None


# ---------------------------------------------------------------- 5. at the step's time limit

def sweep_days(flow, clock, first: str, last: str) -> None:
    from datetime import date, timedelta

    from .test_time_limits import sweep_at

    day, end = date.fromisoformat(first), date.fromisoformat(last)
    while day <= end:
        sweep_at(flow, clock, f"{day.isoformat()}T08:00")
        day += timedelta(days=1)


def test_remind_the_handler_up_to_n_times_at_the_limit(flow, seeded, clock):
    from .test_time_limits import accept, fired, flow_task_id, inbox

    use(seeded, clock, with_settings(GENERAL, "review", {"at_limit": "remind", "remind_times": "3"}))
    case = flow.start()
    accept(flow, clock, "2026-03-02T10:00", case.number)
    sweep_days(flow, clock, "2026-03-03", "2026-03-20")
    step = f"step.{flow_task_id(seeded, case.number, 'review')}"
    from datetime import date
    assert [(d, k) for d, k in fired(seeded, case.number) if k.startswith(step) and "yellow." not in k] == [
        (date(2026, 3, 7), f"{step}/warning"), (date(2026, 3, 10), f"{step}/yellow"),
        (date(2026, 3, 11), f"{step}/remind.2"), (date(2026, 3, 12), f"{step}/remind.3")]
    reminders = [t for t in inbox(seeded, "shencha") if "次提醒" in t]
    assert [t[:16] for t in reminders] == ["【第 2 次提醒（共 3 次）】", "【第 3 次提醒（共 3 次）】"]
    assert "环节“审查”时限" in reminders[0]


@pytest.mark.parametrize("at_limit, decision", [("agree", "deemed_grant"), ("refuse", "deny")])
def test_agree_or_refuse_at_the_limit(flow, seeded, clock, at_limit, decision):
    from .test_time_limits import accept, at, case_of

    use(seeded, clock, with_settings(GENERAL, "decide", {"at_limit": at_limit}))
    case = flow.start()
    accept(flow, clock, "2026-03-02T10:00", case.number)
    clock.set(at("2026-03-03T10:00"))
    flow.complete("shencha", {"review_result": "pass"}, number=case.number)
    sweep_days(flow, clock, "2026-03-04", "2026-03-12")
    row = case_of(seeded, case.number)
    with seeded.reader() as session:
        step = session.scalar(select(Task).where(Task.case_id == row.id, Task.element_id == "decide", Task.kind == "bpmn"))
    assert step.state == "completed" and step.deemed
    assert step.form_data == {"decision": "grant" if at_limit == "agree" else "deny"}
    assert row.state == "concluded" and row.decision == decision


def test_refuse_at_the_limit_only_where_there_is_something_to_refuse():
    with pytest.raises(Exception, match="只能用于受理或决定环节"):
        parse_definition(with_settings(GENERAL, "review", {"limit_days": "2", "at_limit": "refuse"}), "x.bpmn")


# ---------------------------------------------------------------- when the opinion must be written

@pytest.mark.parametrize("value, reason", [
    ("review_result", "应为 always 或 字段=取值"),
    ("nope=x", "字段 “nope” 不是流程中任何表单的字段"),
])
def test_a_bad_opinion_rule_is_located(value, reason):
    xml = GENERAL.replace('<camunda:property name="opinion_required" value="review_result=fail" />',
                          f'<camunda:property name="opinion_required" value="{value}" />')
    problems = [p for p in lint(xml, "general_approval.bpmn").problems if p.rule == "step_settings"]
    assert len(problems) == 1 and problems[0].element == "review" and reason in problems[0].reason


def test_a_negative_review_needs_its_reason_and_always_means_always(flow, seeded, clock, engine):
    """The shipped review steps say opinion_required=review_result=fail: 不符合条件 needs its reason."""
    case = accepted(flow)
    with pytest.raises(BadInput, match="审查结论为“不符合条件”时须在审批意见中写明理由"):
        flow.complete("shencha", {"review_result": "fail"}, "  ", number=case.number)
    flow.complete("shencha", {"review_result": "fail"}, "经营场所与申请不符", number=case.number)
    definition = parse_definition(GENERAL, "x.bpmn")
    assert definition.user_tasks["review"].rules.describe({"review_result": "审查结论"})["须填写意见"] == \
        "审查结论为 fail 时"
    use(seeded, clock, with_settings(GENERAL, "accept_application", {"opinion_required": "always"}))
    other = flow.start()
    with pytest.raises(BadInput, match="^须在审批意见中写明理由"):
        flow.complete("chuangkou", {"acceptance": "accept"}, number=other.number)
    flow.complete("chuangkou", {"acceptance": "accept"}, "材料齐全", number=other.number)
