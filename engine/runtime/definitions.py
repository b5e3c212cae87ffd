"""Parse, validate and describe a BPMN process definition.

``parse_definition`` is the only way BPMN enters the system. It parses with lxml
with entity resolution, DTD loading and network access off, refuses any DOCTYPE
(so XXE and entity-expansion bombs never reach an entity resolver), validates
against the BPMN 2.0 schema, refuses elements the engine does not run, checks
every expression with the restricted evaluator's rules, and resolves each user
task's role, department and form. Every refusal is a ``BpmnError`` naming file,
line, element and reason.

A parsed definition is immutable and shared: ``DefinitionCache`` keeps one per
content hash, so each deployed version is parsed once per process.
"""
from __future__ import annotations

import ast
import difflib
import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from threading import Lock
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

from engine.errors import BadInput, BpmnError
from engine.runtime.spiff import elements_after, parser_knows
from engine.runtime.expressions import BASE_HELPERS, COMMAND_HELPERS, KNOWN_FUNCTIONS, check_expression, parse_script
from engine.runtime.step_rules import StepRules, chosen_field, parse_rules
from engine.runtime.xml_messages import schema_message, syntax_message
from engine.timelimits.policy import StepSettings, TimePolicy, step_settings
from engine.roles import resolve_role

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "camunda": CAMUNDA_NS}

#: Every BPMN flow node kind, so that unknown ones can be refused by name.
FLOW_NODE_TAGS = {
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
    "receiveTask", "subProcess", "adHocSubProcess", "transaction", "callActivity", "startEvent",
    "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
}
#: Kinds the engine refuses although SpiffWorkflow might parse them, and why.
REFUSED_TAGS = {
    "complexGateway": "不支持复杂网关（complexGateway），请改用排他、并行或包容网关",
    "serviceTask": "不支持服务任务（serviceTask）：本系统不从流程中调用外部服务",
    "businessRuleTask": "不支持业务规则任务（businessRuleTask）：请用排他网关的条件表达",
    "adHocSubProcess": "不支持自由子流程（adHocSubProcess）",
    # an untyped task runs as a no-op: no one is given the step, it passes unseen
    "task": "未指定类型的任务（task）不会分派给任何人办理，流程会直接越过它：请选中它，用扳手菜单改为“用户任务”并选择办理角色",
}
FORM_FIELD_TYPES = {"string", "long", "boolean", "date", "enum", "text"}

MAX_BPMN_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class FormField:
    id: str
    label: str
    type: str
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()
    default: str | None = None
    #: a person picker: the element id of the step whose handler this field names (step settings)
    picks_for: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "type": self.type, "required": self.required,
                "options": [{"id": o, "name": n} for o, n in self.options], "default": self.default}


@dataclass(frozen=True)
class UserTaskInfo:
    element_id: str
    name: str
    role: str
    department: str | None
    form: tuple[FormField, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)
    settings: StepSettings = field(default_factory=StepSettings)
    #: the designer's per-step settings: field access, operations, handler (engine.runtime.step_rules)
    rules: StepRules = field(default_factory=StepRules)


@dataclass
class ProcessDefinition:
    """A validated, parsed definition. Treat as immutable: it is shared between cases."""

    process_id: str
    name: str
    filename: str
    content_hash: str
    spec: Any
    subprocess_specs: dict[str, Any]
    user_tasks: dict[str, UserTaskInfo]
    warnings: list[str]


def next_user_tasks(definition: "ProcessDefinition", element_id: str, limit: int = 20) -> list[UserTaskInfo]:
    """The user tasks the flow can reach next from ``element_id``, through gateways and events
    (and into a called process): what the task page previews as 下一环节."""
    found: dict[str, UserTaskInfo] = {}
    for bpmn_id in elements_after(definition.spec, definition.subprocess_specs, element_id,
                                  stop=lambda e: e in definition.user_tasks):
        if bpmn_id in definition.user_tasks:
            found.setdefault(bpmn_id, definition.user_tasks[bpmn_id])
    return list(found.values())[:limit]


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


_SAFE_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False,
                            dtd_validation=False, huge_tree=False, remove_blank_text=False)
_validator: BpmnValidator | None = None
_validator_lock = Lock()


def _schema_validator() -> BpmnValidator:
    global _validator
    with _validator_lock:
        if _validator is None:
            _validator = BpmnValidator()
        return _validator


def _line_of(content: bytes, needle: bytes) -> int | None:
    index = content.find(needle)
    return content.count(b"\n", 0, index) + 1 if index >= 0 else None


def parse_xml(content: bytes, filename: str) -> etree._Element:
    """Parse untrusted XML safely; refuse DOCTYPEs and entity declarations outright."""
    if len(content) > MAX_BPMN_BYTES:
        raise BpmnError(f"文件过大（{len(content)} 字节，上限 {MAX_BPMN_BYTES}）", file=filename)
    for marker in (b"<!DOCTYPE", b"<!ENTITY"):
        if marker in content:
            raise BpmnError("不允许 DOCTYPE 或实体声明（可能是 XXE 或实体膨胀攻击），BPMN 文件不需要它们",
                            file=filename, line=_line_of(content, marker))
    parser = etree.XMLParser(**_SAFE_PARSER_OPTIONS)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        column = exc.position[1] if exc.position and exc.position[1] else None
        raise BpmnError(syntax_message(exc.msg, line, column), file=filename, line=line) from None
    if root.getroottree().docinfo.internalDTD is not None:  # belt and braces
        raise BpmnError("不允许 DOCTYPE 声明", file=filename, line=1)
    return root


