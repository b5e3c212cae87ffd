"""Login and the current user. Every other route requires a logged-in user."""
from __future__ import annotations

import re
from functools import wraps
from urllib.parse import unquote, urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy.exc import IntegrityError

from engine import login_throttle
from engine.actors import Actor
from engine.errors import ApprovalError
from engine.people import MIN_PASSWORD, authenticate, change_password, principals_of
from engine.store.models import User

from .context import get_db, get_engine

bp = Blueprint("auth", __name__)

# a local path as sent: "/" then URL characters only (no backslash, whitespace or control
# characters), and not "//" or "/\\", which browsers read as another host
_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*")


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None. Checked as sent and once more
    percent-decoded ("/%2F/evil", "/%5Cevil", "/%09/evil" become a host for some clients)."""
    if not target or not _LOCAL_PATH.fullmatch(target):
        return None
    decoded = unquote(target)
    if decoded.startswith(("//", "/\\")) or "\\" in decoded \
            or any(ch.isspace() or not ch.isprintable() for ch in decoded):
        return None
    parts = urlsplit(decoded)
    return None if parts.scheme or parts.netloc else target


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


#: roles whose holders handle steps: their day starts at the inbox
HANDLING_ROLES = frozenset({"window_clerk", "reviewer", "head", "gov_head"})
#: where the day starts for a user who handles no step, by the first role they hold
HOMES = (("supervisor", "supervision.index"), ("admin", "admin.items"), ("designer", "design.index"))


def home_url(role_codes) -> str:
    """A user's first page: the inbox for whoever handles steps; the cards board (电子监察) for a
    supervisor, the process versions for an administrator, the designs for a designer — whose
    待办 would be empty."""
    roles = set(role_codes or ())
    if not roles & HANDLING_ROLES:
        for role, endpoint in HOMES:
            if role in roles:
                return url_for(endpoint)
    return url_for("inbox.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html")
    username = request.form.get("username", "").strip()
    address = request.remote_addr
    now = get_engine().clock.now()
    with get_db().reader() as db_session:
        wait = login_throttle.retry_after(db_session, username, address, now)
        user = None if wait else authenticate(db_session, username, request.form.get("password", ""))
    if wait:
        return _too_many(wait)
    if user is None:
        wait = record_attempt(login_throttle.record_failure, username, address, now)
        if wait:
            return _too_many(wait)
        return render_template("login.html", error="用户名或密码错误"), 401
    record_attempt(login_throttle.record_success, username)
    current_app.session_interface.regenerate(session)  # a fresh id: no session fixation
    session.clear()
    session["user_id"] = user.id
    return redirect(safe_next(request.args.get("next")) or home_url(user.role_codes))


def record_attempt(change, *args):
    """Run a change of the failure counts in its own transaction; a concurrent first failure of
    the same key (a duplicate key) is retried once. (The online hall's logins use it too.)"""
    for attempt in (1, 2):
        try:
            with get_db().transaction() as db_session:
                return change(db_session, *args)
        except IntegrityError:
            if attempt == 2:
                raise


def wait_words(wait: int) -> str:
    """How long until the next try: 30 秒, 2 分钟."""
    return f"{wait} 秒" if wait < 60 else f"{-(-wait // 60)} 分钟"


def _too_many(wait: int):
    message = (f"登录失败次数过多，为保护账号已暂停登录。请在 {wait_words(wait)}后再试；"
               "如忘记密码，请联系系统管理员重置。")
    return render_template("login.html", error=message), 429, {"Retry-After": str(wait)}


#: what a user holding a temporary password (reset by an administrator) may reach before choosing their own
_WHILE_TEMPORARY = frozenset({"auth.new_password", "auth.logout", "static", "favicon"})


def password_gate(holder, reachable: frozenset[str], page: str):
    """A redirect to ``page`` while ``holder`` (a user, an applicant's account) has a temporary
    password and asks for anything but ``reachable``; None otherwise."""
    if holder is not None and holder.must_change_password and request.endpoint not in reachable:
        return redirect(url_for(page))
    return None


def require_new_password():
    """After an administrator's reset (or a new account) every page leads to choosing a password."""
    return password_gate(g.get("user"), _WHILE_TEMPORARY, "auth.new_password")


@bp.route("/password/new", methods=["GET", "POST"])
@login_required
def new_password():
    """Choose one's own password in place of the temporary one: the usual rules
    (engine.people.change_password), the temporary password as the current one."""
    if not g.user.must_change_password:
        return redirect(home_url(g.user.role_codes))
    error = None
    if request.method == "POST":
        try:
            with get_db().transaction() as db_session:
                change_password(db_session, g.user.username, request.form.get("current", ""),
                                request.form.get("new", ""), request.form.get("repeat", ""), at=get_engine().now())
        except ApprovalError as exc:
            error = exc.message
        else:
            flash("新密码已设置，请记住它；以后登录请使用新密码")
            return redirect(home_url(g.user.role_codes))
    return render_template("password_new.html", error=error, min_password=MIN_PASSWORD), 400 if error else 200


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    flash("已退出登录")
    return redirect(url_for("auth.login"))
