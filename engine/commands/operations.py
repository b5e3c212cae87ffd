"""Administrators operating running cases (运行管理, ``engine/operations.py``): suspend and resume a
case or a whole item, terminate or void a case, move it back to an earlier step or past a stuck one,
correct its data, retry or close a failed timer. Each is a command with its reason, recorded in the
case history (an item's own act in ``administration_acts``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine import alerts, operations
from engine.authorization import ADMINISTRATOR, Subject
from engine.clock import CHINA_TZ
from engine.errors import ApprovalError, BadInput, Conflict, NotFound
from engine.intake import check_application
from engine.runtime.spiff import correct_data, current_data, reset_to, submit_task
from engine.runtime.values import check_form
from engine.store.enums import CaseState, DeadlineState, TaskKind, TaskState
from engine.store.models import Item, Task
from engine.timelimits import firing
from .base import Applied, CaseCommand, Command, CommandContext, OpenCase, TaskCommand, bounded_text
from .deadlines import DeadlineCommand


def _reason(text: str, what: str) -> str:
    return bounded_text(text, what)


def _running(case: OpenCase) -> None:
    if case.row.state != CaseState.RUNNING:
        raise Conflict(f"办件 {case.row.number} {CaseState.label_of(case.row.state)}，不能再操作")


def _process_values(case: OpenCase, data: dict[str, Any]) -> dict[str, Any]:
    """Values for form fields of any step of the case's process, each checked as its field."""
    form = {}
    for info in case.definition.user_tasks.values():
        for f in info.form:
            form.setdefault(f.id, f)
    unknown = sorted(set(data) - set(form))
    if unknown:
        raise BadInput(f"流程的表单中没有这些字段：{'、'.join(map(str, unknown))}")
    data = {k: _as_typed(form[k], v) for k, v in data.items()}
    checked = check_form(tuple(form[k] for k in data), data, partial=True)
    return {k: checked.get(k) for k in data}


def _as_typed(f, value: Any) -> Any:
    """What an administrator types as people read it: an option's name (材料符合要求) for its id,
    是/否 for a yes-or-no field."""
    if isinstance(value, str):
        text = value.strip()
        if f.type == "enum":
            return next((option for option, name in f.options if text == name), text)
        if f.type == "boolean" and text in ("是", "否"):
            return text == "是"
    return value


def _process_labels(case: OpenCase) -> dict[str, str]:
    return {f.id: f.label for info in case.definition.user_tasks.values() for f in info.form}


def _not_held(case: OpenCase, what: str) -> None:
    if case.row.hold:
        raise Conflict(f"办件 {case.row.number} 已挂起，请先恢复再{what}")


def tell_handlers(ctx: CommandContext, case: OpenCase, title: str, body: str) -> list[str]:
    """Those holding the case's open steps hear why they cannot act (or can again); returns their
    user names. For the operations here a message, not part of the recorded result, so histories
    recorded before it still replay alike."""
    users: dict[int, Any] = {}
    for task in case.ready_rows():  # the open steps the executor reads for the history anyway
        users.update((u.id, u) for u in alerts.handlers(ctx.session, task))
    return alerts.send(ctx.session, list(users.values()), case=case.row, kind="operation", title=title, body=body,
                       at=ctx.at)


@dataclass(frozen=True)
class SuspendCase(CaseCommand):
    """挂起: the case stops — no clerk may act on it, its clocks and timers stand still (the days do
    not count against its limits, see ``engine/operations.py``) until an administrator resumes it.
    ``item``: suspended with its whole item (暂停受理)."""

    type = "suspend_case"
    label = "挂起办件"
    policy = ADMINISTRATOR
    on_hold = True
    case: str
    reason: str = ""
    item: bool = False

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        reason = _reason(self.reason, "挂起理由")
        _running(case)
        if case.row.hold:
            raise Conflict(f"办件 {case.row.number} 已经挂起")
        record = operations.suspend(case.timekeeper, ctx.actor.name, ctx.actor.display_name or ctx.actor.name,
                                    reason, item=self.item)
        record["reason"] = reason
        tell_handlers(ctx, case, f"【办件已挂起】{case.row.number}：暂停办理，计时暂停", reason)
        return Applied(record, record)


@dataclass(frozen=True)
class ResumeCase(CaseCommand):
    """恢复: the case runs again; its clocks and timers are pushed by the time it stood still."""

    type = "resume_case"
    label = "恢复办件"
    policy = ADMINISTRATOR
    on_hold = True
    case: str
    reason: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        reason = _reason(self.reason, "恢复理由")
        _running(case)
        if not case.row.hold:
            raise Conflict(f"办件 {case.row.number} 没有挂起")
        record = operations.resume(case.timekeeper)
        record["reason"] = reason
        tell_handlers(ctx, case, f"【办件已恢复】{case.row.number}：可以继续办理", reason)
        return Applied(record, record)


