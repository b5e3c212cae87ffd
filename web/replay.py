"""回放测试: a tester replays an item's recorded histories against a version or a draft, or one
exported history file, and reads where each diverges (engine/replay_check.py does the work)."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request

from engine.errors import ApprovalError
from engine.replay_check import MAX_HISTORY_BYTES, MAX_WEB_CASES, replay_file, replay_item_cases, require_tester, targets
from engine.store.models import Item

from sqlalchemy import select

from .auth import login_required
from .context import get_db

bp = Blueprint("replay", __name__, url_prefix="/replay")


def _items(session) -> list[tuple[str, str]]:
    return [(i.code, i.name) for i in session.scalars(select(Item).order_by(Item.code))]


@bp.route("/")
@login_required
def index():
    """Pick an item, then what to replay against (and optionally one case); 开始回放 runs it (a GET:
    it changes nothing, and the result can be bookmarked)."""
    require_tester(g.actor)
    code = request.args.get("item", "").strip()[:64]
    against = request.args.get("against", "").strip()[:16]
    case = request.args.get("case", "").strip()[:64]
    report, choices, error = None, None, None
    with get_db().reader() as session:
        items = _items(session)
        try:
            choices = targets(session, code) if code else None
        except ApprovalError as exc:
            error, code = exc.message, ""
    if choices is not None and request.args.get("run"):
        try:
            report = replay_item_cases(get_db(), g.actor, code, against, case=case)
        except ApprovalError as exc:
            error = exc.message
    return render_template("replay.html", items=items, item=code, choices=choices, against=against, case=case,
                           report=report, error=error, limit=MAX_WEB_CASES, file_result=None,
                           max_mb=MAX_HISTORY_BYTES // 1024 // 1024), 400 if error else 200


@bp.route("/file", methods=["POST"])
@login_required
def file():
    """One exported history file (approvals case export), against the version it ran on."""
    require_tester(g.actor)
    upload = request.files.get("history")
    content = upload.read(MAX_HISTORY_BYTES + 1) if upload is not None and upload.filename else b""
    with get_db().reader() as session:
        items = _items(session)
    try:
        result, error = replay_file(g.actor, content), None
    except ApprovalError as exc:
        result, error = None, exc.message
    return render_template("replay.html", items=items, item="", choices=None, against="", case="", report=None,
                           error=None, file_error=error, limit=MAX_WEB_CASES, file_result=result,
                           filename=upload.filename if upload is not None else "",
                           max_mb=MAX_HISTORY_BYTES // 1024 // 1024), 400 if error else 200
