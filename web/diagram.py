"""Draw a process from its BPMN diagram interchange as SVG, on the server.

Shapes, edge waypoints and label bounds come from ``bpmndi``; where a label has no bounds of
its own (most of ours), a small layout step places it: it tries positions along the edge or
around the element, and takes the first that covers no shape, no other label and (if it can)
no line, inside the pool. Each flow node is drawn by its BPMN type and marked with its state in
the case (``done``, ``current``, ``late``) as a CSS class *and* a mark (✓, a dashed outline,
!), so colour is not the only sign. Task names wrap inside their box (Chinese per character).

The SVG has its natural size in pixels (one diagram unit = 1 px, task names at 14 px); the
page's script (static/diagram.js) fits it to the width without going below legible, and offers
zoom. Built as an lxml tree: names from the diagram are text nodes, never markup. A diagram
without interchange gives no drawing (the page says it cannot draw it), never an error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from lxml import etree

from engine.runtime.definitions import NS as BPMN_NS_MAP, parse_xml

SVG = "http://www.w3.org/2000/svg"
NS = {**BPMN_NS_MAP, "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
_TASKS = {"task", "userTask", "manualTask", "scriptTask", "sendTask", "receiveTask", "callActivity", "subProcess",
          "serviceTask", "businessRuleTask"}
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_GATEWAYS = {"exclusiveGateway": "×", "parallelGateway": "+", "inclusiveGateway": "○", "eventBasedGateway": "◇",
             "complexGateway": "*"}
_CONTAINERS = {"participant", "lane"}

TASK_FONT = 14     # task names, in diagram units (= px at natural size)
LABEL_FONT = 13    # event, gateway and flow labels
LANE_FONT = 12     # pool and lane names, rotated in their 30-unit header band
MIN_TASK_PX = 12   # the page never fits the diagram so small that task names go below this
MARGIN = 12
_LINE = 1.25       # line height, in ems
_NO_LINE_START = set("）)」』】》〉，,。.、；;：:！!？?…")
STATE_NAMES = {"done": "已办", "current": "当前", "late": "超时"}


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def overlaps(self, other: "Box", pad: float = 0) -> bool:
        return (self.x < other.right + pad and other.x < self.right + pad
                and self.y < other.bottom + pad and other.y < self.bottom + pad)

    def inside(self, other: "Box") -> bool:
        return (other.x <= self.x and other.y <= self.y
                and self.right <= other.right and self.bottom <= other.bottom)

    def crosses(self, a: tuple[float, float], b: tuple[float, float], pad: float = 1) -> bool:
        """Whether the segment a–b (ours are horizontal or vertical; others by sampling) enters the box."""
        box = Box(self.x - pad, self.y - pad, self.w + 2 * pad, self.h + 2 * pad)
        steps = max(1, int(max(abs(b[0] - a[0]), abs(b[1] - a[1])) // 4))
        for i in range(steps + 1):
            x, y = a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps
            if box.x < x < box.right and box.y < y < box.bottom:
                return True
        return False


@dataclass
class Shape:
    element_id: str
    kind: str
    name: str
    box: Box
    timer: bool = False


@dataclass
class Label:
    """Text outside a shape (events, gateways, flows), or a task's name inside its box."""
    element_id: str
    kind: str               # "task", "event", "gateway", "flow", "participant", "lane"
    lines: list[str]
    box: Box
    size: float
    from_di: bool = False


@dataclass
class Layout:
    shapes: list[Shape] = field(default_factory=list)      # flow nodes
    containers: list[Shape] = field(default_factory=list)  # pools and lanes
    edges: list[tuple[str, list[tuple[float, float]]]] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)       # names of flow nodes the interchange leaves out
    view: Box = Box(0, 0, 0, 0)


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _el(parent, tag: str, **attrs) -> etree._Element:
    node = etree.SubElement(parent, f"{{{SVG}}}{tag}")
    for key, value in attrs.items():
        node.set(key.rstrip("_").replace("_", "-"), f"{value:g}" if isinstance(value, float) else str(value))
    return node


def _num(node, key: str) -> float:
    try:
        return float(node.get(key, 0))
    except (TypeError, ValueError):
        return 0.0


def _box(bounds) -> Box:
    return Box(*(_num(bounds, k) for k in ("x", "y", "width", "height")))


def text_width(text: str, size: float) -> float:
    """A safe estimate: CJK and full-width characters are one em, others about 0.6 em."""
    return sum(size if ord(c) >= 0x2E80 else size * 0.62 for c in text)


