"""Firing a due deadline: warnings and cards, their escalation and texts, deemed decisions,
the end of a suspended period and BPMN timers. ``FireDeadline`` lands in ``fire``."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine import alerts
from engine.errors import BadInput
from engine.store.models import Clock, Deadline, User, UserRole
from engine.timelimits import clocks, deemed, timers
from engine.timelimits.case_time import CaseTime

ALERT_TITLES = {"warning": "预警", "yellow": "黄牌", "red": "红牌"}
#: After this many failed attempts a deadline is marked failed and the administrators are told.
MAX_ATTEMPTS = 8


def fire(t: CaseTime, deadline: Deadline) -> dict[str, Any]:
    clock = t.clock_of(deadline)
    deadline.state, deadline.fired_at = "fired", t.at
    record: dict[str, Any] = {"deadline": deadline.key, "kind": deadline.kind, "clock": clock.key,
                              "due_on": deadline.due_on.isoformat()}
    if deadline.kind in ALERT_TITLES:
        record.update(alert(t, deadline, clock, deadline.kind))
    elif deadline.kind == "escalate" and "remind" in deadline.detail:  # the step's settings: remind N times
        record["notified"] = remind(t, clock, deadline.detail)
    elif deadline.kind == "escalate":
        record["notified"] = notify(t, clock, deadline.detail["to"], deadline.detail["alert"], escalated=True)
    elif deadline.kind == "deemed":
        outcome = deemed.deemed(t, clock)
        record.update(outcome)
        if outcome["outcome"] == "blocked":  # no deemed approval possible: the statutory limit is simply passed
            record.update(alert(t, deadline, clock, "red"))
    elif deadline.kind == "resume":
        # The declared period is over: the clocks resume as of its last day, however
        # late the sweep comes round.
        record.update(clocks.end_suspension(t, clock, automatic=True, on=deadline.due_on))
    elif deadline.kind == "timer":
        record.update(timers.fire(t, clock))
    else:
        raise BadInput(f"未知的期限类型 “{deadline.kind}”")
    return record


def alert(t: CaseTime, deadline: Deadline, clock: Clock, kind: str) -> dict[str, Any]:
    """Show the card on the case and notify each escalation level now, or arm it for later."""
    if kind == "red" or (kind == "yellow" and t.row.card != "red"):
        t.row.card = kind
    notified: set[str] = set()
    for level, rule in enumerate(t.policy.escalation[kind]):
        if rule.after_days == 0:
            notified.update(notify(t, clock, rule.to, kind))
        else:
            clocks.arm(t, clock, "escalate", deadline.offset_days + rule.after_days,
                       {"alert": kind, "to": rule.to, "level": level}, key=f"{deadline.key}.{level}")
    return {"notified": sorted(notified)}


def notify(t: CaseTime, clock: Clock, to: str, kind: str, escalated: bool = False) -> list[str]:
    users = alerts.recipients(t.session, t.row, clock, to, open_tasks=t.case.ready_rows())
    what = describe(t, clock, kind)
    title = f"【{'升级·' if escalated else ''}{ALERT_TITLES[kind]}】{t.row.number} {what}"
    body = f"{t.row.item.name}，申请人 {t.row.applicant}。{what}。"
    return alerts.send(t.session, users, case=t.row, kind=kind, title=title, body=body, at=t.at)


def remind(t: CaseTime, clock: Clock, detail: dict[str, Any]) -> list[str]:
    """One of the reminders a step's settings ask for (``at_limit=remind``): to its handlers."""
    users = alerts.recipients(t.session, t.row, clock, "handler", open_tasks=t.case.ready_rows())
    what = describe(t, clock, "yellow")
    title = f"【第 {detail['remind']} 次提醒（共 {detail['of']} 次）】{t.row.number} {what}"
    return alerts.send(t.session, users, case=t.row, kind="yellow", title=title,
                       body=f"{t.row.item.name}，申请人 {t.row.applicant}。{what}，请尽快办理。", at=t.at)


def describe(t: CaseTime, clock: Clock, kind: str) -> str:
    label = {"acceptance": "受理时限",
             "decision": "承诺时限" if clock.detail.get("promised_days") is not None else "法定时限",
             "issue": "发证时限", "followup": "补充意见时限", "preliminary": "先行审查时限"}.get(clock.kind, "")
    if clock.kind == "step" and clock.task is not None:
        label = f"环节“{clock.task.name}”时限"
    if clock.kind == "decision" and kind == "red":
        answer = t.due(clock, clock.statutory_days)
        label = "法定时限"
    else:
        answer = t.due(clock, clock.limit_days)
    due = f"{answer.value:%Y-%m-%d}" + ("（暂定）" if answer.provisional else "")
    if kind == "warning":
        return f"{label}将于 {due} 届满"
    return f"已超过{label}（{due}）"


# ---------------------------------------------------------------- a firing that failed

def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes, at most six hours."""
    return timedelta(minutes=min(2 ** (attempts - 1), 360))


def record_failure(t: CaseTime, deadline: Deadline, error: str) -> dict[str, Any]:
    """Count a failed attempt: retry later, or after ``MAX_ATTEMPTS`` give up and tell the
    administrators (管理员), who must repair the case by hand."""
    error = error[:2000]
    deadline.attempts += 1
    deadline.last_error = error
    record: dict[str, Any] = {"deadline": deadline.key, "kind": deadline.kind, "attempt": deadline.attempts,
                              "error": error}
    if deadline.attempts >= MAX_ATTEMPTS:
        deadline.state = "failed"
        admins = list(t.session.scalars(select(User).join(UserRole).where(UserRole.role == "admin",
                                                                          User.active.is_(True))))
        record["failed"] = True
        record["notified"] = alerts.send(
            t.session, admins, case=t.row, kind="timer_failed",
            title=f"【定时失败】{t.row.number} 期限 {deadline.key} 多次触发失败",
            body=f"已重试 {deadline.attempts} 次，最后一次错误：{error}", at=t.at)
    else:
        deadline.due_at = t.at + backoff(deadline.attempts)
        record["retry_at"] = deadline.due_at.isoformat()
    return record
