"""An item's guide (办事指南) as an administrator edits it in the web, and as YAML again.

``item_entry`` writes an item back as the catalogue file it would be loaded from (``export_yaml``
gives the text; loading it gives the same item). ``edit`` takes the edited fields, puts them into
that entry, and runs the very checks ``approvals catalogue load`` runs on a file
(``engine.catalogue.read_entry``'s loader and schema, then ``check_entry``), reporting every schema
problem at once, each with its field. The command that stores the result is ``EditGuide``
(``engine/commands/catalogue.py``). Cases keep the guide and the time limits they started with
(``Case.started_guide``, ``Case.started_policy``): an edit applies to new applications only.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.catalogue import CatalogueError, Entry, check_application_fields, check_entry, parse_entry, \
    schema_problems
from engine.clock import CHINA_TZ
from engine.errors import BadInput, NotFound
from engine.store.models import AdministrationAct, Item, ProcessVersion, User
from engine.timelimits.policy import TimePolicy, policy_from_json
from engine.versions import current_version

#: the fields of the published guide edited on the page (the rest of the entry is kept as it is)
EDITABLE = ("summary", "legal_basis", "conditions", "materials", "fees", "complaint", "limits")
#: the limits edited on the page; per-step limits, warnings and escalation are kept as they are
EDITABLE_LIMITS = ("statutory_days", "promised_days", "acceptance_days", "issue_days", "extension_days",
                   "deemed_approval")
#: Chinese names of the time settings, for the record of changes and the form
LIMIT_LABELS = {"statutory_days": "法定时限", "promised_days": "承诺时限", "acceptance_days": "受理时限",
                "issue_days": "发证时限", "extension_days": "可延长", "deemed_approval": "超期默许",
                "preliminary_days": "先行审查时限", "extension_approver": "延期审批人", "step_days": "环节时限",
                "warning": "预警", "escalation": "升级提醒"}
#: the order of a written catalogue file
ORDER = ("code", "name", "department", "kind", "process", "summary", "legal_basis", "conditions", "materials",
         "fees", "limits", "complaint", "numbering", "applicant_kinds", "application", "documents")


class GuideProblems(BadInput):
    """An edited guide that cannot be stored: every problem found, each with its field
    (``CatalogueError.field``, a dotted path such as ``materials.2.copies``)."""

    def __init__(self, problems: list[CatalogueError]):
        self.problems = problems
        super().__init__("；".join(f"{p.field or '办事指南'}：{p.reason}" for p in problems))

    def to_dict(self) -> dict:
        return {**super().to_dict(), "problems": [{"field": p.field, "reason": p.reason} for p in self.problems]}


def load_item(session: Session, code: str, *, lock: bool = False) -> Item:
    query = select(Item).where(Item.code == code)
    item = session.scalar(query.with_for_update() if lock else query)
    if item is None:
        raise NotFound(f"审批事项 {code} 不存在")
    return item


def _version(session: Session, item: Item) -> ProcessVersion:
    version = current_version(session, item)
    if version is None:
        raise BadInput(f"审批事项“{item.name}”还没有部署流程")
    return version


def written_limits(policy: TimePolicy) -> dict[str, Any]:
    """The time policy as a file's ``limits:``: what differs from the defaults (and the statutory
    limit, which a file always states), so that loading it gives the same policy."""
    stored, default = policy.to_dict(), TimePolicy().to_dict()
    limits: dict[str, Any] = {"statutory_days": stored["statutory_days"]}
    for key in ("promised_days", "extension_days", "acceptance_days", "issue_days", "preliminary_days",
                "extension_approver", "deemed_approval"):
        if key in stored and stored[key] != default.get(key):
            limits[key] = stored[key]
    if stored["step_days"]:
        limits["steps"] = dict(stored["step_days"])
    if stored["warning"] != default["warning"]:
        limits["warning"] = {k: v for k, v in stored["warning"].items() if v is not None}
    escalation = {k: v for k, v in stored["escalation"].items() if v != default["escalation"].get(k)}
    if escalation:
        limits["escalation"] = escalation
    return limits


def item_entry(session: Session, item: Item) -> dict[str, Any]:
    """The item as a catalogue file's data: its guide, limits, numbering and current diagram's file."""
    if not item.guide or not item.kind:
        raise BadInput(f"审批事项“{item.name}”没有办事指南（未从事项目录载入）：请先用 approvals catalogue load 载入")
    data = {"code": item.code, "name": item.name, "department": item.department.code, "kind": item.kind,
            "process": _version(session, item).filename, **item.guide,
            "limits": written_limits(policy_from_json(item.time_policy))}
    if item.numbering:
        data["numbering"] = item.numbering
    return {k: data[k] for k in ORDER if k in data}


def export_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000, default_flow_style=False)


def file_name(item: Item) -> str:
    return item.catalogue_file or f"{item.code}.yaml"


def fingerprint(item: Item) -> str:
    """What the edit form was rendered from: a form whose item changed since is refused."""
    state = json.dumps([item.guide, item.time_policy], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(state.encode("utf-8")).hexdigest()[:16]


def guide_view(session: Session, code: str) -> dict[str, Any]:
    """The page: the entry as it is now, the limits and what they were, the YAML file name."""
    item = load_item(session, code)
    return {"item": item, "entry": item_entry(session, item), "file": file_name(item),
            "fingerprint": fingerprint(item), "policy": policy_from_json(item.time_policy)}


def _checked(text: str, file: str) -> Entry:
    """``read_entry`` reporting every schema problem at once."""
    try:
        entry = parse_entry(text, file)
        problems = schema_problems(entry)
        if problems:
            raise GuideProblems(problems)
        check_application_fields(entry)
    except CatalogueError as exc:
        raise GuideProblems([exc]) from None
    return entry


@dataclass(frozen=True)
class Edited:
    item: Item
    data: dict[str, Any]
    policy: TimePolicy
    changed: list[str]          # top-level guide fields that changed
    limits: dict[str, dict]     # time settings that changed: {key: {"from": old, "to": new}}


def edit(session: Session, code: str, changes: dict[str, Any], *, lock: bool = True) -> Edited:
    """Put ``changes`` (fields of ``EDITABLE``; ``limits`` with keys of ``EDITABLE_LIMITS``, None
    for a limit removed) into the item's entry and check it as a catalogue file. Stores nothing."""
    item = load_item(session, code, lock=lock)
    data = item_entry(session, item)
    problems = [CatalogueError(file_name(item), None, str(key), "此处不能修改这一项")
                for key in changes if key not in EDITABLE]
    limits = changes.get("limits", {})
    if not isinstance(limits, dict):
        problems.append(CatalogueError(file_name(item), None, "limits", "时限应为映射"))
        limits = {}
    problems += [CatalogueError(file_name(item), None, f"limits.{key}", "此处不能修改这一项")
                 for key in limits if key not in EDITABLE_LIMITS]
    if problems:
        raise GuideProblems(problems)
    for key in EDITABLE[:-1]:
        if key in changes:
            if changes[key] is None:
                data.pop(key, None)
            else:
                data[key] = changes[key]
    for key, value in limits.items():
        if value is None:
            data["limits"].pop(key, None)
        else:
            data["limits"][key] = value
    data = {k: data[k] for k in ORDER if k in data}
    entry = _checked(export_yaml(data), file_name(item))
    try:
        version = _version(session, item)
        xml = session.scalar(select(ProcessVersion.bpmn_xml).where(ProcessVersion.id == version.id))
        policy = check_entry(session, entry, xml.encode("utf-8"), version.filename)
    except CatalogueError as exc:
        raise GuideProblems([exc]) from None
    before, after = policy_from_json(item.time_policy).to_dict(), policy.to_dict()
    changed_limits = {k: {"from": before.get(k), "to": after.get(k)} for k in sorted(set(before) | set(after))
                      if before.get(k) != after.get(k)}
    old_guide = item.guide or {}
    changed = [k for k in EDITABLE[:-1] if old_guide.get(k) != entry.data.get(k)]
    return Edited(item, entry.data, policy, changed, changed_limits)


