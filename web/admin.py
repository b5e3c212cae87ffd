"""Administration: the working-day calendar."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.errors import ApprovalError, NotAllowed
from engine.read.queries import calendar_years
from engine.timelimits.schedule import import_schedule, parse_schedule

from .auth import login_required
from .context import get_db, get_engine

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not g.actor.has_role("admin"):
            raise NotAllowed("只有管理员可以维护工作日历")
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
            result = import_schedule(get_engine(), parse_schedule(text), g.actor.name)
        except ApprovalError as exc:
            error = exc.message
        else:
            flash(f"已导入 {result['year']} 年节假日安排；{len(result['moved'])} 项期限随之调整")
            for f in result["failed"]:
                flash(f"办件 {f['case']} 的期限未能重算：{f['error']}（其余办件已重算）")
    with get_db().reader() as session:
        years = calendar_years(session)
    status = 400 if error else 200
    return render_template("calendar.html", years=years, error=error, result=result,
                           schedule=request.form.get("schedule", "")), status


@bp.route("/")
@admin_required
def index():
    return redirect(url_for("admin.calendar"))
