"""Cases run as recorded commands; refusals change nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from engine import Actor, Engine, FixedClock
from engine.commands import ClaimTask, CompleteTask, ReleaseTask, StartCase
from engine.deploy import deploy
from engine.errors import BadInput, BpmnError, Conflict, NotAllowed, NotFound, TimeOrderError
from engine.store.models import Case, HistoryEntry, ProcessVersion, Task
from engine.read.queries import case_dict, case_history, get_case, history_dict

from .conftest import BPMN


def state_of(db, number):
    with db.reader() as session:
        case = get_case(session, number)
        return case_dict(session, case), [history_dict(h) for h in case_history(session, case)]


def test_start_projects_the_first_task_with_role_and_department(flow):
    case = flow.start(data={"shop_name": "老王小吃"})
    assert case.number.startswith("GENERAL-20260302-")
    info, history = state_of(flow.db, case.number)
    assert [(t["element"], t["role"], t["department"], t["state"]) for t in info["tasks"]] == [
        ("accept_application", "window_clerk", "scjg", "ready")]
    assert [h["command"] for h in history] == ["start_case"]
    assert history[0]["actor"] == "applicant:张三"
    assert history[0]["inputs"]["data"] == {"shop_name": "老王小吃"}
    assert history[0]["ready_tasks"][0]["element"] == "accept_application"


def test_a_case_runs_to_conclusion_with_opinions_in_history(flow, clock):
    case = flow.start()
    clock.advance(hours=1)
    flow.complete("chuangkou", {"acceptance": "accept"}, "材料齐全，予以受理")
    clock.advance(days=1)
    flow.complete("shencha", {"review_result": "pass"}, "符合条件")
    clock.advance(days=1)
    flow.complete("fuzeren", {"decision": "grant"}, "同意")
    info, history = state_of(flow.db, case.number)
    assert info["state"] == "concluded"
    assert info["concluded_at"] == "2026-03-04T10:00:00+08:00"
    assert [h["seq"] for h in history] == [1, 2, 3, 4]
    assert [(h["command"], h["actor"]) for h in history[1:]] == [
        ("complete_task", "chuangkou"), ("complete_task", "shencha"), ("complete_task", "fuzeren")]
    assert history[1]["inputs"]["opinion"] == "材料齐全，予以受理"
    assert history[1]["result"]["data"] == {"acceptance": "accept"}
    assert [t["element"] for t in history[1]["ready_tasks"]] == ["review"]
    assert history[-1]["ready_tasks"] == [] and history[-1]["case_state"] == "concluded"


def test_refusal_at_acceptance_ends_the_case(flow):
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "refuse"}, "不属于本部门职权范围")
    info, _ = state_of(flow.db, case.number)
    assert info["state"] == "concluded" and [t["state"] for t in info["tasks"]] == ["completed"]


@pytest.mark.parametrize("username,expected", [
    ("shencha", "窗口受理员"),       # right department, wrong role
    ("mz_chuangkou", "市市场监督管理局"),  # right role, wrong department
])
def test_only_the_right_role_in_the_right_department_may_complete(flow, username, expected):
    case = flow.start()
    task = flow.task_of("chuangkou")
    before = state_of(flow.db, case.number)
    with pytest.raises(NotAllowed) as info:
        flow.engine.execute(CompleteTask(task=task.id, data={"acceptance": "accept"}), flow.actors[username])
    assert expected in info.value.message
    assert state_of(flow.db, case.number) == before


def test_applicants_and_system_cannot_complete_tasks(flow):
    flow.start()
    task = flow.task_of("chuangkou")
    with pytest.raises(NotAllowed):
        flow.engine.execute(CompleteTask(task=task.id, data={"acceptance": "accept"}), Actor.applicant("张三"))


@pytest.mark.parametrize("data,message", [
    ({}, "必填"),
    ({"acceptance": "maybe"}, "不在可选项"),
    ({"acceptance": "accept", "extra": 1}, "没有这些字段"),
])
def test_bad_form_data_is_refused_and_changes_nothing(flow, data, message):
    case = flow.start()
    task = flow.task_of("chuangkou")
    before = state_of(flow.db, case.number)
    with pytest.raises(BadInput) as info:
        flow.engine.execute(CompleteTask(task=task.id, data=data), flow.actors["chuangkou"])
    assert message in info.value.message
    assert state_of(flow.db, case.number) == before


def test_start_data_must_be_plain_values(flow):
    with pytest.raises(BadInput):
        flow.start(data={"__class__": "x"})
    with pytest.raises(BadInput):
        flow.start(data={"ok": {"len": 1}})


def test_claimed_task_is_reserved_to_its_assignee(engine, flow, seeded):
    from engine.people import add_user, actor_for

    with seeded.transaction() as session:
        add_user(session, "chuangkou2", roles=["window_clerk"], department_code="scjg")
    with seeded.reader() as session:
        other = actor_for(session, "chuangkou2")
    flow.start()
    task = flow.task_of("chuangkou")
    engine.execute(ClaimTask(task=task.id), flow.actors["chuangkou"])
    with pytest.raises(NotAllowed, match="认领"):
        engine.execute(CompleteTask(task=task.id, data={"acceptance": "accept"}), other)
    engine.execute(ReleaseTask(task=task.id), flow.actors["chuangkou"])
    engine.execute(CompleteTask(task=task.id, data={"acceptance": "accept"}), other)


def test_completed_task_cannot_be_completed_again(flow):
    flow.start()
    task = flow.task_of("chuangkou")
    flow.engine.execute(CompleteTask(task=task.id, data={"acceptance": "accept"}), flow.actors["chuangkou"])
    with pytest.raises(Conflict, match="不在待办中"):
        flow.engine.execute(CompleteTask(task=task.id, data={"acceptance": "accept"}), flow.actors["chuangkou"])


def test_stale_form_is_refused(flow):
    flow.start()
    task = flow.task_of("chuangkou")
    rendered_at = task.version  # the form carries its task's version (tasks.version), not the case's
    flow.engine.execute(ClaimTask(task=task.id), flow.actors["chuangkou"])
    with pytest.raises(Conflict):
        flow.engine.execute(CompleteTask(task=task.id, data={"acceptance": "accept"},
                                         expected_version=rendered_at), flow.actors["chuangkou"])


def test_time_cannot_go_backwards_on_a_case(flow, clock):
    case = flow.start()
    clock.set("2026-03-01T09:00:00+08:00")
    with pytest.raises(TimeOrderError):
        flow.complete("chuangkou", {"acceptance": "accept"})
    info, history = state_of(flow.db, case.number)
    assert len(history) == 1


def test_history_is_append_only_in_the_database(flow):
    flow.start()
    with pytest.raises(DBAPIError, match="append-only"):
        with flow.db.transaction() as session:
            session.execute(update(HistoryEntry).values(actor="someone else"))
    with pytest.raises(DBAPIError, match="append-only"):
        with flow.db.transaction() as session:
            session.execute(text("DELETE FROM case_history"))


def test_task_ids_derive_from_case_key_and_command_number(flow, clock):
    """The same commands with the same case key give the same task ids on another database."""
    from engine import Database
    from cli.demo import seed
    from engine.people import actor_for

    key = "7f1d3c7e-1111-4222-8333-944445555666"
    other_db = Database("sqlite://")
    other_db.create_schema()
    with other_db.transaction() as session:
        seed(session, clock.now())
    with other_db.reader() as session:
        other_actor = actor_for(session, "chuangkou")
    ids = []
    for db, actor in [(flow.db, flow.actors["chuangkou"]), (other_db, other_actor)]:
        engine = Engine(db, FixedClock("2026-03-02T09:00"))
        engine.execute(StartCase(item="GENERAL", applicant="张三", key=key, number="T-1"), Actor.applicant("张三"))
        with db.reader() as session:
            first = session.scalar(select(Task).join(Case).where(Case.number == "T-1"))
        engine.execute(CompleteTask(task=first.id, data={"acceptance": "accept"}), actor)
        with db.reader() as session:
            ids.append(list(session.scalars(select(Task.spiff_id).join(Case).where(Case.number == "T-1")
                                            .order_by(Task.id))))
    other_db.dispose()
    assert ids[0] == ids[1] and len(ids[0]) == 2


def test_deploying_the_same_content_returns_the_same_version(seeded, clock):
    content = (BPMN / "general_approval.bpmn").read_bytes()
    with seeded.transaction() as session:
        again = deploy(session, content, "general_approval.bpmn", "GENERAL", deployed_by="admin", at=clock.now())
    assert not again.created and again.version.version == 1
    changed = content.replace(b'name="\xe5\xae\xa1\xe6\x9f\xa5">', b'name="\xe5\x88\x9d\xe5\xae\xa1">', 1)
    with seeded.transaction() as session:
        new = deploy(session, changed, "general_approval.bpmn", "GENERAL", deployed_by="admin", at=clock.now())
    assert new.created and new.version.version == 2 and new.version.content_hash != again.version.content_hash


def test_invalid_deploy_stores_nothing(seeded, clock):
    with seeded.reader() as session:
        before = session.scalar(select(ProcessVersion.id).order_by(ProcessVersion.id.desc()).limit(1))
    with pytest.raises(BpmnError):
        with seeded.transaction() as session:
            deploy(session, b"<not-bpmn", "x.bpmn", "NEW", deployed_by="admin", at=clock.now(),
                   department_code="scjg")
    with seeded.reader() as session:
        assert session.scalar(select(ProcessVersion.id).order_by(ProcessVersion.id.desc()).limit(1)) == before


def test_new_cases_use_the_newest_version(flow, seeded, clock):
    content = (BPMN / "general_approval.bpmn").read_bytes().replace(b'name="\xe5\xae\xa1\xe6\x9f\xa5">',
                                                                     b'name="\xe5\x88\x9d\xe5\xae\xa1">', 1)
    old = flow.start()
    with seeded.transaction() as session:
        deploy(session, content, "general_approval.bpmn", "GENERAL", deployed_by="admin", at=clock.now())
    new = flow.start()
    assert state_of(seeded, old.number)[0]["process"]["version"] == 1
    assert state_of(seeded, new.number)[0]["process"]["version"] == 2


def test_unknown_item_and_task(flow):
    with pytest.raises(NotFound):
        flow.start(item="NOPE")
    with pytest.raises(NotFound):
        flow.engine.execute(CompleteTask(task=999999, data={}), flow.actors["chuangkou"])


def test_department_named_on_a_task_must_exist(seeded, clock):
    content = (BPMN / "general_approval.bpmn").read_text(encoding="utf-8").replace(
        '<camunda:formData>\n          <camunda:formField id="review_result"',
        '<camunda:properties><camunda:property name="department" value="nowhere" /></camunda:properties>'
        '<camunda:formData><camunda:formField id="review_result"', 1)
    with pytest.raises(BpmnError) as info, seeded.transaction() as session:
        deploy(session, content.encode(), "x.bpmn", "GENERAL", deployed_by="admin", at=clock.now())
    assert info.value.element == "review" and "nowhere" in info.value.reason


def test_a_required_field_of_spaces_is_not_filled_in(flow):
    from engine.errors import BadInput

    case = flow.start()
    with pytest.raises(BadInput, match="必填字段“受理意见”未填写"):
        flow.complete("chuangkou", {"acceptance": "   "}, number=case.number)
