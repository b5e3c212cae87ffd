"""In headless Chromium: the case search page and the inbox search box, the inbox's 催办/退回
marks, changing one's password in 我的设置, and the calendar import's Chinese errors — each
through the rendered fields and buttons, photographed at 1366 and 1024 px and checked with axe."""
from __future__ import annotations

import pytest

from engine import Actor
from engine.commands import CompleteTask, CopyCase, RequestSupplement, StartCase
from engine.read.queries import ready_tasks

from .helpers import browser_login, browser_logout, look_at
from .test_time_limits import at

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run").expect


def start(engine, clock, when: str, item: str, applicant: str) -> str:
    clock.set(at(when))
    return engine.execute(StartCase(item=item, applicant=applicant), Actor.applicant(applicant)).number


def accept(engine, actors, number: str) -> None:
    with engine.db.reader() as session:
        task = next(t for t in ready_tasks(session, actors["chuangkou"]) if t.case.number == number)
    engine.execute(CompleteTask(task=task.id, data={"acceptance": "accept"}), actors["chuangkou"])


def result_numbers(page) -> list[str]:
    return [n.strip() for n in page.locator("main table.grid tbody tr td:first-child").all_inner_texts()]


def test_searching_cases_by_part_of_a_number_a_name_an_item_and_days(server, page, engine, clock, actors):
    wang = start(engine, clock, "2026-03-02T09:00", "GENERAL", "王小明")
    food = start(engine, clock, "2026-03-03T10:00", "SCJG-SPJY", "某餐饮管理有限公司")
    late = start(engine, clock, "2026-03-04T23:40", "GENERAL", "王大力")
    marriage = start(engine, clock, "2026-03-05T09:00", "MZ-JHDJ", "张小明、刘芳")
    accept(engine, actors, wang)

    browser_login(page, server, "chuangkou")
    # the inbox's box: part of a name, then part of a number
    page.fill("input[name=q]", "大力")
    page.click("text=搜索")
    expect(page.locator("table.inbox tbody tr")).to_have_count(1)
    expect(page.locator("table.inbox")).to_contain_text(late)
    page.fill("input[name=q]", food.split("-", 1)[1][:9])  # "SPJY-2026…": not the start of the number
    page.click("text=搜索")
    expect(page.locator("table.inbox tbody tr")).to_have_count(1)
    expect(page.locator("table.inbox")).to_contain_text(food)

    page.get_by_role("link", name="办件查询").click()
    page.wait_for_url("**/cases/")
    assert result_numbers(page) == [late, food, wang]  # newest first; 民政's 结婚登记 is not this clerk's to read
    look_at(page, "search")

    page.fill("input[name=number]", wang[-8:].lower())
    page.get_by_role("button", name="查询", exact=True).click()
    assert result_numbers(page) == [wang]
    row = page.locator("main table.grid tbody tr").first
    expect(row).to_contain_text("通用审批（演示）")
    expect(row).to_contain_text("审查")       # the current step
    expect(row).to_contain_text("办理中")
    assert row.locator("td").nth(6).inner_text().startswith("2026-03")  # the promised end date

    page.get_by_role("link", name="清空条件").click()
    page.fill("input[name=applicant]", "小明")
    page.get_by_role("button", name="查询", exact=True).click()
    assert result_numbers(page) == [wang]

    page.get_by_role("link", name="清空条件").click()
    page.select_option("select[name=item]", label="通用审批（演示）")
    page.fill("input[name=from]", "2026-03-04")
    page.fill("input[name=to]", "2026-03-04")
    page.get_by_role("button", name="查询", exact=True).click()
    assert result_numbers(page) == [late]  # 23:40 China time on the 4th
    expect(page.locator("input[name=from]")).to_have_value("2026-03-04")
    look_at(page, "search-results")

    page.fill("input[name=from]", "2026-03-05")
    page.get_by_role("button", name="查询", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("收件日期止（2026-03-04）早于收件日期起（2026-03-05）")
    expect(page.locator("select[name=item]")).to_have_value("GENERAL")  # what was chosen stays
    look_at(page, "search-error")
    browser_logout(page)

    browser_login(page, server, "jiancha")  # a supervisor reads every case
    page.get_by_role("link", name="办件查询").click()
    page.select_option("select[name=status]", label="办理中")
    page.get_by_role("button", name="查询", exact=True).click()
    assert result_numbers(page) == [marriage, late, food, wang]


def test_the_inbox_marks_an_urged_step_and_a_returned_one(server, page, engine, clock, actors):
    number = start(engine, clock, "2026-03-02T09:00", "GENERAL", "王小明")
    accept(engine, actors, number)

    browser_login(page, server, "fuzeren")
    page.goto(f"{server}/cases/{number}")
    page.get_by_role("button", name="催办").click()
    expect(page.locator("main")).to_contain_text("已催办")
    page.get_by_role("button", name="催办").click()
    browser_logout(page)

    browser_login(page, server, "shencha")
    row = page.locator("table.inbox tbody tr", has_text=number)
    expect(row.locator(".tag.urged")).to_have_text("已催办 2 次")
    look_at(page, "inbox-urged")
    row.get_by_role("link", name="审查").click()
    page.wait_for_url("**/tasks/*")
    page.click("summary:has-text('更多操作')")  # 退回 is folded with the other operations
    form = page.locator("form.return")
    form.locator("select[name=to]").select_option(label="受理")
    form.locator("input[name=reason]").fill(LONG_REASON)
    form.get_by_role("button", name="退回").click()
    expect(page.locator("p.flash").first).to_contain_text(f"已退回：审查（{number}）。现在：受理")
    browser_logout(page)

    browser_login(page, server, "chuangkou")
    row = page.locator("table.inbox tbody tr", has_text=number)
    expect(row.locator(".tag.returned")).to_have_text("被退回：" + LONG_REASON[:39] + "…")
    expect(row.locator(".tag.returned")).to_have_attribute("title", "李审查 退回：" + LONG_REASON)
    page.set_viewport_size({"width": 1024, "height": 800})  # a long reason wraps inside its cell
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    expect(row.locator(".tag.urged")).to_have_count(0)
    look_at(page, "inbox-returned")


LONG_REASON = ("申请书未签字且营业执照复印件未加盖公章，经营场所平面图与现场核查情况不一致，请窗口核实后"
               "一次性告知申请人补正全部材料后再报审查")


def test_the_inbox_says_a_step_waits_for_the_applicant_s_supplement(server, page, engine, clock, actors):
    """After a one-time notice (一次性告知) no acceptance limit runs: the row says 待补正, not "—"."""
    waiting = start(engine, clock, "2026-03-02T09:00", "SCJG-SPJY", "某餐饮管理有限公司")
    other = start(engine, clock, "2026-03-02T09:30", "SCJG-SPJY", "某食品店")
    engine.execute(RequestSupplement(case=waiting, materials=("食品安全管理制度目录",)), actors["chuangkou"])

    browser_login(page, server, "chuangkou")
    row = page.locator("table.inbox tbody tr", has_text=waiting)
    expect(row.locator(".tag", has_text="待补正")).to_be_visible()
    expect(row.locator(".tag", has_text="待补正")).to_have_attribute(
        "title", "已一次性告知补正：收到申请人的补正材料后重新计算受理时限")
    expect(page.locator("table.inbox tbody tr", has_text=other)).not_to_contain_text("待补正")
    # the days and the day are this step's: the board and the case page may count the case's limit
    expect(page.locator("table.inbox thead")).to_contain_text("本环节剩余")
    look_at(page, "inbox-supplement")


def test_changing_ones_password_then_logging_in_with_it(server, page, engine, actors):
    from cli.demo import DEMO_PASSWORD  # import here: the seed's password, to type as the current one

    number = engine.execute(StartCase(item="GENERAL", applicant="王小明"), Actor.applicant("王小明")).number
    engine.execute(CopyCase(case=number, to=("shencha",), note="请关注"), actors["fuzeren"])
    browser_login(page, server, "shencha")
    page.get_by_role("link", name="李审查（市市场监督管理局）").click()
    page.wait_for_url("**/me/")
    copies = page.locator("section", has_text="抄送给我的办件")
    expect(copies).to_contain_text("赵负责")
    expect(copies).to_contain_text("请关注")
    look_at(page, "profile-settings")

    form = page.locator("form", has_text="修改密码")
    form.locator("input[name=current]").fill("not-my-password")
    form.locator("input[name=new]").fill("秋天的审批 2026")
    form.locator("input[name=repeat]").fill("秋天的审批 2026")
    form.get_by_role("button", name="修改密码").click()
    expect(page.get_by_role("alert")).to_have_text("当前密码不正确，密码未修改")
    look_at(page, "profile-password-error")

    form = page.locator("form", has_text="修改密码")
    form.locator("input[name=current]").fill(DEMO_PASSWORD)
    form.locator("input[name=new]").fill("秋天的审批 2026")
    form.locator("input[name=repeat]").fill("秋天的审批 2026")
    form.get_by_role("button", name="修改密码").click()
    expect(page.locator("main")).to_contain_text("密码已修改，下次登录请使用新密码")
    copies.get_by_role("link", name=number).click()
    page.wait_for_url(f"**/cases/{number}")
    browser_logout(page)

    page.goto(f"{server}/login")
    page.fill("input[name=username]", "shencha")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("main")).to_contain_text("用户名或密码")
    browser_login(page, server, "shencha", "秋天的审批 2026")
    page.get_by_role("link", name="消息").click()
    expect(page.locator("main")).to_contain_text("您的登录密码已修改")


