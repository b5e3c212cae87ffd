"""Who may act on a task: the rule the commands enforce and the inbox query lists by."""
from __future__ import annotations

from engine.actors import Actor
from engine.errors import NotAllowed
from engine.store.models import Task
from engine.roles import role_name


def may_handle(user_id: int | None, department_id: int | None, roles, task: Task) -> bool:
    """The task's role in the task's department, and its assignee if it is claimed."""
    return (task.role in roles and department_id == task.department_id
            and (task.assignee_id is None or task.assignee_id == user_id))


def may_take_back(done: Task, open_steps: list[Task]) -> bool:
    """拿回: a finished step can be taken back while the steps opened after it are untouched (none
    claimed, nothing saved) — ``open_steps``, the case's open steps now."""
    return bool(open_steps) and not any(
        t.created_at < done.completed_at or t.assignee_id is not None or t.draft for t in open_steps)


def acting_for(actor: Actor, task: Task) -> str | None:
    """The away colleague (AB岗) on whose behalf the actor would handle this task, if any."""
    if may_handle(actor.user_id, actor.department_id, actor.roles, task):
        return None
    return next((p.display_name or p.name for p in actor.principals
                 if may_handle(p.user_id, p.department_id, p.roles, task)), None)


def authorize_task(actor: Actor, task: Task) -> str | None:
    """Only a user with the task's role in the task's department, and its assignee if claimed —
    or the named backup (AB岗) of such a user who is away, or the delegate of a 委派 task.
    Returns the username acted for, if any."""
    if actor.user_id is None:
        raise NotAllowed(f"只有工作人员可以办理任务“{task.name}”")
    if task.delegated_by_id is not None:  # 委派: only the delegate acts until it is handed back
        if task.assignee_id == actor.user_id:
            return None
        raise NotAllowed(f"任务“{task.name}”已委派给 {task.assignee.display_name}，待其交回")
    if may_handle(actor.user_id, actor.department_id, actor.roles, task):
        return None
    for principal in actor.principals:
        if may_handle(principal.user_id, principal.department_id, principal.roles, task):
            return principal.name
    if task.assignee_id is not None and actor.has_role(task.role) and actor.department_id == task.department_id:
        raise NotAllowed(f"任务“{task.name}”已由 {task.assignee.display_name} 认领")
    raise NotAllowed(f"用户 {actor.name} 不能办理任务“{task.name}”：需要 {task.department.name} 的"
                     f"{role_name(task.role)}")
