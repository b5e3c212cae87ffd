"""Server-side sessions (Flask-Session) kept in the application's own database.

The browser holds only a random session id; the session itself is a row in the
``web_sessions`` table, so logging out or disabling a user ends it for good, and
several web processes on PostgreSQL share it. Expired rows are cleaned up as
requests come in.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask_session import Session
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.engine import make_url

from engine import Database

LIFETIME = timedelta(hours=8)


def _absolute(url: str) -> str:
    """Flask-SQLAlchemy reads relative SQLite paths from the app's instance folder; the product
    means the working directory, like the rest of the application."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    return parsed.render_as_string(hide_password=False)


def init_sessions(app: Flask, database: Database) -> None:
    store = SQLAlchemy()
    options = {"pool_pre_ping": True} if not database.is_sqlite else {"connect_args": {"timeout": 30}}
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", _absolute(database.url))
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", options)
    store.init_app(app)
    app.config.update(SESSION_TYPE="sqlalchemy", SESSION_SQLALCHEMY=store, SESSION_SQLALCHEMY_TABLE="web_sessions",
                      SESSION_PERMANENT=True, PERMANENT_SESSION_LIFETIME=LIFETIME,
                      SESSION_CLEANUP_N_REQUESTS=200)
    Session(app)
