"""Read side: what the CLI, the web pages and (later) the JSON API show.

The dictionaries built here are the documented JSON shapes (docs/cli.md); change
them only by adding keys.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from .actors import Actor
from .clock import CHINA_TZ
from .errors import NotFound
from .models import Case, HistoryEntry, Item, ProcessVersion, Task, User
from .roles import role_name


def iso(value: datetime | None) -> str | None:
    return value.astimezone(CHINA_TZ).isoformat() if value is not None else None


def task_dict(task: Task) -> dict[str, Any]:
    case = task.case
    return {
        "id": task.id, "task": task.spiff_id, "case": case.number, "item": case.item.code,
        "item_name": case.item.name, "applicant": case.applicant, "element": task.element_id,
        "name": task.name, "role": task.role, "role_name": role_name(task.role),
        "department": task.department.code, "department_name": task.department.name,
        "assignee": task.assignee.username if task.assignee else None, "state": task.state,
        "created_at": iso(task.created_at), "completed_at": iso(task.completed_at),
        "completed_by": task.completed_by.username if task.completed_by else None,
        "opinion": task.opinion, "case_version": case.version,
    }


def user_dict(user: User) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "department": user.department.code,
            "department_name": user.department.name, "roles": user.role_codes, "active": user.active}


def ready_tasks(session: Session, actor: Actor | None = None, *, limit: int = 200) -> list[Task]:
    """Ready tasks, oldest first; for an actor only those they may act on."""
    query = select(Task).where(Task.state == "ready")
    if actor is not None:
        query = query.where(Task.department_id == actor.department_id, Task.role.in_(sorted(actor.roles)),
                            (Task.assignee_id.is_(None)) | (Task.assignee_id == actor.user_id))
    query = query.options(joinedload(Task.case).joinedload(Case.item), joinedload(Task.department),
                          joinedload(Task.assignee)).order_by(Task.created_at, Task.id).limit(limit)
    return list(session.scalars(query))


def get_task(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在")
    return task


def get_case(session: Session, number: str) -> Case:
    case = session.scalar(select(Case).where(Case.number == number))
    if case is None:
        raise NotFound(f"办件 {number} 不存在")
    return case


def case_dict(session: Session, case: Case) -> dict[str, Any]:
    tasks = session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.created_at, Task.id))
    version: ProcessVersion = case.process_version
    return {
        "number": case.number, "key": case.key, "item": case.item.code, "item_name": case.item.name,
        "department": case.item.department.code,
        "process": {"id": version.process_id, "version": version.version, "hash": version.content_hash},
        "applicant": case.applicant, "state": case.state, "version": case.version,
        "started_at": iso(case.started_at), "concluded_at": iso(case.concluded_at),
        "last_event_at": iso(case.last_event_at), "commands": case.last_seq,
        "tasks": [task_dict(t) for t in tasks],
    }


def history_dict(entry: HistoryEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "command": entry.command, "actor": entry.actor, "at": iso(entry.at),
            "payload": entry.payload, "ready_tasks": entry.ready_tasks, "case_state": entry.case_state}


def case_history(session: Session, case: Case) -> list[HistoryEntry]:
    return list(session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id)
                                .order_by(HistoryEntry.seq)))


def items(session: Session) -> list[Item]:
    return list(session.scalars(select(Item).order_by(Item.code)))
