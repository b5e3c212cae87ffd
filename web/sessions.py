"""Server-side sessions (Flask-Session) kept in the application's own database.

The browser holds only a random session id; the session itself is a row in the
``web_sessions`` table, so logging out or disabling a user ends it for good, and
several web processes on PostgreSQL share it. Expired rows are cleaned up as
requests come in.

Only a logged-in user's session is a row. Before login (the login page, the page
after logout) a session holds no more than the login form's CSRF secret and a
flashed message; that goes into a small signed cookie instead, so anonymous
visitors cannot fill ``web_sessions`` with rows.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, Request, Response, request
from flask_session.sqlalchemy import SqlAlchemySessionInterface
from flask_sqlalchemy import SQLAlchemy
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.engine import make_url

from engine import Database

LIFETIME = timedelta(hours=8)
TABLE = "web_sessions"
ANONYMOUS_COOKIE = "approvals_anon"  # the signed cookie of a not-logged-in visitor
AUTHENTICATED_KEY = "user_id"  # a session holding this key is a logged-in user's, kept on the server


def _absolute(url: str) -> str:
    """Flask-SQLAlchemy reads relative SQLite paths from the app's instance folder; the product
    means the working directory, like the rest of the application."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    return parsed.render_as_string(hide_password=False)


#: endpoints that never read or change the session: their requests leave it as it is
UNTOUCHED = frozenset({"static", "favicon"})


class DatabaseSessionInterface(SqlAlchemySessionInterface):
    """Flask-Session's SQLAlchemy store for logged-in users; a signed cookie for everyone else."""

    def _anonymous_serializer(self, app: Flask) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(app.secret_key, salt="approvals-anonymous-session")

    def open_session(self, app: Flask, request: Request):
        session = super().open_session(app, request)
        sent = request.cookies.get(self.get_cookie_name(app))
        session.sent_id = bool(sent)
        session.stored = bool(sent) and session.sid == sent  # Flask-Session mints a new id when no row has it
        session.had_anonymous_cookie = ANONYMOUS_COOKIE in request.cookies
        if AUTHENTICATED_KEY not in session and session.had_anonymous_cookie:
            try:
                data = self._anonymous_serializer(app).loads(request.cookies[ANONYMOUS_COOKIE],
                                                             max_age=int(LIFETIME.total_seconds()))
            except BadSignature:
                data = None
            if isinstance(data, dict):
                data.pop(AUTHENTICATED_KEY, None)  # never logged in by a cookie
                session.update(data)
                session.modified = session.accessed = False
        return session

    def save_session(self, app: Flask, session, response: Response) -> None:
        if request.endpoint in UNTOUCHED and not session.modified:
            # a stylesheet or the icon never changes the session; saving it again from a request
            # that began before a form's POST would put back the session without that POST's
            # flash (a page's confirmation lost while its CSS or icon was still loading)
            return
        if AUTHENTICATED_KEY in session:
            if getattr(session, "had_anonymous_cookie", False):
                self._delete_cookie(app, response, ANONYMOUS_COOKIE)
            super().save_session(app, session, response)
            return
        # not logged in (or just logged out, or the row has expired): nothing on the server
        if getattr(session, "stored", False):
            self._delete_session(self._get_store_id(session.sid))
        if getattr(session, "sent_id", False):
            self._delete_cookie(app, response, self.get_cookie_name(app))
        if session.accessed:
            response.vary.add("Cookie")
        data = {key: value for key, value in session.items() if key != "_permanent"}
        if data and (session.modified or not getattr(session, "had_anonymous_cookie", False)):
            response.set_cookie(ANONYMOUS_COOKIE, self._anonymous_serializer(app).dumps(data),
                                httponly=True, secure=self.get_cookie_secure(app),
                                samesite=self.get_cookie_samesite(app), path=self.get_cookie_path(app),
                                domain=self.get_cookie_domain(app))
        elif not data and getattr(session, "had_anonymous_cookie", False):
            self._delete_cookie(app, response, ANONYMOUS_COOKIE)

    def _delete_cookie(self, app: Flask, response: Response, name: str) -> None:
        response.delete_cookie(name, path=self.get_cookie_path(app), domain=self.get_cookie_domain(app),
                               secure=self.get_cookie_secure(app), httponly=True,
                               samesite=self.get_cookie_samesite(app))


def init_sessions(app: Flask, database: Database) -> None:
    store = SQLAlchemy()
    options = {"pool_pre_ping": True} if not database.is_sqlite else {"connect_args": {"timeout": 30}}
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", _absolute(database.url))
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", options)
    store.init_app(app)
    app.config.update(SESSION_TYPE="sqlalchemy", SESSION_SQLALCHEMY=store, SESSION_SQLALCHEMY_TABLE=TABLE,
                      SESSION_PERMANENT=True, PERMANENT_SESSION_LIFETIME=LIFETIME,
                      SESSION_CLEANUP_N_REQUESTS=200)
    # Flask-Session's own setup (flask_session.Session) would build the plain SqlAlchemySessionInterface
    # from these settings; this builds the subclass with the same ones.
    app.session_interface = DatabaseSessionInterface(app, client=store, table=TABLE, permanent=True,
                                                     cleanup_n_requests=200)
