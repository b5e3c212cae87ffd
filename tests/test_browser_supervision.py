"""A supervisor's day in the browser (issue 15): the board of carded cases, a refusal report
acknowledged, a finding explained by the department head, a 效能告诫 issued, the statistics with
a drill-down to the cases. Screenshots at 1366 and 1024 px and axe on every page."""
from __future__ import annotations

import io
from datetime import datetime

import openpyxl
import pytest

from engine.clock import CHINA_TZ
from timers import sweep

from .helpers import Flow, browser_login, browser_logout, look_at

expect = pytest.importorskip("playwright.sync_api").expect


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def _cases(flow: Flow, clock) -> tuple[str, str]:
    """A refused case and a late one with a yellow card still open, in March 2026."""
    clock.set(at("2026-03-02T09:00"))
    refused = flow.start(applicant="李四")
    clock.set(at("2026-03-02T09:30"))
    flow.complete("chuangkou", {"acceptance": "refuse"}, opinion="不属于本机关职权范围", number=refused.number)
    clock.set(at("2026-03-03T09:00"))
    late = flow.start(applicant="张三")
    flow.complete("chuangkou", {"acceptance": "accept"}, opinion="材料齐全", number=late.number)
    clock.set(at("2026-03-13T08:00"))
    sweep(flow.engine)
    clock.set(at("2026-03-16T10:00"))
    return refused.number, late.number


