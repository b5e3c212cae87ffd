"""What every command shares: its context and the case it works on.

A command is a small frozen dataclass holding only its inputs. ``Engine.execute``
gives it a ``CommandContext``; the command finds its case with ``load`` (which
locks the case row), changes it in ``apply``, and says what to record with
``record``. The engine does the rest: transaction, time order, ids, saving the
workflow, projecting tasks, and appending the history entry.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from ..access import authorize_task
from ..actors import Actor
from ..definitions import ProcessDefinition
from ..errors import ApprovalError, BadInput, Conflict, NotAllowed, NotFound, Skipped
from .. import outcomes
from ..models import Case, Task
from ..projection import department_ids, project_tasks

if TYPE_CHECKING:
    from ..executor import Engine


@dataclass
class CommandContext:
    engine: "Engine"
    session: Session
    actor: Actor
    at: datetime
    #: set when the actor acts as the away user's backup (AB岗); recorded in the history
    on_behalf_of: str | None = None

    def lock_case(self, case_id: int, *, skip_locked: bool = False) -> Case:
        """Lock the case row for this transaction. With ``skip_locked`` a case another
        transaction holds is not waited for: ``Skipped`` is raised (the timer sweep)."""
        query = select(Case).where(Case.id == case_id).with_for_update(of=Case, skip_locked=skip_locked)
        case = self.session.scalar(query)
        if case is None:
            if skip_locked and self.session.scalar(select(Case.id).where(Case.id == case_id)) is not None:
                raise Skipped(f"办件 {case_id} 正被其他操作锁定")
            raise NotFound(f"办件 {case_id} 不存在")
        return case

    def case_by_number(self, number: str) -> Case:
        case_id = self.session.scalar(select(Case.id).where(Case.number == number))
        if case_id is None:
            raise NotFound(f"办件 {number} 不存在")
        return self.lock_case(case_id)

    def new_key(self) -> str:
        """A fresh random case key; recorded in the history so replay reuses it."""
        return str(uuid.uuid4())


class OpenCase:
    """A locked case with its definition; the workflow is restored on first use.

    ``opened`` and ``closed`` collect the task rows the command opened and closed
    since the last ``project()``; the timekeeper follows them there.
    """

    def __init__(self, ctx: CommandContext, row: Case, definition: ProcessDefinition, workflow=None):
        self.ctx, self.row, self.definition = ctx, row, definition
        self._workflow = workflow
        self.workflow_changed = workflow is not None
        self._unprojected = workflow is not None
        self.opened: list[Task] = []
        self.closed: list[Task] = []
        self._timekeeper = None

    @property
    def timekeeper(self):
        if self._timekeeper is None:
            from ..timekeeping import Timekeeper

            self._timekeeper = Timekeeper(self.ctx, self)
        return self._timekeeper

    @property
    def workflow(self):
        if self._workflow is None:
            engine = self.ctx.engine
            self._workflow = engine.codec.load(self.row.workflow_state, self.definition.spec,
                                               self.definition.subprocess_specs)
            self._workflow.script_engine = engine.script_engine
        return self._workflow

    def attach(self, workflow) -> None:
        """Use a freshly created workflow (a new case)."""
        self._workflow = workflow
        self.workflow_changed = self._unprojected = True

    def advance(self, step=None) -> None:
        """Run ``step`` (if any) and then the engine until it waits for people or time."""
        try:
            if step is not None:
                step()
            self.workflow.refresh_timers()
            self.workflow.do_engine_steps()
        except ApprovalError:
            raise
        except WorkflowTaskException as exc:
            cause = next((c for c in (exc.__cause__, exc.__context__) if isinstance(c, ApprovalError)), None)
            raise BadInput(f"流程在“{exc.task_spec.bpmn_name or exc.task_spec.name}”处无法继续："
                           f"{cause.message if cause else exc}") from None
        except SpiffWorkflowException as exc:
            raise BadInput(f"流程无法继续：{exc}") from None
        self.workflow_changed = self._unprojected = True

    def project(self) -> None:
        """Bring the task table and the clocks in line with what happened so far."""
        if self._unprojected:
            self._unprojected = False
            workflow, row = self.workflow, self.row
            if workflow.completed and row.state == "running":
                row.state, row.concluded_at = "concluded", self.ctx.at
            codes = {t.department for t in self.definition.user_tasks.values()}
            opened, cancelled = project_tasks(self.ctx.session, row, self.definition, workflow, self.ctx.at,
                                              department_ids(self.ctx.session, codes))
            self.opened.extend(opened)
            self.closed.extend(cancelled)
            self.timekeeper.sync_timers(workflow)
        while self.opened or self.closed:
            opened, closed = self.opened, self.closed
            self.opened, self.closed = [], []
            for task in closed:
                if task.kind == "bpmn" and task.state == "completed":
                    outcomes.completed(self, task)
                elif task.kind == "bpmn":  # withdrawn, returned, taken back: its co-signers are not needed
                    for cosign in self.ctx.session.scalars(select(Task).where(
                            Task.followup_of_id == task.id, Task.kind == "cosign", Task.state == "ready")):
                        cosign.state = "cancelled"
            self.timekeeper.sync(opened, closed)

    def task_row(self, task_id: int | str) -> Task:
        """The case's task by database id or SpiffWorkflow id."""
        column = Task.id if isinstance(task_id, int) else Task.spiff_id
        row = self.ctx.session.scalar(select(Task).where(column == task_id, Task.case_id == self.row.id))
        if row is None:
            raise NotFound(f"任务 {task_id} 不存在")
        return row


