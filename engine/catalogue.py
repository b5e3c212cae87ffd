"""The catalogue of approval items (审批事项): one YAML file per item under ``processes/``.

A file holds what the public guide publishes (七公开) and what the engine needs: the
department, the kind of case, the legal basis, conditions, materials, fees, the
statutory and promised limits (and per-step limits), deemed approval, where to
complain, the case-number and document-number rules (文号) with the issuing authority, and the BPMN file in ``bpmn/`` that runs it.

Files are checked against ``SCHEMA`` (JSON Schema) and then against the database
and the diagram; every error names the file, the line and the field. Each file is
loaded in its own transaction, so a broken file changes nothing and the rest of
the catalogue loads.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources.abc import Traversable
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from engine import content
from engine.runtime.definitions import Problems, check_time_limits, parse_cached, parse_xml
from engine.runtime.values import MAX_INT, MAX_NUMBER_CHARS, MIN_INT, check_text
from engine.store.db import Database
from engine.store.models import Department, Item
from engine.timelimits.policy import TimePolicy, policy_from_json

from .deploy import deploy, keep_started
from .intake import FIELD_TYPES
from .documents import rule_problem
from .errors import ApprovalError, BadInput

KINDS = ("即办件", "承诺件", "联办件", "上报件")
#: how a material is handed in (材料形式)
PROVIDED = ("原件", "复印件", "验原件收复印件")
#: 上报件: the lower level reviews within 20 working days of accepting (行政许可法 art. 43)
PRELIMINARY_DAYS = 20
MAX_FILE_BYTES = 256 * 1024
#: no item needs more than a few levels (limits.steps.<element> is the deepest); a deeper file is refused
MAX_YAML_DEPTH = 16
log = logging.getLogger(__name__)
_TEXT = {"type": "string", "minLength": 1, "maxLength": 2000}
_TEXTS = {"type": "array", "items": _TEXT, "minItems": 1}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["code", "name", "department", "kind", "process", "legal_basis", "conditions", "materials",
                 "fees", "limits", "complaint"],
    "properties": {
        "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9-]{1,39}$"},
        "name": {"type": "string", "minLength": 2, "maxLength": 100},
        "department": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
        "kind": {"enum": list(KINDS)},
        "process": {"type": "string", "pattern": r"^[A-Za-z0-9_-]+\.bpmn$"},
        "summary": _TEXT,
        "legal_basis": _TEXTS,
        "conditions": _TEXTS,
        "materials": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["name", "required"],
            "properties": {"name": _TEXT, "required": {"type": "boolean"},
                           "deficiency_allowed": {"type": "boolean"},
                           "copies": {"type": "integer", "minimum": 1, "maximum": 99},
                           #: what the window takes: the original, a copy, or sees the original and keeps a copy
                           "provided": {"enum": list(PROVIDED)},
                           "sample": _TEXT, "note": _TEXT,
                           #: a sample filled-in form (示范文本) uploaded in the web, kept in the file store
                           "sample_file": {"type": "object", "additionalProperties": False,
                                           "required": ["sha256", "filename", "content_type"], "properties": {
                                               "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                               "filename": {"type": "string", "minLength": 1, "maxLength": 120},
                                               "content_type": {"enum": ["application/pdf", "image/jpeg",
                                                                         "image/png"]}}}}}},
        "fees": {"type": "object", "additionalProperties": False, "required": ["amount", "basis"],
                 "properties": {"amount": {"type": "number", "minimum": 0}, "basis": _TEXT}},
        "limits": {"type": "object", "additionalProperties": False, "required": ["statutory_days"],
                   "properties": {"statutory_days": {"type": "integer", "minimum": 0, "maximum": 365},
                                  "preliminary_days": {"type": "integer", "minimum": 1, "maximum": 365},
                                  "extension_approver": {"enum": ["head", "government"]},
                                  "promised_days": {"type": "integer", "minimum": 0, "maximum": 365},
                                  "acceptance_days": {"type": "integer", "minimum": 1, "maximum": 365},
                                  "issue_days": {"type": "integer", "minimum": 1, "maximum": 365},
                                  "extension_days": {"type": "integer", "minimum": 0, "maximum": 365},
                                  "deemed_approval": {"type": "boolean"},
                                  "steps": {"type": "object", "additionalProperties": {
                                      "type": "integer", "minimum": 1, "maximum": 365}},
                                  "warning": {"type": "object"}, "escalation": {"type": "object"}}},
        "complaint": {"type": "object", "additionalProperties": False, "required": ["phone"],
                      "properties": {"phone": {"type": "string", "pattern": "^[0-9-]{3,20}$"},
                                     "address": _TEXT, "online": _TEXT}},
        #: who may apply: natural persons, legal persons, or both (the default)
        "applicant_kinds": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": ["natural", "legal"]}},
        #: the application's own fields (engine/intake.py): what the applicant fills in beside the materials
        "application": {"type": "array", "maxItems": 40, "items": {
            "type": "object", "additionalProperties": False, "required": ["name", "label", "type"],
            "properties": {"name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
                           "label": {"type": "string", "minLength": 1, "maxLength": 40},
                           "type": {"enum": list(FIELD_TYPES)}, "required": {"type": "boolean"},
                           "min": {"type": "integer"}, "max": {"type": "integer", "minimum": 1},
                           "options": {"type": "array", "minItems": 1, "maxItems": 50,
                                       "items": {"type": "string", "minLength": 1, "maxLength": 100}},
                           "sex": {"enum": ["男", "女"]},
                           "min_age": {"type": "integer", "minimum": 1, "maximum": 120},
                           "hint": {"type": "string", "maxLength": 200}}}},
        "numbering": {"type": "object", "additionalProperties": False, "required": ["prefix"],
                      "properties": {"prefix": {"type": "string", "pattern": "^[A-Z0-9-]{1,20}$"},
                                     "digits": {"type": "integer", "minimum": 3, "maximum": 8},
                                     "separator": {"enum": ["-", ""]}}},
        "documents": {"type": "object", "additionalProperties": False, "properties": {
            "number": {"type": "string", "minLength": 6, "maxLength": 60},
            "prefix": {"type": "string", "minLength": 1, "maxLength": 30, "pattern": "^[^{}\\s]+$"},
            "authority": {"type": "string", "minLength": 2, "maxLength": 60},
            "review_body": {"type": "string", "minLength": 2, "maxLength": 60},
            #: numbered documents this item does not issue (a registration whose certificate is the decision)
            "omit": {"type": "array", "items": {"enum": ["acceptance_notice", "refusal_notice", "supplement_notice",
                                                         "grant_decision", "denial_decision"]}}}},
    },
}
_validator = Draft202012Validator(SCHEMA)
#: what a pattern asks for, in words (a web form's user should not read a regular expression)
PATTERN_HINTS = {"^[0-9-]{3,20}$": "为 3 到 20 位数字或连字符，如 12345、0571-87654321"}


class CatalogueError(BadInput):
    """A catalogue file that cannot be loaded, located by file, line and field."""

    def __init__(self, file: str, line: int | None, field_path: str, reason: str):
        self.file, self.line, self.field, self.reason = file, line, field_path, reason
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where} 字段 {field_path or '（整个文件）'}：{reason}")

    def to_dict(self) -> dict:
        return {**super().to_dict(), "file": self.file, "line": self.line, "field": self.field,
                "reason": self.reason}


class _NoAliasLoader(yaml.SafeLoader):
    """Plain data only: no tags beyond the safe ones, no aliases (no YAML bombs), no duplicate
    keys (the later one would silently win), at most ``MAX_YAML_DEPTH`` levels, numbers of at most
    ``MAX_NUMBER_CHARS`` characters that fit 64 bits, no NaN or infinity, text without NUL."""

    _depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "不允许使用别名（*alias）", event.start_mark)
        if self._depth >= MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"嵌套过深（上限 {MAX_YAML_DEPTH} 层）",
                                              self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"重复的键 “{key}”", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def _refuse(self, node, reason: str):
        raise yaml.constructor.ConstructorError(None, None, reason, node.start_mark)

    def construct_yaml_int(self, node):
        if len(node.value) > MAX_NUMBER_CHARS:
            self._refuse(node, f"数字过长（{len(node.value)} 位，上限 {MAX_NUMBER_CHARS} 位）")
        value = super().construct_yaml_int(node)
        if not MIN_INT <= value <= MAX_INT:
            self._refuse(node, "数字超出范围（应在 64 位整数以内）")
        return value

    def construct_yaml_float(self, node):
        if len(node.value) > MAX_NUMBER_CHARS:
            self._refuse(node, f"数字过长（{len(node.value)} 位，上限 {MAX_NUMBER_CHARS} 位）")
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            self._refuse(node, f"不接受 {node.value}：数值应为有限的数字")
        return value

    def construct_yaml_str(self, node):
        value = super().construct_yaml_str(node)
        try:
            check_text(value, "文本", MAX_FILE_BYTES)
        except BadInput as exc:
            self._refuse(node, exc.message)
        return value


_NoAliasLoader.add_constructor("tag:yaml.org,2002:int", _NoAliasLoader.construct_yaml_int)
_NoAliasLoader.add_constructor("tag:yaml.org,2002:float", _NoAliasLoader.construct_yaml_float)
_NoAliasLoader.add_constructor("tag:yaml.org,2002:str", _NoAliasLoader.construct_yaml_str)


@dataclass
class Entry:
    """A parsed, schema-valid catalogue file with a way back to the lines of its fields."""

    file: str
    data: dict[str, Any]
    root: yaml.Node

    def line_of(self, path: list) -> int | None:
        node = self.root
        for key in path:
            if isinstance(node, yaml.MappingNode):
                match = next((v for k, v in node.value if k.value == key), None)
                if match is None:
                    return node.start_mark.line + 1
                node = match
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
            else:
                break
        return node.start_mark.line + 1

    def error(self, path: list, reason: str) -> CatalogueError:
        return CatalogueError(self.file, self.line_of(path), ".".join(str(p) for p in path), reason)


def read_entry(text: bytes | str, file: str) -> Entry:
    """Parse one file and check it against the schema."""
    entry = parse_entry(text, file)
    problems = schema_problems(entry)
    if problems:
        raise problems[0]
    check_application_fields(entry)
    return entry


def parse_entry(text: bytes | str, file: str) -> Entry:
    """Parse one file with the safe loader (no schema check yet)."""
    if len(text) > MAX_FILE_BYTES:
        raise CatalogueError(file, None, "", f"文件过大（上限 {MAX_FILE_BYTES // 1024} KB）")
    try:
        root = yaml.compose(text, Loader=_NoAliasLoader)
        data = yaml.load(text, Loader=_NoAliasLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise CatalogueError(file, mark.line + 1 if mark else None, "", f"YAML 格式错误：{exc.problem}") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(file, None, "", f"YAML 格式错误：{exc}") from None
    except (RecursionError, ValueError) as exc:  # a safety net behind the loader's own limits
        raise CatalogueError(file, None, "", f"YAML 无法读取：{type(exc).__name__}") from None
    if root is None or not isinstance(data, dict):
        raise CatalogueError(file, 1, "", "文件应为一个 YAML 映射（字段: 值）")
    return Entry(file, data, root)


def schema_problems(entry: Entry) -> list[CatalogueError]:
    """Every place where the file breaks the schema, in the order of its lines (``read_entry``
    stops at the first; the web form shows them all, each on its field)."""
    errors = sorted(_validator.iter_errors(entry.data), key=lambda e: (entry.line_of(list(e.absolute_path)) or 0))
    return [entry.error(list(e.absolute_path), _schema_reason(e)) for e in errors]


def check_application_fields(entry: "Entry") -> None:
    """What the schema cannot say: field names unique, options exactly where a choice is asked,
    identity constraints only on identity numbers."""
    seen: set[str] = set()
    for i, spec in enumerate(entry.data.get("application", [])):
        if spec["name"] in seen:
            raise entry.error(["application", i, "name"], f"字段名 {spec['name']} 重复")
        seen.add(spec["name"])
        if (spec["type"] == "enum") != ("options" in spec):
            raise entry.error(["application", i], "选项（options）只用于且必须用于 enum 类型的字段")
        if ("sex" in spec or "min_age" in spec) and spec["type"] != "id_number":
            raise entry.error(["application", i], "sex、min_age 只用于身份证号（id_number）字段")


def _schema_reason(error) -> str:
    if error.validator == "required":
        missing = next((name for name in error.validator_value if name not in error.instance), "")
        return f"缺少必填字段 {missing}"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"未知字段 {'、'.join(extra)}"
    if error.validator == "enum":
        return f"取值应为 {'、'.join(map(str, error.validator_value))} 之一，收到 {error.instance!r}"
    if error.validator == "type":
        names = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "true/false", "array": "列表",
                 "object": "映射"}
        return f"应为{names.get(error.validator_value, error.validator_value)}，收到 {error.instance!r}"
    if error.validator in ("minimum", "maximum"):
        return f"应{'不小于' if error.validator == 'minimum' else '不大于'} {error.validator_value}，收到 {error.instance}"
    if error.validator == "pattern":
        hint = PATTERN_HINTS.get(error.validator_value)
        return f"格式不对（应{hint or '匹配 ' + error.validator_value}），收到 {error.instance!r}"
    if error.validator in ("minItems", "minLength"):
        return "不能为空"
    return error.message


def _policy(entry: Entry, user_tasks: dict) -> TimePolicy:
    limits = dict(entry.data["limits"])
    steps = limits.pop("steps", {})
    if entry.data["kind"] == "上报件":  # the lower level's own limit (行政许可法 art. 43)
        limits.setdefault("preliminary_days", PRELIMINARY_DAYS)
    if entry.data["kind"] == "联办件":  # extended only with the government head's approval (art. 42)
        limits.setdefault("extension_approver", "government")
    for element in steps:
        if element not in user_tasks:
            raise entry.error(["limits", "steps", element], f"流程中没有用户任务 “{element}”"
                                                            f"（可用：{'、'.join(user_tasks)}）")
    try:
        return TimePolicy.from_dict({**limits, "step_days": steps})
    except BadInput as exc:
        raise entry.error(["limits"], exc.message) from None


def _check_documents(entry: Entry) -> None:
    """The document-number rule (文号) must give one number per sequence value and year."""
    rule = (entry.data.get("documents") or {}).get("number")
    problem = rule_problem(rule) if rule is not None else None
    if problem:
        raise entry.error(["documents", "number"], f"文号规则 {rule!r} 不能使用：{problem}")


def shipped_policy(diagram_name: str) -> TimePolicy | None:
    """The time limits of the shipped catalogue item whose ``process`` is this diagram's file
    name, for ``approvals lint`` to check a diagram against (None if no item names it)."""
    for path in item_files(content.catalogue()):
        try:
            entry = read_entry(path.read_bytes(), path.name)
        except CatalogueError:
            continue
        if entry.data.get("process") == diagram_name:
            try:
                return _policy(entry, {k: None for k in entry.data["limits"].get("steps", {})})
            except CatalogueError:
                return None
    return None


def _guide(data: dict[str, Any]) -> dict[str, Any]:
    keys = ("summary", "legal_basis", "conditions", "materials", "fees", "complaint", "application", "documents",
            "applicant_kinds")
    return {k: data[k] for k in keys if k in data}


@dataclass
class LoadReport:
    loaded: list[dict] = field(default_factory=list)
    refused: list[CatalogueError] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"loaded": self.loaded, "refused": [e.to_dict() for e in self.refused]}


def item_files(directory: Traversable) -> list[Traversable]:
    """The item files of a catalogue folder (a directory, or a package's resources), by name."""
    return sorted((p for p in directory.iterdir() if p.name.endswith(".yaml") and p.is_file()),
                  key=lambda p: p.name)


def check_entry(session: Session, entry: Entry, content: bytes, filename: str) -> TimePolicy:
    """The checks beyond the schema, for a file and for the web form alike: the document-number
    rule, the department, the diagram (it parses; every ``limits.steps`` key is a user task of it;
    its timers agree with the limits) and the time policy rules. Returns the item's time policy."""
    data = entry.data
    _check_documents(entry)
    if session.scalar(select(Department.id).where(Department.code == data["department"])) is None:
        raise entry.error(["department"], f"部门 “{data['department']}” 不存在")
    try:
        definition = parse_cached(content, filename)
    except ApprovalError as exc:
        raise entry.error(["process"], f"流程图有误：{exc.message}") from None
    policy = _policy(entry, definition.user_tasks)
    limits = Problems(strict=False)
    check_time_limits(parse_xml(content, filename), filename, policy, limits)
    for rule, error in limits.found:
        if rule == "time_limit":
            # the reason names the step; file and line mean nothing on the guide page (the YAML
            # loader's message keeps them in the file's own terms through ``entry.error``)
            raise entry.error(["limits"], f"流程图的时限与事项时限矛盾：{error.reason}")
    return policy


def store_entry(item: Item, data: dict[str, Any], policy: TimePolicy) -> None:
    """What the catalogue keeps of a checked entry on its item (cases keep what they started with)."""
    guide, time_policy = _guide(data), policy.to_dict()
    keep_started(item, guide=guide != item.guide, policy=time_policy != item.time_policy)
    item.guide, item.numbering = guide, data.get("numbering")
    item.time_policy = time_policy


def load_file(session: Session, path: Traversable, bpmn_dir: Traversable, *, loaded_by: str,
              at: datetime) -> dict[str, Any]:
    """Check one file against the schema, the database and its diagram, then store it."""
    entry = read_entry(path.read_bytes(), path.name)
    data = entry.data
    bpmn_path = bpmn_dir / data["process"]
    if not bpmn_path.is_file():
        _check_documents(entry)
        if session.scalar(select(Department.id).where(Department.code == data["department"])) is None:
            raise entry.error(["department"], f"部门 “{data['department']}” 不存在")
        raise entry.error(["process"], f"找不到流程图 {bpmn_path}")
    content = bpmn_path.read_bytes()
    policy = check_entry(session, entry, content, bpmn_path.name)
    try:
        deployment = deploy(session, content, bpmn_path.name, data["code"], deployed_by=loaded_by,
                            at=at, department_code=data["department"], item_name=data["name"])
    except ApprovalError as exc:
        raise entry.error(["process"], exc.message) from None
    item = deployment.version.item
    department = session.scalar(select(Department).where(Department.code == data["department"]))
    item.name, item.department, item.kind = data["name"], department, data["kind"]
    store_entry(item, data, policy)
    item.catalogue_file = path.name
    return {"file": path.name, "code": item.code, "name": item.name, "version": deployment.version.version,
            "new_version": deployment.created}


def load_catalogue(db: Database, directory: Traversable, bpmn_dir: Traversable, *, loaded_by: str,
                   at: datetime) -> LoadReport:
    report = LoadReport()
    files = item_files(directory)
    if not files:
        raise BadInput(f"{directory} 下没有 .yaml 事项文件")
    for path in files:
        try:
            with db.transaction() as session:
                report.loaded.append(load_file(session, path, bpmn_dir, loaded_by=loaded_by, at=at))
        except CatalogueError as exc:
            report.refused.append(exc)
        except ApprovalError as exc:
            report.refused.append(CatalogueError(path.name, None, "", exc.message))
        except (DataError, IntegrityError):  # a missing check: logged, and the other files still load
            log.exception("the database refused catalogue file %s", path.name)
            report.refused.append(CatalogueError(path.name, None, "", "数据无法保存（超出长度或取值范围），请检查该文件"))
    return report


def catalogue_rows(session: Session) -> list[dict[str, Any]]:
    rows = []
    for item in session.scalars(select(Item).order_by(Item.code)):
        policy = policy_from_json(item.time_policy)
        promised = policy.promised_days
        rows.append({"code": item.code, "name": item.name, "department": item.department.code,
                     "department_name": item.department.name, "kind": item.kind,
                     "statutory_days": policy.statutory_days, "promised_days": promised,
                     "promise": "当日办结" if promised == 0 else (f"{promised} 个工作日" if promised else "未承诺"),
                     "deemed_approval": policy.deemed_approval, "file": item.catalogue_file,
                     "materials": len((item.guide or {}).get("materials", []))})
    return rows
