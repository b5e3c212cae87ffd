"""BPMN timer events mirrored as deadline rows: each waiting timer of the workflow gets a
``timer`` clock and one deadline; a working-day timer moves with the calendar, and moving
it moves the workflow's own timer too."""
from __future__ import annotations

from datetime import timedelta

from engine.clock import china_date, end_of_day
from engine.runtime.spiff import move_timer, waiting_timers
from engine.store.models import Clock, Deadline
from engine.timelimits import clocks
from engine.timelimits.case_time import CaseTime, Moved

_ONE_SECOND = timedelta(seconds=1)


def sync_timers(t: CaseTime, workflow) -> None:
    """Mirror the workflow's waiting timer events into the deadline table."""
    waiting = {timer.task: timer for timer in waiting_timers(workflow)}
    for clock in t.clocks("timer"):
        if clock.detail.get("task") not in waiting:
            clocks.stop(t, clock, "cancelled")
    for spiff_id, timer in waiting.items():
        key = f"timer.{spiff_id}"
        if t.clock(key) is not None:
            continue
        fires = timer.fires
        in_workdays = "workdays(" in (timer.expression or "")
        # A working-day timer fires as its last day ends, at midnight: that day is the due day.
        due_on = china_date(fires - _ONE_SECOND) if in_workdays else china_date(fires)
        detail = {"task": spiff_id, "element": timer.element, "name": timer.name,
                  "expression": timer.expression}
        clock = clocks.start(t, "timer", key, 0, [], started_at=t.at, detail=detail)
        days = t.calendar.between(clock.started_on, due_on) if in_workdays else None
        if days is not None:
            clock.limit_days = days.value
        deadline = Deadline(case_id=t.row.id, clock=clock, key=f"{key}/timer", kind="timer",
                            offset_days=days.value if days is not None else 0, due_on=due_on,
                            # SpiffWorkflow fires a timer strictly after its moment.
                            due_at=fires.replace(microsecond=0) + _ONE_SECOND,
                            provisional=bool(days and days.provisional),
                            detail={"workdays": in_workdays}, state="armed", attempts=0)
        t.add_deadline(clock, deadline)


def recompute(t: CaseTime, clock: Clock) -> list[Moved]:
    """Put a timer clock's deadline where the calendar now says, and the workflow's timer with it."""
    moved = []
    for deadline in t.deadlines(clock):
        change = _recompute_timer(t, deadline)
        if change is not None:
            moved.append(change)
    return moved


def _recompute_timer(t: CaseTime, deadline: Deadline) -> Moved | None:
    if not deadline.detail.get("workdays"):
        return None
    clock = t.clock_of(deadline)
    answer = t.due(clock, deadline.offset_days)
    deadline.provisional = answer.provisional
    if answer.value == deadline.due_on:
        return None
    fires = end_of_day(answer.value)
    move_timer(t.case.workflow, clock.detail["task"], fires)
    t.case.workflow_changed = True
    moved = Moved(deadline.key, deadline.due_on, answer.value)
    deadline.due_on, deadline.due_at = answer.value, fires + _ONE_SECOND
    return moved


def fire(t: CaseTime, clock: Clock) -> dict[str, str]:
    """The timer's moment has come: the workflow moves on past it."""
    clocks.stop(t, clock, "fired")
    t.case.advance()
    return {"timer": clock.detail.get("element")}
