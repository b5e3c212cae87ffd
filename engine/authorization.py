"""Who may run a command: a small set of named policies, checked by ``Engine.execute``.

Every command class names one policy (``Command.policy``). The engine checks it after the
command has loaded and locked its case and before the command changes anything; a refusal
is a uniform ``NotAllowed`` and nothing is written. The check returns a ``Grant`` saying on
whose behalf the actor acts (AB岗), which the history records.

Pages ask the same policies which operations to offer (``engine.read.views``), so no page
offers a form the engine would refuse.

The policies:

==========================  ====================================================================
``TASK_HANDLER``            the step's handler: its role in its department (and its assignee
                            once claimed), or the named backup of an away handler (AB岗). Not
                            while the step is delegated (委派): then only the delegate works on it.
``TASK_WORKER``             the handler, or the delegate of a delegated step (暂存).
``TASK_DELEGATE``           only the delegate of a delegated step (交回).
``TASK_COMPLETER``          whoever completed the step (拿回).
``TASK_OVERSIGHT``          the 负责人 of the step's department, or a supervisor (催办).
``ACCEPTANCE_WINDOW``       the handler of the case's open acceptance step (一次性告知, 材料核对).
``CASE_HANDLER``            a handler of one of the case's open steps, or the 负责人 of the item's
                            department (特别程序, 延期申请, 抄送).
``ITEM_HEAD``               the 负责人 of the item's department.
``EXTENSION_APPROVER``      who approves an extension (延期, 审批延期): the item department's 负责人, or
                            for a 联办件 the 本级人民政府负责人 (行政许可法 art. 42).
``CASE_STARTER``            an applicant for themselves, a window clerk registering a walk-in
                            application or a 首问 request, or the system.
``CASE_APPLICANT``          the applicant who applied for the case online, signed in to their
                            account (补正材料, 好差评).
``SUPERVISOR``              a supervisor (电子监察).
``ADMINISTRATOR``           an administrator.
``SYSTEM``                  the system itself: the deadline sweep, a calendar import.
``ORGANISATION``            an administrator, or the server's command line (departments, users,
                            password resets, reassigning a departing user's tasks).
``BACKUP_SETTER``           AB岗: the user, the head of their department, or an administrator.
==========================  ====================================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.clock import CHINA_TZ
from engine.errors import Conflict, NotAllowed
from engine.read.access import may_handle
from engine.roles import role_name
from engine.runtime.definitions import ProcessDefinition
from engine.store.enums import TaskKind, TaskState
from engine.store.models import Case, Task
from engine.timelimits.clocks import extension_approver
from engine.timelimits.policy import policy_from_json


@dataclass(frozen=True)
class Grant:
    """A policy's yes: ``on_behalf_of`` names the away colleague the actor stands in for (AB岗)."""

    on_behalf_of: str | None = None


ALLOWED = Grant()


@dataclass(frozen=True)
class Subject:
    """What a command acts on: its case (always, once loaded) with its process definition and,
    for task commands, the task."""

    case: Case | None
    definition: ProcessDefinition | None
    task: Task | None = None
    #: for commands on no case (supervision): the finding or warning acted on, if any
    record: object | None = None
    #: the case's open steps (by id), when the caller has read them already: a page
    #: asking about many commands on one case reads them once (``ready_of``)
    ready: tuple[Task, ...] | None = None


def ready_of(session: Session, subject: Subject) -> Sequence[Task]:
    """The subject case's open steps, by id: as given, or read."""
    if subject.ready is not None:
        return subject.ready
    return list(session.scalars(select(Task).where(Task.case_id == subject.case.id, Task.state == TaskState.READY)
                                .order_by(Task.id)))


Check = Callable[[Session, Actor, Subject], Grant]


@dataclass(frozen=True)
class Policy:
    """A named rule of who may act. ``check`` returns a ``Grant`` or raises ``NotAllowed``
    (``Conflict`` where the subject is no longer there to act on, e.g. a finished step)."""

    name: str
    label: str  # who, in Chinese, for pages and docs
    check: Check

    def authorize(self, session: Session, actor: Actor, subject: Subject) -> Grant:
        return self.check(session, actor, subject)

    def allows(self, session: Session, actor: Actor, subject: Subject) -> bool:
        """For pages: would ``authorize`` say yes?"""
        try:
            self.check(session, actor, subject)
        except (NotAllowed, Conflict):
            return False
        return True


