"""What an application consists of, as the people deciding on it see it: the applicant, the
application's own fields (declared per item in the catalogue) and the materials with the
window's checklist answer and their scanned files.

Task pages, the case page and the printed documents all show this one view."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.intake import APPLICANT_FIELDS, APPLICANT_KINDS
from engine.runtime.definitions import FormField, ProcessDefinition
from engine.store.models import Attachment, Case, HistoryEntry

MATERIAL_STATUS_LABELS = {"received": "已收", "missing": "缺", "deferred": "容缺", "na": "不涉及"}


def started_with(session: Session, case: Case) -> dict[str, Any]:
    """The data the case was started with (``StartCase.data``): what an online complaint says
    (诉求内容), or what a script passed. It flows into the process, and the steps' forms show it."""
    inputs = session.scalar(select(HistoryEntry.inputs).where(HistoryEntry.case_id == case.id, HistoryEntry.seq == 1))
    data = (inputs or {}).get("data")
    return data if isinstance(data, dict) else {}


def application_view(session: Session, case: Case, definition: ProcessDefinition | None = None,
                     started: dict[str, Any] | None = None) -> dict[str, Any]:
    """``applicant`` (name and, where registered, kind, identity document, phone, legal
    representative, contact), ``fields`` (label and shown value, in the item's order) and
    ``materials`` (name, required, status and its label, note, files). With the case's process
    ``definition``, the fields of the data it started with join ``fields``, by their forms' labels
    (``started``: that data, when the caller has read it)."""
    guide = case.started_guide  # what the case was registered under
    checklist = case.materials or {}
    files: dict[str, list[dict[str, Any]]] = {}
    for f in session.scalars(select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.id)):
        files.setdefault(f.material, []).append({"id": f.id, "filename": f.filename, "size": _size(f.size),
                                                 "url": f"/cases/{case.number}/files/{f.id}"})
    materials = []
    for m in guide.get("materials", []):
        status = (checklist.get(m["name"]) or {}).get("status")
        materials.append({"name": m["name"], "required": bool(m.get("required")), "status": status,
                          "status_label": MATERIAL_STATUS_LABELS.get(status, "未核对"),
                          "due_on": (checklist.get(m["name"]) or {}).get("due_on"),
                          "note": m.get("note", ""), "files": files.get(m["name"], [])})
    fields = _fields(guide.get("application", []), case.application or {})
    if definition is not None:
        fields += _started_fields(definition, started_with(session, case) if started is None else started)
    return {"applicant": _applicant(case), "fields": fields, "materials": materials}


def _started_fields(definition: ProcessDefinition, data: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for name, value in data.items():
        field = next((f for info in definition.user_tasks.values() for f in info.form if f.id == name), None)
        if field is not None and value not in (None, ""):
            out.append({"name": name, "label": field.label, "value": shown_value(field, value)})
    return out


def _applicant(case: Case) -> dict[str, Any]:
    info = case.applicant_info or {}
    kind = info.get("kind")
    details = [(label, info[key]) for key, label in APPLICANT_FIELDS.get(kind, ()) if key != "name" and info.get(key)]
    return {"name": case.applicant, "kind": kind, "kind_label": APPLICANT_KINDS.get(kind, ""), "details": details,
            "online": case.account_id is not None}


def _fields(declared: list[dict[str, Any]], values: dict[str, Any]) -> list[dict[str, str]]:
    return [{"name": f["name"], "label": f["label"], "value": str(values[f["name"]])}
            for f in declared if values.get(f["name"]) not in (None, "")]


def shown_value(field_: FormField, value: Any) -> str:
    """A recorded form value as people read it: an option's label, 是/否, the text."""
    if value is None or value == "":
        return ""
    if field_.type == "enum":
        return dict(field_.options).get(str(value), str(value))
    if field_.type == "boolean":
        return "是" if value in (True, "true", "True", 1) else "否"
    return str(value)


def _size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(1, round(size / 1024))} KB"
