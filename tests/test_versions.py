"""Versions of an item's process: deploying a draft, rolling back, the change summary, and moving
running cases to another version (dry run and real run, CLI)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine import Actor
from engine.designs import save_draft
from engine.errors import BadInput, Conflict, NotAllowed, NotFound
from engine.commands import MigrateCase
from engine.integrity import check as integrity_check
from engine.migration import plan, run
from engine.read.queries import case_dict, case_history, get_case, history_dict
from engine.read.views import history_view
from engine.replay import export_case, replay
from engine.store.models import VersionActivation
from engine.versions import deploy_draft, rollback, versions_view

from .conftest import BPMN

GENERAL = (BPMN / "general_approval.bpmn").read_text(encoding="utf-8")

RECHECK = """<bpmn:userTask id="recheck" name="复核">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="recheck_note" label="复核意见" type="string" />
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:incoming>f_review_decide</bpmn:incoming>
      <bpmn:outgoing>f_recheck_decide</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f_recheck_decide" sourceRef="recheck" targetRef="decide" />
    <bpmn:endEvent id="end_decided\""""


def with_recheck() -> str:
    """v2: a 复核 step by the 负责人 between 审查 and 决定 (no drawing of its own: a lint warning)."""
    xml = GENERAL.replace('<bpmn:sequenceFlow id="f_review_decide" sourceRef="review" targetRef="decide" />',
                          '<bpmn:sequenceFlow id="f_review_decide" sourceRef="review" targetRef="recheck" />')
    xml = xml.replace("<bpmn:incoming>f_review_decide</bpmn:incoming>\n      <bpmn:outgoing>f_decide_end",
                      "<bpmn:incoming>f_recheck_decide</bpmn:incoming>\n      <bpmn:outgoing>f_decide_end")
    xml = xml.replace('<bpmn:flowNodeRef>decide</bpmn:flowNodeRef>',
                      '<bpmn:flowNodeRef>decide</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>recheck</bpmn:flowNodeRef>')
    xml = xml.replace('<bpmn:endEvent id="end_decided"', RECHECK, 1)
    assert xml.count("recheck") >= 6
    return xml


def without_review() -> str:
    """A version whose 审查 step is gone: accepted cases go straight to 决定."""
    xml = GENERAL.replace('targetRef="review">', 'targetRef="decide">')
    start = xml.index('<bpmn:userTask id="review"')
    end = xml.index("</bpmn:userTask>", start) + len("</bpmn:userTask>")
    xml = xml[:start] + xml[end:]
    xml = xml.replace('<bpmn:sequenceFlow id="f_review_decide" sourceRef="review" targetRef="decide" />', "")
    xml = xml.replace("<bpmn:incoming>f_review_decide</bpmn:incoming>", "<bpmn:incoming>f_gw_review</bpmn:incoming>")
    xml = xml.replace("<bpmn:flowNodeRef>review</bpmn:flowNodeRef>", "")
    return xml


def draft(db, actors, xml: str, at) -> int:
    with db.transaction() as session:
        row, _ = save_draft(session, actors["sheji"], xml, at=at, item_code="GENERAL")
        return row.id


def deploy_as_admin(db, actors, xml, clock, reason="") -> int:
    draft_id = draft(db, actors, xml, clock.now())
    with db.transaction() as session:
        return deploy_draft(session, actors["admin"], draft_id, at=clock.now(), reason=reason).version


def tasks_of(db, number):
    with db.reader() as session:
        return [(t["element"], t["state"]) for t in case_dict(session, get_case(session, number))["tasks"]]


def at_review(flow, clock):
    case = flow.start()
    clock.advance(hours=1)
    flow.complete("chuangkou", {"acceptance": "accept"}, "受理", number=case.number)
    return case


@pytest.fixture
def designer(actors):
    assert actors["sheji"].has_role("designer") and actors["admin"].has_role("admin")
    return actors["sheji"]


