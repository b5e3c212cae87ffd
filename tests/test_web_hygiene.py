"""Web hygiene (docs/security.md): where ``next=`` may lead, slowing down password guessing,
security headers, the request size limit, the Secure cookie over HTTPS, no session row before
login, and CSRF tokens that expire. Time moves through the app's injected clock; nothing sleeps."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import text

from cli.demo import DEMO_PASSWORD
from engine import login_throttle
from web import create_app
from web.auth import safe_next
from web.hygiene import CSRF_LIFETIME, MAX_REQUEST_BYTES

from .helpers import ROOT, browser_login, check_accessibility, csrf_of, login

TEMPLATES = ROOT / "web" / "templates"
OFF_SITE = [
    "//evil.example/", "///evil.example/", "/\\evil.example/", "\\\\evil.example", "/\t/evil.example/",
    "https://evil.example/", "http:evil.example", "javascript:alert(1)", "JavaScript:alert(1)",
    " /x", "data:text/html,hi",
]
# as they appear in the query string (the server sees them decoded once)
OFF_SITE_ENCODED = [
    "%2F%2Fevil.example%2F", "/%09/evil.example/", "%2F%09%2Fevil.example", "/%5Cevil.example",
    "/%2F%2Fevil.example", "/%252F%252Fevil.example", "/%255Cevil.example", "https%3A%2F%2Fevil.example",
    "javascript%3Aalert(1)", "/%0D%0ALocation:%20https://evil.example", "/%2509/evil.example",
    "%20//evil.example",
]


@pytest.fixture
def app(seeded, engine):
    return create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)


def _login_page(client, path="/login", **kwargs):
    return client.get(path, **kwargs).get_data(as_text=True)


def _try(client, username, password, address="10.0.0.1", query=""):
    page = _login_page(client)
    return client.post("/login" + query, data={"username": username, "password": password,
                                                "csrf_token": csrf_of(page)},
                       environ_base={"REMOTE_ADDR": address})


# ---------------------------------------------------------------- next= stays on this site

@pytest.mark.parametrize("target", OFF_SITE)
def test_next_never_leads_off_site(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/", "/cases/GENERAL-20260302-00001", "/tasks/3?tab=due&q=%E5%BC%A0"])
def test_next_keeps_local_paths(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("raw", OFF_SITE_ENCODED + ["//evil.example/", "https://evil.example/", "javascript:alert(1)"])
def test_login_with_an_off_site_next_goes_to_the_inbox(app, raw):
    response = _try(app.test_client(), "chuangkou", DEMO_PASSWORD, query="?next=" + raw)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/" and not urlsplit(location).netloc


def test_login_with_a_local_next_goes_there(app):
    response = _try(app.test_client(), "chuangkou", DEMO_PASSWORD, query="?next=/messages")
    assert response.status_code == 302 and response.headers["Location"] == "/messages"


def test_a_page_that_needs_login_comes_back_after_it(app):
    client = app.test_client()
    to_login = client.get("/messages/")
    assert to_login.status_code == 302
    query = urlsplit(to_login.headers["Location"]).query
    response = _try(client, "chuangkou", DEMO_PASSWORD, query="?" + query)
    assert response.headers["Location"] == "/messages/"


# ---------------------------------------------------------------- failed logins are slowed down

def _retry_after(response) -> int:
    assert response.status_code == 429
    body = response.get_data(as_text=True)
    assert "登录失败次数过多" in body and "后再试" in body
    return int(response.headers["Retry-After"])


def test_wrong_passwords_for_one_account_are_slowed_from_any_address(app, clock):
    client = app.test_client()
    free = login_throttle.ACCOUNT_FREE
    for n in range(1, free):
        assert _try(client, "chuangkou", "wrong", address=f"10.0.1.{n}").status_code == 401
    assert _retry_after(_try(client, "chuangkou", "wrong", address="10.0.1.99")) == 10
    # 30 more guesses at once, from 30 addresses: none is even checked
    for n in range(30):
        assert _retry_after(_try(client, "chuangkou", "wrong", address=f"10.0.2.{n}")) <= 10
    # blocked means blocked: the right password too, until the time is up
    assert _retry_after(_try(client, "chuangkou", DEMO_PASSWORD, address="10.0.3.1")) <= 10
    # other accounts are not affected
    assert _try(app.test_client(), "shencha", DEMO_PASSWORD, address="10.0.3.2").status_code == 302

    clock.advance(seconds=10)
    assert _retry_after(_try(client, "chuangkou", "wrong")) == 20  # each further failure doubles it
    clock.advance(seconds=20)
    assert _try(client, "chuangkou", DEMO_PASSWORD).status_code == 302  # the real user gets in …
    other = app.test_client()
    for n in range(1, free):  # … and the count starts again
        assert _try(other, "chuangkou", "wrong").status_code == 401


def test_nobody_is_locked_out_for_longer_than_the_longest_block(app, clock):
    client = app.test_client()
    longest = int(login_throttle.LONGEST_BLOCK.total_seconds())
    waits = []
    for n in range(15):  # a patient guesser, trying again whenever allowed: 10 s, 20 s, … 15 min
        response = _try(client, "shencha", "wrong", address=f"10.1.{n}.1")
        if response.status_code == 429:
            waits.append(_retry_after(response))
            clock.advance(seconds=waits[-1])
    assert max(waits) == longest and waits[-1] == waits[-2] == longest
    assert _try(client, "shencha", DEMO_PASSWORD).status_code == 302


def test_counts_are_forgotten_an_hour_after_the_last_failure(app, clock):
    client = app.test_client()
    for _ in range(login_throttle.ACCOUNT_FREE - 1):
        assert _try(client, "chuangkou", "wrong").status_code == 401
    clock.advance(seconds=login_throttle.FORGET_AFTER.total_seconds() + 1)
    for _ in range(login_throttle.ACCOUNT_FREE - 1):
        assert _try(client, "chuangkou", "wrong").status_code == 401


def test_many_accounts_guessed_from_one_address_slow_that_address_only(app, clock):
    client = app.test_client()
    guesser = "192.0.2.7"
    for n in range(login_throttle.ADDRESS_FREE - 1):
        assert _try(client, f"nobody{n}", "wrong", address=guesser).status_code == 401
    assert _retry_after(_try(client, "somebody", "wrong", address=guesser)) == 10
    assert _retry_after(_try(client, "chuangkou", DEMO_PASSWORD, address=guesser)) <= 10
    assert _try(app.test_client(), "chuangkou", DEMO_PASSWORD, address="192.0.2.8").status_code == 302
    clock.advance(seconds=10)
    assert _try(app.test_client(), "chuangkou", DEMO_PASSWORD, address=guesser).status_code == 302


def test_a_successful_login_does_not_clear_its_address(app, clock):
    client = app.test_client()
    for n in range(login_throttle.ADDRESS_FREE - 1):
        _try(client, f"nobody{n}", "wrong")
    assert _try(app.test_client(), "chuangkou", DEMO_PASSWORD).status_code == 302
    assert _try(client, "nobody", "wrong").status_code == 429


def test_behind_a_proxy_the_clients_address_is_counted(seeded, engine):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "APPROVALS_PROXIES": 1}, db=seeded, clock=engine.clock)

    def through_proxy(client_address, username, password):
        client = app.test_client()
        page = _login_page(client)
        return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(page)},
                           environ_base={"REMOTE_ADDR": "10.9.9.9"}, headers={"X-Forwarded-For": client_address})

    for n in range(login_throttle.ADDRESS_FREE):
        through_proxy("203.0.113.5", f"nobody{n}", "wrong")
    assert through_proxy("203.0.113.5", "chuangkou", DEMO_PASSWORD).status_code == 429
    assert through_proxy("203.0.113.6", "chuangkou", DEMO_PASSWORD).status_code == 302  # same proxy, other client


# ---------------------------------------------------------------- headers on every response

def _assert_security_headers(response):
    csp = response.headers.get("Content-Security-Policy", "")
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_every_response_carries_the_security_headers(app, flow):
    @app.route("/test-boom")
    def boom():
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False  # let the 500 be a response, as in production
    anonymous = app.test_client()
    responses = {
        "login": anonymous.get("/login"),
        "redirect to login": anonymous.get("/"),
        "static file": anonymous.get("/static/app.css"),
        "not found": anonymous.get("/no-such-page"),
        "refused form": anonymous.post("/login", data={"username": "x", "password": "y"}),
        "too large": anonymous.post("/login", data="x" * (MAX_REQUEST_BYTES + 1),
                                    content_type="application/x-www-form-urlencoded"),
        "server error": anonymous.get("/test-boom"),
    }
    clerk = login(app.test_client(), "chuangkou")
    case = flow.start()
    responses.update({
        "inbox": clerk.get("/"),
        "case page with its diagram": clerk.get(f"/cases/{case.number}"),
        "not allowed": login(app.test_client(), "mz_chuangkou").get(f"/tasks/{flow.task_of('chuangkou').id}"),
    })
    expected = {"login": 200, "redirect to login": 302, "static file": 200, "not found": 404,
                "refused form": 400, "too large": 413, "server error": 500, "inbox": 200,
                "case page with its diagram": 200, "not allowed": 403}
    for name, response in responses.items():
        assert response.status_code == expected[name], name
        _assert_security_headers(response)
    assert "Strict-Transport-Security" not in responses["login"].headers  # only when served over HTTPS


def test_no_inline_script_or_style_in_any_template():
    inline = re.compile(r"<script(?![^>]*\bsrc=)|<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:", re.IGNORECASE)
    found = [f"{path.name}:{n}: {line.strip()}" for path in sorted(TEMPLATES.glob("*.html"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if inline.search(line)]
    assert not found, "inline scripts or styles (move them to web/static):\n" + "\n".join(found)


def test_rendered_pages_have_no_inline_script_or_style(app, flow):
    clerk = login(app.test_client(), "chuangkou")
    case = flow.start()
    inline = re.compile(r"<script(?![^>]*\bsrc=)|<style\b|\sstyle\s*=|\son[a-z]+\s*=", re.IGNORECASE)
    for path in ("/", f"/cases/{case.number}", f"/cases/{case.number}/print", "/messages/", "/me/"):
        response = clerk.get(path)
        if response.status_code == 200:
            assert not inline.search(response.get_data(as_text=True)), path


# ---------------------------------------------------------------- the request size limit

class _UnreadableBody:
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = readlines = read

    def __iter__(self):
        raise AssertionError("the body was read")


def test_a_post_over_the_limit_is_refused_before_it_is_read(app, seeded):
    client = app.test_client()
    before = _session_rows(seeded)
    response = client.post("/login", content_type="application/x-www-form-urlencoded",
                           environ_overrides={"wsgi.input": _UnreadableBody(),
                                              "CONTENT_LENGTH": str(200 * 1024 * 1024)})
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert "提交的内容过大" in body and "1 MB" in body and "分次提交" in body
    assert _session_rows(seeded) == before


def test_a_clerks_post_over_the_limit_is_refused_and_changes_nothing(app, flow):
    clerk = login(app.test_client(), "chuangkou")
    case = flow.start()
    page = clerk.get(f"/cases/{case.number}").get_data(as_text=True)
    response = clerk.post("/messages/read", data={"csrf_token": csrf_of(page), "all": "1", "junk": "x" * MAX_REQUEST_BYTES})
    assert response.status_code == 413 and "提交的内容过大" in response.get_data(as_text=True)


def test_the_limit_is_configurable(seeded, engine, monkeypatch):
    monkeypatch.setenv("APPROVALS_MAX_REQUEST_BYTES", "2048")
    app = create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)
    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    response = app.test_client().post("/login", data={"username": "x" * 3000})
    assert response.status_code == 413 and "2 KB" in response.get_data(as_text=True)


# ---------------------------------------------------------------- cookies over HTTPS

HTTPS = {"base_url": "https://localhost"}


def test_the_session_cookie_is_secure_when_configured_for_https(seeded, engine, monkeypatch):
    monkeypatch.setenv("APPROVALS_HTTPS", "1")
    app = create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)
    client = app.test_client()
    page = client.get("/login", **HTTPS)
    assert "Secure" in page.headers["Set-Cookie"]
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    response = client.post("/login", data={"username": "chuangkou", "password": DEMO_PASSWORD,
                                           "csrf_token": csrf_of(page.get_data(as_text=True))},
                           headers={"Referer": "https://localhost/login"}, **HTTPS)
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie


def test_the_session_cookie_is_not_secure_over_plain_http(app):
    response = _try(app.test_client(), "chuangkou", DEMO_PASSWORD)
    session_cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" not in session_cookie and "HttpOnly" in session_cookie


def test_the_readme_documents_the_settings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("APPROVALS_HTTPS", "APPROVALS_MAX_REQUEST_BYTES", "APPROVALS_PROXIES"):
        assert f"`{name}`" in readme, name


# ---------------------------------------------------------------- no session row before login

def _session_rows(database) -> int:
    with database.engine.connect() as conn:
        exists = conn.exec_driver_sql("SELECT 1 FROM web_sessions LIMIT 0")  # made by create_app
        exists.close()
        return conn.execute(text("SELECT count(*) FROM web_sessions")).scalar()


def test_anonymous_visitors_make_no_session_rows(app, seeded):
    before = _session_rows(seeded)
    anonymous = app.test_client()
    page = _login_page(anonymous)
    anonymous.get("/")
    anonymous.get("/static/app.css")
    response = anonymous.post("/login", data={"username": "chuangkou", "password": "wrong", "csrf_token": csrf_of(page)})
    assert response.status_code == 401
    assert _session_rows(seeded) == before
    assert anonymous.get_cookie("session") is None

    login(anonymous, "chuangkou")
    assert _session_rows(seeded) == before + 1  # a logged-in user's session lives on the server
    page = anonymous.get("/").get_data(as_text=True)
    response = anonymous.post("/logout", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "已退出登录" in response.get_data(as_text=True)  # the flashed message still arrives
    assert _session_rows(seeded) == before  # and logout removes the row
    assert anonymous.get_cookie("session") is None


def test_a_forged_anonymous_cookie_is_ignored(app):
    client = app.test_client()
    client.set_cookie("approvals_anon", "eyJ1c2VyX2lkIjoxfQ.forged.sig")
    assert client.get("/").status_code == 302  # still not logged in
    page = _login_page(client)
    assert "工作人员登录" in page


def test_an_ended_session_cookie_is_dropped_without_a_new_row(app, seeded):
    client = login(app.test_client(), "chuangkou")
    stale = client.get_cookie("session").value
    page = client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    before = _session_rows(seeded)
    replayed = app.test_client()
    replayed.set_cookie("session", stale)
    assert replayed.get("/login").status_code == 200
    assert replayed.get_cookie("session") is None and _session_rows(seeded) == before


def test_a_wrong_setting_is_named(seeded, engine, monkeypatch):
    monkeypatch.setenv("APPROVALS_MAX_REQUEST_BYTES", "1MB")
    with pytest.raises(ValueError, match="APPROVALS_MAX_REQUEST_BYTES"):
        create_app({"TESTING": True}, db=seeded, clock=engine.clock)


# ---------------------------------------------------------------- CSRF tokens expire

@pytest.fixture
def signing_time(monkeypatch):
    """Flask-WTF signs its tokens with itsdangerous's timestamp; this moves that clock."""
    now = {"at": 1_800_000_000}
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now["at"])
    return now


