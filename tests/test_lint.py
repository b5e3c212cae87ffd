"""Validation a designer can act on (engine/runtime/lint.py): every problem at once, each with
element id and name, line and what to do; one test per rule; the quick fixes; lint agrees with
deploy; and every file of the shared corpus goes through lint, the deploy check, the quick fix
and the drawing without an unhandled error."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from engine.catalogue import shipped_policy
from engine.errors import BpmnError
from engine.runtime.definitions import conditions_cover, parse_definition
from engine.runtime.lint import RULES, lint, quick_fix
from engine.timelimits.policy import TimePolicy
from web.diagram import render

from .conftest import BPMN, ROOT

CORPUS = ROOT.parent / "shared" / "bpmn-corpus"  # ../shared beside the repository, as in CI
VENDOR = ROOT / "web" / "static" / "vendor"

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="defs" targetNamespace="http://approvals.example/bpmn">
"""
#: start → 受理 (window clerk, an enum field) → gateway → 审查 / end; every shape drawn
BODY = """  <bpmn:process id="p" name="测试流程" isExecutable="true">
    <bpmn:startEvent id="start" name="申请"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="accept" name="受理" camunda:candidateGroups="window_clerk">
      <bpmn:extensionElements>
        <camunda:properties><camunda:property name="limit_days" value="2" /></camunda:properties>
        <camunda:formData>
          <camunda:formField id="acceptance" label="受理意见" type="enum">
            <camunda:value id="ok" name="受理" /><camunda:value id="refuse" name="不受理" />
          </camunda:formField>
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="gw" name="是否受理"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="review" name="审查" camunda:candidateGroups="reviewer"><bpmn:incoming>f_yes</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end" name="办结"><bpmn:incoming>f3</bpmn:incoming><bpmn:incoming>f_no</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept" />
    <bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="gw" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="review"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">acceptance == "ok"</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">acceptance == "refuse"</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
  </bpmn:process>
"""
DI = """  <bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="pl" bpmnElement="p">
{shapes}
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
"""
SHAPES = ["start", "accept", "gw", "review", "end"]


def diagram(body: str = BODY, shapes: list[str] | None = None) -> str:
    drawn = "\n".join(f'    <bpmndi:BPMNShape id="{s}_di" bpmnElement="{s}"><dc:Bounds x="{i * 150}" y="80" width="100" height="80" /></bpmndi:BPMNShape>'
                      for i, s in enumerate(SHAPES if shapes is None else shapes))
    return HEAD + body + DI.format(shapes=drawn) + "</bpmn:definitions>\n"


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def problems(text: str, policy: TimePolicy | None = None) -> dict[str, list]:
    found: dict[str, list] = {}
    for p in lint(text, "t.bpmn", policy).problems:
        found.setdefault(p.rule, []).append(p)
    return found


def test_the_base_diagram_is_clean_and_deploys():
    report = lint(diagram(), "t.bpmn")
    assert report.problems == [] and report.ok and report.definition.process_id == "p"


def test_every_shipped_diagram_is_clean_against_its_catalogue_limits():
    for path in sorted(BPMN.glob("*.bpmn")):
        report = lint(path.read_bytes(), path.name, shipped_policy(path.name))
        assert report.problems == [], (path.name, [p.to_dict() for p in report.problems])


def test_every_problem_is_reported_at_once_with_where_and_what_to_do():
    text = diagram(BODY.replace(' camunda:candidateGroups="window_clerk"', "")
                   .replace('isExecutable="true"', 'isExecutable="false"')
                   .replace("acceptance == \"refuse\"", "__import__('os')"), shapes=SHAPES[:-1])
    found = problems(text)
    assert {"no_role", "not_executable", "expression", "no_di"} <= set(found)
    role = found["no_role"][0]
    assert (role.element, role.name, role.severity) == ("accept", "受理", "error")
    assert role.line == line_of(text, '<bpmn:userTask id="accept"')
    assert "办理角色" in role.fix and role.where == f"第 {role.line} 行，“受理”（accept）"
    assert found["no_di"][0].severity == "warning" and found["no_di"][0].element == "end"
    assert all(p.fix for ps in found.values() for p in ps)