def test_deploy_a_draft_makes_it_current_and_rollback_brings_the_earlier_back(flow, seeded, actors, clock, designer):
    old = flow.start()
    clock.advance(hours=1)
    assert deploy_as_admin(seeded, actors, with_recheck(), clock, reason="增加复核") == 2
    new = flow.start()
    with seeded.reader() as session:
        assert case_dict(session, get_case(session, old.number))["process"]["version"] == 1
        assert case_dict(session, get_case(session, new.number))["process"]["version"] == 2
        view = versions_view(session, actors["admin"], "GENERAL", flow.engine.definition)
    assert view["current"] == 2 and [v["number"] for v in view["versions"]] == [2, 1]
    v2 = view["versions"][0]
    assert v2["current"] and v2["deployed_by_name"] == "钱管理" and len(v2["hash"]) == 64
    assert v2["changes"]["added"] == [{"id": "recheck", "name": "复核", "role": "负责人", "details": ["表单 复核意见"]}]
    assert v2["changes"]["removed"] == [] and v2["changes"]["changed"] == []
    assert view["versions"][1]["changes"]["first"] and view["versions"][1]["running"] == 1
    assert view["activations"][0]["act"] == "部署" and view["activations"][0]["reason"] == "增加复核"

    clock.advance(hours=1)
    with pytest.raises(BadInput, match="理由"):
        with seeded.transaction() as session:
            rollback(session, actors["admin"], "GENERAL", 1, at=clock.now(), reason=" ")
    with pytest.raises(NotAllowed):
        with seeded.transaction() as session:
            rollback(session, actors["sheji"], "GENERAL", 1, at=clock.now(), reason="试试")
    with seeded.transaction() as session:
        rollback(session, actors["admin"], "GENERAL", 1, at=clock.now(), reason="复核环节人手不足")
    third = flow.start()
    with seeded.reader() as session:
        assert case_dict(session, get_case(session, third.number))["process"]["version"] == 1
        assert case_dict(session, get_case(session, new.number))["process"]["version"] == 2  # running cases stay
        view = versions_view(session, actors["admin"], "GENERAL", flow.engine.definition)
        acts = list(session.scalars(select(VersionActivation).order_by(VersionActivation.id)))
    assert view["current"] == 1
    assert (acts[-1].act, acts[-1].actor, acts[-1].reason) == ("rollback", "admin", "复核环节人手不足")
    assert view["activations"][0]["act"] == "回退" and view["activations"][0]["version"] == 1
    # deploying v2's diagram again makes it current again, without a third version
    deploy_as_admin(seeded, actors, with_recheck(), clock)
    with seeded.reader() as session:
        assert versions_view(session, actors["admin"], "GENERAL", flow.engine.definition)["current"] == 2


def test_a_draft_with_lint_errors_is_not_deployed(seeded, actors, clock, designer):
    broken = GENERAL.replace('isExecutable="true"', 'isExecutable="false"')
    draft_id = draft(seeded, actors, broken, clock.now())
    with pytest.raises(BadInput, match="未通过校验"):
        with seeded.transaction() as session:
            deploy_draft(session, actors["admin"], draft_id, at=clock.now())


@pytest.mark.slow  # replays the history twice
def test_a_case_at_a_kept_step_moves_and_follows_the_new_flow(flow, seeded, actors, clock, designer):
    case = at_review(flow, clock)
    clock.advance(hours=1)
    deploy_as_admin(seeded, actors, with_recheck(), clock)
    report = plan(flow.engine, actors["admin"], "GENERAL", 2, at=clock.now())
    [check] = report.cases
    assert check.case == case.number and check.movable and check.at_steps == ["审查"]
    assert "一致" in check.replay  # nothing it did so far depends on the new step
    clock.advance(hours=1)
    with pytest.raises(BadInput, match="请写明迁移理由"):  # moving running cases needs a reason, like rolling back
        run(flow.engine, actors["admin"], "GENERAL", 2, reason=" ")
    done = run(flow.engine, actors["admin"], "GENERAL", 2, reason="增加复核")
    assert done.moved == [case.number]
    with seeded.reader() as session:
        shown = history_view(session, get_case(session, case.number))[-1]
    assert (shown["what"], shown["details"], shown["said"]) == ("迁移到新版本", "第 1 版 → 第 2 版", "增加复核")
    with seeded.reader() as session:
        row = get_case(session, case.number)
        assert case_dict(session, row)["process"]["version"] == 2
        last = history_dict(case_history(session, row)[-1])
    assert last["command"] == "migrate_case" and last["actor"] == "admin"
    assert last["inputs"]["reason"] == "增加复核" and last["result"]["to_version"] == 2
    assert [t["element"] for t in last["ready_tasks"]] == ["review"]
    checked = integrity_check(seeded, case.number)  # the stored state is what replaying the history gives
    assert checked.ok, checked.to_dict()
    clock.advance(hours=1)
    flow.complete("shencha", {"review_result": "pass"}, "符合", number=case.number)
    assert tasks_of(seeded, case.number)[-1] == ("recheck", "ready")  # the new version's flow
    clock.advance(hours=1)
    flow.complete("fuzeren", {"recheck_note": "已复核"}, number=case.number)
    flow.complete("fuzeren", {"decision": "grant"}, "同意", number=case.number)
    with seeded.reader() as session:
        row = get_case(session, case.number)
        assert row.state == "concluded"
        history = export_case(session, row)
    assert history["process"]["version"] == 1 and history["migrated_to"][0]["version"] == 2
    result = replay(json.loads(json.dumps(history)))
    assert result.same, result.summary()


