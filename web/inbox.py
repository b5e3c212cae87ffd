"""The task inbox and the task page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from sqlalchemy import select

from engine.commands import AddCosigner, ClaimTask, DelegateTask, HandBackTask, StartCase, CompleteTask, ReleaseTask, ReturnTask, SaveDraft, TakeBackTask, TransferTask
from engine.store.models import Department, Task
from engine.read.access import authorize_task
from engine.errors import ApprovalError, BadInput, NotAllowed
from engine.clock import china_date
from engine.runtime.definitions import next_user_tasks
from engine.people import role_holders
from engine.read.queries import (FIRST_CONTACT_ITEM, INBOX_TABS, first_contacts, get_task, inbox, inbox_count,
                            pending_extension_requests, task_dict)

from .auth import login_required

bp = Blueprint("inbox", __name__)


@bp.route("/")
@login_required
def index():
    """The inbox: 待办, 已办, 预警, 超期 — what runs out first at the top, searchable, paged."""
    from . import get_db, get_engine

    engine = get_engine()
    tab = request.args.get("tab", "todo")
    search = request.args.get("q", "")[:64]
    today = china_date(engine.now())
    with get_db().reader() as session:
        page = inbox(session, g.actor, tab=tab, search=search, page=request.args.get("page", 1, type=int),
                     today=today, calendar=engine.calendar(session))
        counts = {name: inbox_count(session, g.actor, name, today=today) for name in ("todo", "warning", "overdue")}
        requests = pending_extension_requests(session, g.actor)
        contacts = first_contacts(session, g.actor) if g.actor.has_role("window_clerk") else []
        departments = ([(d.code, d.name) for d in session.scalars(select(Department).order_by(Department.id))
                        if d.id != g.actor.department_id] if g.actor.has_role("window_clerk") else [])
    return render_template("inbox.html", page=page, tabs=INBOX_TABS, counts=counts, search=search, today=today,
                           requests=requests, contacts=contacts, departments=departments)


@bp.route("/first-contact", methods=["POST"])
@login_required
def first_contact():
    """首问负责: register a request that is not this window's and forward it to the right department."""
    from . import get_engine

    if not g.actor.has_role("window_clerk"):
        raise NotAllowed("只有窗口人员可以登记首问件")
    subject = request.form.get("subject", "").strip()[:500]
    if not subject:
        raise BadInput("请写明咨询或申请的内容")
    case = get_engine().execute(StartCase(item=FIRST_CONTACT_ITEM, applicant=request.form.get("applicant", ""),
                                          data={"target_department": request.form.get("department", ""),
                                                "subject": subject}), g.actor)
    flash(f"已登记并转交：{case.number}")
    return redirect(url_for("inbox.index"))


def _task_for_user(session, task_id: int):
    task = get_task(session, task_id)
    authorize_task(g.actor, task)
    return task


def _task_info(session, row):
    """The task's BPMN definition; opinion-only tasks (补充意见, 加签) have no form of their own."""
    from dataclasses import replace

    from . import get_engine

    info = get_engine().definition(session, row.case.process_version).user_tasks[row.element_id]
    return info if row.kind == "bpmn" else replace(info, form=(), settings=replace(info.settings, stage=None))


def _next_steps(session, definition, row) -> list[dict]:
    """下一环节 and who would handle it: the department's holders of the role."""
    from engine.store.models import Department
    from engine.roles import role_name

    steps = []
    for info in next_user_tasks(definition, row.element_id):
        if info.settings.department_field:
            steps.append({"name": info.name, "who": f"登记时指定的承办单位的{role_name(info.role)}"})
            continue
        department = (session.scalar(select(Department).where(Department.code == info.department))
                      if info.department else row.case.item.department)
        people = [u.display_name for u in role_holders(session, info.role, department.id)]
        steps.append({"name": info.name, "who": f"{department.name} {role_name(info.role)}："
                                                f"{'、'.join(people) or '（暂无人员）'}"})
    return steps


