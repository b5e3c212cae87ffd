"""The case view (tasks, clocks, notices, history) and the time-limit operations on a case."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from markupsafe import Markup
from sqlalchemy import select

from engine.commands import (COMMANDS, CopyCase, DecideExtension, ExtendDeadline, ReceiveDeferredMaterial,
                             ReceiveSupplement, RecordMaterials,
                             RequestExtension, RequestSupplement, ResumeClocks, SuspendClocks, UrgeTask)
from engine.errors import ApprovalError, BadInput
from web.diagram import render_cached, task_states
from engine.store.models import ProcessVersion, Task
from engine.timelimits.policy import SUSPENSION_KINDS
from engine.read.application import application_view
from engine.read.documents import document_list
from engine.read.operations import admin_panel, case_status
from engine.people import display_names
from engine.supervision.board import card_reason
from engine.supervision.views import case_supervision
from engine.read.views import case_operations, copy_recipients, history_view, readable_case
from engine.clock import china_date
from engine.read.queries import case_clocks, case_dict, case_end_dates, case_notices
from engine.read.search import STATUSES, CaseSearch, parse_search, search_cases, searchable_items

from .auth import login_required
from .context import back_to_page, get_db, get_engine

bp = Blueprint("cases", __name__, url_prefix="/cases")

COMMAND_NAMES = {name: command.label for name, command in COMMANDS.items()}


@bp.route("/")
@login_required
def search():
    """办件查询: by part of the number or the applicant's name, item, day received and status."""
    error, page, search = None, None, CaseSearch()
    with get_db().reader() as session:
        items = searchable_items(session)
        try:
            search = parse_search(request.args, {code for code, _ in items})
        except ApprovalError as exc:
            error = exc.message
        else:
            page = search_cases(session, g.actor, search)
    return render_template("search.html", page=page, search=search, typed=request.args, items=items,
                           statuses=STATUSES, error=error), (400 if error else 200)


@bp.route("/<number>/print")
@login_required
def printable(number: str):
    """The old printed sheet's address: the case's 文书 (web/documents.py) replaced it."""
    with get_db().reader() as session:
        case = readable_case(session, g.actor, number)
    return redirect(url_for("cases.show", number=case.number, _anchor="documents"))


def _end_dates(session, case):
    engine = get_engine()
    return case_end_dates(session, case, today=china_date(engine.now()), calendar=engine.calendar(session))


@bp.route("/<number>")
@login_required
def show(number: str):
    with get_db().reader() as session:
        case = readable_case(session, g.actor, number)
        out = case_dict(session, case)
        tasks = session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.id)).all()
        diagram = Markup(render_cached(
            case.process_version.content_hash,
            lambda: session.scalar(select(ProcessVersion.bpmn_xml).where(ProcessVersion.id == case.process_version_id)),
            task_states(tasks), title=f"{case.item.name} 流程图"))
        clocks = case_clocks(session, case)
        notices = case_notices(session, case)
        definition = get_engine().definition(session, case.process_version)
        history = history_view(session, case, definition)
        carded = card_reason(session, case)  # what the card in the title is about
        offered = case_operations(session, g.actor, case, definition)
        panel = admin_panel(session, g.actor, case, definition)  # 管理操作, administrators only
        status = case_status(session, case)  # 挂起 / 终止 / 作废: who, when, why
        recipients = copy_recipients(session, g.actor, case) if "copy_case" in offered["operations"] else []
        application = application_view(session, case, definition)
        documents = document_list(session, case)
        ends = _end_dates(session, case)
        supervision = case_supervision(session, g.actor, case)  # 监察事项, 效能告诫: supervisors and heads
    return render_template("case.html", supervision=supervision, case=out, application=application, documents=documents, clocks=clocks, notices=notices, history=history, diagram=diagram,
                           ends=ends, work=offered["work"],
                           command_names=COMMAND_NAMES, suspension_kinds=SUSPENSION_KINDS,
                           ops=offered["operations"], urgeable=offered["urge"], recipients=recipients,
                           panel=panel, status=status, carded=carded)


