"""What the case page shows about administrators' operations (运行管理): why a case stands still or
ended (for everyone who reads it), and the 管理操作 panel (for administrators only): which
operations apply to the case as it is, the steps it can move back to or past, and the fields
that can be corrected."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.clock import CHINA_TZ
from engine.operations import _when
from engine.runtime.definitions import ProcessDefinition
from engine.store.enums import CaseState, TaskKind, TaskState
from engine.store.models import Case, HistoryEntry, Item, Task
from engine.people import role_holders
from engine.commands import COMMANDS
from engine.people import display_names
from engine.read.views import hold_notice
from engine.authorization import Subject

ENDING = ("terminate_case", "void_case", "withdraw_application")


def case_status(session: Session, case: Case) -> dict[str, str]:
    """The banner of a suspended, terminated or voided case: what, who, when, why."""
    if case.hold:
        return {"kind": "held", "text": hold_notice(session, case)}
    if case.state in (CaseState.TERMINATED, CaseState.VOIDED):
        entry = session.scalar(select(HistoryEntry).where(HistoryEntry.case_id == case.id,
                                                          HistoryEntry.command.in_(ENDING))
                               .order_by(HistoryEntry.seq.desc()).limit(1))
        if entry is not None and entry.command == "withdraw_application":
            reason = (entry.inputs or {}).get("reason", "")
            return {"kind": "ended", "text": f"本办件已终止：申请人 {case.applicant} 于 "
                                             f"{entry.at.astimezone(CHINA_TZ):%Y-%m-%d %H:%M} 撤回申请"
                                             + (f"，理由：{reason}" if reason else "")}
        if entry is not None:
            who = display_names(session, {entry.actor}).get(entry.actor, entry.actor)
            return {"kind": "ended", "text": f"本办件{CaseState.label_of(case.state)}：管理员 {who} 于 "
                                             f"{entry.at.astimezone(CHINA_TZ):%Y-%m-%d %H:%M}"
                                             f"{'终止' if case.state == CaseState.TERMINATED else '作废'}，"
                                             f"理由：{(entry.inputs or {}).get('reason', '')}"}
    return {}


def _options(field) -> str:
    return "填选项名称：" + " / ".join(n for _, n in field.options)


def admin_panel(session: Session, actor: Actor, case: Case, definition: ProcessDefinition) -> dict[str, Any] | None:
    """The 管理操作 panel, or None for anyone the operations' policy refuses."""
    if not COMMANDS["suspend_case"].policy.allows(session, actor, Subject(case, definition)):
        return None  # the policy alone: an ended case still shows the panel, saying there is nothing to do
    running = case.state == CaseState.RUNNING
    tasks = list(session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.created_at, Task.id)))
    ready = [t for t in tasks if t.state == TaskState.READY and t.kind == TaskKind.BPMN]
    done: dict[str, str] = {}
    for t in tasks:
        if t.state == TaskState.COMPLETED and t.kind == TaskKind.BPMN and t.element_id not in {r.element_id for r in ready}:
            done.setdefault(t.element_id, t.name)
    fields = case.started_guide.get("application", [])
    data_fields, seen = [], set()
    for info in definition.user_tasks.values():
        for f in info.form:
            if f.id not in seen:
                seen.add(f.id)
                data_fields.append({"id": f.id, "label": f"{f.label}（{info.name}）",
                                    "hint": _options(f) if f.options else {"long": "整数", "boolean": "是 / 否",
                                                                           "date": "日期，如 2026-03-02"}.get(f.type, "文字")})
    return {
        "running": running, "held": bool(case.hold),
        "can_suspend": running and not case.hold, "can_resume": running and bool(case.hold),
        "can_end": running,
        "rewind_to": [{"id": e, "name": n} for e, n in done.items()] if running and not case.hold else [],
        "skip": [{"id": t.id, "name": t.name} for t in ready] if running and not case.hold else [],
        "application": [{"name": f["name"], "label": f.get("label", f["name"]),
                         "value": (case.application or {}).get(f["name"], ""), "type": f.get("type", "string")}
                        for f in fields] if running and case.application is not None else [],
        "data_fields": data_fields if running else [],
        "reassign": _reassignable(session, ready) if running and not case.hold else [],
    }


def _reassignable(session: Session, ready: list[Task]) -> list[dict[str, Any]]:
    """改派 on its own (not only when a person is deactivated): each open step in someone's hands,
    with the other active holders of its role in its department, by name."""
    out = []
    for t in ready:
        if t.assignee is None or not t.role or t.department_id is None:
            continue
        others = [(u.username, u.display_name) for u in role_holders(session, t.role, t.department_id)
                  if u.id != t.assignee_id]
        out.append({"id": t.id, "name": t.name, "holder": t.assignee.username, "holder_name": t.assignee.display_name,
                    "to": others, "shared": t.delegated_by_id is None})
    return out


def items_on_hold(session: Session) -> list[dict[str, Any]]:
    """Every item with whether it takes new cases (暂停受理: who, when, why)."""
    out = []
    for item in session.scalars(select(Item).order_by(Item.code)):
        hold = item.hold or {}
        out.append({"code": item.code, "name": item.name, "held": bool(hold), "reason": hold.get("reason", ""),
                    "by": hold.get("by_name", hold.get("by", "")), "at": _when(hold["at"]) if hold else ""})
    return out
