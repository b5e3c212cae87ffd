"""办事指南 in the administration: an item's guide and limits edited in a form, the record of limit
changes, and the item exported as its catalogue YAML file. The form only turns its fields into the
entry's values; the checks are the catalogue loader's (engine/guides.py, the ``edit_guide`` command)."""
from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, send_file, url_for

from itsdangerous import BadSignature, URLSafeSerializer

from engine.catalogue import PROVIDED
from engine.commands import EditGuide
from engine.guides import (EDITABLE_LIMITS, LIMIT_LABELS, GuideProblems, edit, export_yaml, file_name,
                           guide_changes, guide_view, item_entry, load_item)
from engine.errors import ApprovalError, NotFound
from engine.versions import current_version

from .admin import admin_required
from .auth import login_required
from .context import get_db, get_engine
from .window import get_files, uploads_allowed

bp = Blueprint("guides", __name__, url_prefix="/admin/items")

#: at most this many materials on the form (the rows shown: the guide's, and two empty ones to add)
MAX_MATERIALS = 60
EMPTY_ROWS = 2
FIELD_LABELS = {"summary": "事项概述", "legal_basis": "设定依据", "conditions": "受理条件", "materials": "申请材料",
                "fees": "收费", "fees.amount": "收费金额", "fees.basis": "收费依据", "complaint": "投诉渠道",
                "complaint.phone": "投诉电话", "complaint.address": "投诉地址", "complaint.online": "网上投诉",
                "limits": "办理时限", "reason": "变更理由",
                **{f"limits.{k}": v for k, v in LIMIT_LABELS.items()}}
MATERIAL_LABELS = {"name": "名称", "required": "必需", "deficiency_allowed": "可容缺受理", "copies": "份数",
                   "provided": "形式", "sample": "示范文本", "note": "说明", "sample_file": "示范文件"}


def _number(text: str, *, integer: bool) -> Any:
    """A typed number as the YAML file would hold it; anything else is kept as text, so that the
    catalogue's schema names it (``应为整数，收到 '十'``)."""
    text = text.strip()
    if re.fullmatch(r"-?\d{1,18}", text):
        return int(text)
    if not integer and re.fullmatch(r"-?\d{1,15}\.\d{1,6}", text):
        value = float(text)
        return value if math.isfinite(value) else text
    return text


def _lines(name: str) -> list[str]:
    return [line.strip() for line in request.form.get(name, "").splitlines() if line.strip()]


def _sample_files(code: str) -> dict[str, dict]:
    """The sample files the guide holds now, by sha256 (the only ones offered for download)."""
    with get_db().reader() as session:
        materials = (load_item(session, code).guide or {}).get("materials", [])
    return {m["sample_file"]["sha256"]: m["sample_file"] for m in materials if m.get("sample_file")}