def test_a_csrf_token_expires_with_a_clear_message(app, signing_time):
    lifetime = int(CSRF_LIFETIME.total_seconds())
    assert app.config["WTF_CSRF_TIME_LIMIT"] == lifetime
    client = app.test_client()
    page = _login_page(client)
    signing_time["at"] += lifetime - 60
    fresh = client.post("/login", data={"username": "chuangkou", "password": DEMO_PASSWORD, "csrf_token": csrf_of(page)})
    assert fresh.status_code == 302  # still valid a minute before it expires

    page = client.get("/").get_data(as_text=True)
    signing_time["at"] += lifetime + 1
    response = client.post("/logout", data={"csrf_token": csrf_of(page)})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "表单已过期" in body and "4 小时" in body and "刷新" in body
    assert client.get("/").status_code == 200  # nothing happened: still logged in


def test_an_expired_login_form_asks_to_reload(app, signing_time):
    client = app.test_client()
    page = _login_page(client)
    signing_time["at"] += int(CSRF_LIFETIME.total_seconds()) + 1
    response = client.post("/login", data={"username": "chuangkou", "password": DEMO_PASSWORD, "csrf_token": csrf_of(page)})
    assert response.status_code == 400 and "刷新" in response.get_data(as_text=True)


def test_security_doc_describes_what_is_tested():
    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert "tests/test_web_hygiene.py" in doc and Path(__file__).name in doc


# ---------------------------------------------------------------- in the browser

@pytest.mark.slow
def test_the_browser_enforces_the_policy_and_the_pages_break_nothing(server, page, flow):
    """Chromium reports every blocked script, style or frame on the console; there are none, the
    stylesheet applies, and axe-core still runs under the policy (tests/helpers.py)."""
    case = flow.start()
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    page.goto(f"{server}/login")
    browser_login(page, server, "chuangkou")
    for path in ("/", f"/cases/{case.number}", f"/cases/{case.number}/print", "/messages/", "/me/", "/no-such-page"):
        response = page.goto(server + path)
        assert "script-src 'self'" in response.headers["content-security-policy"], path
    page.goto(f"{server}/cases/{case.number}")
    assert page.evaluate("getComputedStyle(document.querySelector('header.topbar')).display") == "flex"  # app.css applies
    check_accessibility(page, "csp-case")
    assert not violations, violations
    # the listener does hear a violation: an inline script is blocked
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.ran = true';
                             document.body.appendChild(s); }""")
    page.wait_for_timeout(100)
    assert page.evaluate("window.ran === undefined") and violations
