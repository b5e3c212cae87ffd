"""Commands that stop, restart or lengthen a case's clocks: the one-time notice of missing
materials (补正) and their arrival, suspended periods (特别程序) and the extension (延期)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..errors import ApprovalError, BadInput, Conflict, NotAllowed
from ..models import Task
from ..policy import SUSPENSION_KINDS
from .base import Applied, Command, CommandContext, OpenCase, authorize_task

MAX_MATERIALS = 50
MAX_TEXT = 500


def _text(value: str, what: str, required: bool = True) -> str:
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


@dataclass(frozen=True)
class RequestSupplement(CaseCommand):
    """一次性告知: tell the applicant, in one notice, every material that is missing.
    The acceptance clock stops; the decision clock waits for the complete supplement."""

    type = "request_supplement"
    case: str
    materials: tuple[str, ...] = ()
    note: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        self.acceptance_task(ctx, case)
        if case.row.acceptance == "supplement":
            raise Conflict("已发出一次性告知，正在等待补正材料")
        materials = [_text(m, "补正材料名称") for m in self.materials]
        if not materials:
            raise BadInput("一次性告知须列出全部需要补正的材料")
        if len(materials) > MAX_MATERIALS:
            raise BadInput(f"补正材料过多（上限 {MAX_MATERIALS} 项）")
        record = case.timekeeper.request_supplement(materials, _text(self.note, "说明", required=False))
        return Applied(record, {"case": case.row.number, **record})


@dataclass(frozen=True)
class ReceiveSupplement(CaseCommand):
    """The complete supplement has arrived: a new acceptance period starts, and the decision
    clock will count from today once the case is accepted."""

    type = "receive_supplement"
    case: str
    note: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        self.acceptance_task(ctx, case)
        if case.row.acceptance != "supplement":
            raise Conflict("办件没有待补正的材料")
        record = case.timekeeper.receive_supplement()
        record["note"] = _text(self.note, "说明", required=False)
        return Applied(record, {"case": case.row.number, **record})


@dataclass(frozen=True)
class SuspendClocks(CaseCommand):
    """Start a suspended period (听证、招标、拍卖、检验、检测、检疫、鉴定、专家评审): the decision
    and step clocks stop; the applicant is told why and for how long. The clocks resume
    when the period is ended, or by themselves when its declared duration is over."""

    type = "suspend_clocks"
    case: str
    kind: str = ""
    days: int = 0
    reason: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        self.authorize_handler(ctx, case)
        row = case.row
        if self.kind not in SUSPENSION_KINDS:
            raise BadInput(f"特别程序应为 {'、'.join(f'{k}（{v}）' for k, v in SUSPENSION_KINDS.items())} 之一")
        if isinstance(self.days, bool) or not isinstance(self.days, int) or not 1 <= self.days <= 365:
            raise BadInput("特别程序所需时间应为 1 到 365 个工作日")
        if row.acceptance not in ("accepted", "deemed") or row.decision is not None or row.state != "running":
            raise Conflict("只有已受理、尚未作出决定的办件可以进入特别程序")
        if row.suspended:
            raise Conflict("办件已在特别程序中")
        record = case.timekeeper.suspend(self.kind, self.days, _text(self.reason, "特别程序说明"))
        return Applied(record, {"case": row.number, **record})


@dataclass(frozen=True)
class ResumeClocks(CaseCommand):
    """End the suspended period now; the stopped clocks go on where they stood."""

    type = "resume_clocks"
    case: str

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        self.authorize_handler(ctx, case)
        if not case.row.suspended:
            raise Conflict("办件不在特别程序中")
        record = case.timekeeper.end_suspension()
        return Applied(record, {"case": case.row.number, **record})


@dataclass(frozen=True)
class ExtendDeadline(CaseCommand):
    """延期: the authority's head extends the decision limit once, by at most the item's
    allowance (10 working days by default, 15 for joint handling), and the applicant is
    told why."""

    type = "extend_deadline"
    case: str
    reason: str = ""
    days: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        actor, row = ctx.actor, case.row
        if not (actor.has_role("head") and actor.department_id == row.item.department_id):
            raise NotAllowed(f"延期须由 {row.item.department.name} 负责人批准")
        allowance = case.timekeeper.policy.extension_days
        days = allowance if self.days is None else self.days
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= max(allowance, 0):
            raise BadInput(f"本事项最多可延期 {allowance} 个工作日" if allowance else "本事项不允许延期")
        record = case.timekeeper.extend(days, _text(self.reason, "延期理由"))
        return Applied(record, {"case": row.number, **record})



@dataclass(frozen=True)
class CopyCase(CaseCommand):
    """抄送: send the case to colleagues for information; they may read it from then on."""

    type = "copy_case"
    case: str
    to: tuple[str, ...] = ()
    note: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        from .. import alerts
        from ..models import User

        actor = ctx.actor
        if not (actor.has_role("supervisor") or actor.has_role("admin")):
            self.authorize_handler(ctx, case)
        names = sorted(set(self.to))
        if not names:
            raise BadInput("请选择抄送对象")
        users = list(ctx.session.scalars(select(User).where(User.username.in_(names), User.active.is_(True))))
        missing = sorted(set(names) - {u.username for u in users})
        if missing:
            raise BadInput(f"用户不存在或已停用：{'、'.join(missing)}")
        note = _text(self.note, "抄送说明", required=False)
        notified = alerts.send(ctx.session, users, case=case.row, kind="copy",
                               title=f"【抄送】{case.row.number} {case.row.item.name}（{actor.display_name or actor.name} 抄送）",
                               body=note, at=ctx.at)
        return Applied(notified, {"case": case.row.number, "to": notified, "note": note})


@dataclass(frozen=True)
class RequestExtension(CaseCommand):
    """延期申请: the handler asks the authority's 负责人 to extend the decision limit."""

    type = "request_extension"
    case: str
    reason: str = ""
    days: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        from .. import alerts
        from ..models import CaseRequest, User, UserRole

        self.authorize_handler(ctx, case)
        row = case.row
        pending = ctx.session.scalar(select(CaseRequest.id).where(CaseRequest.case_id == row.id,
                                                                  CaseRequest.kind == "extension",
                                                                  CaseRequest.state == "pending"))
        if pending is not None:
            raise Conflict("已有待审批的延期申请")
        allowance = case.timekeeper.policy.extension_days
        days = allowance if self.days is None else self.days
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= max(allowance, 0):
            raise BadInput(f"本事项最多可延期 {allowance} 个工作日" if allowance else "本事项不允许延期")
        decision = case.timekeeper.clock("decision")
        if decision is None or decision.state == "stopped" or decision.extended_days:
            raise Conflict("办件的办理时限不在计算中或已延期过，不能申请延期")
        reason = _text(self.reason, "延期理由")
        ctx.session.add(CaseRequest(case_id=row.id, kind="extension", department_id=row.item.department_id,
                                    state="pending", detail={"days": days, "reason": reason},
                                    requested_by=ctx.actor.name, requested_at=ctx.at))
        heads = list(ctx.session.scalars(select(User).join(UserRole).where(
            UserRole.role == "head", User.department_id == row.item.department_id, User.active.is_(True))))
        notified = alerts.send(ctx.session, heads, case=row, kind="extension_request",
                               title=f"【延期申请】{row.number} 申请延期 {days} 个工作日", body=reason, at=ctx.at)
        return Applied({"days": days}, {"case": row.number, "days": days, "reason": reason, "notified": notified})


