"""In headless Chromium: the administrator's 管理操作 panel on a case page (挂起 → the handler's task
page says who suspended it and why and offers nothing; 恢复; 回退; 跳过 with a form value; 更正数据;
作废) and the 运行管理 page (a failed timer retried and marked handled; an item's 暂停受理 and its
refusal at the window). A clerk's case page has no panel. Screenshots at 1366 and 1024 px and axe."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import Actor
from engine.commands import CompleteTask, StartCase
from engine.people import actor_for
from engine.read.queries import case_dict, get_case, ready_tasks
from engine.store.models import Case, Deadline

from .helpers import browser_login, browser_logout, look_at
from .test_time_limits import at

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run").expect


def complete(engine, db, username, number, data):
    with db.reader() as session:
        actor = actor_for(session, username)
        task = next(t for t in ready_tasks(session, actor) if t.case.number == number)
    engine.execute(CompleteTask(task=task.id, data=data, opinion="同意"), actor)


def tasks(db, number):
    with db.reader() as session:
        return [(t["element"], t["state"]) for t in case_dict(session, get_case(session, number))["tasks"]]


def panel_form(page, heading: str):
    return page.locator("section.admin-ops form", has=page.get_by_role("heading", name=heading))


def test_admin_suspends_resumes_moves_back_skips_corrects_and_voids_a_case(server, page, engine, seeded):
    start = lambda: engine.execute(StartCase(item="GENERAL", applicant="张三"), Actor.applicant("张三")).number
    number, other = start(), start()
    complete(engine, seeded, "chuangkou", number, {"acceptance": "accept"})

    browser_login(page, server, "shencha")  # a clerk who may read the case: no panel
    page.goto(f"{server}/cases/{number}")
    expect(page.get_by_role("heading", name="办理环节")).to_be_visible()
    expect(page.get_by_role("heading", name="管理操作")).to_have_count(0)
    browser_logout(page)

    browser_login(page, server, "admin")
    page.goto(f"{server}/cases/{number}")
    expect(page.get_by_role("heading", name="管理操作")).to_be_visible()
    look_at(page, "admin-ops-case")
    form = panel_form(page, "挂起办件")
    form.get_by_label("挂起理由").fill("申请人涉诉，待法院裁定")
    form.get_by_role("button", name="挂起").click()
    expect(page.locator(".flash")).to_contain_text("已挂起办件")
    expect(page.locator(".status-held")).to_contain_text("已由管理员 钱管理")
    expect(page.locator(".status-held")).to_contain_text("申请人涉诉，待法院裁定")
    expect(page.locator(".timeline")).to_contain_text("挂起办件")
    look_at(page, "admin-ops-held")
    browser_logout(page)

    browser_login(page, server, "shencha")  # the handler: the inbox marks it, the step says why, offers nothing
    expect(page.locator("table.inbox tbody tr", has_text=number)).to_contain_text("已挂起")
    with seeded.reader() as session:
        task_id = next(t.id for t in ready_tasks(session, actor_for(session, "shencha")) if t.case.number == number)
    page.goto(f"{server}/tasks/{task_id}")
    expect(page.locator(".why-held")).to_contain_text("钱管理")
    expect(page.locator(".why-held")).to_contain_text("申请人涉诉，待法院裁定")
    expect(page.get_by_role("button", name="提交")).to_have_count(0)
    expect(page.get_by_role("button", name="认领")).to_have_count(0)
    look_at(page, "admin-ops-task-held")
    browser_logout(page)

    browser_login(page, server, "admin")
    page.goto(f"{server}/cases/{number}")
    form = panel_form(page, "恢复办件")
    form.get_by_label("恢复理由").fill("法院已裁定")
    form.get_by_role("button", name="恢复").click()
    expect(page.locator(".flash")).to_contain_text("已恢复办件")
    expect(page.locator(".status-held")).to_have_count(0)

    form = panel_form(page, "回退到已办环节")
    form.get_by_label("回退到").select_option(label="受理")
    form.get_by_label("回退理由").fill("受理材料有误，重新受理")
    form.get_by_role("button", name="回退").click()
    expect(page.locator(".timeline")).to_contain_text("回退到“受理”（管理）")
    assert ("accept_application", "ready") in tasks(seeded, number)

    form = panel_form(page, "跳过卡住的环节")
    form.get_by_label("要跳过的环节").select_option(label="受理")
    form.get_by_label("后续需要的表单字段（可不填）").select_option(value="acceptance")
    form.get_by_label("值", exact=True).fill("accept")
    form.get_by_label("跳过理由").fill("窗口人员离岗，系统无法转办")
    form.get_by_role("button", name="跳过").click()
    expect(page.locator(".timeline")).to_contain_text("跳过环节（管理）")
    assert tasks(seeded, number)[-1] == ("review", "ready")

    form = panel_form(page, "更正办件数据")
    form.get_by_label("流程表单字段").select_option(value="review_result")
    form.get_by_label("新值").fill("pass")
    form.get_by_label("更正理由").fill("口头确认已审查通过")
    form.get_by_role("button", name="更正").click()
    expect(page.locator(".timeline")).to_contain_text("审查结论：（空） → pass")

    page.goto(f"{server}/cases/{other}")
    form = panel_form(page, "终止或作废")
    form.get_by_label("作废").check()
    form.get_by_label("理由").fill("重复登记")
    form.get_by_role("button", name="确认").click()
    expect(page.locator(".status-ended")).to_contain_text("本办件已作废：管理员 钱管理")
    expect(page.locator("p.meta").first).to_contain_text("状态 已作废")
    expect(page.get_by_role("heading", name="管理操作")).to_be_visible()
    look_at(page, "admin-ops-voided")
    assert tasks(seeded, other) == [("accept_application", "cancelled")]


def test_admin_retries_a_failed_timer_marks_another_handled_and_suspends_an_item(server, page, engine, seeded):
    start = lambda: engine.execute(StartCase(item="GENERAL", applicant="张三"), Actor.applicant("张三")).number
    first, second = start(), start()
    with seeded.transaction() as session:
        for row in session.scalars(select(Deadline).join(Case).where(Deadline.key == "acceptance/warning")):
            row.kind, row.detail = "escalate", {}  # lost its detail: the sweep cannot fire it
    engine.clock.set(at("2026-03-07T08:00"))
    from timers.sweep import sweep
    assert len(sweep(engine).failed) == 2

    browser_login(page, server, "admin")
    page.get_by_role("link", name="运行管理").click()
    rows = page.locator("table.incidents tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("重试中，已试 1 次")
    expect(rows.first).to_contain_text("KeyError")
    look_at(page, "admin-incidents")

    rows.first.get_by_label("重试说明").fill("再试一次")
    rows.first.get_by_role("button", name="重试").click()
    expect(page.locator("main, body").first).to_contain_text("重试仍然失败")
    with seeded.transaction() as session:  # repaired: a warning again
        session.scalar(select(Deadline).join(Case).where(Case.number == first, Deadline.key == "acceptance/warning")).kind = "warning"
    page.goto(f"{server}/admin/incidents")
    row = page.locator("table.incidents tbody tr", has_text=first)
    row.get_by_label("重试说明").fill("已修复期限数据")
    row.get_by_role("button", name="重试").click()
    expect(page.locator(".flash")).to_contain_text("已重试")
    row = page.locator("table.incidents tbody tr", has_text=second)
    row.get_by_label("重试说明").fill("已人工通知窗口")
    row.get_by_role("button", name="标记已处理").click()
    expect(page.get_by_text("没有故障事件")).to_be_visible()

    row = page.locator("table.items-hold tbody tr", has_text="GENERAL")
    row.get_by_label("暂停受理理由（通用审批（演示））").fill("事项依据修订")
    row.get_by_role("button", name="暂停受理").click()
    expect(page.locator(".flash").first).to_contain_text("已暂停受理；挂起办件 2 件")
    row = page.locator("table.items-hold tbody tr", has_text="GENERAL")
    expect(row).to_contain_text("暂停受理")
    expect(row).to_contain_text("钱管理")
    look_at(page, "admin-items-hold")
    page.goto(f"{server}/cases/{first}")
    expect(page.locator(".status-held")).to_contain_text("随事项暂停受理")
    browser_logout(page)

    browser_login(page, server, "chuangkou")  # the window: the item offers no registration
    page.get_by_role("link", name="受理登记").click()
    row = page.locator("table.items tbody tr", has_text="GENERAL")
    expect(row).to_contain_text("暂停受理：事项依据修订")
    expect(row.get_by_role("link", name="登记")).to_have_count(0)
    look_at(page, "admin-items-hold-window")
    browser_logout(page)
    browser_login(page, server, "admin")

    page.goto(f"{server}/admin/incidents")
    row = page.locator("table.items-hold tbody tr", has_text="GENERAL")
    row.get_by_label("恢复受理理由（通用审批（演示））").fill("修订完毕")
    row.get_by_role("button", name="恢复受理").click()
    expect(page.locator(".flash").first).to_contain_text("已恢复受理；恢复办件 2 件")


def test_admin_reassigns_a_claimed_step_to_a_colleague_without_deactivating_anyone(server, page, engine, seeded):
    """改派 on its own: the step leaves 李审查's hands for 卫审查's, with a reason in the history."""
    from engine.commands import ClaimTask
    number = engine.execute(StartCase(item="GENERAL", applicant="张三"), Actor.applicant("张三")).number
    complete(engine, seeded, "chuangkou", number, {"acceptance": "accept"})
    with seeded.reader() as session:
        shencha = actor_for(session, "shencha")
        task = next(t for t in ready_tasks(session, shencha) if t.case.number == number)
    engine.execute(ClaimTask(task=task.id), shencha)
    browser_login(page, server, "admin")
    page.goto(f"{server}/cases/{number}")
    form = panel_form(page, "改派“审查”（现由 李审查 办理）")
    form.get_by_label("改派给").select_option(label="卫审查")
    form.get_by_label("改派理由").fill("李审查休假")
    look_at(page, "admin-ops-reassign")
    form.get_by_role("button", name="改派").click()
    expect(page.locator(".flash")).to_contain_text("已改派给 卫审查")
    expect(page.locator(".timeline")).to_contain_text("李审查休假")
    with seeded.reader() as session:
        row = next(t for t in case_dict(session, get_case(session, number))["tasks"] if t["element"] == "review")
    assert row["assignee"] == "shencha_b"
