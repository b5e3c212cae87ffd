"""The task and case operations that route tests post, done here through the rendered pages as
clerks do them: 暂存, 认领/释放, 转办, 加签, 拿回, 中止/恢复计时, 延期申请 and its approval, 批准延期,
首问登记, 已读. Screenshots and axe-core on the pages not photographed elsewhere."""
from __future__ import annotations

import pytest

from .helpers import browser_login, browser_logout, look_at
from engine.commands import ClaimTask

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run").expect


def accepted(flow) -> str:
    case = flow.start(item="SCJG-SPJY", applicant="某餐饮管理有限公司")
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    return case.number


def open_task(page, server: str, number: str) -> None:
    page.goto(f"{server}/?q={number}")
    page.locator("table.inbox tbody tr", has_text=number).locator("td").nth(3).locator("a").click()
    page.wait_for_url("**/tasks/*")


def more(page) -> None:
    summary = page.locator("details.more-ops > summary")
    if page.locator("details.more-ops").get_attribute("open") is None:
        summary.click()


def test_draft_claim_release_transfer_and_cosign_on_the_task_page(server, page, flow):
    number = accepted(flow)
    browser_login(page, server, "shencha")
    open_task(page, server, number)
    page.check("input[name=review_result][value=pass]")
    page.fill("textarea[name=opinion]", "初步审查，材料基本齐全")
    page.get_by_role("button", name="暂存").click()
    expect(page.locator("main")).to_contain_text("已暂存")
    expect(page.locator("textarea[name=opinion]")).to_have_value("初步审查，材料基本齐全")
    page.get_by_role("button", name="认领").click()
    expect(page.locator("main")).to_contain_text("已认领")
    more(page)
    page.locator("form.release").get_by_role("button", name="释放").click()
    expect(page.locator("main")).to_contain_text("已释放")  # back in the inbox, for anyone of the role
    open_task(page, server, number)
    more(page)
    page.locator("form.cosign select[name=to]").select_option(label=page.locator(
        "form.cosign select[name=to] option", has_text="卫审查").first.inner_text())
    page.fill("form.cosign input[name=note]", "请就营业执照提出意见")
    page.locator("form.cosign").get_by_role("button", name="加签").click()
    expect(page.locator("main")).to_contain_text("加签")
    browser_logout(page)

    browser_login(page, server, "shencha_b")  # the co-signer gives the opinion asked for
    page.goto(f"{server}/?q={number}")
    page.get_by_role("link", name="加签：材料审查").click()
    look_at(page, "task-cosign")
    page.fill("textarea[name=opinion]", "营业执照在有效期内")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("main")).to_contain_text("已办理")
    browser_logout(page)

    browser_login(page, server, "shencha")
    open_task(page, server, number)
    more(page)
    page.locator("form.transfer select[name=to]").select_option(label="卫审查")
    page.fill("form.transfer input[name=reason]", "本人出差，请卫审查办理")
    page.locator("form.transfer").get_by_role("button", name="转办").click()
    expect(page.locator("main")).to_contain_text("已转办")
    browser_logout(page)

    browser_login(page, server, "shencha_b")
    open_task(page, server, number)
    expect(page.locator("p.why")).to_contain_text("本人出差，请卫审查办理")


def accept_then_open_done(page, server, flow):
    """A case accepted by the window clerk through the task page, and the clerk's 已办 open."""
    case = flow.start(item="SCJG-SPJY", applicant="某餐饮管理有限公司")
    browser_login(page, server, "chuangkou")
    open_task(page, server, case.number)
    page.check("input[name=acceptance][value=accept]")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("main")).to_contain_text("已办理")
    page.goto(f"{server}/?tab=done")
    return case


def test_take_back_before_the_next_step_acts(server, page, flow):
    case = accept_then_open_done(page, server, flow)
    page.locator("table.inbox tbody tr", has_text=case.number).get_by_role("button", name="拿回").click()
    expect(page.locator("main")).to_contain_text("已拿回")


def test_the_done_tab_offers_take_back_only_while_possible_and_marks_no_step_returned(server, page, flow, engine,
                                                                                        actors):
    """已办: a finished step is never shown 被退回, and 拿回 is offered only until the next step is
    touched — not as a button that leads to a refusal."""
    case = accept_then_open_done(page, server, flow)
    row = page.locator("table.inbox tbody tr", has_text=case.number)
    expect(row.get_by_role("button", name="拿回")).to_be_visible()
    expect(row.locator(".tag.returned")).to_have_count(0)
    engine.execute(ClaimTask(task=flow.task_of("shencha", case.number).id), actors["shencha"])  # the next step is taken
    page.reload()
    expect(row).to_be_visible()
    expect(row.get_by_role("button", name="拿回")).to_have_count(0)
    expect(row.locator(".tag.returned")).to_have_count(0)
    look_at(page, "inbox-done")


