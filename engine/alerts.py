"""Who is told about a case's time limits, and the in-app messages (站内消息) they get."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from engine.people import role_holders
from engine.errors import NotFound
from engine.runtime.values import MAX_ID
from engine.store.enums import TaskState
from engine.store.models import Case, Clock, Department, Message, Task, User, UserRole


_INSERT_MESSAGES = insert(Message.__table__)

#: the kinds of message a case's time limit sends (engine/timelimits/firing.py): 预警, 黄牌, 红牌,
#: their escalations and a step's reminders; they lead to the case and the step
DEADLINE_KINDS = ("warning", "yellow", "red")
#: 效能告诫 issued, and a warning to a unit's head proposed (engine/commands/supervision.py); before
#: migration 0022 these were stored as ``warning`` too, and 【预警】 led to the 效能告诫 page
EFFICIENCY_WARNING = "efficiency_warning"


_NAME = select(User.id, User.username).where(User.id == bindparam("id"))


def handlers(session: Session, task: Task) -> list:
    """Who holds a task: its assignee, or everyone who may take it; as plain rows of ``id`` and
    ``username`` (what ``send`` needs)."""
    if task.assignee_id is None:
        return role_holders(session, task.role, task.department_id, plain=True)
    return list(session.connection().execute(_NAME, {"id": task.assignee_id}))


def _handler_tasks(session: Session, case: Case, clock: Clock, open_tasks: list[Task] | None) -> list[Task]:
    """The step's own task, or for a case-wide clock every task now open on the case
    (``open_tasks`` when the caller has them at hand)."""
    if clock.task_id is not None:
        return [clock.task]
    if open_tasks is not None:
        return sorted(open_tasks, key=lambda t: (t.id is None, t.id or 0))
    return list(session.scalars(select(Task).where(Task.case_id == case.id, Task.state == TaskState.READY)
                                .order_by(Task.id)))


def recipients(session: Session, case: Case, clock: Clock, to: str,
               open_tasks: list[Task] | None = None) -> list[User]:
    """``handler``: the assignee, or everyone who may take the task; ``head``: the 负责人 of
    the handling departments (the item's department when no step is open); ``supervisor``:
    the supervisors nearest up the department tree from the item's department."""
    # who holds a role changes in no case command: the command's pending rows need no flush first
    with session.no_autoflush:
        return _recipients(session, case, clock, to, open_tasks)


def _recipients(session: Session, case: Case, clock: Clock, to: str, open_tasks: list[Task] | None) -> list[User]:
    if to == "supervisor":
        return supervisors(session, case)
    tasks = _handler_tasks(session, case, clock, open_tasks)
    found: dict[int, User] = {}
    if to == "handler":
        for task in tasks:
            found.update((u.id, u) for u in handlers(session, task))
    elif to == "head":
        departments = {t.department_id for t in tasks} or {case.item.department_id}
        for department_id in sorted(departments):
            found.update((u.id, u) for u in role_holders(session, "head", department_id, plain=True))
    else:
        raise ValueError(f"unknown recipient {to!r}")
    return list(found.values())


def supervisors(session: Session, case: Case) -> list[User]:
    """The supervisors (电子监察) nearest up the department tree from the item's department,
    or every supervisor when none is found there."""
    found: dict[int, User] = {}
    department = session.get(Department, case.item.department_id)
    while department is not None and not found:
        found.update((u.id, u) for u in role_holders(session, "supervisor", department.id, plain=True))
        department = department.parent
    if not found:
        found.update((u.id, u) for u in session.scalars(
            select(User).join(UserRole).where(UserRole.role == "supervisor", User.active.is_(True))))
    return list(found.values())


def send(session: Session, users: list[User], *, case: Case | None, kind: str, title: str, body: str,
         at: datetime) -> list[str]:
    """Put one message in each user's box; returns the usernames, for the history.

    Messages are append-only rows nothing reads back in the same transaction: they are written
    with one Core ``INSERT`` (an executemany) instead of one ORM object and one statement each."""
    if case is not None and case.id is None:  # a case not yet flushed: its id comes with the flush
        for user in users:
            session.add(Message(user_id=user.id, case=case, kind=kind, title=title, body=body, created_at=at))
    elif users:
        with session.no_autoflush:  # their user and case rows exist already
            session.execute(_INSERT_MESSAGES,
                            [{"user_id": user.id, "case_id": case.id if case is not None else None, "kind": kind,
                              "title": title, "body": body, "created_at": at, "read_at": None} for user in users])
    return sorted(u.username for u in users)


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count(Message.id)).where(Message.user_id == user_id,
                                                                Message.read_at.is_(None))) or 0


def mark_read(session: Session, user_id: int, at: datetime, message_id: int | None = None) -> int:
    """Mark one of the user's messages, or all of them, as read; returns how many changed.
    Messages are not case history: reading one changes no case."""
    query = update(Message).where(Message.user_id == user_id, Message.read_at.is_(None))
    if message_id is not None:
        if not 0 < message_id <= MAX_ID:  # no such row on any database (PostgreSQL would refuse the query)
            raise NotFound(f"消息 {message_id} 不存在")
        query = query.where(Message.id == message_id)
    return session.execute(query.values(read_at=at)).rowcount or 0
