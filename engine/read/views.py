"""What the task and case pages show, and which operations they offer — decided here, once,
for the web and the CLI alike. Operations are offered by asking the commands' own policies
(``engine.authorization``), so a page never shows a form the engine would refuse for who
the user is."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timezone
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import operations
from engine.actors import Actor
from engine.clock import CHINA_TZ
from engine.authorization import Subject, ready_of
from engine.commands import COMMANDS
from engine.commands.applicant import RATINGS, last_notice
from engine.errors import NotAllowed, NotFound
from engine.outcomes import owed_materials
from engine.people import display_names, role_holders
from engine.read.access import acting_for
from engine.read.application import application_view, shown_value, started_with
from engine.read.queries import get_case, get_task, remaining_words, task_dict
from engine.read import steps as step_view
from engine.roles import role_name
from engine.supervision.board import card_reason
from engine.runtime.definitions import ProcessDefinition, UserTaskInfo, next_user_tasks
from engine.timelimits.policy import policy_from_json
from engine.store.enums import ClockKind, DeadlineKind, DocumentKind, TaskKind, TaskState
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
    if actor.kind == "applicant":  # online: the account's own cases only; by name, a case with no account
        if actor.account_id is not None:
            return case.account_id == actor.account_id
        return case.applicant == actor.display_name and case.account_id is None
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
    """Would the engine let the actor run this kind of command on the subject? Not on a suspended
    (挂起), terminated or voided case, whatever the policy (``engine.operations.refusal``)."""
    if subject.case is not None and operations.refusal(subject.case, COMMANDS[command_type]) is not None:
        return False
    return COMMANDS[command_type].policy.allows(session, actor, subject)


def hold_notice(session: Session, case: Case) -> str:
    """Why nobody may act on a suspended case: who suspended it, when and why (empty otherwise)."""
    if not case.hold:
        return ""
    return operations.hold_words(case.hold, display_names(session, {case.hold.get("by", "")}))


def form_of(definition: ProcessDefinition, task: Task) -> UserTaskInfo:
    """The step's definition; opinion-only tasks (补充意见, 加签) have no form of their own."""
    info = definition.user_tasks[task.element_id]
    return info if task.kind == "bpmn" else replace(info, form=(), settings=replace(info.settings, stage=None))


def next_steps(session: Session, definition: ProcessDefinition, task: Task) -> list[dict[str, str]]:
    """下一环节 and who would handle it: the holders of the role in the step's department."""
    steps = []
    for info in next_user_tasks(definition, task.element_id):
        special = step_view.next_handler(session, info, task.case)
        if special is not None:  # the step's settings name its handler (负责人, a person picked …)
            steps.append({"name": info.name, "who": special})
            continue
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
    #: the header's time line: due day, remaining working days or 当日办结, the card and its meaning
    due: dict[str, Any] = field(default_factory=dict)
    #: why the step is here (退回, 委派, 转办): who, what they said
    why: list[dict[str, str]] = field(default_factory=list)
    #: the application as submitted (engine.read.application.application_view)
    application: dict[str, Any] = field(default_factory=dict)
    #: the earlier steps' opinions and records (earlier_work)
    earlier: list[dict[str, Any]] = field(default_factory=list)
    #: the step's settings: each shown field's access (editable or readonly), the case's values of
    #: the read-only ones, and the people each person picker lists (engine.read.steps)
    access: dict[str, str] = field(default_factory=dict)
    current: dict[str, Any] = field(default_factory=dict)
    pickers: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: why nobody may act while the case is suspended (挂起): who suspended it, when, why
    held: str = ""
    #: AB岗: the away colleague on whose behalf the actor works on this step (their name), if any
    on_behalf_of: str | None = None

    @property
    def missing_materials(self) -> list[str]:
        """The materials the checklist marks 缺, in the guide's order: what a one-time notice lists."""
        return [m["name"] for m in self.materials if (self.checklist.get(m["name"]) or {}).get("status") == "missing"]

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
    ops = {t for t in ops if task.kind != "bpmn" or step_view.offered(definition.user_tasks[task.element_id], t)}
    if form_of(definition, task).settings.stage == "acceptance":
        case_subject = Subject(task.case, definition)
        waiting = task.case.acceptance == "supplement"  # a one-time notice is out: only its arrival
        # once accepted (a step returned to the window), a one-time notice is too late: 一次性告知 is
        # the acceptance's, and the acceptance notice is out
        notice = () if task.case.acceptance in ("accepted", "deemed") else ("request_supplement",)
        ops |= {t for t in (("receive_supplement",) if waiting else notice) + ("record_materials",)
                if allowed(session, actor, t, case_subject)}
    if owed_materials(task.case.materials) \
            and allowed(session, actor, "receive_deferred_material", Subject(task.case, definition)):
        ops.add("receive_deferred_material")
    return frozenset(ops)


