"""In headless Chromium, issue 14's story from drawing to running: a designer opens 食品经营许可 in
the modeler, adds a step with a role and a form field, breaks a gateway's condition and sees the
problem marked on the flow and at the condition field, fixes it and saves; an administrator sees
the draft's change summary, runs the migration dry run against the draft before deploying (it
changes nothing), deploys, and a new case follows the new step while a running case stays on its
version. Also: a timer's ISO 8601 definition edited in the side form, with its reading and the
problem at the field. Screenshots at 1366 and 1024 px (test-artifacts/) and axe on each page."""
from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import func, select

from engine.read.queries import case_dict, case_history, get_case
from engine.runtime.definitions import parse_definition
from engine.store.models import ProcessDraft, ProcessVersion

from .helpers import browser_login, browser_logout, look_at
from .test_browser_modeler import ADD_TASK, CONNECT_TASK, csp_violations, wait_ready, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run").expect

FOOD = "SCJG-SPJY"
SELECT = "id => { const m = window.approvalsModeler; m.get('selection').select(m.get('elementRegistry').get(id)); }"
ADD_TIMER = """() => {
  const m = window.approvalsModeler;
  const registry = m.get('elementRegistry'), modeling = m.get('modeling'), factory = m.get('elementFactory');
  const decide = registry.get('decide'), flow = registry.get('f_skip_inspection');
  const shape = factory.createShape({type: 'bpmn:IntermediateCatchEvent', eventDefinitionType: 'bpmn:TimerEventDefinition'});
  const timer = modeling.createShape(shape, {x: decide.x - 40, y: decide.y + decide.height + 60}, decide.parent);
  modeling.updateProperties(timer, {id: 'wait_before_decision', name: '公示期'});
  modeling.reconnectEnd(flow, timer, {x: timer.x, y: timer.y + timer.height / 2});
  modeling.connect(timer, decide);
  return timer.id;
}"""


def open_food_in_modeler(page, server):
    with page.expect_navigation():  # it may reload the first page one is on: wait for it
        page.get_by_role("link", name="流程设计").click()
    page.get_by_role("link", name="打开食品经营许可的当前流程图").click()
    assert wait_ready(page) == "1"


def version_of(db, number):
    with db.reader() as session:
        return case_dict(session, get_case(session, number))["process"]["version"]


