"""The time state of one locked case, as a command sees it: its policy, the working-day
calendar, "now", and queries over its clocks and deadlines.

A *clock* counts whole working days from the day it starts (not itself counted):
the acceptance clock from the application's arrival, the decision clock from
acceptance (or from the arrival of the complete supplement, or from the arrival
of the application when acceptance is deemed), a step clock from the day a task
became ready, the licence-issue clock from a grant. Each clock arms deadlines
(rows in ``deadlines``) at offsets from its start; extensions and suspended
working days push all of them.

What changes clocks lives beside this module, one module per reason to change:
``clocks`` (start, stop, pause, move), ``planning`` (which limits a case and a step
get), ``supplements`` (the one-time notice), ``reactions`` (tasks opening and
closing), ``timers`` (BPMN timers), ``firing`` (a due deadline, cards, escalation),
``deemed`` (deemed decisions), ``notices`` (what the applicant is told), ``inbox``
(the inbox's due day and alert), ``recompute`` (a calendar change).

Nothing here reads the wall clock: "now" is the command's time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine.clock import china_date
from engine.store.models import Clock, Deadline, Task
from engine.timelimits.policy import TimePolicy, policy_from_json
from engine.timelimits.workdays import WorkCalendar, WorkdayAnswer

if TYPE_CHECKING:
    from engine.unit_of_work import CommandContext, OpenCase

#: Clocks that a suspended period (特别程序) stops.
SUSPENDABLE = ("decision", "step", "preliminary")
ACTIVE = ("running", "paused")
LIMIT_KINDS = ("yellow", "red", "deemed")


@dataclass(frozen=True)
class Moved:
    key: str
    before: date
    after: date

    def to_dict(self) -> dict[str, str]:
        return {"deadline": self.key, "from": self.before.isoformat(), "to": self.after.isoformat()}


class CaseTime:
    """One locked case's policy, calendar and clocks, inside the command being executed."""

    def __init__(self, ctx: "CommandContext", case: "OpenCase"):
        self.ctx, self.case, self.session = ctx, case, ctx.session
        self.row = case.row
        self.policy: TimePolicy = policy_from_json(case.row.time_policy)
        self._calendar: WorkCalendar | None = None

    @property
    def calendar(self) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = self.ctx.engine.calendar(self.session)
        return self._calendar

    @property
    def at(self) -> datetime:
        return self.ctx.at

    @property
    def today(self) -> date:
        return china_date(self.ctx.at)

    def clocks(self, kind: str | None = None, states=ACTIVE) -> list[Clock]:
        query = select(Clock).where(Clock.case_id == self.row.id, Clock.state.in_(states)).order_by(Clock.id)
        if kind is not None:
            query = query.where(Clock.kind == kind)
        return list(self.session.scalars(query))

    def clock(self, key: str) -> Clock | None:
        return self.session.scalar(select(Clock).where(Clock.case_id == self.row.id, Clock.key == key))

    def task_clock(self, task: Task) -> Clock | None:
        """The running (or paused) clock of a step or follow-up task."""
        return self.session.scalar(select(Clock).where(Clock.case_id == self.row.id, Clock.task_id == task.id,
                                                       Clock.state.in_(ACTIVE)))

    def deadlines(self, clock: Clock, states=("armed", "paused")) -> list[Deadline]:
        return list(self.session.scalars(select(Deadline).where(Deadline.clock_id == clock.id,
                                                                Deadline.state.in_(states)).order_by(Deadline.id)))

    def due(self, clock: Clock, offset: int) -> WorkdayAnswer:
        return self.calendar.add(clock.started_on, offset + clock.extended_days + clock.suspended_days)

    def limit_due(self, clock: Clock, offset: int | None = None) -> date:
        return self.due(clock, clock.limit_days if offset is None else offset).value

    def stage_tasks(self, stage: str) -> list[str]:
        """The element ids of the process's user tasks that declare ``stage``."""
        return [t.element_id for t in self.case.definition.user_tasks.values() if t.settings.stage == stage]