def test_a_supervisor_works_the_board_findings_warnings_and_statistics(server, page, flow, clock):
    refused, late = _cases(flow, clock)
    browser_login(page, server, "jiancha")
    # a supervisor handles no step: the day starts at the board, not an empty 待办
    page.wait_for_url(f"{server}/supervision/")
    board = page.locator("table.board")
    expect(board).to_contain_text(late)
    expect(board).to_contain_text("黄牌")
    # the row counts down what the card is about — the review step's own limit — with the case's
    # 办理时限 beside it, so the card, the limit and the days late tell one story
    row = board.locator("tr", has_text=late)
    expect(row.locator("td").nth(7)).to_contain_text("环节时限")
    expect(row.locator("td").nth(7)).to_contain_text("办件办理时限（承诺） 至 2026-03-17")
    expect(row.locator("td").nth(8)).to_contain_text("超期 4 个工作日")
    expect(board).to_contain_text("王窗口（市市场监督管理局）")
    look_at(page, "supervision-board")
    page.select_option("select[name=card]", "red")
    page.click("text=筛选")
    expect(board).to_contain_text("没有亮牌的在办件")
    page.select_option("select[name=card]", "yellow")
    page.click("text=筛选")
    board.get_by_role("link", name=late).click()
    expect(page.locator("main")).to_contain_text(late)
    # the case page says what its card is about, as the board does
    expect(page.locator("p.ends")).to_contain_text("黄牌 环节时限（")
    expect(page.locator("p.ends")).to_contain_text("届满")

    page.goto(f"{server}/supervision/findings")
    page.click("text=立即扫描")
    expect(page.locator(".flash")).to_contain_text("新发现 1 项")
    finding = page.locator("section.finding", has_text=refused)
    expect(finding).to_contain_text("否定报备")
    expect(finding).to_contain_text("不属于本机关职权范围")  # the evidence: the refusing entry in words
    look_at(page, "supervision-findings")
    finding.locator("input[name=note]").fill("已阅，理由充分")
    finding.get_by_role("button", name="确认报备").click()
    expect(page.locator(".flash")).to_contain_text("已否定报备确认")
    expect(page.locator("section.finding", has_text=refused)).to_contain_text("已关闭")
    expect(page.locator("section.finding", has_text=refused)).to_contain_text("孙监察：确认报备——已阅，理由充分")

    page.goto(f"{server}/supervision/warnings")
    page.select_option("select[name=user]", "shencha")
    page.fill("textarea[name=reason]", "审查环节超期未办")
    page.fill("input[name=cases]", late + "9")  # a typo: the form comes back as typed, the message on it
    page.get_by_role("button", name="发出告诫").click()
    expect(page.locator("#issue p.error")).to_contain_text(f"办件不存在：{late}9")
    expect(page.locator("textarea[name=reason]")).to_have_value("审查环节超期未办")
    expect(page.locator("select[name=user]")).to_have_value("shencha")
    page.fill("input[name=cases]", late)
    look_at(page, "supervision-warning-form")
    page.get_by_role("button", name="发出告诫").click()
    expect(page.locator(".flash")).to_contain_text("已发出效能告诫")
    expect(page.locator("main table")).to_contain_text("审查环节超期未办")
    expect(page.locator("main table")).to_contain_text("李审查")
    expect(page.locator("main table")).to_contain_text("2026-03-16 10:00")  # China time
    look_at(page, "supervision-warnings")

    page.goto(f"{server}/supervision/stats")
    page.fill("input[name=value]", "2026-03")
    page.select_option("select[name=group]", "clerk")
    page.get_by_role("button", name="统计").click()
    stats = page.locator("table.stats")
    expect(stats).to_contain_text("王窗口")
    look_at(page, "supervision-stats")
    stats.locator("tbody tr", has_text="王窗口").locator("td").nth(0).get_by_role("link").click()
    expect(page.locator("main")).to_contain_text("收件")
    listing = page.locator("table.case-list")
    expect(listing).to_contain_text(refused)
    expect(listing.locator("tr", has_text=refused)).to_contain_text("不予受理")
    expect(listing.locator("tr", has_text=late)).to_contain_text("办理中")
    look_at(page, "supervision-stats-cases")

    page.click("nav >> text=月度通报")
    page.fill("input[name=value]", "2026-03")
    page.get_by_role("button", name="查看").click()
    units = page.locator("table.report-units")
    expect(units).to_contain_text("市市场监督管理局")
    expect(units).to_contain_text("效能告诫 -5")  # the warning just issued, in the unit's breakdown
    expect(page.locator("article.report")).to_contain_text(refused)  # among the findings of the month
    expect(page.locator("figure.chart svg")).to_be_visible()
    expect(page.locator("article.report")).to_contain_text("截至今日（2026-03-16）仍亮红牌的在办件 0 件")
    look_at(page, "supervision-report")
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 CSV").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert text.startswith("月度通报 2026 年 3 月") and "市市场监督管理局" in text and refused in text
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 Excel 表格").click()
    assert download.value.suggested_filename == "report-2026-03.xlsx"
    with open(download.value.path(), "rb") as saved:  # saved without a suffix, which openpyxl goes by
        book = openpyxl.load_workbook(io.BytesIO(saved.read()))
    assert book.sheetnames == ["单位排名", "超期与红牌", "监察事项", "效能告诫"]
    assert book["单位排名"]["A1"].value == "月度通报 2026 年 3 月"
    assert any(row[3] == refused for row in book["监察事项"].iter_rows(values_only=True))
    page.fill("input[name=value]", "2026-02")  # a month that is over: the cards as they stood at its end
    page.get_by_role("button", name="查看").click()
    expect(page.locator("article.report")).to_contain_text("月末（2026-02-28）仍亮红牌的在办件 0 件")


