"""Login and the current user. Every other route requires a logged-in user."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from engine.actors import Actor
from engine.people import authenticate, principals_of
from engine.store.models import User

bp = Blueprint("auth", __name__)
from .context import get_db


def load_current_user() -> None:
    g.user = None
    user_id = session.get("user_id")
    if user_id is not None:
        with get_db().reader() as db_session:
            user = db_session.get(User, user_id)
            if user is not None and user.active:
                user.role_codes  # load roles while the session is open
                g.user = user
                g.actor = Actor.from_user(user, principals_of(db_session, user.id))


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        with get_db().reader() as db_session:
            user = authenticate(db_session, request.form.get("username", "").strip(),
                                request.form.get("password", ""))
        if user is None:
            error = "用户名或密码错误"
        else:
            current_app.session_interface.regenerate(session)  # a fresh id: no session fixation
            session.clear()
            session["user_id"] = user.id
            target = request.args.get("next") or ""
            return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("inbox.index"))
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    flash("已退出登录")
    return redirect(url_for("auth.login"))