def test_a_bad_calendar_line_is_named_in_chinese(server, page):
    browser_login(page, server, "admin")
    page.get_by_role("link", name="工作日历").click()
    page.fill("textarea[name=schedule]", '{"year": 2027,\n "days_off": [\n  {"date": "2027-01-01", "name": "元旦"},\n'
                                          '  {"date": "2027-02-30", "name": "春节"}\n ]}')
    page.click("main >> button:has-text('导入')")
    expect(page.get_by_role("alert")).to_have_text(
        "日历文件第 4 行：放假日（days_off）第 2 项的日期“2027-02-30”无效，应为 年-月-日，例如 2027-01-01")
    expect(page.locator("textarea[name=schedule]")).to_contain_text("2027-02-30")  # what was pasted stays
    look_at(page, "calendar-error")
    page.fill("textarea[name=schedule]", '{"year": 2027,\n "days_off": [\n  {"date": "2027-01-01",}\n ]}')
    page.click("main >> button:has-text('导入')")
    expect(page.get_by_role("alert")).to_have_text(
        "日历文件 第 3 行第 25 列：不是有效的 JSON，此处应为用双引号括起的名称（对象末尾多了逗号？）")
    # a schedule typed in part is kept, with a warning naming the festivals it lacks
    page.fill("textarea[name=schedule]", '{"year": 2027, "source": "测试", "days_off": [{"date": "2027-01-01", '
                                          '"name": "元旦"}, {"from": "2027-02-06", "to": "2027-02-12", "name": "春节"}]}')
    page.click("main >> button:has-text('导入')")
    expect(page.get_by_role("status").first).to_contain_text("已导入 2027 年节假日安排")
    expect(page.get_by_role("alert")).to_contain_text("没有清明节、劳动节、端午节、中秋节、国庆节的放假日")
    expect(page.get_by_role("row").filter(has_text="2027")).to_contain_text("测试（钱管理）")
    look_at(page, "calendar-partial-year")
