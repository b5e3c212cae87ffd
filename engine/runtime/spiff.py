"""The SpiffWorkflow fence: every touch of SpiffWorkflow beyond its plain public API.

On an upgrade of SpiffWorkflow this module (and ``tests/test_spiff_contract.py``,
which checks each assumption below) is the one place to look. Declared range:
``SpiffWorkflow>=3.2.0,<3.3`` in ``setup.cfg``.

* **Time.** SpiffWorkflow reads the clock in two places. Its timer module's
  ``datetime`` is replaced by a subclass whose ``now()`` returns the time of the
  command being executed (a context variable), so timers follow the injected clock;
  outside a command it raises. Its task module's ``time`` is replaced by a shim whose
  ``time()`` is the command's time, so ``Task.last_state_change`` (saved with the
  state; joins order the branches they merge by it) follows the command's clock too;
  outside a command (library use in tests and benchmarks, which save nothing) it is
  SpiffWorkflow's own wall-clock reading.
* **Ids.** Spiff gives every task a ``uuid4()``. Inside a command the ids come from
  the case key and the command's sequence number instead, so replaying a history
  recreates the very same task ids.
* **State.** A case stores only runtime state; the specification is shared per
  process version and re-attached on load (``RuntimeOnlyWorkflowConverter``, built
  on the serializer's converter internals).
* **Running.** ``run_engine`` (``refresh_timers``, new in 3.2.0), ``submit_task``,
  ``reset_to``, ``new_workflow``; ``cancel_workflow``, ``current_data`` and ``correct_data`` (an administrator's
  correction, in the data of the unfinished tasks: ``TaskState.NOT_FINISHED_MASK``).
* **Migrating.** ``migrate`` moves a running workflow onto another version's specification
  with SpiffWorkflow's own ``diff_workflow`` and ``migrate_workflow`` (``bpmn.util.diff``):
  tasks are aligned by BPMN id, ready and waiting tasks are reset in place (same ids); a waiting
  timer keeps its moment (``internal_data["event_value"]``, as for ``move_timer``).
* **Reading.** ``ready_user_tasks``, ``waiting_timers`` and ``move_timer`` (a timer
  keeps its due moment in the private ``internal_data["event_value"]``),
  ``parser_knows`` (the parser's private tag table) and ``elements_after`` (the
  specification graph).
"""
from __future__ import annotations

import base64
import json
import uuid
import zlib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator, Mapping

import SpiffWorkflow.task as spiff_task_module
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer_module
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.clock import CHINA_TZ, china_date, end_of_day
from engine.errors import BadInput, BpmnError

_command_time: ContextVar[datetime | None] = ContextVar("approvals_command_time", default=None)
_id_source: ContextVar["IdSource | None"] = ContextVar("approvals_id_source", default=None)
_calendar: ContextVar[Callable[[], Any] | None] = ContextVar("approvals_calendar", default=None)


class OutsideCommandError(RuntimeError):
    """SpiffWorkflow asked for the time while no command was running."""


class _CommandDatetime(datetime):
    """``datetime`` as seen by SpiffWorkflow's timer module: ``now()`` is the command's time."""

    @classmethod
    def now(cls, tz=None):
        at = _command_time.get()
        if at is None:
            raise OutsideCommandError("SpiffWorkflow read the clock outside a command")
        return at.astimezone(tz) if tz is not None else at.astimezone(CHINA_TZ).replace(tzinfo=None)


class IdSource:
    """Deterministic UUIDs: the n-th id minted by command ``seq`` of case ``case_key``."""

    def __init__(self, case_key: str, seq: int):
        self._namespace = uuid.UUID(case_key)
        self._seq = seq
        self._n = 0
        self.minted: set[str] = set()
        self.went_back = False  # ``reset_to`` ran: steps done before may be ready again

    def __call__(self) -> uuid.UUID:
        self._n += 1
        minted = uuid.uuid5(self._namespace, f"{self._seq}:{self._n}")
        self.minted.add(str(minted))
        return minted


