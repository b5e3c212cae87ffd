"""The SpiffWorkflow contract: every assumption ``engine/runtime/spiff.py`` (the fence) makes
about SpiffWorkflow's internals, checked so that an upgrade that breaks one fails here, loudly,
saying what broke and where to look. See docs/architecture.md, "The SpiffWorkflow fence"."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from importlib.metadata import version

import pytest
import SpiffWorkflow.task as spiff_task_module
from sqlalchemy import select
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer_module
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

from engine import Database
from engine.clock import CHINA_TZ, parse_datetime
from engine.runtime import spiff
from engine.runtime.definitions import BPMN_NS, next_user_tasks, parse_definition
from engine.runtime.expressions import SafeEnvironment, make_script_engine
from engine.runtime.spiff import (IdSource, StateCodec, decode_state, command_scope, elements_after, move_timer, new_workflow,
                                  parser_knows, ready_user_tasks, reset_to, run_engine, submit_task, waiting_timers)

from engine.store.models import Case

from .conftest import BPMN, FIXTURES
from .histories.scenarios import record

KEY = "0b8f6a52-8d1e-4c4a-9a57-2f1f3e5d7c10"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA_TZ)
WHERE = "see engine/runtime/spiff.py and docs/architecture.md (The SpiffWorkflow fence)"


def upgrade(what: str) -> str:
    return f"SpiffWorkflow upgrade: {what}; {WHERE}"


TIMERS = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN_NS}" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="Definitions_contract" targetNamespace="http://approvals.example/bpmn">
  <bpmn:process id="contract_timers" name="计时器" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="pay" name="缴费" camunda:candidateGroups="window_clerk">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="overdue" name="两小时未缴费" attachedToRef="pay">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT2H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="closing" name="截止" attachedToRef="pay">
      <bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>"2026-03-03T12:00:00"</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="paid"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="lapsed"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="closed"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pay" />
    <bpmn:sequenceFlow id="f2" sourceRef="pay" targetRef="paid" />
    <bpmn:sequenceFlow id="f3" sourceRef="overdue" targetRef="lapsed" />
    <bpmn:sequenceFlow id="f4" sourceRef="closing" targetRef="closed" />
  </bpmn:process>
</bpmn:definitions>
"""

#: The food production licence's steps: the county's, then the city's in a called process.
FOOD_STEPS = [("accept_application", {"acceptance": "accept"}),
              ("preliminary_review", {"preliminary_result": "pass"}),
              ("city_review", {"city_review_result": "pass"}),
              ("city_decide", {"decision": "grant"}),
              ("issue_licence", {"certificate_no": "SC10644010000001"})]


@pytest.fixture(scope="module")
def script_engine():
    return make_script_engine()


@pytest.fixture(scope="module")
def food():
    return parse_definition((BPMN / "food_production.bpmn").read_bytes(), "food_production.bpmn")


@pytest.fixture(scope="module")
def timers():
    return parse_definition(TIMERS, "contract_timers.bpmn")


def start(definition, script_engine, at=T0, data=None):
    with command_scope(at, KEY, 1):
        workflow = new_workflow(definition.spec, definition.subprocess_specs, script_engine, data or {})
        run_engine(workflow)
    return workflow


def step(workflow, at, seq, element, data):
    (task,) = [t for t in ready_user_tasks(workflow) if t.element == element]
    with command_scope(at, KEY, seq):
        submit_task(workflow, task.id, data)
        run_engine(workflow)


def state_of(codec, workflow) -> dict:
    return json.loads(decode_state(codec.dump(workflow)))


def all_tasks(state: dict) -> list[dict]:
    tasks = list(state["tasks"].values())
    for sub in state["subprocesses"].values():
        tasks.extend(sub["tasks"].values())
    return tasks


# ---------------------------------------------------------------- the declared range
def test_the_installed_spiffworkflow_is_in_the_declared_range():
    installed = tuple(int(p) for p in version("SpiffWorkflow").split(".")[:2])
    assert installed == (3, 2), upgrade(f"{version('SpiffWorkflow')} is installed, the fence was checked on 3.2; "
                                        "re-check every assumption below, then widen setup.cfg")


