"""回放测试 in the browser (engine/replay_check.py, web/replay.py): an item's recorded cases replayed
against a version or a draft, the diverging ones first; one exported history file against its own
version; only designers and administrators."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.designs import save_draft
from engine.errors import BadInput, NotAllowed, NotFound
from engine.replay import export_case
from engine.replay_check import replay_file, replay_item_cases, targets
from engine.store.models import Case

from .conftest import BPMN
from .helpers import browser_login, look_at

GENERAL = (BPMN / "general_approval.bpmn").read_text(encoding="utf-8")
#: the review's "pass" renamed: a reviewed case diverges at its third command
STRICTER = GENERAL.replace('<camunda:value id="pass" name="符合条件" />', '<camunda:value id="ok" name="符合条件" />')


@pytest.fixture
def three_cases(flow, clock):
    """GENERAL cases left started, accepted and reviewed; a draft under which the reviewed one diverges."""
    started = flow.start(applicant="甲").number
    accepted = flow.start(applicant="乙").number
    flow.complete("chuangkou", {"acceptance": "accept"}, "材料齐全", number=accepted)
    reviewed = flow.start(applicant="丙").number
    flow.complete("chuangkou", {"acceptance": "accept"}, "材料齐全", number=reviewed)
    flow.complete("shencha", {"review_result": "pass"}, "符合条件", number=reviewed)
    with flow.db.transaction() as session:
        draft, _report = save_draft(session, flow.actors["sheji"], STRICTER, at=clock.now(), item_code="GENERAL",
                                    filename="general_stricter.bpmn")
        draft_id = draft.id
    return started, accepted, reviewed, draft_id


def test_an_items_cases_replay_against_its_version_and_a_draft(flow, three_cases):
    started, accepted, reviewed, draft = three_cases
    with flow.db.reader() as session:
        offered = targets(session, "GENERAL")
    assert [o["value"] for o in offered["options"]] == ["v1", f"d{draft}"] and offered["cases"] == 3
    assert offered["options"][0]["label"] == "第 1 版（当前版本）"
    same = replay_item_cases(flow.db, flow.actors["sheji"], "GENERAL", "v1")
    assert same.counts() == {"same": 3, "diverged": 0, "failed": 0} and same.total == 3
    stricter = replay_item_cases(flow.db, flow.actors["admin"], "GENERAL", f"d{draft}")
    assert stricter.counts() == {"same": 2, "diverged": 1, "failed": 0}
    first = stricter.rows[0]  # the diverging case first, with where and what
    assert first.case == reviewed and first.outcome == "diverged" and first.divergence["seq"] == 3
    assert "第 3 条命令“办理”（李审查，" in first.divergence["message"]
    one = replay_item_cases(flow.db, flow.actors["sheji"], "GENERAL", f"d{draft}", case=started)
    assert [r.case for r in one.rows] == [started]
    with pytest.raises(NotFound, match="没有办件"):
        replay_item_cases(flow.db, flow.actors["sheji"], "GENERAL", "v1", case="GENERAL-19990101-00001")
    with pytest.raises(BadInput, match="请选择"):
        replay_item_cases(flow.db, flow.actors["sheji"], "GENERAL", "x1")
    with pytest.raises(NotFound, match="没有第 9 版"):
        replay_item_cases(flow.db, flow.actors["sheji"], "GENERAL", "v9")
    with pytest.raises(NotAllowed, match="设计员或管理员"):
        replay_item_cases(flow.db, flow.actors["shencha"], "GENERAL", "v1")


def test_an_exported_history_file_replays_against_its_own_version(flow, three_cases):
    reviewed = three_cases[2]
    with flow.db.reader() as session:
        history = export_case(session, session.scalar(select(Case).where(Case.number == reviewed)))
    row = replay_file(flow.actors["sheji"], json.dumps(history, ensure_ascii=False).encode("utf-8"))
    assert row.case == reviewed and row.outcome == "same" and row.commands == 3
    for bad, reason in ((b"", "请选择"), (b"{not json", "历史文件"), (b'{"format": "x"}', "不是办件历史文件")):
        with pytest.raises(BadInput, match=reason):
            replay_file(flow.actors["sheji"], bad)


@pytest.mark.browser
@pytest.mark.slow
def test_a_tester_replays_an_item_against_a_draft_in_the_browser(server, page, flow, three_cases, tmp_path):
    reviewed, draft = three_cases[2], three_cases[3]
    browser_login(page, server, "sheji")
    page.get_by_role("navigation").get_by_role("link", name="回放测试").click()
    page.get_by_label("审批事项").select_option(label="通用审批（演示）（GENERAL）")
    page.get_by_role("button", name="下一步：选择对照的流程").click()
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(page.get_by_label("对照的流程")).to_have_value("v1")
    look_at(page, "replay-choose")
    page.get_by_label("对照的流程").select_option(f"d{draft}")
    page.get_by_role("button", name="开始回放").click()
    expect(page.get_by_role("status")).to_contain_text("一致 2 件，分歧 1 件")
    row = page.get_by_role("row").filter(has_text=reviewed)
    expect(row).to_contain_text("分歧")
    expect(row.locator("pre.divergence")).to_contain_text("被拒绝：字段“审查结论”的值")
    look_at(page, "replay-diverged")
    # a history file exported from the case replays against the version it ran on
    with flow.db.reader() as session:
        history = export_case(session, session.scalar(select(Case).where(Case.number == reviewed)))
    exported = tmp_path / "case.json"
    exported.write_text(json.dumps(history, ensure_ascii=False), encoding="utf-8")
    page.get_by_label("办件历史文件（.json）").set_input_files(str(exported))
    page.get_by_role("button", name="回放此文件").click()
    expect(page.get_by_role("status")).to_contain_text(f"办件 {reviewed}，3 条命令）：重放一致")
    look_at(page, "replay-file")
