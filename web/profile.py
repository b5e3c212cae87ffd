"""The user's own settings: the named backup (AB岗) and being away, the password, and the lists of
the user's 首问 registrations and copies (抄送) received and sent."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from engine.errors import ApprovalError
from engine.store.models import User, UserRole
from engine.commands.organisation import SetBackup
from engine.people import MIN_PASSWORD, change_password
from engine.read.queries import copies_received, copies_sent, first_contacts

from .auth import login_required
from .context import get_db, get_engine

bp = Blueprint("profile", __name__, url_prefix="/me")


@bp.route("/", methods=["GET", "POST"])
@login_required
def settings():
    error = None
    if request.method == "POST":
        try:  # the same command as a head's AB岗 page: recorded in administration_acts
            get_engine().execute(SetBackup(username=g.user.username, backup=request.form.get("backup", ""),
                                           away=request.form.get("away") == "on"), g.actor)
        except ApprovalError as exc:
            error = exc.message
        else:
            flash("已保存")
            return redirect(url_for("profile.settings"))
    return _page(error=error)


@bp.route("/password", methods=["POST"])
@login_required
def password():
    """Change one's own password: the current one, the new one twice (engine.people.change_password)."""
    try:
        with get_db().transaction() as session:
            change_password(session, g.user.username, request.form.get("current", ""), request.form.get("new", ""),
                            request.form.get("repeat", ""), at=get_engine().now())
    except ApprovalError as exc:
        return _page(password_error=exc.message)
    flash("密码已修改，下次登录请使用新密码")
    return redirect(url_for("profile.settings"))


def _page(*, error=None, password_error=None):
    with get_db().reader() as session:
        me = session.get(User, g.user.id)
        colleagues = list(session.scalars(
            select(User).join(UserRole).where(UserRole.role.in_(me.role_codes), User.id != me.id,
                                              User.active.is_(True), User.department_id == me.department_id)
            .distinct().order_by(User.username)))
        standing_in = list(session.scalars(select(User).where(User.backup_id == me.id).order_by(User.username)))
        view = {"backup": me.backup_id, "away": me.away,
                "colleagues": [(u.id, u.username, u.display_name) for u in colleagues],
                "standing_in": [(u.display_name, u.away) for u in standing_in]}
        contacts = first_contacts(session, g.actor)
        received = copies_received(session, me.id)
        sent = copies_sent(session, g.actor)
    return render_template("profile.html", me=view, contacts=contacts, received=received, sent=sent,
                           error=error, password_error=password_error, min_password=MIN_PASSWORD), \
        (400 if error or password_error else 200)
