"""What every command shares: its context and the case it works on.

A command is a small frozen dataclass holding only its inputs. ``Engine.execute``
gives it a ``CommandContext``; the command finds its case with ``load`` (which
locks the case row), changes it in ``apply``, and says what to record with
``record``. The engine does the rest: transaction, time order, ids, saving the
workflow, projecting tasks, and appending the history entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import select

from engine.errors import BadInput, Conflict, NotAllowed, NotFound
from engine.read.access import authorize_task
from engine.store.models import Task
from engine.unit_of_work import CommandContext, OpenCase


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
