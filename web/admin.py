"""Administration: the working-day calendar, and each item's process versions (deploy a draft,
roll back, migrate running cases; the rules are in engine/versions.py and engine/migration.py)."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from markupsafe import Markup
from sqlalchemy import select

from engine.errors import ApprovalError, BadInput, NotAllowed
from engine.migration import plan, run
from engine.read.queries import calendar_years
from engine.store.models import Item, ProcessDraft, ProcessVersion
from engine.versions import deploy_draft, rollback, versions_view
from engine.timelimits.schedule import import_schedule, parse_schedule

from .auth import login_required
from .context import get_db, get_engine
from .diagram import render_cached

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not g.actor.has_role("admin"):
            raise NotAllowed("只有管理员可以进入管理页面")
        return view(*args, **kwargs)

    return wrapped


@bp.route("/calendar", methods=["GET", "POST"])
@admin_required
def calendar():
    error, result = None, None
    if request.method == "POST":
        upload = request.files.get("file")
        text = upload.read() if upload is not None and upload.filename else request.form.get("schedule", "")
        try:
            result = import_schedule(get_engine(), parse_schedule(text), g.actor.display_name or g.actor.name)
        except ApprovalError as exc:
            error = exc.message
        else:
            flash(f"已导入 {result['year']} 年节假日安排；{len(result['moved'])} 项期限随之调整")
            for f in result["failed"]:
                flash(f"办件 {f['case']} 的期限未能重算：{f['error']}（其余办件已重算）")
            if result["missing_festivals"]:
                flash(f"请核对：{result['year']} 年的安排中没有{'、'.join(result['missing_festivals'])}的放假日。国务院每年的"
                      f"通知安排 7 个节日；如有遗漏，请补全后重新导入（重新导入以新的安排为准）", "error")
    with get_db().reader() as session:
        years = calendar_years(session)
    status = 400 if error else 200
    return render_template("calendar.html", years=years, error=error, result=result,
                           schedule=request.form.get("schedule", "")), status


@bp.route("/")
@admin_required
def index():
    return redirect(url_for("admin.calendar"))


# ---------------------------------------------------------------------------- versions

@bp.route("/items")
@admin_required
def items():
    with get_db().reader() as session:
        rows = session.execute(select(Item.code, Item.name).order_by(Item.code)).all()
    return render_template("admin_items.html", items=rows)


def _number(value: str | None, what: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise BadInput(f"请选择{what}") from None


def _diagrams(session, versions: list[dict]) -> dict[int, Markup]:
    drawn = {}
    for v in versions:
        def load(version_id=v["id"]):
            return session.scalar(select(ProcessVersion.bpmn_xml).where(ProcessVersion.id == version_id))
        svg = render_cached(v["hash"], load, {}, title=f"第 {v['number']} 版")
        drawn[v["number"]] = Markup(svg) if svg else None
    return drawn


@bp.route("/items/<code>/versions")
@admin_required
def versions(code: str):
    engine = get_engine()
    report, error = None, None
    chosen = request.args.get("draft") or request.args.get("dry_run_draft")
    try:
        if request.args.get("dry_run"):
            report = plan(engine, g.actor, code, _number(request.args.get("dry_run"), "目标版本"), at=engine.now())
        elif request.args.get("dry_run_draft"):  # against a draft not yet deployed: reads only
            report = plan(engine, g.actor, code, draft=_number(request.args.get("dry_run_draft"), "草稿"),
                          at=engine.now())
        chosen = _number(chosen, "草稿") if chosen else None
    except ApprovalError as exc:
        error, chosen = exc.message, None
    with get_db().reader() as session:
        try:
            view = versions_view(session, g.actor, code, engine.definition, draft_id=chosen)
        except ApprovalError as exc:  # a draft id that is not one of this item's waiting drafts
            if chosen is None:
                raise
            error = exc.message
            view = versions_view(session, g.actor, code, engine.definition)
        diagrams = _diagrams(session, view["versions"])
        draft_diagram = _draft_diagram(session, view["draft"])
    return render_template("versions.html", **view, diagrams=diagrams, draft_diagram=draft_diagram, report=report,
                           error=error), 400 if error else 200


def _draft_diagram(session, draft: dict | None) -> Markup | None:
    if draft is None:
        return None
    def load(draft_id=draft["id"]):
        return session.scalar(select(ProcessDraft.bpmn_xml).where(ProcessDraft.id == draft_id))
    svg = render_cached(draft["hash"], load, {}, title=f"草稿 {draft['id']}")
    return Markup(svg) if svg else None


def _act(code: str, action) -> str | None:
    """Run ``action`` (one call into the engine); its refusal comes back as a message."""
    try:
        return action()
    except ApprovalError as exc:
        flash(exc.message, "error")
        return None


@bp.route("/items/<code>/versions/deploy", methods=["POST"])
@admin_required
def deploy(code: str):
    engine = get_engine()

    def action():
        with get_db().transaction() as session:
            version = deploy_draft(session, g.actor, _number(request.form.get("draft"), "草稿"), at=engine.now(),
                                   reason=request.form.get("reason", ""))
            return version.version
    number = _act(code, action)
    if number is not None:
        flash(f"已部署第 {number} 版：新办件从此版本开始，办理中的办件仍按原版本办理；"
              f"要把它们迁移过来，请点第 {number} 版的“试运行”，再迁移可迁移的办件")
    return redirect(url_for("admin.versions", code=code))


@bp.route("/items/<code>/versions/rollback", methods=["POST"])
@admin_required
def rollback_to(code: str):
    engine = get_engine()

    def action():
        number = _number(request.form.get("version"), "版本")
        with get_db().transaction() as session:
            return rollback(session, g.actor, code, number, at=engine.now(), reason=request.form.get("reason", "")).version
    number = _act(code, action)
    if number is not None:
        flash(f"已回退到第 {number} 版：新办件从此版本开始，办理中的办件不变")
    return redirect(url_for("admin.versions", code=code))


@bp.route("/items/<code>/versions/migrate", methods=["POST"])
@admin_required
def migrate(code: str):
    engine = get_engine()
    number = None

    def action():
        nonlocal number
        number = _number(request.form.get("version"), "目标版本")
        return run(engine, g.actor, code, number, reason=request.form.get("reason", ""))
    report = _act(code, action)
    if report is not None:
        flash(f"已迁移 {len(report.moved)} 件到第 {report.version} 版" + (f"：{'、'.join(report.moved)}" if report.moved else ""))
        for check in report.cases:
            if check.case not in report.moved:
                flash(f"{check.case} 未迁移：{'；'.join(check.reasons)}", "error")
    return redirect(url_for("admin.versions", code=code))
