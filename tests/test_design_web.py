"""The designer's routes (web/design.py): only designers; the modeler page's own CSP; the JSON
endpoints behind 校验, 一键修复 and 保存草稿; uploads; drafts recorded with who and when."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from engine.store.models import ProcessDraft
from web import create_app
from web.hygiene import CONTENT_SECURITY_POLICY

from .conftest import BPMN
from .helpers import login

FOOD = (BPMN / "food_business_licence.bpmn").read_text(encoding="utf-8")


@pytest.fixture
def app(seeded, engine):
    return create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)


def token(page: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def designer(app):
    client = login(app.test_client(), "sheji")
    page = client.get("/design/items/SCJG-SPJY").get_data(as_text=True)
    return client, {"X-CSRFToken": token(page)}


def drafts(db) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count()).select_from(ProcessDraft))


@pytest.mark.parametrize("path", ["/design/", "/design/items/SCJG-SPJY", "/design/new", "/design/upload",
                                  "/design/drafts/1", "/design/drafts/1/preview",
                                  "/design/source.xml?item=SCJG-SPJY"])
def test_only_designers_open_the_designer_pages(app, path):
    client = login(app.test_client(), "shencha")
    response = client.get(path)
    assert response.status_code == 403 and "设计员" in response.get_data(as_text=True)
    assert "流程设计" not in client.get("/").get_data(as_text=True)  # no menu entry either


def test_json_endpoints_refuse_others_and_posts_without_the_csrf_token(app, seeded):
    client, headers = designer(app)
    assert client.post("/design/lint", json={"xml": FOOD}).status_code == 400  # no token
    other = login(app.test_client(), "admin")
    page = other.get("/admin/calendar").get_data(as_text=True)
    admin_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = other.post("/design/save", json={"xml": FOOD, "item": "SCJG-SPJY"}, headers={"X-CSRFToken": admin_token})
    assert response.status_code == 403 and "设计员" in response.get_json()["message"]
    assert drafts(seeded) == 0


def test_the_designer_sees_items_and_the_menu(app):
    client = login(app.test_client(), "sheji")
    assert "流程设计" in client.get("/").get_data(as_text=True)
    page = client.get("/design/").get_data(as_text=True)
    assert "食品经营许可" in page and "第 1 版" in page and "新建流程图" in page


def test_the_modeler_page_keeps_the_strict_policy_and_links_only_same_origin_files(app):
    client, _ = designer(app)
    modeler = client.get("/design/items/SCJG-SPJY")
    assert modeler.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    html = modeler.get_data(as_text=True)
    assert "vendor/bpmn-js-18.31.1/bpmn-modeler.production.min.js" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)|<style\b|\sstyle\s*=|\son[a-z]+\s*=", html)
    assert all(src.startswith("/static/") for src in re.findall(r'<script src="([^"]+)"', html))
    source = client.get("/design/source.xml?item=SCJG-SPJY")
    assert source.mimetype == "application/xml" and 'id="food_business_licence"' in source.get_data(as_text=True)
    assert client.get("/design/source.xml?item=NOPE").status_code == 404


def test_lint_and_fix_endpoints(app):
    client, headers = designer(app)
    report = client.post("/design/lint", json={"xml": FOOD, "item": "SCJG-SPJY"}, headers=headers).get_json()
    assert report["ok"] and report["problems"] == []
    broken = FOOD.replace('isExecutable="true"', 'isExecutable="false"')
    report = client.post("/design/lint", json={"xml": broken, "item": "SCJG-SPJY"}, headers=headers).get_json()
    assert [p["rule"] for p in report["problems"]] == ["not_executable"] and report["fixable"] == 1
    fixed = client.post("/design/fix", json={"xml": broken}, headers=headers).get_json()
    assert fixed["ok"] and 'isExecutable="true"' in fixed["xml"] and "可执行" in fixed["done"][0]
    response = client.post("/design/lint", json={"nothing": 1}, headers=headers)
    assert response.status_code == 400 and "JSON" in response.get_json()["message"]
    response = client.post("/design/lint", json={"xml": FOOD, "item": "NOPE"}, headers=headers)
    assert response.status_code == 404


def test_saving_keeps_a_draft_with_who_and_when_and_deploys_nothing(app, seeded, engine):
    client, headers = designer(app)
    changed = FOOD.replace('name="制证发证"', 'name="制证发证（新）"')
    result = client.post("/design/save", json={"xml": changed, "item": "SCJG-SPJY", "based_on": 1},
                         headers=headers).get_json()
    assert result["state"] == "待管理员部署" and result["errors"] == 0
    with seeded.reader() as session:
        draft = session.get(ProcessDraft, result["draft"])
        assert (draft.saved_by, draft.saved_at, draft.item.code) == ("sheji", engine.clock.now(), "SCJG-SPJY")
        assert "制证发证（新）" in draft.bpmn_xml and draft.filename == "SCJG-SPJY.bpmn"
    # the item still runs its deployed version
    assert "制证发证（新）" not in client.get("/design/source.xml?item=SCJG-SPJY").get_data(as_text=True)
    assert "制证发证（新）" in client.get(f"/design/source.xml?draft={result['draft']}").get_data(as_text=True)
    page = client.get("/design/").get_data(as_text=True)
    assert "待管理员部署" in page and "严设计" in page and "继续编辑草稿" in page and "预览草稿" in page
    preview = client.get(f"/design/drafts/{result['draft']}/preview").get_data(as_text=True)
    assert "<svg" in preview and "制证发证（新）" in preview and "可以部署" in preview
    # broken XML is refused and nothing is stored
    before = drafts(seeded)
    response = client.post("/design/save", json={"xml": "<bpmn:definitions", "item": "SCJG-SPJY"}, headers=headers)
    assert response.status_code == 400 and "不能保存" in response.get_json()["message"]
    assert drafts(seeded) == before


def test_upload_lists_every_problem_and_keeps_a_draft(app, seeded):
    client = login(app.test_client(), "sheji")
    page = client.get("/design/upload").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    broken = FOOD.replace('isExecutable="true"', 'isExecutable="false"').replace(
        '<bpmn:lane id="L_head" name="负责人">', '<bpmn:lane id="L_head" name="局长">')
    response = client.post("/design/upload", data={"csrf_token": csrf, "item": "SCJG-SPJY",
                                                   "file": (io.BytesIO(broken.encode()), "食品.bpmn")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "没有标记为可执行" in html and "局长" in html and "怎么改" in html
    assert "在设计器中打开" in html and drafts(seeded) == 1
    response = client.post("/design/upload", data={"csrf_token": csrf, "file": (io.BytesIO(b"<bpmn"), "x.bpmn")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "XML 格式错误" in html and "未保存" in html and drafts(seeded) == 1
    response = client.post("/design/upload", data={"csrf_token": csrf, "file": (io.BytesIO(b"hello"), "x.bpmn")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)  # libxml2's English is not shown: the reason in Chinese, line and column
    assert "XML 格式错误（第 1 行第 1 列）：文件开头不是 XML" in html and "Start tag" not in html
    response = client.post("/design/upload", data={"csrf_token": csrf}, content_type="multipart/form-data")
    assert response.status_code == 400 and "请选择" in response.get_data(as_text=True)