def may_have_row(task_id: str) -> bool:
    """Whether a ready task the running command found may already have a (finished) task row:
    only a step the flow went back to (``reset_to``: 退回, 拿回) is ready again under the id it
    had; a task first ready now was never projected (SpiffWorkflow runs a loop on new tasks)."""
    source = _id_source.get()
    return source is None or (source.went_back and task_id not in source.minted)


class _CommandTime:
    """``time`` as seen by SpiffWorkflow's task module, which calls only ``time.time()``
    (for ``Task.last_state_change``): inside a command it is the command's time."""

    def __init__(self, wall):
        self._wall = wall

    def time(self) -> float:
        at = _command_time.get()
        return at.timestamp() if at is not None else self._wall.time()

    def __getattr__(self, name):
        return getattr(self._wall, name)


def _task_uuid() -> uuid.UUID:
    source = _id_source.get()
    return source() if source is not None else uuid.uuid4()


def next_id() -> uuid.UUID:
    """The next deterministic id of the running command (for rows the engine itself creates)."""
    source = _id_source.get()
    if source is None:
        raise OutsideCommandError("an id was asked for outside a command")
    return source()


def workdays(n: int) -> str:
    """Timer helper: the ISO 8601 duration from now to the end of the n-th working day
    after today, on the official calendar. For ``timeDuration`` expressions."""
    at, calendar = _command_time.get(), _calendar.get()
    if at is None or calendar is None:
        raise OutsideCommandError("workdays() was evaluated outside a command")
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= 365:
        raise BadInput(f"workdays() 需要 1 到 365 之间的整数，收到 {n!r}")
    due = calendar().add(china_date(at), n).value
    seconds = (end_of_day(due) - at) // timedelta(seconds=1)
    return f"PT{seconds}S"


#: The module attributes replaced on import: (module, attribute, what SpiffWorkflow uses it for).
PATCHED = (
    (spiff_timer_module, "datetime", "datetime.now() when a timer computes and checks its due moment"),
    (spiff_timer_module, "LOCALTZ", "the zone of timer expressions written without an offset"),
    (spiff_task_module, "uuid4", "the id of every new task"),
    (spiff_task_module, "time", "time.time() for Task.last_state_change"),
)


def _install() -> None:
    for module, name, use in PATCHED:
        if not hasattr(module, name):  # patching a name nobody reads would silently do nothing
            raise ImportError(f"SpiffWorkflow upgrade: {module.__name__}.{name} ({use}) is gone; "
                              "see engine/runtime/spiff.py and docs/architecture.md (The SpiffWorkflow fence)")
    spiff_timer_module.datetime = _CommandDatetime
    # Timer expressions without an offset are China time, whatever the server's zone.
    spiff_timer_module.LOCALTZ = CHINA_TZ
    spiff_task_module.uuid4 = _task_uuid
    if not isinstance(spiff_task_module.time, _CommandTime):
        spiff_task_module.time = _CommandTime(spiff_task_module.time)


_install()


@contextmanager
def command_scope(at: datetime, case_key: str, seq: int,
                  calendar: Callable[[], Any] | None = None) -> Iterator[None]:
    """Run SpiffWorkflow code at ``at`` with ids derived from ``(case_key, seq)``;
    ``calendar`` gives the working-day calendar to ``workdays()``."""
    time_token = _command_time.set(at)
    id_token = _id_source.set(IdSource(case_key, seq))
    calendar_token = _calendar.set(calendar)
    try:
        yield
    finally:
        _command_time.reset(time_token)
        _id_source.reset(id_token)
        _calendar.reset(calendar_token)


class RuntimeOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Serialize a workflow without its specification; restore it onto a given one."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], uuid.UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(uuid.UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


#: The largest runtime state a case may store (UTF-8 bytes of its JSON); a command that would
#: store more is refused (docs/security.md, "Bounded expressions").
MAX_STATE_BYTES = 8 * 1024 * 1024


class StateTooLarge(BadInput):
    code = "state_too_large"


