"""What an applicant does themselves in the online hall (网上办事大厅), on a case they applied for
online: hand in the supplement a one-time notice asked for (补正), withdraw the application before
a decision (撤回申请), and rate the service once the case is concluded (好差评). Each is a command
like any clerk's: checked against the policy ``CASE_APPLICANT`` and recorded in the case's history with the applicant as the actor."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from .. import alerts, operations
from ..errors import BadInput, Conflict
from engine.authorization import CASE_APPLICANT, acceptance_task
from engine.people import role_holders
from engine.store.enums import CaseState
from engine.store.models import HistoryEntry
from .base import Applied, CaseCommand, CommandContext, OpenCase, bounded_text
from .operations import tell_handlers

#: 好差评's five grades (国办发〔2019〕51号): the first three are 好评, the last two 差评
RATINGS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
#: the lowest grade that counts as satisfied (满意率)
SATISFIED = 3


def is_poor(score: int) -> bool:
    return score < SATISFIED


def last_notice(session, case) -> HistoryEntry | None:
    """The case's last one-time notice (一次性告知)."""
    return session.scalar(select(HistoryEntry).where(HistoryEntry.case_id == case.id,
                                                     HistoryEntry.command == "request_supplement")
                          .order_by(HistoryEntry.seq.desc()).limit(1))


def handed_in_since(session, case, notice: HistoryEntry | None = None):
    """When the applicant last handed in a supplement online after the case's last one-time notice
    (``notice`` when the caller has read it), or None: the one answer the applicant's page, the
    window's 待办 and the case's time line give."""
    after = notice.seq if notice is not None else (  # one statement: the notice's seq as a subquery
        select(func.coalesce(func.max(HistoryEntry.seq), 0)).where(
            HistoryEntry.case_id == case.id, HistoryEntry.command == "request_supplement").scalar_subquery())
    return session.scalar(select(func.max(HistoryEntry.at)).where(
        HistoryEntry.case_id == case.id, HistoryEntry.command == "submit_supplement", HistoryEntry.seq > after))


def supplement_missing(session, case, uploader: str, adding: set[str] = frozenset()) -> list[str]:
    """The item's materials the last notice asked for that ``uploader`` has not uploaded since it
    (``adding``: those being uploaded now). A notice's free-text items (not materials of the item)
    are the window's to check."""
    notice = last_notice(session, case)
    if notice is None:
        return []
    names = {m["name"] for m in case.started_guide.get("materials", [])}
    asked = [m for m in (notice.payload or {}).get("materials") or [] if m in names]
    since = set(uploaded_since(session, case, uploader, notice.seq))
    return [m for m in asked if m not in since and m not in adding]


def uploaded_since(session, case, uploader: str, seq: int) -> list[str]:
    """The materials ``uploader`` attached after history entry ``seq``, by the history (the
    entries' order, not their times, which a frozen clock shares)."""
    return [str((inputs or {}).get("material", "")) for inputs in session.scalars(
        select(HistoryEntry.inputs).where(HistoryEntry.case_id == case.id, HistoryEntry.seq > seq,
                                          HistoryEntry.command == "attach_material",
                                          HistoryEntry.actor == uploader))]


@dataclass(frozen=True)
class SubmitSupplement(CaseCommand):
    """The applicant has uploaded the materials a one-time notice asked for and hands them in: the
    window that issued the notice is told to check them (收到补正材料 is still the clerk's)."""

    type = "submit_supplement"
    label = "网上提交补正材料"
    policy = CASE_APPLICANT
    case: str
    note: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = case.row
        if row.state != "running" or row.acceptance != "supplement":
            raise Conflict("办件没有待补正的材料")
        notice = last_notice(ctx.session, row)
        if not uploaded_since(ctx.session, row, ctx.actor.name, notice.seq if notice is not None else 0):
            raise BadInput("请先上传补正材料的扫描件")
        missing = supplement_missing(ctx.session, row, ctx.actor.name)
        if missing:
            raise BadInput(f"请上传一次性告知要求补正的材料：{'、'.join(missing)}")
        note = bounded_text(self.note, "说明", required=False)
        task = acceptance_task(ctx.session, row, case.definition)
        holders = alerts.handlers(ctx.session, task) if task is not None else []
        notified = alerts.send(ctx.session, holders, case=row, kind="supplement",
                               title=f"【补正材料】{row.number} {row.item.name}：申请人已在网上提交，请核对",
                               body=note, at=ctx.at)
        return Applied(notified, {"note": note, "notified": notified})


@dataclass(frozen=True)
class RateService(CaseCommand):
    """好差评: the applicant rates the service of a concluded case, once. A poor grade (不满意,
    非常不满意) needs the reason and goes to the item department's 负责人 and the supervisors
    (差评整改)."""

    type = "rate_service"
    label = "评价（好差评）"
    policy = CASE_APPLICANT
    case: str
    score: int
    comment: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = case.row
        if row.state != "concluded":
            raise Conflict("办件办结后才能评价")
        if row.rating is not None:
            raise Conflict(f"本办件已评价（{RATINGS.get(row.rating, row.rating)}），每件只能评价一次")
        if isinstance(self.score, bool) or not isinstance(self.score, int) or self.score not in RATINGS:
            raise BadInput(f"请选择评价：{'、'.join(RATINGS.values())}")
        comment = bounded_text(self.comment, "评价意见", required=False)
        if is_poor(self.score) and not comment:
            raise BadInput("差评请写明不满意的原因，以便整改")
        row.rating, row.rated_at = self.score, ctx.at
        notified: list[str] = []
        if is_poor(self.score):
            users = {u.id: u for u in role_holders(ctx.session, "head", row.item.department_id, plain=True)}
            users.update((u.id, u) for u in alerts.supervisors(ctx.session, row))
            notified = alerts.send(ctx.session, list(users.values()), case=row, kind="rating",
                                   title=f"【差评】{row.number} {row.item.name}：{RATINGS[self.score]}",
                                   body=comment, at=ctx.at)
        return Applied(self.score, {"score": self.score, "comment": comment, "notified": notified})


@dataclass(frozen=True)
class WithdrawApplication(CaseCommand):
    """撤回申请: the applicant withdraws the application before a decision is made (行政许可法: the
    review ends). The case ends as 终止 without a decision, its open steps are withdrawn, its clocks
    stop, and those who held the steps are told."""

    type = "withdraw_application"
    label = "申请人撤回申请"
    policy = CASE_APPLICANT
    case: str
    reason: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = case.row
        if row.state != CaseState.RUNNING:
            raise Conflict("办件已办结或已终止，不能撤回")
        if row.decision is not None:
            raise Conflict("已经作出决定，不能再撤回申请")
        reason = bounded_text(self.reason, "撤回理由", required=False)
        # who is working on it, told before the steps are withdrawn
        notified = tell_handlers(ctx, case, f"【申请人撤回】{row.number} {row.item.name}：办件已终止，无需再办理", reason)
        record = operations.end(case.timekeeper, CaseState.TERMINATED)
        record["reason"], record["notified"] = reason, notified
        return Applied(record, record)
