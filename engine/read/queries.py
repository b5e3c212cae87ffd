"""Read side: what the CLI, the web pages and (later) the JSON API show.

The dictionaries built here are the documented JSON shapes (docs/cli.md); change
them only by adding keys.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, and_, bindparam, false, func, or_, select, union, union_all
from sqlalchemy.orm import Session, joinedload, object_session

from engine.actors import Actor
from engine.clock import CHINA_TZ, aware, china_date
from engine import alerts
from engine.errors import NotFound
from engine.read.access import acting_for, may_handle, may_take_back
from engine.commands.applicant import handed_in_since
from engine.read.documents import end_dates
from engine.roles import role_name
from engine.runtime.projection import expand_observed, full_ready, full_result, started_version
from engine.runtime.values import MAX_ID, check_text
from engine.store import grams
from engine.store.enums import ClockKind, ClockState, DeadlineKind, DeadlineState, RequestKind, RequestState, TaskState
from engine.timelimits.policy import policy_from_json
from engine.store.models import (
    CalendarDay,
    CalendarYear,
    Case,
    CaseRequest,
    Clock,
    Deadline,
    Department,
    HistoryEntry,
    Item,
    Message,
    Notice,
    ProcessVersion,
    Task,
    User,
)


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
        "assignee_name": task.assignee.display_name if task.assignee else None,
        "completed_by_name": task.completed_by.display_name if task.completed_by else None,
        "delegated_by_name": task.delegated_by.display_name if task.delegated_by else None,
        "opinion": task.opinion, "version": task.version, "kind": task.kind, "deemed": task.deemed,
    }


def user_dict(user: User) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "department": user.department.code,
            "department_name": user.department.name, "roles": user.role_codes, "active": user.active}


def ready_tasks(session: Session, actor: Actor | None = None, *, limit: int = 200) -> list[Task]:
    """Ready tasks, oldest first; for an actor only those they may act on: their department and
    roles, as a named backup (AB岗) those of each away colleague they stand in for, and those
    delegated to them (委派) — the inbox's own branches (``_branches``), with the actor's values."""
    query = select(Task).where(Task.state == TaskState.READY)
    params: dict[str, Any] = {}
    if actor is not None:
        shape, params = _inbox_shape(actor, "todo", None)
        query = query.where(or_(*_branches(shape)))
    query = query.options(joinedload(Task.case).joinedload(Case.item), joinedload(Task.department),
                          joinedload(Task.assignee)).order_by(Task.created_at, Task.id).limit(limit)
    return list(session.scalars(query, params))


COUNT_CAP = 1000

INBOX_TABS = {"todo": "待办", "done": "已办", "warning": "预警", "overdue": "超期"}


@dataclass
class InboxPage:
    tab: str
    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def capped(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, COUNT_CAP) // self.per_page))


def _tab_values(session: Session, actor: Actor, tab: str, search: str,
                today: date | None) -> tuple[tuple, dict[str, Any]]:
    """``_inbox_shape``, and with a search the ids of the steps of the cases it finds (``:tasks``)."""
    shape, params = _inbox_shape(actor, tab, today)
    search = search.strip()
    if search:
        params["tasks"] = list(session.scalars(_SEARCH_TASKS, {"cases": _found_cases(session, search)}))
    return shape, params


def _inbox_query(session: Session, actor: Actor, tab: str, search: str, today: date | None):
    """The tab's query (every step it holds), its order, and the values it is read with."""
    shape, params = _tab_values(session, actor, tab, search, today)
    query, order = _tab_statements(shape, "tasks" in params)[:2]
    return query, order, params


#: a whole case number, as printed on the 受理通知书: found by the number's unique index
_WHOLE_NUMBER = re.compile(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)+")
_CASE_BY_NUMBER = select(Case.id).where(Case.number == bindparam("number"))
#: part of the number, or part of the applicant's name: a LIKE '%…%' that no index range
#: serves, checked on the cases the search index (migration 0020, ``engine/store/grams.py``) names
_LIKE = or_(Case.number.like(bindparam("number")), Case.applicant.like(bindparam("name")))
#: a term with no letter or digit has no grams: it scans ix_cases_applicant (applicant, number)
_CASES_LIKE = select(Case.id).where(_LIKE).limit(COUNT_CAP)
_SEARCH_TASKS = select(Task.id).where(Task.case_id.in_(bindparam("cases", expanding=True)))


@lru_cache(maxsize=2)
def _cases_like_indexed(dialect: str):
    return grams.case_ids(dialect).where(_LIKE).limit(COUNT_CAP)