@dataclass(frozen=True)
class DecideExtension(CaseCommand):
    """The 负责人 approves (the limit is extended, the applicant told) or refuses a pending
    extension request; the requester is told either way."""

    type = "decide_extension"
    case: str
    approve: bool = False
    note: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        from .. import alerts
        from ..models import CaseRequest
        from ..people import user_by_name

        actor, row = ctx.actor, case.row
        if not (actor.has_role("head") and actor.department_id == row.item.department_id):
            raise NotAllowed(f"延期须由 {row.item.department.name} 负责人审批")
        request = ctx.session.scalar(select(CaseRequest).where(CaseRequest.case_id == row.id,
                                                               CaseRequest.kind == "extension",
                                                               CaseRequest.state == "pending"))
        if request is None:
            raise Conflict("没有待审批的延期申请")
        note = _text(self.note, "审批意见", required=not self.approve)
        record: dict = {"case": row.number, "approve": self.approve, "note": note,
                        "requested_by": request.requested_by}
        if self.approve:
            record.update(case.timekeeper.extend(request.detail["days"], request.detail["reason"]))
        request.state = "approved" if self.approve else "refused"
        request.decided_by, request.decided_at, request.decision_note = actor.name, ctx.at, note or None
        try:
            requester = [user_by_name(ctx.session, request.requested_by)]
        except ApprovalError:
            requester = []
        alerts.send(ctx.session, requester, case=row, kind="extension_decision",
                    title=f"【延期{'已批准' if self.approve else '未批准'}】{row.number}", body=note, at=ctx.at)
        return Applied(record, record)


MATERIAL_STATES = {"received": "已收", "missing": "缺", "deferred": "容缺"}
DEFERRAL_DAYS = 5


@dataclass(frozen=True)
class RecordMaterials(CaseCommand):
    """The window's materials checklist: each material of the item's guide received, missing,
    or — where the guide allows 容缺 — accepted for later, due within 5 working days."""

    type = "record_materials"
    case: str
    statuses: tuple[tuple[str, str], ...] = ()

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        self.acceptance_task(ctx, case)
        guide = {m["name"]: m for m in (case.row.item.guide or {}).get("materials", [])}
        if not guide:
            raise BadInput("本事项的办事指南没有列出申请材料")
        checklist: dict[str, dict] = {}
        due = case.timekeeper.calendar.add(case.timekeeper.today, DEFERRAL_DAYS).value
        for name, status in self.statuses:
            if name not in guide:
                raise BadInput(f"“{name}”不是本事项的申请材料")
            if status not in MATERIAL_STATES:
                raise BadInput(f"材料状态应为 {'、'.join(MATERIAL_STATES)} 之一")
            if status == "deferred" and not guide[name].get("deficiency_allowed"):
                raise BadInput(f"“{name}”不允许容缺受理")
            checklist[name] = {"status": status, **({"due_on": due.isoformat()} if status == "deferred" else {})}
        unmarked = [n for n in guide if n not in checklist]
        if unmarked:
            raise BadInput(f"请逐项核对材料，尚未核对：{'、'.join(unmarked)}")
        case.row.materials = checklist
        missing = [n for n, s in checklist.items() if s["status"] == "missing" and guide[n].get("required")]
        return Applied(checklist, {"case": case.row.number, "materials": checklist, "missing_required": missing})
