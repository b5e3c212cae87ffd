"""In headless Chromium (Debian's, driven by Playwright): a 食品经营许可 case from the window,
through a one-time notice, to the 负责人's decision. Screenshots go to test-artifacts/."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from engine import Actor
from engine.commands import StartCase

from .conftest import ROOT

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run")
if not Path(CHROMIUM).exists():  # pragma: no cover - .ci/run installs Debian's chromium
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def server(seeded, engine):
    from werkzeug.serving import make_server

    from web import create_app

    app = create_app({"SECRET_KEY": "browser-test"}, db=seeded, clock=engine.clock)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture
def page():
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        yield context.new_page()
        browser.close()


def login(page, server: str, username: str) -> None:
    page.goto(f"{server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


def logout(page) -> None:
    page.click("text=退出")


def open_task(page, number: str) -> None:
    page.fill("input[name=q]", number)
    page.click("text=搜索")
    page.locator("table.inbox tbody tr").first.locator("td").nth(3).locator("a").click()


def test_a_food_business_licence_from_the_window_to_the_decision(server, page, engine):
    case = engine.execute(StartCase(item="SCJG-SPJY", applicant="某餐饮管理有限公司"), Actor.applicant("某餐饮管理有限公司"))
    number = case.number

    login(page, server, "chuangkou")
    assert number in page.content()
    page.screenshot(path=str(ARTIFACTS / "inbox.png"), full_page=True)
    open_task(page, number)
    page.fill("textarea[name=materials]", "食品安全管理制度目录\n设备布局图（盖章）")
    page.click("text=发出告知")
    assert "已发出一次性告知" in page.content() and "2. 设备布局图（盖章）" in page.content()
    page.click("text=登记收到")
    assert "已登记收到补正材料" in page.content()
    page.goto(f"{server}/")
    open_task(page, number)
    page.check("input[name=acceptance][value=accept]")
    page.fill("textarea[name=opinion]", "补正后材料齐全，予以受理")
    page.click("form.card >> text=提交")
    assert "已办理" in page.content()
    logout(page)

    login(page, server, "shencha")
    open_task(page, number)
    page.check("input[name=review_result][value=pass]")
    page.click("form.card >> text=提交")
    open_task(page, number)
    page.check("input[name=inspection_result][value=conform]")
    page.fill("textarea[name=inspection_notes]", "场所与材料一致")
    page.click("form.card >> text=提交")
    logout(page)

    login(page, server, "fuzeren")
    open_task(page, number)
    page.check("input[name=decision][value=grant]")
    page.fill("textarea[name=opinion]", "同意")
    page.click("form.card >> text=提交")
    page.goto(f"{server}/cases/{number}")
    content = page.content()
    assert "准予许可" in content and "制证发证" in content
    assert page.locator("svg.bpmn g.done").count() >= 4 and page.locator("svg.bpmn g.current").count() == 1
    page.screenshot(path=str(ARTIFACTS / "case.png"), full_page=True)