def _found_cases(session: Session, search: str) -> list[int]:
    """The cases a search names: the one whose number it is, else those whose number or applicant
    contains it, at most ``COUNT_CAP``. Found first, then their tasks through ix_tasks_case_state:
    the plan does not depend on the database's statistics."""
    if _WHOLE_NUMBER.fullmatch(search):
        found = session.scalar(_CASE_BY_NUMBER, {"number": search.upper()})
        if found is not None:
            return [found]
    pattern = "%" + search.replace("\\", "").replace("%", "").replace("_", "") + "%"
    values = {"number": pattern.upper(), "name": pattern}
    dialect = session.get_bind().dialect.name
    indexed = grams.bind_value(dialect, search)
    if indexed is None:
        return list(session.scalars(_CASES_LIKE, values))
    return list(session.scalars(_cases_like_indexed(dialect), {**values, "grams": indexed}))


#: what an inbox row shows of the case, item, department and assignee; not their JSON (an item's
#: guide, a case's application and materials), which the page never shows
_ROW_LOADS = (joinedload(Task.case).load_only(Case.number, Case.applicant, Case.suspended, Case.hold,
                                             Case.acceptance)
              .joinedload(Case.item).load_only(Item.code, Item.name),
              joinedload(Task.department).load_only(Department.code, Department.name),
              joinedload(Task.assignee).load_only(User.username, User.display_name))


#: the rows of a page of the pieces, by id
_ROWS = select(Task).where(Task.id.in_(bindparam("tasks", expanding=True))).options(*_ROW_LOADS)


@lru_cache(maxsize=256)
def _tab_statements(shape: tuple, searched: bool):
    """A tab's plain query for one shape (``_inbox_shape``), built once: the query, its order, its
    capped count and one page of it. 已办 and a search are read this way (``ix_tasks_done``; a
    search names its few steps by id: ``:tasks``); the other tabs' pages by their pieces."""
    tab, _, _, dated = shape
    if tab == "done":
        condition = and_(Task.completed_by_id == bindparam("me"), Task.state == TaskState.COMPLETED)
        order = (Task.completed_at.desc(), Task.id.desc())
    else:
        condition = and_(Task.state == TaskState.READY, or_(*_branches(shape)))
        if tab == "warning":
            condition = and_(condition, Task.alert == "warning")
        elif tab == "overdue":
            late = Task.alert.in_(("yellow", "red"))
            condition = and_(condition, late | (Task.due_on < bindparam("today")) if dated else late)
        order = (Task.due_on.asc().nulls_last(), Task.id)
    if searched:
        # the few steps of the cases found, looked up by id and then checked against the tab. The
        # check sits inside coalesce(), which no index serves: given statistics, SQLite's planner
        # would rather read a holder's whole index range and probe the list (2 ms at 20,000 cases)
        query = select(Task).where(Task.id.in_(bindparam("tasks", expanding=True)), func.coalesce(condition, false()))
    else:
        query = select(Task).where(condition)
    count = select(func.count()).select_from(query.limit(COUNT_CAP + 1).subquery())
    page = (query.options(*_ROW_LOADS).order_by(*order)
            .limit(bindparam("per_page", type_=Integer)).offset(bindparam("offset", type_=Integer)))
    return query, order, count, page


def _inbox_shape(actor: Actor, tab: str, today: date | None) -> tuple[tuple, dict[str, Any]]:
    """What the tab's pieces look like for this actor (``_piece_statements`` builds them once per
    shape) and the values they are read with: the holders' ids and departments, the day."""
    if tab not in INBOX_TABS:
        raise NotFound(f"没有 “{tab}” 这一栏")
    holders = [(actor.user_id, actor.department_id, actor.roles)]
    holders += [(p.user_id, p.department_id, p.roles) for p in actor.principals]
    head = tab in ("warning", "overdue") and actor.has_role("head") and actor.department_id is not None
    dated = tab == "overdue" and today is not None
    params: dict[str, Any] = {"me": actor.user_id}
    for n, (user_id, department_id, _) in enumerate(holders):
        params[f"user{n}"], params[f"department{n}"] = user_id, department_id
    if head:
        params["head_department"] = actor.department_id
    if dated:
        params["today"] = today
    return (tab, tuple(tuple(sorted(roles)) for _, _, roles in holders), head, dated), params