@bp.route("/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    from . import get_db, get_engine

    with get_db().reader() as session:
        row = _task_for_user(session, task_id)
        if row.state != "ready":
            abort(404)
        info = _task_info(session, row)
        out = task_dict(row)
        acceptance = row.case.acceptance
        colleagues = [(u.username, u.display_name) for u in role_holders(session, row.role, row.department_id)
                      if u.id != g.actor.user_id]
        draft = row.draft or {}
        delegated = row.delegated_by_id is not None
        earlier = list(dict.fromkeys(
            (t.element_id, t.name) for t in session.scalars(
                select(Task).where(Task.case_id == row.case_id, Task.kind == "bpmn", Task.state == "completed",
                                   Task.element_id != row.element_id).order_by(Task.completed_at))))
        preview = _next_steps(session, get_engine().definition(session, row.case.process_version), row)
        guide_materials = (row.case.item.guide or {}).get("materials", [])
        checklist = row.case.materials or {}
    return render_template("task.html", task=out, form=info.form, values=draft.get("data", {}), error=None,
                           opinion=draft.get("opinion", ""), stage=info.settings.stage, acceptance=acceptance,
                           colleagues=colleagues, drafted=bool(draft), materials=guide_materials,
                           checklist=checklist, earlier=earlier, preview=preview, delegated=delegated)


@bp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@login_required
def complete(task_id: int):
    from . import get_db, get_engine

    with get_db().reader() as session:
        row = _task_for_user(session, task_id)
        info = _task_info(session, row)
        out = task_dict(row)
        acceptance = row.case.acceptance
    values = {f.id: request.form.get(f.id, "") for f in info.form}
    try:
        get_engine().execute(CompleteTask(task=task_id, data=values, opinion=request.form.get("opinion", ""),
                                          expected_version=request.form.get("task_version", type=int)), g.actor)
    except NotAllowed:
        raise
    except ApprovalError as exc:
        status = 409 if exc.code == "conflict" else 400
        return render_template("task.html", task=out, form=info.form, values=values, error=exc.message,
                               opinion=request.form.get("opinion", ""), stage=info.settings.stage,
                               acceptance=acceptance), status
    flash(f"已办理：{out['name']}（{out['case']}）")
    return redirect(url_for("inbox.index"))


@bp.route("/tasks/<int:task_id>/draft", methods=["POST"])
@login_required
def draft(task_id: int):
    """暂存 the form as filled in so far."""
    from . import get_db, get_engine

    with get_db().reader() as session:
        row = _task_for_user(session, task_id)
        info = _task_info(session, row)
    values = {f.id: request.form.get(f.id, "") for f in info.form}
    get_engine().execute(SaveDraft(task=task_id, data=values, opinion=request.form.get("opinion", ""),
                                   expected_version=request.form.get("task_version", type=int)), g.actor)
    flash("已暂存")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.route("/tasks/<int:task_id>/return", methods=["POST"])
@login_required
def return_task(task_id: int):
    """退回 to an earlier step of the case."""
    from . import get_engine

    get_engine().execute(ReturnTask(task=task_id, to=request.form.get("to", ""), reason=request.form.get("reason", ""),
                                    expected_version=request.form.get("task_version", type=int)), g.actor)
    flash("已退回")
    return redirect(url_for("inbox.index"))


@bp.route("/tasks/<int:task_id>/take-back", methods=["POST"])
@login_required
def take_back(task_id: int):
    """拿回 a step one finished, while the next one is untouched."""
    from . import get_engine

    get_engine().execute(TakeBackTask(task=task_id), g.actor)
    flash("已拿回")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.route("/tasks/<int:task_id>/cosign", methods=["POST"])
@login_required
def cosign(task_id: int):
    """加签: ask a colleague to co-sign before the step can be completed."""
    from . import get_engine

    get_engine().execute(AddCosigner(task=task_id, to=request.form.get("to", "").strip(),
                                     note=request.form.get("note", ""),
                                     expected_version=request.form.get("task_version", type=int)), g.actor)
    flash("已加签")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.route("/tasks/<int:task_id>/delegate", methods=["POST"])
@login_required
def delegate(task_id: int):
    """委派 to a colleague, who hands it back with an opinion."""
    from . import get_engine

    get_engine().execute(DelegateTask(task=task_id, to=request.form.get("to", "").strip(),
                                      note=request.form.get("note", ""),
                                      expected_version=request.form.get("task_version", type=int)), g.actor)
    flash("已委派")
    return redirect(url_for("inbox.index"))


@bp.route("/tasks/<int:task_id>/hand-back", methods=["POST"])
@login_required
def hand_back(task_id: int):
    """The delegate hands the task back, the form and opinion becoming the owner's draft."""
    from . import get_db, get_engine

    with get_db().reader() as session:
        info = _task_info(session, _task_for_user(session, task_id))
    values = {f.id: request.form.get(f.id, "") for f in info.form}
    get_engine().execute(HandBackTask(task=task_id, data=values, opinion=request.form.get("opinion", "")), g.actor)
    flash("已交回委派人")
    return redirect(url_for("inbox.index"))


@bp.route("/tasks/<int:task_id>/transfer", methods=["POST"])
@login_required
def transfer(task_id: int):
    """转办 to a colleague with the same role in the same department."""
    from . import get_engine

    get_engine().execute(TransferTask(task=task_id, to=request.form.get("to", ""),
                                      reason=request.form.get("reason", ""),
                                      expected_version=request.form.get("task_version", type=int)), g.actor)
    flash("已转办")
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
