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

from sqlalchemy import and_, bindparam, insert, select

from engine.clock import china_date
from engine.store.models import Clock, Deadline, Task
from engine.store.plain import Plain, PlainJoin
from engine.timelimits.policy import TimePolicy, policy_from_json
from engine.timelimits.workdays import WorkCalendar, WorkdayAnswer
from engine.runtime.projection import pending_compact

if TYPE_CHECKING:
    from engine.unit_of_work import CommandContext, OpenCase

#: Clocks that a suspended period (特别程序) stops.
SUSPENDABLE = ("decision", "step", "preliminary")
ACTIVE = ("running", "paused")
LIMIT_KINDS = ("yellow", "red", "deemed")
#: The deadline states a command reads: what is still to come, and what has fired (cards, late).
LIVE_DEADLINES = ("armed", "paused", "fired")


#: built once: building a statement costs more than running it
#: the case's clocks, each with its live deadlines (a clock without any: once, with None), in one
#: statement: two entities of one outer join cost less than two queries. The deadline's own
#: ``case_id`` in the join lets it use ``(case_id, state)``; no index starts with ``clock_id``.
_CLOCK_ROWS = PlainJoin(Plain(Clock), Plain(Deadline))
_CLOCKS = (select(*_CLOCK_ROWS.columns)
           .outerjoin(Deadline, and_(Deadline.case_id == bindparam("case_id"), Deadline.clock_id == Clock.id,
                                     Deadline.state.in_(LIVE_DEADLINES)))
           .where(Clock.case_id == bindparam("case_id")).order_by(Clock.id, Deadline.id))
