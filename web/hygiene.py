"""What every response and request gets, whatever the route: security headers, a size limit on
requests, and the settings that depend on being served over HTTPS. See docs/security.md."""
from __future__ import annotations

import os
from datetime import timedelta

from flask import Flask, Response, abort, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

#: no inline scripts or styles anywhere: templates link /static files only
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
    "connect-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: Flask-WTF checks the Referer of form posts over HTTPS
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000"

MAX_REQUEST_BYTES = 1024 * 1024  # forms and calendar files are a few kilobytes
CSRF_LIFETIME = timedelta(hours=4)  # a form left open longer asks to be reloaded


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _count(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ValueError(f"环境变量 {name} 应为非负整数，现为 {value!r}；请改正或删除它。")
    return int(value)


def defaults_from_environment() -> dict:
    """The configuration these settings take from the environment (``config`` given to
    ``create_app`` overrides them): ``APPROVALS_HTTPS``, ``APPROVALS_MAX_REQUEST_BYTES``,
    ``APPROVALS_PROXIES``."""
    https = _flag("APPROVALS_HTTPS")
    return {
        "APPROVALS_HTTPS": https,
        "SESSION_COOKIE_SECURE": https,
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "MAX_CONTENT_LENGTH": _count("APPROVALS_MAX_REQUEST_BYTES", MAX_REQUEST_BYTES),
        "APPROVALS_PROXIES": _count("APPROVALS_PROXIES", 0),
        "WTF_CSRF_TIME_LIMIT": int(CSRF_LIFETIME.total_seconds()),
    }


def refuse_large_requests() -> None:
    """Before anything reads the body (the CSRF check reads the form): a declared length over the
    limit is refused at once; a body without a length is cut off at the limit as it is read."""
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "request_bytes", None):  # a form with scanned files (web/window.py)
        request.max_content_length = view.request_bytes
    limit = request.max_content_length
    if limit is not None and request.content_length is not None and request.content_length > limit:
        abort(413)


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")  # pages hold people's data
    return response


def init_hygiene(app: Flask) -> None:
    """Call before any other ``before_request`` function is registered, so that the size check
    comes first."""
    extra = {}
    if app.config.get("APPROVALS_HTTPS"):
        app.config["SESSION_COOKIE_SECURE"] = True
        extra["Strict-Transport-Security"] = HSTS
    proxies = int(app.config.get("APPROVALS_PROXIES") or 0)
    if proxies:  # behind a reverse proxy: the client's address (for login throttling) and scheme
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.before_request(refuse_large_requests)

    @app.after_request
    def headers(response: Response) -> Response:
        for name, value in extra.items():
            response.headers.setdefault(name, value)
        return add_headers(response)