def _staff(actor: Actor, what: str) -> None:
    if actor.user_id is None:
        raise NotAllowed(f"只有工作人员可以{what}")


def _ready(task: Task) -> None:
    if task.state != "ready":
        when = f"于 {task.completed_at.astimezone(CHINA_TZ):%Y-%m-%d %H:%M} " if task.completed_at else ""
        who = task.completed_by.display_name if task.completed_by is not None else "系统"
        done = {"completed": "办理", "returned": "退回", "taken_back": "撤回", "cancelled": "撤销"}.get(task.state, "处理")
        raise Conflict(f"任务“{task.name}”已由 {who} {when}{done}，不在待办中，无需再办理；请回到待办列表")


def _handler(actor: Actor, task: Task) -> Grant:
    """The role in the department (and the assignee once claimed), or an away holder's backup."""
    if may_handle(actor.user_id, actor.department_id, actor.roles, task):
        return ALLOWED
    for principal in actor.principals:
        if may_handle(principal.user_id, principal.department_id, principal.roles, task):
            return Grant(on_behalf_of=principal.name)
    if task.assignee_id is not None and actor.has_role(task.role) and actor.department_id == task.department_id:
        raise NotAllowed(f"任务“{task.name}”已由 {task.assignee.display_name} 认领")
    raise NotAllowed(f"{actor.display_name or actor.name} 不能办理任务“{task.name}”：需要 {task.department.name} 的"
                     f"{role_name(task.role)}")


def _task(subject: Subject) -> Task:
    if subject.task is None:  # a wiring error, not a user's mistake
        raise TypeError("this policy needs a task command")
    return subject.task


def _task_handler(session: Session, actor: Actor, subject: Subject) -> Grant:
    task = _task(subject)
    _staff(actor, f"办理任务“{task.name}”")
    _ready(task)
    if task.delegated_by_id is not None:
        if task.assignee_id == actor.user_id:
            raise NotAllowed(f"“{task.name}”是委派给您的任务：请办理后交回委派人，由其提交、退回或转办")
        raise NotAllowed(f"任务“{task.name}”已委派给 {task.assignee.display_name}，待其交回")
    return _handler(actor, task)


def _task_worker(session: Session, actor: Actor, subject: Subject) -> Grant:
    task = _task(subject)
    _staff(actor, f"办理任务“{task.name}”")
    _ready(task)
    if task.delegated_by_id is not None:
        if task.assignee_id == actor.user_id:
            return ALLOWED
        raise NotAllowed(f"任务“{task.name}”已委派给 {task.assignee.display_name}，待其交回")
    return _handler(actor, task)


def _task_delegate(session: Session, actor: Actor, subject: Subject) -> Grant:
    task = _task(subject)
    _staff(actor, f"交回任务“{task.name}”")
    _ready(task)
    if task.delegated_by_id is None or task.assignee_id != actor.user_id:
        raise NotAllowed(f"“{task.name}”不是委派给您的任务")
    return ALLOWED


def _task_completer(session: Session, actor: Actor, subject: Subject) -> Grant:
    task = _task(subject)
    _staff(actor, "拿回环节")
    if task.kind != "bpmn" or task.state != "completed" or task.completed_by_id != actor.user_id:
        raise NotAllowed(f"只能拿回自己办理的环节（“{task.name}”）")
    return ALLOWED


def _task_oversight(session: Session, actor: Actor, subject: Subject) -> Grant:
    task = _task(subject)
    _ready(task)
    if actor.user_id is not None and (actor.has_role("supervisor") or (
            actor.has_role("head") and actor.department_id == task.department_id)):
        return ALLOWED
    raise NotAllowed(f"只有 {task.department.name} 的负责人或监察员可以催办")


def acceptance_task(session: Session, case: Case, definition: ProcessDefinition,
                    ready: tuple[Task, ...] | None = None) -> Task | None:
    """The case's open acceptance step (受理), if it has one (``ready``: its open steps, if read)."""
    stage = {e for e, t in definition.user_tasks.items() if t.settings.stage == "acceptance"}
    return next((t for t in ready_of(session, Subject(case, definition, ready=ready))
                 if t.kind == TaskKind.BPMN and t.element_id in stage), None)


