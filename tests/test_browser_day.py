"""A clerk's whole day, only through rendered pages (issue 12): a walk-in 食品经营许可 registered at
the window with scans and a partly complete checklist, the one-time notice, the supplement, the
acceptance; the review without inspection; the head's decision from one page; the licence issued
and the 准予行政许可决定书 printed. A refusal at the window with its 不予受理决定书. A form refused by
the engine keeps what was typed. Screenshots at 1366 and 1024 px; axe-core on every page."""
from __future__ import annotations

import pytest

from engine.commands import ClaimTask

from .helpers import browser_login, browser_logout, look_at
from .test_browser_window import fill_company, scan

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run").expect


def open_from_inbox(page, server: str, number: str) -> None:
    page.goto(f"{server}/")
    page.fill("input[name=q]", number[-5:])  # part of the number, as a clerk types it
    page.click("text=搜索")
    page.locator("table.inbox tbody tr", has_text=number).locator("td").nth(3).locator("a").click()
    page.wait_for_url("**/tasks/*")


def print_document(page, title: str, name: str) -> str:
    page.locator("section.documents").get_by_role("link", name=title).click()
    expect(page.locator("h1")).to_contain_text(title)
    look_at(page, name)
    text = page.locator("main").inner_text()
    page.go_back()
    return text