def test_suspend_resume_and_extensions_on_the_case_page(server, page, flow):
    number = accepted(flow)
    browser_login(page, server, "shencha")
    page.goto(f"{server}/cases/{number}")
    form = page.locator("form", has=page.get_by_role("button", name="中止计时"))
    form.locator("select[name=kind]").select_option(index=0)
    form.locator("input[name=days]").fill("5")
    form.locator("input[name=reason]").fill("需进行检验检测")
    form.get_by_role("button", name="中止计时").click()
    expect(page.locator("main")).to_contain_text("暂停计时")
    page.get_by_role("button", name="恢复计时").click()
    expect(page.locator("main")).not_to_contain_text("特别程序中，暂停计时")
    form = page.locator("form", has=page.get_by_role("button", name="提交申请"))
    form.locator("input[name=reason]").fill("需组织专家论证，申请延期")
    form.locator("input[name=days]").fill("5")
    form.get_by_role("button", name="提交申请").click()
    expect(page.locator("main")).to_contain_text("延期")
    browser_logout(page)

    browser_login(page, server, "fuzeren")  # the head approves from the inbox
    page.get_by_role("button", name="批准", exact=True).first.click()
    expect(page.locator("main")).to_contain_text("已批准延期")
    other = accepted(flow)
    page.goto(f"{server}/cases/{other}")
    form = page.locator("form", has=page.get_by_role("button", name="批准延期"))
    form.locator("input[name=reason]").fill("情况复杂，延长办理期限")
    form.get_by_role("button", name="批准延期").click()
    expect(page.locator("main")).to_contain_text("延期")
    look_at(page, "case-extended")


def test_first_contact_and_reading_one_message(server, page, flow):
    browser_login(page, server, "chuangkou")
    page.get_by_text("首问登记转办").click()
    page.get_by_label("群众姓名").fill("刘女士")
    page.get_by_label("咨询或申请内容").fill("咨询结婚登记需要的材料")
    page.get_by_label("转交部门").select_option(label="市民政局")
    page.get_by_role("button", name="登记并转交").click()
    expect(page.locator("main")).to_contain_text("已登记并转交")
    browser_logout(page)

    browser_login(page, server, "mz_chuangkou")
    page.goto(f"{server}/messages/")
    unread = page.get_by_role("button", name="已读")
    count = unread.count()
    if count:
        unread.first.click()
        expect(page.get_by_role("button", name="已读")).to_have_count(count - 1)


def test_a_supplemented_scan_is_uploaded_at_the_acceptance_step(server, page, flow):
    case = flow.start(item="SCJG-SPJY", applicant="某餐饮管理有限公司")
    browser_login(page, server, "chuangkou")
    open_task(page, server, case.number)
    form = page.locator("form.upload")
    form.get_by_label("材料").select_option("营业执照或者其他主体资格证明文件")
    form.get_by_label("文件（PDF、JPEG 或 PNG，每个不超过 10 MB，可多选）").set_input_files(
        [{"name": "营业执照（补正）.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}])
    form.get_by_role("button", name="上传").click()
    expect(page.locator("main")).to_contain_text("已上传 1 个扫描件")
    expect(page.locator("h1")).to_contain_text("受理")  # still at the step
    expect(page.locator("form.materials")).to_contain_text("营业执照（补正）.pdf")  # beside its checklist row
    look_at(page, "task-upload")


def test_a_reason_of_spaces_is_stopped_in_the_browser_and_nothing_typed_is_lost(server, page, flow):
    number = accepted(flow)
    browser_login(page, server, "shencha")
    open_task(page, server, number)
    task_url = page.url
    page.fill("textarea[name=opinion]", "审查意见写到一半")
    more(page)
    page.fill("form.return input[name=reason]", "   ")
    page.locator("form.return").get_by_role("button", name="退回").click()
    assert page.locator("form.return input[name=reason]").evaluate("el => !el.validity.valid")
    assert page.url == task_url  # not sent: the main form keeps what was typed
    expect(page.locator("textarea[name=opinion]")).to_have_value("审查意见写到一半")