def test_the_methods_the_fence_calls_exist():
    for owner, name in [(BpmnWorkflow, "refresh_timers"), (BpmnWorkflow, "reset_from_task_id"),
                        (BpmnWorkflow, "get_task_from_id"), (BpmnWorkflow, "do_engine_steps"),
                        (spiff_task_module.Task, "_get_internal_data"),
                        (spiff_task_module.Task, "_set_internal_data"),
                        (CamundaParser, "_get_parser_class"),
                        (spiff_timer_module.TimerEventDefinition, "get_datetime")]:
        assert callable(getattr(owner, name, None)), upgrade(f"{owner.__qualname__}.{name} is gone")


# ---------------------------------------------------------------- the patches
def test_each_patched_module_attribute_is_ours():
    ours = {"datetime": spiff._CommandDatetime, "LOCALTZ": CHINA_TZ, "uuid4": spiff._task_uuid}
    for module, name, use in spiff.PATCHED:
        value = getattr(module, name, None)
        if name == "time":
            assert isinstance(value, spiff._CommandTime), upgrade(f"{module.__name__}.time ({use}) is not patched")
        else:
            assert value is ours[name], upgrade(f"{module.__name__}.{name} ({use}) is not patched")


def test_task_ids_are_the_deterministic_ones(food, script_engine):
    workflow = start(food, script_engine)
    source = IdSource(KEY, 1)
    expected = {source() for _ in range(10 * len(workflow.tasks))}
    assert set(workflow.tasks) <= expected, upgrade(
        "new tasks no longer get their id from SpiffWorkflow.task.uuid4 (the patch has no effect)")
    assert start(food, script_engine).tasks.keys() == workflow.tasks.keys(), upgrade("task ids are not repeatable")


def test_last_state_change_is_the_command_time(food, script_engine):
    codec = StateCodec()
    workflow = start(food, script_engine)
    changes = {t["last_state_change"] for t in all_tasks(state_of(codec, workflow))}
    assert changes == {T0.timestamp()}, upgrade(
        f"Task.last_state_change is not read through SpiffWorkflow.task.time.time() (got {changes})")
    at = T0 + timedelta(hours=3)
    step(workflow, at, 2, "accept_application", {"acceptance": "accept"})
    changes = {t["last_state_change"] for t in all_tasks(state_of(codec, workflow))}
    assert changes == {T0.timestamp(), at.timestamp()}, upgrade(
        f"a state change (Task._set_state) did not take the command's time (got {changes})")


def recorded(db, name) -> tuple[dict, str]:
    history = record(db, name)
    with db.reader() as session:
        state = session.scalar(select(Case.workflow_state).where(Case.number == history["case"]["number"]))
    return history, state


def test_a_join_orders_by_command_time_and_replays_to_the_same_state(db, tmp_path, script_engine):
    """The two departments of the joint review answer on different days; the join merges their
    branches in last_state_change order. The saved state carries command times only, so
    running the same commands again (a replay) saves the very same state."""
    history, state = recorded(db, "joint_parallel")
    times = {parse_datetime(c["at"]).timestamp() for c in history["commands"]}
    changes = {t["last_state_change"] for t in all_tasks(json.loads(decode_state(state)))}
    assert changes <= times, upgrade(f"saved last_state_change values {sorted(changes - times)} are not command times")
    again = Database(f"sqlite:///{tmp_path / 'again.db'}")
    again.create_schema()
    try:
        _, replayed = recorded(again, "joint_parallel")
    finally:
        again.dispose()
    assert replayed == state, "the same commands saved a different workflow state"
    definition = parse_definition(history["process"]["bpmn"], "joint_review.bpmn")
    workflow = StateCodec().load(state, definition.spec, definition.subprocess_specs)
    assert workflow.completed and {"ws_result", "mz_result"} <= workflow.last_task.data.keys()


def test_outside_a_command_spiff_keeps_its_own_clock_for_last_state_change(food, script_engine):
    before = datetime.now().timestamp()
    workflow = BpmnWorkflow(food.spec, food.subprocess_specs, script_engine=script_engine)
    assert all(t.last_state_change >= before for t in workflow.tasks.values())


