"""Supervision commands (电子监察, 效能告诫): acts on findings and warnings, which concern no single
case history. ``load`` returns no case; ``Engine.execute`` checks the policy against the finding or
warning named (``apart_subject``) and records the act in ``supervision_acts``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from .. import alerts
from ..errors import BadInput, Conflict, NotFound
from engine.authorization import FINDING_DEPARTMENT_HEAD, SUPERVISOR, SYSTEM_OR_SUPERVISOR, Subject
from engine.clock import china_date
from engine.runtime.values import MAX_ID
from engine.store.enums import FindingKind, FindingState, WarningState, WarningTarget
from engine.store.models import Case, Department, EfficiencyWarning, Finding, SupervisionAct, User, UserRole
from engine.supervision import findings as detection
from engine.supervision.warnings import propose_head_warning
from .base import Applied, Command, CommandContext, bounded_text


class SupervisionCommand(Command):
    """A command on no case: a finding, a warning, or the whole centre. Its refusals are not
    流程错误 of a case and are not recorded."""

    records_refusals = False

    def load(self, ctx: CommandContext) -> None:
        return None

    def apart_subject(self, ctx: CommandContext) -> Subject:
        return Subject(None, None)


def _supervisors(session) -> list[User]:
    return list(session.scalars(select(User).join(UserRole).where(UserRole.role == "supervisor",
                                                                  User.active.is_(True))))


def _heads(session, department_id: int) -> list[User]:
    return list(session.scalars(select(User).join(UserRole).where(UserRole.role == "head", User.active.is_(True),
                                                                  User.department_id == department_id)))


@dataclass(frozen=True)
class DetectFindings(SupervisionCommand):
    """电子监察扫描: look at the cases changed since where the last scan stopped (all of them the first
    time, or with ``full``; at most ``findings.SCAN_LIMIT`` a run) and record what is new. Run by the
    timer process every 15 minutes, or by a supervisor."""

    type = "detect_findings"
    label = "电子监察扫描"
    policy = SYSTEM_OR_SUPERVISOR
    full: bool = False

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        last = None if self.full else ctx.session.scalar(
            select(SupervisionAct.payload).where(SupervisionAct.command == self.type).order_by(SupervisionAct.id.desc())
            .limit(1))
        after = (datetime.fromisoformat(last["through"]["at"]), last["through"]["case"]) \
            if last and last.get("through") else None
        found, scanned, stopped = detection.detect(ctx.session, ctx.engine.calendar(ctx.session), after=after)
        refused, refusals_through = detection.detect_refusals(
            ctx.session, after=None if self.full or not last else last.get("refusals_through"))
        new = detection.record(ctx.session, found + refused, ctx.at)
        refusals = [f for f in new if f.kind == FindingKind.REFUSAL]
        if refusals:  # 否定报备: every refusal is reported to the supervisors
            alerts.send(ctx.session, _supervisors(ctx.session), case=None, kind="supervision",
                        title=f"【否定报备】{len(refusals)} 件不予受理或不予许可待确认", body="", at=ctx.at)
        found = [{"finding": f.id, "case": f.case.number, "kind": f.kind, "key": f.key} for f in new]
        through = {"at": stopped[0].isoformat(), "case": stopped[1]} if stopped else None
        return Applied(found, {"scanned": scanned, "through": through, "refusals_through": refusals_through,
                               "found": found})


class FindingCommand(SupervisionCommand):
    """A command on one finding, named by its id."""

    finding: int

    def apart_subject(self, ctx: CommandContext) -> Subject:
        if not isinstance(self.finding, int) or not 0 < self.finding <= MAX_ID:
            raise NotFound(f"监察事项 {self.finding} 不存在")
        row = ctx.session.get(Finding, self.finding, with_for_update=True)
        if row is None:
            raise NotFound(f"监察事项 {self.finding} 不存在")
        return Subject(None, None, record=row)

    def row(self, ctx: CommandContext, states: tuple[str, ...], what: str) -> Finding:
        row = ctx.session.get(Finding, self.finding)
        if row.state not in states:
            raise Conflict(f"监察事项 {row.id}（{FindingState.label_of(row.state)}）不能{what}")
        return row

    def note_trail(self, row: Finding, ctx: CommandContext, act: str, note: str, state: str) -> dict[str, Any]:
        row.trail = [*row.trail, {"act": act, "by": ctx.actor.name, "at": ctx.at.isoformat(), "note": note}]
        before, row.state, row.updated_at = row.state, state, ctx.at
        return {"finding": row.id, "case": row.case.number, "kind": row.kind, "from": before, "to": state}


@dataclass(frozen=True)
class AcknowledgeRefusal(FindingCommand):
    """否定报备确认: the supervisor has seen a refusal report; it is closed."""

    type = "acknowledge_refusal"
    label = "否定报备确认"
    policy = SUPERVISOR
    finding: int = 0
    note: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        row = self.row(ctx, (FindingState.OPEN, FindingState.EXPLAINED), "确认报备")
        if row.kind != FindingKind.REFUSAL:
            raise BadInput("只有否定报备可以“确认报备”；其他监察事项请确认问题或关闭")
        note = bounded_text(self.note, "确认意见", required=False)
        return Applied(None, self.note_trail(row, ctx, "acknowledged", note, FindingState.CLOSED))


@dataclass(frozen=True)
class RequestExplanation(FindingCommand):
    """要求说明: the supervisor asks the finding's department to explain; its heads are told."""

    type = "request_explanation"
    label = "要求说明"
    policy = SUPERVISOR
    finding: int = 0
    note: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        row = self.row(ctx, (FindingState.OPEN, FindingState.EXPLAINED), "要求说明")
        note = bounded_text(self.note, "要求说明的事项")
        result = self.note_trail(row, ctx, "asked", note, FindingState.EXPLAINING)
        result["notified"] = alerts.send(ctx.session, _heads(ctx.session, row.department_id), case=row.case,
                                         kind="supervision", at=ctx.at, body=note,
                                         title=f"【要求说明】{row.case.number} {FindingKind.label_of(row.kind)}")
        return Applied(result, result)


