"""The case view's diagram: drawn from diagram interchange, states marked (not by colour alone),
names kept as text, labels placed without covering shapes or each other, everything inside the
picture and the pool, legible at the service centre's screen widths, zoomable."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine import Actor
from engine.commands import CompleteTask, StartCase
from engine.deploy import deploy
from web import create_app
from web.diagram import Box, layout, lines_for, render, wrap

from .conftest import BPMN
from .helpers import ARTIFACTS, SCREEN_WIDTHS, browser_login, look_at, login

SVG = "{http://www.w3.org/2000/svg}"
SHIPPED = sorted(BPMN.glob("*.bpmn"))


def _without_interchange(path: Path) -> str:
    xml = path.read_text(encoding="utf-8")
    return xml[:xml.index("<bpmndi:BPMNDiagram")] + "</bpmn:definitions>\n"


def test_every_flow_node_is_drawn_with_its_state():
    xml = (BPMN / "investment_project.bpmn").read_bytes()
    svg = etree.fromstring(render(xml, {"accept_application": "done", "zrzy_opinion": "current",
                                        "zjj_opinion": "late"}).encode())
    groups = {g.get("data-element"): g for g in svg.iter(f"{SVG}g") if g.get("data-element")}
    assert groups["accept_application"].get("class") == "node userTask done"
    assert groups["zrzy_opinion"].get("class") == "node userTask current"
    assert groups["zjj_opinion"].get("class") == "node userTask late"
    assert groups["split"].get("class") == "node parallelGateway" and "end_issued" in groups
    assert len(list(svg.iter(f"{SVG}polyline"))) == xml.count(b"<bpmn:sequenceFlow ")  # every flow
    texts = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
    assert "市生态环境局" in texts and "是否受理" in texts and "予以受理" in texts  # lane, gateway and flow labels
    # not colour alone: a mark in the shape, and a dashed outline around the current step
    marks = {key: [t.text for t in g.iter(f"{SVG}text") if "badge-mark" in (t.get("class") or "")]
             for key, g in groups.items()}
    assert marks["accept_application"] == ["✓"] and marks["zrzy_opinion"] == ["▶"] and marks["zjj_opinion"] == ["!"]
    assert marks["sthj_opinion"] == [] and groups["zrzy_opinion"].find(f"{SVG}rect[@class='halo']") is not None


def test_the_picture_is_an_image_described_in_chinese_with_the_current_step():
    xml = (BPMN / "food_business_licence.bpmn").read_bytes()
    svg = etree.fromstring(render(xml, {"accept_application": "done", "review_materials": "done",
                                        "decide": "current"}, title="食品经营许可 流程图").encode())
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "diagram-title diagram-desc"
    assert svg.find(f"{SVG}title").text == "食品经营许可 流程图"
    desc = svg.find(f"{SVG}desc").text
    assert "当前环节：审批决定。" in desc and "已办环节：受理、材料审查。" in desc and "现场核查" in desc


def test_names_from_the_diagram_stay_text():
    xml = (BPMN / "general_approval.bpmn").read_text(encoding="utf-8").replace(
        'name="审查"', 'name="&lt;script&gt;alert(1)&lt;/script&gt;"')
    markup = render(xml)
    assert "<script>" not in markup and "&lt;script&gt;" in markup


def test_a_diagram_without_interchange_draws_nothing():
    for path in SHIPPED:
        assert render(_without_interchange(path)) == "" and layout(_without_interchange(path)) is None


def test_chinese_wraps_per_character_and_keeps_closing_punctuation_on_the_line():
    assert wrap("环境影响评价审查意见", 5 * 14, 14) == ["环境影响评", "价审查意见"]
    assert wrap("卫生检测（不计入办理时限）", 6 * 14, 14) == ["卫生检测（不", "计入办理时限）"]
    assert wrap("一二三四五六七八九十", 3 * 14, 14, max_lines=2) == ["一二三", "四五…"]
    assert wrap("Review of site", 8 * 14 * 0.62, 14) == ["Review", "of site"]
    # names in a box: even lines, and a bracketed part on its own line where that fits
    assert lines_for("环境影响评价审查意见", 98, 14) == ["环境影响评", "价审查意见"]
    assert lines_for("初审（含现场核查）", 98, 14) == ["初审", "（含现场核查）"]
    assert lines_for("卫生检测（不计入办理时限）", 98, 14, max_lines=4) == ["卫生检测", "（不计入办", "理时限）"]
    assert lines_for("市场监督管理局（承诺件）", 300, 12) == ["市场监督管理局（承诺件）"]


def _problems(path: Path) -> list[str]:
    """Everything a designer would object to in the drawing of one diagram."""
    out = layout(path.read_bytes())
    assert out is not None, f"{path.name}: nothing drawn"
    found = []
    shapes = {s.element_id: s for s in out.shapes}
    pools = [c for c in out.containers if c.kind == "participant"]
    texts = [label for label in out.labels if label.kind in ("task", "event", "gateway", "flow")]
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if a.box.overlaps(b.box):
                found.append(f"label {a.lines} overlaps label {b.lines}")
        for s in out.shapes:
            if s.element_id != a.element_id and a.box.overlaps(s.box):
                found.append(f"label {a.lines} overlaps shape {s.name or s.element_id}")
        if a.kind == "task" and not a.box.inside(shapes[a.element_id].box):
            found.append(f"task name {a.lines} spills out of its box")
        if a.kind != "task":
            for element_id, points in out.edges:
                if any(a.box.crosses(p, q) for p, q in zip(points, points[1:])):
                    found.append(f"label {a.lines} is crossed by flow {element_id}")
        if not any(a.box.inside(p.box) for p in pools):
            found.append(f"label {a.lines} outside every pool")
    for s in out.shapes:
        if not any(s.box.inside(p.box) for p in pools):
            found.append(f"{s.kind} {s.name or s.element_id} outside every pool")
    for element_id, points in out.edges:
        if not any(all(Box(x, y, 0, 0).inside(p.box) for x, y in points) for p in pools):
            found.append(f"flow {element_id} leaves its pool")
    boxes = [s.box for s in out.shapes + out.containers] + [label.box for label in out.labels]
    boxes += [Box(x, y, 0, 0) for _, points in out.edges for x, y in points]
    found += [f"{b} outside the picture" for b in boxes if not b.inside(out.view)]
    found += [f"{name} has no shape" for name in out.missing]
    return found


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_diagram_is_drawn_cleanly(path):
    assert _problems(path) == []
    svg = etree.fromstring(render(path.read_bytes()).encode())
    out = layout(path.read_bytes())
    view = out.view
    assert svg.get("viewBox") == f"{view.x:g} {view.y:g} {view.w:g} {view.h:g}"
    assert float(svg.get("width")) == view.w  # natural size: task names at 14 px before any fitting
    # the text drawn is the text laid out: every line of every label is in the picture
    drawn = [t.text for t in svg.iter(f"{SVG}tspan")]
    assert sorted(drawn) == sorted(line for label in out.labels for line in label.lines)


def test_label_bounds_from_the_interchange_are_used():
    xml = (BPMN / "general_approval.bpmn").read_text(encoding="utf-8")
    shape = '<bpmndi:BPMNShape id="end_refused_di" bpmnElement="end_refused">'
    assert shape in xml
    start = xml.index(shape)
    end = xml.index("</bpmndi:BPMNShape>", start)
    xml = xml[:end] + '<bpmndi:BPMNLabel><dc:Bounds x="540" y="60" width="60" height="20" /></bpmndi:BPMNLabel>' + xml[end:]
    label = next(la for la in layout(xml).labels if la.element_id == "end_refused")
    assert label.from_di and label.box.y == 60 and abs(label.box.x + label.box.w / 2 - 570) < 0.01


def test_the_case_page_says_when_a_process_cannot_be_drawn(seeded, engine, clock):
    with seeded.transaction() as session:
        deploy(session, _without_interchange(BPMN / "general_approval.bpmn").encode(), "bare.bpmn", "BARE",
               deployed_by="test", at=clock.now(), department_code="scjg", item_name="无图示的审批")
    case = engine.execute(StartCase(item="BARE", applicant="张三"), Actor.applicant("张三"))
    app = create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)
    response = login(app.test_client(), "chuangkou").get(f"/cases/{case.number}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "无法绘制流程图" in page and "<svg" not in page
    assert "办理环节" in page and "受理" in page


# ---------------------------------------------------------------- in the browser

_TASK_TEXT = """() => {
  const svg = document.querySelector('svg.bpmn');
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll('text.task-label')].map(t => ({
    name: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale,
    height: Math.min(...[...t.querySelectorAll('tspan')].map(s => s.getBoundingClientRect().height)),
    inside: (() => { const r = t.getBoundingClientRect(), b = t.parentNode.querySelector('rect.shape').getBoundingClientRect();
                     return r.left >= b.left && r.right <= b.right && r.top >= b.top && r.bottom <= b.bottom; })()}));
}"""


def _width(page) -> float:
    return float(page.locator("svg.bpmn").get_attribute("width"))


@pytest.mark.browser
@pytest.mark.slow
def test_diagrams_are_legible_and_zoom_in_the_browser(server, page, engine, flow):
    food = engine.execute(StartCase(item="SCJG-SPJY", applicant="某餐饮管理有限公司"), Actor.applicant("某餐饮管理有限公司"))
    flow.complete("chuangkou", {"acceptance": "accept"}, number=food.number)
    investment = engine.execute(StartCase(item="FGW-TZXM", applicant="某新能源科技有限公司"),
                                Actor.applicant("某新能源科技有限公司"))
    flow.complete("fgw_chuangkou", {"acceptance": "accept"}, number=investment.number)

    for user, case, name, current in (("chuangkou", food, "food", ["材料审查"]),
                                      ("fgw_chuangkou", investment, "investment",
                                       ["用地预审与选址意见", "环境影响评价审查意见", "建设条件审查意见"])):
        browser_login(page, server, user)
        for width in SCREEN_WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{server}/cases/{case.number}")
            page.wait_for_selector("svg.bpmn[data-scale]")
            labels = page.evaluate(_TASK_TEXT)
            assert labels and all(la["px"] >= 12 and la["height"] >= 12 for la in labels), (name, width, labels)
            assert all(la["inside"] for la in labels), (name, width, labels)
            # the picture never spills out of the page: the canvas scrolls instead
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        desc = page.locator("svg.bpmn desc").text_content()
        assert all(step in desc for step in current) and "已办环节：" in desc
        assert page.locator("svg.bpmn g.done").count() == 1 and page.locator("svg.bpmn g.current").count() == len(current)

        fitted = _width(page)
        page.get_by_role("button", name="放大").click()
        assert _width(page) == pytest.approx(fitted * 1.25, rel=0.01)
        assert "显示比例" in page.locator(".diagram-tools output").text_content()
        page.get_by_role("button", name="缩小").click()
        page.get_by_role("button", name="缩小").click()
        assert _width(page) == pytest.approx(fitted / 1.25, rel=0.01)
        page.get_by_role("button", name="适应宽度").click()  # the whole width, smaller text
        canvas = page.locator(".diagram-canvas")
        assert _width(page) <= canvas.evaluate("c => c.clientWidth") and _width(page) <= fitted
        page.get_by_role("button", name="还原").click()
        assert _width(page) == pytest.approx(fitted, rel=0.01)
        # by keyboard: the buttons are reachable with Tab, the canvas takes + − 9 0
        page.get_by_role("button", name="放大").focus()
        page.keyboard.press("Enter")
        assert _width(page) == pytest.approx(fitted * 1.25, rel=0.01)
        page.get_by_role("region", name="流程图画布").focus()
        page.keyboard.press("0")
        assert _width(page) == pytest.approx(fitted, rel=0.01)
        page.keyboard.press("-")
        assert _width(page) == pytest.approx(fitted / 1.25, rel=0.01)
        page.keyboard.press("9")
        assert _width(page) <= canvas.evaluate("c => c.clientWidth")
        page.keyboard.press("0")
        if _width(page) > canvas.evaluate("c => c.clientWidth"):  # a large process says it scrolls
            assert "可滚动查看" in page.locator(".diagram-tools output").text_content()
        look_at(page, f"diagram-{name}")
        page.locator("figure.diagram").screenshot(path=str(ARTIFACTS / f"diagram-{name}-figure.png"))  # close up
        page.click("text=退出")
