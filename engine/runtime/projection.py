"""Keep the task table in step with the workflow after every command.

Only the one case's ready tasks are read and written, so the cost of a command
does not depend on how many tasks the case has had before.
"""
from __future__ import annotations

import json
import uuid

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from engine.errors import BadInput, BpmnError
from engine.runtime.definitions import ProcessDefinition
from engine.runtime.spiff import may_have_row, ready_user_tasks
from engine.store.enums import TaskKind, TaskState
from engine.roles import role_name
from engine.runtime.step_rules import chosen_field
from engine.store.models import Case, Deadline, Department, Task, User, UserRole
from engine.store.plain import Plain, PlainJoin


def project_tasks(session: Session, case: Case, definition: ProcessDefinition, workflow,
                  at: datetime, department_ids: dict[str, int], open_rows: list[Task]) -> tuple[list[Task], list[Task], list[Task]]:
    """Insert newly ready tasks, cancel the ones the flow withdrew; return (opened, cancelled,
    skipped): skipped are steps nobody may handle whose settings say to pass them (``nobody=skip``),
    recorded as completed by nobody; the caller completes them in the workflow.
    ``open_rows``: the case's open task rows as they stand in the command.

    Only workflow tasks are compared: follow-up tasks the engine creates itself are not
    in the workflow and stay as they are."""
    ready = {t.id: t for t in ready_user_tasks(workflow)}
    open_rows = [row for row in open_rows if row.kind == "bpmn"]
    cancelled, skipped = [], []
    for row in open_rows:
        if row.spiff_id not in ready:  # withdrawn by the flow (e.g. a boundary timer fired)
            row.state = "cancelled"
            cancelled.append(row)
    known = {row.spiff_id for row in open_rows}
    opened = []
    unknown = [i for i in ready if i not in known and may_have_row(i)]
    reopened = {row.spiff_id: row for row in session.scalars(
        select(Task).where(Task.case_id == case.id, Task.kind == TaskKind.BPMN, Task.state != "ready",
                           Task.spiff_id.in_(unknown)))} if unknown else {}
    for spiff_id, task in ready.items():
        if spiff_id in known:
            continue
        row = reopened.get(spiff_id)
        if row is not None:  # a step the flow went back to (退回, 拿回): the same task, open again,
            session.add(_finished_round(row))  # and the work done on it before stays on record
            row.state, row.created_at, row.completed_at, row.completed_by_id = "ready", at, None, None
            row.assignee_id, row.opinion, row.form_data, row.draft, row.deemed = None, None, None, None, False
            opened.append(row)
            continue
        info = definition.user_tasks.get(task.element)
        if info is None:
            raise BpmnError("就绪的用户任务在定义中找不到", element=task.element)
        department_id = base_department(session, case, info, task.data, department_ids)
        role, department_id, assignee_id = handler_of(session, case, info, task.data, department_id)
        if role is None:  # nobody fits and the step says to pass it: done by nobody, on record
            row = Task(case_id=case.id, spiff_id=spiff_id, element_id=info.element_id, name=info.name,
                       role=info.role, department_id=department_id, state="completed", created_at=at,
                       completed_at=at, opinion=SKIPPED_OPINION, form_data={}, kind="bpmn", deemed=False)
            session.add(row)
            skipped.append(row)
            continue
        row = Task(case_id=case.id, spiff_id=spiff_id, element_id=info.element_id, name=info.name,
                   role=role, department_id=department_id, assignee_id=assignee_id, state="ready",
                   created_at=at, kind="bpmn", deemed=False)
        session.add(row)
        opened.append(row)
    return opened, cancelled, skipped


SKIPPED_OPINION = "无人可以办理，按环节设置跳过"


def base_department(session: Session, case: Case, info, data: dict[str, Any], department_ids: dict[str, int]) -> int:
    """The department a step belongs to: named in an earlier form (交办), fixed on the step, or
    the item's."""
    if info.settings.department_field:  # the department is chosen in an earlier form (交办)
        code = data.get(info.settings.department_field)
        department_id = session.scalar(select(Department.id).where(Department.code == str(code)))
        if department_id is None:
            raise BadInput(f"“{info.name}”应由字段 {info.settings.department_field} 指定的部门办理，"
                           f"但部门 “{code}” 不存在")
        return department_id
    if info.department:
        return department_ids[info.department]
    return case.item.department_id