class Problems:
    """Where the checks put what they find. Strict (``parse_definition``): the first problem is
    raised. Collecting (``engine.runtime.lint``): every problem is kept, with its rule, and the
    checks go on, so a designer sees them all at once."""

    def __init__(self, strict: bool = True):
        self.strict = strict
        self.found: list[tuple[str, BpmnError]] = []

    def add(self, rule: str, error: BpmnError) -> None:
        if self.strict:
            raise error
        self.found.append((rule, error))


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _located(node: etree._Element, filename: str, reason: str) -> BpmnError:
    return BpmnError(reason, file=filename, line=node.sourceline, element=node.get("id"),
                     tag=_local(node.tag))


def _check_structure(root: etree._Element, filename: str, problems: Problems | None = None) -> None:
    problems = problems or Problems()
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise BpmnError(f"不是 BPMN 2.0 文件：根元素是 {root.tag}，应为 bpmn:definitions",
                        file=filename, line=root.sourceline)
    # SpiffWorkflow indexes every element with an id, last one winning, so BPMN ids must be
    # unique and an extension element (a form option) must not reuse one; options of
    # different form fields may share ids ("agree" in two opinion forms).
    seen: dict[str, etree._Element] = {}
    extension: list[etree._Element] = []
    for node in root.iter():
        if not isinstance(node.tag, str) or node.get("id") is None:
            continue
        if not node.tag.startswith(f"{{{BPMN_NS}}}"):
            extension.append(node)
            continue
        node_id = node.get("id")
        if node_id in seen:
            problems.add("duplicate_id", _located(
                node, filename, f"id “{node_id}” 重复（第一次出现在第 {seen[node_id].sourceline} 行）"))
            continue
        seen[node_id] = node
    for node in extension:
        node_id = node.get("id")
        if node_id in seen:
            problems.add("duplicate_id", _located(
                node, filename, f"id “{node_id}” 与流程元素重名（第 {seen[node_id].sourceline} 行）；"
                                "表单字段和选项的 id 不能与流程元素相同"))


def _check_schema(root: etree._Element, filename: str, problems: Problems | None = None) -> None:
    """Every BPMN 2.0 schema violation, each in Chinese (engine/runtime/xml_messages.py) on its
    line and element; strict: the first."""
    problems = problems or Problems()
    validator = _schema_validator()
    with _validator_lock:  # one XMLSchema and its error log are shared
        validator.preprocess(root)
        valid = validator.validator.validate(root)
        errors = [(e.line, e.message) for e in validator.validator.error_log]
    if valid:
        return
    by_line = {}
    for node in root.iter():
        if isinstance(node.tag, str) and node.sourceline not in by_line:
            by_line[node.sourceline] = node
    for line, message in errors:
        node = by_line.get(line)
        problems.add("schema", BpmnError(schema_message(message), file=filename, line=line,
                                         element=node.get("id") if node is not None else None,
                                         tag=_local(node.tag) if node is not None else None))


def _check_supported(root: etree._Element, filename: str, parser: CamundaParser,
                     problems: Problems | None = None) -> None:
    problems = problems or Problems()
    for node in root.iterfind(".//bpmn:process//*", NS):
        if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN_NS:
            continue
        local = _local(node.tag)
        if local in REFUSED_TAGS:
            problems.add("unsupported", _located(node, filename, REFUSED_TAGS[local]))
        elif local in FLOW_NODE_TAGS and not parser_knows(parser, node.tag):
            problems.add("unsupported", _located(node, filename, f"不支持的 BPMN 元素：{local}"))


def _check_expressions(root: etree._Element, filename: str, problems: Problems | None = None) -> None:
    problems = problems or Problems()
    checks = [(".//bpmn:conditionExpression", "条件表达式"), (".//bpmn:timeDuration", "计时器表达式"),
              (".//bpmn:timeDate", "计时器表达式"), (".//bpmn:timeCycle", "计时器表达式"),
              (".//bpmn:completionCondition", "完成条件")]
    for path, what in checks:
        for node in root.iterfind(path, NS):
            owner = node.getparent()
            while owner is not None and owner.get("id") is None:
                owner = owner.getparent()
            text = (node.text or "").strip()
            rule = "timer" if what == "计时器表达式" else "expression"
            if not text:
                problems.add(rule, _located(owner if owner is not None else node, filename, f"{what}为空"))
                continue
            try:
                check_expression(text)
            except BadInput as exc:
                problems.add(rule, _located(owner if owner is not None else node, filename,
                                            f"{what} {text!r} 不安全或无效：{exc.message}"))
    for node in root.iterfind(".//bpmn:scriptTask", NS):
        script = node.find("bpmn:script", NS)
        text = (script.text or "") if script is not None else ""
        try:
            for _target, source in parse_script(text):
                check_expression(source)
        except BadInput as exc:
            problems.add("expression", _located(node, filename, f"脚本无效：{exc.message}"))


def _lanes(root: etree._Element) -> dict[str, str]:
    """Innermost lane name of every flow node."""
    lanes: dict[str, str] = {}
    for lane in root.iterfind(".//bpmn:lane", NS):
        name = (lane.get("name") or "").strip()
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            if name and ref.text:
                lanes[ref.text.strip()] = name  # later (deeper) lanes overwrite outer ones
    return lanes


