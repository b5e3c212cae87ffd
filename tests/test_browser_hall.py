"""网上办事大厅 in the browser, as an applicant uses it: the public guide, opening an account,
applying online with scans, the window's one-time notice answered online, tracking, printing the
documents, rating (好差评) and complaining; and the window clerk's side of the same case.
Screenshots at 1366 and 1024 px in test-artifacts/, axe-core on every page."""
from __future__ import annotations

import re

import pytest

from .helpers import browser_login, browser_logout, look_at
from .test_online import PASSWORD, ZHANG

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run").expect

PDF = b"%PDF-1.4\n%scan\n%%EOF\n"


def scan(name: str) -> dict:
    return {"name": name, "mimeType": "application/pdf", "buffer": PDF}


def hall_login(page, server: str, login: str = ZHANG, password: str = PASSWORD) -> None:
    """Sign in to the online hall through its login form."""
    page.goto(f"{server}/hall/login")
    page.get_by_label("身份证号或统一社会信用代码").fill(login)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def open_account(page) -> None:
    """On the registration page: a typo refused, then the account opened."""
    look_at(page, "hall-register")
    expect(page.locator("fieldset.legal")).to_be_hidden()
    page.get_by_label("法人或其他组织").check()
    expect(page.locator("fieldset.natural")).to_be_hidden()
    page.get_by_label("自然人", exact=True).check()
    form = page.locator("fieldset.natural")
    form.get_by_label("姓名").fill("张三")
    form.get_by_label("身份证号").fill(ZHANG[:17] + ("0" if ZHANG[17] != "0" else "1"))  # a typo
    form.get_by_label("联系电话").fill("13800138000")
    page.locator("#f-password").fill(PASSWORD)
    page.locator("#f-repeat").fill(PASSWORD)
    page.get_by_role("button", name="注册").click()
    expect(page.locator("p.error")).to_contain_text("身份证号校验位不正确")
    expect(form.get_by_label("姓名")).to_have_value("张三")
    form.get_by_label("身份证号").fill(ZHANG)
    page.locator("#f-password").fill(PASSWORD)
    page.locator("#f-repeat").fill(PASSWORD)
    page.get_by_role("button", name="注册").click()
    expect(page.locator("p.flash")).to_contain_text("您的账号已开通")


