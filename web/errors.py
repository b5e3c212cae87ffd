"""Error pages: every refusal and every failure is a Chinese page, never a traceback.

- ids in URLs (``/tasks/<int:task_id>``) wider than the id column (32 bits on PostgreSQL) do not match, so they are a 404 like any
  other missing page, the same on SQLite and PostgreSQL (no overflow in the driver);
- HTTP errors (404, 405, 413 …) get a Chinese page with their status;
- anything unexpected is logged with its traceback and answered with a Chinese 500 page that says
  nothing about the code.
"""
from __future__ import annotations

import logging

from flask import Flask, render_template
from markupsafe import escape
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from engine.runtime.values import MAX_ID

log = logging.getLogger(__name__)

HTTP_MESSAGES = {
    400: "请求无法处理：提交的内容有误，请检查后重试。",
    404: "页面不存在：地址有误，或该办件、任务已不存在。请从待办或办件列表进入。",
    405: "不支持这种访问方式，请从页面上的按钮操作。",
    413: "提交的内容过大，请精简后重试。",
}
INTERNAL = "系统内部错误，本次操作未完成。请稍后重试；如仍不成功，请联系管理员（已记录日志）。"


class IdConverter(IntegerConverter):
    """``<int:…>`` for database ids: 0 to 2**31-1 (an INTEGER column), so a wider number is simply no such page."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def _page(message: str, status: int):
    try:
        return render_template("error.html", message=message), status
    except Exception:  # the page itself failed (e.g. the database is gone): plain text, still Chinese
        log.exception("the error page could not be rendered")
        return (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>无法完成</title>'
                f"<p>{escape(message)}</p></html>"), status


def init_errors(app: Flask) -> None:
    """Call before the blueprints are registered (the converter applies to their routes)."""
    app.url_map.converters["int"] = IdConverter

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400 or exc.response is not None:
            return exc
        return _page(HTTP_MESSAGES.get(exc.code, f"请求无法处理（{exc.code}）。"), exc.code)

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        log.exception("unexpected error while serving a request")
        return _page(INTERNAL, 500)