def test_a_submit_refused_as_out_of_order_shows_as_a_process_error_with_what_was_refused(server, page, flow, clock):
    from engine.commands import CompleteTask  # import here: the refused submit is set up through the engine
    from engine.errors import ApprovalError  # import here: as above

    clock.set(at("2026-03-02T09:00"))
    case = flow.start(applicant="王五")
    task = flow.task_of("chuangkou", case.number).id
    clock.set(at("2026-03-02T09:20"))
    flow.complete("chuangkou", {"acceptance": "accept"}, opinion="材料齐全", number=case.number)
    clock.set(at("2026-03-02T09:25"))
    with pytest.raises(ApprovalError) as refused:  # 提交 again on the acceptance step already done
        flow.engine.execute(CompleteTask(task=task, data={"acceptance": "accept"}), flow.actors["chuangkou"])
    clock.set(at("2026-03-02T10:00"))
    browser_login(page, server, "jiancha")
    page.goto(f"{server}/supervision/findings")
    page.click("text=立即扫描")
    expect(page.locator(".flash")).to_contain_text("新发现 1 项")
    page.select_option("select[name=kind]", "process_error")
    page.get_by_role("button", name="筛选").click()
    finding = page.locator("section.finding", has_text=case.number)
    expect(finding).to_contain_text("流程错误")
    evidence = finding.locator("table.evidence")
    expect(evidence).to_contain_text("依据（被拒绝的操作）")
    expect(evidence).to_contain_text("2026-03-02 09:25")  # China time
    expect(evidence).to_contain_text("王窗口")  # the clerk's name, not the login
    expect(evidence).to_contain_text("办理（被拒绝）")
    expect(evidence).to_contain_text("拒绝原因")
    expect(evidence).to_contain_text(refused.value.message[:15])
    look_at(page, "supervision-finding-process-error")
    finding.locator("input[name=note]").fill("   ")
    finding.get_by_role("button", name="要求说明").click()  # nothing written: back at the finding, said twice
    number = finding.get_attribute("id").removeprefix("finding-")
    page.wait_for_url(f"{server}/supervision/findings?kind=process_error#finding-{number}")
    summary = page.locator("#refused[role=alert]")  # at the top, for whoever starts reading there
    expect(summary).to_contain_text(f"监察事项第 {number} 号：要求说明未完成：要求说明的事项不能为空")
    finding = page.locator("section.finding", has_text=case.number)
    expect(finding.locator("p.error")).to_contain_text("要求说明的事项不能为空")  # and at the card
    expect(finding.locator("input[name=note]")).to_have_attribute("aria-invalid", "true")
    expect(finding.locator("input[name=note]")).to_be_in_viewport()
    look_at(page, "supervision-finding-refused-act")
    summary.get_by_role("link", name="到该事项填写").click()
    finding.locator("input[name=note]").fill("请说明为何重复提交")
    finding.get_by_role("button", name="要求说明").click()
    expect(page.locator(".flash")).to_contain_text("已要求说明")
    expect(page.locator("#refused")).to_have_count(0)  # said once: the next page is clean
    page.wait_for_url(f"{server}/supervision/findings?kind=process_error")


def test_a_head_explains_a_finding_the_supervisor_asked_about(server, page, flow, clock):
    from engine.commands import DetectFindings, RequestExplanation  # import here: only this test acts as the supervisor

    _cases(flow, clock)
    (finding,) = flow.engine.execute(DetectFindings(), flow.actors["jiancha"])
    flow.engine.execute(RequestExplanation(finding=finding["finding"], note="请说明不予受理的依据"), flow.actors["jiancha"])
    browser_login(page, server, "fuzeren")
    page.click("nav >> text=电子监察")
    expect(page.locator("h1")).to_contain_text("市市场监督管理局")
    page.click("text=监察事项")
    section = page.locator("section.finding")
    expect(section).to_contain_text("待说明")
    section.get_by_role("button", name="提交说明").click()  # empty: back at the finding, said at the top too
    expect(page.locator("#refused")).to_contain_text("提交说明未完成")
    expect(section.locator("p.error")).to_contain_text("提交说明未完成")
    expect(section).to_contain_text("待说明")
    section.locator("input[name=note]").fill("申请事项属县级权限，已告知申请人向县局申请")
    look_at(page, "supervision-findings-head")
    section.get_by_role("button", name="提交说明").click()
    expect(page.locator("section.finding")).to_contain_text("已说明")
    page.click("nav >> text=消息")  # the request reached the head with a way to the finding
    page.locator("tr", has_text="【要求说明】").get_by_role("link", name="查看监察事项").click()
    expect(page.locator("h1")).to_contain_text("监察事项")
    page.click("text=效能告诫")  # a head reads the department's warnings, issues none
    expect(page.locator("h1")).to_contain_text("市市场监督管理局")
    expect(page.get_by_role("button", name="发出告诫")).to_have_count(0)
    look_at(page, "supervision-warnings-head")
    browser_logout(page)