def _run(number: str, command, done):
    """Run a case operation and go back where it was asked from (the task page or the case page).
    ``done``: the confirmation, or a function of the command's value giving it."""
    value = get_engine().execute(command, g.actor)
    flash(done(value) if callable(done) else done)
    case_page = url_for("cases.show", number=number)
    back = back_to_page(case_page)
    if back.startswith("/tasks/"):  # from a task page: stay at the step
        return redirect(back)
    return redirect(case_page)


@bp.route("/<number>/tasks/<int:task_id>/urge", methods=["POST"])
@login_required
def urge(number: str, task_id: int):
    """催办, by a 负责人 or a supervisor."""
    return _run(number, UrgeTask(task=task_id, note=request.form.get("note", "")), "已催办")


@bp.route("/<number>/extension-request", methods=["POST"])
@login_required
def request_extension(number: str):
    return _run(number, RequestExtension(case=number, reason=request.form.get("reason", ""),
                                         days=request.form.get("days", type=int)), "已提交延期申请，等待负责人审批")


@bp.route("/<number>/extension-decision", methods=["POST"])
@login_required
def decide_extension(number: str):
    approve = request.form.get("approve") == "1"
    get_engine().execute(DecideExtension(case=number, approve=approve, note=request.form.get("note", "")), g.actor)
    flash("已批准延期" if approve else "已退回延期申请")
    return redirect(back_to_page(url_for("cases.show", number=number)))


@bp.route("/<number>/materials", methods=["POST"])
@login_required
def materials(number: str):
    """The window's materials checklist (fields n0/m0, n1/m1 …: name and status)."""
    statuses, i = [], 0
    while f"n{i}" in request.form and i < 100:
        if request.form.get(f"m{i}"):  # an unmarked row is reported as not yet checked
            statuses.append((request.form[f"n{i}"], request.form[f"m{i}"]))
        i += 1
    return _run(number, RecordMaterials(case=number, statuses=tuple(statuses)), "已保存材料核对结果")


@bp.route("/<number>/copy", methods=["POST"])
@login_required
def copy(number: str):
    """抄送 to colleagues picked by name (several ``to`` values; a typed list of user names works too)."""
    names = tuple(n for value in request.form.getlist("to")
                  for n in value.replace("，", ",").replace(",", " ").split() if n)
    return _run(number, CopyCase(case=number, to=names, note=request.form.get("note", "")), _copied)


def _copied(notified: list[str]) -> str:
    """已抄送给 whom, by name."""
    with get_db().reader() as session:
        shown = display_names(session, notified)
    return "已抄送给 " + "、".join(shown.get(n, n) for n in notified) if notified else "已抄送"


@bp.route("/<number>/supplement", methods=["POST"])
@login_required
def supplement(number: str):
    materials = tuple(line.strip() for line in request.form.get("materials", "").splitlines() if line.strip())
    return _run(number, RequestSupplement(case=number, materials=materials, note=request.form.get("note", "")),
                "已发出一次性告知")


@bp.route("/<number>/deferred", methods=["POST"])
@login_required
def receive_deferred(number: str):
    """容缺材料 brought in (登记收到)."""
    material = request.form.get("material", "")
    return _run(number, ReceiveDeferredMaterial(case=number, material=material, note=request.form.get("note", "")),
                f"已登记收到容缺材料：{material}")


@bp.route("/<number>/receive", methods=["POST"])
@login_required
def receive(number: str):
    return _run(number, ReceiveSupplement(case=number, note=request.form.get("note", "")), "已登记收到补正材料")


@bp.route("/<number>/suspend", methods=["POST"])
@login_required
def suspend(number: str):
    days = request.form.get("days", type=int)
    if days is None:
        raise BadInput("请填写特别程序所需的工作日数")
    return _run(number, SuspendClocks(case=number, kind=request.form.get("kind", ""), days=days,
                                      reason=request.form.get("reason", "")), "已中止计时")


@bp.route("/<number>/resume", methods=["POST"])
@login_required
def resume(number: str):
    return _run(number, ResumeClocks(case=number), "已恢复计时")


@bp.route("/<number>/extend", methods=["POST"])
@login_required
def extend(number: str):
    return _run(number, ExtendDeadline(case=number, reason=request.form.get("reason", ""),
                                       days=request.form.get("days", type=int)), "已延期")
