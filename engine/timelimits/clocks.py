"""Starting, stopping, pausing and moving a case's clocks and arming their deadlines; the
suspended period (特别程序) and the extension (延期), which move them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from engine.clock import china_date, end_of_day
from engine.errors import Conflict
from engine.actors import Actor
from engine.store.models import Clock, Deadline, Department, Item, Task
from engine.timelimits import notices
from engine.timelimits.case_time import LIMIT_KINDS, SUSPENDABLE, CaseTime, Moved
from engine.timelimits.policy import SUSPENSION_KINDS, TimePolicy

#: A plan: (deadline kind, working days from the clock's start, detail) for each deadline to arm.
Plan = list[tuple[str, int, dict]]


def start(t: CaseTime, kind: str, key: str, limit_days: int, plan: Plan, *, task: Task | None = None,
          statutory_days: int | None = None, started_at: datetime | None = None,
          detail: dict | None = None) -> Clock:
    started_at = started_at or t.at
    clock = Clock(case_id=t.row.id, key=key, kind=kind, task=task,
                  started_at=started_at, started_on=china_date(started_at), limit_days=limit_days,
                  statutory_days=statutory_days, extended_days=0, suspended_days=0, state="running",
                  detail=detail or {})
    if t.row.suspended and kind in SUSPENDABLE:
        clock.state, clock.paused_on = "paused", t.today
    t.session.add(clock)
    t.track_clock(clock, task)
    for deadline_kind, offset, deadline_detail in plan:
        arm(t, clock, deadline_kind, offset, deadline_detail)
    return clock


def arm(t: CaseTime, clock: Clock, kind: str, offset: int, detail: dict | None = None,
        key: str | None = None) -> Deadline:
    answer = t.due(clock, offset)
    deadline = Deadline(case_id=t.row.id, clock=clock, key=key or f"{clock.key}/{kind}", kind=kind,
                        offset_days=offset, due_on=answer.value, due_at=end_of_day(answer.value),
                        provisional=answer.provisional, detail=detail or {},
                        state="armed" if clock.state == "running" else "paused", attempts=0)
    t.add_deadline(clock, deadline)
    return deadline


def stop(t: CaseTime, clock: Clock, outcome: str | None = None) -> None:
    if clock.state == "stopped":
        return
    pending = t.deadlines(clock, states=("armed", "paused", "fired"))
    late = any(d.kind in LIMIT_KINDS and d.due_at <= t.at for d in pending)
    clock.state, clock.stopped_at, clock.paused_on = "stopped", t.at, None
    clock.outcome = outcome or ("late" if late else "on_time")
    for deadline in pending:
        if deadline.state != "fired":
            deadline.state = "cancelled"


def pause(t: CaseTime, clock: Clock) -> None:
    if clock.state != "running":
        return
    clock.state, clock.paused_on = "paused", t.today
    for deadline in t.deadlines(clock, states=("armed",)):
        deadline.state = "paused"


def resume(t: CaseTime, clock: Clock, on: date | None = None) -> int:
    """Restart a paused clock as of the day ``on`` (default today); the working days it
    stood still push its deadlines."""
    if clock.state != "paused":
        return 0
    stood = max(t.calendar.between(clock.paused_on, on or t.today).value, 0)
    clock.suspended_days += stood
    clock.state, clock.paused_on = "running", None
    recompute(t, clock)
    return stood


def recompute(t: CaseTime, clock: Clock) -> list[Moved]:
    """Put every pending deadline of the clock where the calendar now says it is. BPMN timer
    rows are left to ``timers.recompute`` (they also move the workflow's timer)."""
    moved = []
    for deadline in t.deadlines(clock):
        if deadline.kind == "timer":
            continue
        answer = t.due(clock, deadline.offset_days)
        if answer.value != deadline.due_on:
            moved.append(Moved(deadline.key, deadline.due_on, answer.value))
        deadline.due_on, deadline.due_at = answer.value, end_of_day(answer.value)
        deadline.provisional = answer.provisional
        deadline.state = "armed" if clock.state == "running" else "paused"
    return moved


def counted_until(t: CaseTime, clock: Clock) -> date:
    """The last day the clock has counted: today, or — while a suspended period stands —
    the day it was paused, since the days of the pause in progress do not count."""
    return clock.paused_on if clock.state == "paused" and clock.paused_on is not None else t.today


# ---------------------------------------------------------------- suspended periods

def suspend(t: CaseTime, kind: str, days: int, reason: str, task: Task | None = None) -> dict[str, Any]:
    for clock in t.clocks():
        if clock.kind in SUSPENDABLE:
            pause(t, clock)
    t.row.suspended = True
    number = len(t.clocks("suspension", states=("running", "paused", "stopped"))) + 1
    detail = {"kind": kind, "reason": reason, **({"task": task.spiff_id} if task is not None else {})}
    clock = start(t, "suspension", f"suspension.{number}", days, [("resume", days, {})], detail=detail)
    ends = t.limit_due(clock)
    notices.notice(t, "suspension", notices.suspension_text(SUSPENSION_KINDS[kind], t.today, days, ends, reason),
                   {"kind": kind, "days": days, "until": ends.isoformat()})
    return {"kind": kind, "days": days, "until": ends.isoformat(), "reason": reason}


def end_suspension(t: CaseTime, clock: Clock | None = None, automatic: bool = False,
                   on: date | None = None) -> dict[str, Any]:
    clock = clock or next(iter(t.clocks("suspension")), None)
    if clock is None:
        raise Conflict("办件没有正在进行的特别程序")
    stop(t, clock, "ended")
    stood = {}
    for paused in t.clocks(states=("paused",)):
        if paused.kind in SUSPENDABLE:
            stood[paused.key] = resume(t, paused, on)
    t.row.suspended = False
    return {"suspension": clock.key, "automatic": automatic, "stood_days": stood}


# ---------------------------------------------------------------- extension

@dataclass(frozen=True)
class ExtensionApprover:
    """Who may approve an extension of a case's decision limit."""

    role: str
    department: Department
    title: str  # as the applicant's notice names them
    joint: bool = False

    def allows(self, actor: Actor) -> bool:
        return actor.has_role(self.role) and actor.department_id == self.department.id

    def refusal(self, item: Item, verb: str = "批准") -> str:
        if self.joint:
            return (f"联办件延期须经本级人民政府负责人（{self.department.name}）{verb}（行政许可法第四十二条），"
                    f"{item.department.name} 负责人不能{verb}")
        return f"延期须由 {self.department.name} 负责人{verb}"


def extension_approver(item: Item, policy: TimePolicy) -> ExtensionApprover:
    """The item department's 负责人; where the case's policy says ``government`` (联办件: joint
    handling, 45 working days extended by 15 only with the approval of the head of the people's
    government at that level, 行政许可法 art. 42) a ``gov_head`` of the government the
    department belongs to — its nearest ancestor at the same level."""
    if policy.extension_approver != "government":
        return ExtensionApprover("head", item.department, "本机关负责人")
    government = item.department.parent
    while government is not None and government.level != item.department.level:
        government = government.parent
    if government is None:
        raise Conflict(f"{item.department.name} 没有同级的人民政府，联办件的延期无人可以批准；请先设置部门的上级")
    return ExtensionApprover("gov_head", government, "本级人民政府负责人", joint=True)


def extend(t: CaseTime, days: int, reason: str, approver: str = "本机关负责人") -> dict[str, Any]:
    """Push every pending deadline of the decision clock by ``days``. Refused once the
    statutory limit has passed — counting only the days the clock has run, so that a
    suspended period in progress (检测、专家评审…) does not count against it."""
    clock = t.clock("decision")
    if clock is None or clock.state == "stopped":
        raise Conflict("办件的办理时限没有在计算中，不能延期")
    if clock.extended_days:
        raise Conflict(f"办件已延期 {clock.extended_days} 个工作日；延期只能一次")
    statutory = t.limit_due(clock, clock.statutory_days)
    if counted_until(t, clock) > statutory:
        raise Conflict(f"法定时限已于 {statutory:%Y-%m-%d} 届满，不能再延期")
    clock.extended_days = days
    moved = recompute(t, clock)
    new_due = t.limit_due(clock, clock.statutory_days)
    paused = clock.state == "paused"
    notices.notice(t, "extension", notices.extension_text(reason, approver, days, new_due, paused),
                   {"days": days, "until": new_due.isoformat()})
    return {"days": days, "reason": reason, "until": new_due.isoformat(),
            "moved": [m.to_dict() for m in moved]}
