"""In headless Chromium (Debian's, driven by Playwright): a 食品经营许可 case from the window,
through a one-time notice, to the 负责人's decision. Every page on the way is photographed at
1366 and 1024 px into test-artifacts/ and checked with axe-core (serious and critical
violations fail the test)."""
from __future__ import annotations

import re

import pytest

from engine import Actor
from engine.commands import StartCase

from .helpers import browser_login, browser_logout, look_at

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run").expect


def open_task(page, number: str) -> None:
    page.fill("input[name=q]", number)
    page.click("text=搜索")
    page.locator("table.inbox tbody tr").first.locator("td").nth(3).locator("a").click()
    page.wait_for_url("**/tasks/*")


def test_a_food_business_licence_from_the_window_to_the_decision(server, page, engine):
    case = engine.execute(StartCase(item="SCJG-SPJY", applicant="某餐饮管理有限公司"), Actor.applicant("某餐饮管理有限公司"))
    number = case.number

    page.goto(f"{server}/login")
    look_at(page, "login")
    browser_login(page, server, "chuangkou")
    expect(page.locator("table.inbox")).to_contain_text(number)
    look_at(page, "inbox")
    open_task(page, number)
    look_at(page, "task-acceptance")
    # The materials checklist: each row keeps its own answer (rows once shared radio names).
    checklist = page.locator("form.materials")
    for row, status in enumerate(["received", "received", "missing", "deferred", "received"]):
        checklist.locator(f"input[name=m{row}][value={status}]").check()
    checklist.get_by_role("button", name="保存核对结果").click()
    expect(page.locator("main")).to_contain_text("已保存材料核对结果")
    page.goto(f"{server}/")
    open_task(page, number)
    for row, status in enumerate(["received", "received", "missing", "deferred", "received"]):
        expect(page.locator(f"form.materials input[name=m{row}][value={status}]")).to_be_checked()
    expect(page.locator("form.materials")).to_contain_text("容缺，")
    # a required material marked 缺 cannot be accepted: the notice would say 申请材料齐全
    page.check("input[name=acceptance][value=accept]")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("必需材料不齐")
    expect(page.locator("h1")).to_contain_text("受理")
    page.click("summary:has-text('更多操作')")  # the one-time notice is folded with the other operations
    # the notice starts from the materials marked 缺; the clerk adds what the checklist has no row for
    notice = page.locator("textarea[name=materials]")
    expect(notice).to_have_value("与食品经营相适应的主要设备设施、经营布局、操作流程等文件")
    notice.fill(notice.input_value() + "\n设备布局图（盖章）")
    page.click("text=发出告知")
    expect(page.locator("main")).to_contain_text("已发出一次性告知")
    expect(page.locator("h1")).to_contain_text("受理")  # still at the step, the notice out
    task_url = page.url
    page.goto(f"{server}/cases/{number}")
    expect(page.locator("main")).to_contain_text("2. 设备布局图（盖章）")
    page.goto(task_url)
    page.get_by_role("button", name="登记收到").click()
    expect(page.locator("main")).to_contain_text("已登记收到补正材料")
    page.goto(f"{server}/")
    open_task(page, number)
    page.check("input[name=acceptance][value=accept]")
    page.fill("textarea[name=opinion]", "补正后材料齐全，予以受理")
    page.click("form.card >> text=提交")
    expect(page.locator("main")).to_contain_text("已办理")
    # the notice the acceptance issued is one click away, to print and hand over
    page.get_by_role("link", name=re.compile("^打印受理通知书 ")).click()
    expect(page.locator("article.document")).to_contain_text("受理通知书")
    page.go_back()
    page.goto(f"{server}/?tab=done")
    expect(page.get_by_role("button", name="拿回")).to_be_visible()
    look_at(page, "inbox-done")
    browser_logout(page)

    browser_login(page, server, "shencha")
    open_task(page, number)
    look_at(page, "task-review")
    page.check("input[name=review_result][value=pass]")
    page.check("input[name=needs_inspection]")  # the reviewer asks for 现场核查; unticked goes to the decision
    page.click("form.card >> text=提交")
    browser_logout(page)

    browser_login(page, server, "fuzeren")  # the head presses the inspection
    page.goto(f"{server}/cases/{number}")
    look_at(page, "case-running")
    page.get_by_role("button", name="催办").click()
    expect(page.locator("main")).to_contain_text("已催办")
    copy = page.locator("form.copy")  # 抄送: people ticked by name, grouped by department, not logins
    copy.locator(".people-group", has_text="民政局").get_by_label("吴负责").check()
    copy.get_by_label("孙监察").check()
    page.fill("form.copy input[name=note]", "涉及民政事项，请知悉")
    page.locator("form.copy").get_by_role("button", name="抄送").click()
    expect(page.locator(".flash")).to_contain_text("已抄送给 ")  # by name, in the list's order
    for name in ("吴负责", "孙监察"):
        expect(page.locator(".flash")).to_contain_text(name)
        expect(page.locator("ol.timeline li", has_text="抄送")).to_contain_text(name)
    expect(page.locator("ol.timeline li", has_text="抄送")).to_contain_text("说明：涉及民政事项，请知悉")
    browser_logout(page)

    browser_login(page, server, "shencha")
    page.goto(f"{server}/messages/")
    assert "【催办】" in page.content()
    look_at(page, "messages")
    page.get_by_role("button", name="全部标为已读").click()
    expect(page.get_by_role("button", name="已读")).to_have_count(0)
    page.goto(f"{server}/me/")
    look_at(page, "profile")
    page.goto(f"{server}/")
    open_task(page, number)
    page.check("input[name=inspection_result][value=conform]")
    page.fill("textarea[name=inspection_notes]", "场所与材料一致")
    page.click("form.card >> text=提交")
    browser_logout(page)

    browser_login(page, server, "fuzeren")
    open_task(page, number)
    look_at(page, "task-decision")
    page.check("input[name=decision][value=grant]")
    page.fill("textarea[name=opinion]", "同意")
    page.click("form.card >> text=提交")
    page.goto(f"{server}/cases/{number}")
    content = page.content()
    assert "准予许可" in content and "制证发证" in content
    assert page.locator("svg.bpmn g.done").count() >= 4 and page.locator("svg.bpmn g.current").count() == 1
    look_at(page, "case")
    page.locator("section.documents").get_by_role("link", name="补正材料一次性告知书").click()  # the printed notice
    expect(page.locator("article.document")).to_contain_text("设备布局图（盖章）")
    look_at(page, "print")
    browser_logout(page)

    browser_login(page, server, "admin")
    page.goto(f"{server}/admin/calendar")
    look_at(page, "calendar")


