"""What happens to the clocks when the command opens and closes tasks (stage reactions):
a step's clock starts and stops, a 特别程序 step suspends the case, acceptance starts the
decision clock, the decision stops it and starts the licence-issue clock."""
from __future__ import annotations

from typing import Any

from engine.errors import Conflict
from engine.store.models import Task
from engine.timelimits import clocks, planning
from engine.timelimits.case_time import CaseTime


def _task_clock_key(task: Task) -> str:
    return f"{'followup' if task.kind == 'followup' else 'step'}.{task.spiff_id}"


def new_task_clock_key(t: CaseTime, task: Task) -> str:
    """``step.<task id>``; a step reopened by 退回 or 拿回 gets ``#2``, ``#3`` …"""
    base = _task_clock_key(task)
    taken = {key for key in t.clock_keys() if key.startswith(base)}
    if base not in taken:
        return base
    return next(f"{base}#{n}" for n in range(2, 1000) if f"{base}#{n}" not in taken)


def sync(t: CaseTime, opened: list[Task], closed: list[Task]) -> None:
    """Follow what the last step of the command did to the case's tasks."""
    for task in closed:
        suspension = next((c for c in t.clocks("suspension") if c.detail.get("task") == task.spiff_id), None)
        if suspension is not None:
            clocks.end_suspension(t, suspension)
        clock = t.task_clock(task)
        if clock is not None:
            clocks.stop(t, clock, "deemed" if task.deemed else ("cancelled" if task.state == "cancelled" else None))
        if task.kind == "bpmn" and task.state == "completed":
            _completed(t, task)
    for task in opened:
        if task.kind == "followup":
            planning.start_followup(t, task, new_task_clock_key(t, task))
            continue
        _reported_up(t, task)
        settings = t.case.definition.user_tasks[task.element_id].settings
        limit = planning.step_limit(t, task)
        if settings.suspends:
            _suspending_step_opened(t, task, settings.suspends, limit)
        elif limit:
            planning.start_step(t, task, settings, limit, new_task_clock_key(t, task))
    if t.row.state == "concluded":
        for clock in t.clocks():
            if clock.kind != "followup":
                clocks.stop(t, clock)


def _reported_up(t: CaseTime, task: Task) -> None:
    """上报件: the lower level's own clock stops when the case reaches a step of another
    department — the preliminary opinion and the materials have been reported up."""
    clock = t.clock("preliminary")
    if clock is not None and clock.state != "stopped" and task.department_id != clock.detail.get("department"):
        clocks.stop(t, clock)


def _suspending_step_opened(t: CaseTime, task: Task, kind: str, days: int) -> None:
    """A 特别程序 step drawn in the process (e.g. 检验检测): the clocks stop while it is open."""
    if t.row.suspended or t.row.acceptance not in ("accepted", "deemed") or t.row.decision:
        return
    clocks.suspend(t, kind, days, f"（{task.name}）", task=task)


def _completed(t: CaseTime, task: Task) -> None:
    stage = t.case.definition.user_tasks[task.element_id].settings.stage
    value = (task.form_data or {}).get(stage) if stage in ("acceptance", "decision") else None
    row = t.row
    if stage == "acceptance":
        clock = next(iter(t.clocks("acceptance")), None)
        if value == "accept":
            counts_from = clock.started_at if clock is not None and (
                task.deemed or clock.detail.get("after_supplement")) else t.at
            if clock is not None:
                clocks.stop(t, clock, "deemed" if task.deemed else None)
            row.acceptance = "deemed" if task.deemed else "accepted"
            row.accepted_at = counts_from
            if t.clock("decision") is None:
                planning.start_decision(t, counts_from)
        elif value == "refuse":
            if clock is not None:
                clocks.stop(t, clock)
            row.acceptance = "refused"
    elif stage == "decision" and value in ("grant", "deny"):
        for key in ("decision", "preliminary"):
            clock = t.clock(key)
            if clock is not None:
                clocks.stop(t, clock, "deemed" if task.deemed and key == "decision" else None)
        row.decision = "deemed_grant" if task.deemed and value == "grant" else value  # a deemed refusal: deny
        row.decided_at = t.at
        if value == "grant" and t.clock("issue") is None:
            planning.start_issue(t)
    elif stage == "issue":
        clock = t.clock("issue")
        if clock is not None:
            clocks.stop(t, clock)


def check_completion(t: CaseTime, task: Task, data: dict[str, Any]) -> None:
    """Refuse, before the flow moves, what the clocks do not allow."""
    stage = t.case.definition.user_tasks[task.element_id].settings.stage
    if stage == "acceptance" and t.row.acceptance == "supplement" and data.get("acceptance") == "accept":
        raise Conflict("已发出一次性告知，补正材料尚未登记收到，不能受理：请先登记收到补正材料")