def test_a_duration_timer_is_due_from_the_command_time(timers, script_engine):
    workflow = start(timers, script_engine)
    due = {t.element: t.fires for t in waiting_timers(workflow)}
    assert due.get("overdue") == T0 + timedelta(hours=2), upgrade(
        "a duration timer's due moment is not computed from SpiffWorkflow.bpmn.specs.event_definitions"
        f".timer.datetime.now(), or no longer kept in internal_data['event_value'] (got {due})")
    # A date without an offset is China time, whatever the server's zone (the LOCALTZ patch).
    assert due.get("closing") == datetime(2026, 3, 3, 12, 0, tzinfo=CHINA_TZ), upgrade(
        f"a timer date without an offset is not read in timer.LOCALTZ (got {due})")
    timer = next(t for t in waiting_timers(workflow) if t.element == "overdue")
    assert (timer.name, timer.expression) == ("两小时未缴费", '"PT2H"')
    with command_scope(T0 + timedelta(hours=2), KEY, 2):
        run_engine(workflow)
    assert not workflow.completed, upgrade("a timer fired at its moment (it should fire strictly after)")
    with command_scope(T0 + timedelta(hours=2, seconds=1), KEY, 3):
        run_engine(workflow)
    assert workflow.completed and waiting_timers(workflow) == [], upgrade(
        "refresh_timers()/do_engine_steps() no longer fire a due timer against the command time")


def test_a_moved_timer_fires_at_its_new_moment(timers, script_engine):
    workflow = start(timers, script_engine)
    overdue = next(t for t in waiting_timers(workflow) if t.element == "overdue")
    later = T0 + timedelta(hours=5)
    move_timer(workflow, overdue.task, later)
    assert next(t for t in waiting_timers(workflow) if t.element == "overdue").fires == later
    with command_scope(T0 + timedelta(hours=3), KEY, 2):
        run_engine(workflow)
    assert not workflow.completed, upgrade("a timer ignored the moment written to internal_data['event_value']")
    with command_scope(later + timedelta(seconds=1), KEY, 3):
        run_engine(workflow)
    assert workflow.completed, upgrade("a moved timer did not fire at its new moment")


def test_a_migrated_waiting_timer_keeps_its_moment(timers, script_engine):
    workflow = start(timers, script_engine)
    before = {(t.task, t.element): t.fires for t in waiting_timers(workflow)}
    again = parse_definition(TIMERS.replace('name="缴费"', 'name="缴纳费用"'), "contract_timers.bpmn")
    with command_scope(T0 + timedelta(hours=1), KEY, 2):
        assert spiff.migrate(workflow, again.spec, again.subprocess_specs, StateCodec().registry) == []
        run_engine(workflow)
    assert workflow.spec is again.spec
    assert {(t.task, t.element): t.fires for t in waiting_timers(workflow)} == before, upgrade(
        "after migrate_workflow a waiting timer no longer keeps the moment put back in internal_data['event_value']")


def test_workflows_run_submit_and_reset_through_the_fence(food, script_engine):
    workflow = start(food, script_engine)
    assert [t.element for t in ready_user_tasks(workflow)] == ["accept_application"]
    accept = ready_user_tasks(workflow)[0].id
    step(workflow, T0 + timedelta(hours=1), 2, "accept_application", {"acceptance": "accept"})
    (review,) = ready_user_tasks(workflow)
    assert review.element == "preliminary_review" and review.data["acceptance"] == "accept"
    with command_scope(T0 + timedelta(hours=2), KEY, 3):
        reset_to(workflow, accept)
        run_engine(workflow)
    assert [(t.id, t.element) for t in ready_user_tasks(workflow)] == [(accept, "accept_application")], upgrade(
        "reset_from_task_id no longer makes the earlier task ready again with the same id")