def _shown(key: str, value: Any) -> str:
    if value is None:
        return "未承诺" if key == "promised_days" else "无"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int) and key.endswith("_days"):
        return "当日办结" if value == 0 and key in ("statutory_days", "promised_days") else f"{value} 个工作日"
    if key == "extension_approver":
        return {"head": "本机关负责人", "government": "本级人民政府负责人"}.get(value, str(value))
    return json.dumps(value, ensure_ascii=False)


def guide_changes(session: Session, code: str) -> list[dict[str, Any]]:
    """The record of the item's guide edits, newest first: who (by name), when (China time), why,
    which fields, and each time limit's old and new value (时限变更记录)."""
    rows = [a for a in session.scalars(select(AdministrationAct).where(AdministrationAct.command == "edit_guide")
                                       .order_by(AdministrationAct.id.desc()))
            if a.payload.get("item") == code]
    users = {u.username: u.display_name or u.username
             for u in session.scalars(select(User).where(User.username.in_({a.actor for a in rows})))}
    labels = {"summary": "事项概述", "legal_basis": "设定依据", "conditions": "受理条件", "materials": "申请材料",
              "fees": "收费", "complaint": "投诉渠道"}
    return [{"at": a.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"), "by": users.get(a.actor, a.actor),
             "reason": a.payload.get("reason", ""),
             "changed": [labels.get(k, k) for k in a.payload.get("changed", [])],
             "limits": [{"what": LIMIT_LABELS.get(k, k), "from": _shown(k, v["from"]), "to": _shown(k, v["to"])}
                        for k, v in a.payload.get("limits", {}).items()]}
            for a in rows]
