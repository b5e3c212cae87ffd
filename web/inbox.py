"""The task inbox and the task page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from engine.commands import ClaimTask, CompleteTask, ReleaseTask
from engine.commands.base import authorize_task
from engine.errors import ApprovalError, NotAllowed
from engine.queries import get_task, ready_tasks, task_dict

from .auth import login_required

bp = Blueprint("inbox", __name__)


@bp.route("/")
@login_required
def index():
    from . import get_db

    with get_db().reader() as session:
        rows = [task_dict(t) for t in ready_tasks(session, g.actor)]
    return render_template("inbox.html", tasks=rows)


def _task_for_user(session, task_id: int):
    task = get_task(session, task_id)
    authorize_task(g.actor, task)
    return task


@bp.route("/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    from . import get_db, get_engine

    with get_db().reader() as session:
        row = _task_for_user(session, task_id)
        if row.state != "ready":
            abort(404)
        info = get_engine().definition(session, row.case.process_version).user_tasks[row.element_id]
        out = task_dict(row)
    return render_template("task.html", task=out, form=info.form, values={}, error=None)


@bp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@login_required
def complete(task_id: int):
    from . import get_db, get_engine

    with get_db().reader() as session:
        row = _task_for_user(session, task_id)
        info = get_engine().definition(session, row.case.process_version).user_tasks[row.element_id]
        out = task_dict(row)
    values = {f.id: request.form.get(f.id, "") for f in info.form}
    try:
        get_engine().execute(CompleteTask(task=task_id, data=values, opinion=request.form.get("opinion", ""),
                                          expected_version=request.form.get("case_version", type=int)), g.actor)
    except NotAllowed:
        raise
    except ApprovalError as exc:
        status = 409 if exc.code == "conflict" else 400
        return render_template("task.html", task=out, form=info.form, values=values, error=exc.message,
                               opinion=request.form.get("opinion", "")), status
    flash(f"已办理：{out['name']}（{out['case']}）")
    return redirect(url_for("inbox.index"))


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: int):
    from . import get_engine

    get_engine().execute(ClaimTask(task=task_id), g.actor)
    flash("已认领")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.route("/tasks/<int:task_id>/release", methods=["POST"])
@login_required
def release(task_id: int):
    from . import get_engine

    get_engine().execute(ReleaseTask(task=task_id), g.actor)
    flash("已释放")
    return redirect(url_for("inbox.index"))