def _holders(session: Session, role: str, department_id: int) -> bool:
    return session.scalar(select(User.id).join(UserRole).where(
        UserRole.role == role, User.department_id == department_id, User.active.is_(True)).limit(1)) is not None


def picked_person(session: Session, info, username: Any, role: str, department_id: int) -> User | None:
    """The person an earlier form named to handle ``info`` (``handler`` chosen or field), checked:
    an active member of staff holding the step's role in its department. None when none is named."""
    if username in (None, ""):
        return None
    user = session.scalar(select(User).where(User.username == str(username)))
    if user is None or not user.active:
        raise BadInput(f"“{info.name}”的办理人 “{username}” 不存在或已停用")
    if role not in user.role_codes or user.department_id != department_id:
        department = session.get(Department, department_id)
        raise BadInput(f"{user.display_name} 不是 {department.name} 的{role_name(role)}，不能办理“{info.name}”")
    return user


def handler_of(session: Session, case: Case, info, data: dict[str, Any],
               department_id: int) -> tuple[str | None, int, int | None]:
    """Who handles a step that opens, by its settings: (role, department, assignee); role None
    when nobody may and the step is to be skipped. Without settings: its role in its department."""
    rules = info.rules
    role, assignee = info.role, None
    if rules.handler in ("head", "head_chain"):
        role = "head"
    elif rules.handler in ("chosen", "field"):
        field = chosen_field(info.element_id) if rules.handler == "chosen" else rules.handler_field
        person = picked_person(session, info, data.get(field), role, department_id)
        if person is not None:
            return role, department_id, person.id
    if rules.nobody is None or _holders(session, role, department_id):
        return role, department_id, assignee
    if rules.nobody == "skip":
        return None, department_id, None
    return "head", case.item.department_id, None  # admin: the 负责人 of the item's department


def _finished_round(row: Task) -> Task:
    """A copy of a finished step about to open again (退回, 拿回), so that the case's steps and the
    handler's 已办 keep the earlier round. Its id is derived from the step's and the step's version
    (which every change of state bumps), so a replay makes the same one."""
    return Task(case_id=row.case_id, spiff_id=str(uuid.uuid5(uuid.UUID(row.spiff_id), f"round:{row.version}")),
                element_id=row.element_id, name=row.name, role=row.role, department_id=row.department_id,
                assignee_id=row.assignee_id, state=row.state, created_at=row.created_at,
                completed_at=row.completed_at, completed_by_id=row.completed_by_id, opinion=row.opinion,
                form_data=row.form_data, kind=row.kind, deemed=row.deemed, followup_of_id=row.followup_of_id,
                due_on=row.due_on, alert=row.alert)


#: built once: building a statement costs more than running it
_TASK_ROWS = PlainJoin(Plain(Task), Plain(Department))
_OPEN_TASKS = (select(*_TASK_ROWS.columns)
               .select_from(Task).outerjoin(Department, Task.department_id == Department.id)
               .where(Task.case_id == bindparam("case_id"), Task.state == TaskState.READY)
               .order_by(Task.created_at, Task.id))
_DEPARTMENTS = select(Department).where(Department.code.in_(bindparam("codes", expanding=True)))


def open_tasks(session: Session, case_id: int) -> list[Task]:
    """The case's open tasks, with their departments (which the history's snapshot names); as
    objects made from plain rows (``engine.store.plain``): every command reads them."""
    tasks = []
    for row in session.connection().execute(_OPEN_TASKS, {"case_id": case_id}):
        task, department = _TASK_ROWS.load(session, row)
        if "department" not in task.__dict__:
            set_committed_value(task, "department", department)
        tasks.append(task)
    return tasks


def snapshot(tasks: list[Task]) -> list[dict[str, Any]]:
    """What the history records as 'ready after this command': no database ids, so it is
    the same on every database and in replay. A task nobody has claimed has no ``assignee`` in
    the stored form (``full_ready`` gives every reader ``"assignee": null`` back)."""
    return sorted(
        ({"task": t.spiff_id, "element": t.element_id, "name": t.name, "role": t.role,
          "department": _related(t, "department", Department.code, t.department_id),
          **({"assignee": _related(t, "assignee", User.username, t.assignee_id)} if t.assignee_id is not None else {})}
         for t in tasks),
        key=lambda d: (d["element"], d["task"]))


