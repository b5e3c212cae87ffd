"""Commands on one task: complete, claim, release, transfer (转办), urge (催办), draft (暂存),
return (退回), take back (拿回) and add a co-signer (加签)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select

from engine.authorization import TASK_COMPLETER, TASK_DELEGATE, TASK_HANDLER, TASK_OVERSIGHT, TASK_WORKER
from engine.runtime.projection import _finished_round, base_department, department_ids
from engine.runtime.spiff import next_id, reset_to, submit_task, task_data
from engine.runtime.step_rules import OPERATIONS
from engine.runtime.values import check_form
from engine.store.enums import TaskKind, TaskState
from engine.store.models import Department, Task, User
from engine.timelimits import reactions

from .. import alerts, documents, outcomes
from ..errors import BadInput, Conflict
from ..people import active_user, role_holders
from ..read.access import may_take_back
from ..roles import role_name
from .base import Applied, CommandContext, OpenCase, TaskCommand

MAX_OPINION = 2000


def _step(case: OpenCase, row: Task):
    return case.definition.user_tasks[row.element_id]


def require_operation(case: OpenCase, row: Task, operation: str) -> None:
    """Refuse an operation the step's settings do not offer (``operations``)."""
    if row.kind == "bpmn" and not _step(case, row).rules.offers(operation):
        raise BadInput(f"“{row.name}”环节不提供“{OPERATIONS[operation]}”操作（流程设计中的环节设置）")


