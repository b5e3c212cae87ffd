"""BPMN enters only through parse_definition: safe, validated, located errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.runtime.definitions import parse_definition
from engine.errors import BpmnError

from .conftest import BPMN, ROOT

GOOD = (BPMN / "general_approval.bpmn").read_text(encoding="utf-8")
CORPUS = sorted((ROOT.parent / "shared" / "bpmn-corpus" / "miwg").glob("*/*.bpmn"))


def refuse(text: str, filename: str = "bad.bpmn") -> BpmnError:
    with pytest.raises(BpmnError) as info:
        parse_definition(text.encode("utf-8"), filename)
    return info.value


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_general_approval_is_valid_and_described():
    definition = parse_definition(GOOD.encode(), "general_approval.bpmn")
    assert definition.process_id == "general_approval"
    assert {k: v.role for k, v in definition.user_tasks.items()} == {
        "accept_application": "window_clerk", "review": "reviewer", "decide": "head"}
    acceptance = definition.user_tasks["accept_application"].form[0]
    assert (acceptance.id, acceptance.type, acceptance.required) == ("acceptance", "enum", True)
    assert [o for o, _ in acceptance.options] == ["accept", "refuse"]
    assert definition.warnings == []


def test_malformed_xml_names_file_and_line():
    text = GOOD.replace('<bpmn:userTask id="review" name="审查">', '<bpmn:userTask id="review" name="审查"', 1)
    error = refuse(text)
    assert error.file == "bad.bpmn"
    assert error.line is not None and error.line >= line_of(GOOD, 'id="review"')
    assert "XML 格式错误" in error.reason


def test_external_entity_is_refused_before_parsing(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    text = GOOD.replace('<?xml version="1.0" encoding="UTF-8"?>',
                        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>')
    text = text.replace('name="审查"', 'name="&xxe;"', 1)
    error = refuse(text)
    assert error.line == 2 and "DOCTYPE" in error.reason
    assert "TOP-SECRET" not in error.message


def test_billion_laughs_is_refused():
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    text = f'<?xml version="1.0"?>\n<!DOCTYPE lolz [{entities}]>\n<lolz>&lol9;</lolz>'
    error = refuse(text)
    assert "DOCTYPE" in error.reason and error.line == 2


def test_unsupported_element_is_named_with_its_line():
    text = GOOD.replace('<bpmn:exclusiveGateway id="gw_accepted" name="是否受理">',
                        '<bpmn:complexGateway id="gw_accepted" name="是否受理">').replace(
        "</bpmn:exclusiveGateway>", "</bpmn:complexGateway>")
    error = refuse(text)
    assert error.element == "gw_accepted" and error.tag == "complexGateway"
    assert error.line == line_of(text, '<bpmn:complexGateway')
    assert "complexGateway" in error.reason


def test_condition_that_imports_a_module_is_refused_at_deploy():
    text = GOOD.replace('acceptance == "accept"', "__import__('os').system('touch pwned') == 0")
    error = refuse(text)
    assert error.element == "f_gw_review"
    assert "__import__" in error.reason


def test_script_with_statements_other_than_assignment_is_refused():
    text = GOOD.replace(
        '<bpmn:endEvent id="end_refused" name="不予受理">',
        '<bpmn:scriptTask id="bad_script"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>'
        '<bpmn:endEvent id="end_refused" name="不予受理">')
    error = refuse(text)
    assert error.element == "bad_script" and "赋值" in error.reason


def test_form_option_reusing_an_element_id_is_refused_with_both_places():
    text = GOOD.replace('<camunda:value id="grant" name="准予许可" />', '<camunda:value id="decide" name="准予许可" />')
    error = refuse(text)
    assert error.element == "decide" and "重名" in error.reason and "第" in error.reason


def test_duplicate_element_ids_are_refused():
    text = GOOD.replace('<bpmn:endEvent id="end_refused"', '<bpmn:endEvent id="review"')
    error = refuse(text)
    assert error.element == "review" and "重复" in error.reason


def test_two_forms_may_share_option_ids():
    definition = parse_definition((BPMN / "joint_review.bpmn").read_bytes(), "joint_review.bpmn")
    assert definition.user_tasks["mz_opinion"].settings.deemed_approval == {"mz_result": "agree"}
    assert [o for o, _ in definition.user_tasks["ws_opinion"].form[0].options] == ["agree", "disagree"]


@pytest.mark.parametrize("properties, reason", [
    ('<camunda:property name="stage" value="approval" />', "stage"),
    ('<camunda:property name="limit_days" value="zero" />', "limit_days"),
    ('<camunda:property name="limit_days" value="400" />', "limit_days"),
    ('<camunda:property name="deemed_approval" value="review_result=pass" />', "limit_days"),
    ('<camunda:property name="limit_days" value="3" /><camunda:property name="deemed_approval" value="review_result=maybe" />',
     "选项"),
    ('<camunda:property name="limit_days" value="3" /><camunda:property name="deemed_approval" value="nothing" />',
     "字段=取值"),
    ('<camunda:property name="warn_share" value="1.5" />', "比例"),
])
def test_bad_time_settings_on_a_step_are_located(properties, reason):
    text = GOOD.replace('<camunda:property name="stage" value="review" />\n          '
                        '<camunda:property name="limit_days" value="5" />',
                        properties)
    assert text != GOOD
    error = refuse(text)
    assert error.element == "review" and "时限设置" in error.reason and reason in error.reason, error.reason


def test_a_decision_stage_needs_its_decision_field():
    text = GOOD.replace('<camunda:formField id="decision" label="审批决定" type="enum">',
                        '<camunda:formField id="verdict" label="审批决定" type="enum">')
    error = refuse(text)
    assert error.element == "decide" and "decision" in error.reason


def test_user_task_without_role_is_refused():
    text = GOOD.replace("<bpmn:flowNodeRef>review</bpmn:flowNodeRef>", "")
    error = refuse(text)
    assert error.element == "review" and "角色" in error.reason


def test_unknown_lane_role_is_refused():
    text = GOOD.replace('name="审查员"', 'name="保安"')
    error = refuse(text)
    assert error.element == "review" and "保安" in error.reason


def test_not_bpmn_at_all():
    error = refuse('<?xml version="1.0"?><html><body/></html>')
    assert "bpmn:definitions" in error.reason


def test_schema_violation_is_located():
    text = GOOD.replace('<bpmn:sequenceFlow id="f_decide_end" sourceRef="decide" targetRef="end_decided" />',
                        '<bpmn:sequenceFlow id="f_decide_end" sourceRef="decide" targetRef="end_decided" bogus="1" />')
    error = refuse(text)
    assert error.line == line_of(text, 'bogus="1"')


@pytest.mark.skipif(not CORPUS, reason="shared BPMN corpus not present")
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name[:6]}/{p.name}")
def test_corpus_files_load_or_are_refused_clearly(path: Path):
    """Real files from other tools never crash the importer."""
    try:
        definition = parse_definition(path.read_bytes(), path.name)
    except BpmnError as error:
        assert error.file == path.name and error.reason
        assert error.line or error.element, error.message
    else:
        assert definition.process_id


def test_next_user_tasks_follow_gateways_and_call_activities():
    from engine.runtime.definitions import next_user_tasks

    def nexts(name, element):
        definition = parse_definition((BPMN / f"{name}.bpmn").read_bytes(), f"{name}.bpmn")
        return [t.element_id for t in next_user_tasks(definition, element)]

    assert nexts("investment_project", "accept_application") == ["zrzy_opinion", "sthj_opinion", "zjj_opinion"]
    assert nexts("food_production", "preliminary_review") == ["city_review"]
    assert sorted(nexts("complaint_12345", "follow_up")) == ["close", "handle"]
    assert nexts("marriage_registration", "register") == []