def _signer() -> URLSafeSerializer:
    """A material's sample file rides on the form signed, so that a form sent back for correction
    keeps a file just uploaded, and no form can name another file of the store."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="guide-sample-file")


def _sample(i: int, shown_at: int, refused: dict[str, str]) -> dict | None:
    """A material's sample file (form row ``i``, shown again as row ``shown_at``): a new upload
    (kept in the file store), the one it had, or none."""
    upload = request.files.get(f"materials.{i}.sample_upload")
    if upload is not None and upload.filename:
        try:
            stored = get_files().put(upload.read(), upload.filename)
        except ApprovalError as exc:
            refused[f"materials.{shown_at}.sample_file"] = exc.message
            return None
        return {"sha256": stored.sha256, "filename": stored.filename, "content_type": stored.content_type}
    if request.form.get(f"materials.{i}.sample_remove"):
        return None
    try:
        kept = _signer().loads(request.form.get(f"materials.{i}.sample_file", ""))
    except BadSignature:
        return None
    return kept if isinstance(kept, dict) else None


def _materials(refused: dict[str, str]) -> list[dict[str, Any]]:
    raw = request.form.get("materials.count", "")
    count = min(int(raw), MAX_MATERIALS) if re.fullmatch(r"[0-9]{1,3}", raw) else 0
    rows = []
    for i in range(count):
        value = {k: request.form.get(f"materials.{i}.{k}", "").strip() for k in ("name", "copies", "provided",
                                                                                     "sample", "note")}
        upload = request.files.get(f"materials.{i}.sample_upload")
        if request.form.get(f"materials.{i}.remove") or not (any(value.values()) or upload and upload.filename):
            continue  # removed, or an empty row left for adding
        row: dict[str, Any] = {"name": value["name"], "required": bool(request.form.get(f"materials.{i}.required"))}
        if request.form.get(f"materials.{i}.deficiency_allowed"):
            row["deficiency_allowed"] = True
        if value["copies"]:
            row["copies"] = _number(value["copies"], integer=True)
        for key in ("provided", "sample", "note"):
            if value[key]:
                row[key] = value[key]
        sample = _sample(i, len(rows), refused)
        if sample:
            row["sample_file"] = sample
        rows.append(row)
    return rows


def _guide_from_form(refused: dict[str, str]) -> dict[str, Any]:
    """The edited fields as the entry's values; empty optional fields are left out."""
    form = request.form
    fees: dict[str, Any] = {"basis": form.get("fees.basis", "").strip()}
    if form.get("fees.amount", "").strip():
        fees["amount"] = _number(form["fees.amount"], integer=False)
    complaint = {k: form.get(f"complaint.{k}", "").strip() for k in ("phone", "address", "online")}
    limits: dict[str, Any] = {}
    for key in EDITABLE_LIMITS:
        if key == "deemed_approval":
            limits[key] = bool(form.get("limits.deemed_approval"))
            continue
        text = form.get(f"limits.{key}", "").strip()
        limits[key] = _number(text, integer=True) if text else (None if key == "promised_days" else "")
    for key in ("acceptance_days", "issue_days", "extension_days"):
        if limits[key] == "":
            limits[key] = None  # left empty: the default of the law
    return {"summary": form.get("summary", "").strip() or None, "legal_basis": _lines("legal_basis"),
            "conditions": _lines("conditions"), "materials": _materials(refused), "fees": fees,
            "complaint": {k: v for k, v in complaint.items() if v or k == "phone"}, "limits": limits}


def _locate(path: str, names: set[str]) -> str:
    """The form's field for a problem's path (``legal_basis.2`` is the textarea ``legal_basis``;
    ``materials.3`` the material's name), or the nearest section."""
    parts = path.split(".") if path else []
    while parts:
        key = ".".join(parts)
        if key in names:
            return key
        if f"{key}.name" in names:
            return f"{key}.name"
        parts.pop()
    return ""


def _label(key: str) -> str:
    match = re.fullmatch(r"materials\.(\d+)\.(\w+)", key)
    if match:
        return f"材料 {int(match.group(1)) + 1} · {MATERIAL_LABELS.get(match.group(2), match.group(2))}"
    return FIELD_LABELS.get(key, key or "办事指南")


#: the form's sections from top to bottom, for listing problems in the order of the page
SECTIONS = ("", "summary", "legal_basis", "conditions", "materials", "fees", "complaint", "limits", "reason")


def _rank(problem: tuple[str, str]) -> tuple:
    key = problem[0]
    parts = key.split(".")
    order = list(MATERIAL_LABELS) if parts[0] == "materials" else [f"limits.{k}" for k in EDITABLE_LIMITS]
    index = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1
    field = parts[2] if parts[0] == "materials" and len(parts) > 2 else key
    return (SECTIONS.index(parts[0]) if parts[0] in SECTIONS else 0, index,
            order.index(field) if field in order else -1)


def _field_names(materials: int) -> set[str]:
    names = {"summary", "legal_basis", "conditions", "materials", "fees", "fees.amount", "fees.basis", "complaint",
             "complaint.phone", "complaint.address", "complaint.online", "limits", "reason",
             *(f"limits.{k}" for k in EDITABLE_LIMITS)}
    return names | {f"materials.{i}.{k}" for i in range(materials) for k in MATERIAL_LABELS}


