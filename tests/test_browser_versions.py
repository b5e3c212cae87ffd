"""In headless Chromium, as the administrator: the versions page of 通用审批 shows the designer's
draft with what it changes (a 复核 step added, the 审查 form changed), the migration dry run says
which running case can move and why the other cannot, the draft is deployed, the movable case is
migrated, a new case follows the new 复核 step while the case left behind stays on version 1, and
new cases are rolled back to version 1 with a reason. Screenshots at 1366 and 1024 px and axe."""
from __future__ import annotations

import pytest

from engine import Actor
from engine.commands import CompleteTask, StartCase
from engine.designs import save_draft
from engine.people import actor_for
from engine.read.queries import case_dict, get_case, ready_tasks

from .helpers import browser_login, look_at
from .test_versions import with_recheck

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run").expect


def changed_review() -> str:
    """v2: 复核 added, and 审查 asks for a 审查说明 too (so a case waiting at 审查 cannot move)."""
    return with_recheck().replace('<camunda:formField id="review_result"',
                                  '<camunda:formField id="review_note" label="审查说明" type="string" />\n'
                                  '          <camunda:formField id="review_result"', 1)


def complete(engine, db, username, number, data):
    with db.reader() as session:
        actor = actor_for(session, username)
        task = next(t for t in ready_tasks(session, actor) if t.case.number == number)
    engine.execute(CompleteTask(task=task.id, data=data, opinion="同意"), actor)


def state(db, number):
    with db.reader() as session:
        info = case_dict(session, get_case(session, number))
    return info["process"]["version"], [(t["element"], t["state"]) for t in info["tasks"]]


def test_admin_deploys_a_draft_runs_the_dry_run_migrates_and_rolls_back(server, page, engine, seeded):
    start = lambda: engine.execute(StartCase(item="GENERAL", applicant="张三"), Actor.applicant("张三")).number
    at_review, at_acceptance = start(), start()
    complete(engine, seeded, "chuangkou", at_review, {"acceptance": "accept"})
    with seeded.transaction() as session:
        save_draft(session, actor_for(session, "sheji"), changed_review(), at=engine.now(), item_code="GENERAL")

    browser_login(page, server, "admin")
    with page.expect_navigation():  # it may reload the first page one is on: wait for it
        page.get_by_role("link", name="流程版本").click()
    look_at(page, "versions-items")
    page.get_by_role("link", name="通用审批").first.click()
    expect(page.locator("h1")).to_contain_text("新办件使用第 1 版")
    draft = page.locator("section", has=page.get_by_role("heading", name="设计员的草稿"))
    expect(draft).to_contain_text("新增 复核（负责人）")
    expect(draft).to_contain_text("修改 审查：表单新增 审查说明")
    expect(draft).to_contain_text("严设计")  # the designer by name, not login
    page.get_by_text("流程图").first.click()
    expect(page.locator("figure.diagram svg").first).to_be_visible()
    look_at(page, "versions-draft")

    draft.get_by_label("部署说明").fill("增加负责人复核")
    draft.get_by_role("button", name="部署此草稿").click()
    expect(page.locator(".flash")).to_contain_text("已部署第 2 版")
    expect(page.locator("h1")).to_contain_text("新办件使用第 2 版")
    expect(page.get_by_role("heading", name="设计员的草稿")).to_have_count(0)  # deployed: nothing left to do
    v2 = page.locator("section", has=page.get_by_role("heading", name="第 2 版"))
    expect(v2).to_contain_text("钱管理")
    expect(v2).to_contain_text("新增 复核（负责人）")

    v2.get_by_role("button", name="试运行：迁移办件到第 2 版").click()
    dry = page.locator("section", has=page.get_by_role("heading", name="迁移试运行"))
    expect(dry.get_by_role("row", name=at_review)).to_contain_text("不能迁移：当前环节“审查”已改变：表单新增 审查说明")
    expect(dry.get_by_role("row", name=at_acceptance)).to_contain_text("可迁移")
    expect(dry).to_contain_text("重做")
    look_at(page, "versions-dry-run")
    assert state(seeded, at_acceptance)[0] == 1  # a dry run changes nothing

    dry.get_by_label("迁移理由").fill("按新流程办理")
    dry.get_by_role("button", name="迁移可迁移的 1 件").click()
    expect(page.locator(".flash").first).to_contain_text(f"已迁移 1 件到第 2 版：{at_acceptance}")
    expect(page.locator(".flash").nth(1)).to_contain_text(f"{at_review} 未迁移")
    look_at(page, "versions-migrated")

    # a new case follows version 2's 复核; the case left behind goes on without it
    new = start()
    complete(engine, seeded, "chuangkou", new, {"acceptance": "accept"})
    complete(engine, seeded, "shencha", new, {"review_result": "pass", "review_note": "齐全"})
    assert state(seeded, new) == (2, [("accept_application", "completed"), ("review", "completed"), ("recheck", "ready")])
    complete(engine, seeded, "shencha", at_review, {"review_result": "pass"})
    assert state(seeded, at_review) == (1, [("accept_application", "completed"), ("review", "completed"), ("decide", "ready")])
    assert state(seeded, at_acceptance)[0] == 2

    page.reload()
    v1 = page.locator("section", has=page.get_by_role("heading", name="第 1 版"))
    v1.get_by_label("改用第 1 版的理由").fill("复核人手不足，暂回旧流程")
    v1.get_by_role("button", name="新办件改用第 1 版").click()
    expect(page.locator(".flash")).to_contain_text("已回退到第 1 版")
    expect(page.locator("h1")).to_contain_text("新办件使用第 1 版")
    record = page.get_by_role("table").last
    expect(record.get_by_role("row").nth(1)).to_contain_text("回退")
    expect(record.get_by_role("row").nth(1)).to_contain_text("复核人手不足")
    migrated = record.get_by_role("row").filter(has_text="迁移办件")  # the migration is in the record too
    expect(migrated).to_contain_text(f"按新流程办理：{at_acceptance}（1 件）")
    expect(migrated).to_contain_text("第 2 版")
    look_at(page, "versions-rolled-back")
    assert state(seeded, start())[0] == 1