def test_data_is_corrected_in_the_unfinished_tasks_and_a_cancelled_workflow_waits_for_nothing(food, script_engine):
    """engine/operations.py: an administrator's correction reaches the steps still to come; a
    terminated case's workflow has nothing ready and is finished (``TaskState.NOT_FINISHED_MASK``,
    ``BpmnWorkflow.cancel``)."""
    workflow = start(food, script_engine)
    step(workflow, T0 + timedelta(hours=1), 2, "accept_application", {"acceptance": "accept"})
    assert spiff.current_data(workflow, ["acceptance", "nothing"]) == {"acceptance": "accept"}
    spiff.correct_data(workflow, {"acceptance": "refuse"})
    (review,) = ready_user_tasks(workflow)
    assert review.data["acceptance"] == "refuse", upgrade("unfinished tasks no longer carry the data on")
    with command_scope(T0 + timedelta(hours=2), KEY, 3):
        spiff.cancel_workflow(workflow)
    assert ready_user_tasks(workflow) == [] and workflow.completed, upgrade("BpmnWorkflow.cancel leaves tasks open")


def test_migration_keeps_the_ready_task_and_moves_it_onto_the_new_spec(food, script_engine):
    """engine/runtime/spiff.py migrate: SpiffWorkflow's diff_workflow + migrate_workflow align tasks
    by BPMN id and reset ready tasks in place (same id), so the projected task rows stay valid."""
    workflow = start(food, script_engine)
    step(workflow, T0 + timedelta(hours=1), 2, "accept_application", {"acceptance": "accept"})
    (ready,) = ready_user_tasks(workflow)
    renamed = (BPMN / "food_production.bpmn").read_bytes().replace(
        f'name="{food.user_tasks[ready.element].name}"'.encode(), 'name="改名后的环节"'.encode(), 1)
    assert renamed != (BPMN / "food_production.bpmn").read_bytes()
    new = parse_definition(renamed, "food_production.bpmn")
    with command_scope(T0 + timedelta(hours=2), KEY, 3):
        stranded = spiff.migrate(workflow, new.spec, new.subprocess_specs, StateCodec().registry)
        run_engine(workflow)
    assert stranded == [], upgrade(f"migrate_workflow left tasks on the old specs: {stranded}")
    assert workflow.spec is new.spec
    assert [(t.id, t.element) for t in ready_user_tasks(workflow)] == [(ready.id, ready.element)], upgrade(
        "migrate_workflow no longer resets a ready task in place with the same id")
    codec = StateCodec()
    again = codec.load(codec.dump(workflow), new.spec, new.subprocess_specs)
    assert [t.id for t in ready_user_tasks(again)] == [ready.id]


def test_parser_and_specification_reading(food):
    parser = CamundaParser()
    assert parser_knows(parser, f"{{{BPMN_NS}}}userTask") and parser_knows(parser, f"{{{BPMN_NS}}}callActivity")
    assert not parser_knows(parser, f"{{{BPMN_NS}}}noSuchElement"), upgrade(
        "BpmnParser._get_parser_class no longer answers (None, None) for an unknown tag")
    # Into the called process and past its start event.
    assert [t.element_id for t in next_user_tasks(food, "preliminary_review")] == ["city_review"], upgrade(
        "the specification graph (task_specs, outputs, a call activity's spec, start) changed")
    reached = list(elements_after(food.spec, food.subprocess_specs, "city_decide", stop=lambda e: False))
    assert "city_end" in reached


# ---------------------------------------------------------------- expressions (engine/runtime/expressions.py)
def test_every_expression_goes_through_the_safe_environment(food, script_engine):
    """SafeEnvironment replaces eval/exec through SpiffWorkflow's documented extension point;
    that only holds while the environment's methods are all the engine calls."""
    public = {n for n in dir(BasePythonScriptEngineEnvironment) if not n.startswith("_")}
    assert public == {"evaluate", "execute", "call_service"}, upgrade(
        f"the script environment has new methods {sorted(public - {'evaluate', 'execute', 'call_service'})}: "
        "check whether engine/runtime/expressions.py SafeEnvironment must override them")
    for name in public:
        assert getattr(SafeEnvironment, name) is not getattr(BasePythonScriptEngineEnvironment, name)
    task = start(food, script_engine).task_tree
    task.data["a"] = 1
    assert script_engine.evaluate(task, "a + 1") == 2
    with pytest.raises(Exception) as caught:
        script_engine.evaluate(task, "__import__('os')")
    chain, error = [], caught.value
    while error is not None:
        chain.append(type(error).__name__)
        error = error.__cause__ or error.__context__ or getattr(error, "error", None)
    assert "ExpressionError" in chain, upgrade(f"an expression was not refused by SafeEnvironment ({chain})")


