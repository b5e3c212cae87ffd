"""Which limits and warnings a case and each of its steps get from the item's time policy
and the step's settings, and starting the clocks that carry them."""
from __future__ import annotations

from datetime import datetime

from engine.store.models import Clock, Task
from engine.timelimits import clocks
from engine.timelimits.case_time import CaseTime
from engine.timelimits.clocks import Plan
from engine.timelimits.policy import StepSettings, TimePolicy, WarningRule


def warned(policy: TimePolicy, limit: int, rule: WarningRule | None, final: str) -> Plan:
    """A warning before ``limit`` (by the step's rule, else the item's) and ``final`` at it."""
    plan: Plan = []
    offset = (rule or policy.warning).offset(limit)
    if offset is not None:
        plan.append(("warning", offset, {}))
    plan.append((final, limit, {}))
    return plan


def decision_plan(policy: TimePolicy) -> Plan:
    """Warning and yellow card at the promised limit (if any), red card — or deemed approval —
    at the statutory one. A statutory limit of 0 (当场办结) falls due the same day."""
    promised = policy.promised_days is not None
    statutory_final = "deemed" if policy.deemed_approval else "red"
    plan = warned(policy, policy.first_limit, None, "yellow" if promised else statutory_final)
    if promised:
        plan.append((statutory_final, policy.statutory_days, {}))
    return plan


def start_case(t: CaseTime) -> None:
    """A new application: the acceptance clock, or — for a process without an acceptance
    step — the decision clock at once."""
    if t.stage_tasks("acceptance"):
        start_acceptance(t, detail={})
    else:
        t.row.acceptance, t.row.accepted_at = "accepted", t.at
        start_decision(t, t.at)


def start_acceptance(t: CaseTime, detail: dict) -> Clock:
    number = len(t.clocks("acceptance", states=("running", "paused", "stopped"))) + 1
    key = "acceptance" if number == 1 else f"acceptance.{number}"
    limit = t.policy.acceptance_days
    return clocks.start(t, "acceptance", key, limit, warned(t.policy, limit, None, "deemed"), detail=detail)


def start_decision(t: CaseTime, started_at: datetime) -> Clock:
    """The decision clock; for a 上报件 also the lower level's own clock (先行审查, art. 43)."""
    policy = t.policy
    clock = clocks.start(t, "decision", "decision", policy.first_limit, decision_plan(policy),
                         statutory_days=policy.statutory_days, started_at=started_at,
                         detail={"promised_days": policy.promised_days, "statutory_days": policy.statutory_days,
                                 "deemed_approval": policy.deemed_approval})
    if policy.preliminary_days is not None and t.clock("preliminary") is None:
        limit = policy.preliminary_days
        clocks.start(t, "preliminary", "preliminary", limit, warned(policy, limit, None, "red"),
                     statutory_days=limit, started_at=started_at,
                     detail={"department": t.row.item.department_id})
    return clock


def start_issue(t: CaseTime) -> Clock:
    limit = t.policy.issue_days
    return clocks.start(t, "issue", "issue", limit, warned(t.policy, limit, None, "red"))


def start_step(t: CaseTime, task: Task, settings: StepSettings, limit: int, key: str) -> Clock:
    """The step's clock: a warning, and at the limit a yellow card or 超时默许. The step's
    settings (``at_limit``) may say instead: agree or refuse at the limit (deemed), or remind the
    handler up to N times — the yellow card at the limit, then once a working day."""
    rules = t.case.definition.user_tasks[task.element_id].rules
    final = "deemed" if settings.deemed_approval or rules.at_limit in ("agree", "refuse") else "yellow"
    plan = warned(t.policy, limit, settings.warning, final)
    if rules.at_limit == "remind":
        times = rules.remind_times or 1
        plan += [("escalate", limit + n, {"alert": "yellow", "to": "handler", "level": n, "remind": n + 1,
                                          "of": times}) for n in range(1, times)]
    clock = clocks.start(t, "step", key, limit, [p for p in plan if p[0] != "escalate"], task=task)
    for kind, offset, detail in plan:
        if kind == "escalate":
            clocks.arm(t, clock, kind, offset, detail, key=f"{key}/remind.{detail['remind']}")
    return clock


def start_followup(t: CaseTime, task: Task, key: str) -> Clock:
    return clocks.start(t, "followup", key, 1, [("yellow", 1, {})], task=task)


def step_limit(t: CaseTime, task: Task) -> int | None:
    """The catalogue's limit for the step, else the diagram's ``limit_days``."""
    settings = t.case.definition.user_tasks[task.element_id].settings
    return t.policy.step_days.get(task.element_id, settings.limit_days)