def _branches(shape: tuple) -> list:
    """The steps an actor of this shape may act on, one branch per
    holder and role: their department and roles, and — as a named backup (AB岗) — those of each
    away colleague they stand in for; the steps delegated to them (委派); a 负责人's department
    in 预警 and 超期."""
    _, holder_roles, head, _ = shape
    branches = [and_(Task.department_id == bindparam(f"department{n}"), Task.role == role,
                     (Task.assignee_id.is_(None)) | (Task.assignee_id == bindparam(f"user{n}")))
                for n, roles in enumerate(holder_roles) for role in roles]
    branches.append(and_(Task.assignee_id == bindparam("me"), Task.delegated_by_id.is_not(None)))
    if head:
        branches.append(Task.department_id == bindparam("head_department"))
    return branches


def _inbox_pieces(shape: tuple) -> list:
    """Conditions whose union is the tab's set of tasks (what ``_branches`` allows and the tab's filter), each
    narrow enough to be one ordered range read of an index: a holder's department and one role
    (``ix_tasks_inbox``; with the alert, ``ix_tasks_alert``), the steps delegated to the actor
    (``ix_tasks_assignee_state``), a 负责人's department (``ix_tasks_department_due``,
    ``ix_tasks_department_alert``) — each split into steps with and without a due date, so that
    every piece is read in ``due_on, id`` order. An OR of them, as the tab's query has it, makes
    the database read every ready task and sort them; the pieces read only what the page shows.
    The values are bound parameters (``_inbox_shape``)."""
    tab, _, _, dated = shape
    branches = _branches(shape)
    if tab == "warning":
        alternatives = [(Task.alert == "warning", True)]
    elif tab == "overdue":
        alternatives = [(Task.alert == "yellow", True), (Task.alert == "red", True)]
        if dated:
            alternatives.append((Task.due_on < bindparam("today"), False))  # never true without a due date
    else:
        alternatives = [(None, True)]
    pieces = []
    for branch in branches:
        for alternative, undated in alternatives:
            condition = branch if alternative is None else and_(branch, alternative)
            pieces.append(and_(condition, Task.due_on.is_not(None)))
            if undated:
                pieces.append(and_(condition, Task.due_on.is_(None)))
    return pieces


@lru_cache(maxsize=256)
def _piece_statements(shape: tuple):
    """The tab's two statements for one shape, built once: the ranked ids (a UNION ALL of the
    pieces, each an index range read stopping at ``:limit``) and the capped count (a UNION, which
    drops a step two pieces share). Building and keying statements this size took most of the
    inbox's time when they were built for every page (issue 13)."""
    limit = bindparam("limit", type_=Integer)
    parts = [select(Task.id, Task.due_on).where(Task.state == TaskState.READY, piece)
             .order_by(Task.due_on, Task.id).limit(limit).subquery() for piece in _inbox_pieces(shape)]
    ranked = union_all(*(select(part.c.id, part.c.due_on) for part in parts))
    count = select(func.count()).select_from(union(*(select(part.c.id) for part in parts)).subquery())
    return ranked, count


def _ranked_ids(session: Session, shape: tuple, params: dict[str, Any], limit: int) -> list[int]:
    """The first ``limit`` task ids of the tab in the inbox order (due date, no date last, id)."""
    rows = session.execute(_piece_statements(shape)[0], {**params, "limit": limit}).all()
    due = {task_id: due_on for task_id, due_on in rows}  # a step may be in two pieces (委派 in one's own role)
    return sorted(due, key=lambda task_id: (due[task_id] is None, due[task_id] or date.min, task_id))[:limit]


def _pieces_count(session: Session, shape: tuple, params: dict[str, Any]) -> int:
    """How many tasks the tab holds, no further than ``COUNT_CAP + 1``: counted by the database,
    not fetched."""
    count = session.scalar(_piece_statements(shape)[1], {**params, "limit": COUNT_CAP + 1})
    return min(count or 0, COUNT_CAP + 1)


def inbox_count(session: Session, actor: Actor, tab: str, *, search: str = "", today: date | None = None) -> int:
    """How many tasks a tab holds, counting no further than ``COUNT_CAP + 1``: beyond it the page
    says "1000+" and asks for a search."""
    shape, params = _tab_values(session, actor, tab, search, today)
    if tab == "done" or "tasks" in params:
        return _capped_count(session, shape, params)
    return _pieces_count(session, shape, params)


def _capped_count(session: Session, shape: tuple, params: dict[str, Any]) -> int:
    return session.scalar(_tab_statements(shape, "tasks" in params)[2], params) or 0