def _acceptance_window(session: Session, actor: Actor, subject: Subject) -> Grant:
    _staff(actor, "办理受理事项")
    task = acceptance_task(session, subject.case, subject.definition, subject.ready)
    if task is None:
        raise Conflict(f"办件 {subject.case.number} 不在受理环节")
    return _task_handler(session, actor, Subject(subject.case, subject.definition, task, ready=subject.ready))


def _item_head(actor: Actor, case: Case) -> bool:
    return actor.user_id is not None and actor.has_role("head") and actor.department_id == case.item.department_id


def _case_handler(session: Session, actor: Actor, subject: Subject) -> Grant:
    _staff(actor, "操作办件")
    case = subject.case
    if _item_head(actor, case):
        return ALLOWED
    for task in ready_of(session, subject):
        if task.delegated_by_id is not None:
            continue
        try:
            return _handler(actor, task)
        except NotAllowed:
            continue
    raise NotAllowed(f"{actor.display_name or actor.name} 不是办件 {case.number} 的经办人或负责人")


def _item_head_check(session: Session, actor: Actor, subject: Subject) -> Grant:
    if _item_head(actor, subject.case):
        return ALLOWED
    raise NotAllowed(f"须由 {subject.case.item.department.name} 负责人办理")


def _extension_approver(session: Session, actor: Actor, subject: Subject) -> Grant:
    case = subject.case
    approver = extension_approver(case.item, policy_from_json(case.started_policy))
    if actor.user_id is not None and approver.allows(actor):
        return ALLOWED
    raise NotAllowed(approver.refusal(case.item))


def _case_starter(session: Session, actor: Actor, subject: Subject) -> Grant:
    if actor.kind == "system":
        return ALLOWED
    if actor.kind == "applicant":
        if subject.case.applicant == actor.display_name and subject.case.account_id == actor.account_id:
            return ALLOWED
        raise NotAllowed("申请人只能以本人名义提交申请")
    if actor.user_id is not None and actor.has_role("window_clerk"):
        return ALLOWED
    raise NotAllowed(f"只有窗口受理员可以登记申请（{actor.display_name or actor.name} 不是窗口受理员）")


def _case_applicant(session: Session, actor: Actor, subject: Subject) -> Grant:
    if actor.kind == "applicant" and actor.account_id is not None \
            and subject.case.account_id == actor.account_id:
        return ALLOWED
    raise NotAllowed("只有在网上申请该办件的申请人本人可以进行此操作")


def _role(role: str) -> Check:
    def check(session: Session, actor: Actor, subject: Subject) -> Grant:
        if actor.user_id is not None and actor.has_role(role):
            return ALLOWED
        raise NotAllowed(f"只有{role_name(role)}可以进行此操作")

    return check


def _system(session: Session, actor: Actor, subject: Subject) -> Grant:
    if actor.kind == "system":
        return ALLOWED
    raise NotAllowed("此操作只由系统执行（时限扫描、日历导入）")


TASK_HANDLER = Policy("task_handler", "环节的经办人（含 AB 岗替岗人；委派期间除外）", _task_handler)
TASK_WORKER = Policy("task_worker", "环节的经办人或受委派人", _task_worker)
TASK_DELEGATE = Policy("task_delegate", "环节的受委派人", _task_delegate)
TASK_COMPLETER = Policy("task_completer", "办理该环节的人", _task_completer)
TASK_OVERSIGHT = Policy("task_oversight", "环节所在部门的负责人或监察员", _task_oversight)
ACCEPTANCE_WINDOW = Policy("acceptance_window", "受理环节的经办人", _acceptance_window)
CASE_HANDLER = Policy("case_handler", "办件当前环节的经办人，或事项主管部门负责人", _case_handler)
ITEM_HEAD = Policy("item_head", "事项主管部门负责人", _item_head_check)
EXTENSION_APPROVER = Policy("extension_approver", "事项主管部门负责人；联办件为本级人民政府负责人（行政许可法第四十二条）",
                            _extension_approver)
CASE_STARTER = Policy("case_starter", "申请人本人、窗口受理员或系统", _case_starter)
CASE_APPLICANT = Policy("case_applicant", "在网上申请该办件的申请人本人", _case_applicant)
SUPERVISOR = Policy("supervisor", "监察员", _role("supervisor"))
ADMINISTRATOR = Policy("administrator", "管理员", _role("admin"))
SYSTEM = Policy("system", "系统", _system)

