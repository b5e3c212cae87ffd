"""The application's database and engine, for the request being served."""
from __future__ import annotations

import re

from flask import current_app, request

from engine import Database, Engine


def get_db() -> Database:
    return current_app.extensions["approvals.db"]


def get_engine() -> Engine:
    return current_app.extensions["approvals.engine"]


#: a step's page and the forms it posts to (/tasks/7/complete, /tasks/7/draft …): the page is /tasks/7
_TASK_PAGE = re.compile(r"^(/tasks/\d+)(?:/[a-z_-]+)?/?$")


def back_to_page(fallback: str) -> str:
    """Where an operation asked from a page goes back to: the page it came from (same site only).
    A step's page re-rendered after a refused submission has the form's address (a POST-only
    endpoint, a 405 if followed), so any address under a step leads back to the step itself."""
    back = request.referrer or ""
    if not back.startswith(request.host_url):
        return fallback
    path = "/" + back[len(request.host_url):].lstrip("/")
    step = _TASK_PAGE.match(path.split("?", 1)[0].split("#", 1)[0])
    return step.group(1) if step else path
