"""组织机构: the department tree, users (add, edit, deactivate with their tasks reassigned,
reactivate, reset a password) for administrators, and AB岗 for a department's head (/team).
The rules are the commands' (engine/commands/organisation.py); these routes parse, call and render."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from engine.commands.organisation import (LEVEL_NAMES, AddDepartment, AddUser, DeactivateDepartment, EditUser,
                                          MoveDepartment, ReactivateDepartment, ReactivateUser, RenameDepartment,
                                          ResetApplicantPassword, ResetPassword, SetBackup)
from engine.errors import ApprovalError, BadInput, NotAllowed
from engine.online import find_accounts
from engine.organisation import (deactivate_user, department_choices, department_tree, list_users, role_choices,
                                 team_view, user_view)
from engine.store.models import Department, User

from .admin import admin_required
from .auth import login_required
from .context import get_db, get_engine

bp = Blueprint("org", __name__)


def _run(command):
    return get_engine().execute(command, g.actor)


# ---------------------------------------------------------------- departments

@bp.route("/admin/org/", methods=["GET", "POST"])
@admin_required
def departments():
    """The tree, and a department added under a parent."""
    error = None
    form = request.form
    if request.method == "POST":
        try:
            row = _run(AddDepartment(code=form.get("code", ""), name=form.get("name", ""), parent=form.get("parent", ""),
                                     level=form.get("level", ""), official_name=form.get("official_name", "")))
        except ApprovalError as exc:
            error = exc.message
        else:
            flash(f"已新增部门“{row.name}”")
            return redirect(url_for("org.departments"))
    with get_db().reader() as session:
        tree = department_tree(session)
        parents = department_choices(session)
    return render_template("org_departments.html", tree=tree, parents=parents, levels=LEVEL_NAMES, error=error,
                           form=form), 400 if error else 200


@bp.route("/admin/org/departments/<code>", methods=["GET", "POST"])
@admin_required
def department(code: str):
    """One department: rename, move under another parent, deactivate (or what blocks it), reactivate."""
    error = None
    if request.method == "POST":
        form, act = request.form, request.form.get("act")
        commands = {
            "rename": lambda: RenameDepartment(code=code, name=form.get("name", ""),
                                               official_name=form.get("official_name", "")),
            "move": lambda: MoveDepartment(code=code, parent=form.get("parent", "")),
            "deactivate": lambda: DeactivateDepartment(code=code),
            "reactivate": lambda: ReactivateDepartment(code=code),
        }
        if act not in commands:
            abort(400)
        try:
            _run(commands[act]())
        except ApprovalError as exc:
            error = exc.message
        else:
            flash({"rename": "已更名", "move": "已调整上级部门", "deactivate": "已停用该部门",
                   "reactivate": "已启用该部门"}[act])
            return redirect(url_for("org.department", code=code))
    with get_db().reader() as session:
        node = next((d for d in department_tree(session) if d["code"] == code), None)
        if node is None:
            abort(404)
        parents = [(c, n) for c, n in department_choices(session) if c != code]
        staff = list_users(session, department=code)["users"]
    return render_template("org_department.html", d=node, parents=parents, staff=staff, error=error), \
        400 if error else 200


# ---------------------------------------------------------------- users

def _filters() -> dict:
    args = request.args
    try:
        page = int(args.get("page", "1"))
    except ValueError:
        page = 1
    return {"text": args.get("q", ""), "department": args.get("department", ""), "role": args.get("role", ""),
            "active": args.get("active", ""), "page": page}


@bp.route("/admin/org/users", methods=["GET", "POST"])
@admin_required
def users():
    """The list with search and filters, and a user added (with a temporary password shown once)."""
    error = None
    form = request.form
    if request.method == "POST":
        try:
            user, temporary = _run(AddUser(username=form.get("username", ""), display_name=form.get("display_name", ""),
                                           department=form.get("department", ""), roles=tuple(form.getlist("roles")),
                                           temporary_password=True))
        except ApprovalError as exc:
            error = exc.message
        else:
            return _user_page(user.username, temporary=temporary, created=True)
    filters = _filters()
    with get_db().reader() as session:
        found = list_users(session, **filters)
        choices = department_choices(session, active_only=False)
        active_choices = department_choices(session)
    return render_template("org_users.html", found=found, filters=filters, departments=choices,
                           active_departments=active_choices, roles=role_choices(), error=error, form=form), \
        400 if error else 200


def _user_page(username: str, *, error: str | None = None, temporary: str | None = None, created: bool = False,
               status: int = 200):
    with get_db().reader() as session:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            abort(404)
        view = user_view(session, username)
        choices = department_choices(session)
    return render_template("org_user.html", u=view, departments=choices, roles=role_choices(), error=error,
                           temporary=temporary, created=created), status


@bp.route("/admin/org/users/<username>", methods=["GET", "POST"])
@admin_required
def user(username: str):
    if request.method == "GET":
        return _user_page(username)
    form, act = request.form, request.form.get("act")
    try:
        if act == "edit":
            _run(EditUser(username=username, display_name=form.get("display_name", ""),
                          department=form.get("department", ""), roles=tuple(form.getlist("roles"))))
            flash("已保存人员信息")
        elif act == "deactivate":
            reassign = {}
            for key, value in form.items():
                if key.startswith("task-") and key[5:].isdigit():
                    reassign[int(key[5:])] = "" if value == "-" else value
                    if not value:
                        raise BadInput("请为每件待办选择改派对象（或退回共享待办）")
            result = deactivate_user(get_engine(), g.actor, username, reassign, reason=form.get("reason", ""))
            flash("已停用该人员" + (f"，{len(result['reassigned'])} 件待办已改派（记入各办件的办理记录）"
                                 if result["reassigned"] else ""))
        elif act == "reactivate":
            _run(ReactivateUser(username=username))
            flash("已启用该人员")
        elif act == "reset":
            if not form.get("confirm"):  # the old password stops working at once: asked first
                raise BadInput("请勾选“确认让现有密码失效”后再重置密码")
            temporary = _run(ResetPassword(username=username))
            return _user_page(username, temporary=temporary)
        else:
            abort(400)
    except ApprovalError as exc:
        return _user_page(username, error=exc.message, status=400)
    return redirect(url_for("org.user", username=username))


# ---------------------------------------------------------------- applicants' online accounts

@bp.route("/admin/org/applicants", methods=["GET", "POST"])
@admin_required
def applicants():
    """办事人账号: find an applicant's online-hall account by 证件号码 or name, and reset its password
    once they have shown their ID at the window (the temporary password shown once)."""
    query = (request.values.get("q") or "").strip()[:40]
    temporary = error = None
    if request.method == "POST":
        try:
            if not request.form.get("checked"):
                raise BadInput("请先当面核验办事人的证件，勾选“已核验证件”后再重置")
            temporary = (request.form.get("login", ""), _run(ResetApplicantPassword(login=request.form.get("login", ""))))
        except ApprovalError as exc:
            error = exc.message
    try:
        with get_db().reader() as session:
            found = find_accounts(session, query)
    except ApprovalError as exc:
        found, error = [], exc.message
    return render_template("org_applicants.html", found=found, q=query, temporary=temporary,
                           error=error), 400 if error else 200


# ---------------------------------------------------------------- AB岗 for a department's head

@bp.route("/team", methods=["GET", "POST"])
@login_required
def team():
    """A head sets the backup (B岗) and away of each of their staff; an administrator, of any department."""
    admin = g.actor.has_role("admin")
    if not admin and not g.actor.has_role("head"):
        raise NotAllowed("只有部门负责人或管理员可以设置本部门的 AB 岗")
    with get_db().reader() as session:
        own = session.get(Department, g.user.department_id).code
    code = request.values.get("department", own) if admin else own
    error, failed = None, None
    if request.method == "POST":
        staff = request.form.get("username", "")
        try:
            _run(SetBackup(username=staff, backup=request.form.get("backup", ""),
                           away=request.form.get("away") == "on"))
        except ApprovalError as exc:
            error, failed = exc.message, staff
        else:
            flash("已保存 AB 岗设置")
            return redirect(url_for("org.team", department=code) if admin else url_for("org.team"))
    with get_db().reader() as session:
        view = team_view(session, code)
        choices = department_choices(session) if admin else []
    return render_template("team.html", team=view, departments=choices, admin=admin, error=error, failed=failed), \
        400 if error else 200
