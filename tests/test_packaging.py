"""Start-up and packaging: demo data only when asked for, and a built wheel that runs by itself
(catalogue, diagrams, templates, static files and migrations inside it)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli.main import main
from engine import content
from engine.store.models import Item, User

from .conftest import ROOT


# ---------------------------------------------------------------- serve, without a server

@pytest.fixture
def serve(db, monkeypatch):
    """``approvals serve`` up to the point where it would start serving."""
    import flask
    import timers.scheduler

    class NoScheduler:
        def shutdown(self, wait=True):
            pass

    monkeypatch.setattr(flask.Flask, "run", lambda self, **kwargs: None)
    monkeypatch.setattr(timers.scheduler, "start_background", lambda engine, interval: NoScheduler())

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(main, ["--db", db.url, "serve", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def counts(db) -> tuple[int, int]:
    with db.reader() as session:
        return (session.scalar(select(func.count()).select_from(User)),
                session.scalar(select(func.count()).select_from(Item)))


def test_serve_never_creates_users_without_demo(serve, db):
    out = serve()
    assert "demo123" not in out
    assert "还没有用户" in out and "approvals user add admin --role admin" in out
    assert "开发服务器" in out and "waitress-serve --call web:create_app" in out and "approvals db upgrade" in out
    assert counts(db) == (0, 0)


def test_serve_demo_loads_the_demo_into_an_empty_database_once(serve, db):
    out = serve("--demo", "--no-demo-cases")  # the demo cases: tests/test_demo_cases.py
    from engine.catalogue import item_files

    users, items = counts(db)
    assert users > 20 and items == len(item_files(content.catalogue())) >= 10
    assert "已加载演示数据" in out and "demo123" in out and "chuangkou" in out and "演示办件" not in out
    again = serve("--demo")
    assert "已加载演示数据" not in again and "chuangkou" in again and counts(db) == (users, items)
    assert "chuangkou" in serve()  # a plain serve on a demo database still says what it is


def test_the_shipped_catalogue_names_only_shipped_diagrams():
    from engine.catalogue import item_files, read_entry

    files = item_files(content.catalogue())
    assert len(files) == len(list((ROOT / "processes").glob("*.yaml"))) >= 10
    for file in files:
        entry = read_entry(file.read_bytes(), file.name)
        assert (content.diagrams() / entry.data["process"]).is_file(), file.name


# ---------------------------------------------------------------- the wheel

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _source_copy(dest: Path) -> Path:
    """The files git tracks (what a clean checkout has), so nothing local leaks into the wheel."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
        names = [n for n in listed.decode().split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()
                 and not any(part in {".git", "build", "instance", "__pycache__"} or part.endswith(".egg-info")
                             for part in p.relative_to(ROOT).parts)]
    for name in names:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> tuple[int, str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode("utf-8")
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {seconds} s")


def _stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        out, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out


@pytest.mark.slow
def test_a_built_wheel_serves_from_a_fresh_environment(tmp_path):
    source = _source_copy(tmp_path / "src")
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels), str(source)], check=True, capture_output=True, text=True)
    [wheel] = wheels.glob("approvals-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python, approvals = venv / "bin" / "python", venv / "bin" / "approvals"
    # --ignore-installed: the editable install of the checkout is visible through the system
    # site-packages; the wheel goes into the venv beside it and is what the venv imports.
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", str(wheel)],
                   check=True, capture_output=True, text=True)

    work = tmp_path / "work"  # an unrelated working directory: no processes/ or bpmn/ here
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "APPROVALS_DATABASE_URL")}

    def run(*args: str) -> str:
        done = subprocess.run([str(approvals), *args], cwd=work, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    where = subprocess.run([str(python), "-c", "import engine, engine.content, engine.store.migrations, web; "
                            "print(engine.__file__); print(engine.content.catalogue()); print(web.__file__)"],
                           cwd=work, env=env, check=True, capture_output=True, text=True).stdout.split()
    site = str(venv / "lib")
    assert all(path.startswith(site) for path in where), where

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    port = _free_port()
    server = subprocess.Popen([str(approvals), "--db", url, "serve", "--demo", "--port", str(port)], cwd=work,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        status, page = _wait_for(f"http://127.0.0.1:{port}/login", server)
        assert status == 200 and 'lang="zh-CN"' in page and "工作人员登录" in page
        status, css = _wait_for(f"http://127.0.0.1:{port}/static/app.css", server)
        assert status == 200 and css
    finally:
        out = _stop(server)
    assert "已加载演示数据" in out and "开发服务器" in out, out

    items = json.loads(run("--db", url, "catalogue", "list", "--json"))
    assert len(items) == len(list((ROOT / "processes").glob("*.yaml")))
    assert json.loads(run("--db", url, "db", "current", "--json"))["up_to_date"] is True

    empty = f"sqlite:///{tmp_path / 'production.db'}"
    port = _free_port()
    server = subprocess.Popen([str(approvals), "--db", empty, "serve", "--port", str(port)], cwd=work, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/login", server)[0] == 200
    finally:
        out = _stop(server)
    assert "还没有用户" in out and "demo123" not in out, out
    assert json.loads(run("--db", empty, "users", "--json")) == []
