"""Checks on data that comes from people: task data are plain values, never code."""
from __future__ import annotations

import json
from datetime import date
from typing import Any, Mapping

from engine.runtime.definitions import FormField
from engine.errors import BadInput
from engine.runtime.expressions import BASE_HELPERS, COMMAND_HELPERS

MAX_TEXT = 10_000
MAX_DATA_BYTES = 256 * 1024
MAX_DEPTH = 8


def parse_json_object(text: str | None, what: str = "--data") -> dict[str, Any]:
    """Parse a JSON object given on the command line or in a form; refuse anything else."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{what} 不是有效的 JSON：{exc.msg}（第 {exc.lineno} 行第 {exc.colno} 列）") from None
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
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise BadInput(f"文本过长（{len(value)} 字符，上限 {MAX_TEXT}）")
        return value
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
    if value is None or value == "":
        return None
    if f.type == "long":
        if isinstance(value, bool):
            raise BadInput(f"字段“{f.label}”应为整数")
        if isinstance(value, float) and not value.is_integer():
            _fail(f, "整数")
        try:
            return int(value)
        except (TypeError, ValueError):
            _fail(f, "整数")
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