def test_xml_errors_are_located():
    found = problems(diagram().replace('<bpmn:endEvent id="end" name="办结">', '<bpmn:endEvent id="end" name="办结>'))
    assert found["xml"][0].line and "XML" in found["xml"][0].reason


def test_not_bpmn():
    assert "bpmn:definitions" in problems("<html/>")["not_bpmn"][0].fix


def test_all_schema_errors_are_listed_with_their_lines():
    text = diagram(BODY.replace('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept" />',
                                '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept" bogus="1" />')
                   .replace('<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />',
                            '<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" other="2" />'))
    schema = problems(text)["schema"]
    assert [p.line for p in schema] == [line_of(text, 'bogus="1"'), line_of(text, 'other="2"')]
    assert {p.element for p in schema} == {"f1", "f3"}


def test_duplicate_ids_are_all_named():
    text = diagram(BODY.replace('<bpmn:userTask id="review"', '<bpmn:userTask id="accept"'))
    assert problems(text)["duplicate_id"][0].element == "accept"


def test_elements_the_engine_cannot_run():
    text = diagram(BODY.replace('<bpmn:userTask id="review" name="审查" camunda:candidateGroups="reviewer">',
                                '<bpmn:serviceTask id="review" name="审查">').replace(
        '<bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>', '<bpmn:outgoing>f3</bpmn:outgoing></bpmn:serviceTask>'))
    found = problems(text)["unsupported"][0]
    assert found.element == "review" and "serviceTask" in found.reason


def test_a_process_not_marked_executable_is_fixable():
    found = problems(diagram(BODY.replace('isExecutable="true"', 'isExecutable="false"')))["not_executable"][0]
    assert found.element == "p" and found.fixable


def test_two_executable_main_processes():
    second = '<bpmn:process id="q" isExecutable="true"><bpmn:startEvent id="s2" /></bpmn:process>\n'
    assert "主流程" in problems(diagram(BODY + second))["main_process"][0].reason


def test_a_user_task_without_a_role_and_an_unknown_role():
    found = problems(diagram(BODY.replace(' camunda:candidateGroups="window_clerk"', "")
                             .replace('camunda:candidateGroups="reviewer"', 'camunda:candidateGroups="清洁工"')))
    assert found["no_role"][0].element == "accept" and found["no_role"][0].fixable
    assert found["unknown_role"][0].element == "review" and "清洁工" in found["unknown_role"][0].reason


def test_a_gateway_whose_conditions_may_all_be_false_without_a_default_flow():
    text = diagram(BODY.replace('acceptance == "refuse"', 'acceptance == "later"'))
    found = problems(text)["gateway_default"][0]
    assert (found.element, found.name, found.severity) == ("gw", "是否受理", "warning")
    assert "默认路径" in found.fix
    assert "gateway_default" not in problems(diagram(BODY.replace('<bpmn:exclusiveGateway id="gw" name="是否受理">',
                                                                  '<bpmn:exclusiveGateway id="gw" name="是否受理" default="f_no">')
                                                     .replace('acceptance == "refuse"', 'acceptance == "later"')))


@pytest.mark.parametrize("conditions, covered", [
    (['d == "grant"', 'd == "deny"'], True),          # every option of the enum field
    (['d == "grant"'] * 2, False),
    (['d in ["grant"]', 'd not in ["grant"]'], True),
    (["score >= 60", "score < 60"], True),           # each other's negation
    (["score > 60", "score < 60"], False),            # 60 falls through
    (["flag", "not flag"], True),
    (['x == "a"', 'x == "b"'], False),                # a field the form does not enumerate
])
def test_conditions_cover(conditions, covered):
    assert conditions_cover(conditions, {"d": frozenset({"grant", "deny"})}) is covered