@dataclass(frozen=True)
class Applied:
    """What a command did: ``value`` for the caller, ``payload`` for the history —
    everything needed to run the command again in a replay."""

    value: Any
    payload: dict[str, Any]


class Command:
    type: ClassVar[str]

    def load(self, ctx: CommandContext) -> OpenCase:
        raise NotImplementedError

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        raise NotImplementedError


class TaskCommand(Command):
    """A command on one task; finds and locks the task's case. ``task`` is a database id or
    a SpiffWorkflow task id (as recorded in histories)."""

    task: int | str

    def load(self, ctx: CommandContext) -> OpenCase:
        column = Task.id if isinstance(self.task, int) else Task.spiff_id
        case_id = ctx.session.scalar(select(Task.case_id).where(column == self.task))
        if case_id is None:
            raise NotFound(f"任务 {self.task} 不存在")
        return ctx.engine.open_case(ctx, ctx.lock_case(case_id))

    @staticmethod
    def ready_task(case: OpenCase, task_id: int | str) -> Task:
        row = case.task_row(task_id)
        if row.state != "ready":
            who = f"（{row.completed_by.display_name} 已于 {row.completed_at:%Y-%m-%d %H:%M} 办理）" \
                if row.completed_by is not None and row.completed_at else ""
            raise Conflict(f"任务“{row.name}”已不是待办状态{who}，请刷新后重试")
        return row

    def actionable_task(self, ctx: CommandContext, case: OpenCase) -> Task:
        """The ready task, checked against a stale form and the actor's right to act on it."""
        row = self.ready_task(case, self.task)
        self.check_version(case)
        ctx.on_behalf_of = authorize_task(ctx.actor, row)
        return row

    def check_version(self, case: OpenCase) -> None:
        """A form carries the case version it was rendered at; refuse it once the case moved on."""
        expected = getattr(self, "expected_version", None)
        if expected is not None and expected != case.row.version:
            raise Conflict("办件已被他人更新，请刷新后重试")


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

    @staticmethod
    def acceptance_task(ctx: CommandContext, case: OpenCase) -> Task:
        """The ready acceptance step, which the actor must be allowed to handle."""
        stage = {e for e, t in case.definition.user_tasks.items() if t.settings.stage == "acceptance"}
        task = next((t for t in ctx.session.scalars(select(Task).where(
            Task.case_id == case.row.id, Task.state == "ready", Task.kind == "bpmn")) if t.element_id in stage), None)
        if task is None:
            raise Conflict(f"办件 {case.row.number} 不在受理环节")
        ctx.on_behalf_of = authorize_task(ctx.actor, task)
        return task

    @staticmethod
    def authorize_handler(ctx: CommandContext, case: OpenCase) -> None:
        """Someone who may act on one of the case's open steps, or the item department's 负责人."""
        actor = ctx.actor
        if actor.user_id is None:
            raise NotAllowed("只有工作人员可以操作办件时限")
        if actor.has_role("head") and actor.department_id == case.row.item.department_id:
            return
        for task in ctx.session.scalars(select(Task).where(Task.case_id == case.row.id, Task.state == "ready")):
            if actor.has_role(task.role) and actor.department_id == task.department_id:
                return
        raise NotAllowed(f"用户 {actor.name} 不是办件 {case.row.number} 的经办人或负责人")
