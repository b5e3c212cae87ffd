"""What the task and case pages show, and which operations they offer — decided here, once,
for the web and the CLI alike. Operations are offered by asking the commands' own policies
(``engine.authorization``), so a page never shows a form the engine would refuse for who
the user is."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.clock import CHINA_TZ
from engine.authorization import Subject
from engine.commands import COMMANDS
from engine.errors import NotAllowed, NotFound
from engine.people import role_holders
from engine.read.queries import get_case, get_task, task_dict
from engine.roles import role_name
from engine.runtime.definitions import ProcessDefinition, UserTaskInfo, next_user_tasks
from engine.store.enums import ClockKind, DeadlineKind, TaskKind, TaskState
from engine.store.models import (Case, CaseRequest, Clock, Department, HistoryEntry, Message, ProcessVersion, Task,
                                 User)

#: roles that handle cases (and so may be asked to co-sign or be delegated a step)
CASE_ROLES = frozenset({"window_clerk", "reviewer", "head"})
#: roles that may read every case (电子监察, administration)
OVERSIGHT_ROLES = frozenset({"supervisor", "admin"})

Definitions = Callable[[Session, ProcessVersion], ProcessDefinition]


def may_read_case(session: Session, actor: Actor, case: Case) -> bool:
    """A case is readable by staff of a department that took part in it or owns its item,
    by supervisors and administrators, by those it was copied to (抄送), by the government
    head deciding its extension (联办件), by whoever registered it (首问负责), and by the
    applicant it belongs to."""
    if actor.kind == "system":
        return True
    if actor.kind == "applicant":
        return case.applicant == actor.display_name
    if actor.user_id is None:
        return False
    if actor.roles & OVERSIGHT_ROLES:
        return True
    departments = set(session.scalars(select(Task.department_id).where(Task.case_id == case.id)))
    departments.add(case.item.department_id)
    if actor.department_id in departments or any(p.department_id in departments for p in actor.principals):
        return True
    copied = session.scalar(select(Message.id).where(Message.case_id == case.id, Message.kind == "copy",
                                                     Message.user_id == actor.user_id).limit(1))
    if copied is not None:
        return True
    # 联办件: the 本级人民政府负责人 reads the case whose extension their government decides
    deciding = session.scalar(select(CaseRequest.id).where(CaseRequest.case_id == case.id,
                                                           CaseRequest.department_id == actor.department_id).limit(1))
    if deciding is not None:
        return True
    return session.scalar(select(HistoryEntry.actor).where(HistoryEntry.case_id == case.id,
                                                           HistoryEntry.seq == 1)) == actor.name


def readable_case(session: Session, actor: Actor, number: str) -> Case:
    """The case, or ``NotAllowed`` when the actor may not read it."""
    case = get_case(session, number)
    if not may_read_case(session, actor, case):
        raise NotAllowed("您所在的部门没有参与办理该办件，不能查看")
    return case


def allowed(session: Session, actor: Actor, command_type: str, subject: Subject) -> bool:
    """Would the engine let the actor run this kind of command on the subject?"""
    return COMMANDS[command_type].policy.allows(session, actor, subject)


def form_of(definition: ProcessDefinition, task: Task) -> UserTaskInfo:
    """The step's definition; opinion-only tasks (补充意见, 加签) have no form of their own."""
    info = definition.user_tasks[task.element_id]
    return info if task.kind == "bpmn" else replace(info, form=(), settings=replace(info.settings, stage=None))


def next_steps(session: Session, definition: ProcessDefinition, task: Task) -> list[dict[str, str]]:
    """下一环节 and who would handle it: the holders of the role in the step's department."""
    steps = []
    for info in next_user_tasks(definition, task.element_id):
        if info.settings.department_field:
            steps.append({"name": info.name, "who": f"登记时指定的承办单位的{role_name(info.role)}"})
            continue
        department = (session.scalar(select(Department).where(Department.code == info.department))
                      if info.department else task.case.item.department)
        people = [u.display_name for u in role_holders(session, info.role, department.id)]
        steps.append({"name": info.name, "who": f"{department.name} {role_name(info.role)}："
                                                f"{'、'.join(people) or '（暂无人员）'}"})
    return steps


def return_targets(session: Session, task: Task) -> list[tuple[str, str]]:
    """The earlier steps of the case that a step may be returned to (退回): element and name."""
    if task.kind != "bpmn":
        return []
    rows = session.scalars(select(Task).where(Task.case_id == task.case_id, Task.kind == TaskKind.BPMN,
                                              Task.state == TaskState.COMPLETED, Task.element_id != task.element_id)
                           .order_by(Task.completed_at))
    return list(dict.fromkeys((t.element_id, t.name) for t in rows))


@dataclass(frozen=True)
class Person:
    username: str
    display_name: str
    department: str

    @property
    def label(self) -> str:
        return f"{self.display_name}（{self.department}）"