def _properties(node: etree._Element) -> dict[str, str]:
    path = "bpmn:extensionElements/camunda:properties/camunda:property"
    return {p.get("name"): p.get("value", "") for p in node.iterfind(path, NS) if p.get("name")}


def _form(node: etree._Element, filename: str, problems: Problems | None = None) -> tuple[FormField, ...]:
    """The step's form fields. A bad field is a problem located on the step (the element a
    designer can select), naming the field and its line; with ``problems`` every bad field is
    added there and the good ones returned, so the step's other checks still run; without, the
    first raises."""
    fields = []
    for f in node.iterfind("bpmn:extensionElements/camunda:formData/camunda:formField", NS):
        field_id, field_type = f.get("id") or "", f.get("type") or "string"
        label = f.get("label") or field_id
        reason = None
        if not field_id.isidentifier() or field_id.startswith("_"):
            reason = f"表单字段 id “{field_id}” 必须是字母、数字、下划线组成的标识符，且不以下划线开头"
        elif field_id in BASE_HELPERS or field_id in COMMAND_HELPERS:
            reason = f"表单字段 id “{field_id}” 与内置函数重名"
        elif field_type not in FORM_FIELD_TYPES:
            reason = f"表单字段“{label}”的类型 “{field_type}” 不受支持（可用：{'、'.join(sorted(FORM_FIELD_TYPES))}）"
        options = tuple((v.get("id") or "", v.get("name") or v.get("id") or "")
                        for v in f.iterfind("camunda:value", NS))
        if reason is None and field_type == "enum" and not options:
            reason = f"选项字段“{label}”（{field_id}）还没有选项：请在 XML 中为它加 camunda:value，或改为其他类型"
        if reason is not None:
            error = BpmnError(reason, file=filename, line=f.sourceline, element=node.get("id"), tag=_local(node.tag))
            if problems is None:
                raise error
            problems.add("form", error)
            continue
        required = any(c.get("name") == "required"
                       for c in f.iterfind("camunda:validation/camunda:constraint", NS))
        fields.append(FormField(field_id, label, field_type, required, options, f.get("defaultValue")))
    return tuple(fields)


def _user_tasks(root: etree._Element, filename: str, problems: Problems | None = None) -> dict[str, UserTaskInfo]:
    problems = problems or Problems()
    lanes = _lanes(root)
    tasks = {}
    every_field = {f.get("id") for f in root.iterfind(".//camunda:formField", NS)}
    every_field |= {chosen_field(n.get("id")) for n in root.iterfind(".//bpmn:userTask", NS)}
    for node in root.iterfind(".//bpmn:userTask", NS):
        element_id = node.get("id")
        groups = [g.strip() for g in (node.get(f"{{{CAMUNDA_NS}}}candidateGroups") or "").split(",") if g.strip()]
        candidates = groups or ([lanes[element_id]] if element_id in lanes else [])
        if not candidates:
            problems.add("no_role", _located(
                node, filename, "用户任务没有指定办理角色：请放入泳道，或设置 camunda:candidateGroups"))
            continue
        role = resolve_role(candidates[0])
        if role is None:
            problems.add("unknown_role", _located(
                node, filename, f"未知的办理角色 “{candidates[0]}”（泳道名或 candidateGroups 应为标准角色）"))
            continue
        props = _properties(node)
        form = _form(node, filename, problems)  # bad fields are problems; the step's other checks still run
        try:
            settings = step_settings(props, {f.id: f for f in form})
        except BadInput as exc:
            problems.add("time_settings", _located(node, filename, f"时限设置有误：{exc.message}"))
            continue
        try:
            rules = parse_rules(props, every_field)
        except BadInput as exc:
            problems.add("step_settings", _located(node, filename, f"环节设置有误：{exc.message}"))
            continue
        tasks[element_id] = UserTaskInfo(element_id, node.get("name") or element_id, role.code,
                                         props.get("department") or None, form, props, settings, rules)
    return tasks


def _with_pickers(tasks: dict[str, UserTaskInfo], spec, subprocess_specs) -> dict[str, UserTaskInfo]:
    """Person pickers in the forms that name a later step's handler: a step whose handler is
    ``chosen`` adds one to the form of every step the flow reaches it from; a step whose handler is
    ``field`` turns the named field into one."""
    pickers: dict[str, dict[str, str]] = {}  # step → {field id: the step it picks for}
    for info in tasks.values():
        for after in elements_after(spec, subprocess_specs, info.element_id, stop=lambda e: e in tasks):
            later = tasks.get(after)
            if later is not None and later.rules.handler == "chosen":
                pickers.setdefault(info.element_id, {})[chosen_field(later.element_id)] = later.element_id
    named = {t.rules.handler_field: t.element_id for t in tasks.values() if t.rules.handler == "field"}
    out = {}
    for element_id, info in tasks.items():
        form = tuple(replace(f, picks_for=named[f.id]) if f.id in named else f for f in info.form)
        for field_id, target in pickers.get(element_id, {}).items():
            if all(f.id != field_id for f in form):
                form += (FormField(field_id, f"“{tasks[target].name}”的办理人", "string", picks_for=target),)
        out[element_id] = replace(info, form=form) if form != info.form else info
    return out


