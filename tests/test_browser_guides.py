"""In headless Chromium, as the administrator: open 食品经营许可's 办事指南 from the items list, add a
material (two copies, 复印件, 可容缺) and shorten the promised limit with a reason, see it in the
时限变更记录, export the YAML; then type bad values and get every problem in Chinese on its field,
with nothing changed. The window's registration page lists the new material for a new application,
while a case registered before keeps its limits. Screenshots at 1366 and 1024 px and axe."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import Actor
from engine.catalogue import read_entry
from engine.commands import StartCase
from engine.store.models import Case, Item

from .helpers import browser_login, look_at, new_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)  # what the file store recognises as PNG
expect = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run").expect


def item(db, code="SCJG-SPJY"):
    with db.reader() as session:
        row = session.scalar(select(Item).where(Item.code == code))
        return row.guide, row.time_policy


def test_admin_edits_materials_and_a_limit_sees_the_record_exports_and_is_told_what_is_wrong(server, page, engine,
                                                                                             seeded):
    earlier = engine.execute(StartCase(item="SCJG-SPJY", applicant="某餐饮管理有限公司"),
                             Actor.applicant("某餐饮管理有限公司")).number
    browser_login(page, server, "admin")
    with page.expect_navigation():  # it may reload the first page one is on: wait for it
        page.get_by_role("link", name="流程版本").click()
    look_at(page, "guide-items")
    page.get_by_role("row", name="食品经营许可 SCJG-SPJY").get_by_role("link", name="办事指南").click()
    expect(page.locator("h1")).to_contain_text("食品经营许可")
    expect(page.get_by_label("法定时限", exact=True)).to_have_value("20")
    look_at(page, "guide")

    new = page.locator("fieldset.material", has=page.get_by_text("新增材料")).first
    new.get_by_label("名称").fill("从业人员健康证明")
    new.get_by_label("份数").fill("2")
    new.get_by_label("形式").select_option("复印件")
    new.get_by_label("可容缺受理").check()
    new.get_by_label("上传示范文件（PDF、JPEG、PNG）").set_input_files(
        files=[{"name": "健康证明示范.png", "mimeType": "image/png", "buffer": PNG}])
    page.get_by_label("承诺时限", exact=True).fill("8")
    page.get_by_role("button", name="保存办事指南").click()
    expect(page.locator("#err-reason")).to_have_text("修改时限须说明理由")  # nothing saved yet
    assert item(seeded)[1]["promised_days"] == 10
    page.get_by_label("变更理由").fill("落实市政府提速要求")
    page.get_by_role("button", name="保存办事指南").click()
    expect(page.get_by_text("办事指南已保存")).to_be_visible()
    record = page.locator("section", has=page.get_by_role("heading", name="时限变更记录"))
    expect(record).to_contain_text("承诺时限：10 个工作日 → 8 个工作日")
    expect(record).to_contain_text("钱管理")  # the administrator by name, not login
    expect(record).to_contain_text("落实市政府提速要求")
    guide, policy = item(seeded)
    sample = guide["materials"][-1].pop("sample_file")
    assert guide["materials"][-1] == {"name": "从业人员健康证明", "required": True, "deficiency_allowed": True,
                                      "copies": 2, "provided": "复印件"}
    assert sample["filename"] == "健康证明示范.png" and sample["content_type"] == "image/png"
    guide["materials"][-1]["sample_file"] = sample
    with page.expect_download() as download:
        page.get_by_role("link", name="健康证明示范.png").click()
    assert open(download.value.path(), "rb").read() == PNG
    assert policy["promised_days"] == 8
    look_at(page, "guide-saved")

    with page.expect_download() as download:
        page.get_by_role("link", name="导出 YAML").click()
    exported = read_entry(open(download.value.path(), "rb").read(), download.value.suggested_filename)
    assert download.value.suggested_filename == "food_business_licence.yaml"
    assert exported.data["limits"]["promised_days"] == 8 and exported.data["materials"][-1]["copies"] == 2

    # bad values: every problem on its field, in Chinese, and nothing changes
    page.get_by_label("法定时限", exact=True).fill("二十")
    page.locator("fieldset.material").first.get_by_label("份数").fill("0")
    page.get_by_label("投诉电话").fill("请拨打热线")
    page.get_by_label("受理条件（每行一条）").fill("")
    page.get_by_label("变更理由").fill("试错")
    page.locator("fieldset.material").nth(1).get_by_label("上传示范文件（PDF、JPEG、PNG）").set_input_files(
        files=[{"name": "说明.txt", "mimeType": "text/plain", "buffer": "请按要求填写".encode()}])
    page.get_by_role("button", name="保存办事指南").click()
    expect(page.get_by_role("heading", name="有 5 处需要修改，未保存")).to_be_visible()
    expect(page.locator("#err-materials-1-sample_file")).to_contain_text("只接收 PDF、JPEG、PNG 格式")
    listed = page.locator(".problems li a").all_inner_texts()  # in the order of the page
    assert listed == ["受理条件", "材料 1 · 份数", "材料 2 · 示范文件", "投诉电话", "法定时限"]
    expect(page.locator("#err-limits-statutory_days")).to_have_text("应为整数，收到 '二十'")
    expect(page.locator("#err-materials-0-copies")).to_have_text("应不小于 1，收到 0")
    expect(page.locator("#err-complaint-phone")).to_have_text(
        "格式不对（应为 3 到 20 位数字或连字符，如 12345、0571-87654321），收到 '请拨打热线'")
    expect(page.locator("#err-conditions")).to_have_text("不能为空")
    expect(page.get_by_label("法定时限", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("法定时限", exact=True)).to_have_value("二十")  # what was typed stays to be corrected
    assert item(seeded) == (guide, policy)
    look_at(page, "guide-problems")
    page.get_by_role("link", name="法定时限").click()
    expect(page.get_by_label("法定时限", exact=True)).to_be_in_viewport()

    # the window: a new application is asked for the new material; the earlier case keeps its limits
    # the clerk at another desk: a browser context of their own (clearing the administrator's
    # cookies on this page raced with the page's own requests and lost the login form's token)
    clerk_context, page = new_page(page.context.browser)
    browser_login(page, server, "chuangkou")
    page.goto(f"{server}/register/SCJG-SPJY")
    new_material = page.get_by_role("cell", name="从业人员健康证明", exact=False).first
    expect(new_material).to_contain_text("复印件 2 份")
    with page.expect_download() as download:
        new_material.get_by_role("link", name="示范文本：健康证明示范.png").click()
    assert open(download.value.path(), "rb").read() == PNG
    look_at(page, "guide-register")
    with seeded.reader() as session:
        assert session.scalar(select(Case).where(Case.number == earlier)).time_policy["promised_days"] == 10
    clerk_context.close()
