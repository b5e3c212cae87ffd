"""Commands that stop, restart or lengthen a case's clocks: the one-time notice of missing
materials (补正) and their arrival, suspended periods (特别程序), and the extension (延期) —
granted by the 负责人 directly or on a handler's request."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from engine.authorization import ACCEPTANCE_WINDOW, CASE_HANDLER, EXTENSION_APPROVER
from engine.store.enums import DocumentKind, RequestKind, RequestState
from engine.store.models import CaseRequest
from engine.timelimits import clocks, supplements
from engine.timelimits.policy import SUSPENSION_KINDS

from .. import alerts, documents
from ..errors import ApprovalError, BadInput, Conflict
from ..people import role_holders, user_by_name
from .base import Applied, CaseCommand, CommandContext, OpenCase, bounded_text

MAX_MATERIALS = 50


def _extension_days(case: OpenCase, asked: int | None) -> int:
    """The days asked for (default: the item's whole allowance), within the allowance."""
    allowance = case.timekeeper.policy.extension_days
    days = allowance if asked is None else asked
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= max(allowance, 0):
        raise BadInput(f"本事项最多可延期 {allowance} 个工作日" if allowance else "本事项不允许延期")
    return days


@dataclass(frozen=True)
class RequestSupplement(CaseCommand):
    """一次性告知: tell the applicant, in one notice, every material that is missing.
    The acceptance clock stops; the decision clock waits for the complete supplement."""

    type = "request_supplement"
    label = "一次性告知补正"
    policy = ACCEPTANCE_WINDOW
    #: the notice's number is drawn here (a replay passes the recorded one)
    unrecorded = frozenset({"expected_version", "document"})
    case: str
    materials: tuple[str, ...] = ()
    note: str = ""
    document: str | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        self.acceptance_task(ctx, case)
        if case.row.acceptance == "supplement":
            raise Conflict("已发出一次性告知，正在等待补正材料")
        if case.row.acceptance in ("accepted", "deemed"):
            raise Conflict("办件已受理，受理通知书已发出，不能再一次性告知补正：受理后发现的材料问题在审查、决定中依法处理"
                           "（如需申请人补充说明，可写入审批意见；不符合条件的，不予许可）")
        materials = [bounded_text(m, "补正材料名称") for m in self.materials]
        if not materials:
            raise BadInput("一次性告知须列出全部需要补正的材料")
        if len(materials) > MAX_MATERIALS:
            raise BadInput(f"补正材料过多（上限 {MAX_MATERIALS} 项）")
        record = supplements.request_supplement(case.timekeeper, materials, bounded_text(self.note, "说明", required=False))
        issued = documents.issue(case, DocumentKind.SUPPLEMENT_NOTICE, self.document,
                                 {"materials": materials, "note": record["note"],
                                  "defects": bool(record.get("defects_in_supplied"))})
        if issued is not None:
            record["document"] = issued
        return Applied(record, record)

    @classmethod
    def from_record(cls, inputs: dict[str, Any], result: dict[str, Any], *,
                    version: str | None = None) -> "RequestSupplement":
        """The same notice again, with its recorded number."""
        return replace(super().from_record(inputs, result), document=documents.recorded_number(result))


@dataclass(frozen=True)
class ReceiveSupplement(CaseCommand):
    """The complete supplement has arrived: a new acceptance period starts, and the decision
    clock will count from today once the case is accepted."""

    type = "receive_supplement"
    label = "收到补正材料"
    policy = ACCEPTANCE_WINDOW
    case: str
    note: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        self.acceptance_task(ctx, case)
        if case.row.acceptance != "supplement":
            raise Conflict("办件没有待补正的材料")
        record = supplements.receive_supplement(case.timekeeper)
        record["note"] = bounded_text(self.note, "说明", required=False)
        return Applied(record, record)


@dataclass(frozen=True)
class SuspendClocks(CaseCommand):
    """Start a suspended period (听证、招标、拍卖、检验、检测、检疫、鉴定、专家评审): the decision
    and step clocks stop; the applicant is told why and for how long. The clocks resume
    when the period is ended, or by themselves when its declared duration is over."""

    type = "suspend_clocks"
    label = "进入特别程序"
    policy = CASE_HANDLER
    case: str
    kind: str = ""
    days: int = 0
    reason: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = case.row
        if self.kind not in SUSPENSION_KINDS:
            raise BadInput(f"特别程序应为 {'、'.join(f'{k}（{v}）' for k, v in SUSPENSION_KINDS.items())} 之一")
        if isinstance(self.days, bool) or not isinstance(self.days, int) or not 1 <= self.days <= 365:
            raise BadInput("特别程序所需时间应为 1 到 365 个工作日")
        if row.acceptance not in ("accepted", "deemed") or row.decision is not None or row.state != "running":
            raise Conflict("只有已受理、尚未作出决定的办件可以进入特别程序")
        if row.suspended:
            raise Conflict("办件已在特别程序中")
        record = clocks.suspend(case.timekeeper, self.kind, self.days, bounded_text(self.reason, "特别程序说明"))
        return Applied(record, record)


@dataclass(frozen=True)
class ResumeClocks(CaseCommand):
    """End the suspended period now; the stopped clocks go on where they stood."""

    type = "resume_clocks"
    label = "恢复计时"
    policy = CASE_HANDLER
    case: str

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        if not case.row.suspended:
            raise Conflict("办件不在特别程序中")
        record = clocks.end_suspension(case.timekeeper)
        return Applied(record, record)


@dataclass(frozen=True)
class ExtendDeadline(CaseCommand):
    """延期: the authority's head extends the decision limit once, by at most the item's
    allowance (10 working days by default, 15 for joint handling — approved then by the
    head of the people's government at that level), and the applicant is told why."""

    type = "extend_deadline"
    label = "延期"
    policy = EXTENSION_APPROVER
    case: str
    reason: str = ""
    days: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        actor, row = ctx.actor, case.row
        approver = clocks.extension_approver(row.item, case.timekeeper.policy)
        days = _extension_days(case, self.days)
        record = clocks.extend(case.timekeeper, days, bounded_text(self.reason, "延期理由"), approver.title)
        return Applied(record, record)



@dataclass(frozen=True)
class RequestExtension(CaseCommand):
    """延期申请: the handler asks the authority's 负责人 to extend the decision limit."""

    type = "request_extension"
    label = "申请延期"
    policy = CASE_HANDLER
    case: str
    reason: str = ""
    days: int | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = case.row
        pending = ctx.session.scalar(select(CaseRequest.id).where(CaseRequest.case_id == row.id,
                                                                  CaseRequest.kind == RequestKind.EXTENSION,
                                                                  CaseRequest.state == RequestState.PENDING))
        if pending is not None:
            raise Conflict("已有待审批的延期申请")
        days = _extension_days(case, self.days)
        decision = case.timekeeper.clock("decision")
        if decision is None or decision.state == "stopped" or decision.extended_days:
            raise Conflict("办件的办理时限不在计算中或已延期过，不能申请延期")
        reason = bounded_text(self.reason, "延期理由")
        approver = clocks.extension_approver(row.item, case.timekeeper.policy)
        ctx.session.add(CaseRequest(case_id=row.id, kind="extension", department_id=approver.department.id,
                                    state="pending", detail={"days": days, "reason": reason},
                                    requested_by=ctx.actor.name, requested_at=ctx.at))
        notified = alerts.send(ctx.session, role_holders(ctx.session, approver.role, approver.department.id), case=row, kind="extension_request",
                               title=f"【延期申请】{row.number} 申请延期 {days} 个工作日", body=reason, at=ctx.at)
        return Applied({"days": days}, {"days": days, "notified": notified})


@dataclass(frozen=True)
class DecideExtension(CaseCommand):
    """The 负责人 approves (the limit is extended, the applicant told) or refuses a pending
    extension request; the requester is told either way."""

    type = "decide_extension"
    label = "审批延期"
    policy = EXTENSION_APPROVER
    case: str
    approve: bool = False
    note: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        actor, row = ctx.actor, case.row
        approver = clocks.extension_approver(row.item, case.timekeeper.policy)
        request = ctx.session.scalar(select(CaseRequest).where(CaseRequest.case_id == row.id,
                                                               CaseRequest.kind == RequestKind.EXTENSION,
                                                               CaseRequest.state == RequestState.PENDING))
        if request is None:
            raise Conflict("没有待审批的延期申请")
        note = bounded_text(self.note, "审批意见", required=not self.approve)
        record: dict = {"requested_by": request.requested_by}
        if self.approve:
            record.update(clocks.extend(case.timekeeper, request.detail["days"], request.detail["reason"],
                                        approver.title))
        request.state = "approved" if self.approve else "refused"
        request.decided_by, request.decided_at, request.decision_note = actor.name, ctx.at, note or None
        try:
            requester = [user_by_name(ctx.session, request.requested_by)]
        except ApprovalError:
            requester = []
        alerts.send(ctx.session, requester, case=row, kind="extension_decision",
                    title=f"【延期{'已批准' if self.approve else '未批准'}】{row.number}", body=note, at=ctx.at)
        return Applied(record, record)