@pytest.mark.parametrize("expression, rule", [
    ("acceptance ==", "expression"), ("__import__('os').system('x')", "expression"),
])
def test_a_condition_that_does_not_parse(expression, rule):
    found = problems(diagram(BODY.replace('acceptance == "refuse"', expression)))[rule][0]
    assert found.element == "f_no"


@pytest.mark.parametrize("timer", ['"five days"', "workdays(", '"P5X"'])
def test_a_timer_that_does_not_parse(timer):
    body = BODY.replace('<bpmn:endEvent id="end" name="办结">',
                        f'<bpmn:boundaryEvent id="late" name="超时" attachedToRef="review"><bpmn:outgoing>f_late</bpmn:outgoing>'
                        f'<bpmn:timerEventDefinition><bpmn:timeDuration>{timer}</bpmn:timeDuration></bpmn:timerEventDefinition>'
                        f'</bpmn:boundaryEvent><bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="end" />'
                        f'<bpmn:endEvent id="end" name="办结">')
    found = problems(diagram(body, SHAPES + ["late"]))["timer"][0]
    assert found.element == "late" and "ISO 8601" in found.fix
    # the modeler's form quotes the text itself; in XML it is quoted: both said, not one against the other
    assert "不必加引号" in found.fix and '"P5D"' in found.fix


def test_time_limits_that_contradict_the_catalogue():
    policy = TimePolicy(statutory_days=10, promised_days=1, step_days={"accept": 1, "gone": 2})
    timer = ('<bpmn:boundaryEvent id="late" attachedToRef="review"><bpmn:outgoing>f_late</bpmn:outgoing>'
             '<bpmn:timerEventDefinition><bpmn:timeDuration>workdays(5)</bpmn:timeDuration></bpmn:timerEventDefinition>'
             '</bpmn:boundaryEvent><bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="end" />')
    found = problems(diagram(BODY.replace('<bpmn:endEvent id="end"', timer + '<bpmn:endEvent id="end"'),
                             SHAPES + ["late"]), policy)
    over = {p.element: p for p in found["time_limit"]}
    assert "2 个工作日，超过事项承诺时限 1 个工作日" in over["accept"].reason
    assert "计时器 5 个工作日" in over["late"].reason
    differs = {p.element: p for p in found["time_limit_differs"]}
    assert "目录规定环节“受理” 1 个工作日，图中写的是 2" in differs["accept"].reason
    assert differs["gone"].severity == "warning"
    assert "time_limit" not in problems(diagram(), TimePolicy(statutory_days=20))


def test_unreachable_elements():
    text = diagram(BODY.replace('<bpmn:endEvent id="end" name="办结">',
                                '<bpmn:userTask id="orphan" name="孤立环节" camunda:candidateGroups="reviewer" />'
                                '<bpmn:endEvent id="end" name="办结">'), SHAPES + ["orphan"])
    found = problems(text)["unreachable"]
    assert [(p.element, p.name) for p in found] == [("orphan", "孤立环节")]
    with pytest.raises(BpmnError, match="走不到"):  # deploy refuses it too
        parse_definition(text, "t.bpmn")


def test_a_task_with_two_outgoing_flows_is_named_in_chinese():
    text = diagram(BODY.replace('<bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>',
                                '<bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>')
                   .replace('<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />',
                            '<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />'
                            '<bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="end" />'))
    found = problems(text)["outgoing"][0]
    assert found.element == "review" and "网关" in found.fix


def test_missing_diagram_interchange_is_a_warning_only():
    report = lint(diagram(shapes=[]), "t.bpmn")
    assert report.ok and {p.rule for p in report.problems} == {"no_di"} and len(report.warnings) == 5