def test_a_case_whose_history_the_draft_would_refuse_is_not_migratable_and_its_details_stay_within_the_page(
        server, page, engine, seeded):
    """The draft renames an option of 审查's form: a case past 审查 was worked with the old value,
    which the draft refuses. The dry run says it cannot move (not 可迁移 beside 不同), and its
    技术细节 (the expected and actual tasks, long unbroken lines) wrap inside the page."""
    from .test_versions import GENERAL

    number = engine.execute(StartCase(item="GENERAL", applicant="张三"), Actor.applicant("张三")).number
    complete(engine, seeded, "chuangkou", number, {"acceptance": "accept"})
    complete(engine, seeded, "shencha", number, {"review_result": "pass"})  # at 决定 now
    renamed = GENERAL.replace('<camunda:value id="pass" name="符合条件" />', '<camunda:value id="ok" name="符合条件" />')
    with seeded.transaction() as session:
        save_draft(session, actor_for(session, "sheji"), renamed, at=engine.now(), item_code="GENERAL")

    browser_login(page, server, "admin")
    page.goto(f"{server}/admin/items/GENERAL/versions")
    page.get_by_role("button", name="部署前试运行").click()
    dry = page.get_by_role("region", name="迁移试运行")
    row = dry.get_by_role("row", name=number)
    expect(row).to_contain_text("不能迁移：已办的第 3 步（办理）按草稿")
    expect(row).to_contain_text("不被接受")
    expect(row).not_to_contain_text("可迁移")
    expect(dry).to_contain_text("可迁移 0 件")
    row.get_by_text("技术细节").click()
    expect(row.locator("pre")).to_be_visible()
    expect(row.locator("pre")).to_contain_text("被拒绝")
    for width in (1366, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width
    look_at(page, "versions-dry-run-diverged")
