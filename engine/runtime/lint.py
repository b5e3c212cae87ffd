"""Validation a designer can act on: every problem of a BPMN file at once, each located (element
id and name, line) with what to do, and the mechanical fixes a file from another tool needs.

The checks are those of ``parse_definition`` (engine/runtime/definitions.py) run in collecting
mode, plus rules that only warn (a gateway whose conditions may all be false, missing diagram
interchange) and, when the item is known, its catalogue time limits. ``approvals lint``, the
modeler's 校验 button and the upload page all call ``lint``; a file passes deploy exactly when
``lint`` reports no error (time limits: when deployed through the catalogue).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

from engine.errors import BpmnError
from engine.roles import ROLES, role_name
from engine.runtime.definitions import (
    BPMN_NS, CAMUNDA_NS, FLOW_NODE_TAGS, NS, ROLE_PLACEHOLDER, ProcessDefinition, Problems, _check_expressions,
    _check_schema, _check_structure, _check_supported, _local, _main_process, _user_tasks, candidate_main_process,
    check_flow, check_gateways, check_time_limits, parse_definition, parse_xml,
)
from engine.timelimits.policy import TimePolicy

_ROLES = "、".join(r.name for r in ROLES if r.code not in ("admin", "designer"))

#: rule → (severity, what to do). The reason comes with each problem.
RULES: dict[str, tuple[str, str]] = {
    "xml": ("error", "按行号改正 XML 格式；文件若由其他工具导出，请在该工具中重新导出"),
    "not_bpmn": ("error", "请选择 BPMN 2.0 文件（.bpmn），根元素应为 bpmn:definitions"),
    "duplicate_id": ("error", "把其中一个元素的 id 改为不重复的值"),
    "schema": ("error", "按 BPMN 2.0 规范改正该元素（多为非标准属性、缺少必填属性或子元素顺序不对）"),
    "unsupported": ("error", "改用本系统能运行的元素：用户任务、脚本任务、调用活动、排他/并行/包容网关、计时器事件"),
    "not_executable": ("error", "把流程标记为可执行（isExecutable=\"true\"）；可用“一键修复”"),
    "main_process": ("error", "只保留一个可执行的主流程，其余流程标记为不可执行或由调用活动调用"),
    "no_role": ("error", "选中该任务，在右侧“办理角色”中选择角色，或把它放进以角色命名的泳道；可用“一键修复”先填入占位角色"),
    "unknown_role": ("error", f"泳道名或办理角色应为标准角色之一：{_ROLES}"),
    "role_placeholder": ("error", "选中该任务，在右侧确认或改选办理角色后点“应用”"),
    "form": ("error", "按提示改正该任务的表单字段"),
    "time_settings": ("error", "按提示改正该任务的时限属性（camunda:property）"),
    "step_settings": ("error", "选中该任务，在右侧“环节设置”中改正（或改正其 camunda:property）：字段须是表单中的字段，"
                               "操作、办理人规则按可选项填写，数字写整数"),
    "expression": ("error", "条件只能引用表单字段并作简单比较，例如 decision == \"grant\""),
    "condition_field": ("error", "把条件中的名字改成表单字段的 id（区分大小写）；在设计器中选中这条出线，"
                                 "“可用的表单字段”列出了它们；要用的值若还没有字段，先在前面的环节加上"),
    "condition_missing": ("error", "为这条出线写条件；或在设计器中选中它，勾选“设为默认路径”（每个网关至多一条）"),
    # the modeler's side form quotes an ISO text itself: the advice is the same in its list and at its field
    "timer": ("error", "在设计器中选中计时器，“计时定义”写 ISO 8601 时长如 P5D（5 天）、PT2H（2 小时），"
                       "或 workdays(3)（3 个工作日），不必加引号，设计器会自动加上；直接编辑 XML 时，"
                       "ISO 8601 文本要带引号，如 \"P5D\""),
    "time_limit": ("error", "缩短环节或计时器的时限，使其不超过事项目录中的时限；或先修改事项目录"),
    "time_limit_differs": ("warning", "让图中的 limit_days 与事项目录一致，避免误解（运行时以目录为准）"),
    "broken_reference": ("error", "在设计器中把这条顺序流删掉，从起点重新连到要去的元素；直接编辑 XML 时把 sourceRef / targetRef "
                                  "改为已有元素的 id。改好后再校验，其余“走不到”的问题随之消失"),
    "dead_end": ("error", "从它连一条顺序流到下一步（下一环节、网关或结束事件）；边界事件连到触发后要去的环节"
                          "（如催办、退回或结束事件）；用不到的元素就删除"),
    "outgoing": ("error", "在环节后加一个排他网关（按条件走一条）或并行网关（同时走多条），把各条出线接到网关上"),
    "unreachable": ("error", "从开始事件或前一环节连一条顺序流到该元素，或删除它"),
    "gateway_default": ("warning", "为网关指定一条默认路径（选中一条出线设为默认），或让条件覆盖字段的所有取值"),
    "no_di": ("warning", "在设计器中打开后保存一次即可生成图形；否则办件页面无法画出该元素"),
    "engine": ("error", "按提示改正；如不明白，请把文件和这条信息交给管理员"),
}
FIXABLE = {"not_executable", "no_role"}
ROOT_CAUSES = {"broken_reference"}  # listed first: other problems may follow from them
PLACEHOLDER_ROLE = "reviewer"  # what a quick fix puts on a user task without a role, to be confirmed


@dataclass(frozen=True)
class Problem:
    rule: str
    severity: str  # error | warning
    reason: str
    fix: str
    element: str | None = None
    name: str | None = None
    tag: str | None = None
    line: int | None = None

    @property
    def fixable(self) -> bool:
        return self.rule in FIXABLE

    @property
    def where(self) -> str:
        parts = []
        if self.line:
            parts.append(f"第 {self.line} 行")
        if self.element:
            parts.append(f"“{self.name}”（{self.element}）" if self.name and self.name != self.element
                         else f"元素 {self.element}")
        return "，".join(parts) or "整个文件"

    def to_dict(self) -> dict:
        return {"rule": self.rule, "severity": self.severity, "severity_label": "错误" if self.severity == "error" else "提示",
                "reason": self.reason, "fix": self.fix, "element": self.element, "name": self.name,
                "tag": self.tag, "line": self.line, "where": self.where, "fixable": self.fixable}


@dataclass
class LintReport:
    filename: str
    problems: list[Problem] = field(default_factory=list)
    definition: ProcessDefinition | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def fixable(self) -> list[Problem]:
        return [p for p in self.problems if p.fixable]

    def to_dict(self) -> dict:
        return {"file": self.filename, "ok": self.ok, "errors": len(self.errors), "warnings": len(self.warnings),
                "fixable": len(self.fixable),
                "process": self.definition.process_id if self.definition else None,
                "user_tasks": len(self.definition.user_tasks) if self.definition else None,
                "problems": [p.to_dict() for p in self.problems]}


def _problem(rule: str, error: BpmnError, names: dict[str, str]) -> Problem:
    severity, fix = RULES.get(rule, RULES["engine"])
    return Problem(rule, severity, error.reason, fix, error.element, names.get(error.element or ""),
                   error.tag, error.line)


def _missing_di(root: etree._Element, filename: str, problems: Problems) -> None:
    drawn = {s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    for node in root.iterfind(".//bpmn:process//*", NS):
        if isinstance(node.tag, str) and _local(node.tag) in FLOW_NODE_TAGS and node.get("id") not in drawn:
            problems.add("no_di", BpmnError("没有图形信息（diagram interchange）：能运行，但画不出来",
                                            file=filename, line=node.sourceline, element=node.get("id"),
                                            tag=_local(node.tag)))


def lint(content: bytes | str, filename: str = "<bpmn>", policy: TimePolicy | None = None) -> LintReport:
    """Every problem of the file; ``policy``: the item's time limits, to check the diagram against."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    report = LintReport(filename)
    try:
        root = parse_xml(content, filename)
    except BpmnError as exc:
        report.problems.append(_problem("xml", exc, {}))
        return report
    names = {n.get("id"): (n.get("name") or "").strip() for n in root.iter()
             if isinstance(n.tag, str) and n.get("id") and (n.get("name") or "").strip()}
    if root.tag != f"{{{BPMN_NS}}}definitions":
        report.problems.append(_problem("not_bpmn", BpmnError(
            f"不是 BPMN 2.0 文件：根元素是 {etree.QName(root).localname}", file=filename, line=root.sourceline), names))
        return report
    found = Problems(strict=False)
    _check_structure(root, filename, found)
    _check_schema(root, filename, found)
    _check_supported(root, filename, CamundaParser(), found)
    _check_expressions(root, filename, found)
    _user_tasks(root, filename, found)
    _main_process(root, filename, found)
    check_flow(root, filename, found)
    check_gateways(root, filename, found)
    if policy is not None:
        check_time_limits(root, filename, policy, found)
    _missing_di(root, filename, found)
    report.problems.extend(_problem(rule, error, names) for rule, error in found.found)
    if not report.errors:  # what only SpiffWorkflow's own parser finds
        try:
            report.definition = parse_definition(content, filename)
        except BpmnError as exc:
            report.problems.append(_problem("engine", exc, names))
    order = {"error": 0, "warning": 1}
    # a cause before what follows from it: a broken reference makes everything after it unreachable
    report.problems.sort(key=lambda p: (order[p.severity], p.rule not in ROOT_CAUSES, p.line or 0))
    return report