def _main_process(root: etree._Element, filename: str, problems: Problems | None = None) -> etree._Element | None:
    problems = problems or Problems()
    processes = [p for p in root.iterfind("bpmn:process", NS) if p.get("isExecutable", "true") == "true"]
    called = {c.get("calledElement") for c in root.iterfind(".//bpmn:callActivity", NS)}
    roots = [p for p in processes if p.get("id") not in called]
    if len(roots) == 1:
        return roots[0]
    every = root.findall("bpmn:process", NS)
    if not roots and every:  # drawn in a tool that marks processes not executable (most do)
        main = candidate_main_process(root)
        problems.add("not_executable", _located(
            main, filename, "流程没有标记为可执行（isExecutable=\"false\"），本系统不会运行它"))
        return None
    names = "、".join(p.get("id") for p in roots) or "无"
    problems.add("main_process", BpmnError(
        f"应恰有一个可执行的主流程（isExecutable=\"true\" 且不被调用），现有：{names}",
        file=filename, line=root.sourceline))
    return None


def candidate_main_process(root: etree._Element) -> etree._Element:
    """The process a quick fix marks executable: not called by another, the most flow nodes."""
    called = {c.get("calledElement") for c in root.iterfind(".//bpmn:callActivity", NS)}
    every = root.findall("bpmn:process", NS)
    pool = [p for p in every if p.get("id") not in called] or every
    return max(pool, key=lambda p: sum(1 for n in p.iter() if isinstance(n.tag, str)
                                       and _local(n.tag) in FLOW_NODE_TAGS))


# --- rules on the flow: gateways, reachability, the role placeholder, time limits ---------------

ROLE_PLACEHOLDER = "role_to_confirm"  # camunda:property a quick fix sets with the role it guessed


def _outgoing(container: etree._Element) -> dict[str, list[etree._Element]]:
    flows: dict[str, list[etree._Element]] = {}
    for flow in container.iterfind(".//bpmn:sequenceFlow", NS):
        flows.setdefault(flow.get("sourceRef"), []).append(flow)
    return flows


def _condition_values(text: str) -> tuple[str, bool, frozenset] | None:
    """What a simple condition accepts: (field, negated, values) for ``f == v``, ``f != v``,
    ``f in [..]``, ``f not in [..]``, ``f`` and ``not f``; None for anything else."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Name):
        return node.id, False, frozenset({True})
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Name):
        return node.operand.id, False, frozenset({False})
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.left, ast.Name)):
        return None
    op, right = node.ops[0], node.comparators[0]
    try:
        value = ast.literal_eval(right)
    except ValueError:
        return None
    if isinstance(op, (ast.Eq, ast.Is)):
        return node.left.id, False, frozenset({value})
    if isinstance(op, (ast.NotEq, ast.IsNot)):
        return node.left.id, True, frozenset({value})
    if isinstance(op, (ast.In, ast.NotIn)) and isinstance(value, (list, tuple, set, frozenset)):
        return node.left.id, isinstance(op, ast.NotIn), frozenset(value)
    return None


def _field_domains(root: etree._Element) -> dict[str, frozenset]:
    """The values a form field can take, where the form says so (enum options, booleans)."""
    domains: dict[str, frozenset] = {}
    for f in root.iterfind(".//camunda:formField", NS):
        if f.get("type") == "enum":
            domains[f.get("id")] = frozenset(v.get("id") for v in f.iterfind("camunda:value", NS))
        elif f.get("type") == "boolean":
            domains[f.get("id")] = frozenset({True, False})
    return domains


_OPPOSITE = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq,
             ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In}


def _negation_key(text: str) -> tuple[str, str] | None:
    """(the condition, its negation) as comparable dumps, for ``a OP b`` and ``not a``."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _OPPOSITE:
        flipped = ast.Compare(node.left, [_OPPOSITE[type(node.ops[0])]()], node.comparators)
        return ast.dump(node), ast.dump(flipped)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ast.dump(node), ast.dump(node.operand)
    return ast.dump(node), ast.dump(ast.UnaryOp(ast.Not(), node))


def conditions_cover(conditions: list[str], domains: dict[str, frozenset]) -> bool:
    """Whether at least one of the conditions is always true: two of them are each other's
    negation (``score >= 60`` / ``score < 60``), or they test one field and together accept
    every value it can take (``decision == "grant"`` / ``decision == "deny"`` over an enum field
    with those two options; ``x in [..]`` / ``x not in [..]``)."""
    keys = [k for k in (_negation_key(c) for c in conditions) if k is not None]
    plain = {k[0] for k in keys}
    if any(k[1] in plain for k in keys):
        return True
    parsed = [_condition_values(c) for c in conditions]
    if not parsed or any(p is None for p in parsed) or len({p[0] for p in parsed}) != 1:
        return False
    accepted = frozenset().union(*(values for _f, negated, values in parsed if not negated))
    excluded = [values for _f, negated, values in parsed if negated]
    if excluded:  # the negated ones accept everything outside the intersection of what they exclude
        return frozenset.intersection(*excluded) <= accepted
    domain = domains.get(parsed[0][0])
    return domain is not None and bool(domain) and domain <= accepted