def task_form(session: Session, task_id: int, definitions: Definitions) -> tuple:
    """The form fields a step's page posts, whatever state the step is in (to read a post)."""
    row = get_task(session, task_id)
    return step_view.posted_form(form_of(definitions(session, row.case.process_version), row))


#: What a card on a case asks of whoever holds a step of it.
CARD_MEANINGS = {"yellow": "请尽快办理", "red": "负责人和电子监察已收到通知"}


def task_due(task: Task, *, today=None, calendar=None, card_about: str = "") -> dict[str, Any]:
    """The step's time line: its due day and the working days left (剩余 N 个工作日 / 今日到期 /
    已超期 N 个工作日), 当日办结 for a 即办件, and the case's card with its meaning: the limit
    that raised it (``card_about``, ``engine.supervision.board.card_reason``) and what it asks."""
    case = task.case
    meaning = CARD_MEANINGS.get(case.card or "", "")
    out: dict[str, Any] = {"due_on": task.due_on.isoformat() if task.due_on else None, "remaining": None,
                           "same_day": policy_from_json(case.started_policy).first_limit == 0,
                           "suspended": case.suspended, "card": case.card,
                           "card_meaning": f"{card_about}，{meaning}" if card_about and meaning else meaning}
    if case.hold:
        out["text"] = "办件已挂起，暂停计时"
    elif out["same_day"]:
        out["text"] = "即办件，当日办结"
    elif case.suspended:
        out["text"] = "特别程序中，暂停计时"
    elif task.due_on is not None and today is not None and calendar is not None:
        out["remaining"] = calendar.between(today, task.due_on).value
        out["text"] = remaining_words(out["remaining"])
    else:
        out["text"] = ""
    return out


def _at(value) -> str:
    return value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _aware(value):
    """A stored time as an aware datetime (SQLite gives them back naive, in UTC)."""
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def step_reasons(session: Session, task: Task) -> list[dict[str, str]]:
    """Why an open step is where it is, from the case history: it came back (退回: from which step,
    by whom, the reason), it was delegated (委派: who asked, what they asked) or transferred
    (转办: by whom, the note). Only what happened since the step last opened counts."""
    opened = _aware(task.created_at)
    entries = session.scalars(select(HistoryEntry).where(
        HistoryEntry.case_id == task.case_id,
        HistoryEntry.command.in_(("return_task", "delegate_task", "transfer_task", "hand_back_task")))
        .order_by(HistoryEntry.seq))
    elements = {t.element_id: t.name for t in session.scalars(select(Task).where(Task.case_id == task.case_id))}
    found: dict[str, HistoryEntry] = {}
    for e in entries:
        inputs, result = e.inputs or {}, e.payload or {}
        if _aware(e.at) < opened:
            continue
        if e.command == "return_task" and inputs.get("to") == task.element_id:
            found["return"] = e
        elif e.command in ("delegate_task", "transfer_task", "hand_back_task") \
                and result.get("element") == task.element_id:
            found[e.command] = e
    if task.delegated_by_id is None:
        found.pop("delegate_task", None)
    else:
        found.pop("hand_back_task", None)
    people = display_names(session, {e.actor for e in found.values()})
    out = []
    if "return" in found:
        e = found["return"]
        origin = elements.get((e.payload or {}).get("element", ""), "")
        out.append({"kind": "return", "title": "退回",
                    "text": f"{actor_label(e.actor, people)} 于 {_at(e.at)} 从“{origin}”退回到本环节",
                    "said": (e.inputs or {}).get("reason", "")})
    if "transfer_task" in found:
        e = found["transfer_task"]
        out.append({"kind": "transfer", "title": "转办",
                    "text": f"{actor_label(e.actor, people)} 于 {_at(e.at)} 转办给您",
                    "said": (e.inputs or {}).get("reason", "")})
    if "delegate_task" in found:
        e = found["delegate_task"]
        out.append({"kind": "delegate", "title": "委派",
                    "text": f"{actor_label(e.actor, people)} 于 {_at(e.at)} 委派，请办理后交回",
                    "said": (e.inputs or {}).get("note", "")})
    if "hand_back_task" in found and task.draft:
        e = found["hand_back_task"]
        out.append({"kind": "hand_back", "title": "委派交回",
                    "text": f"{actor_label(e.actor, people)} 于 {_at(e.at)} 办完交回，其填写的内容已载入下方表单",
                    "said": (e.inputs or {}).get("opinion", "")})
    supplement = supplement_reason(session, task.case)
    if supplement is not None:
        out.append(supplement)
    return out


