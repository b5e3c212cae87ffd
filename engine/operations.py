"""Administrators operating running cases (运行管理): what suspending (挂起) a case does to its clocks
and timers and what resuming does, which commands a suspended or ended case still takes, and the
item-wide suspension, run as one administration act plus one case command per case.

The commands themselves are in ``engine/commands/operations.py``; the incident list (failed timer
firings) is read by ``engine/read/incidents.py``.

**Suspension time does not count against the limits.** An administrator suspends a case for a
reason outside its handlers' work (a court order, a complaint under investigation, the applicant's
request, a fault being repaired); like a 特别程序 (行政许可法 art. 45) the days it stands still are
not counted: every clock of the case pauses, its deadlines pause (the sweep does not see them), and
on resume each working-day clock is pushed by the working days it stood still, a BPMN timer given in
hours or a date by the exact time it stood still. The suspension is in the case history with who
and why, so supervision sees it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from engine.clock import CHINA_TZ, china_date
from engine.errors import ApprovalError, Conflict
from engine.runtime.spiff import cancel_workflow, move_timer
from engine.store.enums import CaseState
from engine.store.models import Case, Item
from engine.timelimits import clocks, timers
from engine.timelimits.case_time import CaseTime

if TYPE_CHECKING:
    from engine.actors import Actor
    from engine.commands.base import Command
    from engine.executor import Engine

#: the states of a case that an administrator ended
ENDED = (CaseState.TERMINATED, CaseState.VOIDED)


def _when(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def hold_words(hold: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """已由管理员 王某 于 2026-03-05 10:00 挂起（随事项暂停），理由：……"""
    who = (names or {}).get(hold.get("by", "")) or hold.get("by_name") or hold.get("by", "")
    item = "（随事项暂停受理）" if hold.get("item") else ""
    return f"已由管理员 {who} 于 {_when(hold['at'])} 挂起{item}，理由：{hold.get('reason', '')}"


def refusal(case: Case, command: "type[Command]") -> str | None:
    """Why ``command`` may not run on ``case`` now: it is suspended, terminated or voided (``None``
    when it may). Commands that declare ``on_hold`` (the administrators' own) run on a suspended case."""
    if case.state in ENDED:
        return f"办件 {case.number} {CaseState.label_of(case.state)}，不能再办理"
    if case.hold and not getattr(command, "on_hold", False):
        return f"办件 {case.number} {hold_words(case.hold)}；恢复前不能办理"
    return None


def check(case: Case, command: "type[Command]") -> None:
    message = refusal(case, command)
    if message is not None:
        raise Conflict(message)


# ---------------------------------------------------------------- suspend and resume a case

def suspend(t: CaseTime, by: str, by_name: str, reason: str, item: bool = False) -> dict[str, Any]:
    """Pause every running clock of the case (its deadlines with it) and mark it suspended."""
    paused = []
    for clock in t.clocks(states=("running",)):
        clocks.pause(t, clock)
        paused.append(clock.key)
    t.row.hold = {"at": t.at.isoformat(), "by": by, "by_name": by_name, "reason": reason, "item": item,
                  "clocks": paused}
    return {"paused": paused, "item": item}


def resume(t: CaseTime) -> dict[str, Any]:
    """Restart the clocks the suspension paused: working-day clocks (and working-day BPMN timers)
    pushed by the working days they stood still, other timers by the time itself."""
    hold = t.row.hold or {}
    since = datetime.fromisoformat(hold["at"])
    stood_for = t.at - since
    stood: dict[str, int] = {}
    moved = []
    for key in hold.get("clocks", []):
        clock = t.clock(key)
        if clock is None or clock.state != "paused":
            continue
        if clock.kind == "timer":
            moved.extend(_resume_timer(t, clock, stood_for))
        else:
            stood[key] = clocks.resume(t, clock)
    t.row.hold = None
    return {"stood_days": stood, "stood_hours": round(stood_for.total_seconds() / 3600, 2),
            "timers": moved, "since": since.isoformat()}


def _resume_timer(t: CaseTime, clock, stood_for) -> list[dict[str, str]]:
    deadlines = t.deadlines(clock)
    if any(d.detail.get("workdays") for d in deadlines):
        clocks.resume(t, clock)  # pushed by the working days (clocks.recompute leaves timer rows)
        for d in deadlines:
            d.state = "armed"
        return [m.to_dict() for m in timers.recompute(t, clock)]
    clock.state, clock.paused_on = "running", None
    out = []
    for d in deadlines:
        before = d.due_at
        d.due_at, d.state = d.due_at + stood_for, "armed"
        d.due_on = china_date(d.due_at)
        move_timer(t.case.workflow, clock.detail["task"], d.due_at - timers._ONE_SECOND)
        t.case.workflow_changed = True
        out.append({"deadline": d.key, "from": before.isoformat(), "to": d.due_at.isoformat()})
    return out


def end(t: CaseTime, state: CaseState) -> dict[str, Any]:
    """Terminate or void: the open steps are withdrawn, every clock stops and its deadlines are
    cancelled; the case keeps its history and is no longer running."""
    row = t.row
    withdrawn = []
    for task in t.case.ready_rows():
        task.state, task.completed_at = "cancelled", t.at
        t.case.closed.append(task)
        withdrawn.append(task.spiff_id)
    row.state, row.hold = state.value, None
    cancel_workflow(t.case.workflow)  # nothing ready or waiting in the stored state either
    t.case.workflow_changed = True
    t.case.project()  # the withdrawn steps' clocks stop first (their outcome: cancelled)
    for clock in t.clocks():
        clocks.stop(t, clock, "cancelled")
    return {"state": state.value, "withdrawn": withdrawn}


# ---------------------------------------------------------------- a whole item

@dataclass
class ItemRun:
    """What suspending or resuming an item did: the act, then each case in its own transaction."""

    item: str
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "done": self.done, "skipped": self.skipped, "failed": self.failed}