def _related(task: Task, name: str, column, key):
    """``column`` (a department's code, a user's name) of ``task.<name>`` as its foreign key now
    says: the relationship loaded with the row goes stale when the command changes the key (认领
    sets ``assignee_id``), and a new row has none loaded. From the session's identity map when the
    row is there, else just that one column (a whole user row would bring its roles too)."""
    loaded = task.__dict__.get(name)
    if loaded is None or loaded.id != key:
        session = object_session(task)
        loaded = session.identity_map.get(identity_key(column.class_, key))
        if loaded is None:
            with session.no_autoflush:
                return session.scalar(select(column).where(column.class_.id == key))
    return getattr(loaded, column.key)


def department_ids(session: Session, codes) -> dict[str, int]:
    codes = [c for c in codes if c]
    if not codes:
        return {}
    # whole rows, so that the new tasks' departments are in the session for the history's snapshot
    return {d.code: d.id for d in session.scalars(_DEPARTMENTS, {"codes": sorted(set(codes))})}


def observe(session: Session, case: Case) -> dict[str, Any]:
    """The case's pending deadlines and time-limit state, as the history records them:
    no database ids, so the same on every database and in replay."""
    deadlines = session.scalars(select(Deadline).where(Deadline.case_id == case.id,
                                                       Deadline.state.in_(("armed", "paused"))))
    return observed_state(case, deadlines)


def observed_state(case: Case, deadlines) -> dict[str, Any]:
    """``observe`` over deadline rows at hand (a command's timekeeper has them loaded): the full
    form, which replay compares and exports carry (``stored_observed`` is what the history keeps)."""
    pending = sorted((d for d in deadlines if d.state in ("armed", "paused")), key=lambda d: d.key)
    return {"case": {"acceptance": case.acceptance, "decision": case.decision, "card": case.card,
                     "suspended": case.suspended},
            "deadlines": [{"key": d.key, "kind": d.kind, "due_on": d.due_on.isoformat(), "state": d.state,
                           "provisional": d.provisional} for d in pending]}


# ---------------------------------------------------------------------------- the stored form
#
# A history entry keeps ``observed["case"]`` in every entry (statistics and the supervision board
# read it by JSON path in SQL), but its pending deadlines compactly and, where that is shorter, as
# what changed since the entry before (docs/performance.md, "What a concluded case stores"):
#
#   format 1 (entries written before): {"case": {...}, "deadlines": [{"key", "kind", "due_on",
#                                       "state", "provisional"}, ...]}
#   format 2 ("v": 2):                 {"v": 2, "case": {...}, "dl": {key: [due_on, state, provisional]}}
#                                      the pending deadlines in full, or
#                                      {"v": 2, "case": {...}, "dl+": {key: [...]}, "dl-": [key, ...]}
#                                      those added or changed and those no longer pending since the
#                                      entry before (neither: nothing changed).
#
# In format 2 the case's flags at their value for a new case (``CASE_DEFAULTS``: no acceptance,
# decision or card, not suspended) are left out, and ``case`` itself when all are: a JSON path to a
# missing key reads as SQL NULL, which the statistics read as they read a null (entries written
# before 2026-11-25 carry all four). A deadline's kind is the last part of its key
# (``decision/yellow``) and is then left out; where it is not (an escalation, a reminder) it is
# the value's fourth element. ``expand_observed`` folds a case's entries, in seq order, back into
# format 1: every reader that wants the deadlines (export, replay, ``approvals check``,
# ``approvals case history``) reads that. The hash chain covers what is stored, as for any other
# value.

OBSERVED_FORMAT = 2
#: the case's flags as a new case has them: left out of the stored form
CASE_DEFAULTS = {"acceptance": None, "decision": None, "card": None, "suspended": False}


