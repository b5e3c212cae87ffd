"""In headless Chromium: a designer sets 环节设置 on a step in the modeler — a field read only,
退回 no longer offered — and saves the draft; a clerk's task page on a version with such settings
shows the field read only, offers no 退回, and lists the people to choose for the next step by
name. Screenshots at 1366 and 1024 px and axe on each page."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.deploy import deploy
from engine.runtime.definitions import parse_definition
from engine.store.models import ProcessDraft

from .helpers import browser_login, browser_logout, look_at
from .test_browser import open_task
from .test_browser_modeler import csp_violations, wait_ready, watch_errors
from .test_step_settings import GENERAL, RESULT, with_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run").expect

SELECT_DECIDE = """() => {
  const m = window.approvalsModeler;
  m.get('selection').select(m.get('elementRegistry').get('decide'));
}"""


def test_a_designer_sets_a_field_read_only_and_removes_return_on_a_step(server, page, seeded):
    errors = watch_errors(page)
    browser_login(page, server, "sheji")
    with page.expect_navigation():  # it may reload the first page one is on: wait for it
        page.get_by_role("link", name="流程设计").click()
    page.get_by_role("link", name="打开食品经营许可的当前流程图").click()
    assert wait_ready(page) == "1", errors
    page.evaluate(SELECT_DECIDE)
    expect(page.locator("#el-name")).to_have_value("审批决定")
    steps = page.get_by_role("group", name="环节设置")
    expect(steps).to_be_visible()
    steps.get_by_label("字段“核查结论”在本环节的权限").select_option(label="只读")
    steps.get_by_label("字段“核查记录”在本环节的权限").select_option(label="隐藏")
    steps.get_by_label("退回").uncheck()
    steps.get_by_label("办理人", exact=True).select_option(label="逐级部门负责人（本部门起，逐级向上）")
    steps.get_by_label("逐级审批的级数（空：直到最上级）").fill("2")
    steps.get_by_label("无人可办时").select_option(label="转事项所属部门负责人")
    steps.get_by_label("环节时限（工作日；空：不单独设）").fill("3")
    steps.get_by_label("到达环节时限时").select_option(label="提醒办理人")
    steps.get_by_label("最多提醒次数").fill("2")
    steps.scroll_into_view_if_needed()
    look_at(page, "modeler-step-settings")
    page.get_by_role("button", name="应用").click()
    expect(page.locator("#modeler-status")).to_contain_text("已应用")
    # what was applied is shown again from the diagram
    expect(steps.get_by_label("字段“核查结论”在本环节的权限")).to_have_value("readonly")
    expect(steps.get_by_label("退回")).not_to_be_checked()
    page.get_by_role("button", name="校验").click()
    # a step limit other than the catalogue's is a warning (the catalogue rules at run time), no error
    expect(page.locator("#modeler-status")).to_contain_text("发现 0 个错误")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#modeler-status")).to_contain_text("待管理员部署")
    assert not errors, errors
    assert csp_violations(page) == []

    with seeded.reader() as session:
        draft = session.scalars(select(ProcessDraft).order_by(ProcessDraft.id.desc())).first()
        xml = draft.bpmn_xml
    rules = parse_definition(xml.encode(), "draft.bpmn").user_tasks["decide"].rules
    assert rules.readonly == {"inspection_result"} and rules.hidden == {"inspection_notes"}
    assert rules.operations == {"approve", "refuse", "transfer", "delegate", "cosign"}
    assert (rules.handler, rules.chain_levels, rules.nobody) == ("head_chain", 2, "admin")
    assert 'name="stage" value="decision"' in xml  # the step's other properties are kept
    assert 'name="limit_days" value="3"' in xml and 'name="at_limit" value="remind"' in xml


def test_a_clerks_task_page_honours_the_steps_settings(server, page, seeded, clock, flow):
    xml = with_settings(GENERAL, "accept_application", {"operations": "approve,transfer,delegate,cosign"})
    xml = with_settings(xml, "review", {"handler": "chosen"})
    xml = with_settings(xml, "decide", {"readonly": "review_result", "operations": "approve,refuse,delegate"}, RESULT)
    with seeded.transaction() as session:
        deploy(session, xml.encode(), "general_approval.bpmn", "GENERAL", deployed_by="admin", at=clock.now())
    case = flow.start()

    browser_login(page, server, "chuangkou")
    open_task(page, case.number)
    expect(page.locator("h1")).to_contain_text("受理")
    picker = page.get_by_label("“审查”的办理人")
    expect(picker.locator("option")).to_have_text(["（按角色分派，不指定）", "李审查", "卫审查"])
    page.locator("summary").filter(has_text="更多操作").click()
    expect(page.locator("details.more-ops summary")).not_to_contain_text("退回")
    look_at(page, "task-step-settings-accept")
    page.get_by_label("予以受理").check()
    picker.select_option(label="卫审查")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("main")).to_contain_text("已办理")

    browser_logout(page)
    browser_login(page, server, "shencha_b")
    open_task(page, case.number)
    expect(page.locator("h1")).to_contain_text("审查")
    page.get_by_label("符合条件", exact=True).check()
    page.get_by_role("button", name="提交").click()
    expect(page.locator("main")).to_contain_text("已办理")

    browser_logout(page)
    browser_login(page, server, "fuzeren")
    open_task(page, case.number)
    expect(page.locator("h1")).to_contain_text("决定")
    shown = page.locator(".readonly-field")
    expect(shown).to_contain_text("审查结论")
    expect(shown).to_contain_text("只读")
    expect(shown.locator("output")).to_have_text("符合条件")
    expect(page.locator("input[name=review_result]")).to_have_count(0)
    records = page.locator("section.earlier")
    expect(records).to_contain_text("卫审查")  # the person picked, by name
    expect(records).not_to_contain_text("shencha_b")
    page.locator("summary").filter(has_text="更多操作").click()
    expect(page.locator("details.more-ops summary")).to_have_text("更多操作（委派）")
    expect(page.locator("form.return")).to_have_count(0)
    look_at(page, "task-step-settings-decide")
    page.get_by_label("准予许可").check()
    page.get_by_role("button", name="提交").click()
    expect(page.locator("main")).to_contain_text("已办理")