def test_an_applicant_applies_online_supplements_tracks_rates_and_complains(server, page, clock):
    # the public guide needs no login
    page.goto(f"{server}/hall/")
    look_at(page, "hall-guides")
    page.get_by_label("查找事项").fill("通用")
    page.get_by_role("button", name="查找").click()
    page.get_by_role("link", name="通用审批（演示）").click()
    expect(page.get_by_role("heading", name="申请材料")).to_be_visible()
    look_at(page, "hall-guide")
    page.get_by_role("link", name="在线申请").click()
    expect(page).to_have_url(f"{server}/hall/login?next=/hall/apply/GENERAL")

    page.get_by_role("link", name="注册账号").click()
    open_account(page)
    # straight on to the application it was opened for
    expect(page.get_by_role("heading", level=1)).to_contain_text("在线申请 通用审批（演示）")
    look_at(page, "hall-apply")
    page.get_by_label("申请事项").fill("开办小吃店")
    page.get_by_label("申请书的文件").set_input_files([scan("申请书.pdf")])
    page.get_by_role("button", name="提交申请").click()
    # a required material missing: the browser says so before the chosen file is lost to a round trip
    expect(page.get_by_label("申请人身份证明的文件")).to_have_js_property("validity.valueMissing", True)
    expect(page).to_have_url(f"{server}/hall/apply/GENERAL")
    page.get_by_label("申请人身份证明的文件").set_input_files([scan("身份证.pdf")])
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator("p.flash")).to_contain_text("申请已提交")
    expect(page.locator(".status")).to_have_text("待受理")
    expect(page.locator("main")).to_contain_text("前决定是否受理；逾期未作决定的，视为受理")
    number = page.locator("h1 small").inner_text().replace("办件编号", "").strip()
    look_at(page, "hall-case-submitted")
    browser_logout(page)

    # the window clerk finds it in 待办 and issues a one-time notice
    browser_login(page, server, "chuangkou")
    page.get_by_role("link", name=number).first.click()
    page.get_by_label("需补正的全部材料（每行一项）").fill("申请人身份证明")
    page.get_by_label("说明").first.fill("身份证复印件不清晰，请重新扫描")
    page.get_by_role("button", name="发出告知").click()
    expect(page.locator("p.flash").first).to_be_visible()
    browser_logout(page)

    # the applicant sees it, hands in the supplement online
    hall_login(page, server)
    expect(page.locator("p.flash")).to_contain_text("有 1 件需要您补正材料")
    look_at(page, "hall-mine")
    page.get_by_role("link", name=f"{number} 通用审批（演示）").click()  # the notice's own link
    expect(page.get_by_role("heading", name="一次性告知：请补正材料")).to_be_visible()
    expect(page.locator("#supplement").locator("..")).to_contain_text("身份证复印件不清晰")
    look_at(page, "hall-case-supplement")
    page.get_by_label("申请人身份证明的补正文件").set_input_files([scan("身份证-清晰.pdf")])
    page.get_by_role("button", name="提交补正材料").click()
    expect(page.locator("p.flash")).to_contain_text("已提交补正材料 1 份")
    expect(page.locator(".status")).to_have_text("补正材料已提交，待窗口核对")
    expect(page.get_by_role("status").filter(has_text="正在等待窗口核对")).to_be_visible()
    page.get_by_role("link", name="一次性告知书").click()
    expect(page.locator("article.document")).to_contain_text("申请人身份证明")
    look_at(page, "hall-document")
    page.get_by_role("link", name=f"返回办件 {number}").click()
    browser_logout(page)

    # the window was told, and receives it
    browser_login(page, server, "chuangkou")
    page.get_by_role("link", name="消息").click()
    expect(page.locator("main")).to_contain_text("申请人已在网上提交，请核对")
    page.get_by_role("link", name="待办").click()
    expect(page.get_by_role("row").filter(has_text=number)).to_contain_text("补正已提交，待核对")
    page.get_by_role("link", name=number).first.click()
    expect(page.locator("main")).to_contain_text("在网上提交补正材料，请核对后登记收到")
    page.go_back()
    # the step itself says what was handed in, beside the scans and the form to register it
    page.get_by_role("row").filter(has_text=number).get_by_role("link").nth(1).click()
    expect(page.get_by_role("note").filter(has_text="补正材料已在网上提交")).to_contain_text("申请人身份证明")
    look_at(page, "window-task-supplement-in")
    page.get_by_role("button", name="登记收到").click()
    expect(page.locator("p.flash").first).to_be_visible()
    browser_logout(page)
    hall_login(page, server)
    page.get_by_role("link", name=number).click()
    expect(page.locator("ol.progress")).to_contain_text("窗口已收到补正材料")
    expect(page.get_by_role("heading", name="一次性告知：请补正材料")).to_have_count(0)


@pytest.fixture
def concluded_online_case(seeded, engine, actors, clock, tmp_path):
    """张三's online case, accepted, reviewed and granted by the staff."""
    from engine.files import FileStore
    from engine.online import OnlineApplication, apply

    from .helpers import Flow
    from .test_online import GENERAL, SCANS, accept_checked, account

    zhang = account(seeded, clock)
    number = apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), FileStore(tmp_path))
    flow = Flow(engine, seeded, actors)
    accept_checked(flow, number)
    flow.complete("shencha", {"review_result": "pass"}, "符合条件", number=number)
    flow.complete("fuzeren", {"decision": "grant"}, "同意", number=number)
    return number


