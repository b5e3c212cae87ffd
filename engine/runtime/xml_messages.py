"""Chinese for what libxml2 says about a file that is not well-formed XML or breaks the BPMN 2.0
schema: a designer reads "标签 <bpmn:userTask>（第 12 行）没有正确结束", not "Couldn't find end of
Start Tag userTask line 12" or an XSD dump of namespace URIs. The common messages are translated,
naming elements by their Chinese and local names; a rare one keeps the original after a Chinese
prefix, with the namespace URIs taken out. Line and column stay with every message.
"""
from __future__ import annotations

import re
from typing import Callable

#: namespace URI → the prefix designers see in their files
PREFIXES = {
    "http://www.omg.org/spec/BPMN/20100524/MODEL": "bpmn",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    "http://www.omg.org/spec/DD/20100524/DC": "dc",
    "http://www.omg.org/spec/DD/20100524/DI": "di",
    "http://camunda.org/schema/1.0/bpmn": "camunda",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
    "http://www.w3.org/2001/XMLSchema": "xs",
}

#: BPMN element (local name) → what the modeler calls it
ELEMENT_NAMES = {
    "definitions": "定义（根元素）", "process": "流程", "collaboration": "协作", "participant": "池",
    "laneSet": "泳道集", "lane": "泳道", "flowNodeRef": "泳道中的元素引用",
    "startEvent": "开始事件", "endEvent": "结束事件", "boundaryEvent": "边界事件",
    "intermediateCatchEvent": "中间捕获事件", "intermediateThrowEvent": "中间抛出事件",
    "userTask": "用户任务", "scriptTask": "脚本任务", "serviceTask": "服务任务", "task": "任务",
    "manualTask": "手工任务", "sendTask": "发送任务", "receiveTask": "接收任务",
    "businessRuleTask": "业务规则任务", "callActivity": "调用活动", "subProcess": "子流程",
    "exclusiveGateway": "排他网关", "parallelGateway": "并行网关", "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关", "complexGateway": "复杂网关",
    "sequenceFlow": "顺序流", "messageFlow": "消息流", "association": "关联",
    "incoming": "入线", "outgoing": "出线", "conditionExpression": "条件表达式",
    "documentation": "说明", "extensionElements": "扩展元素", "script": "脚本",
    "timerEventDefinition": "计时器定义", "timeDuration": "时长", "timeDate": "日期", "timeCycle": "周期",
    "messageEventDefinition": "消息定义", "signalEventDefinition": "信号定义",
    "errorEventDefinition": "错误定义", "terminateEventDefinition": "终止定义",
    "multiInstanceLoopCharacteristics": "多实例设置", "standardLoopCharacteristics": "循环设置",
    "dataObject": "数据对象", "dataObjectReference": "数据对象引用", "dataStoreReference": "数据存储引用",
    "dataInputAssociation": "数据输入关联", "dataOutputAssociation": "数据输出关联",
    "ioSpecification": "输入输出规范", "property": "属性定义", "textAnnotation": "文本注释", "text": "文字",
    "group": "分组", "message": "消息", "signal": "信号", "error": "错误",
    "BPMNDiagram": "图", "BPMNPlane": "画布", "BPMNShape": "图形", "BPMNEdge": "连线图形",
    "BPMNLabel": "标签", "Bounds": "位置和大小", "waypoint": "连线拐点",
}

_TYPES = {
    "xs:ID": "合法的 id（须以字母或下划线开头，只含字母、数字、下划线、连字符和点，不能有空格）",
    "xs:IDREF": "某个元素的 id（须以字母或下划线开头，只含字母、数字、下划线、连字符和点）",
    "xs:IDREFS": "以空格分隔的 id 列表",
    "xs:QName": "带前缀的名字（如 bpmn:tFormalExpression）",
    "xs:boolean": "true 或 false",
    "xs:integer": "整数", "xs:int": "整数", "xs:nonNegativeInteger": "非负整数",
    "xs:double": "数字", "xs:float": "数字", "xs:decimal": "数字",
    "xs:anyURI": "URI",
}


def element(qualified: str) -> str:
    """``{uri}local`` or ``local`` as the designer knows it: 用户任务（bpmn:userTask）."""
    match = re.fullmatch(r"\{([^}]*)\}(.+)", qualified.strip())
    uri, local = (match.group(1), match.group(2)) if match else (None, qualified.strip())
    prefix = PREFIXES.get(uri or "")
    shown = f"{prefix}:{local}" if prefix else local
    name = ELEMENT_NAMES.get(local) if prefix in (None, "bpmn", "bpmndi", "dc", "di") else None
    return f"{name}（{shown}）" if name else f"“{shown}”"


def strip_namespaces(text: str) -> str:
    """``{http://…/MODEL}incoming`` → ``bpmn:incoming``; other URIs in braces are dropped."""
    return re.sub(r"\{([^}\s]*)\}(?=[\w.-])",
                  lambda m: f"{PREFIXES[m.group(1)]}:" if m.group(1) in PREFIXES else "", text)


