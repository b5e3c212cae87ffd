"""受理登记: a walk-in application registered at the window, and what the clerk does with it there.

A registration is a short sequence of commands, each its own transaction and history entry, in
the order the law sees them: the case starts (收件: the acceptance period runs from here), the
materials checklist is recorded, each scanned material is attached, and then — if the clerk
handles the item's acceptance step — the application is accepted on the spot, a one-time notice
(一次性告知) is issued, or it is refused (不予受理) with the reason. An item concluded at the
window (即办件) goes on to its next step with the same clerk.

Everything that can be checked before the case exists is checked first (the applicant, the
application fields, the checklist, the files, the chosen action's own requirements), so that bad
input leaves nothing behind. Should a later command still be refused (say, a colleague changed
the item's process a moment ago), the case stays registered and waiting at its acceptance step,
and the result says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.clock import china_date
from engine.commands.cases import MATERIAL_STATES
from engine.commands import (AttachMaterial, CompleteTask, RecordMaterials, RequestSupplement, StartCase)
from engine.errors import ApprovalError, BadInput, NotAllowed, NotFound
from engine.files import FileStore, StoredFile
from engine.intake import (APPLICANT_FIELDS, APPLICANT_KINDS, ApplicationInvalid, check_registration)
from engine.read.access import may_handle
from engine.runtime.definitions import FormField, UserTaskInfo
from engine.runtime.values import check_form
from engine.store.enums import TaskState
from engine.versions import current_version
from engine.store.models import Case, Department, Item, ProcessVersion, Task

ACTIONS = {"accept": "受理", "notice": "一次性告知补正", "refuse": "不予受理", "register": "仅登记收件"}
MAX_UPLOADS = 30


@dataclass(frozen=True)
class Upload:
    """A scanned file as received from the browser: for which material, its name and bytes."""

    material: str
    filename: str
    data: bytes


@dataclass(frozen=True)
class Registration:
    item: str
    applicant: dict[str, Any]
    application: dict[str, Any]
    #: (material name, received | missing | deferred) for every material of the item's guide
    statuses: tuple[tuple[str, str], ...]
    action: str
    uploads: tuple[Upload, ...] = ()
    #: the acceptance step's own form fields other than ``acceptance`` (e.g. 身份证件核验)
    acceptance_values: dict[str, Any] = field(default_factory=dict)
    opinion: str = ""
    #: for a one-time notice: what is missing beyond the unticked materials, and a note
    extra_missing: tuple[str, ...] = ()
    note: str = ""


@dataclass
class Registered:
    case: str
    action: str
    #: what happened, for the clerk (已受理 …), and what did not, if a later step was refused
    message: str
    refused: str | None = None
    #: the step the clerk can go on with at the window (即办件), if any
    next_task: int | None = None


@dataclass(frozen=True)
class RegistrationForm:
    """What the registration page of an item shows and offers."""

    item: dict[str, Any]
    applicant_kinds: dict[str, str]
    applicant_fields: dict[str, tuple[tuple[str, str], ...]]
    fields: list[dict[str, Any]]
    materials: list[dict[str, Any]]
    acceptance_form: tuple[FormField, ...]
    #: the clerk handles this item's acceptance step (always: others are refused the form)
    may_accept: bool
    acceptance_department: str


def _acceptance_step(session: Session, version: ProcessVersion, definitions) -> UserTaskInfo | None:
    definition = definitions(session, version)
    return next((info for info in definition.user_tasks.values() if info.settings.stage == "acceptance"), None)


def _newest_version(session: Session, item: Item) -> ProcessVersion:
    version = current_version(session, item)  # the one new cases start on
    if version is None:
        raise NotFound(f"审批事项“{item.name}”还没有部署流程，暂不能登记")
    return version


def registration_form(session: Session, actor: Actor, code: str, definitions) -> RegistrationForm:
    item = session.scalar(select(Item).where(Item.code == code))
    if item is None:
        raise NotFound(f"审批事项 {code} 不存在")
    step = _acceptance_step(session, _newest_version(session, item), definitions)
    department_id = item.department_id
    if step is not None and step.department:
        department_id = session.scalar(select(Department.id).where(Department.code == step.department)) or department_id
    may_accept = step is not None and actor.user_id is not None and step.role in actor.roles \
        and actor.department_id == department_id
    if not may_accept:
        raise NotAllowed(f"“{item.name}”由{item.department.name}窗口受理登记；其他部门的事项请在待办页用“首问登记”转交")
    guide = item.guide or {}
    return RegistrationForm(
        item={"code": item.code, "name": item.name, "kind": item.kind, "department": item.department.name,
              "summary": guide.get("summary", ""), "conditions": guide.get("conditions", []),
              "promised_days": (item.time_policy or {}).get("promised_days"),
              "statutory_days": (item.time_policy or {}).get("statutory_days")},
        applicant_kinds={k: v for k, v in APPLICANT_KINDS.items() if k in guide.get("applicant_kinds", APPLICANT_KINDS)},
        applicant_fields=APPLICANT_FIELDS,
        fields=guide.get("application", []), materials=guide.get("materials", []),
        acceptance_form=tuple(f for f in (step.form if step else ()) if f.id != "acceptance"),
        may_accept=may_accept, acceptance_department=item.department.name)


def _check_before_start(reg: Registration, item: Item, today, step: UserTaskInfo | None) -> tuple[list[str], str]:
    """Everything checkable before the case exists; returns the missing materials and the opinion."""
    guide = item.guide or {}
    problems: dict[str, str] = {}
    try:
        check_registration(reg.applicant, guide.get("application", []), reg.application, today)
    except ApplicationInvalid as exc:
        problems.update(exc.problems)
    kinds = guide.get("applicant_kinds", list(APPLICANT_KINDS))
    if isinstance(reg.applicant, dict) and reg.applicant.get("kind") in APPLICANT_KINDS \
            and reg.applicant["kind"] not in kinds:
        problems["applicant.kind"] = f"本事项的申请人只能是{'或'.join(APPLICANT_KINDS[k] for k in kinds)}"
    materials = {m["name"]: m for m in guide.get("materials", [])}
    answered = dict(reg.statuses)
    for name, status in reg.statuses:
        if name not in materials:
            raise BadInput(f"“{name}”不是本事项的申请材料")
        if status not in MATERIAL_STATES:
            raise BadInput(f"材料状态应为 {'、'.join(MATERIAL_STATES)} 之一")
        if status == "deferred" and not materials[name].get("deficiency_allowed"):
            problems[f"materials.{name}"] = f"“{name}”不允许容缺受理"
        if status == "na" and materials[name].get("required"):
            problems[f"materials.{name}"] = f"“{name}”是必需材料，不能标为不涉及"
    unmarked = [n for n in materials if n not in answered]
    if unmarked:
        problems["materials"] = f"请逐项核对材料，尚未核对：{'、'.join(unmarked)}"
    for upload in reg.uploads:
        if upload.material not in materials:
            raise BadInput(f"“{upload.material}”不是本事项的申请材料")
    if len(reg.uploads) > MAX_UPLOADS:
        problems["uploads"] = f"一次最多上传 {MAX_UPLOADS} 个扫描件"
    missing = [n for n, s in reg.statuses if s == "missing" and materials[n].get("required")]
    missing += [m.strip() for m in reg.extra_missing if m.strip()]
    opinion = (reg.opinion or "").strip()
    if reg.action not in ACTIONS:
        raise BadInput(f"请选择办理方式：{'、'.join(ACTIONS.values())}")
    if reg.action == "accept" and missing:
        problems["action"] = f"必需材料不齐（{'、'.join(missing)}），不能当场受理：请一次性告知补正，或改为容缺"
    if reg.action == "notice" and not missing:
        problems["action"] = "没有缺少的材料：一次性告知需列出全部需补正的材料"
    if reg.action == "refuse" and not opinion:
        problems["opinion"] = "不予受理须写明理由（将写入不予受理决定书）"
    if reg.action in ("accept", "refuse") and step is not None:
        try:
            check_form(step.form, {**reg.acceptance_values, "acceptance": reg.action})
        except BadInput as exc:
            problems["acceptance"] = exc.message
    if problems:
        raise ApplicationInvalid(problems)
    return missing, opinion


def register(engine, actor: Actor, reg: Registration, files: FileStore) -> Registered:
    """Register a walk-in application and do at once what the clerk chose (see the module)."""
    with engine.db.reader() as session:
        item = session.scalar(select(Item).where(Item.code == reg.item))
        if item is None:
            raise NotFound(f"审批事项 {reg.item} 不存在")
        registration_form(session, actor, reg.item, engine.definition)  # the clerk of this item's window
        step = _acceptance_step(session, _newest_version(session, item), engine.definition)
        missing, opinion = _check_before_start(reg, item, china_date(engine.now()), step)
    stored: list[tuple[Upload, StoredFile]] = [(u, files.put(u.data, u.filename)) for u in reg.uploads]

    case = engine.execute(StartCase(item=reg.item, applicant=str(reg.applicant.get("name", "")).strip(),
                                    applicant_info=reg.applicant, application=reg.application), actor)
    number = case.number
    done = [f"已登记收件，办件编号 {number}"]
    try:
        engine.execute(RecordMaterials(case=number, statuses=reg.statuses), actor)
        for upload, kept in stored:
            engine.execute(AttachMaterial(case=number, material=upload.material, filename=kept.filename,
                                          content_type=kept.content_type, size=kept.size, sha256=kept.sha256), actor)
        if reg.action == "notice":
            # what the clerk wrote as the opinion goes with the notice too: it would be lost otherwise
            note = "\n".join(dict.fromkeys(t for t in ((reg.note or "").strip(), opinion) if t))
            engine.execute(RequestSupplement(case=number, materials=tuple(missing), note=note), actor)
            done.append("已发出一次性告知")
        elif reg.action in ("accept", "refuse"):
            task = _acceptance_task(engine, number)
            engine.execute(CompleteTask(task=task, data={**reg.acceptance_values, "acceptance": reg.action},
                                        opinion=opinion), actor)
            done.append("已受理" if reg.action == "accept" else "已决定不予受理")
    except ApprovalError as exc:
        return Registered(number, reg.action, "；".join(done), refused=exc.message,
                          next_task=_acceptance_task(engine, number, missing_ok=True))
    next_task = _next_task_for(engine, actor, number) if reg.action == "accept" else None
    return Registered(number, reg.action, "；".join(done), next_task=next_task)


def _acceptance_task(engine, number: str, *, missing_ok: bool = False) -> int | None:
    with engine.db.reader() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        definition = engine.definition(session, case.process_version)
        for task in session.scalars(select(Task).where(Task.case_id == case.id, Task.state == TaskState.READY)):
            info = definition.user_tasks.get(task.element_id)
            if task.kind == "bpmn" and info is not None and info.settings.stage == "acceptance":
                return task.id
    if missing_ok:
        return None
    raise BadInput("本事项的流程没有受理环节，已登记收件，请在办件中继续办理")


def _next_task_for(engine, actor: Actor, number: str) -> int | None:
    """The case's next step if this clerk handles it at the window (即办件: 当场办结)."""
    with engine.db.reader() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        for task in session.scalars(select(Task).where(Task.case_id == case.id, Task.state == TaskState.READY)
                                    .order_by(Task.id)):
            if may_handle(actor.user_id, actor.department_id, actor.roles, task):
                return task.id
    return None


def attach(engine, actor: Actor, number: str, material: str, uploads: list[Upload], files: FileStore) -> int:
    """Scans received later (补正材料): every file checked and kept first, then each attached by its
    own command; returns how many."""
    if not uploads:
        raise BadInput("请选择要上传的扫描件")
    if len(uploads) > MAX_UPLOADS:
        raise BadInput(f"一次最多上传 {MAX_UPLOADS} 个扫描件")
    stored = [files.put(u.data, u.filename) for u in uploads]
    for kept in stored:
        engine.execute(AttachMaterial(case=number, material=material, filename=kept.filename,
                                      content_type=kept.content_type, size=kept.size, sha256=kept.sha256), actor)
    return len(stored)
