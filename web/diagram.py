"""Draw a process from its BPMN diagram interchange as SVG, on the server, no JavaScript.

Shapes and edges come from ``bpmndi``; each flow node is drawn by its BPMN type and
marked with its state in the case (``done``, ``current``, ``late``) as a CSS class, so
the stylesheet decides the colours and the page prints cleanly. The SVG is built as
an lxml tree: names from the diagram are text nodes, never markup.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from engine.runtime.definitions import NS as BPMN_NS_MAP, parse_xml

SVG = "http://www.w3.org/2000/svg"
NS = {**BPMN_NS_MAP, "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
_TASKS = {"task", "userTask", "manualTask", "scriptTask", "sendTask", "receiveTask", "callActivity", "subProcess"}
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_GATEWAYS = {"exclusiveGateway": "×", "parallelGateway": "+", "inclusiveGateway": "○", "eventBasedGateway": "◇"}


@dataclass(frozen=True)
class Bounds:
    x: float
    y: float
    w: float
    h: float


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _el(parent, tag: str, **attrs) -> etree._Element:
    node = etree.SubElement(parent, f"{{{SVG}}}{tag}")
    for key, value in attrs.items():
        node.set(key.rstrip("_").replace("_", "-"), str(value))
    return node


def _wrap(text: str, width: int) -> list[str]:
    """Chinese has no spaces: break every ``width`` characters, at most three lines."""
    lines = [text[i:i + width] for i in range(0, len(text), width)] or [""]
    return lines[:3] if len(lines) <= 3 else lines[:2] + [lines[2][:-1] + "…"]


def render(bpmn_xml: str | bytes, states: dict[str, str] | None = None, *, title: str = "") -> str:
    """SVG markup of the diagram; ``states`` maps element ids to done / current / late."""
    states = states or {}
    content = bpmn_xml.encode("utf-8") if isinstance(bpmn_xml, str) else bpmn_xml
    root = parse_xml(content, "diagram")
    elements = {n.get("id"): n for n in root.iter() if isinstance(n.tag, str) and n.get("id")}
    shapes = []
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        bounds = shape.find("dc:Bounds", NS)
        if bounds is None:
            continue
        b = Bounds(*(float(bounds.get(k, 0)) for k in ("x", "y", "width", "height")))
        shapes.append((shape.get("bpmnElement"), b))
    edges = []
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        points = [(float(p.get("x", 0)), float(p.get("y", 0))) for p in edge.iterfind("di:waypoint", NS)]
        if len(points) >= 2:
            edges.append((edge.get("bpmnElement"), points))
    if not shapes:
        return ""
    min_x = min(b.x for _, b in shapes) - 10
    min_y = min(b.y for _, b in shapes) - 10
    max_x = max(b.x + b.w for _, b in shapes) + 10
    max_y = max([b.y + b.h for _, b in shapes] + [y for _, pts in edges for _, y in pts]) + 20
    svg = etree.Element(f"{{{SVG}}}svg", nsmap={None: SVG})
    svg.set("viewBox", f"{min_x:g} {min_y:g} {max_x - min_x:g} {max_y - min_y:g}")
    svg.set("class", "bpmn")
    svg.set("role", "img")
    _el(svg, "title").text = title or "流程图"
    defs = _el(svg, "defs")
    marker = _el(defs, "marker", id="arrow", viewBox="0 0 10 10", refX=9, refY=5, markerWidth=7, markerHeight=7,
                 orient="auto-start-reverse")
    _el(marker, "path", d="M 0 0 L 10 5 L 0 10 z", class_="arrowhead")

    # pools and lanes first, then edges, then flow nodes on top
    for element_id, b in shapes:
        kind = _local(elements[element_id].tag) if element_id in elements else ""
        if kind in ("participant", "lane"):
            _el(svg, "rect", x=b.x, y=b.y, width=b.w, height=b.h, class_=kind)
            label = _el(svg, "text", x=b.x + 15, y=b.y + b.h / 2, class_=f"{kind}-label",
                        transform=f"rotate(-90 {b.x + 15:g} {b.y + b.h / 2:g})")
            label.set("text-anchor", "middle")
            label.text = elements[element_id].get("name") or ""
    for element_id, points in edges:
        _el(svg, "polyline", points=" ".join(f"{x:g},{y:g}" for x, y in points), class_="flow",
            marker_end="url(#arrow)")
        name = elements.get(element_id).get("name") if element_id in elements else None
        if name:
            (x1, y1), (x2, y2) = points[0], points[1]
            text = _el(svg, "text", x=(x1 + x2) / 2 + 4, y=(y1 + y2) / 2 - 4, class_="flow-label")
            text.text = name
    for element_id, b in shapes:
        node = elements.get(element_id)
        if node is None:
            continue
        kind = _local(node.tag)
        state = states.get(element_id, "")
        group = _el(svg, "g", class_=f"node {kind} {state}".strip())
        group.set("data-element", element_id)
        name = node.get("name") or ""
        if name:
            _el(group, "title").text = name
        if kind in _TASKS:
            _el(group, "rect", x=b.x, y=b.y, width=b.w, height=b.h, rx=10, ry=10, class_="shape")
            lines = _wrap(name, max(4, int(b.w // 14)))
            for i, line in enumerate(lines):
                text = _el(group, "text", x=b.x + b.w / 2, y=b.y + b.h / 2 + (i - (len(lines) - 1) / 2) * 16 + 5)
                text.set("text-anchor", "middle")
                text.text = line
        elif kind in _EVENTS:
            cx, cy, r = b.x + b.w / 2, b.y + b.h / 2, min(b.w, b.h) / 2
            _el(group, "circle", cx=cx, cy=cy, r=r, class_="shape")
            if node.find("bpmn:timerEventDefinition", NS) is not None:
                _el(group, "circle", cx=cx, cy=cy, r=r - 4, class_="timer")
            if name:
                text = _el(group, "text", x=cx, y=b.y + b.h + 14, class_="event-label")
                text.set("text-anchor", "middle")
                text.text = name
        elif kind in _GATEWAYS:
            cx, cy = b.x + b.w / 2, b.y + b.h / 2
            _el(group, "polygon", points=f"{cx:g},{b.y:g} {b.x + b.w:g},{cy:g} {cx:g},{b.y + b.h:g} {b.x:g},{cy:g}",
                class_="shape")
            mark = _el(group, "text", x=cx, y=cy + 7, class_="gateway-mark")
            mark.set("text-anchor", "middle")
            mark.text = _GATEWAYS[kind]
    return etree.tostring(svg, encoding="unicode")


#: Drawn diagrams by process version (content hash), element states and title. A case page
#: draws its case's diagram; cases of one version at the same steps share the drawing, so a
#: process keeps a few dozen of them at most.
_DRAWN: dict[tuple, str] = {}
DRAWN_KEEP = 512


def render_cached(content_hash: str, load_xml, states: dict[str, str], *, title: str = "") -> str:
    """``render`` once per (version, states, title) in this process; ``load_xml()`` is only
    called to draw a new one. A version's BPMN never changes (a new one is a new version)."""
    key = (content_hash, tuple(sorted(states.items())), title)
    svg = _DRAWN.get(key)
    if svg is None:
        svg = render(load_xml(), states, title=title)
        if len(_DRAWN) >= DRAWN_KEEP:
            _DRAWN.clear()  # simple and rare: a few hundred distinct drawings
        _DRAWN[key] = svg
    return svg


def task_states(tasks, late_alerts=("yellow", "red")) -> dict[str, str]:
    """Element states from a case's task rows: a ready task is current (or late), a completed one done."""
    states: dict[str, str] = {}
    for task in tasks:
        if task.kind != "bpmn":
            continue
        if task.state == "ready":
            states[task.element_id] = "late" if task.alert in late_alerts else "current"
        elif task.state == "completed" and task.element_id not in states:
            states[task.element_id] = "done"
    return states