def check_gateways(root: etree._Element, filename: str, problems: Problems) -> None:
    """A warning, not a refusal: whether conditions can all be false is not always decidable
    from the text, so a gateway the rule cannot prove covered is reported for the designer to
    look at (add a default flow), and still deploys."""
    domains = _field_domains(root)
    outgoing = _outgoing(root)
    for gateway in root.iter(f"{{{BPMN_NS}}}exclusiveGateway", f"{{{BPMN_NS}}}inclusiveGateway"):
        flows = outgoing.get(gateway.get("id"), [])
        if len(flows) < 2 or gateway.get("default"):
            continue
        conditions = [(f.findtext("bpmn:conditionExpression", namespaces=NS) or "").strip() for f in flows]
        if any(not c or c == "True" for c in conditions):
            continue  # a flow without condition is always taken
        if conditions_cover(conditions, domains):
            continue
        problems.add("gateway_default", _located(
            gateway, filename, "网关的各条出线条件可能都不成立，而没有默认路径：办件会停在这里"))


def _flow_nodes(container: etree._Element) -> list[etree._Element]:
    return [n for n in container if isinstance(n.tag, str) and _local(n.tag) in FLOW_NODE_TAGS]


def _containers(root: etree._Element) -> list[etree._Element]:
    """The processes and every (event) sub-process and transaction in them: what holds flow nodes."""
    return list(root.iterfind("bpmn:process", NS)) + [
        n for n in root.iterfind(".//bpmn:process//*", NS)
        if isinstance(n.tag, str) and _local(n.tag) in ("subProcess", "transaction", "adHocSubProcess")]


def _what(node: etree._Element) -> str:
    kind = {"userTask": "环节", "scriptTask": "脚本任务", "callActivity": "调用活动", "subProcess": "子流程",
            "startEvent": "开始事件", "boundaryEvent": "边界事件", "intermediateCatchEvent": "中间事件",
            "intermediateThrowEvent": "中间事件", "exclusiveGateway": "网关", "inclusiveGateway": "网关",
            "parallelGateway": "网关", "eventBasedGateway": "网关"}.get(_local(node.tag), "元素")
    return f"{kind}{_quoted_name(node) or ' ' + (node.get('id') or '')}"


def _check_references(root: etree._Element, filename: str, problems: Problems) -> set[etree._Element]:
    """A sequence flow whose end or start names no element of its process (hand-edited XML, a
    file cut from another), and a boundary event attached to none: the real cause, said first,
    on the flow. Returns the containers that have one, whose reachability says nothing useful."""
    broken: set[etree._Element] = set()
    for container in _containers(root):
        ids = {n.get("id") for n in _flow_nodes(container)}
        for flow in container.iterfind("bpmn:sequenceFlow", NS):
            for attribute, which in (("sourceRef", "起点"), ("targetRef", "终点")):
                ref = (flow.get(attribute) or "").strip()
                if ref in ids:
                    continue
                close = difflib.get_close_matches(ref, sorted(i for i in ids if i), n=1, cutoff=0.6)
                guess = f"（是不是 {close[0]}？）" if close else ""
                reason = (f"顺序流的{which}（{attribute}）“{ref}”不存在：这个流程中没有 id 为 {ref} 的元素{guess}"
                          if ref else f"顺序流没有{which}（{attribute}）")
                problems.add("broken_reference", _located(flow, filename, reason))
                broken.add(container)
        for event in container.iterfind("bpmn:boundaryEvent", NS):
            ref = (event.get("attachedToRef") or "").strip()
            if ref not in ids:
                problems.add("broken_reference", _located(
                    event, filename, f"边界事件所附的环节（attachedToRef）“{ref}”不存在：这个流程中没有 id 为 {ref} 的元素"))
                broken.add(container)
    return broken


def _check_dead_ends(root: etree._Element, filename: str, problems: Problems, unreachable: set[str]) -> None:
    """A flow node other than an end event with no outgoing flow: when the case gets there it
    just stops, without reaching an end event (a boundary event: when it fires). An element no
    path reaches is said to be that (``unreachable``), not this as well."""
    for container in _containers(root):
        sources = {f.get("sourceRef") for f in container.iterfind("bpmn:sequenceFlow", NS)}
        flows = {f.get("id"): f for f in container.iterfind("bpmn:sequenceFlow", NS)}
        names = {n.get("id"): n for n in _flow_nodes(container)}
        for node in _flow_nodes(container):
            local = _local(node.tag)
            if (node.get("id") in sources or node.get("id") in unreachable or local == "endEvent" or local in REFUSED_TAGS
                    or node.get("triggeredByEvent") == "true" or node.get("isForCompensation") == "true"
                    or node.find("bpmn:compensateEventDefinition", NS) is not None
                    or (local == "intermediateThrowEvent" and node.find("bpmn:linkEventDefinition", NS) is not None)):
                continue
            if local == "boundaryEvent":
                task = names.get(node.get("attachedToRef"))
                task_name = _what(task) if task is not None else "所附环节"
                if node.get("cancelActivity", "true") == "true":
                    reason = f"{_what(node)}没有出线：它触发时{task_name}被中断，办件就停在这里，不会走到结束事件"
                else:
                    reason = f"{_what(node)}没有出线：它触发后什么也不会发生"
            else:
                reason = f"{_what(node)}没有出线：办件走到这里就停住，不会走到结束事件"
            lost = [flows[ref] for ref in (o.text.strip() for o in node.iterfind("bpmn:outgoing", NS) if o.text)
                    if ref in flows and flows[ref].get("sourceRef") != node.get("id")]
            if lost:  # a consequence of a broken reference, reported on the flow
                reason += "（" + "；".join(f"它的出线 {f.get('id')} 的起点写成了“{f.get('sourceRef')}”，见该顺序流的问题"
                                          for f in lost) + "）"
            problems.add("dead_end", _located(node, filename, reason))