def supplement_reason(session: Session, case: Case) -> dict[str, str] | None:
    """While the case waits for its supplement (补正): what the one-time notice asked for, by whom
    and when, and whether the applicant has handed the materials in online since (and which), so
    the window knows from the step whether to wait or to check the scans and 登记收到."""
    if case.state != "running" or case.acceptance != "supplement":
        return None
    notice = last_notice(session, case)
    if notice is None:
        return None
    asked = "、".join((notice.payload or {}).get("materials") or [])
    handed = session.execute(select(HistoryEntry.actor, HistoryEntry.at, HistoryEntry.inputs).where(
        HistoryEntry.case_id == case.id, HistoryEntry.command == "submit_supplement",
        HistoryEntry.seq > notice.seq).order_by(HistoryEntry.seq.desc()).limit(1)).first()
    if handed is None:
        people = display_names(session, {notice.actor})
        return {"kind": "supplement", "title": "等待补正",
                "text": f"{actor_label(notice.actor, people)} 于 {_at(notice.at)} 一次性告知补正：{asked}。"
                        "收到申请人的全部补正材料后，在下方“补正材料已收齐”登记收到，受理时限重新计算",
                "said": ""}
    uploaded = session.scalars(select(HistoryEntry.inputs).where(
        HistoryEntry.case_id == case.id, HistoryEntry.command == "attach_material",
        HistoryEntry.actor == handed.actor, HistoryEntry.seq > notice.seq)).all()
    files = "、".join(dict.fromkeys(str((i or {}).get("material", "")) for i in uploaded if i)) or asked
    return {"kind": "supplement", "title": "补正材料已在网上提交",
            "text": f"申请人于 {_at(handed.at)} 提交了补正材料（{files}；一次性告知要求：{asked}）。"
                    "请打开下方的扫描件逐项核对：齐全的，在“补正材料已收齐”登记收到，受理时限重新计算",
            "said": (handed.inputs or {}).get("note", "")}


def earlier_work(session: Session, case: Case, definition: ProcessDefinition, *,
                 before: Task | None = None) -> list[dict[str, Any]]:
    """The opinions and form records (审查意见, 核查记录 …) of the case's finished steps, in the order
    they were done, so a later step decides from one page: the step, who (by name), when (China
    time), the opinion and each filled field by its label with option labels. Co-signed and
    follow-up opinions are included; a step that was returned shows the reason."""
    rows = session.scalars(select(Task).where(Task.case_id == case.id,
                                              Task.state.in_((TaskState.COMPLETED, TaskState.RETURNED)))
                           .order_by(Task.completed_at, Task.id))
    out = []
    hidden = definition.user_tasks[before.element_id].rules.hidden if before is not None else frozenset()
    for t in rows:
        if before is not None and t.id == before.id:
            continue
        info = definition.user_tasks.get(t.element_id)
        fields = info.form if info is not None and t.kind == "bpmn" else ()
        fields = tuple(f for f in fields if f.id not in hidden)  # what this step may not see
        data = dict(t.form_data or {})
        picked = {str(data[f.id]) for f in fields if f.picks_for and data.get(f.id)}
        if picked:  # a person picked to handle a later step: by name, not login
            names = display_names(session, picked)
            data.update({f.id: names.get(str(data[f.id]), data[f.id]) for f in fields if f.picks_for and data.get(f.id)})
        records = [{"label": f.label, "value": shown_value(f, data.get(f.id))} for f in fields
                   if shown_value(f, data.get(f.id))]
        if not records and not t.opinion:
            continue
        out.append({"name": t.name, "who": t.completed_by.display_name if t.completed_by else "",
                    "at": _at(t.completed_at), "opinion": t.opinion or "", "records": records,
                    "returned": t.state == "returned", "deemed": t.deemed})
    return out