@pytest.mark.parametrize("username, first_page, heading, link", [
    ("chuangkou", "/", "待办", "待办"), ("jiancha", "/supervision/", "电子监察", "电子监察"),
    ("admin", "/admin/items", "流程版本", "流程版本"), ("sheji", "/design/", "流程设计", "流程设计")])
def test_each_user_starts_the_day_on_their_own_first_page(server, page, username, first_page, heading, link):
    """After logging in, and from the header's name of the system: whoever handles steps at the
    inbox; a supervisor, administrator or designer, who handle none, at their own work. The
    header marks the page one is on."""
    browser_login(page, server, username)
    page.wait_for_url(f"{server}{first_page}")
    expect(page.locator("h1")).to_contain_text(heading)
    nav = page.locator("header.topbar nav")
    expect(nav.locator("[aria-current=page]")).to_have_count(1)
    expect(nav.locator("[aria-current=page]")).to_have_text(link)
    page.locator("header.topbar nav").get_by_role("link", name="待办", exact=True).click()
    page.wait_for_url(f"{server}/")
    page.locator("header.topbar").get_by_role("link", name="政务服务中心 · 审批系统").click()
    page.wait_for_url(f"{server}{first_page}")


def test_from_a_red_card_to_the_finding_the_explanation_and_the_warning(server, page, flow, clock):
    """The board's red row links to the case's findings; the case page says what supervision found,
    what the department answered and which warnings name it; the findings filter by case and
    department."""
    from .test_supervision import red_case_explained_and_warned  # import here: the same story as the unit test

    number, finding = red_case_explained_and_warned(flow, clock)
    browser_login(page, server, "jiancha")
    page.wait_for_url(f"{server}/supervision/")
    row = page.locator("table.board tr", has_text=number)
    expect(row).to_contain_text("红牌")
    expect(row.get_by_role("link", name="监察事项 1 项")).to_be_visible()
    row.get_by_role("link", name=number).click()
    section = page.locator("section.supervision")
    expect(section.locator("table.case-findings")).to_contain_text(f"第 {finding} 号")
    expect(section.locator("table.case-findings")).to_contain_text("办理超时")
    expect(section.locator("table.case-findings")).to_contain_text("已说明")
    expect(section.locator("table.case-findings")).to_contain_text("审查员病假，已调整 AB 岗（赵负责，")
    expect(section.locator("table.case-warnings")).to_contain_text("审查环节超期未办")
    expect(section.locator("table.case-warnings")).to_contain_text("李审查")
    look_at(page, "case-supervision")
    section.get_by_role("link", name=f"第 {finding} 号").click()
    expect(page.locator("input[name=case]")).to_have_value(number)
    expect(page.locator("section.finding")).to_have_count(1)
    expect(page.locator(f"#finding-{finding}")).to_contain_text("审查员病假，已调整 AB 岗")
    page.select_option("select[name=department]", "mz")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("main")).to_contain_text("没有监察事项")
    page.select_option("select[name=department]", "scjg")
    page.fill("input[name=case]", "")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("section.finding")).to_have_count(1)
    look_at(page, "supervision-findings-filtered")
    page.goto(f"{server}/supervision/")
    page.locator("table.board tr", has_text=number).get_by_role("link", name="监察事项 1 项").click()
    expect(page.locator("input[name=case]")).to_have_value(number)
    page.goto(f"{server}/supervision/warnings")
    expect(page.locator("main table")).to_contain_text(number)
    browser_logout(page)
    browser_login(page, server, "shencha")  # a clerk: the case page has no supervision part
    page.goto(f"{server}/cases/{number}")
    expect(page.locator("h1")).to_contain_text(number)
    expect(page.locator("section.supervision")).to_have_count(0)