# ---------------------------------------------------------------- the state codec
def test_a_workflow_with_a_call_activity_round_trips_through_the_state_codec(food, script_engine):
    codec = StateCodec()
    straight, stored = start(food, script_engine), start(food, script_engine)
    for seq, (element, data) in enumerate(FOOD_STEPS, 2):
        at = T0 + timedelta(days=seq)
        step(straight, at, seq, element, data)
        # the other one is saved and restored (without its specification) before every command
        saved = codec.dump(stored)
        assert "spec" not in json.loads(decode_state(saved)) and "subprocess_specs" not in json.loads(decode_state(saved)), upgrade(
            "the state codec stores the specification again (RuntimeOnlyWorkflowConverter)")
        stored = codec.load(saved, food.spec, food.subprocess_specs)
        stored.script_engine = script_engine
        assert codec.dump(stored) == saved, upgrade(f"dump → load → dump changed the state before {element}")
        if element.startswith("city_"):
            assert stored.subprocesses, upgrade("the called process was not restored")
        step(stored, at, seq, element, data)
    assert straight.completed and stored.completed, upgrade("a restored workflow did not run to completion")
    assert codec.dump(stored) == codec.dump(straight), upgrade(
        "a workflow restored from its state ends differently from one that never left memory")
    assert straight.last_task.data["decision"] == "grant"


def test_states_stored_in_every_earlier_form_still_load(food, script_engine):
    """A state is stored with zlib and a preset dictionary (``z2:``); states saved as plain JSON
    (before compression) and with plain zlib (``z1:``) load to the same workflow."""
    import base64
    import hashlib
    import zlib
    from engine.runtime.spiff import COMPRESSED, COMPRESSED_DICT, STATE_DICTIONARY
    codec = StateCodec()
    workflow = start(food, script_engine)
    state_json = codec.dump_json(workflow)
    stored = codec.dump(workflow)
    assert stored.startswith(COMPRESSED_DICT) and decode_state(stored) == state_json
    assert len(stored) < len(COMPRESSED + base64.b64encode(zlib.compress(state_json.encode(), 6)).decode())
    assert hashlib.sha256(STATE_DICTIONARY).hexdigest()[:16] == "a43f15268c9afd87", "the dictionary is part of the stored format: never edit it"
    older = [state_json, COMPRESSED + base64.b64encode(zlib.compress(state_json.encode("utf-8"), 6)).decode("ascii")]
    for saved in older:
        assert codec.dump(codec.load(saved, food.spec, food.subprocess_specs)) == stored


def test_a_state_saved_by_spiffworkflow_3_2_0_still_loads_and_completes(food, script_engine):
    """Cases in the database keep the state an older release saved: it must load (the
    serializer migrates it) and run on. The fixture was saved in the called process."""
    codec = StateCodec()
    saved = (FIXTURES / "state_spiff_3_2_0.json").read_text(encoding="utf-8")
    workflow = codec.load(saved, food.spec, food.subprocess_specs)
    workflow.script_engine = script_engine
    assert [t.element for t in ready_user_tasks(workflow)] == ["city_review"], upgrade(
        "a state saved by 3.2.0 no longer loads to the same ready task")
    for seq, (element, data) in enumerate(FOOD_STEPS[2:], 4):
        step(workflow, T0 + timedelta(days=seq), seq, element, data)
    assert workflow.completed, upgrade("a state saved by 3.2.0 no longer runs to completion")


def make_state_fixture() -> str:  # pragma: no cover - how tests/fixtures/state_spiff_3_2_0.json was made
    food = parse_definition((BPMN / "food_production.bpmn").read_bytes(), "food_production.bpmn")
    script_engine = make_script_engine()
    workflow = start(food, script_engine)
    for seq, (element, data) in enumerate(FOOD_STEPS[:2], 2):
        step(workflow, T0 + timedelta(days=seq), seq, element, data)
    return StateCodec().dump(workflow)


def test_uuid_namespace_of_ids_is_the_case_key():
    assert IdSource(KEY, 1)() == uuid.uuid5(uuid.UUID(KEY), "1:1")
