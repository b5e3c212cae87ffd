"""The designer's pages: the list of items and drafts, the bpmn-js modeler, upload, and the
JSON endpoints the modeler's buttons call (校验, 一键修复, 保存). Rules and checks are in
engine/designs.py and engine/runtime/lint.py; these routes parse, call and render."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, redirect, render_template, request, url_for

from markupsafe import Markup

from engine.designs import (DRAFT_STATE, design_overview, designer_roles, diagram_source, draft_preview, fix_for,
                            item_drafts, lint_for, require_designer, save_draft)
from engine.errors import ApprovalError, BadInput, BpmnError
from engine.runtime.definitions import MAX_BPMN_BYTES

from .diagram import render

from .auth import login_required
from .context import get_db, get_engine

bp = Blueprint("design", __name__, url_prefix="/design")

def _designer():
    require_designer(g.actor)


def _upload_size(view):
    view.request_bytes = MAX_BPMN_BYTES + 64 * 1024  # a diagram and its form fields
    return view


@bp.route("/")
@login_required
def index():
    _designer()
    with get_db().reader() as session:
        overview = design_overview(session, g.actor)
    return render_template("design_index.html", **overview, draft_state=DRAFT_STATE)


def _modeler(**source_args):
    _designer()
    with get_db().reader() as session:
        source = diagram_source(session, g.actor, **source_args)
    source.pop("xml")
    # bpmn-js 18 runs under the site's strict policy (no inline script or style): no exception here
    return render_template("modeler.html", source=source, source_args=source_args, roles=designer_roles(),
                           draft_state=DRAFT_STATE)


@bp.route("/items/<code>")
@login_required
def item(code: str):
    return _modeler(item_code=code)


@bp.route("/items/<code>/drafts")
@login_required
def item_drafts_page(code: str):
    """All the drafts of an item, to come back to any of them."""
    _designer()
    with get_db().reader() as session:
        listed = item_drafts(session, g.actor, code)
    return render_template("design_drafts.html", **listed)


@bp.route("/drafts/<int:draft_id>")
@login_required
def draft(draft_id: int):
    return _modeler(draft_id=draft_id)


@bp.route("/drafts/<int:draft_id>/preview")
@login_required
def preview(draft_id: int):
    """The draft drawn as the case pages will draw it (web/diagram.py), and its problems."""
    _designer()
    with get_db().reader() as session:
        shown = draft_preview(session, g.actor, draft_id)
    try:
        svg = Markup(render(shown["xml"], title=f"{shown['title']}（草稿 {draft_id}）"))
    except BpmnError as exc:  # drafts are XML, but say so rather than fail if one cannot be drawn
        svg, shown["draw_error"] = None, exc.message
    return render_template("design_preview.html", shown=shown, report=shown["report"], svg=svg,
                           draft_id=draft_id, draft_state=DRAFT_STATE)


@bp.route("/new")
@login_required
def new():
    return _modeler()


@bp.route("/source.xml")
@login_required
def source_xml():
    """The XML the modeler page opens (fetched by web/static/modeler.js: no inline data)."""
    _designer()
    args = {}
    if request.args.get("draft", "").isdigit():
        args["draft_id"] = int(request.args["draft"])
    elif request.args.get("item"):
        args["item_code"] = request.args["item"][:64]
    with get_db().reader() as session:
        source = diagram_source(session, g.actor, **args)
    return source["xml"], 200, {"Content-Type": "application/xml; charset=utf-8"}


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("xml"), str):
        raise BadInput("请求应为 JSON：{\"xml\": 流程图, \"item\": 事项代码}")
    item = data.get("item")
    if item is not None and not isinstance(item, str):
        raise BadInput("事项代码应为文本")
    return data


def _json_error(exc: ApprovalError):
    status = {"not_found": 404, "not_allowed": 403, "conflict": 409}.get(exc.code, 400)
    return jsonify({"error": exc.code, "message": exc.message}), status


@bp.route("/lint", methods=["POST"])
@login_required
@_upload_size
def lint():
    try:
        data = _json_body()
        with get_db().reader() as session:
            report = lint_for(session, g.actor, data["xml"], data.get("item") or None)
    except ApprovalError as exc:
        return _json_error(exc)
    return jsonify(report.to_dict())


@bp.route("/fix", methods=["POST"])
@login_required
@_upload_size
def fix():
    try:
        data = _json_body()
        with get_db().reader() as session:
            result = fix_for(session, g.actor, data["xml"], data.get("item") or None)
    except ApprovalError as exc:
        return _json_error(exc)
    return jsonify(result)


@bp.route("/save", methods=["POST"])
@login_required
@_upload_size
def save():
    try:
        data = _json_body()
        based_on, from_draft = data.get("based_on"), data.get("draft")
        with get_db().transaction() as session:
            saved, report = save_draft(session, g.actor, data["xml"], at=get_engine().clock.now(),
                                       item_code=data.get("item") or None,
                                       based_on=based_on if isinstance(based_on, int) else None,
                                       from_draft=from_draft if isinstance(from_draft, int) else None)
            draft_id, saved_at = saved.id, saved.saved_at
    except ApprovalError as exc:
        return _json_error(exc)
    return jsonify({"draft": draft_id, "url": url_for("design.draft", draft_id=draft_id), "state": DRAFT_STATE,
                    **report.to_dict()})


@bp.route("/upload", methods=["GET", "POST"])
@login_required
@_upload_size
def upload():
    """Upload a .bpmn file: the same checks at once, listed; kept as a draft to open in the modeler."""
    _designer()
    with get_db().reader() as session:
        items = design_overview(session, g.actor)["items"]
    if request.method == "GET":
        return render_template("design_upload.html", items=items, report=None, error=None)
    upload_file = request.files.get("file")
    item_code = request.form.get("item", "").strip()[:64] or None
    if upload_file is None or not upload_file.filename:
        return render_template("design_upload.html", items=items, report=None, item=item_code,
                               error="请选择一个 .bpmn 文件"), 400
    content = upload_file.read(MAX_BPMN_BYTES + 1)
    filename = upload_file.filename[-255:]
    try:
        with get_db().reader() as session:
            report = lint_for(session, g.actor, content, item_code, filename)
        draft_id = None
        if not any(p.rule in ("xml", "not_bpmn") for p in report.problems):
            with get_db().transaction() as session:
                saved, report = save_draft(session, g.actor, content, at=get_engine().clock.now(),
                                           item_code=item_code, filename=filename)
                draft_id = saved.id
    except ApprovalError as exc:
        return render_template("design_upload.html", items=items, report=None, item=item_code,
                               error=exc.message), 400
    return render_template("design_upload.html", items=items, report=report.to_dict(), item=item_code,
                           filename=filename, draft_id=draft_id, error=None), 200 if draft_id else 400