POLICIES: tuple[Policy, ...] = (TASK_HANDLER, TASK_WORKER, TASK_DELEGATE, TASK_COMPLETER, TASK_OVERSIGHT,
                                ACCEPTANCE_WINDOW, CASE_HANDLER, ITEM_HEAD, EXTENSION_APPROVER, CASE_STARTER,
                                CASE_APPLICANT, SUPERVISOR, ADMINISTRATOR, SYSTEM)


def any_of(name: str, label: str, *policies: Policy) -> Policy:
    """A policy satisfied by any of ``policies``; the refusal is the first one's."""

    def check(session: Session, actor: Actor, subject: Subject) -> Grant:
        first: Exception | None = None
        for policy in policies:
            try:
                return policy.check(session, actor, subject)
            except (NotAllowed, Conflict) as exc:
                first = first or exc
        assert first is not None
        raise first

    return Policy(name, label, check)


CASE_HANDLER_OR_OVERSIGHT = any_of("case_handler_or_oversight", "办件的经办人、负责人、监察员或管理员",
                                   CASE_HANDLER, SUPERVISOR, ADMINISTRATOR)
#: a scanned material: received by a handler, or uploaded by the applicant who applied online
CASE_HANDLER_OR_APPLICANT = any_of("case_handler_or_applicant", "办件当前环节的经办人，或在网上申请的申请人本人",
                                   CASE_HANDLER, CASE_APPLICANT)
POLICIES += (CASE_HANDLER_OR_OVERSIGHT, CASE_HANDLER_OR_APPLICANT)


def _item_window(session: Session, actor: Actor, subject: Subject) -> Grant:
    case = subject.case
    if actor.user_id is not None and actor.has_role("window_clerk") and actor.department_id == case.item.department_id:
        return ALLOWED
    raise NotAllowed(f"只有 {case.item.department.name} 的窗口受理员可以进行此操作")


ITEM_WINDOW = Policy("item_window", "事项主管部门的窗口受理员", _item_window)
#: a material accepted for later (容缺) brought in: at the window, or by whoever holds the case now
CASE_HANDLER_OR_WINDOW = any_of("case_handler_or_window", "办件当前环节的经办人、事项主管部门负责人或其窗口受理员",
                                CASE_HANDLER, ITEM_WINDOW)
POLICIES += (ITEM_WINDOW, CASE_HANDLER_OR_WINDOW)


def _finding_department_head(session: Session, actor: Actor, subject: Subject) -> Grant:
    finding = subject.record
    if finding is None:  # a wiring error
        raise TypeError("this policy needs a finding")
    if actor.user_id is not None and actor.has_role("head") and actor.department_id == finding.department_id:
        return ALLOWED
    raise NotAllowed(f"只有 {finding.department.name} 的负责人可以作出说明")


#: who answers a supervisor's request to explain a finding (engine/supervision)
FINDING_DEPARTMENT_HEAD = Policy("finding_department_head", "被要求说明的部门的负责人", _finding_department_head)
SYSTEM_OR_SUPERVISOR = any_of("system_or_supervisor", "系统（时限扫描）或监察员", SYSTEM, SUPERVISOR)
POLICIES += (FINDING_DEPARTMENT_HEAD, SYSTEM_OR_SUPERVISOR)


# ---------------------------------------------------------------- the organisation (engine/commands/organisation.py)

#: departments, users, roles, deactivation, password resets, reassigning a departing user's tasks:
#: an administrator, or the server's command line (``approvals user …``, which acts as the system
#: so that the first administrator can be added)
ORGANISATION = any_of("organisation", "管理员（或服务器命令行）", ADMINISTRATOR, SYSTEM)


def _backup_setter(session: Session, actor: Actor, subject: Subject) -> Grant:
    staff = subject.record
    if staff is None:  # a wiring error
        raise TypeError("this policy needs the user whose backup is set")
    if actor.kind == "system" or (actor.user_id is not None and (
            actor.has_role("admin") or actor.user_id == staff.id
            or (actor.has_role("head") and actor.department_id == staff.department_id))):
        return ALLOWED
    raise NotAllowed(f"只有本人、{staff.department.name} 的负责人或管理员可以设置 {staff.display_name} 的 AB 岗")


#: AB岗 (a user's backup and being away): the user, the head of their department, or an administrator
BACKUP_SETTER = Policy("backup_setter", "本人、所在部门负责人或管理员", _backup_setter)
POLICIES += (ORGANISATION, BACKUP_SETTER)
