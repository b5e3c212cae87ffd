"""The approvals command line, as a designer or tester would use it."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import main

from .conftest import BPMN

pytestmark = [pytest.mark.slow, pytest.mark.cli]  # each test makes and seeds its database through the CLI


@pytest.fixture
def run(db):
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(main, ["--db", db.url, *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result

    return invoke


@pytest.fixture
def sim(run):
    run("init-db", "--simulation")
    run("demo")
    return run


def test_a_case_from_start_to_end_with_json_shapes(sim):
    number = sim("start", "GENERAL", "--applicant", "张三", "--data", '{"shop": "小吃店"}',
                 "--now", "2026-03-02T09:00").stdout.strip()
    assert number == "GENERAL-20260302-00001"
    tasks = json.loads(sim("tasks", "--user", "chuangkou", "--json").stdout)
    assert [(t["case"], t["element"], t["role"], t["department"]) for t in tasks] == [
        (number, "accept_application", "window_clerk", "scjg")]
    assert json.loads(sim("tasks", "--user", "shencha", "--json").stdout) == []
    done = json.loads(sim("complete", str(tasks[0]["id"]), "--user", "chuangkou", "--data", '{"acceptance": "accept"}',
                          "--opinion", "材料齐全", "--now", "2026-03-02T10:00", "--json").stdout)
    assert done["state"] == "completed" and done["opinion"] == "材料齐全" and done["completed_by"] == "chuangkou"
    case = json.loads(sim("case", "show", number, "--json").stdout)
    assert case["state"] == "running" and case["commands"] == 2
    assert [t["element"] for t in case["tasks"] if t["state"] == "ready"] == ["review"]
    history = json.loads(sim("case", "history", number, "--json").stdout)
    assert [(h["seq"], h["command"], h["actor"], h["at"]) for h in history] == [
        (1, "start_case", "applicant:张三", "2026-03-02T09:00:00+08:00"),
        (2, "complete_task", "chuangkou", "2026-03-02T10:00:00+08:00")]
    text = sim("case", "history", number).stdout
    assert "complete_task" in text and "chuangkou" in text


def test_now_is_refused_on_a_normal_database(run):
    run("init-db")
    run("demo")
    result = run("start", "GENERAL", "--applicant", "张三", "--now", "2026-03-02T09:00", ok=False)
    assert result.exit_code == 1 and "--simulation" in result.stderr


def test_time_earlier_than_the_last_event_is_refused(sim):
    sim("start", "GENERAL", "--applicant", "张三", "--now", "2026-03-02T09:00")
    task = json.loads(sim("tasks", "--json").stdout)[0]
    result = sim("complete", str(task["id"]), "--user", "chuangkou", "--data", '{"acceptance": "accept"}',
                 "--now", "2026-03-01T09:00", ok=False)
    assert result.exit_code == 1 and "倒退" in result.stderr


def test_malformed_data_json_is_refused_and_changes_nothing(sim):
    sim("start", "GENERAL", "--applicant", "张三", "--now", "2026-03-02T09:00")
    task = json.loads(sim("tasks", "--json").stdout)[0]
    result = sim("complete", str(task["id"]), "--user", "chuangkou", "--data", "{acceptance: accept",
                 "--now", "2026-03-02T10:00", ok=False)
    assert result.exit_code == 1 and "不是有效的 JSON" in result.stderr and "第 1 行" in result.stderr
    result = sim("start", "GENERAL", "--applicant", "李四", "--data", "[1, 2]", ok=False)
    assert result.exit_code == 1 and "JSON 对象" in result.stderr
    assert json.loads(sim("tasks", "--json").stdout)[0]["state"] == "ready"
    assert len(json.loads(sim("case", "history", task["case"], "--json").stdout)) == 1


def test_deploy_is_idempotent_and_invalid_files_store_nothing(run, tmp_path):
    run("init-db")
    run("demo")
    again = run("deploy", str(BPMN / "general_approval.bpmn"), "--item", "GENERAL", "--json")
    assert json.loads(again.stdout)["created"] is False
    bad = tmp_path / "broken.bpmn"
    bad.write_text((BPMN / "general_approval.bpmn").read_text(encoding="utf-8").replace(
        'acceptance == "accept"', "__import__('os').getcwd()"), encoding="utf-8")
    result = run("deploy", str(bad), "--item", "NEWITEM", "--department", "scjg", ok=False)
    assert result.exit_code == 1
    assert "broken.bpmn:" in result.stderr and "f_gw_review" in result.stderr
    result = run("start", "NEWITEM", "--applicant", "张三", ok=False)
    assert result.exit_code == 1 and "不存在" in result.stderr


def test_lint_reports_file_line_element_and_reason(run, tmp_path):
    assert "通过" in run("lint", str(BPMN / "general_approval.bpmn")).stdout
    bad = tmp_path / "bad.bpmn"
    bad.write_text((BPMN / "general_approval.bpmn").read_text(encoding="utf-8").replace(
        "parallelGateway", "x").replace('<bpmn:userTask id="decide" name="决定">',
                                         '<bpmn:complexGateway id="decide" name="决定">').replace(
        '<bpmn:outgoing>f_decide_end</bpmn:outgoing>\n    </bpmn:userTask>',
        '<bpmn:outgoing>f_decide_end</bpmn:outgoing>\n    </bpmn:complexGateway>'), encoding="utf-8")
    result = run("lint", str(bad), "--json", ok=False)
    assert result.exit_code == 1
    report = json.loads(result.stdout)[0]
    assert report["ok"] is False and report["element"] == "decide" and report["line"] > 1
    assert report["file"].endswith("bad.bpmn") and "complexGateway" in report["reason"]


def test_users_and_departments(run):
    run("init-db")
    run("department", "add", "qx", "某区政府", "--level", "county")
    run("department", "add", "qx_mz", "区民政局", "--parent", "qx", "--level", "county")
    run("user", "add", "xiaoli", "--role", "审查员", "--role", "head", "--department", "qx_mz", "--password", "pw")
    users = json.loads(run("users", "--json").stdout)
    assert users == [{"username": "xiaoli", "display_name": "xiaoli", "department": "qx_mz",
                      "department_name": "区民政局", "roles": ["head", "reviewer"], "active": True}]
    result = run("user", "add", "bad", "--role", "保安", "--department", "qx_mz", ok=False)
    assert result.exit_code == 1 and "未知角色" in result.stderr


def test_calendar_add_and_between(run):
    run("init-db")
    assert run("calendar", "add", "2026-09-28", "5").stdout.strip() == "2026-10-10"
    assert run("calendar", "add", "2026-09-28", "20").stdout.strip() == "2026-10-30"
    assert run("calendar", "between", "2026-09-28", "2026-10-10").stdout.strip() == "5"
    provisional = json.loads(run("calendar", "add", "2026-12-28", "10", "--json").stdout)
    assert provisional == {"date": "2027-01-12", "provisional": True, "unknown_years": [2027]}
    assert "暂定" in run("calendar", "add", "2026-12-28", "10").stdout


def test_time_limits_from_the_command_line(sim, tmp_path):
    number = sim("start", "GENERAL", "--applicant", "李四", "--now", "2026-03-02T09:00").stdout.strip()
    sim("case", "supplement", number, "--material", "营业执照副本", "--material", "场所平面图",
        "--user", "chuangkou", "--now", "2026-03-03T10:00")
    sim("case", "receive", number, "--user", "chuangkou", "--now", "2026-03-05T10:00")
    report = json.loads(sim("timers", "run", "--now", "2026-03-12T08:00", "--json").stdout)
    assert report["fired"] == 1 and report["failed"] == []  # the new acceptance period's warning
    clocks = json.loads(sim("case", "deadlines", number, "--json").stdout)
    assert [(c["key"], c["state"]) for c in clocks] == [("acceptance", "stopped"), ("acceptance.2", "running")]
    assert "暂定" not in sim("case", "deadlines", number).stdout
    inbox = json.loads(sim("messages", "--user", "chuangkou", "--json").stdout)
    assert inbox[0]["title"].startswith("【预警】") and inbox[0]["case"] == number

    limits = json.loads(sim("item", "limits", "GENERAL", "--set", '{"statutory_days": 15, "promised_days": 5}',
                            "--json").stdout)
    assert limits["statutory_days"] == 15 and limits["promised_days"] == 5
    refused = sim("item", "limits", "GENERAL", "--set", '{"statutory_days": 5, "promised_days": 8}', ok=False)
    assert refused.exit_code == 1 and "承诺时限" in refused.stderr


def test_calendar_import_from_a_file(sim, tmp_path):
    file = tmp_path / "2027.json"
    file.write_text(json.dumps({"year": 2027, "source": "测试",
                                "days_off": [{"from": "2027-02-06", "to": "2027-02-12", "name": "春节"}],
                                "makeup_days": [{"date": "2027-02-14", "name": "春节调休"}]}), encoding="utf-8")
    assert "暂定" in sim("calendar", "add", "2027-02-01", "10").stdout
    out = sim("calendar", "import", str(file)).stdout
    assert "已导入 2027 年：放假 7 天，调休上班 1 天" in out
    answer = json.loads(sim("calendar", "add", "2027-02-01", "10", "--json").stdout)
    assert answer == {"date": "2027-02-19", "provisional": False, "unknown_years": []}
    years = json.loads(sim("calendar", "years", "--json").stdout)
    assert years[0]["year"] == 2027 and years[0]["days_off"] == 7
    file.write_text('{"year": 2027, "makeup_days": [{"date": "2027-02-15"}]}', encoding="utf-8")
    refused = sim("calendar", "import", str(file), ok=False)
    assert refused.exit_code == 1 and "不是周末" in refused.stderr


def test_ab_post_from_the_command_line(sim):
    refused = sim("user", "away", "shencha", ok=False)
    assert refused.exit_code == 1 and "B 岗" in refused.stderr
    assert "shencha_b" in sim("user", "backup", "shencha", "--to", "shencha_b").stdout
    assert "已离岗" in sim("user", "away", "shencha").stdout
    assert "已回岗" in sim("user", "away", "shencha", "--back").stdout
    wrong = sim("user", "backup", "shencha", "--to", "chuangkou", ok=False)
    assert wrong.exit_code == 1 and "相同的岗位角色" in wrong.stderr


def test_every_web_operation_runs_from_the_command_line(sim):
    """`approvals run TYPE` drives any command as the web would: same policy, same history."""
    listed = {c["type"]: c for c in json.loads(sim("commands", "--json").stdout)}
    assert listed["return_task"]["label"] == "退回" and listed["return_task"]["policy"] == "task_handler"
    number = sim("start", "GENERAL", "--applicant", "张三", "--now", "2026-03-02T09:00").stdout.strip()
    task = json.loads(sim("tasks", "--user", "chuangkou", "--json").stdout)[0]
    view = json.loads(sim("task", "view", str(task["id"]), "--user", "chuangkou", "--json").stdout)
    assert {"complete_task", "save_draft", "claim_task", "request_supplement"} <= set(view["operations"])
    assert "release_task" not in view["operations"] and view["form"] == ["acceptance"]
    sim("run", "claim_task", "--user", "chuangkou", "--input", json.dumps({"task": task["id"]}),
        "--now", "2026-03-02T09:10")
    sim("run", "complete_task", "--user", "chuangkou", "--now", "2026-03-02T09:20",
        "--input", json.dumps({"task": task["id"], "data": {"acceptance": "accept"}, "opinion": "齐全"}))
    review = json.loads(sim("tasks", "--user", "shencha", "--json").stdout)[0]
    sim("run", "delegate_task", "--user", "shencha", "--now", "2026-03-02T10:00",
        "--input", json.dumps({"task": review["id"], "to": "mz_shencha"}))
    refused = sim("run", "return_task", "--user", "mz_shencha", "--now", "2026-03-02T10:10",
                  "--input", json.dumps({"task": review["id"], "to": "accept_application", "reason": "退回"}),
                  ok=False)
    assert refused.exit_code == 1 and "交回委派人" in refused.stderr
    delegated = json.loads(sim("task", "view", str(review["id"]), "--user", "mz_shencha", "--json").stdout)
    assert [w["kind"] for w in delegated["why"]] == ["delegate"] and "李审查" in delegated["why"][0]["text"]
    assert delegated["earlier"][0]["records"] == [{"label": "受理意见", "value": "予以受理"}]
    sim("run", "hand_back_task", "--user", "mz_shencha", "--now", "2026-03-02T10:20",
        "--input", json.dumps({"task": review["id"], "opinion": "经核实符合"}))
    history = json.loads(sim("case", "history", number, "--json").stdout)
    assert [h["command"] for h in history] == ["start_case", "claim_task", "complete_task", "delegate_task",
                                               "hand_back_task"]
    assert history[2]["inputs"]["opinion"] == "齐全" and history[4]["inputs"]["opinion"] == "经核实符合"
    unread = json.loads(sim("messages", "--user", "shencha", "--unread", "--json").stdout)
    assert unread and json.loads(sim("messages-read", "--user", "shencha", "--json").stdout)["marked"] == len(unread)
    assert json.loads(sim("messages", "--user", "shencha", "--unread", "--json").stdout) == []
    bad = sim("run", "no_such_command", "--user", "shencha", ok=False)
    assert bad.exit_code == 1 and "approvals commands" in bad.stderr