def _render(code: str, *, entry: dict | None = None, problems: dict[str, str] | None = None, reason: str = "",
            error: str | None = None, status: int = 200, posted_limits: dict | None = None):
    with get_db().reader() as session:
        view = guide_view(session, code)
        changes = guide_changes(session, code)
        steps = {t.element_id: t.name for t in get_engine().definition(
            session, current_version(session, view["item"])).user_tasks.values()}
    shown = entry or view["entry"]
    policy = view["policy"]
    limit_values = posted_limits if posted_limits is not None else {
        k: ("" if getattr(policy, k) is None else getattr(policy, k)) for k in EDITABLE_LIMITS}
    materials = list(shown.get("materials", []))
    problems = problems or {}
    summary = [{"key": k, "label": _label(k), "reason": r} for k, r in sorted(problems.items(), key=_rank)]
    return render_template("guide.html", **view, shown=shown, materials=materials, empty_rows=EMPTY_ROWS,
                           problems=problems, summary=summary, reason=reason, error=error, provided=PROVIDED,
                           changes=changes, limit_changes=[c for c in changes if c["limits"]],
                           limit_labels=LIMIT_LABELS, steps=steps,
                           limit_values=limit_values, sign=_signer().dumps,
                           stored_samples={m["sample_file"]["sha256"] for m in view["entry"].get("materials", [])
                                           if m.get("sample_file")}), status


@bp.route("/<code>/guide")
@admin_required
def show(code: str):
    return _render(code)


@bp.route("/<code>/guide", methods=["POST"])
@admin_required
@uploads_allowed
def save(code: str):
    refused: dict[str, str] = {}  # sample files the store would not take (type, size), by field
    guide = _guide_from_form(refused)
    reason = request.form.get("reason", "")
    command = EditGuide(item=code, guide=guide, reason=reason, expected=request.form.get("expected", ""))
    try:
        if refused:  # a file was refused: say what else is wrong too, and store nothing
            with get_db().reader() as session:
                try:
                    edit(session, code, guide, lock=False)
                except GuideProblems:
                    raise
                except ApprovalError:
                    pass
            raise GuideProblems([])
        get_engine().execute(command, g.actor)
    except GuideProblems as exc:
        materials = len(guide["materials"])
        names = _field_names(materials)
        problems: dict[str, str] = dict(refused)
        for p in exc.problems:
            key = _locate(p.field, names)
            problems[key] = f"{problems[key]}；{p.reason}" if key in problems else p.reason
        with get_db().reader() as session:
            entry = {**guide_view(session, code)["entry"], **{k: v for k, v in guide.items() if v is not None}}
        posted = {k: request.form.get(f"limits.{k}", "") for k in EDITABLE_LIMITS}
        posted["deemed_approval"] = bool(request.form.get("limits.deemed_approval"))
        return _render(code, entry=entry, problems=problems, reason=reason, status=400, posted_limits=posted)
    except ApprovalError as exc:
        return _render(code, reason=reason, error=exc.message, status=400 if exc.code == "bad_input" else 409)
    flash("办事指南已保存：新的申请按修改后的指南受理；已受理的办件仍按原承诺时限和材料清单办理")
    return redirect(url_for("guides.show", code=code))


@bp.route("/<code>/samples/<sha256>")
@login_required
def sample(code: str, sha256: str):
    """A material's sample file (示范文本), for anyone at work (and to everyone in the online hall's
    public guide, web/hall.py)."""
    return send_sample(code, sha256)


def send_sample(code: str, sha256: str):
    """Only files the guide names, only as a download."""
    kept = _sample_files(code).get(sha256)
    if kept is None:
        raise NotFound("该事项的办事指南中没有这个示范文件")
    response = send_file(get_files().path_of(sha256), mimetype=kept["content_type"], as_attachment=True,
                         download_name=kept["filename"], max_age=0)
    response.headers["Content-Security-Policy"] = "sandbox"  # never run as a page, whatever a browser guesses
    return response


@bp.route("/<code>/guide.yaml")
@admin_required
def export(code: str):
    with get_db().reader() as session:
        item = load_item(session, code)
        text, name = export_yaml(item_entry(session, item)), file_name(item)
    return Response(text, mimetype="application/yaml",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