def task_view(session: Session, actor: Actor, task_id: int, definitions: Definitions, *,
              today=None, calendar=None) -> TaskView:
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
    form = step_view.shown_form(info) if row.kind == "bpmn" else info.form
    readonly = {f.id for f in form if f.id in info.rules.readonly} if row.kind == "bpmn" else set()
    started = started_with(session, row.case)  # read once: the form's values and the application
    return TaskView(
        access={f.id: "readonly" if f.id in readonly else "editable" for f in form},
        current=_shown_current(session, row.case, form, readonly),
        pickers=step_view.pickers(session, definition, row.case, form),
        task=task_dict(row), form=form, stage=info.settings.stage,
        # no draft yet: what the case started with fills the fields it names (an online complaint's 诉求内容)
        values=draft.get("data", {}) if draft else {k: v for k, v in started.items()
                                                 if k in {f.id for f in form} and k not in readonly},
        opinion=draft.get("opinion", ""), drafted=bool(draft), delegated=row.delegated_by_id is not None,
        acceptance=row.case.acceptance, next_steps=next_steps(session, definition, row), return_targets=targets,
        transfer_to=transfer_to,
        delegate_to=people_to_pick(session, actor, row, "delegate") if {"delegate_task", "add_cosigner"} & ops else [],
        materials=row.case.started_guide.get("materials", []), checklist=row.case.materials or {},
        operations=ops, due=task_due(row, today=today, calendar=calendar, card_about=card_reason(session, row.case)),
        why=step_reasons(session, row),
        application=application_view(session, row.case, definition, started), earlier=earlier_work(session, row.case, definition, before=row),
        held=hold_notice(session, row.case), on_behalf_of=None if delegator else acting_for(actor, row))


def _shown_current(session: Session, case: Case, form: tuple, readonly: set[str]) -> dict[str, str]:
    """The case's values of the fields a step may only read, as people read them."""
    if not readonly:
        return {}
    values = step_view.current_values(session, case)
    return {f.id: shown_value(f, values.get(f.id, f.default)) for f in form if f.id in readonly}


def case_operations(session: Session, actor: Actor, case: Case, definition: ProcessDefinition) -> dict[str, Any]:
    """The case commands the actor is offered on the case page, and per open step whether
    they may urge it (催办)."""
    ready = tuple(ready_of(session, Subject(case, definition)))  # read once for every question below
    subject = Subject(case, definition, ready=ready)
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
        if owed_materials(case.materials) \
                and allowed(session, actor, "receive_deferred_material", subject):
            ops.add("receive_deferred_material")
        if case.acceptance not in ("accepted", "deemed") or case.decision is not None:
            ops -= {"suspend_clocks", "resume_clocks", "request_extension", "extend_deadline"}
        elif case.suspended:
            ops.discard("suspend_clocks")
        else:
            ops.discard("resume_clocks")
    if allowed(session, actor, "copy_case", subject):
        ops.add("copy_case")
    urgeable = {t.id for t in ready if allowed(session, actor, "urge_task", Subject(case, definition, t, ready=ready))}
    # 去办理: the open steps this actor may work on (as handler, backup or delegate)
    workable = [t for t in sorted(ready, key=lambda t: (t.created_at, t.id))
                if allowed(session, actor, "save_draft", Subject(case, definition, t, ready=ready))]
    return {"operations": frozenset(ops), "urge": urgeable,
            "work": [{"id": t.id, "name": t.name} for t in workable]}


# ---------------------------------------------------------------- the case history, in words

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


#: what a step's decisive field said, as the history shows it beside the step
OUTCOME_WORDS = {("acceptance", "accept"): "予以受理", ("acceptance", "refuse"): "不予受理",
                 ("decision", "grant"): "准予许可", ("decision", "deny"): "不予许可"}
#: the administrators' operations on a case (engine/commands/operations.py), whose reason the history shows
ADMIN_OPERATIONS = ("suspend_case", "resume_case", "terminate_case", "void_case", "rewind_case", "skip_task",
                    "correct_case_data", "retry_deadline", "resolve_deadline", "migrate_case")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    return "（空）" if value in (None, "") else str(value)


