"""The organisation as the pages show it (the department tree, the list of users, one user with
the open tasks in their hands, a head's team), and deactivating a user with their tasks
reassigned. The rules are the commands' (engine/commands/organisation.py); this reads and runs them.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.commands.organisation import (LEVEL_NAMES, DeactivateUser, ReassignTask, check_deactivation, held_tasks,
                                          holders)
from engine.errors import BadInput, NotFound
from engine.people import LEVELS
from engine.roles import ROLES, role_name
from engine.store.models import Department, Item, Task, User, UserRole

#: at most this many users on one page of the list
PAGE = 50


def department_tree(session: Session) -> list[dict[str, Any]]:
    """Every department, parents before their children (those of the parent's own level first), with its
    depth, its path from the top and what is in it."""
    rows = list(session.scalars(select(Department).order_by(Department.code)))
    users = dict(session.execute(select(User.department_id, func.count(User.id)).where(User.active.is_(True))
                                 .group_by(User.department_id)).all())
    tasks = dict(session.execute(select(Task.department_id, func.count(Task.id)).where(Task.state == "ready")
                                 .group_by(Task.department_id)).all())
    items = dict(session.execute(select(Item.department_id, func.count(Item.id)).group_by(Item.department_id)).all())
    children: dict[int | None, list[Department]] = {}
    for row in sorted(rows, key=lambda r: (LEVELS.index(r.level) if r.level in LEVELS else len(LEVELS), r.code)):
        children.setdefault(row.parent_id, []).append(row)  # the units of a level before the levels below
    out: list[dict[str, Any]] = []

    def walk(parent_id, depth, path):
        for row in children.get(parent_id, []):
            out.append({"code": row.code, "name": row.name, "official_name": row.official_name, "level": row.level,
                        "level_name": LEVEL_NAMES.get(row.level or "", ""), "active": row.active, "depth": depth,
                        "parent": row.parent.code if row.parent else None,
                        "parent_name": row.parent.name if row.parent else None, "path": path + [row.name],
                        "user_count": users.get(row.id, 0), "task_count": tasks.get(row.id, 0),
                        "item_count": items.get(row.id, 0), "child_count": len(children.get(row.id, []))})
            if row.id not in seen:
                seen.add(row.id)
                walk(row.id, depth + 1, path + [row.name])

    seen: set[int] = set()
    walk(None, 0, [])
    return out


def department_choices(session: Session, *, active_only: bool = True) -> list[tuple[str, str]]:
    """(code, name with its place in the tree) for a select, in tree order."""
    return [(d["code"], "　" * d["depth"] + d["name"] + ("" if d["active"] else "（已停用）"))
            for d in department_tree(session) if d["active"] or not active_only]


def role_choices() -> list[tuple[str, str]]:
    return [(r.code, r.name) for r in ROLES]


def list_users(session: Session, *, text: str = "", department: str = "", role: str = "", active: str = "",
               page: int = 1) -> dict[str, Any]:
    """Users by name, filtered by a text (name or login), a department, a role, active or not."""
    query = select(User).join(Department, User.department_id == Department.id)
    text = (text or "").strip()[:64]
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(User.display_name.like(like, escape="\\"), User.username.like(like, escape="\\")))
    if department:
        query = query.where(Department.code == department)
    if role:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if active in ("yes", "no"):
        query = query.where(User.active.is_(active == "yes"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, min(page, max(1, -(-total // PAGE))))
    rows = session.scalars(query.order_by(User.active.desc(), Department.code, User.display_name, User.username)
                           .offset((page - 1) * PAGE).limit(PAGE))
    return {"total": total, "page": page, "pages": max(1, -(-total // PAGE)),
            "users": [_user_row(u) for u in rows]}


def _user_row(user: User) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "department": user.department.code,
            "department_name": user.department.name, "roles": user.role_codes,
            "role_names": [role_name(r) for r in user.role_codes], "active": user.active, "away": user.away,
            "must_change_password": user.must_change_password}


def user_view(session: Session, username: str) -> dict[str, Any]:
    """One user with the open tasks in their hands, and who could take over each."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise BadInput(f"用户 {username} 不存在")
    tasks = []
    for task in held_tasks(session, user.id):
        how = "委派出去（交回后由其办理）" if task.delegated_by_id == user.id else {
            "cosign": "加签", "followup": "补充意见"}.get(task.kind, "委派给其办理" if task.delegated_by_id else "已认领或转办")
        tasks.append({"id": task.id, "case": task.case.number, "name": task.name, "how": how,
                      "role_name": role_name(task.role), "department_name": task.department.name,
                      "pool": task.kind == "bpmn" and task.delegated_by_id is None,
                      "candidates": [(u.username, u.display_name) for u in
                                     holders(session, task.role, task.department_id, other_than=user.id)]})
    backup = session.get(User, user.backup_id) if user.backup_id else None
    return {**_user_row(user), "tasks": tasks, "backup_name": backup.display_name if backup else None}


def deactivate_user(engine, actor: Actor, username: str, reassign: dict[int, str], *, reason: str = "",
                    at: datetime | None = None) -> dict[str, Any]:
    """停用人员 with their open tasks moved first: each task in ``reassign`` (task id → the login of
    who takes it over, or "" for the department's shared inbox) is one ``ReassignTask`` in its
    case's history, then ``DeactivateUser`` (which refuses while any task is left). Every task must
    be named, so that a forgotten one stops the whole before anything moves."""
    with engine.db.reader() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"用户 {username} 不存在")
        check_deactivation(session, user, actor)  # before any task moves
        held = {t.id: t for t in held_tasks(session, user.id)}
        missing = [f"{t.case.number}“{t.name}”" for i, t in held.items() if i not in reassign]
    if missing:
        raise BadInput(f"请为每件待办选择改派对象：{'、'.join(missing)}")
    unknown = sorted(set(reassign) - set(held))
    if unknown:
        raise BadInput(f"任务 {'、'.join(map(str, unknown))} 不在 {username} 名下")
    moved = []
    note = f"人员停用：{reason}" if reason else "人员停用"
    for task_id, to in sorted(reassign.items()):
        engine.execute(ReassignTask(task=task_id, holder=username, to=to, reason=note), actor, at)
        moved.append({"task": task_id, "to": to or None})
    user = engine.execute(DeactivateUser(username=username, reason=reason), actor, at)
    return {"user": user.username, "reassigned": moved}


def team_view(session: Session, department_code: str) -> dict[str, Any]:
    """A department's active staff with their backups and the colleagues each may name (AB岗)."""
    department = session.scalar(select(Department).where(Department.code == department_code))
    if department is None:
        raise BadInput(f"部门 {department_code} 不存在")
    staff = list(session.scalars(select(User).where(User.department_id == department.id, User.active.is_(True))
                                 .order_by(User.display_name, User.username)))
    rows = []
    for user in staff:
        mine = set(user.role_codes)
        rows.append({**_user_row(user), "backup": next((u.username for u in staff if u.id == user.backup_id), ""),
                     "options": [(u.username, u.display_name) for u in staff
                                 if u.id != user.id and mine & set(u.role_codes)]})
    return {"code": department.code, "name": department.name, "staff": rows}