def test_quick_fix_marks_executable_and_puts_a_placeholder_role_to_confirm():
    text = diagram(BODY.replace('isExecutable="true"', 'isExecutable="false"')
                   .replace(' camunda:candidateGroups="window_clerk"', "")
                   .replace(' camunda:candidateGroups="reviewer"', ""))
    fixed, done = quick_fix(text, "t.bpmn")
    assert len(done) == 3 and "可执行" in done[0] and "暂定由“审查员”办理" in done[1]
    found = problems(fixed.decode())
    assert set(found) == {"role_placeholder"} and {p.element for p in found["role_placeholder"]} == {"accept", "review"}
    assert "审查员" in found["role_placeholder"][0].reason
    # the designer confirms: the placeholder property goes, the role stays
    confirmed = fixed.decode().replace('<camunda:property name="role_to_confirm" value="true"/>', "")
    confirmed = confirmed.replace("<camunda:properties></camunda:properties>", "").replace("<camunda:properties/>", "")
    assert lint(confirmed, "t.bpmn").ok
    with pytest.raises(BpmnError, match="占位"):  # an unconfirmed placeholder does not deploy
        parse_definition(fixed, "t.bpmn")
    assert quick_fix(diagram(), "t.bpmn") == (diagram().encode(), [])


def test_every_rule_has_a_fix_in_chinese():
    assert all(severity in ("error", "warning") and fix and not fix.isascii() for severity, fix in RULES.values())


def test_cli_lint_lists_every_problem(tmp_path):
    from click.testing import CliRunner  # import here: only this test drives the CLI

    from cli.main import main
    bad = tmp_path / "bad.bpmn"
    bad.write_text(diagram(BODY.replace(' camunda:candidateGroups="window_clerk"', "")
                           .replace('isExecutable="true"', 'isExecutable="false"')), encoding="utf-8")
    result = CliRunner().invoke(main, ["lint", str(bad)])
    assert result.exit_code == 1
    assert "错误 2 处" in result.output and "怎么改" in result.output and "“受理”（accept）" in result.output
    result = CliRunner().invoke(main, ["lint", str(bad), "--json"])
    report = json.loads(result.output)[0]
    assert report["errors"] == 2 and {p["rule"] for p in report["problems"]} == {"no_role", "not_executable"}


def test_the_vendored_modeler_is_the_pinned_release():
    """Each file listed in web/static/vendor/README.md has the hash written there (unmodified)."""
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    checked = 0
    for section in readme.split("\n## ")[1:]:
        folder = section.split("`")[1].rstrip("/")  # "## bpmn-js 18.31.1 — `bpmn-js-18.31.1/`"
        assert (VENDOR / folder / "LICENSE").is_file()
        for line in section.splitlines():
            if line.startswith("| `package/"):
                here, digest = (cell.strip().strip("`") for cell in line.split("|")[2:4])
                assert hashlib.sha256((VENDOR / folder / here).read_bytes()).hexdigest() == digest, here
                checked += 1
    assert checked == 12


# ---------------------------------------------------------------- real files

def _corpus() -> list[Path]:
    return sorted(CORPUS.rglob("*.bpmn")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"BPMN corpus not found beside the repository ({CORPUS})")