def test_a_case_at_a_removed_step_stays_with_the_reason(flow, seeded, actors, clock, designer):
    waiting = at_review(flow, clock)
    fresh = flow.start()  # at 受理, which the new version keeps
    clock.advance(hours=1)
    deploy_as_admin(seeded, actors, without_review(), clock)
    report = plan(flow.engine, actors["admin"], "GENERAL", 2, at=clock.now(), replay=False)
    checks = {c.case: c for c in report.cases}
    assert not checks[waiting.number].movable
    assert checks[waiting.number].reasons == ["当前环节“审查”在第 2 版中已删除"]
    assert checks[fresh.number].movable
    before = tasks_of(seeded, waiting.number)
    done = run(flow.engine, actors["admin"], "GENERAL", 2, reason="删除审查环节")
    assert done.moved == [fresh.number]
    assert tasks_of(seeded, waiting.number) == before
    with seeded.reader() as session:
        assert case_dict(session, get_case(session, waiting.number))["process"]["version"] == 1
        assert [h.command for h in case_history(session, get_case(session, waiting.number))][-1] == "complete_task"
    # the command refuses it too, and changes nothing
    with seeded.reader() as session:
        target = versions_view(session, actors["admin"], "GENERAL", flow.engine.definition)["versions"][0]["hash"]
    with pytest.raises(Conflict, match="审查"):
        flow.engine.execute(MigrateCase(case=waiting.number, to=target), actors["admin"])
    # a moved case at 受理 now goes straight to 决定
    flow.complete("chuangkou", {"acceptance": "accept"}, number=fresh.number)
    assert tasks_of(seeded, fresh.number)[-1] == ("decide", "ready")


def test_only_administrators_migrate(flow, seeded, actors, clock, designer):
    case = at_review(flow, clock)
    deploy_as_admin(seeded, actors, with_recheck(), clock)
    with pytest.raises(NotAllowed):
        plan(flow.engine, actors["fuzeren"], "GENERAL", 2, at=clock.now())
    with seeded.reader() as session:
        target = versions_view(session, actors["admin"], "GENERAL", flow.engine.definition)["versions"][0]["hash"]
    with pytest.raises(NotAllowed):
        flow.engine.execute(MigrateCase(case=case.number, to=target), actors["fuzeren"])
    with pytest.raises(NotAllowed):
        flow.engine.execute(MigrateCase(case=case.number, to=target), Actor.system())