def test_a_food_licence_from_the_walk_in_to_the_printed_licence_decision(server, page, flow):
    # -- the window: register, notify, receive, accept
    browser_login(page, server, "chuangkou")
    page.get_by_role("link", name="受理登记").click()
    page.get_by_role("link", name="登记：食品经营许可").click()
    fill_company(page)
    rows = page.locator("fieldset.materials tbody tr")
    for row, status in enumerate(["received", "received", "missing", "deferred", "received"]):
        rows.nth(row).locator(f"input[value={status}]").check()
    rows.nth(0).locator("input[type=file]").set_input_files([scan("申请书.pdf")])
    rows.nth(1).locator("input[type=file]").set_input_files([scan("营业执照.pdf")])
    page.get_by_role("button", name="一次性告知补正").click()
    expect(page.locator("main")).to_contain_text("已发出一次性告知")
    number = page.url.rsplit("/", 1)[-1].split("#")[0]
    receipt = print_document(page, "收件凭证", "day-receipt")
    assert number in receipt and "食品经营许可申请书" in receipt
    notice = print_document(page, "补正材料一次性告知书", "day-supplement-notice")
    assert "与食品经营相适应的主要设备设施、经营布局、操作流程等文件" in notice

    page.get_by_role("link", name="去办理：受理").click()  # 更多操作 is open while the supplement is awaited
    page.get_by_role("button", name="登记收到").click()
    expect(page.locator("main")).to_contain_text("已登记收到补正材料")
    open_from_inbox(page, server, number)
    page.check("input[name=acceptance][value=accept]")
    page.fill("textarea[name=opinion]", "补正后材料齐全，予以受理")
    page.click("form.card >> text=提交")
    # the confirmation says where the case went, and in whose hands
    expect(page.locator(".flash")).to_contain_text("已办理：受理")
    expect(page.locator(".flash")).to_contain_text("予以受理，出具受理通知书 ")  # what it decided and issued
    expect(page.locator(".flash")).to_contain_text("下一环节：材料审查（市市场监督管理局·审查员：")
    expect(page.locator(".flash")).to_contain_text("李审查")
    page.goto(f"{server}/cases/{number}")
    acceptance = print_document(page, "受理通知书", "day-acceptance-notice")
    assert number in acceptance
    browser_logout(page)

    # -- the reviewer: no inspection; a form refused by the engine keeps what was typed
    browser_login(page, server, "shencha")
    open_from_inbox(page, server, number)
    expect(page.locator("section.application")).to_contain_text("某餐饮管理有限公司")
    expect(page.locator("section.application")).to_contain_text("申请书.pdf")
    page.check("input[name=review_result][value=pass]")
    page.fill("textarea[name=opinion]", "材料齐全，经营场所与平面图一致，无需现场核查")
    task_id = int(page.url.rsplit("/", 1)[-1])
    flow.engine.execute(ClaimTask(task=task_id), flow.actors["shencha_b"])  # a colleague takes it meanwhile
    page.click("form.card >> text=提交")
    expect(page.locator("p.error")).to_contain_text("卫审查")  # who has it now, by name
    expect(page.locator("section.kept textarea").first).to_have_value("材料齐全，经营场所与平面图一致，无需现场核查")
    expect(page.get_by_role("link", name="查看办件")).to_be_visible()
    look_at(page, "day-refused-keeps-text")
    browser_logout(page)

    browser_login(page, server, "shencha_b")
    open_from_inbox(page, server, number)
    page.check("input[name=review_result][value=pass]")  # needs_inspection left unticked: no 现场核查
    page.fill("textarea[name=opinion]", "材料齐全，无需现场核查")
    page.click("form.card >> text=提交")
    expect(page.locator("main")).to_contain_text("已办理")
    browser_logout(page)

    # -- the head decides from one page
    browser_login(page, server, "fuzeren")
    open_from_inbox(page, server, number)
    expect(page.locator("h1")).to_contain_text("审批决定")
    expect(page.locator("section.application")).to_contain_text("经营面积（平方米）")
    expect(page.locator("section.earlier")).to_contain_text("材料齐全，无需现场核查")
    look_at(page, "day-decision")
    page.check("input[name=decision][value=grant]")
    page.fill("textarea[name=opinion]", "同意")
    page.click("form.card >> text=提交")
    expect(page.locator("main")).to_contain_text("已办理")
    browser_logout(page)

    # -- the licence is issued at the window, and the decision printed
    browser_login(page, server, "chuangkou")
    open_from_inbox(page, server, number)
    expect(page.locator("h1")).to_contain_text("制证发证")
    # the 规章制度目录 accepted for later (容缺) is brought in before the licence
    owed = page.get_by_role("region", name="容缺材料（领证前须补齐）")
    expect(owed).to_contain_text("规章制度目录")
    owed.get_by_role("button", name="登记收到").click()
    expect(page.locator(".flash")).to_contain_text("已登记收到容缺材料")
    page.get_by_label("食品经营许可证编号").fill("JY13501020000123")
    page.click("form.card >> text=提交")
    expect(page.locator(".flash")).to_contain_text("办件状态：准予许可")
    page.goto(f"{server}/cases/{number}")
    expect(page.locator("main")).to_contain_text("已办结")
    # the history says what each step decided, by its form's labels, and which paper it issued
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("审查结论：材料符合要求")
    expect(timeline).to_contain_text("补正：与食品经营相适应的主要设备设施、经营布局、操作流程等文件")
    expect(timeline).to_contain_text("食品经营许可证编号：JY13501020000123")
    expect(timeline).to_contain_text("出具准予行政许可决定书")
    decision = print_document(page, "准予行政许可决定书", "day-grant-decision")
    assert "某餐饮管理有限公司" in decision and number in decision
    look_at(page, "day-case-concluded")


def test_a_refusal_at_the_window_prints_its_decision_with_the_remedies(server, page):
    browser_login(page, server, "chuangkou")
    page.get_by_role("link", name="受理登记").click()
    page.get_by_role("link", name="登记：食品经营许可").click()
    fill_company(page)
    rows = page.locator("fieldset.materials tbody tr")
    for row in range(rows.count()):
        rows.nth(row).locator("input[value=received]").check()
    page.get_by_role("button", name="不予受理").click()  # without a reason: refused, nothing registered
    expect(page.locator("p.error")).to_contain_text("不予受理须写明理由")
    expect(page.get_by_label("法定代表人")).to_have_value("李四")
    page.get_by_label("受理意见 / 不予受理理由").fill("申请事项依法不需要取得行政许可")
    page.get_by_role("button", name="不予受理").click()
    expect(page.locator("main")).to_contain_text("已决定不予受理")
    refusal = print_document(page, "不予受理决定书", "day-refusal")
    assert "申请事项依法不需要取得行政许可" in refusal
    assert "行政复议" in refusal and "行政诉讼" in refusal