def wrap(text: str, width: float, size: float, max_lines: int | None = None) -> list[str]:
    """Break ``text`` into lines no wider than ``width``: Chinese per character, Latin at spaces
    where it can; closing punctuation never starts a line; an overflowing last line ends in …."""
    lines: list[str] = []
    line = ""
    for char in text:
        if line and text_width(line + char, size) > width and char not in _NO_LINE_START:
            if char != " " and line[-1] != " " and ord(char) < 0x2E80 and " " in line:
                head, _, tail = line.rpartition(" ")  # keep a Latin word whole
                lines.append(head)
                line = tail
            else:
                lines.append(line.rstrip())
                line = ""
            if char == " ":
                continue
        line += char
    lines.append(line)
    lines = [ln for ln in lines if ln] or [""]
    if max_lines and len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and text_width(last + "…", size) > width:
            last = last[:-1]
        lines = lines[:max_lines - 1] + [last + "…"]
    return lines


def balanced(text: str, width: float, size: float) -> float:
    """A line width no wider than ``width`` that splits ``text`` into lines of even length
    (七个字 + 三个字 reads worse than 五 + 五)."""
    total = text_width(text, size)
    lines = max(1, -(-total // width))
    return min(width, total / lines + size * 0.99)


def lines_for(text: str, width: float, size: float, max_lines: int | None = None) -> list[str]:
    """The lines of a name in a box ``width`` wide: evenly split, but a name that needs more than
    one line and has a part in brackets (初审（含现场核查）) breaks before the bracket if it can."""
    plain = wrap(text, balanced(text, width, size), size, max_lines)
    opening = text.find("（", 1)
    if len(plain) > 1 and opening > 0:
        head, tail = text[:opening], text[opening:]
        split = wrap(head, balanced(head, width, size), size) + wrap(tail, balanced(tail, width, size), size)
        if len(split) <= min(len(plain) + 1, max_lines or len(split)):
            return split
    return plain


def _text_box(lines: list[str], size: float) -> tuple[float, float]:
    return max(text_width(ln, size) for ln in lines) + 4, len(lines) * size * _LINE + 2


# ---------------------------------------------------------------- layout

def layout(bpmn_xml: str | bytes) -> Layout | None:
    """Shapes, edges and placed labels of the diagram; None when it has no interchange to draw."""
    content = bpmn_xml.encode("utf-8") if isinstance(bpmn_xml, str) else bpmn_xml
    root = parse_xml(content, "diagram")
    elements = {n.get("id"): n for n in root.iter() if isinstance(n.tag, str) and n.get("id")}
    out = Layout()
    label_bounds: dict[str, Box] = {}
    for di in root.iterfind(".//bpmndi:BPMNShape", NS):
        bounds, node = di.find("dc:Bounds", NS), elements.get(di.get("bpmnElement"))
        if bounds is None or node is None:
            continue
        kind = _local(node.tag)
        shape = Shape(node.get("id"), kind, (node.get("name") or "").strip(), _box(bounds),
                      timer=node.find("bpmn:timerEventDefinition", NS) is not None)
        if shape.box.w <= 0 or shape.box.h <= 0:
            continue
        (out.containers if kind in _CONTAINERS else out.shapes).append(shape)
        label = di.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        if label is not None:
            label_bounds[shape.element_id] = _box(label)
    for di in root.iterfind(".//bpmndi:BPMNEdge", NS):
        node = elements.get(di.get("bpmnElement"))
        points = [(_num(p, "x"), _num(p, "y")) for p in di.iterfind("di:waypoint", NS)]
        if node is None or len(points) < 2:
            continue
        out.edges.append((node.get("id"), points))
        label = di.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        if label is not None:
            label_bounds[node.get("id")] = _box(label)
    if not out.shapes:
        return None
    drawn = {s.element_id for s in out.shapes}
    out.missing = [n.get("name") or n.get("id") for n in elements.values()
                   if _local(n.tag) in _TASKS | _EVENTS | set(_GATEWAYS) and n.get("id") not in drawn]
    _place_labels(out, elements, label_bounds)
    out.view = _view(out)
    return out


def _pool_of(out: Layout, box: Box) -> Box | None:
    pools = [c.box for c in out.containers if c.kind == "participant"]
    return next((p for p in pools if box.overlaps(p)), None)


def _place_labels(out: Layout, elements: dict, label_bounds: dict[str, Box]) -> None:
    obstacles = [s.box for s in out.shapes]
    # the header bands with the pool and lane names
    bands = [Box(c.box.x, c.box.y, 30, c.box.h) for c in out.containers]
    segments = [(a, b) for _, pts in out.edges for a, b in zip(pts, pts[1:])]
    # lane borders too: a label sitting on the line between two lanes reads as belonging to neither
    segments += [((c.box.x, y), (c.box.right, y)) for c in out.containers for y in (c.box.y, c.box.bottom)]
    placed: list[Box] = []

    for c in out.containers:  # rotated names in the header band: the box is the band
        if c.name:
            lines = lines_for(c.name, c.box.h - 12, LANE_FONT, max_lines=2)
            out.labels.append(Label(c.element_id, c.kind, lines, Box(c.box.x, c.box.y, 30, c.box.h), LANE_FONT))

    for s in out.shapes:  # names inside task boxes
        if s.kind in _TASKS and s.name:
            max_lines = max(1, int((s.box.h - 8) // (TASK_FONT * _LINE)))
            lines = lines_for(s.name, s.box.w - 12, TASK_FONT, max_lines=max_lines)
            w, h = _text_box(lines, TASK_FONT)
            out.labels.append(Label(s.element_id, "task", lines,
                                    Box(s.box.x + (s.box.w - w) / 2, s.box.y + (s.box.h - h) / 2, w, h), TASK_FONT))

    def free(box: Box, pool: Box | None, strict: int) -> bool:
        if any(box.overlaps(o, 2) for o in obstacles) or any(box.overlaps(p, 2) for p in placed):
            return False
        if any(box.overlaps(b) for b in bands):
            return False
        if strict >= 1 and pool is not None and not box.inside(pool):
            return False
        if strict >= 2 and any(box.crosses(a, b) for a, b in segments):
            return False
        return True

    def choose(candidates: list[Box], pool: Box | None) -> Box:
        for strict in (2, 1):
            for box in candidates:
                if free(box, pool, strict):
                    return box
        first = candidates[0]  # widen the search around the preferred place, in rings
        for radius in range(8, 160, 8):
            for dx in range(-radius, radius + 1, 8):
                for dy in (-radius, radius) if abs(dx) != radius else range(-radius, radius + 1, 8):
                    box = Box(first.x + dx, first.y + dy, first.w, first.h)
                    if free(box, pool, 1):
                        return box
        return first

    def add(element_id: str, kind: str, name: str, candidates_for, anchor: Box):
        lines = lines_for(name, 96, LABEL_FONT, max_lines=3)
        w, h = _text_box(lines, LABEL_FONT)
        if element_id in label_bounds:
            given = label_bounds[element_id]
            lines = wrap(name, max(given.w, LABEL_FONT), LABEL_FONT)
            w, h = _text_box(lines, LABEL_FONT)
            box = Box(given.x + given.w / 2 - w / 2, given.y, w, max(h, given.h))
            out.labels.append(Label(element_id, kind, lines, box, LABEL_FONT, from_di=True))
        else:
            box = choose(candidates_for(w, h), _pool_of(out, anchor))
            out.labels.append(Label(element_id, kind, lines, box, LABEL_FONT))
        placed.append(box)

    def around(b: Box, gateway: bool):
        def candidates(w: float, h: float) -> list[Box]:
            cx, cy = b.x + b.w / 2, b.y + b.h / 2
            below, above = Box(cx - w / 2, b.bottom + 3, w, h), Box(cx - w / 2, b.y - 3 - h, w, h)
            right, left = Box(b.right + 5, cy - h / 2, w, h), Box(b.x - 5 - w, cy - h / 2, w, h)
            corners = [Box(b.right - 6, b.y - h - 1, w, h), Box(b.x + 6 - w, b.y - h - 1, w, h),
                       Box(b.right - 6, b.bottom + 1, w, h), Box(b.x + 6 - w, b.bottom + 1, w, h)]
            return ([above, below] if gateway else [below, above]) + corners + [right, left]
        return candidates

    def along(points: list[tuple[float, float]]):
        def candidates(w: float, h: float) -> list[Box]:
            roomy, tight = [], []
            for a, b in zip(points, points[1:]):
                horizontal = abs(b[1] - a[1]) <= abs(b[0] - a[0])
                length = abs(b[0] - a[0]) + abs(b[1] - a[1])
                found = roomy if length >= (w if horizontal else h) + 12 else tight
                for t in (0.3, 0.5, 0.7, 0.15, 0.85):
                    px, py = a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
                    if horizontal:  # above, then below
                        found += [Box(px - w / 2, py - 3 - h, w, h), Box(px - w / 2, py + 3, w, h)]
                    else:  # vertical: right, then left
                        found += [Box(px + 5, py - h / 2, w, h), Box(px - 5 - w, py - h / 2, w, h)]
            return roomy + tight  # segments long enough for the label first
        return candidates

    for s in out.shapes:  # event and gateway names first: they sit close to their shape
        if s.name and (s.kind in _EVENTS or s.kind in _GATEWAYS):
            add(s.element_id, "gateway" if s.kind in _GATEWAYS else "event", s.name,
                around(s.box, s.kind in _GATEWAYS), s.box)
    for element_id, points in out.edges:
        name = (elements[element_id].get("name") or "").strip()
        if name:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            add(element_id, "flow", name, along(points), Box(min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1))


def _view(out: Layout) -> Box:
    boxes = [s.box for s in out.shapes + out.containers] + [label.box for label in out.labels]
    xs = [b.x for b in boxes] + [p[0] for _, pts in out.edges for p in pts]
    ys = [b.y for b in boxes] + [p[1] for _, pts in out.edges for p in pts]
    rights = [b.right for b in boxes] + xs
    bottoms = [b.bottom for b in boxes] + ys
    x, y = min(xs) - MARGIN, min(ys) - MARGIN
    return Box(x, y, max(rights) + MARGIN - x, max(bottoms) + MARGIN - y)


# ---------------------------------------------------------------- drawing

def describe(out: Layout, states: dict[str, str]) -> str:
    """The diagram in words, for screen readers: the current and finished steps."""
    names = {s.element_id: s.name for s in out.shapes}
    steps = [s for s in out.shapes if s.kind in _TASKS]
    current = [names[i] for i, st in states.items() if st in ("current", "late") and names.get(i)]
    done = [s.name for s in steps if states.get(s.element_id) == "done" and s.name]
    late = [names[i] for i, st in states.items() if st == "late" and names.get(i)]
    parts = [f"共 {len(steps)} 个办理环节：{'、'.join(s.name for s in steps if s.name)}。"]
    parts.append(f"当前环节：{'、'.join(current)}。" if current else "当前没有待办环节。")
    if late:
        parts.append(f"其中已超时：{'、'.join(late)}。")
    if done:
        parts.append(f"已办环节：{'、'.join(done)}。")
    if out.missing:
        parts.append(f"图中缺少：{'、'.join(out.missing)}。")
    return "".join(parts)


def _text(parent, label: Label, cls: str) -> None:
    line_h = label.size * _LINE
    cx = label.box.x + label.box.w / 2
    text = _el(parent, "text", x=cx, y=label.box.y + 1, class_=cls)
    text.set("text-anchor", "middle")
    for i, line in enumerate(label.lines):
        span = _el(text, "tspan", x=cx, dy=(line_h * 0.8 if i == 0 else line_h))
        span.text = line


def _badge(group, x: float, y: float, state: str) -> None:
    """The state as a mark, not only a colour: ✓ for done, ! for late, ▶ for current."""
    mark = {"done": "✓", "late": "!", "current": "▶"}.get(state)
    if not mark:
        return
    _el(group, "circle", cx=x, cy=y, r=8.5, class_="badge")
    text = _el(group, "text", x=x, y=y + 4.5, class_="badge-mark")
    text.set("text-anchor", "middle")
    text.text = mark


def render(bpmn_xml: str | bytes, states: dict[str, str] | None = None, *, title: str = "",
           ident: str = "diagram") -> str:
    """SVG markup of the diagram; ``states`` maps element ids to done / current / late.
    The empty string when the process has no diagram interchange (nothing can be drawn)."""
    states = states or {}
    out = layout(bpmn_xml)
    if out is None:
        return ""
    v = out.view
    svg = etree.Element(f"{{{SVG}}}svg", nsmap={None: SVG})
    svg.set("viewBox", f"{v.x:g} {v.y:g} {v.w:g} {v.h:g}")
    svg.set("width", f"{v.w:g}")
    svg.set("height", f"{v.h:g}")
    svg.set("class", "bpmn")
    svg.set("role", "img")
    svg.set("data-min-scale", f"{math.ceil(MIN_TASK_PX / TASK_FONT * 1000) / 1000:g}")  # rounded up
    svg.set("aria-labelledby", f"{ident}-title {ident}-desc")
    _el(svg, "title", id=f"{ident}-title").text = title or "流程图"
    _el(svg, "desc", id=f"{ident}-desc").text = describe(out, states)
    defs = _el(svg, "defs")
    marker = _el(defs, "marker", id=f"{ident}-arrow", viewBox="0 0 10 10", refX=9, refY=5, markerWidth=7,
                 markerHeight=7, orient="auto-start-reverse")
    _el(marker, "path", d="M 0 0 L 10 5 L 0 10 z", class_="arrowhead")

    labels = {}
    for label in out.labels:
        labels.setdefault(label.element_id, label)
    # pools and lanes first, then edges, then flow nodes, then the labels outside shapes on top
    for c in out.containers:
        b = c.box
        _el(svg, "rect", x=b.x, y=b.y, width=b.w, height=b.h, class_=c.kind)
        _el(svg, "line", x1=b.x + 30, y1=b.y, x2=b.x + 30, y2=b.bottom, class_=c.kind)
        label = labels.get(c.element_id)
        if label:
            cx, cy = b.x + 15, b.y + b.h / 2
            text = _el(svg, "text", x=cx, y=cy, class_=f"{c.kind}-label",
                       transform=f"rotate(-90 {cx:g} {cy:g})")
            text.set("text-anchor", "middle")
            n = len(label.lines)
            for i, line in enumerate(label.lines):
                span = _el(text, "tspan", x=cx, dy=(LANE_FONT * 0.35 - (n - 1) * LANE_FONT * 0.6 if i == 0
                                                    else LANE_FONT * 1.2))
                span.text = line
    for element_id, points in out.edges:
        _el(svg, "polyline", points=" ".join(f"{x:g},{y:g}" for x, y in points), class_="flow",
            marker_end=f"url(#{ident}-arrow)")
    for s in out.shapes:
        b, state = s.box, states.get(s.element_id, "")
        group = _el(svg, "g", class_=f"node {s.kind} {state}".strip())
        group.set("data-element", s.element_id)
        if s.name:
            _el(group, "title").text = s.name + (f"（{STATE_NAMES[state]}）" if state in STATE_NAMES else "")
        if s.kind in _TASKS:
            if state in ("current", "late"):
                _el(group, "rect", x=b.x - 5, y=b.y - 5, width=b.w + 10, height=b.h + 10, rx=14, ry=14, class_="halo")
            _el(group, "rect", x=b.x, y=b.y, width=b.w, height=b.h, rx=10, ry=10, class_="shape")
            if s.kind == "callActivity":
                _el(group, "rect", x=b.x + b.w / 2 - 7, y=b.bottom - 16, width=14, height=14, class_="marker")
                _el(group, "path", d=f"M {b.x + b.w / 2:g} {b.bottom - 13:g} v 8 M {b.x + b.w / 2 - 4:g} "
                                     f"{b.bottom - 9:g} h 8", class_="marker")
            label = labels.get(s.element_id)
            if label:
                _text(group, label, "task-label")
            _badge(group, b.right - 2, b.y + 2, state)
        elif s.kind in _EVENTS:
            cx, cy, r = b.x + b.w / 2, b.y + b.h / 2, min(b.w, b.h) / 2
            if state in ("current", "late"):
                _el(group, "circle", cx=cx, cy=cy, r=r + 5, class_="halo")
            _el(group, "circle", cx=cx, cy=cy, r=r, class_="shape")
            if s.timer:
                _el(group, "circle", cx=cx, cy=cy, r=r - 4, class_="timer")
            _badge(group, b.right - 2, b.y + 2, state)
        elif s.kind in _GATEWAYS:
            cx, cy = b.x + b.w / 2, b.y + b.h / 2
            _el(group, "polygon", points=f"{cx:g},{b.y:g} {b.right:g},{cy:g} {cx:g},{b.bottom:g} {b.x:g},{cy:g}",
                class_="shape")
            mark = _el(group, "text", x=cx, y=cy + 7, class_="gateway-mark")
            mark.set("text-anchor", "middle")
            mark.text = _GATEWAYS[s.kind]
            _badge(group, b.right - 6, b.y + 6, state)
        else:  # anything else with a shape: a plain box
            _el(group, "rect", x=b.x, y=b.y, width=b.w, height=b.h, class_="shape")
    for label in out.labels:
        if label.kind in ("event", "gateway", "flow"):
            _text(svg, label, f"{label.kind}-label")
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
