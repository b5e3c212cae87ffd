"""Checks on data that comes from people: task data are plain values, never code."""
from __future__ import annotations

import json
import math
from datetime import date
from typing import Any, Mapping

from engine.runtime.definitions import FormField
from engine.errors import BadInput
from engine.runtime.expressions import BASE_HELPERS, COMMAND_HELPERS

MAX_TEXT = 10_000
MAX_DATA_BYTES = 256 * 1024
MAX_DEPTH = 8
#: integers are 64-bit in the database and in every client: anything wider is refused, not truncated
MIN_INT, MAX_INT = -(2 ** 63), 2 ** 63 - 1
#: ids are INTEGER columns: 32 bits on PostgreSQL (64 on SQLite). A wider id names no row on either
#: database, and is answered so before PostgreSQL would refuse the query ("integer out of range").
MAX_ID = 2 ** 31 - 1
#: a number written with more digits than this is not a value anyone typed on purpose
MAX_NUMBER_CHARS = 40
#: nesting of a JSON document as parsed (task data are checked tighter, by MAX_DEPTH)
MAX_JSON_DEPTH = 64


def check_text(value: Any, what: str, max_length: int = MAX_TEXT) -> str:
    """Text from people: no NUL (PostgreSQL refuses it; SQLite would store it), no undecodable
    bytes (a non-UTF-8 command-line argument arrives as surrogate escapes), at most
    ``max_length`` characters (the column's length: SQLite does not enforce it, PostgreSQL does)."""
    if not isinstance(value, str):
        raise BadInput(f"{what}应为文本")
    if "\x00" in value:
        raise BadInput(f"{what}含有空字符（\\0），请删除后重试")
    if any(ch < " " and ch not in "\t\n\r" or "\x7f" <= ch <= "\x9f" for ch in value):
        # terminal escape sequences (ESC, BEL …) would reach a clerk's terminal or a printed page
        raise BadInput(f"{what}含有控制字符，请删除后重试")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise BadInput(f"{what}含有无法识别的字符（不是有效的 UTF-8 文本），请检查编码后重试")
    if len(value) > max_length:
        raise BadInput(f"{what}过长（{len(value)} 字，上限 {max_length} 字）")
    return value


def check_int(value: int, what: str) -> int:
    """An integer the database can hold (64 bits), the same answer on SQLite and PostgreSQL."""
    if not MIN_INT <= value <= MAX_INT:
        raise BadInput(f"{what}的数值超出范围（应在 {MIN_INT} 到 {MAX_INT} 之间）")
    return value


def _refuse_constant(name: str):
    raise BadInput(f"不接受 {name}：数值应为有限的数字")


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise BadInput(f"数字过长（{len(text)} 位，上限 {MAX_NUMBER_CHARS} 位）")
    return check_int(int(text), "数字")


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise BadInput(f"数字过长（{len(text)} 位，上限 {MAX_NUMBER_CHARS} 位）")
    value = float(text)
    if not math.isfinite(value):
        raise BadInput(f"数字 {text} 超出范围")
    return value


def _depth(value: Any) -> int:
    """Nesting depth, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return deepest


#: Python's JSON parser's messages in Chinese (json.decoder, json.scanner)
JSON_ERRORS = {
    "Expecting value": "此处缺少值（多余的逗号，或字符串少了双引号？）",
    "Expecting property name enclosed in double quotes": "此处应为用双引号括起的名称（对象末尾多了逗号？）",
    "Expecting ',' delimiter": "此处缺少逗号",
    "Expecting ':' delimiter": "名称后缺少冒号",
    "Unterminated string starting at": "字符串没有结束的双引号",
    "Invalid control character at": "字符串中有控制字符（如换行或制表符）",
    "Invalid \\escape": "字符串中有无效的转义（反斜杠后只能是 \" \\ / b f n r t u）",
    "Invalid \\uXXXX escape": "字符串中的 \\u 转义应为 4 位十六进制数",
    "Extra data": "JSON 内容结束后还有多余的内容",
    "Illegal trailing comma before end of object": "对象末尾多了逗号",
    "Illegal trailing comma before end of array": "列表末尾多了逗号",
}


def json_error(message: str) -> str:
    """A JSON parser's message in Chinese (the English one only for one not known here)."""
    return JSON_ERRORS.get(message, f"格式错误（{message}）")


