"""What a step's settings (engine.runtime.step_rules) mean for the task page: which fields it shows
editable, read only or not at all, which options and operations it offers, whom its person pickers
list, and who handles the next steps. The commands enforce the same settings
(engine/commands/tasks.py); this module only decides what to show."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.outcomes import REFUSALS
from engine.people import role_holders
from engine.roles import role_name
from engine.runtime.definitions import FormField, ProcessDefinition, UserTaskInfo
from engine.runtime.step_rules import COMMAND_OPERATIONS, HANDLERS
from engine.store.enums import TaskState
from engine.store.models import Case, Department, Task


def _refusing(info: UserTaskInfo) -> set[tuple[str, str]]:
    return {(f, v) for (stage, f, v) in REFUSALS if stage == info.settings.stage}


def shown_form(info: UserTaskInfo) -> tuple[FormField, ...]:
    """The step's form as its page shows it: hidden fields left out; where the step does not offer
    通过 or 不予受理/不予许可, the options that would do it left out."""
    rules, refusing = info.rules, _refusing(info)
    out = []
    for f in info.form:
        if f.id in rules.hidden:
            continue
        if f.type == "enum" and any(field == f.id for field, _ in refusing):
            options = tuple(o for o in f.options if ((f.id, o[0]) in refusing and rules.offers("refuse"))
                            or ((f.id, o[0]) not in refusing and rules.offers("approve")))
            f = replace(f, options=options)
        out.append(f)
    return tuple(out)


def posted_form(info: UserTaskInfo) -> tuple[FormField, ...]:
    """The fields a step's page posts: the ones it may edit."""
    return tuple(f for f in info.form if f.id not in info.rules.protected)


def offered(info: UserTaskInfo, command_type: str) -> bool:
    """Whether the step's settings offer this task command (others are not restricted)."""
    rules = info.rules
    if command_type == "complete_task":
        return rules.offers("approve") or rules.offers("refuse")
    operation = COMMAND_OPERATIONS.get(command_type)
    return operation is None or rules.offers(operation)


def current_values(session: Session, case: Case) -> dict[str, Any]:
    """What the case holds for each form field so far: the application, then each finished step's
    form in the order they were done (what a read-only field shows)."""
    values = dict(case.application or {})
    for data in session.scalars(select(Task.form_data).where(Task.case_id == case.id, Task.state == TaskState.COMPLETED)
                                .order_by(Task.completed_at, Task.id)):
        values.update(data or {})
    return values


def eligible(session: Session, definition: ProcessDefinition, case: Case, element_id: str) -> list[tuple[str, str]]:
    """Whom a person picker may name to handle a step: (user name, name) of the active holders of
    its role in its department."""
    info = definition.user_tasks[element_id]
    department = _department(session, info, case)
    if department is None:
        return []
    return [(u.username, u.display_name) for u in role_holders(session, info.role, department.id)]


def _department(session: Session, info: UserTaskInfo, case: Case) -> Department | None:
    if info.settings.department_field:
        return None
    if info.department:
        return session.scalar(select(Department).where(Department.code == info.department))
    return case.item.department


def pickers(session: Session, definition: ProcessDefinition, case: Case,
            form: tuple[FormField, ...]) -> dict[str, list[tuple[str, str]]]:
    return {f.id: eligible(session, definition, case, f.picks_for) for f in form if f.picks_for}


def next_handler(session: Session, info: UserTaskInfo, case: Case) -> str | None:
    """下一环节's handler in words when its settings say other than its role; None otherwise."""
    rules = info.rules
    if rules.handler == "role":
        return None
    if rules.handler in ("head", "head_chain"):
        department = _department(session, info, case)
        people = [u.display_name for u in role_holders(session, "head", department.id)] if department else []
        text = f"{department.name if department else '承办单位'} 负责人：{'、'.join(people) or '（暂无人员）'}"
        return text + ("，再逐级报上级部门负责人" if rules.handler == "head_chain" else "")
    if rules.handler == "chosen":
        return f"由您在本表单中选定的{role_name(info.role)}"
    return f"表单字段“{rules.handler_field}”指定的{role_name(info.role)}"


def handler_words(info: UserTaskInfo) -> str:
    return HANDLERS[info.rules.handler]
