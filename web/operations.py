"""Administrators operating running cases (运行管理): the 管理操作 panel's forms on the case page,
the incident list (failed timer firings: retry or mark handled) and suspending a whole item. The
routes parse the form and run one command (or ``engine.operations`` for an item); the rules are
in the engine."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.commands import (CorrectCaseData, ReassignTask, ResolveDeadline, ResumeCase, RetryDeadline, RewindCase,
                             SkipTask, SuspendCase, TerminateCase, VoidCase)
from engine.people import display_names
from engine.errors import BadInput
from engine.operations import resume_item, suspend_item
from engine.read.incidents import incidents as incident_list
from engine.read.operations import items_on_hold

from .admin import admin_required
from .context import get_db, get_engine

bp = Blueprint("operations", __name__, url_prefix="/admin")


def _reason() -> str:
    return request.form.get("reason", "")


def _case(number: str, command, done: str):
    get_engine().execute(command, g.actor)
    flash(done)
    return redirect(url_for("cases.show", number=number, _anchor="admin-ops"))


@bp.route("/cases/<number>/suspend", methods=["POST"])
@admin_required
def suspend(number: str):
    return _case(number, SuspendCase(case=number, reason=_reason()), "已挂起办件")


@bp.route("/cases/<number>/resume", methods=["POST"])
@admin_required
def resume(number: str):
    return _case(number, ResumeCase(case=number, reason=_reason()), "已恢复办件，期限已按挂起时间顺延")


@bp.route("/cases/<number>/end", methods=["POST"])
@admin_required
def end(number: str):
    how = request.form.get("how")
    if how not in ("terminate", "void"):
        raise BadInput("请选择终止或作废")
    command = (TerminateCase if how == "terminate" else VoidCase)(case=number, reason=_reason())
    return _case(number, command, "已终止办件" if how == "terminate" else "已作废办件")


@bp.route("/cases/<number>/rewind", methods=["POST"])
@admin_required
def rewind(number: str):
    return _case(number, RewindCase(case=number, to=request.form.get("to", ""), reason=_reason()), "已回退到所选环节")


@bp.route("/cases/<number>/reassign", methods=["POST"])
@admin_required
def reassign(number: str):
    """改派 an open step out of its holder's hands (someone away, or a post changed)."""
    task = request.form.get("task", type=int)
    if task is None:
        raise BadInput("请选择要改派的环节")
    to = request.form.get("to", "").strip()
    with get_db().reader() as session:
        who = display_names(session, {to}).get(to, to) if to else "本部门共享待办"
    return _case(number, ReassignTask(task=task, holder=request.form.get("holder", ""), to=to, reason=_reason()),
                 f"已改派给 {who}")


@bp.route("/cases/<number>/skip", methods=["POST"])
@admin_required
def skip(number: str):
    task = request.form.get("task", type=int)
    if task is None:
        raise BadInput("请选择要跳过的环节")
    data = {}
    if request.form.get("field"):
        data[request.form["field"]] = request.form.get("value", "")
    return _case(number, SkipTask(task=task, reason=_reason(), data=data), "已跳过环节")


@bp.route("/cases/<number>/correct", methods=["POST"])
@admin_required
def correct(number: str):
    application = {k[len("app."):]: v for k, v in request.form.items() if k.startswith("app.")}
    data = {}
    if request.form.get("field"):
        data[request.form["field"]] = request.form.get("value", "")
    return _case(number, CorrectCaseData(case=number, application=application, data=data, reason=_reason()),
                 "已更正办件数据")


@bp.route("/incidents")
@admin_required
def incidents():
    """运行管理: failed timer firings to retry or close, and which items take new cases."""
    with get_db().reader() as session:
        rows = incident_list(session)
        items = items_on_hold(session)
    return render_template("incidents.html", incidents=rows, items=items)


@bp.route("/incidents/<int:deadline>/retry", methods=["POST"])
@admin_required
def retry(deadline: int):
    get_engine().execute(RetryDeadline(deadline=deadline, reason=_reason()), g.actor)
    flash("已重试，定时已触发")
    return redirect(url_for("operations.incidents"))


@bp.route("/incidents/<int:deadline>/resolve", methods=["POST"])
@admin_required
def resolve(deadline: int):
    get_engine().execute(ResolveDeadline(deadline=deadline, reason=_reason()), g.actor)
    flash("已标记为已处理")
    return redirect(url_for("operations.incidents"))


@bp.route("/items/<code>/hold", methods=["POST"])
@admin_required
def item_hold(code: str):
    """暂停受理 / 恢复受理 an item: the act, then each running case in its own transaction."""
    resume = request.form.get("resume") == "1"
    run = (resume_item if resume else suspend_item)(get_engine(), g.actor, code, _reason())
    verb = "恢复" if resume else "挂起"
    flash(f"已{'恢复' if resume else '暂停'}受理；{verb}办件 {len(run.done)} 件"
          + (f"，另有 {len(run.skipped)} 件{'单独挂起，仍挂起' if resume else '已单独挂起'}" if run.skipped else ""))
    for failure in run.failed:
        flash(f"办件 {failure['case']} 未能{verb}：{failure['error']}")
    return redirect(url_for("operations.incidents", _anchor="items"))