def inbox(session: Session, actor: Actor, *, tab: str = "todo", search: str = "", page: int = 1,
          per_page: int = 20, today: date | None = None, calendar=None) -> InboxPage:
    """One page of a tab of the actor's inbox, what runs out first at the top (已办: newest)."""
    page = min(max(1, page), COUNT_CAP // per_page)
    check_text(search, "搜索内容", 64)
    shape, params = _tab_values(session, actor, tab, search, today)
    if tab == "done" or "tasks" in params:  # a search names its few tasks by id: one query serves it
        total = _capped_count(session, shape, params)
        rows = session.scalars(_tab_statements(shape, "tasks" in params)[3],
                               {**params, "per_page": per_page, "offset": (page - 1) * per_page})
    else:
        total = _pieces_count(session, shape, params)
        shown = _ranked_ids(session, shape, params, page * per_page)[(page - 1) * per_page:]
        loaded = {t.id: t for t in session.scalars(_ROWS, {"tasks": shown})}
        rows = [loaded[task_id] for task_id in shown]
    out = []
    for task in rows:
        row = task_dict(task)
        row["due_on"] = task.due_on.isoformat() if task.due_on else None
        row["alert"] = task.alert
        row["suspended"] = task.case.suspended or bool(task.case.hold)
        row["held"] = bool(task.case.hold)  # 挂起 by an administrator (engine/operations.py)
        # a one-time notice (一次性告知) is out: no acceptance limit runs until the supplement arrives
        row["online"] = task.case.account_id is not None  # 网上申请: its materials came as uploads
        row["awaiting_supplement"] = task.case.acceptance == "supplement"
        # the applicant has handed it in online: the window's turn to check it (one query, such rows only)
        row["supplement_in"] = bool(row["awaiting_supplement"] and _supplement_handed_in(session, task.case))
        row["on_behalf_of"] = acting_for(actor, task) if tab != "done" else None
        # a 负责人 watching the department's late steps opens the case, not a step they cannot handle
        row["mine"] = tab == "done" or bool(
            may_handle(actor.user_id, actor.department_id, actor.roles, task) or row["on_behalf_of"]
            or (task.delegated_by_id is not None and task.assignee_id == actor.user_id))
        row["remaining_days"] = (calendar.between(today, task.due_on).value
                                 if calendar is not None and today is not None and task.due_on else None)
        out.append((task, row))
    for _task, row in out:  # every row says it, 已办 too (its steps are done: never urged or returned now)
        row["urged"], row["returned_reason"], row["returned_by"], row["may_take_back"] = 0, None, None, False
    if tab == "done":
        _mark_take_back(session, out)
    else:
        _mark_urged_and_returned(session, out)
    return InboxPage(tab, [row for _, row in out], total, page, per_page)


def _mark_urged_and_returned(session: Session, rows: list[tuple[Task, dict[str, Any]]]) -> None:
    """From the page's cases' history: how often each open step was urged (催办) since it opened,
    and — for a step opened by a 退回 — the reason given (``urged``, ``returned_reason``,
    ``returned_by``). One query through the history's (case_id, seq) index."""
    by_case: dict[int, list[tuple[Task, dict[str, Any]]]] = {}
    for task, row in rows:
        by_case.setdefault(task.case_id, []).append((task, row))
    if not by_case:
        return
    entries = session.execute(
        select(HistoryEntry.case_id, HistoryEntry.command, HistoryEntry.at, HistoryEntry.inputs, HistoryEntry.actor)
        .where(HistoryEntry.case_id.in_(sorted(by_case)), HistoryEntry.command.in_(("urge_task", "return_task")))
        .order_by(HistoryEntry.case_id, HistoryEntry.seq))
    names = {}
    for case_id, command, at, inputs, actor in entries:
        inputs = inputs or {}
        for task, row in by_case[case_id]:
            if command == "urge_task" and inputs.get("task") == task.spiff_id and at >= task.created_at:
                row["urged"] += 1
            elif command == "return_task" and inputs.get("to") == task.element_id and at == task.created_at:
                row["returned_reason"] = str(inputs.get("reason") or "").strip()
                row["returned_by"] = names.setdefault(actor, _actor_name(session, actor))


_OPEN_STEPS_OF = select(Task).where(Task.case_id.in_(bindparam("cases", expanding=True)),
                                    Task.state == TaskState.READY)


def _mark_take_back(session: Session, rows: list[tuple[Task, dict[str, Any]]]) -> None:
    """已办: which finished steps can still be taken back (拿回), by the command's own rule; the page's
    cases' open steps read in one query (ix_tasks_case_state)."""
    if not rows:
        return
    open_steps: dict[int, list[Task]] = {}
    for task in session.scalars(_OPEN_STEPS_OF, {"cases": sorted({t.case_id for t, _ in rows})}):
        open_steps.setdefault(task.case_id, []).append(task)
    for task, row in rows:
        row["may_take_back"] = task.kind == "bpmn" and may_take_back(task, open_steps.get(task.case_id, []))


def _actor_name(session: Session, actor: str) -> str:
    """A history entry's actor (a user name) as the person's name."""
    return session.scalar(select(User.display_name).where(User.username == actor)) or actor


def get_task(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id) if 0 < task_id <= MAX_ID else None  # wider than the column: none
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在")
    return task


def get_case(session: Session, number: str) -> Case:
    check_text(number, "办件编号", 64)
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
        "acceptance": case.acceptance, "accepted_at": iso(case.accepted_at), "decision": case.decision,
        "decided_at": iso(case.decided_at), "card": case.card, "suspended": case.suspended,
        "hold": case.hold,  # 挂起 by an administrator: who, when, why (engine/operations.py)
        "certificate_no": case.certificate_no, "materials": case.materials,
        "tasks": [task_dict(t) for t in tasks],
    }