def _outcome_words(data: dict[str, Any]) -> str | None:
    """What a step's decisive field said: 予以受理, 不予受理, 准予许可 or 不予许可 (None for none)."""
    return OUTCOME_WORDS.get(("acceptance", data.get("acceptance"))) or \
        OUTCOME_WORDS.get(("decision", data.get("decision")))


def _issued_words(result: dict[str, Any]) -> str | None:
    """The paper a command issued, with its number (出具受理通知书 …〔2026〕1号); None for none."""
    document = result.get("document")
    if isinstance(document, dict) and document.get("number"):
        return f"出具{DocumentKind.label_of(document.get('kind'))} {document['number']}"
    return None


def last_step_words(session: Session, case_id: int) -> str:
    """What the step just completed on the case decided and issued, for its confirmation:
    准予许可，出具准予行政许可决定书 市监食经许〔2026〕10号 ("" when it decided no outcome and issued none)."""
    entry = session.scalar(select(HistoryEntry).where(HistoryEntry.case_id == case_id, HistoryEntry.command == "complete_task")
                           .order_by(HistoryEntry.seq.desc()).limit(1))
    if entry is None:
        return ""
    words = (_outcome_words((entry.inputs or {}).get("data") or {}), _issued_words(entry.payload or {}))
    return "，".join(w for w in words if w)


#: a text a step recorded that the history line repeats (a licence number, not an essay)
SHORT_TEXT = 40


def _step_values(definition: ProcessDefinition | None, element: str, data: dict[str, Any]) -> list[str]:
    """What a completed step decided besides its outcome, by the form's own labels: each choice
    (审查结论：通过) and short text (食品经营许可证编号：JY…), in the form's order."""
    info = definition.user_tasks.get(element) if definition is not None else None
    if info is None:
        return []
    out = []
    for form_field in info.form:
        value = data.get(form_field.id)
        if form_field.id in ("acceptance", "decision") or value in (None, "") or form_field.picks_for:
            continue  # the outcome is said in words already; a person picked is in the next entries
        if form_field.options:
            value = dict(form_field.options).get(str(value), value)
        elif form_field.type == "boolean":
            if not value:
                continue
            value = "是"
        elif not isinstance(value, str) or len(value) > SHORT_TEXT or "\n" in value:
            continue
        out.append(f"{form_field.label}：{value}")
    return out