def _check_reachable(root: etree._Element, filename: str, problems: Problems,
                     skip: set[etree._Element] = frozenset()) -> set[str]:
    """The elements no path from a start event reaches, each reported (and returned)."""
    containers = [p for p in root.iterfind("bpmn:process", NS)]
    unreachable: set[str] = set()
    while containers:
        container = containers.pop(0)
        nodes = [n for n in container if isinstance(n.tag, str) and _local(n.tag) in FLOW_NODE_TAGS]
        if not nodes or container in skip:  # a broken reference is the cause: said once, on the flow
            continue
        ids = {n.get("id"): n for n in nodes}
        incoming: set[str] = set()
        graph: dict[str, list[str]] = {}
        for flow in container.iterfind("bpmn:sequenceFlow", NS):
            graph.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
            incoming.add(flow.get("targetRef"))
        starts = [n for n in nodes if _local(n.tag) == "startEvent"]
        if not starts:  # BPMN: without a start event, every node without incoming flow starts
            starts = [n for n in nodes if n.get("id") not in incoming and _local(n.tag) != "boundaryEvent"]
        starts += [n for n in nodes if n.get("triggeredByEvent") == "true" or n.get("isForCompensation") == "true"
                   or (_local(n.tag) == "intermediateCatchEvent" and n.get("id") not in incoming)]
        attached: dict[str, list[str]] = {}
        for n in nodes:
            if _local(n.tag) == "boundaryEvent":
                attached.setdefault(n.get("attachedToRef"), []).append(n.get("id"))
        seen: set[str] = set()
        todo = [n.get("id") for n in starts]
        while todo:
            current = todo.pop()
            if current in seen or current not in ids:
                continue
            seen.add(current)
            todo.extend(graph.get(current, []))
            todo.extend(attached.get(current, []))
        for n in nodes:
            if n.get("id") not in seen:
                problems.add("unreachable", _located(n, filename, "从开始事件走不到这个元素：它永远不会执行"))
                unreachable.add(n.get("id"))
            elif _local(n.tag) in ("subProcess", "transaction"):
                containers.append(n)
    return unreachable


def _check_role_placeholders(root: etree._Element, filename: str, problems: Problems) -> None:
    for node in root.iterfind(".//bpmn:userTask", NS):
        if _properties(node).get(ROLE_PLACEHOLDER):
            groups = (node.get(f"{{{CAMUNDA_NS}}}candidateGroups") or "").split(",")[0].strip()
            role = resolve_role(groups) if groups else None
            problems.add("role_placeholder", _located(
                node, filename, f"办理角色“{role.name if role else groups}”是一键修复填入的占位，尚未确认"))


def _timer_text(node: etree._Element) -> tuple[str, str] | None:
    for kind in ("timeDuration", "timeDate", "timeCycle"):
        text = node.findtext(f".//bpmn:{kind}", namespaces=NS)
        if text is not None:
            return kind, text.strip()
    return None


def _check_timer_literals(root: etree._Element, filename: str, problems: Problems) -> None:
    """A timer written as a quoted ISO 8601 text must parse (else it fails only when it is due)."""
    parse = {"timeDuration": TimerEventDefinition.parse_iso_duration,
             "timeDate": TimerEventDefinition.parse_time_or_duration,
             "timeCycle": TimerEventDefinition.parse_iso_recurring_interval}
    for event in root.iterfind(".//bpmn:timerEventDefinition", NS):
        found = _timer_text(event)
        if found is None or not found[1]:
            continue
        kind, text = found
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            continue  # an expression (workdays(3), a form field): checked as an expression
        if not isinstance(value, str):
            continue
        try:
            parse[kind](value)
        except Exception:  # SpiffWorkflow raises a bare Exception for a bad ISO text
            problems.add("timer", _located(event.getparent(), filename,
                                           f"计时器 {text} 不是有效的 ISO 8601 写法"))


def _workdays_literal(text: str) -> int | None:
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "workdays"
            and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, int)):
        return node.args[0].value
    return None


def _quoted_name(node: etree._Element) -> str:
    return f"“{node.get('name')}”" if node.get("name") else ""