def parse_json(text: str | bytes, what: str, *, max_bytes: int | None = MAX_DATA_BYTES,
               max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse untrusted JSON: size, nesting and number sizes bounded; NaN and Infinity refused;
    NUL and undecodable text refused. Every refusal is a ``BadInput`` naming ``what``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = text[:exc.start].count(b"\n") + 1
            raise BadInput(f"{what} 第 {line} 行：不是有效的 UTF-8 文本（请以 UTF-8 编码保存后重试）") from None
    check_text(text, what, max_length=max_bytes if max_bytes is not None else len(text))
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int, parse_float=_parse_float)
    except json.JSONDecodeError as exc:
        if not text.strip():
            raise BadInput(f"{what} 是空的：请填写 JSON 内容") from None
        raise BadInput(f"{what} 第 {exc.lineno} 行第 {exc.colno} 列：不是有效的 JSON，{json_error(exc.msg)}") from None
    except RecursionError:
        raise BadInput(f"{what} 嵌套过深（上限 {max_depth} 层）") from None
    except BadInput as exc:
        raise BadInput(f"{what} 有误：{exc.message}") from None
    except ValueError as exc:  # e.g. a number Python refuses to convert
        raise BadInput(f"{what} 不是有效的 JSON：{exc}") from None
    if _depth(value) > max_depth:
        raise BadInput(f"{what} 嵌套过深（上限 {max_depth} 层）")
    return value


def parse_json_object(text: str | None, what: str = "--data") -> dict[str, Any]:
    """Parse a JSON object given on the command line or in a form; refuse anything else."""
    if text is None or not text.strip():
        return {}
    value = parse_json(text, what)
    if not isinstance(value, dict):
        raise BadInput(f"{what} 必须是 JSON 对象（{{\"字段\": 值}}），而不是 {type(value).__name__}")
    return value


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not key.isidentifier() or key.startswith("_"):
        raise BadInput(f"字段名 {key!r} 无效：应为字母、数字、下划线组成的标识符，且不以下划线开头")
    if key in BASE_HELPERS or key in COMMAND_HELPERS:
        raise BadInput(f"字段名 {key!r} 与内置函数重名，不能使用")
    return key


def check_value(value: Any, depth: int = 0) -> Any:
    """Only JSON values: strings, numbers, booleans, null, lists and objects of them."""
    if depth > MAX_DEPTH:
        raise BadInput("数据嵌套过深")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return check_int(value, "数据中")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadInput("数据中不接受 NaN 或 Infinity：数值应为有限的数字")
        return value
    if isinstance(value, str):
        return check_text(value, "文本")
    if isinstance(value, list):
        return [check_value(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {check_key(k): check_value(v, depth + 1) for k, v in value.items()}
    raise BadInput(f"不支持的数据类型：{type(value).__name__}")


def check_data(data: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {check_key(k): check_value(v) for k, v in data.items()}
    if len(json.dumps(cleaned, ensure_ascii=False).encode()) > MAX_DATA_BYTES:
        raise BadInput(f"数据过大（上限 {MAX_DATA_BYTES // 1024} KiB）")
    return cleaned


def _coerce(f: FormField, value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()  # a field of spaces is not filled in (a licence number of three spaces)
    if value is None or value == "":
        return None
    if f.type == "long":
        if isinstance(value, bool):
            raise BadInput(f"字段“{f.label}”应为整数")
        if isinstance(value, float) and not value.is_integer():
            _fail(f, "整数")
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            _fail(f, "整数")
        return check_int(number, f"字段“{f.label}”")
    if f.type == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in {"true", "1", "yes", "on", "是"}:
            return True
        if str(value).lower() in {"false", "0", "no", "off", "否"}:
            return False
        _fail(f, "是/否")
    if f.type == "enum":
        allowed = [o for o, _ in f.options]
        if value not in allowed:
            raise BadInput(f"字段“{f.label}”的值 {value!r} 不在可选项中（{'、'.join(allowed)}）")
        return value
    if f.type == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            _fail(f, "日期（YYYY-MM-DD）")
    return check_value(str(value) if not isinstance(value, str) else value)


def _fail(f: FormField, expected: str):
    raise BadInput(f"字段“{f.label}”应为{expected}")


def check_form(fields: tuple[FormField, ...], data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate submitted values against a task's form: known fields, right types, required present."""
    by_id = {f.id: f for f in fields}
    unknown = sorted(set(data) - set(by_id))
    if unknown:
        raise BadInput(f"表单中没有这些字段：{'、'.join(map(str, unknown))}")
    cleaned = {}
    for f in fields:
        value = _coerce(f, data.get(f.id))
        if value is None and f.default is not None and f.id not in data:
            value = _coerce(f, f.default)
        if value is None and f.type == "boolean" and not partial:
            value = False  # a box left unticked (a browser does not post it) means no
        if value is None and f.required and not partial:
            raise BadInput(f"必填字段“{f.label}”未填写")
        if value is not None or f.id in data:
            cleaned[f.id] = value
    return cleaned