def test_a_designed_step_is_checked_saved_dry_run_against_the_draft_deployed_and_followed(server, page, flow, seeded):
    errors = watch_errors(page)
    running = flow.start(item=FOOD, applicant="某餐饮管理有限公司").number  # waiting at 受理 on version 1

    # ---- the designer
    browser_login(page, server, "sheji")
    open_food_in_modeler(page, server)
    assert page.evaluate(ADD_TASK) == "archive_review"
    page.evaluate(CONNECT_TASK)
    page.evaluate(SELECT, "archive_review")
    expect(page.locator("#el-name")).to_have_value("归档复核")
    page.select_option("#el-role", label="审查员")
    page.get_by_role("button", name="添加字段").click()
    page.get_by_label("第 1 个字段的字段名（英文）").fill("archive_note")
    page.get_by_label("第 1 个字段的标签").fill("归档意见")
    page.get_by_role("button", name="应用").click()
    expect(page.locator("#modeler-status")).to_contain_text("已应用")

    # a gateway's outgoing flow: its condition, the fields it may use, the default-path choice
    page.evaluate(SELECT, "f_granted")
    condition = page.get_by_label("条件", exact=True)
    expect(condition).to_have_value('decision == "grant"')
    expect(page.locator("#el-gateway-note")).to_contain_text("是否准予")
    expect(page.locator("#el-condition-fields")).to_contain_text('decision（审批决定）："grant"（准予许可）')
    expect(page.get_by_label("设为默认路径")).not_to_be_checked()
    expect(page.locator("#el-task-fields")).to_be_hidden()
    condition.fill('decision = "grant"')  # one "=": does not parse
    page.get_by_role("button", name="应用").click()
    field_problem = page.locator("#el-condition-problem")
    expect(field_problem).to_be_visible()
    expect(field_problem).to_contain_text("条件表达式")
    expect(field_problem).to_contain_text("怎么改：条件只能引用表单字段并作简单比较")
    expect(condition).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#modeler-status")).to_contain_text("1 个错误")
    expect(page.locator(".djs-element.lint-error[data-element-id=f_granted]")).to_have_count(1)
    expect(page.locator("#problems li[data-element=f_granted][data-rule=expression]")).to_have_count(1)
    look_at(page, "story-condition-problem")

    condition.fill('decision == "grant"')
    page.get_by_role("button", name="应用").click()
    expect(page.locator("#modeler-status")).to_contain_text("校验通过")
    expect(field_problem).to_be_hidden()
    expect(page.locator(".djs-element.lint-error")).to_have_count(0)
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#modeler-status")).to_contain_text("待管理员部署")
    look_at(page, "story-saved")
    assert not errors, errors
    assert csp_violations(page) == []
    browser_logout(page)

    # ---- the administrator: what the draft changes, the dry run against it, deploy
    browser_login(page, server, "admin")
    with page.expect_navigation():  # it may reload the first page one is on: wait for it
        page.get_by_role("link", name="流程版本").click()
    page.get_by_role("link", name="食品经营许可").first.click()
    expect(page.locator("h1")).to_contain_text("新办件使用第 1 版")
    draft = page.locator("section", has=page.get_by_role("heading", name="待管理员部署"))
    expect(draft).to_contain_text("严设计")
    expect(draft).to_contain_text("新增 归档复核（审查员）")
    draft.get_by_text("草稿的流程图").click()
    expect(draft.locator("figure.diagram svg")).to_contain_text("归档复核")
    look_at(page, "story-draft")
    with seeded.reader() as session:
        histories = len(case_history(session, get_case(session, running)))

    draft.get_by_role("button", name="部署前试运行").click()
    dry = page.get_by_role("region", name="迁移试运行")
    expect(draft.get_by_role("region", name="迁移试运行")).to_have_count(1)  # inside the draft's card, above 部署
    expect(dry.get_by_role("heading")).to_contain_text("（未部署）")
    expect(dry.get_by_role("row", name=running)).to_contain_text("受理")
    expect(dry.get_by_role("row", name=running)).to_contain_text("可迁移")
    expect(dry.get_by_role("row", name=running)).to_contain_text("重做")
    expect(dry).to_contain_text("试运行未作任何改动")
    expect(dry.get_by_role("button", name="迁移可迁移的")).to_have_count(0)  # a draft is not a version yet
    look_at(page, "story-dry-run-draft")
    with seeded.reader() as session:  # nothing written: still one version, the case untouched
        assert session.scalar(select(func.count()).select_from(ProcessVersion)
                              .where(ProcessVersion.item.has(code=FOOD))) == 1
        assert len(case_history(session, get_case(session, running))) == histories

    draft = page.locator("section", has=page.get_by_role("heading", name="待管理员部署"))
    draft.get_by_label("部署说明").fill("发证后增加归档复核")
    draft.get_by_role("button", name="部署此草稿").click()
    expect(page.locator(".flash")).to_contain_text("已部署第 2 版")
    expect(page.locator("h1")).to_contain_text("新办件使用第 2 版")
    v2 = page.locator("section", has=page.get_by_role("heading", name="第 2 版"))
    expect(v2).to_contain_text("新增 归档复核（审查员）")
    look_at(page, "story-deployed")

    # ---- a new case follows the new step; the running case stays on version 1
    new = flow.start(item=FOOD, applicant="某餐饮管理有限公司").number
    for number in (new, running):
        flow.complete("chuangkou", {"acceptance": "accept"}, "受理", number=number)
        flow.complete("shencha", {"review_result": "pass", "needs_inspection": False}, "无需核查", number=number)
        flow.complete("fuzeren", {"decision": "grant"}, "同意", number=number)
        flow.complete("chuangkou", {"certificate_no": f"JY-{number[-5:]}"}, "已发证", number=number)
    assert version_of(seeded, new) == 2 and version_of(seeded, running) == 1
    with seeded.reader() as session:
        new_tasks = [(t["element"], t["state"]) for t in case_dict(session, get_case(session, new))["tasks"]]
        old = get_case(session, running)
        assert old.state == "concluded" and "archive_review" not in {t["element"] for t in case_dict(session, old)["tasks"]}
    assert new_tasks[-1] == ("archive_review", "ready")
    flow.complete("shencha", {"archive_note": "已归档"}, number=new)
    with seeded.reader() as session:
        assert get_case(session, new).state == "concluded"