_INSERT_DEADLINES = insert(Deadline.__table__)


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
        self.policy: TimePolicy = policy_from_json(case.row.started_policy)
        self._new_clock_tasks: dict[int, Task] = {}  # id(clock) -> task, for clocks made in this command
        self._calendar: WorkCalendar | None = None
        self._new_deadlines: list[Deadline] = []  # armed in this command, written after its flush

    @property
    def calendar(self) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = self.ctx.engine.calendar(self.session, self.ctx.calendar_version)
        return self._calendar

    @property
    def at(self) -> datetime:
        return self.ctx.at

    @property
    def today(self) -> date:
        return china_date(self.ctx.at)

    # The case's clocks and its live deadlines are read once per command (two statements) and
    # then kept here: every clock and deadline of a case changes only under its case lock, inside
    # the command, through ``clocks.start``/``arm`` and ``timers.sync_timers`` (which ``track``
    # what they create), so the lists stay what the database would answer. Cancelled and failed
    # deadlines, which no rule looks at again, are left out so a long-lived case costs the same.
    _clocks: list[Clock] | None = None
    pending_before: dict[str, list] | None = None  # set by _load (compact, as stored_observed takes it)
    _deadlines: dict[int, list[Deadline]]  # by id(clock)

    def _load(self) -> list[Clock]:
        if self._clocks is None:
            session = self.session
            with session.no_autoflush:
                rows = session.connection().execute(_CLOCKS, {"case_id": self.row.id}).all()
            clocks: list[Clock] = []
            self._deadlines = {}
            for row in rows:
                clock, deadline = _CLOCK_ROWS.load(session, row)
                found = self._deadlines.get(id(clock))
                if found is None:
                    clocks.append(clock)
                    found = self._deadlines[id(clock)] = []
                if deadline is not None:
                    found.append(deadline)
            self._clocks = clocks
            # the pending deadlines as the command found them: the history entry keeps what changed
            self.pending_before = pending_compact(d for found in self._deadlines.values() for d in found)
        return self._clocks

    def track_clock(self, clock: Clock, task: Task | None = None) -> None:
        """A clock created in this command (added to the session by the caller), of ``task``:
        the task may be new too, without an id until the command's flush."""
        self._load().append(clock)
        self._deadlines[id(clock)] = []
        if task is not None:
            self._new_clock_tasks[id(clock)] = task

    def is_clock_of(self, clock: Clock, task: Task) -> bool:
        new = self._new_clock_tasks.get(id(clock))
        if new is not None:
            return new is task
        return clock.task_id is not None and clock.task_id == task.id

    def track_deadline(self, clock: Clock, deadline: Deadline) -> None:
        """A deadline created in this command for ``clock``."""
        self._load()
        self._deadlines[id(clock)].append(deadline)

    def add_deadline(self, clock: Clock, deadline: Deadline) -> None:
        """Arm a new deadline of ``clock``. It is kept here, not in the session: deadlines are the
        rows a command adds most of, and nothing reads a new one back from the database before
        the command ends, so ``write_new_deadlines`` writes them all in one Core INSERT after the
        command's flush (which gives a new clock its id) instead of one ORM insert each."""
        self.track_deadline(clock, deadline)
        self._new_deadlines.append(deadline)

    def write_new_deadlines(self) -> None:
        """Insert the deadlines armed in this command, as they stand now (one may have been
        cancelled or moved since). Called by the executor after the command's flush."""
        new, self._new_deadlines = self._new_deadlines, []
        if new:
            with self.session.no_autoflush:
                self.session.execute(_INSERT_DEADLINES, [
                    {"case_id": self.row.id, "clock_id": self.clock_of(d).id, "key": d.key, "kind": d.kind,
                     "offset_days": d.offset_days, "due_on": d.due_on, "due_at": d.due_at,
                     "provisional": bool(d.provisional), "state": d.state, "detail": d.detail,
                     "attempts": d.attempts or 0, "last_error": d.last_error, "fired_at": d.fired_at}
                    for d in new])

    def all_deadlines(self, states=("armed", "paused")) -> list[Deadline]:
        """The case's deadlines in ``states`` (armed, paused, fired), in the order they were made."""
        found = [d for clock in self._load() for d in self._deadlines[id(clock)] if d.state in states]
        return sorted(found, key=lambda d: (d.id is None, d.id or 0))

    def live_deadline(self, deadline_id: int | None, key: str | None) -> Deadline | None:
        """The case's live deadline (armed, paused, fired) with this id, else with this key; None
        when it has no such live deadline (it may still have a cancelled or failed one)."""
        self._load()
        for found in self._deadlines.values():
            for deadline in found:
                if (deadline.id == deadline_id) if deadline_id is not None else (deadline.key == key):
                    return deadline
        return None

    def clocks(self, kind: str | None = None, states=ACTIVE) -> list[Clock]:
        return [c for c in self._load() if c.state in states and (kind is None or c.kind == kind)]

    def clock(self, key: str) -> Clock | None:
        return next((c for c in self._load() if c.key == key), None)

    def clock_keys(self) -> set[str]:
        return {c.key for c in self._load()}

    def clock_of(self, deadline: Deadline) -> Clock:
        """The clock a deadline of this case belongs to."""
        found = next((c for c in self._load() if deadline in self._deadlines[id(c)]), None)
        return found if found is not None else deadline.clock

    def task_clock(self, task: Task) -> Clock | None:
        """The running (or paused) clock of a step or follow-up task."""
        return next((c for c in self._load() if c.state in ACTIVE and self.is_clock_of(c, task)), None)

    def deadlines(self, clock: Clock, states=("armed", "paused")) -> list[Deadline]:
        if any(state not in LIVE_DEADLINES for state in states):
            raise ValueError(f"only {LIVE_DEADLINES} deadlines are kept in a command")
        self._load()
        return [d for d in self._deadlines.get(id(clock), []) if d.state in states]

    def due(self, clock: Clock, offset: int) -> WorkdayAnswer:
        return self.calendar.add(clock.started_on, offset + clock.extended_days + clock.suspended_days)

    def limit_due(self, clock: Clock, offset: int | None = None) -> date:
        return self.due(clock, clock.limit_days if offset is None else offset).value

    def stage_tasks(self, stage: str) -> list[str]:
        """The element ids of the process's user tasks that declare ``stage``."""
        return [t.element_id for t in self.case.definition.user_tasks.values() if t.settings.stage == stage]