def check_time_limits(root: etree._Element, filename: str, policy: TimePolicy, problems: Problems) -> None:
    """Limits in the diagram that contradict the item's catalogue limits."""
    limit = policy.first_limit
    which = "承诺时限" if policy.promised_days is not None else "法定时限"
    for node in root.iterfind(".//bpmn:userTask", NS):
        days = _properties(node).get("limit_days")
        if not days or not days.strip().isdigit():
            continue
        days_n = int(days)
        if limit and days_n > limit:
            problems.add("time_limit", _located(
                node, filename, f"环节“{node.get('name') or node.get('id')}”的时限 {days_n} 个工作日，超过事项{which} {limit} 个工作日"))
        listed = policy.step_days.get(node.get("id"))
        if listed is not None and listed != days_n:
            problems.add("time_limit_differs", _located(
                node, filename, f"事项目录规定环节“{node.get('name') or node.get('id')}” {listed} 个工作日，图中写的是 {days_n} 个工作日（以目录为准）"))
    for event in root.iterfind(".//bpmn:timerEventDefinition", NS):
        found = _timer_text(event)
        days_n = _workdays_literal(found[1]) if found else None
        if days_n is not None and limit and days_n > limit:
            problems.add("time_limit", _located(
                event.getparent(), filename, f"计时器{_quoted_name(event.getparent())} {days_n} 个工作日，超过事项{which} {limit} 个工作日"))
        elif found and found[0] == "timeDuration" and limit:
            try:
                value = ast.literal_eval(found[1])
                days_d = TimerEventDefinition.parse_iso_duration(value).get("days", 0) if isinstance(value, str) else 0
            except Exception:  # not a literal, or a bad ISO text (reported by its own rule)
                continue
            calendar = math.ceil(policy.statutory_days * 7 / 5) + 7  # working days, weekends and a holiday week
            if days_d > calendar:
                problems.add("time_limit", _located(
                    event.getparent(), filename,
                    f"计时器 {days_d} 天，超过事项法定时限 {policy.statutory_days} 个工作日折合的自然日（约 {calendar} 天）"))
    user_tasks = {n.get("id") for n in root.iterfind(".//bpmn:userTask", NS)}
    for element in sorted(set(policy.step_days) - user_tasks):
        problems.add("time_limit_differs", BpmnError(
            f"事项目录为环节 “{element}” 规定了时限，但图中没有这个用户任务", file=filename, element=element))


_ACTIVITIES = {"task", "userTask", "manualTask", "scriptTask", "sendTask", "receiveTask", "subProcess",
               "transaction", "callActivity"}


def _check_single_outgoing(root: etree._Element, filename: str, problems: Problems) -> None:
    """SpiffWorkflow refuses an activity with several outgoing flows (in English, late): say it here."""
    outgoing = _outgoing(root)
    for node in root.iter():
        if isinstance(node.tag, str) and _local(node.tag) in _ACTIVITIES and etree.QName(node).namespace == BPMN_NS:
            flows = outgoing.get(node.get("id"), [])
            if len(flows) > 1:
                problems.add("outgoing", _located(
                    node, filename, f"环节有 {len(flows)} 条出线（{'、'.join(f.get('id') for f in flows)}）：本系统的环节后只能有一条出线"))


def _check_conditions_present(root: etree._Element, filename: str, problems: Problems) -> None:
    """SpiffWorkflow refuses (in English) a gateway's outgoing flow with neither a condition nor
    the default mark: say it here, on the flow, in Chinese."""
    outgoing = _outgoing(root)
    for gateway in root.iter(f"{{{BPMN_NS}}}exclusiveGateway", f"{{{BPMN_NS}}}inclusiveGateway"):
        for flow in outgoing.get(gateway.get("id"), []):
            if flow.get("id") != gateway.get("default") and flow.find("bpmn:conditionExpression", NS) is None:
                problems.add("condition_missing", _located(
                    flow, filename, f"从网关“{gateway.get('name') or gateway.get('id')}”出发的这条出线既没有条件，也不是默认路径"))


