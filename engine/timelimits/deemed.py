"""Deemed decisions: what happens when the authority stays silent until a limit.

* deemed acceptance — the acceptance step is completed by the system, counted from the
  day the application (or the complete supplement) arrived;
* a step's 超时默许 — the step is completed with its declared agreed values, its
  department is told and owes a follow-up opinion within 1 working day;
* an item's 超期默许 — the steps up to the decision are concluded as agreed and the
  decision as a grant; where a step declares no agreed values, it stops there
  (``outcome: blocked``) and ``firing`` gives the case a red card instead.

Each works on the locked case inside the ``FireDeadline`` command.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import alerts
from engine.clock import china_date
from engine.errors import BadInput
from engine.runtime.spiff import next_id, submit_task
from engine.store.enums import TaskKind, TaskState
from engine.store.models import Clock, Task
from engine.timelimits import notices
from engine.timelimits.case_time import CaseTime


def deemed(t: CaseTime, clock: Clock) -> dict[str, Any]:
    if clock.kind == "acceptance":
        return deemed_acceptance(t, clock)
    if clock.kind == "step":
        return deemed_step(t, clock)
    if clock.kind == "decision":
        return deemed_decision(t)
    raise BadInput(f"时限 {clock.key} 不能超时默许")


def ready_bpmn_tasks(t: CaseTime) -> list[Task]:
    return list(t.session.scalars(select(Task).where(Task.case_id == t.row.id, Task.state == TaskState.READY,
                                                     Task.kind == TaskKind.BPMN).order_by(Task.id)))


def ready_stage_task(t: CaseTime, stage: str) -> Task | None:
    for task in ready_bpmn_tasks(t):
        if t.case.definition.user_tasks[task.element_id].settings.stage == stage:
            return task
    return None


def complete_deemed(t: CaseTime, task: Task, data: dict[str, Any], opinion: str) -> None:
    task.state, task.completed_at, task.completed_by_id = "completed", t.at, None
    task.opinion, task.form_data, task.deemed = opinion, dict(data), True
    t.case.closed.append(task)
    t.case.advance(lambda: submit_task(t.case.workflow, task.spiff_id, data))
    t.case.project()


def deemed_acceptance(t: CaseTime, clock: Clock) -> dict[str, Any]:
    task = ready_stage_task(t, "acceptance")
    if task is None:
        return {"outcome": "no_task"}
    arrived = china_date(clock.started_at)
    complete_deemed(t, task, {"acceptance": "accept"},
                    f"受理期限届满未作处理，依法自收到申请之日（{arrived:%Y-%m-%d}）起视为受理")
    notices.notice(t, "deemed_acceptance", notices.deemed_acceptance_text(arrived), {"from": arrived.isoformat()})
    return {"outcome": "deemed_acceptance", "accepted_from": arrived.isoformat()}


def deemed_step(t: CaseTime, clock: Clock) -> dict[str, Any]:
    task = clock.task
    if task is None or task.state != "ready":
        return {"outcome": "no_task"}
    info = t.case.definition.user_tasks[task.element_id]
    settings = info.settings
    if info.rules.at_limit == "refuse":  # the step's settings: 到期视为不同意
        data = {REFUSING[settings.stage][0]: REFUSING[settings.stage][1]}
        complete_deemed(t, task, data, f"{task.department.name} 在时限内未办理，按环节设置视为不同意")
        return {"outcome": "deemed_refusal", "task": task.spiff_id, "department": task.department.code, "data": data,
                "notified": _notify_default(t, clock, task, agreed=False)}
    data = settings.deemed_approval or (dict([AGREEING[settings.stage]]) if settings.stage in AGREEING else {})
    complete_deemed(t, task, data, f"{task.department.name} 在时限内未答复，按超时默许视为同意")
    followup = Task(case_id=t.row.id, spiff_id=str(next_id()), element_id=task.element_id,
                    name=f"补充意见：{task.name}", role=task.role, department_id=task.department_id,
                    state="ready", created_at=t.at, kind="followup", followup_of_id=task.id)
    t.session.add(followup)
    t.session.flush()
    t.case.opened.append(followup)
    notified = _notify_default(t, clock, task)
    return {"outcome": "deemed_approval", "task": task.spiff_id, "department": task.department.code,
            "data": data if info.rules.at_limit == "agree" else settings.deemed_approval,
            "followup": followup.spiff_id, "notified": notified}


#: what a step at its limit is taken to have answered, by its stage (``at_limit`` agree / refuse)
AGREEING = {"acceptance": ("acceptance", "accept"), "decision": ("decision", "grant")}
REFUSING = {"acceptance": ("acceptance", "refuse"), "decision": ("decision", "deny")}


def _notify_default(t: CaseTime, clock: Clock, task: Task, agreed: bool = True) -> list[str]:
    users = alerts.recipients(t.session, t.row, clock, "handler") + alerts.recipients(t.session, t.row, clock, "head")
    if not agreed:
        title = f"【到期视为不同意】{t.row.number} 环节“{task.name}”已视为不同意"
        body = f"{task.department.name} 未在时限内办理，已按环节设置视为不同意。"
        return alerts.send(t.session, list({u.id: u for u in users}.values()), case=t.row,
                           kind="deemed", title=title, body=body, at=t.at)
    title = f"【超时默许】{t.row.number} 环节“{task.name}”已视为同意"
    body = f"{task.department.name} 未在时限内答复，已按超时默许处理。请于 1 个工作日内补充意见。"
    return alerts.send(t.session, list({u.id: u for u in users}.values()), case=t.row,
                       kind="deemed", title=title, body=body, at=t.at)


def deemed_decision(t: CaseTime) -> dict[str, Any]:
    """超期默许: conclude every step up to the decision as agreed, the decision as a grant."""
    concluded = []
    for _ in range(100):  # bounded: a loop in the process cannot spin here forever
        if t.row.decision is not None or t.row.state != "running":
            break
        step = None
        for task in ready_bpmn_tasks(t):
            settings = t.case.definition.user_tasks[task.element_id].settings
            data = {"decision": "grant"} if settings.stage == "decision" else settings.deemed_approval
            if data is not None:
                step = (task, data)
                break
        if step is None:
            break
        task, data = step
        complete_deemed(t, task, data, "法定期限届满未作决定，按超期默许视为准予")
        concluded.append(task.element_id)
    if t.row.decision is None:
        return {"outcome": "blocked", "concluded": concluded, "waiting": [x.name for x in ready_bpmn_tasks(t)]}
    notices.notice(t, "deemed_approval", notices.DEEMED_APPROVAL_TEXT, {})
    return {"outcome": "deemed_approval", "concluded": concluded}