@dataclass(frozen=True)
class TerminateCase(CaseCommand):
    """终止: the case ends without a decision (the applicant has died or dissolved, the matter is
    moot, a court has ruled …); its open steps are withdrawn and its clocks stop."""

    type = "terminate_case"
    label = "终止办件"
    policy = ADMINISTRATOR
    on_hold = True
    case: str
    reason: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        reason = _reason(self.reason, "终止理由")
        _running(case)
        record = operations.end(case.timekeeper, CaseState.TERMINATED)
        record["reason"] = reason
        return Applied(record, record)


@dataclass(frozen=True)
class VoidCase(CaseCommand):
    """作废: the case should never have been (registered twice, by mistake, a test); it ends like a
    terminated one and is marked void."""

    type = "void_case"
    label = "作废办件"
    policy = ADMINISTRATOR
    on_hold = True
    case: str
    reason: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        reason = _reason(self.reason, "作废理由")
        _running(case)
        record = operations.end(case.timekeeper, CaseState.VOIDED)
        record["reason"] = reason
        return Applied(record, record)


@dataclass(frozen=True)
class RewindCase(CaseCommand):
    """回退到环节: move the case back to an earlier, completed step (``to``, its element id): every
    open step is withdrawn, the earlier step is ready again (SpiffWorkflow's reset), and the steps'
    clocks and the waiting timers follow the flow."""

    type = "rewind_case"
    label = "回退到环节（管理）"
    policy = ADMINISTRATOR
    case: str
    to: str = ""
    reason: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        reason = _reason(self.reason, "回退理由")
        _running(case)
        _not_held(case, "回退")
        target = ctx.session.scalar(select(Task).where(Task.case_id == case.row.id, Task.kind == TaskKind.BPMN,
                                                       Task.state == TaskState.COMPLETED, Task.element_id == self.to)
                                    .order_by(Task.completed_at.desc(), Task.id.desc()).limit(1))
        if target is None:
            raise BadInput(f"本办件没有已办理的环节“{self.to}”可以回退")
        withdrawn = []
        for task in case.ready_rows():
            task.state, task.completed_at = "cancelled", ctx.at
            case.closed.append(task)
            withdrawn.append(task.spiff_id)
        case.advance(lambda: reset_to(case.workflow, target.spiff_id))
        case.project()
        return Applied(target, {"element": target.element_id, "to_task": target.spiff_id, "withdrawn": withdrawn,
                                "reason": reason})


@dataclass(frozen=True)
class SkipTask(TaskCommand):
    """跳过环节: complete a stuck step for its handlers (nobody can, its handler has left, a fault),
    with the values the flow needs after it (``data``: form fields of the process, each checked as
    its field; missing required fields are allowed) and the reason as its record."""

    type = "skip_task"
    label = "跳过环节（管理）"
    policy = ADMINISTRATOR
    task: int | str
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        reason = _reason(self.reason, "跳过理由")
        _running(case)
        _not_held(case, "跳过环节")
        row = case.task_row(self.task)
        if row.state != TaskState.READY:
            raise Conflict(f"环节“{row.name}”不在待办中，不能跳过")
        if row.kind != TaskKind.BPMN:
            raise BadInput(f"“{row.name}”是补充意见或加签，不是流程环节，不能跳过")
        # the step's own fields, or any the flow reads after it (a gateway's condition)
        data = _process_values(case, {k: v for k, v in self.data.items() if v not in ("", None)})
        for cosign in case.ready_rows():
            if cosign.followup_of_id == row.id:
                cosign.state, cosign.completed_at = "cancelled", ctx.at
                case.closed.append(cosign)
        row.state, row.completed_at, row.completed_by_id = "completed", ctx.at, ctx.actor.user_id
        row.opinion, row.form_data = f"（管理员跳过）{reason}", data
        case.closed.append(row)
        case.advance(lambda: submit_task(case.workflow, row.spiff_id, data))
        return Applied(row, {"element": row.element_id, "data": data, "reason": reason})


@dataclass(frozen=True)
class CorrectCaseData(CaseCommand):
    """更正数据: correct the application as registered (``application``: field → value) and the
    values the flow carries (``data``: form field → value, for the steps and gateways still to
    come). The history records every old and new value with the reason."""

    type = "correct_case_data"
    label = "更正办件数据"
    policy = ADMINISTRATOR
    on_hold = True
    case: str
    application: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        reason = _reason(self.reason, "更正理由")
        _running(case)
        row = case.row
        changes: list[dict[str, Any]] = []
        if self.application:
            fields = (row.item.guide or {}).get("application", [])
            labels = {f["name"]: f.get("label", f["name"]) for f in fields}
            old = dict(row.application or {})
            merged = {**old, **self.application}
            checked = check_application(fields, {k: v for k, v in merged.items() if v not in ("", None)},
                                        ctx.at.astimezone(CHINA_TZ).date())
            for name in self.application:
                if old.get(name) != checked.get(name):
                    changes.append({"part": "application", "field": name, "label": labels.get(name, name),
                                    "old": old.get(name), "new": checked.get(name)})
            row.application = checked
        if self.data:
            values = _process_values(case, self.data)
            labels = _process_labels(case)
            old = current_data(case.workflow, list(values))
            correct_data(case.workflow, values)
            case.workflow_changed = True
            for name, value in values.items():
                if old.get(name) != value:
                    changes.append({"part": "data", "field": name, "label": labels[name],
                                    "old": old.get(name), "new": value})
        if not changes:
            raise BadInput("没有需要更正的内容（新值与原值相同）")
        return Applied(changes, {"changes": changes, "reason": reason})


