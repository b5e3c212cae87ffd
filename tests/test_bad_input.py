"""Bad input gets a clear Chinese message and changes nothing, through the web, the command line
and the catalogue loader, the same on SQLite and PostgreSQL (issue 11, point 3).

Each row of a table is one bad input; the test takes a snapshot of every table before and after
and asserts they are equal (no new history entries, cases, tasks, messages …)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.exc import DataError

from cli.main import main
from engine import Actor
from engine.commands import StartCase
from engine.errors import BadInput
from engine.catalogue import load_catalogue
from engine.store.models import Base, Item
from web import create_app

from .helpers import BPMN, ROOT, csrf_of, login
from .test_catalogue import CATALOGUE, GOOD, NOW, _catalogue

HUGE = "9" * 30                      # an id beyond 64 bits
BEYOND_INT4 = str(3_000_000_000)     # fits 64 bits, not PostgreSQL's integer
NUL = "申请\x00人"
CJK = re.compile(r"[\u4e00-\u9fff]")
#: logging in writes a session row, and a failed login counts against the address (throttling's
#: bookkeeping, not data): nothing else may change
UNCHANGED_TABLES_SKIP = {"web_sessions", "login_failures"}


def snapshot(db) -> dict[str, list]:
    """Every row of every table (but sessions), in a stable order."""
    out = {}
    with db.reader() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in UNCHANGED_TABLES_SKIP:
                continue
            rows = session.execute(select(table)).all()
            out[table.name] = sorted(repr(tuple(r)) for r in rows)
    return out


@pytest.fixture
def scene(flow):
    """A case at its acceptance step, the task id and the case number."""
    case = flow.start()
    task = flow.task_of("chuangkou")
    return {"task": task.id, "number": case.number}


def assert_clear(text: str, expected: str):
    assert "Traceback" not in text and "File \"" not in text, text
    assert CJK.search(text), f"not a Chinese message: {text!r}"
    assert expected in text, f"expected “{expected}” in: {text[:2000]}"


# ---------------------------------------------------------------- the web

WEB = [  # (name, user, method, url, form, status, expected words)
    ("NUL in the opinion", "chuangkou", "post", "/tasks/{task}/complete",
     {"acceptance": "accept", "opinion": NUL}, 400, "空字符"),
    ("an opinion longer than allowed", "chuangkou", "post", "/tasks/{task}/complete",
     {"acceptance": "accept", "opinion": "长" * 20_000}, 400, "过长"),
    ("NUL in a draft", "chuangkou", "post", "/tasks/{task}/draft",
     {"acceptance": "accept", "opinion": NUL}, 400, "空字符"),
    ("NUL in a choice", "chuangkou", "post", "/tasks/{task}/complete",
     {"acceptance": "acc\x00ept"}, 400, "空字符"),
    ("a task id beyond 64 bits", "chuangkou", "get", f"/tasks/{HUGE}", None, 404, "页面不存在"),
    ("a task id beyond 64 bits, posted", "chuangkou", "post", f"/tasks/{HUGE}/claim", {}, 404, "页面不存在"),
    ("a task id beyond PostgreSQL's integer", "chuangkou", "get", f"/tasks/{BEYOND_INT4}", None, 404, "不存在"),
    ("a page number beyond 64 bits", "chuangkou", "get", f"/?page={HUGE}", None, 200, "待办"),
    ("a page number with thousands of digits", "chuangkou", "get", "/?page=" + "9" * 5000, None, 200, "待办"),
    ("NUL in the search", "chuangkou", "get", "/?q=%00", None, 400, "空字符"),
    ("NUL in a case number", "chuangkou", "get", "/cases/GENERAL%00X", None, 400, "空字符"),
    ("a number of days beyond 64 bits", "chuangkou", "post", "/cases/{number}/suspend",
     {"kind": "hearing", "days": HUGE, "reason": "听证"}, 400, "超出范围"),
    ("a number of days beyond PostgreSQL's integer", "chuangkou", "post", "/cases/{number}/suspend",
     {"kind": "hearing", "days": BEYOND_INT4, "reason": "听证"}, 400, "工作日"),
    ("NUL in a reason", "chuangkou", "post", "/cases/{number}/suspend",
     {"kind": "hearing", "days": "3", "reason": NUL}, 400, "空字符"),
    ("a message id beyond 64 bits", "chuangkou", "post", "/messages/read", {"id": HUGE}, 404, "不存在"),
    ("a message id beyond PostgreSQL's integer", "chuangkou", "post", "/messages/read", {"id": BEYOND_INT4}, 404,
     "不存在"),
    ("NUL in the applicant", "chuangkou", "post", "/first-contact",
     {"subject": "咨询", "applicant": NUL, "department": "minzheng"}, 400, "空字符"),
    ("an applicant longer than its column", "chuangkou", "post", "/first-contact",
     {"subject": "咨询", "applicant": "名" * 300, "department": "minzheng"}, 400, "过长"),
    ("non-UTF-8 bytes in a field", "chuangkou", "post", "/tasks/{task}/transfer",
     b"to=%FF%FE&reason=%FF", 400, "不存在"),
    ("NUL in the backup's name", "chuangkou", "post", "/me/", {"backup": NUL}, 400, "空字符"),
    ("NUL in the login name", None, "post", "/login", {"username": NUL, "password": "x"}, 401, "用户名或密码错误"),
    ("a calendar with NaN", "admin", "post", "/admin/calendar", {"schedule": '{"year": NaN}'}, 400, "NaN"),
    ("a calendar with Infinity", "admin", "post", "/admin/calendar",
     {"schedule": '{"year": 2027, "days_off": [{"date": "2027-01-01", "name": Infinity}]}'}, 400, "Infinity"),
    ("a deeply nested calendar", "admin", "post", "/admin/calendar", {"schedule": "[" * 5_000}, 400, "嵌套过深"),
    ("a calendar number with thousands of digits", "admin", "post", "/admin/calendar",
     {"schedule": '{"year": ' + "9" * 5000 + "}"}, 400, "数字过长"),
    ("NUL in a calendar day's name", "admin", "post", "/admin/calendar",
     {"schedule": '{"year": 2027, "days_off": [{"date": "2027-01-01", "name": "元\\u0000旦"}]}'}, 400, "空字符"),
]


@pytest.mark.parametrize("name,user,method,url,form,status,expected", WEB, ids=[row[0] for row in WEB])
def test_bad_input_on_the_web(seeded, engine, scene, name, user, method, url, form, status, expected):
    app = create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)
    client = app.test_client()
    if user:
        login(client, user)
    url = url.format(**scene)
    token = csrf_of(client.get("/login" if user is None else "/me/").get_data(as_text=True))
    before = snapshot(seeded)
    if method == "get":
        response = client.get(url)
    elif isinstance(form, bytes):
        response = client.post(url, data=form + b"&csrf_token=" + token.encode(),
                               content_type="application/x-www-form-urlencoded")
    else:
        response = client.post(url, data={**form, "csrf_token": token})
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert_clear(response.get_data(as_text=True), expected)
    assert snapshot(seeded) == before


def test_an_unexpected_error_is_a_chinese_page_without_a_traceback(seeded, engine, monkeypatch):
    app = create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)
    client = login(app.test_client(), "chuangkou")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("web.inbox.inbox", broken)
    response = client.get("/")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert_clear(text, "系统内部错误")
    assert "a bug" not in text and "RuntimeError" not in text


# ---------------------------------------------------------------- the command line

DEEP = "[" * 100_000
CLI = [  # (name, arguments, expected words); {task} and {number} from the scene
    ("NaN in --data", ["start", "GENERAL", "--applicant", "张三", "--data", '{"shop": NaN}'], "NaN"),
    ("Infinity in --data", ["start", "GENERAL", "--applicant", "张三", "--data", '{"shop": -Infinity}'], "Infinity"),
    ("a float beyond range in --data", ["start", "GENERAL", "--applicant", "张三", "--data", '{"n": 1e999}'],
     "超出范围"),
    ("a number with thousands of digits", ["start", "GENERAL", "--applicant", "张三",
                                           "--data", '{"n": ' + "9" * 5000 + "}"], "数字过长"),
    ("an integer beyond 64 bits in --data", ["start", "GENERAL", "--applicant", "张三",
                                              "--data", '{"n": ' + HUGE + "}"], "超出范围"),
    ("deeply nested --data", ["start", "GENERAL", "--applicant", "张三", "--data", DEEP], "嵌套过深"),
    ("NUL in --data", ["start", "GENERAL", "--applicant", "张三", "--data", '{"shop": "小\\u0000吃"}'], "空字符"),
    ("NUL in the applicant", ["start", "GENERAL", "--applicant", NUL], "空字符"),
    ("an applicant longer than its column", ["start", "GENERAL", "--applicant", "名" * 300], "过长"),
    ("a non-UTF-8 applicant", ["start", "GENERAL", "--applicant", "\udcff\udcfe"], "UTF-8"),
    ("non-UTF-8 --data", ["start", "GENERAL", "--applicant", "张三", "--data", '{"shop": "\udcff"}'], "UTF-8"),
    ("a task id beyond 64 bits", ["complete", HUGE, "--user", "chuangkou", "--data", "{}"], "超出范围"),
    ("a task id beyond 64 bits to claim", ["claim", HUGE, "--user", "chuangkou"], "超出范围"),
    ("a task id beyond 64 bits to view", ["task", "view", HUGE, "--user", "chuangkou"], "不存在"),
    ("a task id beyond PostgreSQL's integer", ["claim", BEYOND_INT4, "--user", "chuangkou"], "不存在"),
    ("NUL in an opinion, through run", ["run", "complete_task", "--user", "chuangkou", "--input",
                                         '{"task": {task}, "data": {"acceptance": "accept"}, "opinion": "好\\u0000"}'],
     "空字符"),
    ("a task id 1e400, through run", ["run", "claim_task", "--user", "chuangkou", "--input", '{"task": 1e400}'],
     "超出范围"),
    ("days beyond 64 bits, through run", ["run", "suspend_clocks", "--user", "chuangkou", "--input",
                                          '{"case": "{number}", "kind": "hearing", "days": ' + HUGE
                                          + ', "reason": "听证"}'], "超出范围"),
    ("NUL in a case number", ["case", "show", "GENERAL\x00X"], "空字符"),
    ("NUL in a user name", ["claim", "{task}", "--user", "chuang\x00kou"], "空字符"),
    ("a message id beyond 64 bits", ["messages-read", "--user", "chuangkou", "--id", HUGE], "不存在"),
    ("a message id beyond PostgreSQL's integer", ["messages-read", "--user", "chuangkou", "--id", BEYOND_INT4], "不存在"),
    ("an export path in a missing folder", ["case", "export", "{number}", "-o", "/no/such/dir/x.json"], "不存在"),
    ("a user's name longer than its column", ["user", "add", "zhang", "--role", "window_clerk",
                                              "--department", "scjg", "--display-name", "名" * 300], "过长"),
    ("NUL in a department's name", ["department", "add", "newdept", NUL], "空字符"),
    ("an item code longer than its column", ["deploy", str(BPMN / "general_approval.bpmn"), "--item", "X" * 100,
                                             "--department", "scjg"], "过长"),
    ("an item name longer than its column", ["deploy", str(BPMN / "general_approval.bpmn"), "--item", "NEW-ITEM",
                                             "--department", "scjg", "--name", "名" * 300], "过长"),
]


@pytest.mark.slow  # like tests/test_cli.py: the command line is in the full run (each row ≈ 0.2 s)
@pytest.mark.parametrize("name,args,expected", CLI, ids=[row[0] for row in CLI])
def test_bad_input_on_the_command_line(seeded, scene, name, args, expected):
    args = [a.replace("{task}", str(scene["task"])).replace("{number}", scene["number"]) for a in args]
    before = snapshot(seeded)
    result = CliRunner().invoke(main, ["--db", seeded.url, *args])
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code == 1, output
    assert isinstance(result.exception, (SystemExit, type(None))), repr(result.exception)
    assert_clear(output, expected)
    assert snapshot(seeded) == before


@pytest.mark.parametrize("name,text,expected", [
    ("NaN", '{"format": NaN}', "NaN"),
    ("deep nesting", DEEP, "嵌套过深"),
    ("a number with thousands of digits", '{"n": ' + "9" * 5000 + "}", "数字过长"),
    ("not UTF-8", b'{"format": "\xff"}', "UTF-8"),
], ids=["NaN", "deep", "digits", "not-utf8"])
def test_bad_history_files_for_replay(seeded, tmp_path, name, text, expected):
    path = tmp_path / "history.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    before = snapshot(seeded)
    result = CliRunner().invoke(main, ["--db", seeded.url, "replay", str(path)])
    assert result.exit_code == 1, result.output
    assert_clear(result.output + result.stderr, expected)
    assert snapshot(seeded) == before


@pytest.mark.slow
def test_non_utf8_arguments_from_a_real_shell(seeded, scene):
    """The operating system passes bytes: Python turns undecodable ones into surrogates."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "APPROVALS_DATABASE_URL": seeded.url, "LANG": "C.UTF-8",
           "LC_ALL": "C.UTF-8"}
    before = snapshot(seeded)
    for args in ([b"start", b"GENERAL", b"--applicant", b"\xff\xfe"],
                 [b"case", b"show", b"GENERAL-\xff"],
                 [b"run", b"\xff", b"--user", b"chuangkou"]):
        done = subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, cwd=ROOT)
        err = done.stderr.decode("utf-8")
        assert done.returncode == 1, err
        assert "Traceback" not in err and err.startswith("错误："), err
    assert snapshot(seeded) == before