def data_names(root: etree._Element) -> dict[str, str]:
    """Every name the case's data can hold, with what it is (for the designer): the form fields
    of every task, the person pickers of chosen-handler steps, what scripts assign, and the data
    objects, inputs, outputs and multi-instance variables the diagram declares."""
    names: dict[str, str] = {}
    for f in root.iterfind(".//camunda:formField", NS):
        if f.get("id"):
            names.setdefault(f.get("id"), f.get("label") or "")
    for node in root.iterfind(".//bpmn:userTask", NS):
        if _properties(node).get("handler", "").strip() == "chosen":
            names.setdefault(chosen_field(node.get("id") or ""), f"“{node.get('name') or node.get('id')}”的办理人")
    for node in root.iterfind(".//bpmn:scriptTask", NS):
        try:
            for target, _source in parse_script(node.findtext("bpmn:script", default="", namespaces=NS)):
                names.setdefault(target, f"脚本“{node.get('name') or node.get('id')}”赋值")
        except BadInput:
            continue  # reported by the expression rule
    for tag in ("dataObject", "dataInput", "dataOutput", "inputDataItem", "outputDataItem", "property"):
        for node in root.iter(f"{{{BPMN_NS}}}{tag}"):
            for name in (node.get("id"), node.get("name")):
                if name:
                    names.setdefault(name, "")
    for node in root.iter(f"{{{BPMN_NS}}}loopDataInputRef", f"{{{BPMN_NS}}}loopDataOutputRef"):
        if (node.text or "").strip():
            names.setdefault(node.text.strip(), "")
    for node in root.iter(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
        for attribute in ("collection", "elementVariable"):
            if node.get(f"{{{CAMUNDA_NS}}}{attribute}"):
                names.setdefault(node.get(f"{{{CAMUNDA_NS}}}{attribute}"), "")
    for node in root.iter(f"{{{CAMUNDA_NS}}}inputParameter", f"{{{CAMUNDA_NS}}}outputParameter"):
        if node.get("name"):
            names.setdefault(node.get("name"), "")
    return names


def _free_names(expression: str) -> list[str] | None:
    """The names an expression reads from the case's data, in order (not the helpers it calls nor
    the variables of its comprehensions); None when it does not parse (the expression rule says so)."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    bound = {n.id for c in ast.walk(tree) if isinstance(c, ast.comprehension)
             for n in ast.walk(c.target) if isinstance(n, ast.Name)}
    found: list[str] = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Name) and node.id not in bound and node.id not in KNOWN_FUNCTIONS
                and node.id not in found):
            found.append(node.id)
    return found


_OTHER_LANGUAGES = {"true": "True", "false": "False", "null": "None", "none": "None", "nil": "None"}


def _check_condition_names(root: etree._Element, filename: str, problems: Problems) -> None:
    """A condition that reads a name no form (or script) of the process puts in the case's data
    fails in every case that reaches it: say so at deploy, on the flow, naming what is there."""
    available = data_names(root)
    listed = "、".join(f"{n}（{label}）" if label and label != n else n
                      for n, label in list(available.items())[:12]) or "无（流程中还没有表单字段）"
    if len(available) > 12:
        listed += f" 等 {len(available)} 个"
    for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        text = (flow.findtext("bpmn:conditionExpression", default="", namespaces=NS) or "").strip()
        unknown = [n for n in (_free_names(text) or []) if n not in available]
        if not unknown:
            continue
        hints = []
        for name in unknown:
            if name.lower() in _OTHER_LANGUAGES:
                hints.append(f"{name} 应写作 {_OTHER_LANGUAGES[name.lower()]}")
                continue
            close = difflib.get_close_matches(name, list(available), n=1, cutoff=0.7)
            if close:
                hints.append(f"{name} 是不是 {close[0]}？")
        problems.add("condition_field", _located(
            flow, filename, f"条件中的 {'、'.join(unknown)} 不是流程中任何表单的字段；可用：{listed}"
                            + (f"（{'；'.join(hints)}）" if hints else "")))


def check_flow(root: etree._Element, filename: str, problems: Problems | None = None) -> None:
    """The rules on the flow that the engine enforces at deploy as well as in lint."""
    problems = problems or Problems()
    broken = _check_references(root, filename, problems)
    _check_timer_literals(root, filename, problems)
    _check_single_outgoing(root, filename, problems)
    _check_conditions_present(root, filename, problems)
    _check_condition_names(root, filename, problems)
    unreachable = _check_reachable(root, filename, problems, broken)
    _check_dead_ends(root, filename, problems, unreachable)
    _check_role_placeholders(root, filename, problems)


def _diagram_warnings(root: etree._Element) -> list[str]:
    drawn = {s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    missing = [n.get("id") for n in root.iterfind(".//bpmn:process//*", NS)
               if isinstance(n.tag, str) and _local(n.tag) in FLOW_NODE_TAGS and n.get("id") not in drawn]
    if missing:
        return [f"以下元素没有图形信息（diagram interchange），案件视图中无法绘制：{'、'.join(missing)}"]
    return []


def parse_definition(content: bytes | str, filename: str = "<bpmn>") -> ProcessDefinition:
    """Parse and validate; raise ``BpmnError`` with a location on the first problem."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    root = parse_xml(content, filename)
    _check_structure(root, filename)
    _check_schema(root, filename)
    parser = CamundaParser()
    _check_supported(root, filename, parser)
    _check_expressions(root, filename)
    user_tasks = _user_tasks(root, filename)
    main = _main_process(root, filename)
    check_flow(root, filename)
    process_id = main.get("id")
    try:
        parser.add_bpmn_xml(etree.ElementTree(root), filename)
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        line = exc.line_number if isinstance(exc.line_number, int) else None
        if line is None and exc.id:
            found = root.xpath("//*[@id=$id]", id=exc.id)
            line = found[0].sourceline if found else None
        raise BpmnError(str(exc).rstrip(". "), file=filename, line=line, element=exc.id or None,
                        tag=exc.tag or None) from None
    except Exception as exc:  # SpiffWorkflow raises assorted errors on odd input
        raise BpmnError(f"无法解析流程：{type(exc).__name__}: {exc}", file=filename) from None
    user_tasks = _with_pickers(user_tasks, spec, subprocess_specs)
    participant = root.find(f".//bpmn:participant[@processRef='{process_id}']", NS)
    name = main.get("name") or (participant.get("name") if participant is not None else None) or process_id
    return ProcessDefinition(process_id, name, filename, content_hash(content), spec, subprocess_specs,
                             user_tasks, _diagram_warnings(root))


class DefinitionCache:
    """Parsed definitions by content hash (a small LRU shared by all cases of the process)."""

    def __init__(self, size: int = 64):
        self._size = size
        self._items: OrderedDict[str, ProcessDefinition] = OrderedDict()
        self._lock = Lock()

    def get(self, digest: str, load_content) -> ProcessDefinition:
        with self._lock:
            if digest in self._items:
                self._items.move_to_end(digest)
                return self._items[digest]
        content, filename = load_content()
        definition = parse_definition(content, filename)
        with self._lock:
            self._items[digest] = definition
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return definition


_shared = DefinitionCache(size=128)


def parse_cached(content: bytes, filename: str = "<bpmn>") -> ProcessDefinition:
    """``parse_definition`` through a process-wide cache by content hash and file name:
    seeding, catalogue loads and replays parse the same diagrams again and again."""
    return _shared.get(f"{content_hash(content)}:{filename}", lambda: (content, filename))