class StateCodec:
    """Turns a running workflow into a JSON string and back, given its definition."""

    def __init__(self):
        config = dict(CAMUNDA_CONFIG)
        config[BpmnWorkflow] = RuntimeOnlyWorkflowConverter
        self._registry = BpmnWorkflowSerializer.configure(config)
        self._serializer = BpmnWorkflowSerializer(self._registry)

    def dump(self, workflow: BpmnWorkflow) -> str:
        """The stored form: the JSON state compressed (``encode``)."""
        return encode_state(self.dump_json(workflow))

    def dump_json(self, workflow: BpmnWorkflow) -> str:
        dct = self._serializer.to_dict(workflow)
        dct[self._serializer.VERSION_KEY] = self._serializer.VERSION
        state = json.dumps(dct, ensure_ascii=False, separators=(",", ":"))
        size = len(state.encode())
        if size > MAX_STATE_BYTES:
            raise StateTooLarge(f"办件的流程数据将达到 {size / 1048576:.1f} MB，超过上限 {MAX_STATE_BYTES // 1048576} MB，"
                                "本次操作未生效；请减少填写或由脚本生成的数据，或请管理员检查流程图中的脚本")
        return state

    @property
    def registry(self):
        """The serializer's converters: SpiffWorkflow's spec diff compares specs through them."""
        return self._registry

    def load(self, state: str, spec, subprocess_specs) -> BpmnWorkflow:
        dct = json.loads(decode_state(state))
        self._serializer.migrate(dct)
        return self._serializer.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)


#: How a compressed state starts: zlib (level 6) over the UTF-8 JSON, in base64 so that it stays
#: text (``cases.workflow_state`` is a Text column). The JSON is a tree of task records with the
#: same keys over and over, and compresses about 4:1; base64 adds a third back (base85 would add
#: a quarter, but Python's is 200 times slower: 0.14 ms a command instead of 0.5 µs).
COMPRESSED = "z1:"
#: Since issue 13's storage pass: zlib with a preset dictionary (``STATE_DICTIONARY``). A state is
#: a few kilobytes, too short for zlib to learn its own vocabulary before it ends; the dictionary
#: gives it the keys and the shape of a task record up front: a concluded case of the benchmark
#: diagram stores 0.73 KB instead of 1.0 KB. The dictionary is part of the format: never edit it
#: (a better one needs a new prefix, and ``decode_state`` keeps reading this one).
COMPRESSED_DICT = "z2:"
_TASK = ('"":{"id":"","parent":"","children":[""],"last_state_change":,"state":64,"task_spec":"",'
         '"triggered":false,"internal_data":{},"data":{},"delta":{"updates":{},"deletions":[]},"typename":"Task"},')
STATE_DICTIONARY = ('{"data":{},"correlations":{},"last_task":"","success":true,"completed":false,"tasks":{'
                    '"":{"id":"","parent":null,"children":[""],"last_state_change":,"state":64,"task_spec":"Start",'
                    '"triggered":false,"internal_data":{},"data":{},"delta":{},"typename":"Task"},'
                    '"":{"id":"","parent":"","children":[""],"last_state_change":,"state":64,"task_spec":"start",'
                    '"triggered":false,"internal_data":{"event_fired":true},"data":{},"delta":{"updates":{},"deletions":[]},'
                    '"typename":"Task"},' + _TASK * 5 +
                    '"":{"id":"","parent":"","children":[],"last_state_change":,"state":64,"task_spec":"End",'
                    '"triggered":false,"internal_data":{},"data":{},"delta":{"updates":{},"deletions":[]},"typename":"Task"}},'
                    '"root":"","subprocesses":{},"bpmn_events":[],"typename":"BpmnWorkflow","serializer_version":"1.5"}'
                    ).encode("ascii")


def encode_state(state_json: str) -> str:
    packer = zlib.compressobj(6, zdict=STATE_DICTIONARY)
    packed = packer.compress(state_json.encode("utf-8")) + packer.flush()
    return COMPRESSED_DICT + base64.b64encode(packed).decode("ascii")