def _elements(listing: str) -> str:
    parts = [p.strip() for p in listing.split(",") if p.strip()]
    shown = [element(p) for p in parts[:8]]
    more = f" 等 {len(parts)} 种" if len(parts) > 8 else ""
    return "、".join(shown) + more


# ---------------------------------------------------------------- not well-formed XML

_POSITION = re.compile(r",\s*line (\d+), column (\d+)\s*$")

_SYNTAX: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [(re.compile(p), f) for p, f in [
    (r"^Document is empty", lambda m: "文件是空的，没有任何 XML 内容"),
    (r"^Start tag expected, '<' not found",
     lambda m: "文件开头不是 XML（应以 < 开头）：可能不是 BPMN 文件，或文件已损坏"),
    (r"^Opening and ending tag mismatch: (\S+) line (\d+) and (\S+)",
     lambda m: f"开始标签 <{m[1]}>（第 {m[2]} 行）与结束标签 </{m[3]}> 不一致：标签要成对，名字相同"),
    (r"^Couldn't find end of Start Tag (\S+)(?: line (\d+))?",
     lambda m: f"标签 <{m[1]}>{f'（第 {m[2]} 行起）' if m[2] else ''}没有正确结束：缺少 > 或 />，或属性值的引号没有成对"),
    (r"^Premature end of data in tag (\S+) line (\d+)",
     lambda m: f"文件在标签 <{m[1]}>（第 {m[2]} 行起）结束之前就结束了：文件可能不完整，请重新导出"),
    (r"^Premature end of data", lambda m: "文件在某个标签结束之前就结束了：文件可能不完整，请重新导出"),
    (r"^EndTag: '</' not found", lambda m: "缺少结束标签：文件可能不完整"),
    (r"^Unescaped '<' not allowed in attributes? values",
     lambda m: "属性值中出现了 <：多半是前一个属性值的引号没有闭合（文字中的 < 要写成 &lt;）"),
    (r"^xmlParseEntityRef: no name", lambda m: "& 后面缺少实体名：文字中的 & 要写成 &amp;"),
    (r"^EntityRef: expecting ';'", lambda m: "实体引用缺少分号：文字中的 & 要写成 &amp;"),
    (r"^Entity '([^']*)' not defined", lambda m: f"未定义的实体 &{m[1]};：文字中的 & 要写成 &amp;"),
    (r"^Attribute (\S+) redefined", lambda m: f"同一个标签里属性 {m[1]} 写了两次"),
    (r"^Attribute name redefined", lambda m: "同一个标签里有属性写了两次"),
    (r"^Namespace prefix (\S+) for (\S+) on (\S+) is not defined",
     lambda m: f"命名空间前缀 {m[1]}（属性 {m[2]}，标签 <{m[3]}>）没有声明：请在根元素上加 xmlns:{m[1]}=\"…\""),
    (r"^Namespace prefix (\S+) on (\S+) is not defined",
     lambda m: f"命名空间前缀 {m[1]}（标签 <{m[1]}:{m[2]}>）没有声明：请在根元素上加 xmlns:{m[1]}=\"…\""),
    (r"^Extra content at the end of the document", lambda m: "根元素结束之后还有多余的内容"),
    (r"^expected '>'", lambda m: "这里缺少 >"),
    (r"^AttValue: \" or ' expected", lambda m: "属性值要用引号括起来"),
    (r"^error parsing attribute name", lambda m: "属性名写法不对（多为标签里多了符号，或上一个属性值的引号没有闭合）"),
    (r"^attributes construct error", lambda m: "属性的写法不对：应为 名字=\"值\"，多个属性之间用空格分开"),
    (r"^Specification mandates value for attribute (\S+)", lambda m: f"属性 {m[1]} 没有值：应写成 {m[1]}=\"…\""),
    (r"^StartTag: invalid element name", lambda m: "< 后面不是有效的标签名（文字中的 < 要写成 &lt;）"),
    (r"^Invalid bytes in character encoding", lambda m: "文件中有不是 UTF-8 编码的字节：请以 UTF-8 保存后再上传"),
    (r"^Input is not proper UTF-8", lambda m: "文件不是有效的 UTF-8 编码：请以 UTF-8 保存后再上传"),
    (r"^Document labelled (\S+) but has UTF-8 content", lambda m: f"文件声明的编码是 {m[1]}，内容却是 UTF-8：请把声明改为 UTF-8"),
    (r"^(?:Char 0x[0-9A-Fa-f]+ out of allowed range|PCDATA invalid Char value|invalid character in attribute value)",
     lambda m: "含有 XML 不允许的字符（多为控制字符）：请删除"),
    (r"^Comment not terminated", lambda m: "注释没有结束：缺少 -->"),
    (r"^XML declaration allowed only at the start of the document",
     lambda m: "XML 声明（<?xml …?>）只能在文件最开头，前面不能有空行或其他内容"),
    (r"^(?:parsing XML declaration: '\?>' expected|Blank needed here|String not started expecting ' or \")",
     lambda m: "XML 声明（<?xml …?>）写法不对"),
    (r"^Huge input lookup|^Excessive depth in document", lambda m: "文件嵌套过深或过大"),
]]