def test_a_warning_is_issued_from_a_finding_with_its_number_as_the_page_titles_it(server, page, flow, clock):
    """发出效能告诫 on a finding opens the form filled in from it; the finding's number is taken as
    the findings page titles it (第8号, 第 8 号, 8), and what cannot be read is refused, not dropped."""
    from engine.store.models import EfficiencyWarning  # import here: to read what was stored
    from sqlalchemy import select

    from .test_supervision import red_case_explained_and_warned  # import here: the same story as the unit test

    number, finding = red_case_explained_and_warned(flow, clock)
    browser_login(page, server, "jiancha")
    page.goto(f"{server}/supervision/findings")
    page.locator(f"#finding-{finding}").get_by_role("link", name="发出效能告诫").click()
    expect(page.locator("input[name=findings]")).to_have_value(f"第 {finding} 号")
    expect(page.locator("input[name=cases]")).to_have_value(number)
    expect(page.locator("select[name=target]")).to_have_value("unit")
    expect(page.locator("select[name=department]")).to_have_value("scjg")
    expect(page.locator("#issue")).to_contain_text(f"已按监察事项第 {finding} 号填好")
    look_at(page, "supervision-warning-from-finding")
    page.select_option("select[name=target]", "person")
    page.select_option("select[name=user]", "chuangkou")
    page.fill("textarea[name=reason]", "受理后未及时流转")
    page.fill("input[name=findings]", f"第{finding}号，第八号")
    page.get_by_role("button", name="发出告诫").click()
    expect(page.locator("#issue p.error")).to_contain_text("相关监察事项编号看不懂：第八号")
    expect(page.locator("input[name=findings]")).to_have_value(f"第{finding}号，第八号")
    expect(page.locator("textarea[name=reason]")).to_have_value("受理后未及时流转")
    look_at(page, "supervision-warning-unreadable-finding")
    page.fill("input[name=findings]", f"第{finding}号")
    page.get_by_role("button", name="发出告诫").click()
    expect(page.locator(".flash")).to_contain_text("已发出效能告诫")
    expect(page.locator("main table tr", has_text="受理后未及时流转")).to_contain_text(f"第 {finding} 号")
    with flow.db.reader() as session:
        issued = session.scalar(select(EfficiencyWarning).where(EfficiencyWarning.reason == "受理后未及时流转"))
        assert (issued.user.username, issued.findings, issued.cases) == ("chuangkou", [finding], [number])


def test_a_deadline_warning_leads_to_the_step_and_a_efficiency_warning_to_the_warnings(server, page, flow, clock):
    """A head's message box: 【预警】 (a time limit's warning) leads to the step to work on, never to
    the 效能告诫 page; 【效能告诫】 leads there."""
    from engine.commands import IssueWarning  # import here: the warning is set up through the engine

    clock.set(at("2026-03-02T09:00"))
    case = flow.start(applicant="张三")
    clock.set(at("2026-03-02T10:00"))
    flow.complete("chuangkou", {"acceptance": "accept"}, opinion="材料齐全", number=case.number)
    clock.set(at("2026-03-03T10:00"))
    flow.complete("shencha", {"review_result": "pass"}, opinion="同意", number=case.number)
    clock.set(at("2026-03-16T08:00"))
    sweep(flow.engine)  # the decision step and the promised end come near: 预警 to the head
    flow.engine.execute(IssueWarning(user="shencha", reason="审查意见过于简单", cases=(case.number,)),
                        flow.actors["jiancha"])
    browser_login(page, server, "fuzeren")
    page.goto(f"{server}/messages/")
    warned = page.locator("tr", has_text="【预警】").first
    expect(warned).to_be_visible()
    expect(warned.get_by_role("link", name="查看效能告诫")).to_have_count(0)
    expect(page.locator("tr", has_text="【效能告诫】").get_by_role("link", name="查看效能告诫")).to_be_visible()
    look_at(page, "messages-deadline-and-efficiency-warning")
    warned.get_by_role("link", name="去办理：决定").click()
    expect(page.locator("h1")).to_contain_text("决定")
    expect(page.locator("main")).to_contain_text(case.number)
    page.goto(f"{server}/messages/")
    page.locator("tr", has_text="【效能告诫】").get_by_role("link", name="查看效能告诫").click()
    expect(page.locator("h1")).to_contain_text("效能告诫")