def _item_cases(engine: "Engine", code: str, *, held_by_item: bool) -> list[tuple[str, bool]]:
    with engine.db.reader() as session:
        rows = session.execute(select(Case.number, Case.hold).join(Item, Case.item_id == Item.id)
                               .where(Item.code == code, Case.state == CaseState.RUNNING)
                               .order_by(Case.id)).all()
    if held_by_item:
        return [(n, bool(h and h.get("item"))) for n, h in rows]
    return [(n, not h) for n, h in rows]


def suspend_item(engine: "Engine", actor: "Actor", code: str, reason: str) -> ItemRun:
    """暂停受理: the item takes no new case (``SuspendItem``, an administration act), then each of
    its running cases is suspended (``SuspendCase``), one case per transaction; a case already
    suspended on its own is left as it is; a case that cannot be suspended is reported."""
    from engine.commands.operations import SuspendCase, SuspendItem  # import here: the commands import this module
    engine.execute(SuspendItem(item=code, reason=reason), actor)
    run = ItemRun(code)
    for number, todo in _item_cases(engine, code, held_by_item=False):
        if not todo:
            run.skipped.append(number)
            continue
        try:
            engine.execute(SuspendCase(case=number, reason=reason, item=True), actor)
            run.done.append(number)
        except ApprovalError as exc:
            run.failed.append({"case": number, "error": exc.message})
    return run


def resume_item(engine: "Engine", actor: "Actor", code: str, reason: str) -> ItemRun:
    """恢复受理: the item takes new cases again, and each case suspended with it is resumed; cases
    suspended on their own stay suspended."""
    from engine.commands.operations import ResumeCase, ResumeItem  # import here: the commands import this module
    engine.execute(ResumeItem(item=code, reason=reason), actor)
    run = ItemRun(code)
    for number, todo in _item_cases(engine, code, held_by_item=True):
        if not todo:
            run.skipped.append(number)
            continue
        try:
            engine.execute(ResumeCase(case=number, reason=reason), actor)
            run.done.append(number)
        except ApprovalError as exc:
            run.failed.append({"case": number, "error": exc.message})
    return run