def people_to_pick(session: Session, actor: Actor, task: Task, purpose: str) -> list[Person]:
    """Whom the actor may pick: 转办 goes to a colleague with the step's role in its department;
    委派 and 加签 to any active member of staff (the organisation decides who)."""
    if purpose == "transfer":
        users = list(role_holders(session, task.role, task.department_id))
    else:
        users = sorted(session.scalars(select(User).where(User.active.is_(True))),
                       key=lambda u: (u.department_id != actor.department_id, u.department_id != task.department_id,
                                      u.department_id, u.id))
    return [Person(u.username, u.display_name, u.department.name) for u in users
            if u.id != actor.user_id and set(u.role_codes) & CASE_ROLES]


def copy_recipients(session: Session, actor: Actor, case: Case) -> list[Person]:
    """Whom a case may be copied to (抄送): active staff who handle cases or supervise, the
    actor's own department and the item's first."""
    users = sorted(session.scalars(select(User).where(User.active.is_(True))),
                   key=lambda u: (u.department_id != actor.department_id, u.department_id != case.item.department_id,
                                  u.department_id, u.id))
    return [Person(u.username, u.display_name, u.department.name) for u in users
            if u.id != actor.user_id and set(u.role_codes) & (CASE_ROLES | {"supervisor"})]


@dataclass
class TaskView:
    """Everything the task page shows and offers."""

    task: dict[str, Any]
    form: tuple
    stage: str | None
    values: dict[str, Any]
    opinion: str
    drafted: bool
    delegated: bool
    acceptance: str | None
    next_steps: list[dict[str, str]]
    return_targets: list[tuple[str, str]]
    transfer_to: list[Person]
    delegate_to: list[Person]
    materials: list[dict[str, Any]]
    checklist: dict[str, Any]
    operations: frozenset[str] = field(default_factory=frozenset)

    def can(self, command_type: str) -> bool:
        return command_type in self.operations


def task_operations(session: Session, actor: Actor, task: Task, definition: ProcessDefinition, *,
                    return_targets_: list | None = None, colleagues: list | None = None) -> frozenset[str]:
    """The task commands the actor is offered: their policy allows them and there is something
    to do (an earlier step to return to, a colleague to transfer to, a claim to release)."""
    subject = Subject(task.case, definition, task)
    ops = {t for t in ("complete_task", "save_draft", "hand_back_task", "claim_task", "release_task",
                       "transfer_task", "return_task", "delegate_task", "add_cosigner", "urge_task")
           if allowed(session, actor, t, subject)}
    if task.assignee_id is not None:
        ops.discard("claim_task")
    else:
        ops.discard("release_task")
    if task.kind != "bpmn":
        ops -= {"return_task", "delegate_task", "add_cosigner"}
    if return_targets_ is not None and not return_targets_:
        ops.discard("return_task")
    if colleagues is not None and not colleagues:
        ops.discard("transfer_task")
    if form_of(definition, task).settings.stage == "acceptance":
        case_subject = Subject(task.case, definition)
        waiting = task.case.acceptance == "supplement"  # a one-time notice is out: only its arrival
        ops |= {t for t in (("receive_supplement",) if waiting else ("request_supplement",)) + ("record_materials",)
                if allowed(session, actor, t, case_subject)}
    return frozenset(ops)


def task_form(session: Session, task_id: int, definitions: Definitions) -> tuple:
    """The form fields a step's page posts, whatever state the step is in (to read a post)."""
    row = get_task(session, task_id)
    return form_of(definitions(session, row.case.process_version), row).form


def task_view(session: Session, actor: Actor, task_id: int, definitions: Definitions) -> TaskView:
    """The task page of a ready task the actor may work on (as handler, backup or delegate)."""
    row = get_task(session, task_id)
    if row.state != "ready":
        raise NotFound(f"任务“{row.name}”已办理完毕，不在待办中")
    definition = definitions(session, row.case.process_version)
    delegator = row.delegated_by_id is not None and row.delegated_by_id == actor.user_id
    if not delegator and not allowed(session, actor, "save_draft", Subject(row.case, definition, row)):
        COMMANDS["save_draft"].policy.authorize(session, actor, Subject(row.case, definition, row))  # the reason
    info = form_of(definition, row)
    draft = row.draft or {}
    targets = return_targets(session, row)
    transfer_to = people_to_pick(session, actor, row, "transfer")
    # 委派: the delegator sees the step (read only) until it is handed back
    ops = frozenset() if delegator else task_operations(session, actor, row, definition, return_targets_=targets,
                                                        colleagues=transfer_to)
    return TaskView(
        task=task_dict(row), form=info.form, stage=info.settings.stage, values=draft.get("data", {}),
        opinion=draft.get("opinion", ""), drafted=bool(draft), delegated=row.delegated_by_id is not None,
        acceptance=row.case.acceptance, next_steps=next_steps(session, definition, row), return_targets=targets,
        transfer_to=transfer_to,
        delegate_to=people_to_pick(session, actor, row, "delegate") if {"delegate_task", "add_cosigner"} & ops else [],
        materials=(row.case.item.guide or {}).get("materials", []), checklist=row.case.materials or {},
        operations=ops)


