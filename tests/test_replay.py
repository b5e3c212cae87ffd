"""Export and replay: identical against the own version, divergences located, bad files refused,
the same on SQLite and PostgreSQL, again and again."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import main
from engine.errors import BadInput
from engine.replay import Replayer, load_history, replay

from .conftest import BPMN
from .histories.scenarios import HERE, SCENARIOS, dump, record

pytestmark = [pytest.mark.slow, pytest.mark.replay]

GENERAL = (BPMN / "general_approval.bpmn").read_text(encoding="utf-8")


def shipped(name: str) -> dict:
    return load_history((HERE / f"{name}.json").read_bytes())


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_recording_a_scenario_again_gives_the_shipped_history(db, name):
    """The same commands give the same history on this database (SQLite or PostgreSQL) as the
    shipped file recorded on SQLite: replay is deterministic across databases."""
    assert dump(record(db, name)) == (HERE / f"{name}.json").read_text(encoding="utf-8")


def test_replaying_twice_and_in_any_order_gives_the_same_result():
    replayer = Replayer()
    names = sorted(SCENARIOS)
    first = [replayer.replay(shipped(n)).to_dict() for n in names]
    second = [replayer.replay(shipped(n)).to_dict() for n in reversed(names)]
    assert first == list(reversed(second)) and all(r["same"] for r in first)


def test_a_revision_that_only_renames_labels_replays_identically():
    renamed = GENERAL.replace('name="审查"', 'name="材料审查"').replace('name="决定"', 'name="审批决定"')
    assert renamed != GENERAL
    result = replay(shipped("straight_grant"), renamed.encode("utf-8"), "renamed.bpmn")
    assert result.same and result.replayed == 4


# A second review (复核) between 审查 and 决定.
WITH_RECHECK = GENERAL.replace(
        '<bpmn:sequenceFlow id="f_review_decide" sourceRef="review" targetRef="decide" />',
        '<bpmn:sequenceFlow id="f_review_recheck" sourceRef="review" targetRef="recheck" />'
        '<bpmn:userTask id="recheck" name="复核"><bpmn:incoming>f_review_recheck</bpmn:incoming>'
        '<bpmn:outgoing>f_recheck_decide</bpmn:outgoing></bpmn:userTask>'
        '<bpmn:sequenceFlow id="f_recheck_decide" sourceRef="recheck" targetRef="decide" />'
    ).replace('<bpmn:flowNodeRef>review</bpmn:flowNodeRef>',
              '<bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>recheck</bpmn:flowNodeRef>'
    ).replace('<bpmn:incoming>f_review_decide</bpmn:incoming>', '<bpmn:incoming>f_recheck_decide</bpmn:incoming>')


def test_a_revision_that_adds_a_step_diverges_at_the_right_command():
    result = replay(shipped("straight_grant"), WITH_RECHECK.encode("utf-8"), "revised.bpmn")
    assert not result.same and result.replayed == 2
    divergence = result.divergence
    assert (divergence.seq, divergence.command, divergence.what) == (3, "complete_task", "待办任务")
    message = divergence.message()
    assert "第 3 条命令“办理”（李审查，2026-" in message  # the name, not the login
    assert "预期：决定（decide，市市场监督管理局，负责人）" in message and "实际：复核（recheck，市市场监督管理局，审查员）" in message


def test_a_command_the_candidate_cannot_accept_is_a_divergence_not_a_crash():
    revised = GENERAL.replace('<camunda:value id="pass" name="符合条件" />', '<camunda:value id="ok" name="符合条件" />')
    result = replay(shipped("straight_grant"), revised.encode("utf-8"), "revised.bpmn")
    assert result.divergence.seq == 3 and "被拒绝" in result.divergence.what and "pass" in result.divergence.what


@pytest.mark.parametrize("text, reason", [
    ("{broken", "不是有效的 JSON"),
    ('{"format": "something-else"}', "format"),
    ('{"format": "approvals-history/2", "case": {}}', "缺少"),
    ('{"format": "approvals-history/1", "case": {}}', "旧格式"),
])
def test_a_broken_history_file_gets_a_clear_error(text, reason):
    with pytest.raises(BadInput) as caught:
        load_history(text)
    assert reason in caught.value.message


def test_a_history_with_a_missing_command_gets_a_clear_error():
    history = shipped("straight_grant")
    del history["commands"][1]
    with pytest.raises(BadInput) as caught:
        load_history(json.dumps(history))
    assert "序号" in caught.value.message


def test_a_tampered_observation_is_found():
    history = shipped("inspection_pause")
    red = next(d for d in history["commands"][2]["observed"]["deadlines"] if d["key"] == "decision/red")
    red["due_on"] = "2026-04-01"
    result = replay(history)
    assert result.divergence.seq == 3 and result.divergence.what == "待触发的期限"
    assert "decision/red 2026-04-01 paused" in result.divergence.message()


# ---------------------------------------------------------------- the command line

@pytest.fixture
def cli(db):
    runner = CliRunner()

    def invoke(*args, code=0):
        result = runner.invoke(main, ["--db", db.url, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output + result.stderr
        return result

    invoke("init-db", "--simulation")
    invoke("demo")
    return invoke


def _run_case(cli) -> str:
    number = cli("start", "GENERAL", "--applicant", "张三", "--now", "2026-03-02T09:00").stdout.strip()
    for user, data, when in (("chuangkou", '{"acceptance": "accept"}', "2026-03-02T10:00"),
                             ("shencha", '{"review_result": "pass"}', "2026-03-03T10:00")):
        task = json.loads(cli("tasks", "--user", user, "--json").stdout)[0]["id"]
        cli("complete", str(task), "--user", user, "--data", data, "--now", when)
    return number


def test_export_and_replay_from_the_command_line(cli, tmp_path):
    number = _run_case(cli)
    out = tmp_path / "case.json"
    assert "3 条命令" in cli("case", "export", number, "-o", str(out)).stdout
    assert "3 条命令重放一致" in cli("replay", str(out)).stdout
    assert "重放一致" in cli("replay", number).stdout
    assert json.loads(cli("replay", number, "--against", "1", "--json").stdout)["same"] is True

    revised = tmp_path / "revised.bpmn"
    revised.write_text(GENERAL.replace('<camunda:value id="pass" name="符合条件" />',
                                       '<camunda:value id="ok" name="符合条件" />'), encoding="utf-8")
    diverged = cli("replay", str(out), "--against", str(revised), code=1)
    assert "第 3 条命令" in diverged.stderr and "被拒绝" in diverged.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert "不是有效的 JSON" in cli("replay", str(broken), code=1).stderr


def test_batch_replay_of_an_item_against_a_candidate(cli, tmp_path):
    first = _run_case(cli)
    second = cli("start", "GENERAL", "--applicant", "李四", "--now", "2026-03-04T09:00").stdout.strip()
    same = tmp_path / "same.bpmn"
    same.write_text(GENERAL.replace('name="审查"', 'name="材料审查"'), encoding="utf-8")
    report = json.loads(cli("replay", "--item", "GENERAL", "--against", str(same), "--json").stdout)
    assert (report["same"], report["diverged"], report["failed"]) == (2, 0, 0)

    stricter = tmp_path / "stricter.bpmn"
    stricter.write_text(GENERAL.replace('<camunda:value id="pass" name="符合条件" />',
                                        '<camunda:value id="ok" name="符合条件" />'), encoding="utf-8")
    result = cli("replay", "--item", "GENERAL", "--against", str(stricter), code=1)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(first) and "分歧" in lines[0] and "第 3 条命令" in lines[0]
    assert lines[1].startswith(second) and "一致" in lines[1]
    assert lines[-1].startswith("共 2 件：一致 1，分歧 1，失败 0（1 个进程，每秒 ")
    bad = tmp_path / "bad.bpmn"
    bad.write_text("<x/>", encoding="utf-8")
    assert "BPMN" in cli("replay", "--item", "GENERAL", "--against", str(bad), code=1).stderr


def test_batch_replay_in_several_processes_gives_the_same_report(cli, tmp_path):
    """--jobs 2 spreads the cases over two worker processes (each reading its cases from the
    database); the rows, their order and the exit code are those of the one-process run."""
    first = _run_case(cli)
    for n, name in enumerate(("李四", "王五", "赵六")):
        cli("start", "GENERAL", "--applicant", name, "--now", f"2026-03-0{4 + n}T09:00")
    stricter = tmp_path / "stricter.bpmn"
    stricter.write_text(GENERAL.replace('<camunda:value id="pass" name="符合条件" />',
                                        '<camunda:value id="ok" name="符合条件" />'), encoding="utf-8")
    serial = json.loads(cli("replay", "--item", "GENERAL", "--against", str(stricter), "--jobs", "1", "--json",
                            code=1).stdout)
    parallel = json.loads(cli("replay", "--item", "GENERAL", "--against", str(stricter), "--jobs", "2", "--json",
                              code=1).stdout)
    assert (serial["processes"], parallel["processes"]) == (1, 2)
    assert parallel["cases"] == serial["cases"] and len(parallel["cases"]) == 4
    assert [c["outcome"] for c in parallel["cases"]] == ["diverged", "same", "same", "same"]
    assert parallel["cases"][0]["case"] == first and parallel["histories_per_s"] > 0
    text = cli("replay", "--item", "GENERAL", "--against", str(stricter), "--jobs", "2", code=1).stdout
    assert text.splitlines()[-1].startswith("共 4 件：一致 3，分歧 1，失败 0（2 个进程，每秒 ")


def test_batch_replay_shows_what_was_expected_and_what_happened(cli, tmp_path):
    """As the single-case mode does: the command once, then the ready tasks expected and found,
    with people's and departments' names."""
    first = _run_case(cli)
    revised = tmp_path / "recheck.bpmn"
    revised.write_text(WITH_RECHECK, encoding="utf-8")
    lines = cli("replay", "--item", "GENERAL", "--against", str(revised), code=1).stdout.splitlines()
    assert lines[0].startswith(first) and "分歧" in lines[0]
    assert lines[0].count("第 3 条命令") == 1 and "“办理”（李审查，2026-03-03 10:00）之后待办任务不同：" in lines[0]
    assert lines[1].strip() == "预期：决定（decide，市市场监督管理局，负责人）"
    assert lines[2].strip() == "实际：复核（recheck，市市场监督管理局，审查员）"
    assert lines[-1].startswith("共 1 件：一致 0，分歧 1，失败 0")