def test_dismissing_a_proposed_warning_to_a_head_asks_for_the_reason_in_the_form(server, page, flow, clock):
    from engine.commands import IssueWarning  # import here: the two warnings are set up through the engine

    clock.set(at("2026-03-16T10:00"))
    for user, reason in (("shencha", "审查超期"), ("chuangkou", "一次性告知不到位")):
        flow.engine.execute(IssueWarning(user=user, reason=reason), flow.actors["jiancha"])
    browser_login(page, server, "jiancha")
    page.goto(f"{server}/supervision/warnings")
    proposed = page.locator("section.proposed")
    expect(proposed).to_contain_text("待确认：告诫 市市场监督管理局 负责人")
    note = proposed.locator("input[name=note]")
    expect(note).to_have_attribute("required", "")
    proposed.get_by_role("button", name="不予告诫").click()  # the browser asks for the reason; nothing sent
    assert note.evaluate("e => e.validity.valueMissing") is True
    expect(page.locator(".flash")).to_have_count(0)
    look_at(page, "supervision-warning-proposed")
    note.fill("两次告诫均已整改，暂不告诫负责人")
    proposed.get_by_role("button", name="不予告诫").click()
    expect(page.locator(".flash")).to_contain_text("已决定不予告诫")
    expect(page.locator("main table")).to_contain_text("两次告诫均已整改，暂不告诫负责人")


def test_a_bad_period_comes_back_in_the_form_with_what_is_wrong_beside_the_field(server, page, flow, clock):
    clock.set(at("2026-03-16T10:00"))
    browser_login(page, server, "jiancha")
    page.goto(f"{server}/supervision/stats")
    page.fill("input[name=value]", "2026-13")
    page.get_by_role("button", name="统计").click()
    value = page.locator("input[name=value]")
    expect(value).to_have_value("2026-13")
    expect(value).to_have_attribute("aria-invalid", "true")
    expect(page.locator("label", has=value).locator(".field-error")).to_have_text(
        "没有第 13 个月：月份应在 1 至 12 之间，收到“2026-13”")
    expect(page.locator("main")).not_to_contain_text("无法完成")
    page.fill("input[name=value]", "十月")
    page.get_by_role("button", name="统计").click()
    expect(page.locator(".field-error")).to_contain_text("月份格式不对：应如 2026-03")
    page.select_option("select[name=period]", "quarter")
    page.fill("input[name=value]", "2026-10")
    page.get_by_role("button", name="统计").click()
    expect(page.locator("select[name=period]")).to_have_value("quarter")
    expect(page.locator(".field-error")).to_contain_text("这里要填季度，如 2026-Q4；“2026-10”是月份")
    page.select_option("select[name=period]", "range")
    page.fill("input[name=start]", "2026-03-10")
    page.fill("input[name=end]", "2026-03-01")
    page.get_by_role("button", name="统计").click()
    end = page.locator("input[name=end]")
    expect(end).to_have_attribute("aria-invalid", "true")
    expect(page.locator("label", has=end).locator(".field-error")).to_have_text("结束日期 2026-03-01 早于开始日期 2026-03-10，请改正")
    expect(page.locator("input[name=start]")).to_have_value("2026-03-10")
    look_at(page, "supervision-stats-bad-period")
    page.fill("input[name=end]", "2026-03-31")
    page.get_by_role("button", name="统计").click()
    expect(page.locator("table.stats")).to_be_visible()
    expect(page.locator(".field-error")).to_have_count(0)

    page.goto(f"{server}/supervision/ratings")
    page.fill("input[name=value]", "2026-13")
    page.get_by_role("button", name="查看").click()
    expect(page.locator(".field-error")).to_contain_text("没有第 13 个月")
    look_at(page, "supervision-ratings-bad-period")

    page.goto(f"{server}/supervision/report")
    page.fill("input[name=value]", "1999-01")
    page.get_by_role("button", name="查看").click()
    expect(page.locator("input[name=value]")).to_have_value("1999-01")
    expect(page.locator(".field-error")).to_have_text("年份超出范围：只能查看 2000 年至 2100 年，收到 1999 年")
    expect(page.get_by_role("link", name="导出 CSV")).to_have_count(0)
    look_at(page, "supervision-report-bad-month")
    page.fill("input[name=value]", "2026-02")
    page.get_by_role("button", name="查看").click()
    expect(page.locator("article.report h1")).to_contain_text("2026 年 2 月")