def test_a_returned_step_says_why_the_head_decides_from_one_page_and_a_delegate_cannot_return(server, page, flow):
    """The 负责人's decision page shows the application and the review record with its labels; a
    step sent back (退回) tells the reviewer who sent it and why; a delegate (委派) sees what was
    asked and only 暂存 and 办完交回; the case page gives the end dates and a 去办理 link."""
    case = flow.start(item="SCJG-SPJY", applicant="某餐饮管理有限公司")
    number = case.number
    flow.complete("chuangkou", {"acceptance": "accept"}, opinion="材料齐全，予以受理", number=number)
    flow.complete("shencha", {"review_result": "pass", "needs_inspection": False}, opinion="材料齐全，无需核查",
                  number=number)

    browser_login(page, server, "fuzeren")
    open_task(page, number)
    head = page.locator("header.task-head")
    expect(head).to_contain_text("食品经营许可")
    expect(head).to_contain_text("审批决定")
    expect(head).to_contain_text("剩余")
    expect(head.get_by_role("link", name=number)).to_be_visible()
    expect(page.locator("section.application")).to_contain_text("某餐饮管理有限公司")
    records = page.locator("section.earlier")
    for text in ("受理意见", "予以受理", "材料审查", "李审查", "审查结论", "材料符合要求", "需要现场核查", "否",
                 "材料齐全，无需核查"):
        expect(records).to_contain_text(text)
    expect(records).not_to_contain_text("pass")
    expect(page.locator("form.return")).to_be_hidden()  # folded away until asked for
    look_at(page, "task-decision-records")
    page.click("summary:has-text('更多操作')")
    page.select_option("form.return select[name=to]", label="材料审查")
    page.fill("form.return input[name=reason]", "营业执照已过期，请核实")
    page.locator("form.return").get_by_role("button", name="退回").click()
    expect(page.locator("main")).to_contain_text("已退回")
    browser_logout(page)

    browser_login(page, server, "shencha")
    open_task(page, number)
    why = page.locator("p.why")
    expect(why).to_contain_text("退回")
    expect(why).to_contain_text("赵负责")
    expect(why).to_contain_text("审批决定")
    expect(why).to_contain_text("营业执照已过期，请核实")
    look_at(page, "task-returned")
    page.check("input[name=review_result][value=pass]")
    page.fill("textarea[name=opinion]", "已核实营业执照在有效期内")
    page.click("form.card >> text=提交")
    expect(page.locator("main")).to_contain_text("已办理")
    browser_logout(page)

    browser_login(page, server, "fuzeren")
    open_task(page, number)
    expect(page.locator("section.earlier")).to_contain_text("营业执照已过期，请核实")  # the returned round stays
    expect(page.locator("section.earlier")).to_contain_text("已核实营业执照在有效期内")
    page.click("summary:has-text('更多操作')")
    page.select_option("form.delegate select[name=to]", "shencha_b")
    page.fill("form.delegate input[name=note]", "请核对营业执照有效期后交回")
    page.locator("form.delegate").get_by_role("button", name="委派").click()
    expect(page.locator("main")).to_contain_text("已委派")
    browser_logout(page)

    browser_login(page, server, "shencha_b")
    open_task(page, number)
    why = page.locator("p.why")
    expect(why).to_contain_text("委派")
    expect(why).to_contain_text("赵负责")
    expect(why).to_contain_text("请核对营业执照有效期后交回")
    expect(page.locator("details.more-ops")).to_have_count(0)
    expect(page.locator("form.return, form.transfer, form.release")).to_have_count(0)
    expect(page.get_by_role("button", name="提交")).to_have_count(0)
    look_at(page, "task-delegate")
    page.check("input[name=decision][value=grant]")
    page.fill("textarea[name=opinion]", "营业执照有效，建议准予许可")
    page.get_by_role("button", name="办完交回").click()
    expect(page.locator("main")).to_contain_text("已交回委派人")
    browser_logout(page)

    browser_login(page, server, "fuzeren")
    page.goto(f"{server}/cases/{number}")
    ends = page.locator("p.ends")
    expect(ends).to_contain_text("承诺办结")
    expect(ends).to_contain_text("法定期限")
    expect(ends).to_contain_text("剩余")
    expect(page.locator("section.application")).to_contain_text("某餐饮管理有限公司")
    expect(page.locator("ol.timeline")).to_contain_text("营业执照已过期，请核实")
    look_at(page, "case-go-work")
    page.get_by_role("link", name="去办理：审批决定").click()
    page.wait_for_url("**/tasks/*")
    expect(page.locator("p.why")).to_contain_text("卫审查")  # handed back: by whom, with what
    expect(page.locator("p.why")).to_contain_text("营业执照有效，建议准予许可")
    expect(page.locator("textarea[name=opinion]")).to_have_value("营业执照有效，建议准予许可")
    look_at(page, "task-handed-back")
    page.click("form.card >> text=提交")
    expect(page.locator("main")).to_contain_text("已办理")
    page.goto(f"{server}/cases/{number}")
    expect(page.locator("p.go-work")).to_have_count(0)  # the decision is made: nothing of his to do
    expect(page.locator("p.ends")).to_contain_text("作出决定")  # and the line now counts the licence issue
    expect(page.locator("p.ends")).to_contain_text("制证发证期限")
    browser_logout(page)

    browser_login(page, server, "shencha")  # a reviewer reads the case but has no step on it now
    page.goto(f"{server}/cases/{number}")
    expect(page.get_by_role("link", name="去办理：制证发证")).to_have_count(0)