def test_a_timer_is_defined_in_iso_8601_with_its_reading_and_the_problem_at_the_field(server, page, seeded):
    errors = watch_errors(page)
    browser_login(page, server, "sheji")
    open_food_in_modeler(page, server)
    assert page.evaluate(ADD_TIMER) == "wait_before_decision"
    page.evaluate(SELECT, "wait_before_decision")
    expect(page.locator("#el-timer-fields")).to_be_visible()
    expect(page.locator("#el-flow-fields")).to_be_hidden()
    expect(page.locator("#element-kind")).to_have_text("类型：计时器（等待），id：wait_before_decision")
    expect(page.locator("#el-timer-hint")).to_contain_text("P5D = 5 天")
    value = page.get_by_label("计时定义（ISO 8601）")

    value.fill("P5X")
    page.get_by_role("button", name="应用").click()
    field_problem = page.locator("#el-timer-problem")
    expect(field_problem).to_contain_text("不是有效的 ISO 8601 写法")
    # the same advice at the field and in the list: this form quotes the text itself
    listed = page.locator("#problems li[data-element=wait_before_decision][data-rule=timer] .fix")
    expect(listed).to_contain_text("不必加引号")
    advice = listed.inner_text().removeprefix("怎么改：")
    expect(field_problem).to_contain_text(advice)
    expect(value).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".djs-element.lint-error[data-element-id=wait_before_decision]")).to_have_count(1)
    look_at(page, "modeler-timer-problem")

    page.get_by_label("计时方式").select_option(label="周期：每隔一段时间，可重复")
    value.fill("R3/PT1H")
    expect(page.locator("#el-timer-reading")).to_have_text("R3/PT1H = 每 1 小时 一次，共 3 次")
    page.get_by_label("计时方式").select_option(label="时长：等待一段时间")
    value.fill("P1DT12H")
    expect(page.locator("#el-timer-reading")).to_have_text("P1DT12H = 1 天 12 小时")
    value.fill("P5D")
    expect(page.locator("#el-timer-reading")).to_have_text("P5D = 5 天")
    value.fill("p5d")  # stored as P5D
    page.get_by_role("button", name="应用").click()
    expect(page.locator("#modeler-status")).to_contain_text("校验通过")
    expect(field_problem).to_be_hidden()
    page.evaluate(SELECT, "decide")  # away and back: the definition reads as written
    page.evaluate(SELECT, "wait_before_decision")
    expect(value).to_have_value("P5D")
    expect(page.get_by_label("计时方式")).to_have_value("timeDuration")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#modeler-status")).to_contain_text("待管理员部署")
    look_at(page, "modeler-timer")
    assert not errors, errors

    with seeded.reader() as session:
        xml = session.scalars(select(ProcessDraft.bpmn_xml).order_by(ProcessDraft.id.desc())).first()
    assert '>"P5D"</bpmn:timeDuration>' in xml
    spec = parse_definition(xml.encode(), "draft.bpmn").spec.task_specs["wait_before_decision"]
    assert spec.event_definition.expression == '"P5D"'


def test_the_default_path_of_a_gateway_is_chosen_in_the_side_form(server, page, seeded):
    browser_login(page, server, "sheji")
    open_food_in_modeler(page, server)
    page.evaluate(SELECT, "f_denied")
    page.get_by_label("条件", exact=True).fill("")  # neither a condition nor the default: refused
    page.get_by_role("button", name="应用").click()
    expect(page.locator("#el-condition-problem")).to_contain_text("既没有条件，也不是默认路径")
    expect(page.locator("#el-condition-problem")).to_contain_text("勾选“设为默认路径”")
    page.get_by_label("设为默认路径").check()
    expect(page.get_by_label("条件", exact=True)).to_be_disabled()
    page.get_by_role("button", name="应用").click()
    expect(page.locator("#modeler-status")).to_contain_text("校验通过")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#modeler-status")).to_contain_text("待管理员部署")
    with seeded.reader() as session:
        xml = session.scalars(select(ProcessDraft.bpmn_xml).order_by(ProcessDraft.id.desc())).first()
    root = etree.fromstring(xml.encode())
    assert root.xpath("//*[@id='gw_granted']/@default") == ["f_denied"]
    assert root.xpath("//*[@id='f_denied']/*[local-name()='conditionExpression']") == []  # a default needs none