def full_ready(tasks: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """An entry's stored ready tasks as ``snapshot`` made them before it left out an unclaimed
    task's ``assignee``: what exports, replay and ``approvals case history`` show and compare."""
    if tasks is None:
        return None
    return [t if "assignee" in t else {**t, "assignee": None} for t in tasks]


def full_result(command: str, result: dict[str, Any] | None, case: Any, version: str | None) -> dict[str, Any] | None:
    """An entry's stored result as readers see it: a start's result with the version it started
    on (``version``: ``started_version``) and the case's key and number, which the history keeps
    only on the case row since 2026-11-25 (replay's ``StartCase.from_record`` reads them)."""
    if command != "start_case" or result is None or "key" in result:
        return result
    return {"version": result.get("version", version), "key": case.key, "number": case.number,
            **{k: v for k, v in result.items() if k != "version"}}


def started_version(case: Case, migrations: Iterable[dict[str, Any]]) -> str:
    """The content hash of the version a case started on: what its first migration (``migrate_case``
    results, in seq order) moved it from, else the version it is on (only a migration changes it)."""
    for result in migrations:
        if (result or {}).get("from"):
            return result["from"]
    return case.process_version.content_hash


def compact_deadline(key: str, kind: str, due_on: str, state: str, provisional: bool) -> list[Any]:
    value = [due_on, state, bool(provisional)]
    if kind != key.rsplit("/", 1)[-1]:
        value.append(kind)
    return value


def pending_compact(deadlines) -> dict[str, list[Any]]:
    """Deadline rows in ``armed``/``paused`` as the stored form keeps them, by key."""
    return {d.key: compact_deadline(d.key, d.kind, d.due_on.isoformat(), d.state, d.provisional)
            for d in deadlines if d.state in ("armed", "paused")}


def stored_observed(full: dict[str, Any], before: dict[str, list[Any]] | None) -> dict[str, Any]:
    """What the history keeps of ``full`` (``observed_state``): the pending deadlines in full, or
    as changes from ``before`` (the case's pending deadlines when the command began, compact; None
    for a new case) when that is shorter."""
    pending = {d["key"]: compact_deadline(d["key"], d["kind"], d["due_on"], d["state"], d["provisional"])
               for d in full["deadlines"]}
    flags = {k: v for k, v in full["case"].items() if k not in CASE_DEFAULTS or CASE_DEFAULTS[k] != v}
    stored: dict[str, Any] = {"v": OBSERVED_FORMAT, **({"case": flags} if flags else {})}
    if before is None:
        return {**stored, "dl": pending}
    delta: dict[str, Any] = {}
    changed = {k: v for k, v in pending.items() if before.get(k) != v}
    removed = sorted(k for k in before if k not in pending)
    if changed:
        delta["dl+"] = changed
    if removed:
        delta["dl-"] = removed
    if delta and len(json.dumps(delta, ensure_ascii=False)) > len(json.dumps({"dl": pending}, ensure_ascii=False)):
        return {**stored, "dl": pending}
    return {**stored, **delta}


def expand_observed(entries: Iterable[dict[str, Any] | None]) -> list[dict[str, Any] | None]:
    """A case's stored ``observed`` values, in seq order from its first entry, in the full form
    (format 1). Entries already in format 1 are returned as they are."""
    out: list[dict[str, Any] | None] = []
    pending: dict[str, list[Any]] = {}
    for stored in entries:
        if not stored or stored.get("v") != OBSERVED_FORMAT:
            out.append(stored)
            if stored and isinstance(stored.get("deadlines"), list):
                pending = {d["key"]: compact_deadline(d["key"], d["kind"], d["due_on"], d["state"], d["provisional"])
                           for d in stored["deadlines"]}
            continue
        if "dl" in stored:
            pending = dict(stored["dl"])
        else:
            pending = {k: v for k, v in pending.items() if k not in set(stored.get("dl-", ()))}
            pending.update(stored.get("dl+", {}))
        rest = {k: v for k, v in stored.items() if k not in ("v", "case", "dl", "dl+", "dl-")}
        out.append({"case": {**CASE_DEFAULTS, **stored.get("case", {})}, **rest, "deadlines": [
            {"key": key, "kind": value[3] if len(value) > 3 else key.rsplit("/", 1)[-1], "due_on": value[0],
             "state": value[1], "provisional": value[2]} for key, value in sorted(pending.items())]})
    return out