# ---------------------------------------------------------------- the catalogue loader

CATALOGUE_CASES = [  # (name, how GOOD is broken, line, expected words)
    ("duplicate keys", lambda t: t.replace("name: 食品经营许可", "name: 食品经营许可\nname: 另一个名字", 1), None, "重复的键"),
    ("deep nesting", lambda t: t + "summary: " + "[" * 10_000 + "]" * 10_000 + "\n", None, "嵌套过深"),
    ("a number with thousands of digits", lambda t: t.replace("statutory_days: 20", "statutory_days: " + "9" * 5000),
     None, "数字过长"),
    ("an integer beyond 64 bits", lambda t: t.replace("statutory_days: 20", "statutory_days: " + HUGE),
     None, "超出范围"),
    ("NaN", lambda t: t.replace("statutory_days: 20", "statutory_days: .nan"), None, "有限的数字"),
    ("Infinity", lambda t: t.replace("statutory_days: 20", "statutory_days: .inf"), None, "inf"),
    ("NUL in text", lambda t: t.replace("name: 食品经营许可", 'name: "食品\\0经营许可"', 1), None, "空字符"),
]


@pytest.mark.parametrize("name,breaks,line,expected", CATALOGUE_CASES, ids=[row[0] for row in CATALOGUE_CASES])
def test_a_bad_catalogue_file_is_refused_with_its_line_and_the_rest_loads(seeded, tmp_path, name, breaks, line,
                                                                           expected):
    assert "statutory_days: 20" in GOOD and "name: 食品经营许可" in GOOD
    marriage = (CATALOGUE / "marriage_registration.yaml").read_text(encoding="utf-8")
    broken = breaks(GOOD)
    folder = _catalogue(tmp_path, {
        "food_business_licence.yaml": broken,
        "marriage_registration.yaml": marriage.replace("name: 结婚登记（内地居民）", "name: 结婚登记（新名称）", 1),
    })
    before = snapshot(seeded)
    report = load_catalogue(seeded, folder, BPMN, loaded_by="admin", at=NOW)
    refused = {e.file: e for e in report.refused}
    assert set(refused) == {"food_business_licence.yaml"}, report.to_dict()
    error = refused["food_business_licence.yaml"]
    assert_clear(error.message, expected)
    assert error.message.startswith("food_business_licence.yaml:") and error.line, error.message
    assert [r["file"] for r in report.loaded] == ["marriage_registration.yaml"]
    after = snapshot(seeded)
    assert after["items"] != before["items"]  # the other file loaded
    with seeded.reader() as session:
        assert session.scalar(select(Item.name).where(Item.code == "SCJG-SPJY")) == "食品经营许可"
    for table in ("cases", "case_history", "tasks", "messages", "process_versions"):
        assert after[table] == before[table]


