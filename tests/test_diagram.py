"""The case view's diagram: drawn from diagram interchange, states marked, names kept as text."""
from __future__ import annotations

from lxml import etree

from web.diagram import render

from .conftest import BPMN

SVG = "{http://www.w3.org/2000/svg}"


def test_every_flow_node_is_drawn_with_its_state():
    xml = (BPMN / "investment_project.bpmn").read_bytes()
    svg = etree.fromstring(render(xml, {"accept_application": "done", "zrzy_opinion": "current",
                                        "zjj_opinion": "late"}).encode())
    groups = {g.get("data-element"): g.get("class") for g in svg.iter(f"{SVG}g") if g.get("data-element")}
    assert groups["accept_application"] == "node userTask done"
    assert groups["zrzy_opinion"] == "node userTask current" and groups["zjj_opinion"] == "node userTask late"
    assert groups["split"] == "node parallelGateway" and "end_issued" in groups
    assert len(list(svg.iter(f"{SVG}polyline"))) == xml.count(b"<bpmn:sequenceFlow ")  # every flow
    assert any(t.text == "市生态环境局" for t in svg.iter(f"{SVG}text"))  # lane labels


def test_names_from_the_diagram_stay_text():
    xml = (BPMN / "general_approval.bpmn").read_text(encoding="utf-8").replace(
        'name="审查"', 'name="&lt;script&gt;alert(1)&lt;/script&gt;"')
    markup = render(xml)
    assert "<script>" not in markup and "&lt;script&gt;" in markup


def test_a_diagram_without_interchange_draws_nothing():
    xml = (BPMN / "general_approval.bpmn").read_text(encoding="utf-8")
    bare = xml[:xml.index("<bpmndi:BPMNDiagram")] + "</bpmn:definitions>\n"
    assert render(bare) == ""
