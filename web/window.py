"""受理登记 at the window: pick the item, enter the applicant, the application and the materials
with their scans, then accept, notify or refuse on the spot (engine/window.py); and the scans'
download for those who may read the case."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, send_file, url_for
from sqlalchemy import select

from engine.errors import ApprovalError, NotAllowed, NotFound
from engine.files import FileStore
from engine.intake import APPLICANT_FIELDS, ApplicationInvalid
from engine.read.queries import FIRST_CONTACT_ITEM, items
from engine.read.views import readable_case
from engine.store.models import Attachment
from engine.window import ACTIONS, Registration, Upload, attach, register, registration_form

from .auth import login_required
from .context import back_to_page, get_db, get_engine

bp = Blueprint("window", __name__)

#: a registration with its scans: up to 30 files of up to 10 MB (engine/files.py), as one request
UPLOAD_REQUEST_BYTES = 64 * 1024 * 1024


def get_files() -> FileStore:
    return current_app.extensions["approvals.files"]


def uploads_allowed(view):
    """Mark a view that takes scanned files: its requests may be larger than a form's
    (web/hygiene.py reads the mark before anything reads the body)."""
    view.request_bytes = UPLOAD_REQUEST_BYTES
    return view


def _window_clerk():
    if not g.actor.has_role("window_clerk"):
        raise NotAllowed("只有窗口受理员可以登记申请")


@bp.route("/register")
@login_required
def choose():
    """The catalogue to register from: by department (the clerk's own first), searchable by name or code."""
    _window_clerk()
    query = request.args.get("q", "").strip()[:40]
    with get_db().reader() as session:
        rows = [i for i in items(session) if i.code != FIRST_CONTACT_ITEM]
        if query:
            rows = [i for i in rows if query.lower() in i.code.lower() or query in i.name]
        groups: dict[str, list] = {}
        own = []
        for i in rows:
            entry = {"code": i.code, "name": i.name, "kind": i.kind, "own": i.department_id == g.actor.department_id,
                     "promised_days": (i.time_policy or {}).get("promised_days"),
                     "held": (i.hold or {}).get("reason")}  # 暂停受理 (engine/operations.py): no registration
            (own if i.department_id == g.actor.department_id else groups.setdefault(i.department.name, [])).append(entry)
    ordered = ([(g.user.department.name, own)] if own else []) + sorted(groups.items())
    return render_template("register_choose.html", groups=ordered, q=query)


def _form(code: str):
    with get_db().reader() as session:
        return registration_form(session, g.actor, code, get_engine().definition)


def _posted(form) -> Registration:
    data = request.form
    kind = data.get("applicant_kind", "")
    applicant = {"kind": kind or None}
    for key, _ in APPLICANT_FIELDS.get(kind, ()):  # name and phone are asked in both columns
        applicant[key] = data.get(f"applicant_{key}_{kind}", data.get(f"applicant_{key}", ""))
    application = {f["name"]: data.get(f"app_{f['name']}", "") for f in form.fields}
    statuses = tuple((m["name"], data[f"material_{i}"]) for i, m in enumerate(form.materials)
                     if data.get(f"material_{i}"))
    uploads = []
    for i, m in enumerate(form.materials):
        for file in request.files.getlist(f"file_{i}"):
            if file and file.filename:
                uploads.append(Upload(m["name"], file.filename, file.read()))
    acceptance_values = {f.id: data.get(f"acc_{f.id}", "") for f in form.acceptance_form}
    extra = tuple(line for line in data.get("extra_missing", "").splitlines() if line.strip())
    return Registration(item=form.item["code"], applicant=applicant, application=application, statuses=statuses,
                        action=data.get("action", ""), uploads=tuple(uploads), acceptance_values=acceptance_values,
                        opinion=data.get("opinion", ""), extra_missing=extra, note=data.get("note", ""))


@bp.route("/register/<code>", methods=["GET", "POST"])
@login_required
@uploads_allowed
def form(code: str):
    _window_clerk()
    form = _form(code)
    if request.method == "GET":
        return render_template("register.html", form=form, values={}, problems={}, error=None, actions=ACTIONS)
    registration = _posted(form)
    try:
        result = register(get_engine(), g.actor, registration, get_files())
    except ApprovalError as exc:
        if exc.code == "not_allowed":
            raise
        problems = exc.problems if isinstance(exc, ApplicationInvalid) else {}
        return render_template("register.html", form=form, values=request.form, problems=problems,
                               error=exc.message, actions=ACTIONS), 400
    if result.refused:
        flash(f"{result.message}。但未能完成“{ACTIONS[result.action]}”：{result.refused}。请在受理环节继续办理。")
        target = url_for("inbox.task", task_id=result.next_task) if result.next_task \
            else url_for("cases.show", number=result.case)
        return redirect(target)
    if result.next_task:  # 即办件: the same clerk concludes it at the window
        flash(f"{result.message}。请继续办理下一环节，当场办结。")
        return redirect(url_for("inbox.task", task_id=result.next_task))
    flash(f"{result.message}。可在办件页打印文书。")
    return redirect(url_for("cases.show", number=result.case))


@bp.route("/cases/<number>/files", methods=["POST"])
@login_required
@uploads_allowed
def upload(number: str):
    """Scans received after registration (补正材料): each kept, then attached by its own command."""
    material = request.form.get("material", "")
    files = [f for f in request.files.getlist("files") if f and f.filename]
    try:
        count = attach(get_engine(), g.actor, number, material,
                       [Upload(material, f.filename, f.read()) for f in files], get_files())
    except ApprovalError as exc:
        if exc.code == "not_allowed":
            raise
        flash(f"未上传：{exc.message}")
    else:
        flash(f"已上传 {count} 个扫描件：{material}")
    return redirect(back_to_page(url_for("cases.show", number=number)))


@bp.route("/cases/<number>/files/<int:file_id>")
@login_required
def download(number: str, file_id: int):
    """A scanned material, only as a download and only to those who may read its case."""
    with get_db().reader() as session:
        case = readable_case(session, g.actor, number)
        row = session.scalar(select(Attachment).where(Attachment.id == file_id, Attachment.case_id == case.id))
        if row is None:
            raise NotFound("该扫描件不存在")
        filename, content_type, sha = row.filename, row.content_type, row.sha256
    response = send_file(get_files().path_of(sha), mimetype=content_type, as_attachment=True,
                         download_name=filename, max_age=0)
    response.headers["Content-Security-Policy"] = "sandbox"  # never run as a page, whatever a browser guesses
    response.headers["Cache-Control"] = "private, no-store"
    return response
