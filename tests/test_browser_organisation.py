"""In headless Chromium: the administrator adds a township under the county, renames it, is told
why the county cannot be deactivated, adds a user (a one-time password shown once), deactivates a
reviewer reassigning the task in their hands, resets a colleague's password, and that colleague
logs in with it and must choose their own first; a head sets AB岗 for their staff at /team.
Screenshots at 1366 and 1024 px and axe on every page."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine import Actor
from engine.commands import ClaimTask, CompleteTask, StartCase
from engine.people import actor_for
from engine.read.queries import ready_tasks
from engine.store.models import AdministrationAct, HistoryEntry, Task, User

from .helpers import browser_login, browser_logout, look_at

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run").expect


def a_claimed_review(engine, db) -> str:
    """A case accepted at the window, its 审查 claimed by 李审查 (shencha)."""
    number = engine.execute(StartCase(item="GENERAL", applicant="张三"), Actor.applicant("张三")).number
    with db.reader() as session:
        window = actor_for(session, "chuangkou")
        task = next(t for t in ready_tasks(session, window) if t.case.number == number)
    engine.execute(CompleteTask(task=task.id, data={"acceptance": "accept"}), window)
    with db.reader() as session:
        reviewer = actor_for(session, "shencha")
        task = next(t for t in ready_tasks(session, reviewer) if t.case.number == number)
    engine.execute(ClaimTask(task=task.id), reviewer)
    return number


def test_admin_manages_departments_and_users_and_a_reset_user_chooses_a_password(server, page, engine, seeded):
    number = a_claimed_review(engine, seeded)
    browser_login(page, server, "admin")
    page.get_by_role("link", name="组织机构").click()
    expect(page.locator("h1")).to_contain_text("组织机构")
    look_at(page, "org-departments")

    # a township under the county
    add = page.locator("form", has=page.get_by_role("heading", name="新增部门"))
    add.get_by_label("上级部门").select_option("county")
    add.get_by_label("部门名称").fill("某乡人民政府")
    add.get_by_label("部门代码").fill("xiang")
    add.get_by_label("层级").select_option("township")
    add.get_by_role("button", name="新增部门").click()
    expect(page.locator(".flash")).to_contain_text("已新增部门“某乡人民政府”")
    row = page.get_by_role("row", name=re.compile("某乡人民政府"))
    expect(row).to_contain_text("乡镇（街道）")
    add = page.locator("form", has=page.get_by_role("heading", name="新增部门"))
    add.get_by_label("部门名称").fill("某乡人民政府")
    add.get_by_label("部门代码").fill("xiang")
    add.get_by_role("button", name="新增部门").click()
    expect(page.get_by_role("alert")).to_contain_text("部门代码 xiang 已存在")
    expect(add.get_by_label("部门名称")).to_have_value("某乡人民政府")  # what was typed stays
    look_at(page, "org-departments-refused")

    page.get_by_role("link", name="某乡人民政府").click()
    rename = page.locator("form", has=page.get_by_role("heading", name="更名"))
    rename.get_by_label("部门名称").fill("某乡人民政府（便民服务中心）")
    rename.get_by_role("button", name="保存名称").click()
    expect(page.locator(".flash")).to_contain_text("已更名")
    expect(page.locator("h1")).to_contain_text("某乡人民政府（便民服务中心）")
    expect(page.locator(".meta").first).to_contain_text("某市人民政府 → 某县人民政府 → 某乡人民政府（便民服务中心）")
    look_at(page, "org-department")
    page.get_by_role("link", name="部门", exact=True).click()
    page.get_by_role("link", name="某县人民政府").click()
    page.get_by_role("button", name="停用该部门").click()
    expect(page.get_by_role("alert")).to_contain_text("不能停用")
    expect(page.get_by_role("alert")).to_contain_text("下级部门")

    # a user in the new township, with a one-time password
    page.get_by_role("link", name="人员", exact=True).click()
    look_at(page, "org-users")
    add = page.locator("form", has=page.get_by_role("heading", name="新增人员"))
    add.get_by_label("姓名").fill("乡窗口")
    add.get_by_label("登录名").fill("xiang_ck")
    add.get_by_label("部门").select_option("xiang")
    add.get_by_label("窗口受理员").check()
    add.get_by_role("button", name="新增人员").click()
    expect(page.locator("h1")).to_contain_text("乡窗口")
    temporary = page.get_by_label("临时密码", exact=True).inner_text().strip()
    assert len(temporary) == 12
    look_at(page, "org-user-created")
    page.get_by_role("link", name="人员", exact=True).click()
    search = page.get_by_role("search", name="查找人员")
    search.get_by_label("姓名或登录名").fill("审查")
    search.get_by_label("部门").select_option("scjg")
    search.get_by_role("button", name="查找").click()
    expect(page.get_by_role("row")).to_have_count(3)  # the header, 李审查 and 卫审查

    # 李审查 leaves: the review in their hands goes to 卫审查, in the case's history
    page.get_by_role("link", name="李审查").click()
    leave = page.locator("form", has=page.get_by_role("heading", name="停用人员"))
    expect(leave.get_by_role("row", name=re.compile(number))).to_contain_text("审查")
    leave.get_by_role("button", name="改派并停用").click()
    expect(page.get_by_role("alert")).to_contain_text("请为每件待办选择改派对象")
    leave = page.locator("form", has=page.get_by_role("heading", name="停用人员"))
    leave.get_by_label(f"{number} 审查 改派给").select_option(label="卫审查")
    leave.get_by_label("停用原因").fill("调离")
    look_at(page, "org-user-deactivate")
    leave.get_by_role("button", name="改派并停用").click()
    expect(page.locator(".flash")).to_contain_text("1 件待办已改派")
    expect(page.locator("h1")).to_contain_text("已停用")
    with seeded.reader() as session:
        task = session.scalar(select(Task).where(Task.state == "ready", Task.element_id == "review"))
        assert task.assignee.username == "shencha_b"
        entry = session.scalar(select(HistoryEntry).where(HistoryEntry.command == "reassign_task"))
        assert entry.actor == "admin" and entry.inputs["to"] == "shencha_b"
        assert [a.command for a in session.scalars(select(AdministrationAct).order_by(AdministrationAct.id))] == [
            "add_department", "rename_department", "add_user", "deactivate_user"]

    # 卫审查's password is reset; they log in with it and must choose their own
    page.goto(f"{server}/admin/org/users/shencha_b")
    page.get_by_role("button", name="重置密码").click()  # not yet: it asks first
    expect(page.get_by_label("确认让 卫审查 的现有密码失效")).to_have_js_property("validity.valueMissing", True)
    page.get_by_label("确认让 卫审查 的现有密码失效").check()
    page.get_by_role("button", name="重置密码").click()
    reset = page.get_by_label("临时密码", exact=True).inner_text().strip()
    look_at(page, "org-user-reset")
    browser_logout(page)
    page.fill("input[name=username]", "shencha_b")
    page.fill("input[name=password]", reset)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("设置新密码")
    page.goto(f"{server}/cases/search")  # every page leads here until it is done
    expect(page.locator("h1")).to_have_text("设置新密码")
    page.get_by_label("临时密码").fill(reset)
    page.get_by_label("新密码（至少 8 个字符）").fill("short")
    page.get_by_label("再次输入新密码").fill("short")
    page.locator("main form").evaluate("f => f.noValidate = true")  # the server says why, too
    page.get_by_role("button", name="设置新密码").click()
    expect(page.get_by_role("alert")).to_contain_text("至少 8 个字符")
    look_at(page, "org-password-new")
    page.get_by_label("临时密码").fill(reset)
    page.get_by_label("新密码（至少 8 个字符）").fill("wei-shencha-2026")
    page.get_by_label("再次输入新密码").fill("wei-shencha-2026")
    page.get_by_role("button", name="设置新密码").click()
    expect(page.locator(".flash")).to_contain_text("新密码已设置")
    expect(page.get_by_role("link", name=number)).to_be_visible()  # the reassigned review is in their inbox
    with seeded.reader() as session:
        assert not session.scalar(select(User.must_change_password).where(User.username == "shencha_b"))


def test_a_head_sets_ab_posts_for_their_staff(server, page, engine, seeded):
    browser_login(page, server, "fuzeren")
    page.get_by_role("link", name="AB岗").click()
    expect(page.locator("h1")).to_contain_text("市市场监督管理局")
    look_at(page, "team")
    page.get_by_label("李审查 的 B 岗").select_option(label="卫审查")
    page.get_by_label("李审查 离岗").check()
    page.get_by_role("button", name="保存 李审查 的 AB 岗").click()
    expect(page.locator(".flash")).to_contain_text("已保存 AB 岗设置")
    expect(page.get_by_label("李审查 的 B 岗")).to_have_value("shencha_b")
    expect(page.get_by_label("李审查 离岗")).to_be_checked()
    page.get_by_label("王窗口 离岗").check()
    page.get_by_role("button", name="保存 王窗口 的 AB 岗").click()
    expect(page.get_by_role("alert")).to_contain_text("王窗口 还没有指定 B 岗，不能设为离岗")
    look_at(page, "team-refused")
    with seeded.reader() as session:
        shencha = session.scalar(select(User).where(User.username == "shencha"))
        assert shencha.away and shencha.backup_id is not None
        act = session.scalar(select(AdministrationAct).where(AdministrationAct.command == "set_backup"))
        assert act.actor == "fuzeren" and act.inputs == {"username": "shencha", "backup": "shencha_b", "away": True}
    page.goto(f"{server}/admin/org/")
    expect(page.locator("body")).to_contain_text("只有管理员")


def test_the_backup_sees_whose_step_they_work_on(server, page, engine, seeded):
    """AB岗: 李审查 is away with 卫审查 as backup; the review 李审查 had claimed shows in 卫审查's
    inbox marked 代 李审查, and its page says so before anything is done."""
    number = a_claimed_review(engine, seeded)
    browser_login(page, server, "fuzeren")
    page.get_by_role("link", name="AB岗").click()
    page.get_by_label("李审查 的 B 岗").select_option(label="卫审查")
    page.get_by_label("李审查 离岗").check()
    page.get_by_role("button", name="保存 李审查 的 AB 岗").click()
    expect(page.locator(".flash")).to_contain_text("已保存 AB 岗设置")
    browser_logout(page)
    browser_login(page, server, "shencha_b")
    row = page.locator("tr", has=page.get_by_role("link", name=number))
    expect(row).to_contain_text("代 李审查")
    row.get_by_role("link", name="审查").click()
    expect(page.get_by_role("note").filter(has_text="代 李审查 办理")).to_contain_text("李审查 离岗，您是其 B 岗")
    look_at(page, "task-backup")
    page.get_by_label("符合条件", exact=True).check()
    page.get_by_label("审批意见").fill("材料齐全，代为审查")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash")).to_be_visible()
    page.goto(f"{server}/cases/{number}")
    expect(page.locator("body")).to_contain_text("卫审查（代 李审查 办理）")
    with seeded.reader() as session:
        entry = session.scalars(select(HistoryEntry).where(HistoryEntry.command == "complete_task")
                                .order_by(HistoryEntry.id.desc())).first()
        assert entry.actor == "shencha_b" and entry.payload["on_behalf_of"] == "shencha"