def case_operations(session: Session, actor: Actor, case: Case, definition: ProcessDefinition) -> dict[str, Any]:
    """The case commands the actor is offered on the case page, and per open step whether
    they may urge it (催办)."""
    subject = Subject(case, definition)
    ops = set()
    if case.state == "running":
        ops = {t for t in ("request_supplement", "receive_supplement", "suspend_clocks", "resume_clocks",
                           "request_extension", "extend_deadline", "decide_extension")
               if allowed(session, actor, t, subject)}
        if case.acceptance == "supplement":
            ops.discard("request_supplement")
        else:
            ops.discard("receive_supplement")
            if case.acceptance is not None:
                ops.discard("request_supplement")
        if case.acceptance not in ("accepted", "deemed") or case.decision is not None:
            ops -= {"suspend_clocks", "resume_clocks", "request_extension", "extend_deadline"}
        elif case.suspended:
            ops.discard("suspend_clocks")
        else:
            ops.discard("resume_clocks")
    if allowed(session, actor, "copy_case", subject):
        ops.add("copy_case")
    urgeable = {t.id for t in session.scalars(select(Task).where(Task.case_id == case.id, Task.state == TaskState.READY))
                if allowed(session, actor, "urge_task", Subject(case, definition, t))}
    return {"operations": frozenset(ops), "urge": urgeable}


# ---------------------------------------------------------------- the case history, in words

def _names(session: Session, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    return dict(session.execute(select(User.username, User.display_name).where(User.username.in_(usernames))).all())


def actor_label(name: str, names: dict[str, str]) -> str:
    """系统, 申请人 王小明, or a member of staff by name."""
    if name == "system" or name.startswith("system:"):
        return "系统"
    if name.startswith("applicant:"):
        return f"申请人 {name.split(':', 1)[1]}"
    return names.get(name, name)


def _deadline_words(session: Session, case: Case, result: dict[str, Any]) -> str:
    """受理时限预警, 环节时限（审查）黄牌, 办理时限升级提醒 …"""
    clock_key = result.get("clock", "")
    clock = session.scalar(select(Clock).where(Clock.case_id == case.id, Clock.key == clock_key))
    what = ClockKind.label_of(clock.kind) if clock is not None else "时限"
    if clock is not None and clock.task is not None:
        what = f"{what}（{clock.task.name}）"
    elif clock is not None and clock.kind == "timer":
        what = f"{what}（{clock.detail.get('name', '')}）"
    return f"{what}{DeadlineKind.label_of(result.get('kind'))}"


def history_view(session: Session, case: Case) -> list[dict[str, Any]]:
    """Each entry of the case history as people read it: when (China time), who (by name, and
    on whose behalf), what (the command's label and the particulars in words)."""
    entries = list(session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id)
                                   .order_by(HistoryEntry.seq)))
    people = {e.actor for e in entries} | {(e.payload or {}).get("on_behalf_of") for e in entries}
    for e in entries:
        inputs, result = e.inputs or {}, e.payload or {}
        for value in (inputs.get("to"), result.get("assignee"), result.get("owner"), result.get("notified")):
            people |= set(value) if isinstance(value, list) else {value}
    names = _names(session, {p for p in people if isinstance(p, str)})
    elements = {t.element_id: t.name for t in session.scalars(select(Task).where(Task.case_id == case.id))}
    out = []
    for e in entries:
        inputs, result = e.inputs or {}, e.payload or {}
        command = COMMANDS.get(e.command)
        what = command.label if command is not None else e.command
        step = elements.get(result.get("element", ""), "")
        details = []
        if e.command == "fire_deadline":
            what = _deadline_words(session, case, result)
        elif e.command == "record_deadline_failure":
            what = f"{_deadline_words(session, case, result)}触发失败"
        elif e.command == "return_task":
            to = elements.get(inputs.get("to", ""), inputs.get("to", ""))
            what = f"退回到“{to}”"
        elif e.command in ("transfer_task", "delegate_task", "add_cosigner", "hand_back_task"):
            target = result.get("assignee") or result.get("owner") or inputs.get("to")
            if target:
                details.append(f"{'交回' if e.command == 'hand_back_task' else '给'} {names.get(target, target)}")
        elif e.command == "start_case" and not e.actor.startswith(("applicant:", "system")):
            what = "受理登记（收件）"
        elif e.command == "attach_material":
            details.append(f"{inputs.get('material', '')}：{inputs.get('filename', '')}")
        elif e.command == "copy_case":
            details.append("抄送 " + "、".join(names.get(n, n) for n in result.get("notified", [])))
        elif e.command in ("request_extension", "extend_deadline") and (result.get("days") or inputs.get("days")):
            details.append(f"{result.get('days') or inputs.get('days')} 个工作日")
        if e.command == "decide_extension":
            what = "批准延期" if inputs.get("approve") else "退回延期申请"
        said = inputs.get("opinion") or inputs.get("reason") or inputs.get("note") or ""
        behalf = result.get("on_behalf_of")
        out.append({
            "seq": e.seq, "at": e.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"),
            "who": actor_label(e.actor, names) + (f"（代 {names.get(behalf, behalf)}）" if behalf else ""),
            "what": what, "step": step, "details": "；".join(details), "said": said,
            "system": e.actor.startswith("system"),
        })
    return out
