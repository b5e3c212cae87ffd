"""Helpers shared by the tests: paths, the ``Flow`` helper, logging in with the Flask test client
and in the browser, launching Debian's Chromium, screenshots and the accessibility check.

The fixtures themselves (``db``, ``seeded``, ``engine``, ``clock``, ``actors``, ``flow``,
``server``, ``page``) are in ``tests/conftest.py``.
"""
from __future__ import annotations

import json
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from cli.demo import DEMO_PASSWORD
from engine import Actor, Database, Engine
from engine.commands import CompleteTask, StartCase
from engine.read.queries import ready_tasks

ROOT = Path(__file__).resolve().parent.parent
BPMN = ROOT / "bpmn"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ARTIFACTS = ROOT / "test-artifacts"


# ---------------------------------------------------------------- cases, step by step

class Flow:
    """Small helpers that read like the steps of a case."""

    def __init__(self, engine: Engine, db: Database, actors: dict[str, Actor]):
        self.engine, self.db, self.actors = engine, db, actors

    def start(self, item="GENERAL", applicant="张三", data=None):
        return self.engine.execute(StartCase(item=item, applicant=applicant, data=data or {}),
                                   Actor.applicant(applicant))

    def task_of(self, username: str, number: str | None = None):
        with self.db.reader() as session:
            tasks = [t for t in ready_tasks(session, self.actors[username]) if number is None or t.case.number == number]
        assert tasks, f"{username} has no ready task"
        return tasks[0]

    def complete(self, username: str, data: dict, opinion: str = "", number: str | None = None):
        task = self.task_of(username, number)
        return self.engine.execute(CompleteTask(task=task.id, data=data, opinion=opinion), self.actors[username])


# ---------------------------------------------------------------- the Flask test client

def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def version_of(page: str) -> str:
    return re.search(r'name="task_version" value="(\d+)"', page).group(1)


def login(client, username: str, password: str = DEMO_PASSWORD):
    """Log the test client in through the login form; returns the client."""
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_of(page)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


# ---------------------------------------------------------------- the browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Debian's Chromium, never a downloaded one; quiet and reproducible in a container.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREEN_WIDTHS = (1366, 1024)  # the service-centre desktops, and a small laptop or a split screen
VIEWPORT = {"width": SCREEN_WIDTHS[0], "height": 900}


@contextmanager
def launch_chromium() -> Iterator:
    """Headless Chromium through Playwright; skips the test where Playwright or Chromium is missing
    (``.ci/run`` installs both)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run")
    if not Path(CHROMIUM).exists():  # pragma: no cover - .ci/run installs Debian's chromium
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser):
    """A new browser context (its own cookies) and its page; close the context when done."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    return context, context.new_page()


def browser_login(page, server: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    # the login form's own button: a page that still shows someone signed in has 退出 first
    page.locator("main").get_by_role("button", name="登录").click()
    # each lands on their own first page (web/auth.py ``home_url``): 待办, or 电子监察, 流程版本, 流程设计
    page.wait_for_url(lambda url: url.startswith(server) and "/login" not in url)


def browser_logout(page) -> None:
    page.click("text=退出")


def screenshot(page, name: str) -> list[Path]:
    """Full-page screenshots at each of ``SCREEN_WIDTHS`` into test-artifacts/NAME-WIDTH.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    original = page.viewport_size or VIEWPORT
    paths = []
    for width in SCREEN_WIDTHS:
        page.set_viewport_size({"width": width, "height": original["height"]})
        path = ARTIFACTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    page.set_viewport_size(original)
    return paths


FAILING_IMPACTS = ("serious", "critical")

# axe-core leaves text whose colour equals its background (1:1) "to review" rather than failing
# it, since it may be hidden on purpose; these pages hide nothing that way, so it is a failure.
# It also cannot always work out the background of an inline form inside a table cell; this
# looks at every visible control with text and walks up to the first opaque background.
_UNREADABLE_CONTROLS = """() => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = ({r, g, b}) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = el => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
    if (c && c.a > 0) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
  const path = el => { const parts = []; for (let e = el; e && e !== document.body; e = e.parentElement) {
    parts.unshift(e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '')); }
    return parts.join(' > '); };
  const found = [];
  for (const el of document.querySelectorAll('a, button, input[type=submit], input[type=button], summary')) {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === 'hidden' || style.opacity === '0') continue;
    const label = (el.innerText || el.value || '').trim();
    if (!label) continue;
    const [a, b] = [lum(parse(style.color)), lum(background(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 3) found.push({label, ratio: Math.round(ratio * 100) / 100, color: style.color, target: path(el)});
  }
  return found;
}"""


def check_accessibility(page, name: str) -> None:
    """Run axe-core on the page as it is now; fail listing every serious or critical violation
    (rule, impact, what it asks for, and the selectors of the elements), text the same colour as
    its background, and controls whose text cannot be told from their background. Everything axe
    found, the minor findings and those it leaves to review too, goes to test-artifacts/axe-NAME.json."""
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright",
                                     reason="axe-playwright-python is in the test extra")
    response = axe_module.Axe().run(page).response
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(
        {"url": page.url, "violations": response["violations"], "incomplete": response.get("incomplete", [])},
        ensure_ascii=False, indent=1), encoding="utf-8")
    failing = [(v, v["nodes"]) for v in response["violations"] if v.get("impact") in FAILING_IMPACTS]
    for v in response.get("incomplete", []):
        same_colour = [n for n in v["nodes"] if v["id"] == "color-contrast" and "1:1 contrast" in (n.get("failureSummary") or "")]
        if same_colour:
            failing.append(({**v, "help": "Text is the same colour as its background"}, same_colour))
    lines = []
    for v, nodes in failing:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} — {v.get('helpUrl', '')}")
        for node in nodes:
            target = " ".join(" > ".join(t) if isinstance(t, list) else t for t in node["target"])
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {target}: {summary[:300]}")
    for control in page.evaluate(_UNREADABLE_CONTROLS):
        lines.append(f"- unreadable-control: “{control['label']}” has contrast {control['ratio']}:1 "
                     f"(text {control['color']}) — {control['target']}")
    if lines:
        pytest.fail(f"accessibility problems on {name} ({page.url}):\n" + "\n".join(lines), pytrace=False)


def look_at(page, name: str) -> None:
    """Screenshots at both widths, then the accessibility check."""
    screenshot(page, name)
    check_accessibility(page, name)
