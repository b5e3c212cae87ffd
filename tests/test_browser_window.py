"""受理登记 in the browser, as a window clerk does it: the item from the catalogue, the applicant,
the application, the checklist with scans, and the choice made at the window. Screenshots at 1366
and 1024 px in test-artifacts/, axe-core on every page."""
from __future__ import annotations

import pytest

from .helpers import browser_login, look_at
from .test_window import CODE, MAN, WOMAN

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run").expect

PDF = b"%PDF-1.4\n%scan\n%%EOF\n"


def scan(name: str, data: bytes = PDF, mime: str = "application/pdf") -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def fill_company(page) -> None:
    page.check("input[name=applicant_kind][value=legal]")
    page.get_by_label("单位名称").fill("某餐饮管理有限公司")
    page.get_by_label("统一社会信用代码").fill(CODE)
    page.get_by_label("法定代表人").fill("李四")
    page.get_by_label("联系人").fill("王五")
    page.locator("fieldset.legal").get_by_label("联系电话").fill("13800138000")
    page.get_by_label("经营者名称").fill("某餐饮管理有限公司")
    page.get_by_label("经营场所").fill("鼓楼区五四路 1 号")
    page.get_by_label("主体业态").select_option("餐饮服务经营者")
    page.get_by_label("经营面积（平方米）").fill("120")
    page.get_by_label("食品安全管理人员").fill("王五")


def test_a_walk_in_food_licence_registered_with_scans_and_a_one_time_notice(server, page):
    browser_login(page, server, "chuangkou")
    page.get_by_role("link", name="受理登记").click()
    page.get_by_label("事项名称或编码").fill("食品经营")
    page.get_by_role("button", name="查找").click()
    look_at(page, "register-choose")
    page.get_by_role("link", name="登记：食品经营许可").click()
    look_at(page, "register-form")

    fill_company(page)
    page.get_by_label("统一社会信用代码").fill(CODE[:17] + ("0" if CODE[17] != "0" else "1"))  # a typo
    rows = page.locator("fieldset.materials tbody tr")
    for row, status in enumerate(["received", "received", "missing", "deferred", "missing"]):
        rows.nth(row).locator(f"input[value={status}]").check()
    rows.nth(0).locator("input[type=file]").set_input_files([scan("申请书.pdf")])
    rows.nth(1).locator("input[type=file]").set_input_files([scan("营业执照.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32,
                                                                  "image/png")])
    page.get_by_role("button", name="一次性告知补正").click()
    # refused: the wrong code is marked, everything typed is still there
    expect(page.locator("p.error")).to_contain_text("统一社会信用代码校验位不正确")
    expect(page.get_by_label("法定代表人")).to_have_value("李四")
    expect(page.locator("fieldset.materials tbody tr").nth(3).locator("input[value=deferred]")).to_be_checked()
    look_at(page, "register-refused")

    page.get_by_label("统一社会信用代码").fill(CODE)
    rows.nth(0).locator("input[type=file]").set_input_files([scan("申请书.pdf")])
    rows.nth(1).locator("input[type=file]").set_input_files([scan("营业执照.pdf")])
    page.get_by_text("一次性告知：其他需补正的内容").click()
    page.get_by_label("除标为“缺”的必需材料外，还需补正的（每行一项）").fill("法定代表人身份证复印件")
    page.get_by_role("button", name="一次性告知补正").click()
    expect(page.locator("main")).to_contain_text("已发出一次性告知")
    number = page.url.rsplit("/", 1)[-1]
    assert number.startswith("SCJG-SPJY-")
    look_at(page, "register-done")

    # the scan is there to download for the clerk
    page.goto(f"{server}/cases/{number}")
    with page.expect_download() as download:
        page.get_by_role("link", name="申请书.pdf").click()
    assert download.value.suggested_filename == "申请书.pdf"


def test_a_marriage_concluded_at_the_window_the_same_day(server, page):
    browser_login(page, server, "mz_chuangkou")
    page.get_by_role("link", name="受理登记").click()
    page.get_by_role("link", name="登记：结婚登记（内地居民）").click()
    page.check("input[name=applicant_kind][value=natural]")
    page.locator("fieldset.natural").get_by_label("姓名").fill("张三")
    page.locator("fieldset.natural").get_by_label("身份证号").fill(MAN)
    page.locator("fieldset.natural").get_by_label("联系电话").fill("13800138000")
    page.get_by_label("男方姓名").fill("张三")
    page.get_by_label("男方身份证号").fill(MAN)
    page.get_by_label("女方姓名").fill("李梅")
    page.get_by_label("女方身份证号").fill(WOMAN)
    rows = page.locator("fieldset.materials tbody tr")
    for row in range(rows.count()):
        rows.nth(row).locator("input[value=received]").check()
    page.locator("fieldset.decide").get_by_label("已核验").check()
    page.get_by_role("button", name="受理", exact=True).click()
    expect(page.locator("main")).to_contain_text("请继续办理下一环节，当场办结")
    look_at(page, "register-marriage-next")
    expect(page.locator("h1")).to_contain_text("登记发证")
    expect(page.locator("main")).to_contain_text("当日办结")
    page.locator("form.work").get_by_label("准予登记").check()
    page.get_by_label("结婚证字号").fill("J350102-2026-000123")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("main")).to_contain_text("已办理")
    number = page.locator("main").inner_text().split("（")[-1].split("）")[0]
    page.goto(f"{server}/cases/{number}")
    expect(page.locator("p.ends")).to_contain_text("已办结于")
    look_at(page, "register-marriage-concluded")


def test_a_material_accepted_for_later_is_registered_before_the_licence(server, page, engine, actors, flow, tmp_path):
    """容缺受理: the licence step says what is still owed, refuses to issue, and 登记收到 clears it."""
    from engine.files import FileStore
    from engine.window import register

    from .test_window import food
    number = register(engine, actors["chuangkou"], food("accept", ("received", "received", "received", "deferred",
                                                                   "received"), opinion="容缺受理"),
                      FileStore(tmp_path)).case
    flow.complete("shencha", {"review_result": "pass"}, "符合要求", number=number)
    flow.complete("fuzeren", {"decision": "grant"}, "同意", number=number)
    browser_login(page, server, "chuangkou")
    page.get_by_role("row").filter(has_text=number).get_by_role("link", name="制证发证").click()
    owed = page.get_by_role("region", name="容缺材料（领证前须补齐）")
    expect(owed).to_contain_text("食品安全自查")
    page.get_by_label("食品经营许可证编号").fill("JY13501000000001")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("容缺受理的材料尚未补齐")
    look_at(page, "task-deferred-owed")
    owed.get_by_role("button", name="登记收到").click()
    expect(page.locator("p.flash").first).to_contain_text("已登记收到容缺材料")
    expect(page.get_by_role("region", name="容缺材料（领证前须补齐）")).to_have_count(0)
    page.get_by_label("食品经营许可证编号").fill("JY13501000000001")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("p.flash").first).to_be_visible()
    page.goto(f"{server}/cases/{number}")
    expect(page.locator("main")).to_contain_text("收到容缺材料")