def syntax_message(message: str, line: int | None = None, column: int | None = None) -> str:
    """What libxml2 says about a file that is not well-formed, in Chinese, with line and column."""
    text = (message or "").strip()
    found = _POSITION.search(text)
    if found:
        line, column = line or int(found[1]), column or int(found[2])
        text = text[: found.start()].strip()
    said = None
    for pattern, say in _SYNTAX:
        match = pattern.search(text)
        if match:
            said = say(match)
            break
    if said is None:
        said = f"文件不是格式正确的 XML（原文：{strip_namespaces(text)}）"
    where = ""
    if line:
        where = f"（第 {line} 行" + (f"第 {column} 列" if column else "") + "）"
    return f"XML 格式错误{where}：{said}"


# ---------------------------------------------------------------- the BPMN 2.0 schema

_EL = r"Element '([^']+)'"
_SCHEMA: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [(re.compile(p, re.S), f) for p, f in [
    (_EL + r", attribute '([^']+)': The attribute '[^']+' is not allowed",
     lambda m: f"{element(m[1])}不能有属性 {strip_namespaces(m[2])}：BPMN 2.0 没有这个属性（扩展属性须带已声明的命名空间前缀）"),
    (_EL + r": The attribute '([^']+)' is required but missing",
     lambda m: f"{element(m[1])}缺少必填属性 {strip_namespaces(m[2])}"),
    (_EL + r": This element is not expected\. Expected is one of \((.*)\)",
     lambda m: f"这里不应出现{element(m[1])}（多为子元素顺序不对，或放错了位置）；此处应为：{_elements(m[2])}"),
    (_EL + r": This element is not expected\. Expected is \((.*)\)",
     lambda m: f"这里不应出现{element(m[1])}（多为子元素顺序不对，或放错了位置）；此处应为：{_elements(m[2])}"),
    (_EL + r": This element is not expected",
     lambda m: f"这里不应出现{element(m[1])}：BPMN 2.0 不允许它在这个位置"),
    (_EL + r": Missing child element\(s\)\. Expected is one of \((.*)\)",
     lambda m: f"{element(m[1])}缺少子元素，应有：{_elements(m[2])}"),
    (_EL + r": Missing child element\(s\)\. Expected is \((.*)\)",
     lambda m: f"{element(m[1])}缺少子元素，应有：{_elements(m[2])}"),
    (_EL + r", attribute '([^']+)': \[facet 'enumeration'\] The value '([^']*)' is not an element of the set \{(.*)\}",
     lambda m: f"{element(m[1])}的属性 {strip_namespaces(m[2])} 不能取值 “{m[3]}”，可选：{m[4].replace(chr(39), '')}"),
    (_EL + r", attribute '([^']+)': '([^']*)' is not a valid value of the (?:atomic|list|union) type '([^']+)'",
     lambda m: f"{element(m[1])}的属性 {strip_namespaces(m[2])} 的值 “{m[3]}” 无效，应为："
               f"{_TYPES.get(m[4], strip_namespaces(m[4]))}"),
    (_EL + r": '([^']*)' is not a valid value of the (?:atomic|list|union) type '([^']+)'",
     lambda m: f"{element(m[1])}的内容 “{m[2]}” 无效，应为：{_TYPES.get(m[3], strip_namespaces(m[3]))}"),
    (_EL + r": Character content other than whitespace is not allowed",
     lambda m: f"{element(m[1])}里不能直接写文字，只能有子元素"),
    (_EL + r": No matching global declaration available for the validation root",
     lambda m: f"根元素{element(m[1])}不是 BPMN 2.0 的定义（bpmn:definitions）"),
    (_EL + r": The content must not contain element",  # e.g. nillable / simple content
     lambda m: f"{element(m[1])}里不能有子元素"),
    (_EL + r": Duplicate key-sequence \['([^']*)'\]",
     lambda m: f"{element(m[1])}的 id “{m[2]}” 重复"),
    (_EL + r": No match found for key-sequence \['([^']*)'\] of keyref",
     lambda m: f"{element(m[1])}引用的 id “{m[2]}” 不存在"),
]]


def schema_message(message: str) -> str:
    """One XSD validation message of libxml2 in Chinese, without namespace URIs."""
    text = (message or "").strip().rstrip(".")
    for pattern, say in _SCHEMA:
        match = pattern.search(text)
        if match:
            return f"不符合 BPMN 2.0 规范：{say(match)}"
    return f"不符合 BPMN 2.0 规范（原文：{strip_namespaces(text)}）"