@dataclass(frozen=True)
class ExplainFinding(FindingCommand):
    """作出说明: the department's head answers a request to explain."""

    type = "explain_finding"
    label = "作出说明"
    policy = FINDING_DEPARTMENT_HEAD
    finding: int = 0
    note: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        row = self.row(ctx, (FindingState.EXPLAINING,), "说明（监察员尚未要求说明）")
        note = bounded_text(self.note, "情况说明")
        result = self.note_trail(row, ctx, "explained", note, FindingState.EXPLAINED)
        result["notified"] = alerts.send(ctx.session, _supervisors(ctx.session), case=row.case, kind="supervision",
                                         at=ctx.at, body=note,
                                         title=f"【情况说明】{row.department.name}：{row.case.number}")
        return Applied(result, result)


@dataclass(frozen=True)
class ConfirmFinding(FindingCommand):
    """确认问题: the supervisor holds the finding to be a fault (it counts in the assessment)."""

    type = "confirm_finding"
    label = "确认问题"
    policy = SUPERVISOR
    finding: int = 0
    note: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        row = self.row(ctx, (FindingState.OPEN, FindingState.EXPLAINED), "确认")
        note = bounded_text(self.note, "确认意见", required=False)
        result = self.note_trail(row, ctx, "confirmed", note, FindingState.CONFIRMED)
        # the department answers for it in its assessment: its heads are told
        result["notified"] = alerts.send(ctx.session, _heads(ctx.session, row.department_id), case=row.case,
                                         kind="supervision", at=ctx.at, body=note or row.summary,
                                         title=f"【监察问题已确认】{row.case.number} {FindingKind.label_of(row.kind)}，计入考核")
        return Applied(None, result)


@dataclass(frozen=True)
class CloseFinding(FindingCommand):
    """关闭: the supervisor closes the finding (explained, dealt with, or not a fault)."""

    type = "close_finding"
    label = "关闭监察事项"
    policy = SUPERVISOR
    finding: int = 0
    note: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        row = self.row(ctx, (FindingState.OPEN, FindingState.EXPLAINING, FindingState.EXPLAINED,
                             FindingState.CONFIRMED), "关闭")
        note = bounded_text(self.note, "关闭理由")
        return Applied(None, self.note_trail(row, ctx, "closed", note, FindingState.CLOSED))