@pytest.mark.slow  # the dry run replays each case
def test_cli_dry_run_lists_every_running_case_and_the_real_run_moves_those_that_can(flow, seeded, actors, clock,
                                                                                  designer):
    # import here: the CLI module pulls in the whole command line, which only this test needs
    from click.testing import CliRunner

    from cli.main import main

    waiting = at_review(flow, clock)
    fresh = flow.start()
    deploy_as_admin(seeded, actors, without_review(), clock)
    runner = CliRunner()

    def cli(*args):
        result = runner.invoke(main, ["--db", seeded.url, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output + result.stderr
        return result.stdout

    out = cli("migrate", "GENERAL", "--to", "2", "--dry-run")
    assert f"{waiting.number}  当前环节 审查  不能迁移：当前环节“审查”在第 2 版中已删除" in out
    assert f"{fresh.number}  当前环节 受理  可迁移" in out
    assert "重放：" in out and "共 2 件，可迁移 1 件（试运行，未作任何改动）" in out
    assert tasks_of(seeded, fresh.number) == [("accept_application", "ready")]
    with seeded.reader() as session:
        assert case_dict(session, get_case(session, fresh.number))["process"]["version"] == 1
    report = json.loads(cli("migrate", "GENERAL", "--to", "2", "--json", "--reason", "删除审查环节"))
    assert report["moved"] == [fresh.number] and not report["dry_run"]
    assert [c["movable"] for c in report["cases"]] == [False, True]
    listing = cli("versions", "GENERAL")
    assert "第 2 版（当前）" in listing and "删除 审查（review）" in listing and "办理中 1 件" in listing
    refused = runner.invoke(main, ["--db", seeded.url, "rollback", "GENERAL", "--to", "2", "--reason", "x"])
    assert refused.exit_code == 1 and "已是当前版本" in refused.stderr
    cli("rollback", "GENERAL", "--to", "1", "--reason", "审查不能省")
    assert "第 1 版（当前）" in cli("versions", "GENERAL")


def test_a_dry_run_against_an_undeployed_draft_reads_only(flow, seeded, actors, clock, designer):
    waiting = at_review(flow, clock)
    fresh = flow.start()
    clock.advance(hours=1)
    older = draft(seeded, actors, with_recheck(), clock.now())
    newer = draft(seeded, actors, without_review(), clock.now())
    draft(seeded, actors, without_review(), clock.now())  # saved again unchanged: listed once
    with seeded.reader() as session:
        view = versions_view(session, actors["admin"], "GENERAL", flow.engine.definition)
        assert [d["id"] for d in view["drafts"]] == [newer + 1, older]
        assert view["draft"]["changes"]["removed"] == [{"id": "review", "name": "审查", "role": "审查员"}]
        chosen = versions_view(session, actors["admin"], "GENERAL", flow.engine.definition, draft_id=older)
        assert chosen["draft"]["id"] == older and chosen["draft"]["changes"]["added"][0]["id"] == "recheck"
        history_before = {n: len(case_history(session, get_case(session, n))) for n in (waiting.number, fresh.number)}

    report = plan(flow.engine, actors["admin"], "GENERAL", draft=newer, at=clock.now(), replay=False)
    assert report.version is None and report.draft == newer and report.target == f"草稿 {newer}（未部署）"
    checks = {c.case: c for c in report.cases}
    assert checks[waiting.number].reasons == [f"当前环节“审查”在草稿 {newer}（未部署）中已删除"]
    assert checks[fresh.number].movable and report.movable == 1
    assert report.to_dict()["cases"][0]["target"] == report.target
    with seeded.reader() as session:  # nothing was written: no version, no history, the draft still waits
        view = versions_view(session, actors["admin"], "GENERAL", flow.engine.definition)
        assert [v["number"] for v in view["versions"]] == [1] and view["draft"]["id"] == newer + 1
        assert {n: len(case_history(session, get_case(session, n))) for n in history_before} == history_before
    with pytest.raises(BadInput, match="目标版本或一份草稿"):
        plan(flow.engine, actors["admin"], "GENERAL", 1, draft=newer, at=clock.now())
    with pytest.raises(NotAllowed):
        plan(flow.engine, actors["sheji"], "GENERAL", draft=newer, at=clock.now())
    broken = draft(seeded, actors, GENERAL.replace('isExecutable="true"', 'isExecutable="false"'), clock.now())
    with pytest.raises(BadInput, match="未通过校验"):
        plan(flow.engine, actors["admin"], "GENERAL", draft=broken, at=clock.now())
    with pytest.raises(NotFound):
        plan(flow.engine, actors["admin"], "GENERAL", draft=broken + 100, at=clock.now())

    # deployed, the same diagram is that version: the dry run against the draft says so
    with seeded.transaction() as session:
        deploy_draft(session, actors["admin"], newer, at=clock.now())
    again = plan(flow.engine, actors["admin"], "GENERAL", draft=newer, at=clock.now(), replay=False)
    assert again.version == 2 and again.draft is None and {c.case for c in again.cases} == set(checks)
    with seeded.reader() as session:  # the deployed draft and those before it no longer wait
        assert versions_view(session, actors["admin"], "GENERAL", flow.engine.definition)["drafts"] == [
            {"id": broken, "title": view["draft"]["title"], "saved_by_name": "严设计",
             "saved_at": view["draft"]["saved_at"], "errors": 1}]


@pytest.mark.slow  # the dry run replays each case
def test_cli_dry_run_against_a_draft(flow, seeded, actors, clock, designer):
    from click.testing import CliRunner

    from cli.main import main

    waiting = at_review(flow, clock)
    draft_id = draft(seeded, actors, without_review(), clock.now())
    runner = CliRunner()
    result = runner.invoke(main, ["--db", seeded.url, "migrate", "GENERAL", "--draft", str(draft_id), "--dry-run"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"试运行：通用审批（演示）（GENERAL）迁移到草稿 {draft_id}（未部署）" in result.stdout
    assert f"{waiting.number}  当前环节 审查  不能迁移：当前环节“审查”在草稿 {draft_id}（未部署）中已删除" in result.stdout
    assert "重放：" in result.stdout
    refused = runner.invoke(main, ["--db", seeded.url, "migrate", "GENERAL", "--draft", str(draft_id)])
    assert refused.exit_code == 2 and "办件不能迁移到草稿" in refused.output
    refused = runner.invoke(main, ["--db", seeded.url, "migrate", "GENERAL", "--dry-run"])
    assert refused.exit_code == 2 and "二者选一" in refused.output
    with seeded.reader() as session:
        assert case_dict(session, get_case(session, waiting.number))["process"]["version"] == 1


@pytest.mark.slow  # the web application and two logins
def test_the_versions_page_refuses_a_bad_draft_choice_in_chinese(seeded, engine, actors, clock, designer):
    from web import create_app

    from .helpers import login

    app = create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)
    with seeded.transaction() as session:  # a draft of another item
        other, _ = save_draft(session, actors["sheji"], (BPMN / "food_business_licence.bpmn").read_text(encoding="utf-8"),
                              at=clock.now(), item_code="SCJG-SPJY")
        other = other.id
    mine = draft(seeded, actors, without_review(), clock.now())
    client = login(app.test_client(), "admin")
    page = client.get(f"/admin/items/GENERAL/versions?draft={mine}").get_data(as_text=True)
    assert f"草稿 {mine}" in page and "部署前试运行" in page
    for query, message in ((f"dry_run_draft={other}", f"没有草稿 {other}"), ("dry_run_draft=abc", "请选择草稿"),
                           (f"draft={other}", f"草稿 {other} 不是“通用审批（演示）”待部署的草稿")):
        response = client.get(f"/admin/items/GENERAL/versions?{query}")
        assert response.status_code == 400, query
        assert message in response.get_data(as_text=True), query
    response = client.get(f"/admin/items/GENERAL/versions?dry_run_draft={mine}")
    assert response.status_code == 200 and f"迁移试运行：到草稿 {mine}（未部署）" in response.get_data(as_text=True)
    assert login(app.test_client(), "sheji").get(f"/admin/items/GENERAL/versions?dry_run_draft={mine}").status_code == 403


def test_a_step_renamed_by_the_new_version_is_called_by_its_new_name_once_moved(flow, seeded, actors, clock, designer):
    """The diagram, the inbox, the step's page and its clock say the same name after 迁移."""
    from engine.store.models import Task
    case = at_review(flow, clock)
    deploy_as_admin(seeded, actors, GENERAL.replace('name="审查"', 'name="材料审查（含合规性审查）"'), clock)
    run(flow.engine, actors["admin"], "GENERAL", 2, reason="环节改名")
    with seeded.reader() as session:
        names = session.scalars(select(Task.name).join(Task.case).where(Task.state == "ready",
                                                                       Task.case.has(number=case.number))).all()
    assert names == ["材料审查（含合规性审查）"]
    with seeded.reader() as session:
        history = export_case(session, get_case(session, case.number))
    assert replay(history).same


@pytest.mark.slow  # the dry run and the real run replay each case
def test_a_case_past_where_a_step_was_added_moves_and_goes_on_from_where_it_is(flow, seeded, actors, clock, designer):
    """v2 adds 复核 between 审查 and 决定: a case already at 决定 would have been routed through 复核,
    so its replay differs, but a move does not redo done steps: it is movable, and says so."""
    case = at_review(flow, clock)
    clock.advance(hours=1)
    flow.complete("shencha", {"review_result": "pass"}, "符合条件", number=case.number)
    deploy_as_admin(seeded, actors, with_recheck(), clock)
    report = plan(flow.engine, actors["admin"], "GENERAL", 2, at=clock.now())
    check = next(c for c in report.cases if c.case == case.number)
    assert check.movable and "迁移不重做已办的步骤，办件从当前环节按新流程继续" in check.replay
    assert run(flow.engine, actors["admin"], "GENERAL", 2, reason="增加复核").moved == [case.number]
    assert tasks_of(seeded, case.number)[-1] == ("decide", "ready")