# ---------------------------------------------------------------- the safety net in Engine.execute

def test_a_database_refusal_the_checks_missed_is_bad_input_and_changes_nothing(seeded, engine, actors, monkeypatch,
                                                                                 caplog):
    def refused(self, ctx, case):
        raise DataError("INSERT …", {}, Exception("value too long for type character varying(255)"))

    monkeypatch.setattr(StartCase, "apply", refused)
    before = snapshot(seeded)
    with pytest.raises(BadInput, match="无法保存"):
        engine.execute(StartCase(item="GENERAL", applicant="张三"), Actor.applicant("张三"))
    assert snapshot(seeded) == before
    assert "a missing input check" in caplog.text  # logged: a real bug is not hidden


def test_terminal_control_characters_are_refused_like_nul(flow):
    """An escape sequence in a name would set a clerk's terminal title or clear the screen when
    the CLI prints it: control characters other than tab and newline are refused on input."""
    from engine.commands import StartCase
    from engine.errors import BadInput

    before = snapshot(flow.db)
    for name in ("x\x1b]0;pwned\x07", "a\x01b", "a\x9bb"):
        with pytest.raises(BadInput, match="控制字符"):
            flow.engine.execute(StartCase(item="GENERAL", applicant=name), flow.actors["chuangkou"])
    assert snapshot(flow.db) == before


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path):
    import stat

    from engine import Database

    database = Database(f"sqlite:///{tmp_path / 'new.db'}")
    database.create_schema()
    assert stat.S_IMODE((tmp_path / "new.db").stat().st_mode) == 0o600
    database.dispose()
