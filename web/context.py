"""The application's database and engine, for the request being served."""
from __future__ import annotations

from flask import current_app

from engine import Database, Engine


def get_db() -> Database:
    return current_app.extensions["approvals.db"]


def get_engine() -> Engine:
    return current_app.extensions["approvals.engine"]
