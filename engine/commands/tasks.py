"""Commands on one task: complete, claim, release."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from .. import outcomes
from ..errors import BadInput
from ..values import check_form
from .base import Applied, CommandContext, OpenCase, TaskCommand

MAX_OPINION = 2000


@dataclass(frozen=True)
class CompleteTask(TaskCommand):
    """Submit a task's form and opinion (审批意见); the flow moves on."""

    type = "complete_task"
    task: int | str
    data: dict[str, Any] = field(default_factory=dict)
    opinion: str = ""
    expected_version: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = self.actionable_task(ctx, case)
        opinion = self.opinion.strip()
        if len(opinion) > MAX_OPINION:
            raise BadInput(f"审批意见过长（上限 {MAX_OPINION} 字）")
        if row.kind == "followup":
            # An opinion owed after a deemed approval: recorded, the flow has moved on already.
            if not opinion:
                raise BadInput(f"“{row.name}”需要填写意见")
            data = {}
        else:
            data = check_form(case.definition.user_tasks[row.element_id].form, self.data)
            outcomes.check(case, row, data, opinion)
            case.timekeeper.check_completion(row, data)
        row.state, row.completed_at, row.completed_by_id = "completed", ctx.at, ctx.actor.user_id
        row.opinion, row.form_data = opinion or None, data
        case.closed.append(row)
        if row.kind == "bpmn":
            spiff_task = case.workflow.get_task_from_id(UUID(row.spiff_id))

            def submit():
                spiff_task.data.update(data)
                spiff_task.run()

            case.advance(submit)
        return Applied(row, {"task": row.spiff_id, "element": row.element_id, "data": data,
                             "opinion": opinion})


@dataclass(frozen=True)
class ClaimTask(TaskCommand):
    """Take a task so that colleagues see it is being handled (认领)."""

    type = "claim_task"
    task: int | str
    expected_version: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = self.actionable_task(ctx, case)
        row.assignee_id = ctx.actor.user_id
        return Applied(row, {"task": row.spiff_id, "element": row.element_id})


@dataclass(frozen=True)
class ReleaseTask(TaskCommand):
    """Give a claimed task back to the shared inbox (释放)."""

    type = "release_task"
    task: int | str
    expected_version: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = self.actionable_task(ctx, case)
        if row.assignee_id is None:
            raise BadInput(f"任务“{row.name}”没有被认领")
        row.assignee_id = None
        return Applied(row, {"task": row.spiff_id, "element": row.element_id})