def history_dict(entry: HistoryEntry, observed: dict[str, Any] | None = None) -> dict[str, Any]:
    """An entry as ``approvals case history --json`` shows it; ``observed`` in the full form
    (``history_dicts`` folds a case's entries), else as stored; the result and ready tasks in the
    full form (``full_result``: a start's key and number are on the case row)."""
    result = entry.payload
    if entry.command == "start_case" and "key" not in (result or {}):  # kept on the case row since 2026-11-25
        session = object_session(entry)
        case = session.get(Case, entry.case_id)
        migrations = session.scalars(select(HistoryEntry.payload).where(
            HistoryEntry.case_id == case.id, HistoryEntry.command == "migrate_case").order_by(HistoryEntry.seq))
        result = full_result(entry.command, result, case, started_version(case, migrations))
    return {"seq": entry.seq, "command": entry.command, "actor": entry.actor, "at": iso(entry.at),
            "inputs": entry.inputs, "result": result,
            "ready_tasks": full_ready(entry.ready_tasks), "case_state": entry.case_state,
            "observed": entry.observed if observed is None else observed, "hash": entry.hash}


def history_dicts(entries: list[HistoryEntry]) -> list[dict[str, Any]]:
    """A case's entries from its first, each with its observed time-limit state in full."""
    return [history_dict(e, observed) for e, observed in zip(entries, expand_observed(e.observed for e in entries))]


def case_history(session: Session, case: Case) -> list[HistoryEntry]:
    return list(session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id)
                                .order_by(HistoryEntry.seq)))


def items(session: Session) -> list[Item]:
    return list(session.scalars(select(Item).order_by(Item.code)))


CLOCK_LABELS = {k.value: k.label for k in ClockKind}
DEADLINE_LABELS = {k.value: k.label for k in DeadlineKind}
CLOCK_STATES = {k.value: k.label for k in ClockState}
DEADLINE_STATES = {k.value: k.label for k in DeadlineState}


#: A deadline whose clock stopped before it came, by the clock's kind: why it was never needed.
FINISHED_BEFORE = {"step": "步骤已办结，无需触发", "followup": "意见已补充，无需触发",
                   "acceptance": "已作出受理决定或已告知补正，无需触发", "decision": "已作出决定，无需触发",
                   "issue": "已发证，无需触发", "preliminary": "初审已办结，无需触发"}


#: whom an escalation tells (engine/alerts.py ``recipients``), in words
ESCALATED_TO = {"handler": "承办人", "head": "负责人", "supervisor": "监察员"}


def deadline_dict(deadline: Deadline) -> dict[str, Any]:
    label = DEADLINE_LABELS.get(deadline.kind, deadline.kind)
    if deadline.kind == "deemed":
        label = {"acceptance": "视为受理", "step": "超时默许", "decision": "超期默许"}.get(deadline.clock.kind, label)
    if deadline.kind == "escalate":
        # one escalation per level: say whom each tells, or two lines read the same
        to = ESCALATED_TO.get(deadline.detail.get("to", ""), "")
        label = f"升级（{DEADLINE_LABELS[deadline.detail['alert']]}{'，告知' + to if to else ''}）"
    shown, state_name = deadline.state, DEADLINE_STATES.get(deadline.state, deadline.state)
    if shown == "cancelled" and deadline.clock.outcome in ("on_time", "ended", "deemed", "fired"):
        # the limit's clock stopped before this moment came: nothing was missed
        shown, state_name = "unneeded", FINISHED_BEFORE.get(deadline.clock.kind, "计时已结束，无需触发")
    return {"key": deadline.key, "kind": deadline.kind, "label": label, "due_on": deadline.due_on.isoformat(),
            "due_at": iso(deadline.due_at), "provisional": deadline.provisional, "state": deadline.state,
            "shown": shown, "state_name": state_name, "fired_at": iso(deadline.fired_at), "fired_at_text": _china_minute(deadline.fired_at),
            "attempts": deadline.attempts, "last_error": deadline.last_error}