@pytest.mark.parametrize("path", _corpus(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_file_goes_through_lint_deploy_check_fix_and_drawing(path: Path):
    content = path.read_bytes()
    report = lint(content, path.name)
    for problem in report.problems:  # located and actionable
        assert problem.reason and problem.fix and (problem.line or problem.element), problem
    try:
        parse_definition(content, path.name)
    except BpmnError as error:
        assert not report.ok and error.reason and (error.line or error.element), error.message
    else:
        assert report.ok  # lint passes exactly the files deploy accepts
    fixed, done = quick_fix(content, path.name)
    again = lint(fixed, path.name)
    assert not {"not_executable", "no_role"} & {p.rule for p in again.problems}
    assert (fixed == content) == (not done)
    svg = render(content, title=path.name)
    assert svg.startswith("<svg")


def test_a_gateway_flow_with_neither_condition_nor_default_is_named_in_chinese():
    bare = BODY.replace('<bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end"><bpmn:conditionExpression '
                        'xsi:type="bpmn:tFormalExpression">acceptance == "refuse"</bpmn:conditionExpression></bpmn:sequenceFlow>',
                        '<bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end" />')
    report = lint(diagram(bare), "t.bpmn")
    [found] = [p for p in report.problems if p.severity == "error"]  # not SpiffWorkflow's English as well
    assert (found.rule, found.element) == ("condition_missing", "f_no")
    assert "是否受理" in found.reason and "默认路径" in found.fix
    with pytest.raises(BpmnError, match="既没有条件"):  # deploy refuses it the same way
        parse_definition(diagram(bare).encode(), "t.bpmn")
    defaulted = bare.replace('<bpmn:exclusiveGateway id="gw"', '<bpmn:exclusiveGateway id="gw" default="f_no"')
    assert lint(diagram(defaulted), "t.bpmn").ok


def test_an_untyped_task_is_refused_with_the_way_to_make_it_a_step():
    """A task dragged from the palette runs as a no-op: nobody would be given the step."""
    body = BODY.replace('<bpmn:userTask id="accept" name="受理" camunda:candidateGroups="window_clerk">',
                        '<bpmn:task id="accept" name="受理">').replace("</bpmn:userTask>", "</bpmn:task>", 1)
    report = lint(diagram(body), "t.bpmn")
    (found,) = [p for p in report.problems if p.rule == "unsupported"]
    assert found.element == "accept" and "用户任务" in found.reason and not report.ok


def test_a_condition_naming_no_form_field_is_an_error_on_its_flow():
    """A misspelt field deploys otherwise, and every case reaching the gateway fails at run time."""
    text = diagram(BODY.replace('acceptance == "ok"', 'acceptence == "ok"'))
    report = lint(text, "t.bpmn")
    (found,) = [p for p in report.problems if p.rule == "condition_field"]
    assert (found.element, found.severity, found.line) == ("f_yes", "error", line_of(text, 'id="f_yes"'))
    assert found.reason.startswith("条件中的 acceptence 不是流程中任何表单的字段；可用：acceptance（受理意见）")
    assert "是不是 acceptance？" in found.reason and "表单字段" in found.fix and not report.ok
    assert "next_handler" not in found.reason  # no person picker: no step is handled by a chosen person
    with pytest.raises(BpmnError, match="acceptence"):  # deploy refuses it the same way
        parse_definition(text, "t.bpmn")


@pytest.mark.parametrize("condition", [
    'acceptance == "ok" and len(acceptance) > 0',          # a helper called
    'any(a == "ok" for a in [acceptance])',                # a comprehension's own variable
    'checked == True',                                     # what a script assigns
    'next_handler_review == "shencha"',                    # the person picker of a chosen-handler step
])
def test_names_the_case_data_can_hold_are_not_flagged(condition):
    body = (BODY.replace('acceptance == "ok"', condition)
            .replace('<bpmn:userTask id="review" name="审查" camunda:candidateGroups="reviewer">',
                     '<bpmn:userTask id="review" name="审查" camunda:candidateGroups="reviewer"><bpmn:extensionElements>'
                     '<camunda:properties><camunda:property name="handler" value="chosen" /></camunda:properties>'
                     '</bpmn:extensionElements>')
            .replace('<bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="gw" />',
                     '<bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="check" />'
                     '<bpmn:scriptTask id="check" name="核对"><bpmn:script>checked = acceptance == "ok"</bpmn:script>'
                     '</bpmn:scriptTask><bpmn:sequenceFlow id="f2b" sourceRef="check" targetRef="gw" />'))
    report = lint(diagram(body, SHAPES + ["check"]), "t.bpmn")
    assert report.ok, [p.to_dict() for p in report.problems]


def test_a_condition_written_in_another_language_is_told_the_python_spelling():
    found = problems(diagram(BODY.replace('acceptance == "refuse"', "true")))["condition_field"][0]
    assert found.element == "f_no" and "true 应写作 True" in found.reason


def test_a_boundary_event_without_outgoing_flow_is_a_dead_end():
    body = BODY.replace('<bpmn:endEvent id="end" name="办结">',
                        '<bpmn:boundaryEvent id="late" name="超时" attachedToRef="review"><bpmn:timerEventDefinition>'
                        '<bpmn:timeDuration>"P5D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
                        '<bpmn:endEvent id="end" name="办结">')
    text = diagram(body, SHAPES + ["late"])
    report = lint(text, "t.bpmn")
    (found,) = report.errors
    assert (found.rule, found.element, found.line) == ("dead_end", "late", line_of(text, 'id="late"'))
    assert "边界事件“超时”没有出线" in found.reason and "“审查”被中断" in found.reason and "连一条顺序流" in found.fix
    with pytest.raises(BpmnError, match="没有出线"):
        parse_definition(text, "t.bpmn")
    quiet = body.replace('attachedToRef="review">', 'attachedToRef="review" cancelActivity="false">')
    assert "什么也不会发生" in lint(diagram(quiet, SHAPES + ["late"]), "t.bpmn").errors[0].reason


def test_a_task_without_outgoing_flow_is_a_dead_end():
    text = diagram(BODY.replace('<bpmn:incoming>f_yes</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>',
                                '<bpmn:incoming>f_yes</bpmn:incoming>')
                   .replace('<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />', ""))
    (found,) = lint(text, "t.bpmn").errors
    assert (found.rule, found.element, found.name) == ("dead_end", "review", "审查")
    assert found.reason == "环节“审查”没有出线：办件走到这里就停住，不会走到结束事件"


def test_the_cli_lint_names_a_dead_end(tmp_path):
    from click.testing import CliRunner

    from cli.main import main
    bad = tmp_path / "dead.bpmn"
    bad.write_text(diagram(BODY.replace('<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />', "")),
                   encoding="utf-8")
    result = CliRunner().invoke(main, ["lint", str(bad)])
    assert result.exit_code == 1 and "没有出线" in result.output and "校验通过" not in result.output


def test_a_flow_to_a_missing_element_is_named_once_without_a_flood_of_unreachable_ones():
    text = diagram(BODY.replace('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept" />',
                                '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="acept" />'))
    report = lint(text, "t.bpmn")
    assert [(p.rule, p.element) for p in report.errors] == [("broken_reference", "f1")]
    found = report.errors[0]
    assert found.line == line_of(text, 'id="f1"')
    assert "顺序流的终点（targetRef）“acept”不存在" in found.reason and "是不是 accept？" in found.reason
    with pytest.raises(BpmnError, match="acept"):  # deploy says the same first
        parse_definition(text, "t.bpmn")
    # listed before whatever else is wrong, whatever its line
    other = text.replace(' camunda:candidateGroups="reviewer"', "")
    assert [p.rule for p in lint(other, "t.bpmn").errors][0] == "broken_reference"


def test_an_element_whose_outgoing_flow_names_another_source_is_a_dead_end_said_to_follow_from_it():
    text = diagram(BODY.replace('<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />',
                                '<bpmn:sequenceFlow id="f3" sourceRef="reveiw" targetRef="end" />'))
    found = lint(text, "t.bpmn").errors
    assert [(p.rule, p.element) for p in found] == [("broken_reference", "f3"), ("dead_end", "review")]
    assert "起点（sourceRef）“reveiw”不存在" in found[0].reason and "是不是 review？" in found[0].reason
    assert "它的出线 f3 的起点写成了“reveiw”，见该顺序流的问题" in found[1].reason