def decode_state(stored: str) -> str:
    """The JSON state from its stored form; states saved before compression are plain JSON, and
    those saved before the dictionary ``z1:``."""
    if stored.startswith(COMPRESSED_DICT):
        unpacker = zlib.decompressobj(zdict=STATE_DICTIONARY)
        packed = base64.b64decode(stored[len(COMPRESSED_DICT):], validate=True)
        return (unpacker.decompress(packed) + unpacker.flush()).decode("utf-8")
    if stored.startswith(COMPRESSED):
        return zlib.decompress(base64.b64decode(stored[len(COMPRESSED):], validate=True)).decode("utf-8")
    return stored


# ---------------------------------------------------------------- running a workflow
def new_workflow(spec, subprocess_specs, script_engine, data: Mapping[str, Any]) -> BpmnWorkflow:
    """A new workflow whose every task sees ``data`` (put on the root task, which all inherit)."""
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    workflow.task_tree.data.update(data)
    return workflow


def run_engine(workflow: BpmnWorkflow) -> None:
    """Run until the workflow waits for people or time: check waiting timers against the
    command's time (``refresh_timers``, new in SpiffWorkflow 3.2.0), then every automatic task."""
    workflow.refresh_timers()
    workflow.do_engine_steps()


def _task(workflow: BpmnWorkflow, task_id: str | uuid.UUID):
    task = workflow.get_task_from_id(task_id if isinstance(task_id, uuid.UUID) else uuid.UUID(task_id))
    if task is None:
        raise BpmnError(f"流程中没有任务 {task_id}")
    return task


def submit_task(workflow: BpmnWorkflow, task_id: str | uuid.UUID, data: Mapping[str, Any]) -> None:
    """Complete a ready user task with the submitted form data (the engine is not run)."""
    task = _task(workflow, task_id)
    task.data.update(data)
    task.run()


def task_data(workflow: BpmnWorkflow, task_id: str | uuid.UUID) -> dict[str, Any]:
    """The data a ready task sees (what earlier steps and the application put there)."""
    return dict(_task(workflow, task_id).data)


def reset_to(workflow: BpmnWorkflow, task_id: str | uuid.UUID) -> None:
    """Take the flow back to a completed task: it is ready again, later tasks are dropped."""
    source = _id_source.get()
    if source is not None:
        source.went_back = True
    workflow.reset_from_task_id(task_id if isinstance(task_id, uuid.UUID) else uuid.UUID(task_id))


def cancel_workflow(workflow: BpmnWorkflow) -> None:
    """End the workflow where it stands (a terminated or voided case): every unfinished task,
    in called processes too, is cancelled (``BpmnWorkflow.cancel``); nothing is ready or waiting."""
    workflow.cancel()


def current_data(workflow: BpmnWorkflow, keys) -> dict[str, Any]:
    """The values the flow carries on for ``keys``: read from its unfinished tasks (ready, waiting),
    which pass their data to the steps after them."""
    out: dict[str, Any] = {}
    for task in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK):
        for key in keys:
            if key not in out and key in task.data:
                out[key] = task.data[key]
    return out


def correct_data(workflow: BpmnWorkflow, values: Mapping[str, Any]) -> None:
    """Put corrected values into every unfinished task's data, so the steps and gateways still to
    come see them (completed tasks keep what they were completed with)."""
    for task in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK):
        task.data.update(values)


# ---------------------------------------------------------------- migrating a workflow
@dataclass(frozen=True)
class StrandedTask:
    """A task of the workflow that the new specification has nowhere to put."""

    element: str
    name: str
    state: str


