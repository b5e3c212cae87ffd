"""The user's own settings: the named backup (AB岗) and being away."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from engine.errors import ApprovalError
from engine.store.models import User, UserRole
from engine.people import set_away, set_backup

from .auth import login_required
from .context import get_db

bp = Blueprint("profile", __name__, url_prefix="/me")


@bp.route("/", methods=["GET", "POST"])
@login_required
def settings():
    error = None
    if request.method == "POST":
        try:
            with get_db().transaction() as session:
                set_backup(session, g.user.username, request.form.get("backup") or None)
                set_away(session, g.user.username, request.form.get("away") == "on")
        except ApprovalError as exc:
            error = exc.message
        else:
            flash("已保存")
            return redirect(url_for("profile.settings"))
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
    return render_template("profile.html", me=view, error=error), (400 if error else 200)
