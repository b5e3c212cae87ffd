"""What libxml2 says about a broken file, in Chinese (engine/runtime/xml_messages.py): the common
cases translated with line and column, elements by their Chinese and local names, no namespace
URIs; a rare one keeps the original after a Chinese prefix."""
from __future__ import annotations

import pytest

from engine.errors import BpmnError
from engine.runtime.definitions import parse_definition
from engine.runtime.lint import lint
from engine.runtime.xml_messages import schema_message, syntax_message

from .test_lint import BODY, diagram


def only(text: str, rule: str):
    found = [p for p in lint(text, "t.bpmn").problems if p.rule == rule]
    assert found, lint(text, "t.bpmn").problems
    return found


@pytest.mark.parametrize("text, said", [
    ("hello", "XML 格式错误（第 1 行第 1 列）：文件开头不是 XML"),
    ("", "文件是空的"),
    (diagram().replace('<bpmn:endEvent id="end" name="办结">', '<bpmn:endEvent id="end" name="办结"'),
     "属性的写法不对"),
    (diagram()[:600], "这里缺少 >"),
    (diagram().replace("</bpmn:process>", "</bpmn:proces>"), "开始标签 <process>（第 8 行）与结束标签 </proces> 不一致"),
    (diagram(BODY.replace('name="审查"', 'name="审查&"')), "文字中的 & 要写成 &amp;"),
    (diagram().replace("<bpmn:endEvent", "<bpmx:endEvent").replace("</bpmn:endEvent", "</bpmx:endEvent"),
     "命名空间前缀 bpmx"),
])
def test_xml_that_is_not_well_formed_is_told_in_chinese_with_line_and_column(text, said):
    (found,) = only(text, "xml")
    assert said in found.reason and found.line
    assert not any(word in found.reason for word in ("expected", "Start tag", "Couldn't", "line "))
    with pytest.raises(BpmnError) as error:  # deploy says the same
        parse_definition(text, "t.bpmn")
    assert error.value.reason == found.reason


def test_couldnt_find_end_of_start_tag():
    said = syntax_message("Couldn't find end of Start Tag userTask line 12, line 14, column 1")
    assert said == "XML 格式错误（第 14 行第 1 列）：标签 <userTask>（第 12 行起）没有正确结束：缺少 > 或 />，或属性值的引号没有成对"


def test_a_rare_message_keeps_the_original_after_a_chinese_prefix():
    assert syntax_message("Something new, line 3, column 4") == \
        "XML 格式错误（第 3 行第 4 列）：文件不是格式正确的 XML（原文：Something new）"
    assert schema_message("Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}task': odd thing.") == \
        "不符合 BPMN 2.0 规范（原文：Element 'bpmn:task': odd thing）"


@pytest.mark.parametrize("old, new, said", [
    ('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept" />',
     '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept" bogus="1" />',
     "顺序流（bpmn:sequenceFlow）不能有属性 bogus"),
    ('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept" />',
     '<bpmn:sequenceFlow id="f1" targetRef="accept" />', "顺序流（bpmn:sequenceFlow）缺少必填属性 sourceRef"),
    ("<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>",
     "<bpmn:outgoing>f2</bpmn:outgoing><bpmn:incoming>f1</bpmn:incoming>",
     "这里不应出现入线（bpmn:incoming）（多为子元素顺序不对，或放错了位置）；此处应为：出线（bpmn:outgoing）"),
    ('<bpmn:exclusiveGateway id="gw" name="是否受理">',
     '<bpmn:exclusiveGateway id="gw" name="是否受理" gatewayDirection="sideways">',
     "排他网关（bpmn:exclusiveGateway）的属性 gatewayDirection 不能取值 “sideways”，可选：Unspecified"),
    ('isExecutable="true"', 'isExecutable="yes"', "流程（bpmn:process）的属性 isExecutable 的值 “yes” 无效，应为：true 或 false"),
])
def test_schema_errors_are_in_chinese_without_namespace_uris(old, new, said):
    text = diagram(BODY.replace(old, new))
    (found,) = only(text, "schema")
    assert found.reason.startswith("不符合 BPMN 2.0 规范：") and said in found.reason, found.reason
    assert "http://" not in found.reason and "{" not in found.reason and "Element" not in found.reason
    with pytest.raises(BpmnError) as error:  # deploy, strict, says the first the same way
        parse_definition(text, "t.bpmn")
    assert error.value.reason == found.reason