def quick_fix(content: bytes | str, filename: str = "<bpmn>") -> tuple[bytes, list[str]]:
    """Apply the mechanical fixes a diagram from another tool needs; return the new XML and what
    was done, in Chinese. A user task without a role gets ``PLACEHOLDER_ROLE`` and a
    ``role_to_confirm`` property, which lint reports (an error) until the designer confirms it."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    root = parse_xml(content, filename)
    if root.tag != f"{{{BPMN_NS}}}definitions":
        return content, []
    done: list[str] = []
    processes = root.findall("bpmn:process", NS)
    if processes and not any(p.get("isExecutable", "true") == "true" for p in processes):
        main = candidate_main_process(root)
        main.set("isExecutable", "true")
        done.append(f"已把流程 “{main.get('name') or main.get('id')}” 标记为可执行")
    unassigned = Problems(strict=False)
    _user_tasks(root, filename, unassigned)
    for rule, error in unassigned.found:
        if rule != "no_role":
            continue
        node = root.xpath("//*[@id=$id]", id=error.element)[0]
        node.set(f"{{{CAMUNDA_NS}}}candidateGroups", PLACEHOLDER_ROLE)
        _set_property(node, ROLE_PLACEHOLDER, "true")
        done.append(f"任务 “{node.get('name') or node.get('id')}” 暂定由“{role_name(PLACEHOLDER_ROLE)}”办理，"
                    "请确认或改选")
    if not done:
        return content, []
    etree.cleanup_namespaces(root, top_nsmap={"camunda": CAMUNDA_NS})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), done


def _set_property(node: etree._Element, name: str, value: str) -> None:
    extension = node.find("bpmn:extensionElements", NS)
    if extension is None:
        extension = etree.Element(f"{{{BPMN_NS}}}extensionElements")
        after = [i for i, child in enumerate(node) if child.tag == f"{{{BPMN_NS}}}documentation"]
        node.insert(after[-1] + 1 if after else 0, extension)
    properties = extension.find("camunda:properties", NS)
    if properties is None:
        properties = etree.SubElement(extension, f"{{{CAMUNDA_NS}}}properties")
    for prop in properties.iterfind("camunda:property", NS):
        if prop.get("name") == name:
            prop.set("value", value)
            return
    etree.SubElement(properties, f"{{{CAMUNDA_NS}}}property", name=name, value=value)
