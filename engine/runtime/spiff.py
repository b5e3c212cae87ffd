"""Everything that touches SpiffWorkflow's runtime: time, ids and state storage.

* **Time.** SpiffWorkflow reads the clock only in its timer module. That module's
  ``datetime`` is replaced by a subclass whose ``now()`` returns the time of the
  command being executed (a context variable), so timers follow the injected clock.
* **Ids.** Spiff gives every task a ``uuid4()``. Inside a command the ids come from
  the case key and the command's sequence number instead, so replaying a history
  recreates the very same task ids.
* **State.** A case stores only runtime state; the specification is shared per
  process version and re-attached on load (``RuntimeOnlyWorkflowConverter``).
"""
from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from datetime import timedelta
from typing import Any, Callable, Iterator

import SpiffWorkflow.task as spiff_task_module
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer_module
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from engine.clock import CHINA_TZ, china_date, end_of_day

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

    def __call__(self) -> uuid.UUID:
        self._n += 1
        return uuid.uuid5(self._namespace, f"{self._seq}:{self._n}")


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
        from engine.errors import BadInput

        raise BadInput(f"workdays() 需要 1 到 365 之间的整数，收到 {n!r}")
    due = calendar().add(china_date(at), n).value
    seconds = (end_of_day(due) - at) // timedelta(seconds=1)
    return f"PT{seconds}S"


def _install() -> None:
    spiff_timer_module.datetime = _CommandDatetime
    # Timer expressions without an offset are China time, whatever the server's zone.
    spiff_timer_module.LOCALTZ = CHINA_TZ
    spiff_task_module.uuid4 = _task_uuid


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


class StateCodec:
    """Turns a running workflow into a JSON string and back, given its definition."""

    def __init__(self):
        config = dict(CAMUNDA_CONFIG)
        config[BpmnWorkflow] = RuntimeOnlyWorkflowConverter
        self._registry = BpmnWorkflowSerializer.configure(config)
        self._serializer = BpmnWorkflowSerializer(self._registry)

    def dump(self, workflow: BpmnWorkflow) -> str:
        dct = self._serializer.to_dict(workflow)
        dct[self._serializer.VERSION_KEY] = self._serializer.VERSION
        return json.dumps(dct, ensure_ascii=False, separators=(",", ":"))

    def load(self, state: str, spec, subprocess_specs) -> BpmnWorkflow:
        dct = json.loads(state)
        self._serializer.migrate(dct)
        return self._serializer.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
