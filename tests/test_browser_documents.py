"""In headless Chromium: every official document (文书) is reached through the links the pages
render — the acceptance step's page and the case page — photographed at 1366 and 1024 px and
checked with axe-core; once in print media, and printed to an A4 PDF, to see the sheet alone."""
from __future__ import annotations

import re

import pytest

from engine import Actor
from engine.commands import StartCase

from .helpers import ARTIFACTS, browser_login, browser_logout, look_at

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run").expect

FOOD = "SCJG-SPJY"


def open_task(page, number: str) -> None:
    page.fill("input[name=q]", number)
    page.click("text=搜索")
    page.locator("table.inbox tbody tr").first.locator("td").nth(3).locator("a").click()
    page.wait_for_url("**/tasks/*")


def open_document(page, title: str, name: str) -> None:
    """Follow the page's 文书 link, look at the sheet, and come back."""
    back = page.url
    page.locator("section.documents").get_by_role("link", name=title, exact=True).click()
    page.wait_for_url("**/documents/**")
    expect(page.locator("article.document h1")).to_contain_text(title)
    expect(page.locator("article.document .seal")).to_contain_text("印章")
    look_at(page, name)
    page.goto(back)


def submit(page, field: str, value: str, opinion: str) -> None:
    page.check(f"input[name={field}][value={value}]")
    page.fill("textarea[name=opinion]", opinion)
    page.click("form.card >> text=提交")
    expect(page.locator("main")).to_contain_text("已办理")


def start(engine, applicant: str) -> str:
    return engine.execute(StartCase(item=FOOD, applicant=applicant), Actor.applicant(applicant)).number


def test_each_document_prints_from_the_links_on_the_pages(server, page, engine):
    granted, refused, denied = (start(engine, name) for name in ("某餐饮管理有限公司", "某超市有限公司", "某食品店"))

    browser_login(page, server, "chuangkou")
    open_task(page, granted)
    checklist = page.locator("form.materials")
    for row, status in enumerate(["received", "received", "missing", "deferred", "received"]):
        checklist.locator(f"input[name=m{row}][value={status}]").check()
    checklist.get_by_role("button", name="保存核对结果").click()
    expect(page.locator("main")).to_contain_text("已保存材料核对结果")
    page.goto(f"{server}/")
    open_task(page, granted)
    open_document(page, "收件凭证", "doc-receipt")
    page.click("summary:has-text('更多操作')")  # the one-time notice is folded with the other operations
    page.fill("textarea[name=materials]", "与食品经营相适应的主要设备设施、经营布局、操作流程等文件")
    page.click("text=发出告知")
    expect(page.locator("main")).to_contain_text("已发出一次性告知")
    page.goto(f"{server}/")
    open_task(page, granted)
    page.locator("section.documents").get_by_role("link", name="补正材料一次性告知书").click()
    page.wait_for_url("**/documents/supplement_notice")
    sheet = page.locator("article.document")
    expect(sheet).to_contain_text(re.compile(r"市监食经补〔\d{4}〕1号"))
    expect(sheet).to_contain_text("经办人：王窗口")
    look_at(page, "doc-supplement-notice")
    # The sheet as it prints: print media hides the navigation and the buttons, and an A4 PDF holds one page.
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "doc-supplement-notice-print.png"), full_page=True)
    assert not page.locator("header.topbar").is_visible() and not page.locator(".doc-toolbar").is_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('.doc-text')).color") == "rgb(0, 0, 0)"
    pdf = page.pdf(format="A4", print_background=False, prefer_css_page_size=True)
    (ARTIFACTS / "doc-supplement-notice.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("link", name=re.compile("返回办件")).click()
    page.wait_for_url(f"**/cases/{granted}*")
    page.goto(f"{server}/")
    open_task(page, granted)
    page.get_by_role("button", name="登记收到").click()
    expect(page.locator("main")).to_contain_text("已登记收到补正材料")
    page.goto(f"{server}/")
    open_task(page, granted)
    submit(page, "acceptance", "accept", "补正后材料齐全，予以受理")
    # A refusal at the window: the reason is the clerk's opinion.
    open_task(page, refused)
    submit(page, "acceptance", "refuse", "申请事项依法不属于本机关职权范围，请向县级市场监督管理部门申请")
    open_task(page, denied)
    submit(page, "acceptance", "accept", "材料齐全")
    page.goto(f"{server}/cases/{refused}")
    open_document(page, "不予受理决定书", "doc-refusal-notice")
    page.goto(f"{server}/cases/{granted}")
    expect(page.locator("section.documents")).not_to_contain_text("决定书")  # not decided: not offered
    open_document(page, "受理通知书", "doc-acceptance-notice")
    # a decision printed before it is made: a Chinese 404 that leads back
    page.goto(f"{server}/cases/{granted}/documents/grant_decision")
    expect(page.locator("main")).to_contain_text("尚未出具准予行政许可决定书")
    look_at(page, "doc-not-yet")
    page.get_by_role("link", name="返回办件").click()
    page.wait_for_url(f"**/cases/{granted}*")
    browser_logout(page)

    browser_login(page, server, "shencha")
    for number in (granted, denied):
        open_task(page, number)
        page.check("input[name=review_result][value=pass]")
        page.click("form.card >> text=提交")
        expect(page.locator("main")).to_contain_text("已办理")
    browser_logout(page)

    browser_login(page, server, "fuzeren")
    open_task(page, granted)
    submit(page, "decision", "grant", "同意")
    open_task(page, denied)
    submit(page, "decision", "deny", "经营场所与有毒有害场所的距离不符合要求")
    page.goto(f"{server}/cases/{granted}")
    expect(page.locator("section.documents li")).to_have_count(4)  # receipt, notice, acceptance, decision
    look_at(page, "case-documents")
    open_document(page, "准予行政许可决定书", "doc-grant-decision")
    page.goto(f"{server}/cases/{denied}")
    open_document(page, "不予行政许可决定书", "doc-denial-decision")
    page.locator("section.documents").get_by_role("link", name="不予行政许可决定书").click()
    sheet = page.locator("article.document")
    expect(sheet).to_contain_text("理由：经营场所与有毒有害场所的距离不符合要求")
    expect(sheet).to_contain_text("向某市人民政府申请行政复议")
    expect(sheet).to_contain_text("经办人：赵负责")