@dataclass(frozen=True)
class IssueWarning(SupervisionCommand):
    """效能告诫: to a clerk (``user``) or a unit (``department``), with a reason and the cases and
    findings it concerns. A second warning to a unit's staff in a calendar year proposes one to
    the unit's head, for the supervisor to confirm."""

    type = "issue_warning"
    label = "效能告诫"
    policy = SUPERVISOR
    user: str = ""
    department: str = ""
    reason: str = ""
    cases: tuple[str, ...] = ()
    findings: tuple[int, ...] = ()

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        session = ctx.session
        reason = bounded_text(self.reason, "告诫理由")
        if bool(self.user) == bool(self.department):
            raise BadInput("请选择告诫对象：一名工作人员或一个单位（二选一）")
        person = None
        if self.user:
            person = session.scalar(select(User).where(User.username == self.user, User.active.is_(True)))
            if person is None:
                raise BadInput(f"用户 {self.user} 不存在或已停用")
            department_id = person.department_id
        else:
            department_id = session.scalar(select(Department.id).where(Department.code == self.department))
            if department_id is None:
                raise BadInput(f"单位 {self.department} 不存在")
        numbers = sorted(set(self.cases))
        known = set(session.scalars(select(Case.number).where(Case.number.in_(numbers)))) if numbers else set()
        if set(numbers) - known:
            raise BadInput(f"办件不存在：{'、'.join(sorted(set(numbers) - known))}")
        ids = sorted(set(self.findings))
        if any(not isinstance(i, int) or not 0 < i <= MAX_ID for i in ids) or (
                ids and len(set(session.scalars(select(Finding.id).where(Finding.id.in_(ids))))) != len(ids)):
            raise BadInput("关联的监察事项不存在")
        row = EfficiencyWarning(target=WarningTarget.PERSON if person else WarningTarget.UNIT,
                                user_id=person.id if person else None, department_id=department_id,
                                year=china_date(ctx.at).year, state=WarningState.ISSUED, reason=reason,
                                cases=numbers, findings=ids, created_by=ctx.actor.name, created_at=ctx.at,
                                decided_by=ctx.actor.name, decided_at=ctx.at)
        session.add(row)
        session.flush()
        heads = _heads(session, department_id)  # a unit's head hears of a warning to the unit or its staff
        told = [person, *(h for h in heads if h.id != person.id)] if person else heads
        linked = session.scalars(select(Case).where(Case.number == numbers[0])).one() if numbers else None
        body = reason + (f"（相关办件：{'、'.join(numbers)}）" if numbers else "")
        notified = alerts.send(session, told, case=linked, kind=alerts.EFFICIENCY_WARNING, at=ctx.at, body=body,
                               title=f"【效能告诫】{person.display_name if person else row.department.name}")
        proposed = propose_head_warning(session, department_id, ctx.at, ctx.actor.name) if person else None
        if proposed is not None:
            alerts.send(session, _supervisors(session), case=None, kind=alerts.EFFICIENCY_WARNING, at=ctx.at, body=proposed.reason,
                        title=f"【拟告诫单位负责人】{proposed.department.name}，请确认")
        result = {"warning": row.id, "target": row.target, "department": row.department.name,
                  "notified": notified, "proposed": proposed.id if proposed else None}
        return Applied(result, result)


@dataclass(frozen=True)
class DecideWarning(SupervisionCommand):
    """确认告诫: the supervisor confirms (issues) or dismisses a proposed warning to a unit's head."""

    type = "decide_warning"
    label = "确认告诫"
    policy = SUPERVISOR
    warning: int = 0
    confirm: bool = True
    note: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        if not isinstance(self.warning, int) or not 0 < self.warning <= MAX_ID:
            raise NotFound(f"告诫 {self.warning} 不存在")
        row = ctx.session.get(EfficiencyWarning, self.warning, with_for_update=True)
        if row is None:
            raise NotFound(f"告诫 {self.warning} 不存在")
        if row.state != WarningState.PROPOSED:
            raise Conflict(f"告诫 {row.id} 已{WarningState.label_of(row.state)}，无需再确认")
        note = bounded_text(self.note, "不予告诫的理由", required=not self.confirm)
        row.state = WarningState.ISSUED if self.confirm else WarningState.DISMISSED
        row.decided_by, row.decided_at = ctx.actor.name, ctx.at
        if self.confirm:  # the proposal's words become the warning's: 拟对…进行 → 对…进行
            row.reason = row.reason.replace("拟对单位负责人进行效能告诫", "对单位负责人进行效能告诫")
        if note:
            row.reason = f"{row.reason}（{note}）"
        notified = []
        if self.confirm and row.user is not None:
            notified = alerts.send(ctx.session, [row.user], case=None, kind=alerts.EFFICIENCY_WARNING, at=ctx.at, body=row.reason,
                                   title=f"【效能告诫】{row.user.display_name}（单位负责人）")
        result = {"warning": row.id, "state": row.state, "notified": notified}
        return Applied(result, result)
