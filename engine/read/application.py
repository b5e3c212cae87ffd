"""What an application consists of, as the people deciding on it see it: the applicant, the
application's own fields (declared per item in the catalogue) and the materials with the
window's checklist answer and their scanned files.

Task pages, the case page and the printed documents all show this one view."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.store.models import Case

MATERIAL_STATUS_LABELS = {"received": "已收", "missing": "缺", "deferred": "容缺"}


def application_view(session: Session, case: Case) -> dict[str, Any]:
    """``applicant`` (name and, where registered, kind, identity document, phone, legal
    representative, contact), ``fields`` (label and shown value, in the item's order) and
    ``materials`` (name, required, status and its label, note, files)."""
    guide = case.item.guide or {}
    checklist = case.materials or {}
    materials = []
    for m in guide.get("materials", []):
        status = (checklist.get(m["name"]) or {}).get("status")
        materials.append({"name": m["name"], "required": bool(m.get("required")), "status": status,
                          "status_label": MATERIAL_STATUS_LABELS.get(status, "未核对"),
                          "due_on": (checklist.get(m["name"]) or {}).get("due_on"),
                          "note": m.get("note", ""), "files": []})
    return {"applicant": {"name": case.applicant}, "fields": [], "materials": materials}
