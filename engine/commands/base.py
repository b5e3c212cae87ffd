"""What every command is: its declaration, and the two kinds most commands are.

A command is a small frozen dataclass of its inputs, declared once:

- ``type``: its name in histories and the CLI (``approvals run TYPE``);
- ``label``: its Chinese name on pages and in the case history;
- ``policy``: who may run it (``engine.authorization``), checked by ``Engine.execute``;
- ``recorded_inputs`` / ``from_record``: how its inputs are written to the history and how a
  replay rebuilds it (by default the dataclass fields, as JSON);
- ``load`` finds and locks its case; ``apply`` changes it and returns ``Applied``: a value for
  the caller and the ``result`` — what the command produced, kept apart from its inputs.

Defining the class registers it in ``COMMANDS``; nothing else needs editing.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar

from sqlalchemy import select

from engine.authorization import Policy, Subject, acceptance_task
from engine.errors import BadInput, Conflict, NotFound
from engine.runtime.values import MAX_ID, MAX_TEXT as MAX_INPUT_TEXT, check_int, check_text, check_value
from engine.store.models import Task
from engine.unit_of_work import CommandContext, OpenCase

#: How an input is named in a refusal (the field's own name otherwise).
INPUT_LABELS = {"opinion": "审批意见", "reason": "理由", "note": "说明", "applicant": "申请人", "to": "办理人",
                "materials": "材料", "case": "办件编号", "item": "事项代码", "kind": "类别", "task": "任务编号",
                "days": "工作日数", "data": "表单数据", "statuses": "材料核对结果", "expected_version": "表单版本"}

#: Every command class by its ``type``: filled as command modules are imported.
COMMANDS: dict[str, type["Command"]] = {}


@dataclass(frozen=True)
class Applied:
    """What a command did: ``value`` for the caller, ``result`` for the history — what the
    command produced (ids it minted, values it computed, whom it told), apart from its inputs."""

    value: Any
    result: dict[str, Any]


def _json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    return value


class Command:
    type: ClassVar[str]
    label: ClassVar[str]
    policy: ClassVar[Policy]
    #: fields that are not inputs of the change itself (the task version a form was rendered at)
    unrecorded: ClassVar[frozenset[str]] = frozenset({"expected_version"})
    #: a refusal (``Conflict``, ``NotAllowed``) is recorded in ``command_refusals`` (流程错误)
    records_refusals: ClassVar[bool] = True
    #: where a command on no case (``load`` returns None) is recorded: ``supervision`` acts
    #: (findings, 效能告诫) or ``administration`` acts (organisation, catalogue, items)
    ledger: ClassVar[str] = "supervision"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "type" not in cls.__dict__:
            return  # an abstract kind of command (TaskCommand, CaseCommand)
        missing = [name for name in ("label", "policy") if not hasattr(cls, name)]
        if missing:
            raise TypeError(f"command {cls.__name__} must declare {', '.join(missing)}")
        if not isinstance(cls.policy, Policy):
            raise TypeError(f"command {cls.__name__}: policy must be an engine.authorization.Policy")
        if cls.type in COMMANDS and COMMANDS[cls.type].__qualname__ != cls.__qualname__:
            raise TypeError(f"command type {cls.type!r} declared twice")
        COMMANDS[cls.type] = cls

    def check_inputs(self) -> None:
        """Refuse inputs no command can use, before anything is read or written, the same on every
        database: text with NUL or undecodable characters or longer than any text input, integers
        beyond 64 bits, NaN and Infinity. Each command still checks its own rules (lengths, ranges)."""
        for f in fields(self):
            _check_input(getattr(self, f.name), INPUT_LABELS.get(f.name, f"输入“{f.name}”"))

    def load(self, ctx: CommandContext) -> OpenCase:
        raise NotImplementedError

    def apart_subject(self, ctx: CommandContext) -> Subject:
        """What the policy is checked against for a command on no case (the record it names)."""
        raise NotImplementedError

    def subject(self, case: OpenCase) -> Subject:
        """What the policy is checked against."""
        return Subject(case.row, case.definition)

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        raise NotImplementedError

    def recorded_inputs(self, case: OpenCase) -> dict[str, Any]:
        """The inputs as the history records them: enough to run the command again."""
        return {f.name: _json(getattr(self, f.name)) for f in fields(self) if f.name not in self.unrecorded}

    @classmethod
    def from_record(cls, inputs: dict[str, Any], result: dict[str, Any], *, version: str | None = None) -> "Command":
        """Rebuild the command from a history entry (replay)."""
        known = {f.name: f for f in fields(cls) if f.name not in cls.unrecorded}
        missing = [name for name, f in known.items() if name not in inputs
                   and f.default is MISSING and f.default_factory is MISSING]
        if missing:
            raise BadInput(f"命令 {cls.type} 的记录缺少输入：{'、'.join(missing)}")
        values = {}
        for name, value in inputs.items():
            if name in known:
                values[name] = tuple(value) if isinstance(value, list) and "tuple" in str(known[name].type) else value
        return cls(**values)


def _check_input(value: Any, what: str) -> None:
    if isinstance(value, str):
        check_text(value, what, MAX_INPUT_TEXT)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        check_int(value, what)
    elif isinstance(value, float):
        check_value(value)
    elif isinstance(value, (tuple, list)):
        for item in value:
            _check_input(item, what)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_input(key, what)
            _check_input(item, what)


class TaskCommand(Command):
    """A command on one task; finds and locks the task's case. ``task`` is a database id or
    a SpiffWorkflow task id (as recorded in histories). ``expected_version`` is the task's
    version when the form was rendered: a form is stale only when its own task changed."""

    task: int | str

    def load(self, ctx: CommandContext) -> OpenCase:
        column = Task.id if isinstance(self.task, int) else Task.spiff_id
        if isinstance(self.task, int) and not 0 < self.task <= MAX_ID:  # PostgreSQL would refuse the query
            raise NotFound(f"任务 {self.task} 不存在")
        # the task's case, found in the statement that locks it
        return ctx.engine.open_case(ctx, ctx.lock_case((column, self.task), missing=f"任务 {self.task} 不存在"))

    def apart_subject(self, ctx: CommandContext) -> Subject:
        """What the policy is checked against for a command on no case (the record it names)."""
        raise NotImplementedError

    def subject(self, case: OpenCase) -> Subject:
        return Subject(case.row, case.definition, case.task_row(self.task))

    def recorded_inputs(self, case: OpenCase) -> dict[str, Any]:
        inputs = super().recorded_inputs(case)
        inputs["task"] = case.task_row(self.task).spiff_id  # database ids differ between databases
        return inputs

    def task_row(self, case: OpenCase) -> Task:
        """The command's task, checked against a stale form (the policy has checked it is ready)."""
        row = case.task_row(self.task)
        expected = getattr(self, "expected_version", None)
        if expected is not None and expected != row.version:
            raise Conflict(f"任务“{row.name}”已被他人处理过（认领、转办、退回或办理），请刷新后重试")
        return row


MAX_TEXT = 500


def bounded_text(value: str, what: str, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise BadInput(f"{what}不能为空")
    if len(value) > MAX_TEXT:
        raise BadInput(f"{what}过长（上限 {MAX_TEXT} 字）")
    return value


class CaseCommand(Command):
    """A command on a whole case, named by its number."""

    case: str

    def load(self, ctx: CommandContext) -> OpenCase:
        return ctx.engine.open_case(ctx, ctx.case_by_number(self.case))

    def acceptance_task(self, ctx: CommandContext, case: OpenCase) -> Task:
        """The open acceptance step (the policy ``ACCEPTANCE_WINDOW`` has checked there is one)."""
        task = acceptance_task(ctx.session, case.row, case.definition)
        if task is None:
            raise Conflict(f"办件 {case.row.number} 不在受理环节")
        return task