def history_view(session: Session, case: Case, definition: ProcessDefinition | None = None) -> list[dict[str, Any]]:
    """Each entry of the case history as people read it: when (China time), who (by name, and
    on whose behalf), what (the command's label and the particulars in words; with the case's
    ``definition``, what each step decided by its form's labels)."""
    entries = list(session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id)
                                   .order_by(HistoryEntry.seq)))
    people = {e.actor for e in entries} | {(e.payload or {}).get("on_behalf_of") for e in entries}
    for e in entries:
        inputs, result = e.inputs or {}, e.payload or {}
        for value in (inputs.get("to"), result.get("assignee"), result.get("owner"), result.get("notified"),
                      result.get("holder")):
            people |= set(value) if isinstance(value, list) else {value}
    names = display_names(session, {p for p in people if isinstance(p, str)})
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
            if result.get("kind") in ("yellow", "red", "deemed") and result.get("due_on"):
                # it fires as the last day ends, so the entry is dated the day after: say which day
                details.append(f"期限 {result['due_on']} 届满")
            if result.get("notified"):  # whom a card or its escalation told
                details.append("告知 " + "、".join(names.get(n, n) for n in result["notified"]))
        elif e.command == "record_deadline_failure":
            what = f"{_deadline_words(session, case, result)}触发失败"
        elif e.command == "return_task":
            to = elements.get(inputs.get("to", ""), inputs.get("to", ""))
            what = f"从“{step}”退回到“{to}”" if step else f"退回到“{to}”"
            step = ""
        elif e.command in ("transfer_task", "delegate_task", "add_cosigner", "hand_back_task"):
            target = result.get("assignee") or result.get("owner") or inputs.get("to")
            if target:
                details.append(f"{'交回' if e.command == 'hand_back_task' else '给'} {names.get(target, target)}")
        elif e.command == "complete_task" and isinstance(inputs.get("data"), dict):
            data = inputs["data"]  # the outcome a step decided, in words: a refusal never reads like an acceptance
            outcome = _outcome_words(data)
            if outcome:
                details.append(outcome)
            details.extend(_step_values(definition, result.get("element", ""), data))
        elif e.command == "request_supplement" and inputs.get("materials"):
            details.append("补正：" + "、".join(str(m) for m in inputs["materials"]))
        elif e.command == "reassign_task":  # 改派 by an administrator (a departing user's task)
            holder = names.get(result.get("holder", ""), result.get("holder", ""))
            target = result.get("assignee")
            details.append(f"由 {holder} 改派给 {names.get(target, target)}" if target else f"{holder} 的任务退回共享待办")
        elif e.command == "migrate_case" and result.get("to_version"):
            details.append(f"第 {result.get('from_version')} 版 → 第 {result['to_version']} 版")
        elif e.command == "start_case" and not e.actor.startswith(("applicant:", "system")):
            what = "受理登记（收件）"
        elif e.command == "start_case" and inputs.get("account") is not None:
            what = "网上申请"
        elif e.command == "rate_service" and result.get("score") in RATINGS:
            details.append(RATINGS[result["score"]])
            if result.get("notified"):
                details.append("告知 " + "、".join(names.get(n, n) for n in result["notified"]))
        elif e.command in ("submit_supplement", "withdraw_application") and result.get("notified"):
            details.append("告知 " + "、".join(names.get(n, n) for n in result["notified"]))
        elif e.command == "record_materials" and isinstance(result.get("materials"), dict):
            counts: dict[str, int] = {}
            for m in result["materials"].values():
                counts[m.get("status")] = counts.get(m.get("status"), 0) + 1
            words = {"received": "已收", "missing": "缺", "deferred": "容缺", "na": "不涉及"}
            details.append("，".join(f"{words.get(k, k)} {n} 项" for k, n in counts.items()))
        elif e.command == "attach_material":
            details.append(f"{inputs.get('material', '')}：{inputs.get('filename', '')}")
        elif e.command == "copy_case":
            details.append("、".join(names.get(n, n) for n in result.get("notified", [])))
        elif e.command in ("request_extension", "extend_deadline") and (result.get("days") or inputs.get("days")):
            details.append(f"{result.get('days') or inputs.get('days')} 个工作日")
        elif e.command == "correct_case_data":
            details.extend(f"{c.get('label')}：{_shown(c.get('old'))} → {_shown(c.get('new'))}"
                           for c in result.get("changes", []))
        elif e.command == "rewind_case":
            to = elements.get(inputs.get("to", ""), inputs.get("to", ""))
            what = f"回退到“{to}”（管理）"
            step = ""
        elif e.command == "suspend_case" and result.get("item"):
            details.append("随事项暂停受理")
        elif e.command == "resume_case" and result.get("stood_days") is not None:
            days = max(result["stood_days"].values(), default=0)
            details.append(f"挂起 {days} 个工作日，期限相应顺延" if days else "期限不变（挂起未跨工作日）")
        elif e.command in ("retry_deadline", "resolve_deadline"):
            details.append(f"期限 {result.get('deadline') or inputs.get('key', '')}")
        issued = _issued_words(result)  # the paper the command issued (受理通知书, 补正告知书, 决定书 …)
        if issued:
            details.append(issued)
        if e.command == "decide_extension":
            what = "批准延期" if inputs.get("approve") else "退回延期申请"
        said = inputs.get("opinion") or inputs.get("reason") or inputs.get("note") or inputs.get("comment") or ""
        said_label = {"return_task": "理由", **{c: "理由" for c in ADMIN_OPERATIONS}, "delegate_task": "委派事项",
                      "transfer_task": "说明", "reassign_task": "理由", "hand_back_task": "意见",
                      "complete_task": "意见", "copy_case": "说明", "rate_service": "评价意见"}.get(e.command, "")
        behalf = result.get("on_behalf_of")
        out.append({
            "seq": e.seq, "at": e.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"),
            "who": actor_label(e.actor, names) + (f"（代 {names.get(behalf, behalf)} 办理）" if behalf else ""),
            "what": what, "step": step, "details": "；".join(details), "said": said, "said_label": said_label,
            "system": e.actor.startswith("system"),
        })
    return out
