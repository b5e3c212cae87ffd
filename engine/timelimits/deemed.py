"""Deemed decisions: what happens when the authority stays silent until a limit.

* deemed acceptance — the acceptance step is completed by the system, counted from the
  day the application (or the complete supplement) arrived;
* a step's 超时默许 — the step is completed with its declared agreed values, its
  department is told and owes a follow-up opinion within 1 working day;
* an item's 超期默许 — the steps up to the decision are concluded as agreed and the
  decision as a grant; where a step declares no agreed values, it stops and the case
  gets a red card instead.

A mixin of ``Timekeeper``: it works on the same locked case, inside the same command.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import alerts
from engine.clock import china_date
from engine.errors import BadInput
from engine.store.models import Clock, Deadline, Task
from engine.runtime.spiff import next_id, submit_task


class DeemedDecisions:
    def _deemed(self, deadline: Deadline, clock: Clock) -> dict[str, Any]:
        if clock.kind == "acceptance":
            return self._deemed_acceptance(clock)
        if clock.kind == "step":
            return self._deemed_step(clock)
        if clock.kind == "decision":
            return self._deemed_decision(deadline, clock)
        raise BadInput(f"时限 {clock.key} 不能超时默许")

    def _ready_stage_task(self, stage: str) -> Task | None:
        for task in self._ready_bpmn_tasks():
            if self.case.definition.user_tasks[task.element_id].settings.stage == stage:
                return task
        return None

    def _ready_bpmn_tasks(self) -> list[Task]:
        return list(self.session.scalars(select(Task).where(Task.case_id == self.row.id, Task.state == "ready",
                                                            Task.kind == "bpmn").order_by(Task.id)))

    def complete_deemed(self, task: Task, data: dict[str, Any], opinion: str) -> None:
        task.state, task.completed_at, task.completed_by_id = "completed", self.at, None
        task.opinion, task.form_data, task.deemed = opinion, dict(data), True
        self.case.closed.append(task)

        self.case.advance(lambda: submit_task(self.case.workflow, task.spiff_id, data))
        self.case.project()

    def _deemed_acceptance(self, clock: Clock) -> dict[str, Any]:
        task = self._ready_stage_task("acceptance")
        if task is None:
            return {"outcome": "no_task"}
        arrived = china_date(clock.started_at)
        self.complete_deemed(task, {"acceptance": "accept"},
                             f"受理期限届满未作处理，依法自收到申请之日（{arrived:%Y-%m-%d}）起视为受理")
        self.notice("deemed_acceptance", f"您的申请已于 {arrived:%Y-%m-%d} 视为受理。", {"from": arrived.isoformat()})
        return {"outcome": "deemed_acceptance", "accepted_from": arrived.isoformat()}

    def _deemed_step(self, clock: Clock) -> dict[str, Any]:
        task = clock.task
        if task is None or task.state != "ready":
            return {"outcome": "no_task"}
        settings = self.case.definition.user_tasks[task.element_id].settings
        self.complete_deemed(task, settings.deemed_approval or {},
                             f"{task.department.name} 在时限内未答复，按超时默许视为同意")
        followup = Task(case_id=self.row.id, spiff_id=str(next_id()), element_id=task.element_id,
                        name=f"补充意见：{task.name}", role=task.role, department_id=task.department_id,
                        state="ready", created_at=self.at, kind="followup", followup_of_id=task.id)
        self.session.add(followup)
        self.session.flush()
        self.case.opened.append(followup)
        notified = self._notify_default(clock, task)
        return {"outcome": "deemed_approval", "task": task.spiff_id, "department": task.department.code,
                "data": settings.deemed_approval, "followup": followup.spiff_id, "notified": notified}

    def _notify_default(self, clock: Clock, task: Task) -> list[str]:
        users = alerts.recipients(self.session, self.row, clock, "handler") + \
            alerts.recipients(self.session, self.row, clock, "head")
        title = f"【超时默许】{self.row.number} 环节“{task.name}”已视为同意"
        body = f"{task.department.name} 未在时限内答复，已按超时默许处理。请于 1 个工作日内补充意见。"
        return alerts.send(self.session, list({u.id: u for u in users}.values()), case=self.row,
                           kind="deemed", title=title, body=body, at=self.at)

    def _deemed_decision(self, deadline: Deadline, clock: Clock) -> dict[str, Any]:
        """超期默许: conclude every step up to the decision as agreed, the decision as a grant."""
        concluded = []
        for _ in range(100):  # bounded: a loop in the process cannot spin here forever
            if self.row.decision is not None or self.row.state != "running":
                break
            step = None
            for task in self._ready_bpmn_tasks():
                settings = self.case.definition.user_tasks[task.element_id].settings
                data = {"decision": "grant"} if settings.stage == "decision" else settings.deemed_approval
                if data is not None:
                    step = (task, data)
                    break
            if step is None:
                break
            task, data = step
            self.complete_deemed(task, data, "法定期限届满未作决定，按超期默许视为准予")
            concluded.append(task.element_id)
        if self.row.decision is None:
            waiting = [t.name for t in self._ready_bpmn_tasks()]
            record = self._alert(deadline, clock, "red")
            return {"outcome": "blocked", "concluded": concluded, "waiting": waiting, **record}
        self.notice("deemed_approval", "法定期限内未作出决定，依规定视为准予许可。", {})
        return {"outcome": "deemed_approval", "concluded": concluded}
