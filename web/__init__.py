"""The clerk workspace: a thin, server-rendered Flask application in Chinese.

The web layer calls the engine (commands and queries) and never touches
SpiffWorkflow objects itself.
"""
from __future__ import annotations

import itertools
import os
from typing import Any

from flask import Flask, g, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge

from engine import Database, Engine
from engine.clock import CHINA_TZ, Clock, SystemClock
from engine.alerts import unread_count
from engine.errors import ApprovalError
from engine.files import FileStore, default_root
from engine.store import enums

from . import (admin, auth, cases, design, documents, guides, hall, inbox, messages, operations, organisation,
               profile, replay, supervision, window)
from .auth import home_url
from .errors import init_errors
from .context import get_db, get_engine  # noqa: F401 — the app's accessors, also as web.get_db
from .hygiene import defaults_from_environment, init_hygiene
from .sessions import init_sessions

csrf = CSRFProtect()


#: which link of the header a page belongs to, by its blueprint (an endpoint where one blueprint
#: serves two links)
_SECTIONS = {"inbox": "inbox", "window": "window", "cases": "cases", "documents": "cases", "messages": "messages",
             "design": "design", "supervision": "supervision", "guides": "versions", "operations": "operations",
             "admin": "versions", "org": "org", "profile": "profile", "replay": "replay"}
_SECTION_ENDPOINTS = {"admin.calendar": "calendar", "org.team": "team"}
#: the blueprints whose pages only 办件查询 leads to there; a case page itself is reached from
#: anywhere (待办, the board, a message), so no link is marked on it
_CASE_PAGES = frozenset({"cases", "documents"})


def _nav_section() -> str:
    """The header link to mark as the current page (``aria-current``)."""
    endpoint = request.endpoint or ""
    if request.blueprint in _CASE_PAGES and endpoint != "cases.search":
        return ""
    return _SECTION_ENDPOINTS.get(endpoint) or _SECTIONS.get(request.blueprint or "", "")


def create_app(config: dict[str, Any] | None = None, *, db: Database | None = None,
               clock: Clock | None = None) -> Flask:
    """Application factory. Configuration comes from ``config``, then the environment:
    ``APPROVALS_DATABASE_URL``, ``APPROVALS_SECRET_KEY`` (if unset, a secret made once and kept in the database),
    ``APPROVALS_HTTPS``, ``APPROVALS_MAX_REQUEST_BYTES`` and ``APPROVALS_PROXIES`` (web/hygiene.py)."""
    app = Flask(__name__)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        **defaults_from_environment(),
    )
    app.config.update(config or {})
    database = db or Database(app.config.get("DATABASE_URL"))
    if not app.config.get("SECRET_KEY"):  # the environment's, else the one kept in the database
        app.config["SECRET_KEY"] = os.environ.get("APPROVALS_SECRET_KEY") or database.secret_key()
    app.extensions["approvals.db"] = database
    app.extensions["approvals.engine"] = Engine(database, clock or SystemClock())
    app.extensions["approvals.files"] = FileStore(app.config.get("FILES_DIR") or default_root(database.url))
    init_hygiene(app)  # first: its size check runs before the CSRF check reads a form
    csrf.init_app(app)
    init_sessions(app, database)
    init_errors(app)  # before the blueprints: ids in their URLs are bounded

    for blueprint in (auth.bp, inbox.bp, cases.bp, documents.bp, messages.bp, admin.bp, profile.bp, window.bp, design.bp,
                      supervision.bp, organisation.bp, guides.bp, operations.bp, hall.bp, replay.bp):
        app.register_blueprint(blueprint)
    app.before_request(auth.load_current_user)
    app.before_request(auth.require_new_password)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        if exc.description == "The CSRF token has expired.":
            hours = app.config["WTF_CSRF_TIME_LIMIT"] // 3600
            message = (f"页面打开已超过 {hours} 小时，表单已过期，本次提交未被接收。"
                       "请刷新（重新打开）页面后再提交；已填写的内容请先复制保存。")
        else:
            message = "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。"
        return render_template("error.html", message=message), 400

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc):
        limit = app.config["MAX_CONTENT_LENGTH"]
        size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} KB"
        return render_template("error.html", message=f"提交的内容过大（上限 {size}），系统未予接收。"
                                                     "请精简内容或分次提交；导入的文件请拆分后再导入。"), 413

    @app.errorhandler(ApprovalError)
    def approval_error(exc: ApprovalError):
        status = {"not_found": 404, "not_allowed": 403, "conflict": 409}.get(exc.code, 400)
        return render_template("error.html", message=exc.message), status

    @app.route("/favicon.ico")
    def favicon():
        """No icon: an empty answer instead of a 404 on every page."""
        return "", 204

    @app.template_filter("label")
    def label(value, enum: str, default: str = "") -> str:
        """The Chinese name of a stored value: ``{{ case.state|label('CaseState') }}``."""
        return getattr(enums, enum).label_of(value, default)

    @app.template_filter("china_time")
    def china_time(value) -> str:
        """A moment as China time, to the minute: 2026-03-02 09:00."""
        return value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if value is not None else ""

    @app.template_filter("groupby_in_order")
    def groupby_in_order(items, attribute: str) -> list[tuple[Any, list]]:
        """Runs of items with the same ``attribute``, in the order given (Jinja's ``groupby`` sorts:
        the people of one's own department, listed first, would move)."""
        return [(key, list(run)) for key, run in itertools.groupby(items, key=lambda item: getattr(item, attribute))]

    @app.context_processor
    def globals_for_templates():
        user = g.get("user")
        unread = 0
        if user is not None:
            with database.reader() as session:
                unread = unread_count(session, user.id)
        return {"current_user": user, "unread_messages": unread, "nav_section": _nav_section(),
                "hall": request.blueprint == "hall",
                "home_url": home_url(user.role_codes) if user is not None else url_for("inbox.index")}

    return app