def migrate(workflow: BpmnWorkflow, spec, subprocess_specs: Mapping[str, Any], registry) -> list[StrandedTask]:
    """Move ``workflow`` onto ``spec`` in place with SpiffWorkflow's diff and migration helpers:
    tasks are aligned to the new specs by BPMN id (or structure), ready and waiting tasks are
    reset and predicted again (keeping their ids). Returns the tasks left on a spec the new
    version does not have (a done or current step that was removed): when any is returned the
    workflow is unusable and must be thrown away (the caller works on a copy or refuses)."""
    # a waiting timer keeps its moment: migrate_workflow's reset would start it counting again
    moments = {t.id: t._get_internal_data("event_value") for t in workflow.get_tasks(state=TaskState.WAITING)
               if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)}
    top, sub_diffs = diff_workflow(registry, workflow, spec, dict(subprocess_specs))
    migrate_workflow(top, workflow, spec)
    stranded = []
    for sp_id, sub in list(workflow.subprocesses.items()):
        diff = sub_diffs.get(sp_id)
        if diff is not None:
            migrate_workflow(diff, sub, subprocess_specs[sub.spec.name])
        else:  # a called process the new version no longer has
            stranded.append(StrandedTask(sub.spec.name, sub.spec.description or sub.spec.name, "SUBPROCESS"))
    workflow.subprocess_specs = dict(subprocess_specs)
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if isinstance(moments.get(task.id), str) and isinstance(getattr(task.task_spec, "event_definition", None),
                                                                TimerEventDefinition):
            task._set_internal_data(event_value=moments[task.id])
    for owner in [workflow, *workflow.subprocesses.values()]:
        for task in owner.get_tasks(skip_subprocesses=True):
            if owner.spec.task_specs.get(task.task_spec.name) is not task.task_spec:
                stranded.append(StrandedTask(getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name,
                                             getattr(task.task_spec, "bpmn_name", None) or task.task_spec.name,
                                             TaskState.get_name(task.state)))
    return stranded


# ---------------------------------------------------------------- reading a workflow
@dataclass(frozen=True)
class ReadyTask:
    """A ready user task: its SpiffWorkflow id, BPMN element id and data."""

    id: str
    element: str
    data: Mapping[str, Any]


def ready_user_tasks(workflow: BpmnWorkflow) -> list[ReadyTask]:
    return [ReadyTask(str(t.id), t.task_spec.bpmn_id, t.data)
            for t in workflow.get_tasks(state=TaskState.READY, manual=True)]


@dataclass(frozen=True)
class WaitingTimer:
    """A BPMN timer event waiting for its moment (``fires``, aware)."""

    task: str
    element: str
    name: str
    expression: str | None
    fires: datetime


def waiting_timers(workflow: BpmnWorkflow) -> list[WaitingTimer]:
    """The workflow's waiting timer events that wait for one moment (date or duration timers;
    a cycle keeps a dict and is left out). The moment is the task's private
    ``internal_data["event_value"]``, an ISO string the timer computed when it began waiting."""
    timers = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        value = task._get_internal_data("event_value")
        if isinstance(definition, TimerEventDefinition) and isinstance(value, str):
            spec = task.task_spec
            timers.append(WaitingTimer(str(task.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id,
                                       definition.expression, TimerEventDefinition.get_datetime(value)))
    return timers


def move_timer(workflow: BpmnWorkflow, task_id: str | uuid.UUID, fires: datetime) -> None:
    """Make a waiting timer fire at ``fires`` instead (a working-day timer whose calendar changed)."""
    _task(workflow, task_id)._set_internal_data(event_value=fires.isoformat())


# ---------------------------------------------------------------- reading a specification
def parser_knows(parser, tag: str) -> bool:
    """Whether the BPMN parser has a parser class for an element (``{namespace}local`` tag)."""
    return parser._get_parser_class(tag) != (None, None)


def elements_after(spec, subprocess_specs: Mapping[str, Any], element_id: str,
                   stop: Callable[[str], bool], limit: int = 500) -> Iterator[str]:
    """BPMN ids of the elements the flow can reach from ``element_id``, breadth first,
    stepping into called processes; the walk does not go past an element ``stop`` accepts."""
    specs = [spec, *subprocess_specs.values()]
    owner = next((s for s in specs if element_id in s.task_specs), None)
    if owner is None:
        return
    seen: set[str] = set()
    queue = list(owner.task_specs[element_id].outputs)
    while queue and len(seen) < limit:
        task_spec = queue.pop(0)
        if task_spec.name in seen:
            continue
        seen.add(task_spec.name)
        bpmn_id = getattr(task_spec, "bpmn_id", None)
        if bpmn_id is not None:
            yield bpmn_id
            if stop(bpmn_id):
                continue
        called = subprocess_specs.get(getattr(task_spec, "spec", None) or "")
        queue.extend(called.start.outputs if called is not None else task_spec.outputs)