def _china_minute(at) -> str:
    return aware(at).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if at is not None else ""


def _supplement_handed_in(session: Session, case: Case) -> str:
    """When the applicant handed in a supplement online after the last one-time notice (China
    time, to the minute), or ''."""
    return _china_minute(handed_in_since(session, case))


def case_clocks(session: Session, case: Case) -> list[dict[str, Any]]:
    """Every clock of the case with its deadlines, in the order they started."""
    clocks = list(session.scalars(select(Clock).where(Clock.case_id == case.id).order_by(Clock.id)))
    deadlines: dict[int, list[Deadline]] = {}
    for d in session.scalars(select(Deadline).where(Deadline.case_id == case.id)
                             .order_by(Deadline.due_at, Deadline.id)):
        deadlines.setdefault(d.clock_id, []).append(d)
    out = []
    acceptance_periods = 0
    rounds: dict[str, int] = {}
    for c in clocks:
        label = CLOCK_LABELS.get(c.kind, c.kind)
        if c.kind == "acceptance":
            acceptance_periods += 1
            if acceptance_periods > 1:  # a new acceptance period after the supplement (补正)
                label = f"{label}（补正后重新计算）"
        if c.task is not None:
            label = f"{label}：{c.task.name}"
            rounds[label] = rounds.get(label, 0) + 1
            if rounds[label] > 1:  # the step opened again (退回, 拿回): its own clock, not a duplicate
                label = f"{label}（第 {rounds[label]} 次办理）"
        elif c.kind == "timer":
            label = f"{label}：{c.detail.get('name', '')}"
        out.append({"key": c.key, "kind": c.kind, "label": label, "state": c.state,
                    "state_name": CLOCK_STATES.get(c.state, c.state), "outcome": c.outcome,
                    "started_on": c.started_on.isoformat(), "limit_days": c.limit_days,
                    "statutory_days": c.statutory_days, "extended_days": c.extended_days,
                    "suspended_days": c.suspended_days, "detail": c.detail,
                    "deadlines": [deadline_dict(d) for d in deadlines.get(c.id, [])]})
    return out


def case_notices(session: Session, case: Case) -> list[dict[str, Any]]:
    return [{"kind": n.kind, "body": n.body, "detail": n.detail, "created_at": iso(n.created_at),
             "created_by": n.created_by}
            for n in session.scalars(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id))]


def messages(session: Session, user_id: int, *, unread_only: bool = False, limit: int = 200,
             actor: Actor | None = None) -> list[dict[str, Any]]:
    """The user's messages, newest first. With the ``actor``, a time-limit message (预警, 黄牌,
    红牌) names the step the actor may work on in its case (``task``: id and name), if any."""
    query = select(Message).where(Message.user_id == user_id)
    if unread_only:
        query = query.where(Message.read_at.is_(None))
    rows = list(session.scalars(query.options(joinedload(Message.case)).order_by(Message.id.desc()).limit(limit)))
    steps: dict[int, dict[str, Any]] = {}
    if actor is not None and any(m.kind in alerts.DEADLINE_KINDS and m.case_id is not None for m in rows):
        for task in ready_tasks(session, actor):
            steps.setdefault(task.case_id, {"id": task.id, "name": task.name})
    return [{"id": m.id, "kind": m.kind, "title": m.title, "body": m.body, "created_at": iso(m.created_at),
             "read": m.read_at is not None, "case": m.case.number if m.case is not None else None,
             "deadline": m.kind in alerts.DEADLINE_KINDS,
             "task": steps.get(m.case_id) if m.kind in alerts.DEADLINE_KINDS else None} for m in rows]


def calendar_years(session: Session) -> list[dict[str, Any]]:
    counts: dict[tuple[int, str], int] = {
        (year, kind): n for year, kind, n in session.execute(
            select(CalendarDay.year, CalendarDay.kind, func.count()).group_by(CalendarDay.year, CalendarDay.kind))}
    return [{"year": y.year, "source": y.source, "days_off": counts.get((y.year, "off"), 0),
             "makeup_days": counts.get((y.year, "makeup"), 0)}
            for y in session.scalars(select(CalendarYear).order_by(CalendarYear.year.desc()))]


