"""The clocks of a case and their deadlines, kept inside the command being executed.

A *clock* counts whole working days from the day it starts (not itself counted):
the acceptance clock from the application's arrival, the decision clock from
acceptance (or from the arrival of the complete supplement, or from the arrival
of the application when acceptance is deemed), a step clock from the day a task
became ready, the licence-issue clock from a grant. Each clock arms deadlines
(rows in ``deadlines``) at offsets from its start; extensions and suspended
working days push all of them. The sweep fires due deadlines through
``FireDeadline``, which lands in ``Timekeeper.fire``.

The timekeeper never reads the wall clock: "now" is the command's time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from engine import alerts
from engine.clock import china_date, end_of_day
from engine.errors import BadInput, Conflict
from engine.runtime.spiff import move_timer, waiting_timers
from engine.store.models import Clock, Deadline, Notice, Task
from engine.timelimits.policy import SUSPENSION_KINDS, WarningRule, policy_from_json
from engine.timelimits.deemed import DeemedDecisions

if TYPE_CHECKING:
    from engine.unit_of_work import CommandContext, OpenCase

#: Clocks that a suspended period (特别程序) stops.
SUSPENDABLE = ("decision", "step")
ACTIVE = ("running", "paused")
LIMIT_KINDS = ("yellow", "red", "deemed")
ALERT_TITLES = {"warning": "预警", "yellow": "黄牌", "red": "红牌"}
_ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Moved:
    key: str
    before: date
    after: date

    def to_dict(self) -> dict[str, str]:
        return {"deadline": self.key, "from": self.before.isoformat(), "to": self.after.isoformat()}


class Timekeeper(DeemedDecisions):
    """Arms, stops, pauses, moves and fires the clocks of one locked case."""

    def __init__(self, ctx: "CommandContext", case: "OpenCase"):
        self.ctx, self.case, self.session = ctx, case, ctx.session
        self.row = case.row
        self.policy = policy_from_json(case.row.time_policy)
        self._calendar = None

    # ---------------------------------------------------------------- basics
    @property
    def calendar(self):
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

    def task_clock(self, task: Task) -> Clock | None:
        """The running (or paused) clock of a step or follow-up task."""
        return self.session.scalar(select(Clock).where(Clock.case_id == self.row.id, Clock.task_id == task.id,
                                                       Clock.state.in_(ACTIVE)))

    def _new_task_clock_key(self, task: Task) -> str:
        """``step.<task id>``; a step reopened by 退回 or 拿回 gets ``#2``, ``#3`` …"""
        base = _task_clock_key(task)
        taken = set(self.session.scalars(select(Clock.key).where(Clock.case_id == self.row.id,
                                                                 Clock.key.startswith(base))))
        if base not in taken:
            return base
        return next(f"{base}#{n}" for n in range(2, 1000) if f"{base}#{n}" not in taken)

    def clock(self, key: str) -> Clock | None:
        return self.session.scalar(select(Clock).where(Clock.case_id == self.row.id, Clock.key == key))

    def deadlines(self, clock: Clock, states=("armed", "paused")) -> list[Deadline]:
        return list(self.session.scalars(select(Deadline).where(Deadline.clock_id == clock.id,
                                                                Deadline.state.in_(states)).order_by(Deadline.id)))

    def due(self, clock: Clock, offset: int):
        return self.calendar.add(clock.started_on, offset + clock.extended_days + clock.suspended_days)

    # ---------------------------------------------------------------- clocks
    def start(self, kind: str, key: str, limit_days: int, plan: list[tuple[str, int, dict]], *,
              task: Task | None = None, statutory_days: int | None = None,
              started_at: datetime | None = None, detail: dict | None = None) -> Clock:
        started_at = started_at or self.at
        clock = Clock(case_id=self.row.id, key=key, kind=kind, task_id=task.id if task is not None else None,
                      started_at=started_at, started_on=china_date(started_at), limit_days=limit_days,
                      statutory_days=statutory_days, extended_days=0, suspended_days=0, state="running",
                      detail=detail or {})
        if self.row.suspended and kind in SUSPENDABLE:
            clock.state, clock.paused_on = "paused", self.today
        self.session.add(clock)
        self.session.flush()
        for deadline_kind, offset, deadline_detail in plan:
            self.arm(clock, deadline_kind, offset, deadline_detail)
        return clock

    def arm(self, clock: Clock, kind: str, offset: int, detail: dict | None = None,
            key: str | None = None) -> Deadline:
        answer = self.due(clock, offset)
        deadline = Deadline(case_id=self.row.id, clock_id=clock.id, key=key or f"{clock.key}/{kind}", kind=kind,
                            offset_days=offset, due_on=answer.value, due_at=end_of_day(answer.value),
                            provisional=answer.provisional, detail=detail or {},
                            state="armed" if clock.state == "running" else "paused", attempts=0)
        self.session.add(deadline)
        return deadline

    def limit_due(self, clock: Clock, offset: int | None = None) -> date:
        return self.due(clock, clock.limit_days if offset is None else offset).value

    def stop(self, clock: Clock, outcome: str | None = None) -> None:
        if clock.state == "stopped":
            return
        pending = self.deadlines(clock, states=("armed", "paused", "fired"))
        late = any(d.kind in LIMIT_KINDS and d.due_at <= self.at for d in pending)
        clock.state, clock.stopped_at, clock.paused_on = "stopped", self.at, None
        clock.outcome = outcome or ("late" if late else "on_time")
        for deadline in pending:
            if deadline.state != "fired":
                deadline.state = "cancelled"

    def pause(self, clock: Clock) -> None:
        if clock.state != "running":
            return
        clock.state, clock.paused_on = "paused", self.today
        for deadline in self.deadlines(clock, states=("armed",)):
            deadline.state = "paused"

    def resume(self, clock: Clock, on: date | None = None) -> int:
        """Restart a paused clock as of the day ``on`` (default today); the working days it
        stood still push its deadlines."""
        if clock.state != "paused":
            return 0
        stood = max(self.calendar.between(clock.paused_on, on or self.today).value, 0)
        clock.suspended_days += stood
        clock.state, clock.paused_on = "running", None
        self.recompute(clock)
        return stood

    def recompute(self, clock: Clock) -> list[Moved]:
        """Put every pending deadline of the clock where the calendar now says it is."""
        moved = []
        for deadline in self.deadlines(clock):
            if deadline.kind == "timer":
                change = self._recompute_timer(deadline)
                if change is not None:
                    moved.append(change)
                continue
            answer = self.due(clock, deadline.offset_days)
            if answer.value != deadline.due_on:
                moved.append(Moved(deadline.key, deadline.due_on, answer.value))
            deadline.due_on, deadline.due_at = answer.value, end_of_day(answer.value)
            deadline.provisional = answer.provisional
            deadline.state = "armed" if clock.state == "running" else "paused"
        return moved

    # ---------------------------------------------------------------- plans
    def _warned(self, limit: int, rule: WarningRule | None, final: str) -> list[tuple[str, int, dict]]:
        plan = []
        offset = (rule or self.policy.warning).offset(limit)
        if offset is not None:
            plan.append(("warning", offset, {}))
        plan.append((final, limit, {}))
        return plan

    def start_case(self) -> None:
        """A new application: the acceptance clock, or — for a process without an acceptance
        step — the decision clock at once."""
        if self._stage_tasks("acceptance"):
            self._start_acceptance(detail={})
        else:
            self.row.acceptance, self.row.accepted_at = "accepted", self.at
            self._start_decision(self.at)

    def _start_acceptance(self, detail: dict) -> Clock:
        number = len(self.clocks("acceptance", states=("running", "paused", "stopped"))) + 1
        key = "acceptance" if number == 1 else f"acceptance.{number}"
        limit = self.policy.acceptance_days
        return self.start("acceptance", key, limit, self._warned(limit, None, "deemed"), detail=detail)

    def _start_decision(self, started_at: datetime) -> Clock:
        policy = self.policy
        promised = policy.promised_days is not None
        plan = self._warned(policy.first_limit, None, "yellow" if promised else
                            ("deemed" if policy.deemed_approval else "red"))
        if promised:
            plan.append(("deemed" if policy.deemed_approval else "red", policy.statutory_days, {}))
        return self.start("decision", "decision", policy.first_limit, plan,
                          statutory_days=policy.statutory_days, started_at=started_at,
                          detail={"promised_days": policy.promised_days, "statutory_days": policy.statutory_days,
                                  "deemed_approval": policy.deemed_approval})

    def _stage_tasks(self, stage: str) -> list[str]:
        return [t.element_id for t in self.case.definition.user_tasks.values() if t.settings.stage == stage]

    # ---------------------------------------------------------------- reacting to tasks
    def sync(self, opened: list[Task], closed: list[Task]) -> None:
        """Follow what the last step of the command did to the case's tasks."""
        for task in closed:
            suspension = next((c for c in self.clocks("suspension") if c.detail.get("task") == task.spiff_id), None)
            if suspension is not None:
                self.end_suspension(suspension)
            clock = self.task_clock(task)
            if clock is not None:
                self.stop(clock, "deemed" if task.deemed else ("cancelled" if task.state == "cancelled" else None))
            if task.kind == "bpmn" and task.state == "completed":
                self._completed(task)
        for task in opened:
            if task.kind == "followup":
                self.start("followup", self._new_task_clock_key(task), 1, [("yellow", 1, {})], task=task)
                continue
            settings = self.case.definition.user_tasks[task.element_id].settings
            limit = self.policy.step_days.get(task.element_id, settings.limit_days)
            if settings.suspends:
                self._suspending_step_opened(task, settings.suspends, limit)
            elif limit:
                final = "deemed" if settings.deemed_approval else "yellow"
                self.start("step", self._new_task_clock_key(task), limit, self._warned(limit, settings.warning, final),
                           task=task)
        if self.row.state == "concluded":
            for clock in self.clocks():
                if clock.kind != "followup":
                    self.stop(clock)

    def _suspending_step_opened(self, task: Task, kind: str, days: int) -> None:
        """A 特别程序 step drawn in the process (e.g. 检验检测): the clocks stop while it is open."""
        if self.row.suspended or self.row.acceptance not in ("accepted", "deemed") or self.row.decision:
            return
        self.suspend(kind, days, f"（{task.name}）", task=task)

    def _completed(self, task: Task) -> None:
        stage = self.case.definition.user_tasks[task.element_id].settings.stage
        value = (task.form_data or {}).get(stage) if stage in ("acceptance", "decision") else None
        if stage == "acceptance":
            clock = next(iter(self.clocks("acceptance")), None)
            if value == "accept":
                counts_from = clock.started_at if clock is not None and (
                    task.deemed or clock.detail.get("after_supplement")) else self.at
                if clock is not None:
                    self.stop(clock, "deemed" if task.deemed else None)
                self.row.acceptance = "deemed" if task.deemed else "accepted"
                self.row.accepted_at = counts_from
                if self.clock("decision") is None:
                    self._start_decision(counts_from)
            elif value == "refuse":
                if clock is not None:
                    self.stop(clock)
                self.row.acceptance = "refused"
        elif stage == "decision" and value in ("grant", "deny"):
            clock = self.clock("decision")
            if clock is not None:
                self.stop(clock, "deemed" if task.deemed else None)
            self.row.decision = "deemed_grant" if task.deemed else value
            self.row.decided_at = self.at
            if value == "grant" and self.clock("issue") is None:
                limit = self.policy.issue_days
                self.start("issue", "issue", limit, self._warned(limit, None, "red"))
        elif stage == "issue":
            clock = self.clock("issue")
            if clock is not None:
                self.stop(clock)

    def check_completion(self, task: Task, data: dict[str, Any]) -> None:
        """Refuse, before the flow moves, what the clocks do not allow."""
        stage = self.case.definition.user_tasks[task.element_id].settings.stage
        if stage == "acceptance" and self.row.acceptance == "supplement" and data.get("acceptance") == "accept":
            raise Conflict("已发出一次性告知，补正材料尚未登记收到，不能受理：请先登记收到补正材料")

    # ---------------------------------------------------------------- the inbox's view
    def refresh_tasks(self, tasks: list[Task]) -> None:
        """Put on each of the case's open ``tasks`` the day its limit runs out and its worst alert,
        so that the inbox can sort and mark 100,000 open cases from one index."""
        if not tasks:
            return
        active = self.clocks()
        fired: dict[int, set[str]] = {}
        for clock_id, kind in self.session.execute(
                select(Deadline.clock_id, Deadline.kind).where(Deadline.case_id == self.row.id,
                                                               Deadline.state == "fired")):
            fired.setdefault(clock_id, set()).add(kind)
        by_task = {c.task_id: c for c in active if c.task_id is not None}
        by_kind: dict[str, Clock] = {}
        for clock in active:
            by_kind.setdefault(clock.kind, clock)
        case_clock = next((by_kind[k] for k in ("acceptance", "decision", "issue") if k in by_kind), None)
        for task in tasks:
            clock = by_task.get(task.id) or case_clock
            task.due_on = self.limit_due(clock) if clock is not None else None
            seen = set(fired.get(clock.id, set())) if clock is not None else set()
            if case_clock is not None:  # the case's own warning concerns whoever holds it now
                seen |= fired.get(case_clock.id, set())
            if self.row.card:
                seen.add(self.row.card)
            task.alert = next((a for a in ("red", "yellow", "warning") if a in seen), None)

    # ---------------------------------------------------------------- BPMN timers
    def sync_timers(self, workflow) -> None:
        """Mirror the workflow's waiting timer events into the deadline table."""
        waiting = {timer.task: timer for timer in waiting_timers(workflow)}
        for clock in self.clocks("timer"):
            if clock.detail.get("task") not in waiting:
                self.stop(clock, "cancelled")
        for spiff_id, timer in waiting.items():
            key = f"timer.{spiff_id}"
            if self.clock(key) is not None:
                continue
            fires = timer.fires
            in_workdays = "workdays(" in (timer.expression or "")
            # A working-day timer fires as its last day ends, at midnight: that day is the due day.
            due_on = china_date(fires - _ONE_SECOND) if in_workdays else china_date(fires)
            detail = {"task": spiff_id, "element": timer.element, "name": timer.name,
                      "expression": timer.expression}
            clock = self.start("timer", key, 0, [], started_at=self.at, detail=detail)
            days = self.calendar.between(clock.started_on, due_on) if in_workdays else None
            if days is not None:
                clock.limit_days = days.value
            deadline = Deadline(case_id=self.row.id, clock_id=clock.id, key=f"{key}/timer", kind="timer",
                                offset_days=days.value if days is not None else 0, due_on=due_on,
                                # SpiffWorkflow fires a timer strictly after its moment.
                                due_at=fires.replace(microsecond=0) + _ONE_SECOND,
                                provisional=bool(days and days.provisional),
                                detail={"workdays": in_workdays}, state="armed", attempts=0)
            self.session.add(deadline)

    def _recompute_timer(self, deadline: Deadline) -> Moved | None:
        if not deadline.detail.get("workdays"):
            return None
        clock = deadline.clock
        answer = self.due(clock, deadline.offset_days)
        deadline.provisional = answer.provisional
        if answer.value == deadline.due_on:
            return None
        fires = end_of_day(answer.value)
        move_timer(self.case.workflow, clock.detail["task"], fires)
        self.case.workflow_changed = True
        moved = Moved(deadline.key, deadline.due_on, answer.value)
        deadline.due_on, deadline.due_at = answer.value, fires + _ONE_SECOND
        return moved

    # ---------------------------------------------------------------- firing
    def fire(self, deadline: Deadline) -> dict[str, Any]:
        clock = deadline.clock
        deadline.state, deadline.fired_at = "fired", self.at
        record: dict[str, Any] = {"deadline": deadline.key, "kind": deadline.kind, "clock": clock.key,
                                  "due_on": deadline.due_on.isoformat()}
        if deadline.kind in ALERT_TITLES:
            record.update(self._alert(deadline, clock, deadline.kind))
        elif deadline.kind == "escalate":
            alert = deadline.detail["alert"]
            record["notified"] = self._notify(clock, deadline.detail["to"], alert, escalated=True)
        elif deadline.kind == "deemed":
            record.update(self._deemed(deadline, clock))
        elif deadline.kind == "resume":
            # The declared period is over: the clocks resume as of its last day, however
            # late the sweep comes round.
            record.update(self.end_suspension(clock, automatic=True, on=deadline.due_on))
        elif deadline.kind == "timer":
            self.stop(clock, "fired")
            self.case.advance()
            record["timer"] = clock.detail.get("element")
        else:
            raise BadInput(f"未知的期限类型 “{deadline.kind}”")
        return record

    def _alert(self, deadline: Deadline, clock: Clock, kind: str) -> dict[str, Any]:
        if kind == "red" or (kind == "yellow" and self.row.card != "red"):
            self.row.card = kind
        notified: set[str] = set()
        for level, rule in enumerate(self.policy.escalation[kind]):
            if rule.after_days == 0:
                notified.update(self._notify(clock, rule.to, kind))
            else:
                self.arm(clock, "escalate", deadline.offset_days + rule.after_days,
                         {"alert": kind, "to": rule.to, "level": level}, key=f"{deadline.key}.{level}")
        return {"notified": sorted(notified)}

    def _notify(self, clock: Clock, to: str, kind: str, escalated: bool = False) -> list[str]:
        users = alerts.recipients(self.session, self.row, clock, to)
        what = self.describe(clock, kind)
        title = f"【{'升级·' if escalated else ''}{ALERT_TITLES[kind]}】{self.row.number} {what}"
        body = f"{self.row.item.name}，申请人 {self.row.applicant}。{what}。"
        return alerts.send(self.session, users, case=self.row, kind=kind, title=title, body=body, at=self.at)

    def describe(self, clock: Clock, kind: str) -> str:
        label = {"acceptance": "受理时限", "decision": "承诺时限" if clock.detail.get("promised_days") is not None else "法定时限",
                 "issue": "发证时限", "followup": "补充意见时限"}.get(clock.kind, "")
        if clock.kind == "step" and clock.task is not None:
            label = f"环节“{clock.task.name}”时限"
        if clock.kind == "decision" and kind == "red":
            answer = self.due(clock, clock.statutory_days)
            label = "法定时限"
        else:
            answer = self.due(clock, clock.limit_days)
        due = f"{answer.value:%Y-%m-%d}" + ("（暂定）" if answer.provisional else "")
        if kind == "warning":
            return f"{label}将于 {due} 届满"
        return f"已超过{label}（{due}）"

    # ---------------------------------------------------------------- supplements, suspensions, extensions
    def notice(self, kind: str, body: str, detail: dict[str, Any]) -> Notice:
        notice = Notice(case_id=self.row.id, kind=kind, body=body, detail=detail, created_at=self.at,
                        created_by=self.ctx.actor.name)
        self.session.add(notice)
        return notice

    def request_supplement(self, materials: list[str], note: str) -> dict[str, Any]:
        clock = next(iter(self.clocks("acceptance")), None)
        if clock is not None:
            self.stop(clock)
        self.row.acceptance = "supplement"
        lines = "\n".join(f"{i}. {m}" for i, m in enumerate(materials, 1))
        body = f"您的申请材料不齐全，请一次性补正以下材料：\n{lines}" + (f"\n{note}" if note else "")
        self.notice("supplement", body, {"materials": materials})
        return {"materials": materials, "note": note, "in_time": clock is None or clock.outcome == "on_time"}

    def receive_supplement(self) -> dict[str, Any]:
        self.row.acceptance = None
        clock = self._start_acceptance(detail={"after_supplement": True})
        return {"acceptance_due": self.limit_due(clock).isoformat()}

    def suspend(self, kind: str, days: int, reason: str, task: Task | None = None) -> dict[str, Any]:
        for clock in self.clocks():
            if clock.kind in SUSPENDABLE:
                self.pause(clock)
        self.row.suspended = True
        number = len(self.clocks("suspension", states=("running", "paused", "stopped"))) + 1
        detail = {"kind": kind, "reason": reason, **({"task": task.spiff_id} if task is not None else {})}
        clock = self.start("suspension", f"suspension.{number}", days, [("resume", days, {})], detail=detail)
        ends = self.limit_due(clock)
        name = SUSPENSION_KINDS[kind]
        self.notice("suspension", f"因{name}，办理时限自 {self.today:%Y-%m-%d} 起中止计算，"
                                  f"所需时间约 {days} 个工作日（预计至 {ends:%Y-%m-%d}）。{reason}",
                    {"kind": kind, "days": days, "until": ends.isoformat()})
        return {"kind": kind, "days": days, "until": ends.isoformat(), "reason": reason}

    def end_suspension(self, clock: Clock | None = None, automatic: bool = False,
                       on: date | None = None) -> dict[str, Any]:
        clock = clock or next(iter(self.clocks("suspension")), None)
        if clock is None:
            raise Conflict("办件没有正在进行的特别程序")
        self.stop(clock, "ended")
        stood = {}
        for paused in self.clocks(states=("paused",)):
            if paused.kind in SUSPENDABLE:
                stood[paused.key] = self.resume(paused, on)
        self.row.suspended = False
        return {"suspension": clock.key, "automatic": automatic, "stood_days": stood}

    def extend(self, days: int, reason: str) -> dict[str, Any]:
        clock = self.clock("decision")
        if clock is None or clock.state == "stopped":
            raise Conflict("办件的办理时限没有在计算中，不能延期")
        if clock.extended_days:
            raise Conflict(f"办件已延期 {clock.extended_days} 个工作日；延期只能一次")
        statutory = self.limit_due(clock, clock.statutory_days)
        if self.today > statutory:
            raise Conflict(f"法定时限已于 {statutory:%Y-%m-%d} 届满，不能再延期")
        clock.extended_days = days
        moved = self.recompute(clock)
        new_due = self.limit_due(clock, clock.statutory_days)
        self.notice("extension", f"因{reason}，经本机关负责人批准，办理期限延长 {days} 个工作日，"
                                 f"至 {new_due:%Y-%m-%d}。", {"days": days, "until": new_due.isoformat()})
        return {"days": days, "reason": reason, "until": new_due.isoformat(),
                "moved": [m.to_dict() for m in moved]}

    def recompute_all(self) -> tuple[list[Moved], list[str]]:
        """After a calendar change: every pending deadline recomputed. Returns the moved ones
        and the keys of those no longer provisional."""
        moved, confirmed = [], []
        for clock in self.clocks():
            before = {d.key: d.provisional for d in self.deadlines(clock)}
            moved.extend(self.recompute(clock))
            confirmed.extend(d.key for d in self.deadlines(clock) if before.get(d.key) and not d.provisional)
        return moved, confirmed


def _task_clock_key(task: Task) -> str:
    return f"{'followup' if task.kind == 'followup' else 'step'}.{task.spiff_id}"