# ---------------------------------------------------------------- incidents: failed timers

class IncidentCommand(DeadlineCommand):
    """An administrator's act on a deadline whose firing failed (the incident list)."""

    records_refusals = False

    def failed(self, ctx: CommandContext, case: OpenCase):
        deadline = self._row(ctx, case)
        if deadline is None:
            raise NotFound(f"期限 {self.deadline or self.key} 不存在")
        if not (deadline.state == DeadlineState.FAILED or (deadline.state == DeadlineState.ARMED and deadline.attempts)):
            raise Conflict(f"期限 {deadline.key} 没有触发失败（{DeadlineState.label_of(deadline.state)}）")
        return deadline


@dataclass(frozen=True)
class RetryDeadline(IncidentCommand):
    """重试: fire a failed deadline now, through the same rules as the sweep. If it fails again
    nothing changes and the error is shown."""

    type = "retry_deadline"
    label = "重试定时触发"
    policy = ADMINISTRATOR
    deadline: int | None = None
    case: str | None = None
    key: str | None = None
    reason: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        reason = _reason(self.reason, "重试说明")
        _running(case)
        deadline = self.failed(ctx, case)
        deadline.state = DeadlineState.ARMED.value
        try:
            record = firing.fire(case.timekeeper, deadline)
        except Exception as exc:  # noqa: BLE001 - as the sweep: any failure; this transaction rolls back
            message = exc.message if isinstance(exc, ApprovalError) else f"{type(exc).__name__}: {exc}"
            raise Conflict(f"重试仍然失败：{message}") from None
        return Applied(record, {**record, "retried": True, "attempts": deadline.attempts, "reason": reason})


@dataclass(frozen=True)
class ResolveDeadline(IncidentCommand):
    """标记已处理: an administrator has dealt with a failed deadline by hand; it will not fire."""

    type = "resolve_deadline"
    label = "定时故障已处理"
    policy = ADMINISTRATOR
    on_hold = True
    deadline: int | None = None
    case: str | None = None
    key: str | None = None
    reason: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        reason = _reason(self.reason, "处理说明")
        deadline = self.failed(ctx, case)
        deadline.state = DeadlineState.CANCELLED.value
        deadline.detail = {**(deadline.detail or {}), "resolved": {"by": ctx.actor.name, "at": ctx.at.isoformat(),
                                                                   "reason": reason}}
        return Applied(deadline, {"deadline": deadline.key, "kind": deadline.kind, "error": deadline.last_error,
                                  "reason": reason})


# ---------------------------------------------------------------- a whole item

class ItemCommand(Command):
    """An act on an item as a whole: recorded in ``administration_acts``."""

    ledger = "administration"
    records_refusals = False

    def load(self, ctx: CommandContext) -> None:
        return None

    def apart_subject(self, ctx: CommandContext) -> Subject:
        return Subject(None, None)

    def the_item(self, ctx: CommandContext) -> Item:
        item = ctx.session.scalar(select(Item).where(Item.code == self.item).with_for_update())
        if item is None:
            raise NotFound(f"审批事项 {self.item} 不存在")
        return item


@dataclass(frozen=True)
class SuspendItem(ItemCommand):
    """暂停受理: the item takes no new case (registration and online applications are refused with
    the reason); ``engine.operations.suspend_item`` then suspends its running cases one by one."""

    type = "suspend_item"
    label = "事项暂停受理"
    policy = ADMINISTRATOR
    item: str
    reason: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        reason = _reason(self.reason, "暂停理由")
        item = self.the_item(ctx)
        if item.hold:
            raise Conflict(f"审批事项“{item.name}”已暂停受理")
        item.hold = {"at": ctx.at.isoformat(), "by": ctx.actor.name,
                     "by_name": ctx.actor.display_name or ctx.actor.name, "reason": reason}
        return Applied(item, {"item": item.code, "reason": reason})


@dataclass(frozen=True)
class ResumeItem(ItemCommand):
    """恢复受理: the item takes new cases again."""

    type = "resume_item"
    label = "事项恢复受理"
    policy = ADMINISTRATOR
    item: str
    reason: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        reason = _reason(self.reason, "恢复理由")
        item = self.the_item(ctx)
        if not item.hold:
            raise Conflict(f"审批事项“{item.name}”没有暂停受理")
        item.hold = None
        return Applied(item, {"item": item.code, "reason": reason})