def pending_extension_requests(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """For a 负责人 (or a 本级人民政府负责人, for 联办件): the extension requests their department decides."""
    if not (actor.has_role("head") or actor.has_role("gov_head")):
        return []
    rows = session.scalars(select(CaseRequest).where(CaseRequest.kind == RequestKind.EXTENSION, CaseRequest.state == RequestState.PENDING,
                                                     CaseRequest.department_id == actor.department_id)
                           .options(joinedload(CaseRequest.case).joinedload(Case.item))
                           .order_by(CaseRequest.requested_at))
    return [{"case": r.case.number, "item_name": r.case.item.name, "applicant": r.case.applicant,
             "days": r.detail["days"], "reason": r.detail["reason"], "requested_by": r.requested_by,
             "requested_at": iso(r.requested_at)} for r in rows]


FIRST_CONTACT_ITEM = "ZWFW-SWFZ"


def first_contacts(session: Session, actor: Actor, limit: int = 20) -> list[dict[str, Any]]:
    """首问负责: what this clerk registered and forwarded, newest first, until it is taken up."""
    rows = session.execute(
        select(Case, HistoryEntry.payload).join(HistoryEntry, (HistoryEntry.case_id == Case.id) & (HistoryEntry.seq == 1))
        .join(Item, Item.id == Case.item_id)
        .where(Item.code == FIRST_CONTACT_ITEM, HistoryEntry.actor == actor.name)
        .order_by(Case.started_at.desc()).limit(limit)).all()
    names = dict(session.execute(select(Department.code, Department.name)).all())
    return [{"number": case.number, "applicant": case.applicant, "state": case.state,
             "subject": (payload.get("data") or {}).get("subject", ""),
             "department": names.get((payload.get("data") or {}).get("target_department"), ""),
             "started_at": iso(case.started_at)} for case, payload in rows]


def copies_received(session: Session, user_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The cases copied (抄送) to this user, newest first (``ix_messages_inbox``)."""
    rows = session.execute(
        select(Message, Case).join(Case, Case.id == Message.case_id)
        .where(Message.user_id == user_id, Message.kind == "copy")
        .options(joinedload(Case.item)).order_by(Message.id.desc()).limit(limit)).all()
    # who sent each: the case's 抄送 entry at the message's time (through the history's case index)
    senders = {(case_id, at): actor for case_id, at, actor in session.execute(
        select(HistoryEntry.case_id, HistoryEntry.at, HistoryEntry.actor).where(
            HistoryEntry.case_id.in_(sorted({case.id for _, case in rows})), HistoryEntry.command == "copy_case"))}
    names = dict(session.execute(select(User.username, User.display_name)
                                 .where(User.username.in_(sorted(set(senders.values()))))).all())
    out = []
    for m, case in rows:
        sender = senders.get((case.id, m.created_at))
        out.append({"number": case.number, "item_name": case.item.name, "applicant": case.applicant,
                    "from": names.get(sender, sender or ""), "title": m.title, "note": m.body,
                    "at": iso(m.created_at)})
    return out


def copies_sent(session: Session, actor: Actor, limit: int = 20) -> list[dict[str, Any]]:
    """The copies (抄送) this user sent, newest first, with the names of those they went to
    (``ix_case_history_actor``, migration 0008)."""
    rows = session.execute(
        select(HistoryEntry, Case).join(Case, Case.id == HistoryEntry.case_id)
        .where(HistoryEntry.actor == actor.name, HistoryEntry.command == "copy_case")
        .options(joinedload(Case.item)).order_by(HistoryEntry.at.desc(), HistoryEntry.id.desc()).limit(limit)).all()
    logins = {n for entry, _ in rows for n in (entry.payload or {}).get("notified", [])}
    names = dict(session.execute(select(User.username, User.display_name).where(User.username.in_(sorted(logins)))).all())
    return [{"number": case.number, "item_name": case.item.name, "applicant": case.applicant,
             "to": [names.get(n, n) for n in (entry.payload or {}).get("notified", [])],
             "note": (entry.inputs or {}).get("note", ""), "at": iso(entry.at)} for entry, case in rows]
def remaining_words(days: int) -> str:
    """剩余 N 个工作日, 今日到期 or 已超期 N 个工作日: working days from today to a due day."""
    if days > 0:
        return f"剩余 {days} 个工作日"
    return "今日到期" if days == 0 else f"已超期 {-days} 个工作日"


def case_end_dates(session: Session, case: Case, *, today: date | None = None, calendar=None) -> dict[str, Any]:
    """The case's end dates, the one source for the case page and the printed sheet: the promised
    (承诺) and statutory (法定) end of the decision clock as it stands (extensions and suspended
    days included), and in ``text`` what remains: 剩余 N 个工作日, 已超期 N 个工作日, 当日办结
    (即办件) or 已办结于 date. Before acceptance the acceptance limit is the end in sight."""
    same_day = policy_from_json(case.started_policy).first_limit == 0
    decision = session.scalar(select(Clock).where(Clock.case_id == case.id, Clock.kind == "decision")
                              .order_by(Clock.id.desc()).limit(1))
    acceptance = None
    if decision is None:
        acceptance = session.scalar(select(Clock).where(Clock.case_id == case.id, Clock.kind == "acceptance")
                                    .order_by(Clock.id.desc()).limit(1))
    promised = statutory = None
    provisional = False
    if decision is not None:  # the same dates as every printed document (engine/read/documents.py)
        ends = end_dates(session, case)
        promised, statutory, provisional = ends["promised_on"], ends["statutory_on"], ends["provisional"]
    elif acceptance is not None and case.acceptance != "supplement":  # a notice out: no acceptance limit runs
        for d in session.scalars(select(Deadline).where(Deadline.case_id == case.id, Deadline.clock_id == acceptance.id)
                                  .order_by(Deadline.id)):
            if d.kind in ("red", "deemed"):
                statutory, provisional = d.due_on, provisional or d.provisional
    out: dict[str, Any] = {"stage": "decision" if decision is not None else "acceptance" if acceptance else None,
                           "promised": promised.isoformat() if promised else None,
                           "statutory": statutory.isoformat() if statutory else None,
                           "provisional": provisional, "same_day": same_day, "remaining": None,
                           "concluded_on": china_date(case.concluded_at).isoformat() if case.concluded_at else None}
    parts = []
    if same_day:
        parts.append(f"即办件，当日办结（{china_date(case.started_at).isoformat()}）")
    else:
        if promised:
            parts.append(f"承诺办结 {promised.isoformat()}")
        if statutory:
            parts.append(f"{'受理期限' if decision is None else '法定期限'} {statutory.isoformat()}")
        if provisional:
            parts.append("（节假日安排未导入，日期暂定）")
    issue = None
    if case.decided_at is not None and not out["concluded_on"]:
        parts.append(f"已于 {china_date(case.decided_at).isoformat()} 作出决定")
        issue = session.scalar(select(Clock).where(Clock.case_id == case.id, Clock.kind == "issue",
                                                   Clock.state == "running").order_by(Clock.id.desc()).limit(1))
        due = session.scalar(select(Deadline.due_on).where(Deadline.case_id == case.id, Deadline.clock_id == issue.id,
                                                     Deadline.kind == "red")
                             .limit(1)) if issue is not None else None
        if due is not None:
            out["issue_due"] = due.isoformat()
            parts.append(f"制证发证期限 {due.isoformat()}")
            if today is not None and calendar is not None:
                out["remaining"] = calendar.between(today, due).value
                parts.append(remaining_words(out["remaining"]))
    if case.state in ("terminated", "voided"):  # 终止 (or withdrawn by the applicant), 作废: no limit runs
        out["text"] = f"{'已作废' if case.state == 'voided' else '已终止'}，不再计时"
        return out
    if out["concluded_on"]:
        parts.append(f"已办结于 {out['concluded_on']}")
    elif case.decided_at is not None:
        pass
    elif case.acceptance == "supplement":
        handed_in = _supplement_handed_in(session, case)
        parts.append(f"申请人已于 {handed_in} 在网上提交补正材料，请核对后登记收到；收到后重新计算受理时限"
                     if handed_in else "已一次性告知补正，等待申请人补正；收到补正材料后重新计算受理时限")
    elif case.suspended:
        parts.append("特别程序中，暂停计时")
    elif same_day:
        pass
    elif today is not None and calendar is not None and (promised or statutory):
        target = promised if promised and today <= promised else (statutory or promised)
        days = calendar.between(today, target).value
        out["remaining"] = days
        if promised and target != promised:
            parts.append(f"已超过承诺期限，距法定期限{remaining_words(days).replace('剩余', '尚余')}"
                         if days >= 0 else remaining_words(days))
        else:
            parts.append(remaining_words(days))
    out["text"] = " · ".join(parts) if parts else "尚无时限"
    return out