def test_an_applicant_rates_a_concluded_case_and_complains(server, page, concluded_online_case):
    number = concluded_online_case
    page.goto(f"{server}/hall/my/")
    expect(page).to_have_url(f"{server}/hall/login?next=/hall/my/")
    page.get_by_label("身份证号或统一社会信用代码").fill(ZHANG)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="去评价").click()
    expect(page.locator(".status")).to_have_text("已办结：准予许可")
    expect(page.locator("ol.progress")).to_contain_text("决定：准予许可")
    look_at(page, "hall-case-concluded")
    page.get_by_label("不满意", exact=True).check()
    page.get_by_role("button", name="提交评价").click()
    # said beside the form, in view, with the grade kept
    expect(page.locator("#rating p.error")).to_contain_text("差评请写明不满意的原因")
    expect(page.locator("#rating p.error")).to_be_in_viewport()
    expect(page.get_by_label("不满意", exact=True)).to_be_checked()
    page.get_by_label("评价意见").fill("窗口要求提交清单以外的材料")
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("#rating")).to_contain_text("您的评价：不满意")
    expect(page.get_by_role("button", name="提交评价")).to_have_count(0)

    page.get_by_role("link", name="投诉本办件").click()
    expect(page.get_by_label("投诉的办件")).to_have_value(number)
    look_at(page, "hall-complaint")
    page.get_by_label("投诉内容").fill("受理时要求提交清单以外的材料，往返两次")
    page.get_by_role("button", name="提交投诉").click()
    expect(page.locator("p.flash")).to_contain_text("投诉已提交")
    expect(page.locator("h1")).to_contain_text("12345")
    expect(page.locator(".said")).to_contain_text("往返两次")
    expect(page.get_by_role("link", name=number)).to_be_visible()  # the case complained about
    expect(page.locator("main")).to_contain_text("12345 热线将于")
    expect(page.locator(".status")).to_have_text("待 12345 热线受理")
    expect(page.get_by_role("link", name="投诉本办件")).to_have_count(0)
    page.get_by_role("navigation").get_by_role("link", name="我的办件").click()
    expect(page.locator("table.grid tbody tr")).to_have_count(2)

    # the applicant's session reaches none of the staff's pages; their login page points back to the hall
    page.goto(f"{server}/")
    expect(page).to_have_url(f"{server}/login?next=/")
    look_at(page, "login-with-hall")
    page.get_by_role("link", name="进入网上办事大厅").click()
    expect(page.get_by_role("heading", name="办事指南", level=1)).to_be_visible()


def test_a_walk_in_applicant_tracks_their_case_by_number_and_query_code(server, page, engine, actors, seeded,
                                                                        tmp_path):
    from sqlalchemy import select

    from engine.files import FileStore
    from engine.store.models import Case
    from engine.window import register

    from .test_window import food

    number = register(engine, actors["chuangkou"], food("notice", ("received", "missing", "received", "received", "na")),
                      FileStore(tmp_path)).case
    with seeded.reader() as session:
        code = session.scalar(select(Case.query_code).where(Case.number == number))
    # the receipt the window prints carries the code
    browser_login(page, server, "chuangkou")
    page.goto(f"{server}/cases/{number}/documents/receipt")
    expect(page.locator(".query-code")).to_have_text(code)
    browser_logout(page)
    page.goto(f"{server}/hall/")
    page.get_by_role("link", name="办件查询").click()
    page.get_by_label("办件编号").fill(number)
    page.get_by_label("查询码（6 位数字，见收件凭证）").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("p.error")).to_contain_text("没有找到该办件")
    expect(page.get_by_label("办件编号")).to_have_value(number)
    look_at(page, "hall-track")
    page.get_by_label("查询码（6 位数字，见收件凭证）").fill(code)
    page.get_by_role("button", name="查询").click()
    expect(page.locator(".status")).to_contain_text("待补正")
    expect(page.locator("main")).to_contain_text("携带以上材料到政务服务中心市市场监督管理局窗口补正")
    expect(page.get_by_role("button", name="提交补正材料")).to_have_count(0)
    expect(page.get_by_role("heading", name="评价（好差评）")).to_have_count(0)
    look_at(page, "hall-tracked-case")


def test_an_applicant_withdraws_an_application_after_confirming(server, page, seeded, engine, clock, tmp_path):
    from engine.files import FileStore
    from engine.online import OnlineApplication, apply

    from .test_online import GENERAL, SCANS, account

    number = apply(engine, account(seeded, clock), OnlineApplication("GENERAL", GENERAL, SCANS), FileStore(tmp_path))
    hall_login(page, server)
    page.get_by_role("link", name=number).click()
    page.get_by_label("撤回理由（可不填）").fill("店面转让，不再开办")
    page.get_by_role("button", name="撤回申请").click()
    # the confirmation is required: nothing is sent without it
    expect(page.get_by_label("确认撤回本申请")).to_have_js_property("validity.valueMissing", True)
    page.get_by_label("确认撤回本申请").check()
    page.get_by_role("button", name="撤回申请").click()
    expect(page.locator("p.flash")).to_contain_text("申请已撤回")
    expect(page.locator(".status")).to_have_text("已撤回")
    expect(page.get_by_role("button", name="撤回申请")).to_have_count(0)
    expect(page.get_by_role("heading", name="评价（好差评）")).to_have_count(0)  # nothing to rate
    look_at(page, "hall-case-withdrawn")
    page.get_by_role("link", name="查看办事指南，重新申请").click()
    expect(page.get_by_role("link", name="在线申请")).to_be_visible()


