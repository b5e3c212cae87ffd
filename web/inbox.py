"""The task inbox and the task page."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from sqlalchemy import select

from engine.commands import AddCosigner, ClaimTask, DelegateTask, HandBackTask, StartCase, CompleteTask, ReleaseTask, ReturnTask, SaveDraft, TakeBackTask, TransferTask
from engine.store.models import Case, Department
from engine.read.documents import document_list
from engine.errors import ApprovalError, BadInput
from engine.clock import CHINA_TZ, aware, china_date
from engine.read.queries import (FIRST_CONTACT_ITEM, INBOX_TABS, first_contacts, get_task, inbox, inbox_count,
                                 pending_extension_requests)
from engine.read.search import where_it_went
from engine.read.views import TaskView, last_step_words, readable_case, task_form, task_view

from .auth import login_required
from .documents import case_documents
from .context import get_db, get_engine

bp = Blueprint("inbox", __name__)


@bp.route("/")
@login_required
def index():
    """The inbox: 待办, 已办, 预警, 超期 — what runs out first at the top, searchable, paged."""
    engine = get_engine()
    tab = request.args.get("tab", "todo")
    search = request.args.get("q", "")[:64]
    today = china_date(engine.now())
    with get_db().reader() as session:
        page = inbox(session, g.actor, tab=tab, search=search, page=request.args.get("page", 1, type=int),
                     today=today, calendar=engine.calendar(session))
        counts = {name: page.total if name == tab and not search.strip() else inbox_count(session, g.actor, name, today=today)
                  for name in ("todo", "warning", "overdue")}
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
    subject = request.form.get("subject", "").strip()[:500]
    if not subject:
        raise BadInput("请写明咨询或申请的内容")
    case = get_engine().execute(StartCase(item=FIRST_CONTACT_ITEM, applicant=request.form.get("applicant", ""),
                                          data={"target_department": request.form.get("department", ""),
                                                "subject": subject}), g.actor)
    flash(f"已登记并转交：{case.number}")
    return redirect(url_for("inbox.index"))


def _view(session, task_id: int) -> TaskView:
    engine = get_engine()
    return task_view(session, g.actor, task_id, engine.definition, today=china_date(engine.now()),
                     calendar=engine.calendar(session))


def _render_task(view: TaskView, *, error: str | None = None, values=None, opinion=None):
    documents = case_documents(view.task["case"]) if view.stage == "acceptance" else []  # 收件凭证, 补正告知书
    return render_template("task.html", view=view, task=view.task, form=view.form, stage=view.stage, documents=documents,
                           application=view.application,
                           values=view.values if values is None else values,
                           opinion=view.opinion if opinion is None else opinion, error=error,
                           typed=request.form if error else {})


def _act(task_id: int, command, done, to: str, *, values=None, opinion=None):
    """Run a task operation; a refusal shows the task page again with the reason and what was typed
    (a step that is gone, or an operation not allowed, gets the error page with the reason).
    ``done``: the confirmation shown, or a function giving it once the operation is done."""
    try:
        get_engine().execute(command, g.actor)
    except ApprovalError as exc:
        with get_db().reader() as session:
            try:
                if exc.code == "not_allowed":
                    raise exc
                view = _view(session, task_id)
            except ApprovalError:  # the step is no longer this user's: the reason, and what they typed
                return _refused_elsewhere(session, task_id, exc)
        return _render_task(view, error=exc.message, values=values, opinion=opinion), \
            409 if exc.code == "conflict" else 400
    flash(done() if callable(done) else done)
    return redirect(url_for("inbox.task", task_id=task_id) if to == "task" else url_for("inbox.index"))


def _just_issued(session, case_id: int, decided: str) -> dict | None:
    """The document the step just completed issued (its number is in ``decided``), with its URL."""
    if "出具" not in decided:
        return None
    case = session.get(Case, case_id)
    for doc in reversed(document_list(session, case)):
        if doc["number"] and doc["number"] in decided:
            return {**doc, "url": url_for("documents.show", number=case.number, kind=doc["kind"], n=doc["n"])}
    return None


def _refused_elsewhere(session, task_id: int, exc: ApprovalError):
    """The error page for a step the user can no longer work on (claimed, transferred or finished
    by someone else meanwhile): the reason, a way to the case, and the text they typed, to copy."""
    labels = {"opinion": "意见", "reason": "理由", "note": "说明", "materials": "补正材料"}
    back = None
    try:
        back = {"url": url_for("cases.show", number=get_task(session, task_id).case.number), "label": "查看办件"}
        labels |= {f.id: f.label for f in task_form(session, task_id, get_engine().definition)
                   if f.type in ("string", "text")}
    except ApprovalError:
        pass
    typed = [(labels[name], value.strip()) for name, value in request.form.items()
             if name in labels and value.strip()]
    status = {"not_allowed": 403, "not_found": 404}.get(exc.code, 409)
    return render_template("error.html", message=exc.message, back=back, typed=typed), status


def _moved(task_id: int, verb: str):
    """The confirmation of a step handed on (退回, 转办, 委派): which step of which case, and where it
    is now, by name ("已转办：审查（…）。现在：审查（卫审查）")."""
    with get_db().reader() as session:
        try:
            row = get_task(session, task_id)
        except ApprovalError:  # gone: the operation's own refusal will say so
            return verb
        label, case_id = f"{row.name}（{row.case.number}）", row.case_id

    def confirmation() -> str:
        with get_db().reader() as session:
            now = where_it_went(session, case_id).replace("下一环节：", "现在：", 1)
        return f"{verb}：{label}。{now}"

    return confirmation


@bp.route("/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    with get_db().reader() as session:
        try:
            view = _view(session, task_id)
        except ApprovalError as exc:
            done = _finished_step(session, task_id)
            if exc.code != "not_found" or done is None:
                raise
            flash(done[1])  # an old link (a message, the browser's history) to a step done since
            return redirect(url_for("cases.show", number=done[0]))
    return _render_task(view)


def _finished_step(session, task_id: int) -> tuple[str, str] | None:
    """A step that is no longer open, of a case the user may read: (case number, what became of it)."""
    try:
        row = get_task(session, task_id)
        readable_case(session, g.actor, row.case.number)
    except ApprovalError:
        return None
    if row.state == "ready":
        return None
    if row.state == "completed":
        who = row.completed_by.display_name if row.completed_by is not None else "系统"
        when = aware(row.completed_at).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
        return row.case.number, f"“{row.name}”已由 {who} 于 {when} 办理完毕，下面是办件现在的情况"
    return row.case.number, f"“{row.name}”已不在待办中，下面是办件现在的情况"


@bp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@login_required
def complete(task_id: int):
    with get_db().reader() as session:
        form = task_form(session, task_id, get_engine().definition)
        done = get_task(session, task_id)
        label, case_id = f"{done.name}（{done.case.number}）", done.case_id
    values = {f.id: request.form.get(f.id, "") for f in form}
    opinion = request.form.get("opinion", "")

    def confirmation() -> str:  # what it decided and issued, and where the case went: in the right hands
        with get_db().reader() as session:
            decided = last_step_words(session, case_id)
            printable.append(_just_issued(session, case_id, decided))
            return f"已办理：{label}。{decided + '。' if decided else ''}{where_it_went(session, case_id)}"

    printable: list[dict | None] = []
    response = _act(task_id, CompleteTask(task=task_id, data=values, opinion=opinion,
                                          expected_version=request.form.get("task_version", type=int)),
                    confirmation, "index", values=values, opinion=opinion)
    if printable and printable[0] is not None:  # the paper the step issued, one click away: to print and hand over
        flash(f"{printable[0]['url']}\t打印{printable[0]['title']} {printable[0]['number']}", "printable")
    return response


@bp.route("/tasks/<int:task_id>/draft", methods=["POST"])
@login_required
def draft(task_id: int):
    """暂存 the form as filled in so far."""
    with get_db().reader() as session:
        view = _view(session, task_id)
    values = {f.id: request.form.get(f.id, "") for f in view.form if view.access.get(f.id) != "readonly"}
    opinion = request.form.get("opinion", "")
    return _act(task_id, SaveDraft(task=task_id, data=values, opinion=opinion,
                                   expected_version=request.form.get("task_version", type=int)),
                "已暂存", "task", values=values, opinion=opinion)


@bp.route("/tasks/<int:task_id>/return", methods=["POST"])
@login_required
def return_task(task_id: int):
    """退回 to an earlier step of the case."""
    return _act(task_id, ReturnTask(task=task_id, to=request.form.get("to", ""), reason=request.form.get("reason", ""),
                                    expected_version=request.form.get("task_version", type=int)), _moved(task_id, "已退回"), "index")


@bp.route("/tasks/<int:task_id>/take-back", methods=["POST"])
@login_required
def take_back(task_id: int):
    """拿回 a step one finished, while the next one is untouched."""
    return _act(task_id, TakeBackTask(task=task_id), "已拿回", "task")


@bp.route("/tasks/<int:task_id>/cosign", methods=["POST"])
@login_required
def cosign(task_id: int):
    """加签: ask a colleague to co-sign before the step can be completed."""
    return _act(task_id, AddCosigner(task=task_id, to=request.form.get("to", "").strip(),
                                     note=request.form.get("note", ""),
                                     expected_version=request.form.get("task_version", type=int)), "已加签", "task")


@bp.route("/tasks/<int:task_id>/delegate", methods=["POST"])
@login_required
def delegate(task_id: int):
    """委派 to a colleague, who hands it back with an opinion."""
    return _act(task_id, DelegateTask(task=task_id, to=request.form.get("to", "").strip(),
                                      note=request.form.get("note", ""),
                                      expected_version=request.form.get("task_version", type=int)), _moved(task_id, "已委派"), "index")


@bp.route("/tasks/<int:task_id>/hand-back", methods=["POST"])
@login_required
def hand_back(task_id: int):
    """The delegate hands the task back, the form and opinion becoming the owner's draft."""
    with get_db().reader() as session:
        view = _view(session, task_id)
    values = {f.id: request.form.get(f.id, "") for f in view.form if view.access.get(f.id) != "readonly"}
    opinion = request.form.get("opinion", "")
    return _act(task_id, HandBackTask(task=task_id, data=values, opinion=opinion), "已交回委派人", "index",
                values=values, opinion=opinion)


@bp.route("/tasks/<int:task_id>/transfer", methods=["POST"])
@login_required
def transfer(task_id: int):
    """转办 to a colleague with the same role in the same department."""
    return _act(task_id, TransferTask(task=task_id, to=request.form.get("to", ""),
                                      reason=request.form.get("reason", ""),
                                      expected_version=request.form.get("task_version", type=int)), _moved(task_id, "已转办"), "index")


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: int):
    return _act(task_id, ClaimTask(task=task_id, expected_version=request.form.get("task_version", type=int)),
                "已认领", "task")


@bp.route("/tasks/<int:task_id>/release", methods=["POST"])
@login_required
def release(task_id: int):
    return _act(task_id, ReleaseTask(task=task_id, expected_version=request.form.get("task_version", type=int)),
                "已释放", "index")