def editable_data(case: OpenCase, row: Task, data: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
    """The step's editable fields and the submitted values for them. A value for a field the step
    may only read, or may not see, is refused unless it is what the case already holds."""
    info = _step(case, row)
    rules = info.rules
    if row.kind != "bpmn" or not rules.protected:
        return info.form if row.kind == "bpmn" else (), data
    fields = {f.id: f for f in info.form}
    current = task_data(case.workflow, row.spiff_id)
    for key in sorted(set(data) & rules.protected):
        value = data[key]
        if value in ("", None):
            continue
        if key in fields:
            value = check_form((fields[key],), {key: value}, partial=True).get(key)
        if value != current.get(key):
            what = "只读" if key in rules.readonly else "不可见"
            label = fields[key].label if key in fields else key
            raise BadInput(f"字段“{label}”在“{row.name}”环节{what}，不能修改")
    return (tuple(f for f in info.form if f.id not in rules.protected),
            {k: v for k, v in data.items() if k not in rules.protected})


def _opinion(text: str) -> str:
    opinion = text.strip()
    if len(opinion) > MAX_OPINION:
        raise BadInput(f"审批意见过长（上限 {MAX_OPINION} 字）")
    return opinion


@dataclass(frozen=True)
class CompleteTask(TaskCommand):
    """Submit a task's form and opinion (审批意见); the flow moves on."""

    type = "complete_task"
    label = "办理"
    policy = TASK_HANDLER
    #: the number of the document it issues is drawn here (a replay passes the recorded one)
    unrecorded = frozenset({"expected_version", "document"})
    task: int | str
    data: dict[str, Any] = field(default_factory=dict)
    opinion: str = ""
    expected_version: int | None = None
    document: str | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = self.task_row(case)
        opinion = _opinion(self.opinion)
        if row.kind in ("followup", "cosign"):
            # An opinion owed after a deemed approval, or a co-signed opinion (加签): recorded only.
            if not opinion:
                raise BadInput(f"“{row.name}”需要填写意见")
            data = {}
        else:
            waiting = [t.assignee.display_name for t in case.ready_rows()
                       if t.followup_of_id == row.id and t.kind == TaskKind.COSIGN and t.assignee is not None]
            if waiting:
                raise Conflict(f"加签人尚未签署意见：{'、'.join(waiting)}")
            form, submitted = editable_data(case, row, self.data)
            data = check_form(form, submitted)
            refusal = outcomes.refusal(case, row, data)
            require_operation(case, row, "refuse" if refusal else "approve")
            outcomes.check(case, row, data, opinion)
            reactions.check_completion(case.timekeeper, row, data)
            if refusal is None and _step(case, row).rules.handler == "head_chain":
                upper = next_head(ctx, case, row)
                if upper is not None:  # 逐级审批: the 负责人 of the department above, in turn
                    return _pass_up(ctx, case, row, data, opinion, upper)
        row.state, row.completed_at, row.completed_by_id = "completed", ctx.at, ctx.actor.user_id
        row.opinion, row.form_data = opinion or None, data
        case.closed.append(row)
        if row.kind == "bpmn":
            case.advance(lambda: submit_task(case.workflow, row.spiff_id, data))
        result = {"element": row.element_id, "data": data}
        issued = documents.for_completed_step(case, row, data, self.document)
        if issued is not None:
            result["document"] = issued
        return Applied(row, result)

    @classmethod
    def from_record(cls, inputs: dict[str, Any], result: dict[str, Any], *, version: str | None = None) -> "CompleteTask":
        """The same step again, with the number of the document it issued."""
        return replace(super().from_record(inputs, result), document=documents.recorded_number(result))


def next_head(ctx: CommandContext, case: OpenCase, row: Task) -> Department | None:
    """The department above ``row``'s whose 负责人 takes a ``head_chain`` step next: departments
    without a 负责人 are passed over; None at the top or after ``chain_levels`` levels."""
    info = _step(case, row)
    base = base_department(ctx.session, case.row, info, task_data(case.workflow, row.spiff_id),
                           department_ids(ctx.session, [info.department]))
    level, department = 1, ctx.session.get(Department, row.department_id)
    walk = department
    while walk is not None and walk.id != base:
        level, walk = level + 1, walk.parent
    department = department.parent
    while department is not None:
        level += 1
        if info.rules.chain_levels is not None and level > info.rules.chain_levels:
            return None
        if role_holders(ctx.session, "head", department.id, plain=True):
            return department
        department = department.parent
    return None


def _pass_up(ctx: CommandContext, case: OpenCase, row: Task, data: dict[str, Any], opinion: str,
             upper: Department) -> Applied:
    """This level's 负责人 has agreed: their round is kept on record, and the same step opens for
    the 负责人 of the department above (the flow does not move)."""
    row.state, row.completed_at, row.completed_by_id = "completed", ctx.at, ctx.actor.user_id
    row.opinion, row.form_data = opinion or None, data
    ctx.session.add(_finished_round(row))
    row.state, row.created_at, row.completed_at, row.completed_by_id = "ready", ctx.at, None, None
    row.opinion, row.form_data, row.draft, row.assignee_id = None, None, None, None
    row.department_id, row.version = upper.id, (row.version or 1) + 1
    heads = role_holders(ctx.session, "head", upper.id)
    alerts.send(ctx.session, heads, case=case.row, kind="transfer",
                title=f"【逐级审批】{case.row.number} “{row.name}”已由 {ctx.actor.display_name or ctx.actor.name} 审核，请您审批",
                body=opinion, at=ctx.at)
    return Applied(row, {"element": row.element_id, "data": data, "next_level": upper.code})


@dataclass(frozen=True)
class ClaimTask(TaskCommand):
    """Take a task so that colleagues see it is being handled (认领)."""

    type = "claim_task"
    label = "认领"
    policy = TASK_HANDLER
    task: int | str
    expected_version: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = self.task_row(case)
        row.assignee_id = ctx.actor.user_id
        return Applied(row, {"element": row.element_id})


@dataclass(frozen=True)
class ReleaseTask(TaskCommand):
    """Give a claimed task back to the shared inbox (释放)."""

    type = "release_task"
    label = "释放"
    policy = TASK_HANDLER
    task: int | str
    expected_version: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = self.task_row(case)
        if row.assignee_id is None:
            raise BadInput(f"任务“{row.name}”没有被认领")
        row.assignee_id = None
        return Applied(row, {"element": row.element_id})


@dataclass(frozen=True)
class TransferTask(TaskCommand):
    """转办: hand a task to another clerk who holds its role in its department; it is claimed
    for them and they are told."""

    type = "transfer_task"
    label = "转办"
    policy = TASK_HANDLER
    task: int | str
    to: str = ""
    reason: str = ""
    expected_version: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = self.task_row(case)
        require_operation(case, row, "transfer")
        target = active_user(ctx.session, self.to)
        if target is None:
            raise BadInput(f"用户 {self.to} 不存在或已停用")
        if row.role not in target.role_codes or target.department_id != row.department_id:
            raise BadInput(f"{target.display_name} 不是 {row.department.name} 的{role_name(row.role)}，不能转办给他")
        if target.id == ctx.actor.user_id:
            raise BadInput("不能转办给自己")
        reason = self.reason.strip()[:500]
        row.assignee_id = target.id
        alerts.send(ctx.session, [target], case=case.row, kind="transfer",
                    title=f"【转办】{case.row.number} “{row.name}”由 {ctx.actor.display_name or ctx.actor.name} 转给您",
                    body=reason, at=ctx.at)
        return Applied(row, {"element": row.element_id, "assignee": target.username})


@dataclass(frozen=True)
class UrgeTask(TaskCommand):
    """催办: a 负责人 of the task's department or a supervisor presses the handler; recorded in
    the case history and sent to whoever holds the task."""

    type = "urge_task"
    label = "催办"
    policy = TASK_OVERSIGHT
    task: int | str
    note: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row, actor = self.task_row(case), ctx.actor
        note = self.note.strip()[:500]
        notified = alerts.send(ctx.session, alerts.handlers(ctx.session, row), case=case.row, kind="urge",
                               title=f"【催办】{case.row.number} “{row.name}”：{actor.display_name or actor.name} 催促办理",
                               body=note, at=ctx.at)
        return Applied(row, {"element": row.element_id, "notified": notified})


@dataclass(frozen=True)
class SaveDraft(TaskCommand):
    """暂存: keep the form and opinion filled in so far; the flow does not move."""

    type = "save_draft"
    label = "暂存"
    policy = TASK_WORKER
    task: int | str
    data: dict[str, Any] = field(default_factory=dict)
    opinion: str = ""
    expected_version: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = self.task_row(case)
        opinion = _opinion(self.opinion)
        form, submitted = editable_data(case, row, self.data)
        data = check_form(form, {k: v for k, v in submitted.items() if v not in ("", None)}, partial=True)
        row.draft = {"data": data, "opinion": opinion, "by": ctx.actor.name}
        return Applied(row, {"element": row.element_id, "data": data})


def _reset_to(ctx: CommandContext, case: OpenCase, target: Task) -> None:
    """Take the flow back to ``target`` (a completed step): it is ready again, later steps go."""
    case.advance(lambda: reset_to(case.workflow, target.spiff_id))
    case.project()


@dataclass(frozen=True)
class ReturnTask(TaskCommand):
    """退回: send the case back to an earlier step, with a reason; that step's last handler is told."""

    type = "return_task"
    label = "退回"
    policy = TASK_HANDLER
    task: int | str
    to: str = ""
    reason: str = ""
    expected_version: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = self.task_row(case)
        require_operation(case, row, "return")
        if row.kind != "bpmn":
            raise BadInput("补充意见任务不能退回")
        reason = _opinion(self.reason)
        if not reason:
            raise BadInput("退回须写明理由")
        target = ctx.session.scalar(select(Task).where(Task.case_id == case.row.id, Task.kind == TaskKind.BPMN,
                                                       Task.state == TaskState.COMPLETED, Task.element_id == self.to)
                                    .order_by(Task.completed_at.desc(), Task.id.desc()).limit(1))
        if target is None or target.element_id == row.element_id:
            raise BadInput(f"本办件没有已办理的环节“{self.to}”可以退回")
        previous = ctx.session.get(User, target.completed_by_id) if target.completed_by_id else None
        row.state, row.completed_at, row.completed_by_id, row.opinion = "returned", ctx.at, ctx.actor.user_id, reason
        case.closed.append(row)
        _reset_to(ctx, case, target)
        if previous is not None:
            alerts.send(ctx.session, [previous], case=case.row, kind="returned",
                        title=f"【退回】{case.row.number} 退回到“{target.name}”", body=reason, at=ctx.at)
        return Applied(row, {"element": row.element_id, "to_task": target.spiff_id})


@dataclass(frozen=True)
class TakeBackTask(TaskCommand):
    """拿回: whoever finished a step takes it back while the next step is untouched (not
    claimed, nothing saved), and it is theirs again."""

    type = "take_back_task"
    label = "拿回"
    policy = TASK_COMPLETER
    task: int | str

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = case.task_row(self.task)
        later = list(ctx.session.scalars(select(Task).where(Task.case_id == case.row.id, Task.state == TaskState.READY)))
        if not may_take_back(row, later):
            raise Conflict("下一环节已开始办理，不能拿回")
        for task in later:
            task.state, task.completed_at = "taken_back", ctx.at
            case.closed.append(task)
        _reset_to(ctx, case, row)
        row.assignee_id = ctx.actor.user_id
        return Applied(row, {"element": row.element_id,
                             "withdrawn": sorted(t.spiff_id for t in later)})


@dataclass(frozen=True)
class AddCosigner(TaskCommand):
    """加签: ask a colleague for a co-signed opinion; the step cannot be completed until they give it."""

    type = "add_cosigner"
    label = "加签"
    policy = TASK_HANDLER
    task: int | str
    to: str = ""
    note: str = ""
    expected_version: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = self.task_row(case)
        require_operation(case, row, "cosign")
        if row.kind != "bpmn":
            raise BadInput("只能在流程环节上加签")
        target = active_user(ctx.session, self.to)
        if target is None or target.id == ctx.actor.user_id or not target.role_codes:
            raise BadInput(f"不能加签给 {self.to}")
        if ctx.session.scalar(select(Task.id).where(Task.case_id == row.case_id, Task.followup_of_id == row.id,
                                                    Task.kind == TaskKind.COSIGN,
                                                    Task.state == TaskState.READY, Task.assignee_id == target.id)):
            raise Conflict(f"已加签给 {target.display_name}，尚未签署")
        role = row.role if row.role in target.role_codes else target.role_codes[0]
        cosign = Task(case_id=case.row.id, spiff_id=str(next_id()), element_id=row.element_id,
                      name=f"加签：{row.name}", role=role, department_id=target.department_id,
                      assignee_id=target.id, state="ready", created_at=ctx.at, kind="cosign", deemed=False,
                      followup_of_id=row.id)
        ctx.session.add(cosign)
        ctx.session.flush()
        note = self.note.strip()[:500]
        alerts.send(ctx.session, [target], case=case.row, kind="cosign",
                    title=f"【加签】{case.row.number} 请对“{row.name}”签署意见", body=note, at=ctx.at)
        return Applied(cosign, {"element": row.element_id, "cosign_task": cosign.spiff_id})


@dataclass(frozen=True)
class DelegateTask(TaskCommand):
    """委派: the handler asks a colleague to work on the step; it comes back with their opinion
    (``HandBackTask``) and the handler decides."""

    type = "delegate_task"
    label = "委派"
    policy = TASK_HANDLER
    task: int | str
    to: str = ""
    note: str = ""
    expected_version: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = self.task_row(case)
        require_operation(case, row, "delegate")
        if row.kind != "bpmn" or row.delegated_by_id is not None:
            raise BadInput(f"“{row.name}”不能再委派")
        target = active_user(ctx.session, self.to)
        if target is None or target.id == ctx.actor.user_id or not target.role_codes:
            raise BadInput(f"不能委派给 {self.to}")
        row.delegated_by_id, row.assignee_id = ctx.actor.user_id, target.id
        note = self.note.strip()[:500]
        alerts.send(ctx.session, [target], case=case.row, kind="delegate",
                    title=f"【委派】{case.row.number} “{row.name}”请您办理后交回", body=note, at=ctx.at)
        return Applied(row, {"element": row.element_id, "assignee": target.username})


@dataclass(frozen=True)
class HandBackTask(TaskCommand):
    """The delegate hands the step back with their opinion and form values, as the handler's draft."""

    type = "hand_back_task"
    label = "委派交回"
    policy = TASK_DELEGATE
    task: int | str
    data: dict[str, Any] = field(default_factory=dict)
    opinion: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = self.task_row(case)
        opinion = _opinion(self.opinion)
        if not opinion:
            raise BadInput("交回时请写明办理意见")
        form, submitted = editable_data(case, row, self.data)
        data = check_form(form, {k: v for k, v in submitted.items() if v not in ("", None)}, partial=True)
        owner = row.delegated_by
        row.draft = {"data": data, "opinion": opinion, "by": ctx.actor.name}
        row.assignee_id, row.delegated_by_id = owner.id, None
        alerts.send(ctx.session, [owner], case=case.row, kind="delegate",
                    title=f"【委派交回】{case.row.number} “{row.name}”已由 {ctx.actor.display_name or ctx.actor.name} 办理交回",
                    body=opinion, at=ctx.at)
        return Applied(row, {"element": row.element_id, "data": data, "owner": owner.username})