def test_an_applicant_reset_at_the_window_chooses_their_own_password(server, page, seeded, engine, clock):
    from engine.actors import Actor
    from engine.commands import ResetApplicantPassword

    from .test_online import account

    account(seeded, clock)
    temporary = engine.execute(ResetApplicantPassword(login=ZHANG), Actor.system("cli"))
    hall_login(page, server, password=temporary)
    expect(page.get_by_role("heading", name="设置您自己的密码")).to_be_visible()
    look_at(page, "hall-password")
    page.get_by_label("临时密码").fill(temporary)
    page.get_by_label("新密码", exact=True).fill("zhang-new-2026")
    page.get_by_label("再次输入新密码").fill("zhang-new-2026")
    page.get_by_role("button", name="保存新密码").click()
    expect(page.locator("p.flash")).to_contain_text("新密码已设置")
    expect(page.get_by_role("heading", level=1)).to_contain_text("我的办件")


def test_an_administrator_resets_an_applicants_password_at_the_window(server, page):
    browser_login(page, server, "admin")
    page.get_by_role("link", name="组织机构").click()
    page.get_by_role("link", name="办事人账号").click()
    page.get_by_label("证件号码或姓名（单位名称）").fill("王小红")  # the demo applicant
    page.get_by_role("button", name="查找").click()
    expect(page.get_by_role("row").filter(has_text="110105198803152024")).to_contain_text("自然人")
    page.get_by_role("button", name="为 王小红 重置密码").click()
    # not before the ID was checked at the window
    expect(page.get_by_label("已核验证件")).to_have_js_property("validity.valueMissing", True)
    page.get_by_label("已核验证件").check()
    page.get_by_role("button", name="为 王小红 重置密码").click()
    temporary = page.get_by_label("临时密码", exact=True).inner_text()
    assert len(temporary) >= 8
    expect(page.get_by_role("row").filter(has_text="王小红")).to_contain_text("待设置新密码")
    look_at(page, "org-applicants")
    browser_logout(page)
    hall_login(page, server, "110105198803152024", temporary)
    expect(page.get_by_role("heading", name="设置您自己的密码")).to_be_visible()


def test_a_supervisor_follows_up_the_poor_ratings(server, page, seeded, engine, clock, concluded_online_case):
    from engine.online import authenticate, rate

    with seeded.reader() as session:
        zhang = authenticate(session, ZHANG, PASSWORD)
        session.expunge(zhang)
    rate(engine, zhang, concluded_online_case, 1, "窗口要求提交清单以外的材料")
    browser_login(page, server, "jiancha")
    page.get_by_role("link", name="好差评").click()
    expect(page.get_by_role("heading", name="本期评价 1 件，满意率 0.0%")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=concluded_online_case)
    expect(row).to_contain_text("非常不满意")
    expect(row).to_contain_text("窗口要求提交清单以外的材料")
    look_at(page, "supervision-ratings")
    page.get_by_label("只看差评").check()
    page.get_by_role("button", name="查看").click()
    expect(page.get_by_role("row").filter(has_text=concluded_online_case)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=concluded_online_case)).to_contain_text("待下次扫描列入")
    row.get_by_role("link", name=concluded_online_case).click()
    expect(page.locator("main")).to_contain_text("评价（好差评）")
    # the scan makes it a finding (差评整改), which the ratings page links to
    from engine.commands import DetectFindings
    from engine.people import actor_for
    with seeded.reader() as session:
        engine.execute(DetectFindings(), actor_for(session, "jiancha"))
    page.go_back()
    page.get_by_role("row").filter(has_text=concluded_online_case).get_by_role("link", name=re.compile("监察事项第")).click()
    expect(page.locator("main")).to_contain_text("申请人评价“非常不满意”（好差评），须跟进整改")
    look_at(page, "supervision-poor-rating-finding")


def test_the_window_sees_an_online_application_and_is_asked_to_check_its_scans(server, page, seeded, engine, clock,
                                                                            tmp_path):
    from engine.files import FileStore
    from engine.online import OnlineApplication, apply

    from .test_online import GENERAL, SCANS, account

    number = apply(engine, account(seeded, clock), OnlineApplication("GENERAL", GENERAL, SCANS),
                   FileStore(tmp_path))
    browser_login(page, server, "chuangkou")
    row = page.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text("网上申请")
    row.get_by_role("link", name="受理").click()  # the step: its task page
    expect(page.locator("main")).to_contain_text("网上申请的材料尚未核对")
    look_at(page, "task-online-application")
