"""The supervisor's board (电子监察看板): every open case with a yellow or red card, by department,
window and item, with how long it has left or how late it is, in working days on the engine's
calendar. A department head sees the same for the department.

A row counts down what its card is about: the fired deadline of the card's colour whose limit
still runs, the longest overdue (a step's own limit, 环节时限; 先行审查; the 承诺 or 法定 end of the
办理时限), to that deadline's day — so it agrees with the inbox of whoever holds the step. Once that
limit has ended it counts down the case's own limit: the decision clock once accepted (办理时限),
the acceptance clock before (受理时限), the issue clock after the decision (发证时限), to the
promised end until it passes, then the statutory end, as the case page does; and beside a row that
counts another limit, the case's own. Days are the deadlines' own (extensions, suspended days and
calendar changes included); a paused clock (待补正, 特别程序) is shown as paused, not counted down.
The department that answers for a card is the late step's, or where 先行审查 runs, else the item's.
The window (窗口) is the clerk who took the application in and that clerk's department.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.errors import NotAllowed
from engine.read.queries import remaining_words
from engine.store.enums import Card, CaseState, ClockKind, ClockState, DeadlineState, TaskState
from engine.store.models import Case, Clock, Deadline, Department, Finding, HistoryEntry, Item, Task, User
from engine.timelimits.workdays import WorkCalendar

#: the case-wide clocks a board row counts down, the first one found (running or paused) first
CASE_CLOCKS = ("decision", "acceptance", "issue", "preliminary")
BOARD_LIMIT = 500


@dataclass(frozen=True)
class BoardScope:
    """Whose cases the actor sees on the board: all (a supervisor), or one department (a head)."""

    department_id: int | None
    title: str


def board_scope(session: Session, actor: Actor) -> BoardScope:
    if actor.user_id is not None and actor.has_role("supervisor"):
        return BoardScope(None, "全部部门")
    if actor.user_id is not None and actor.has_role("head"):
        department = session.get(Department, actor.department_id)
        return BoardScope(actor.department_id, department.name)
    raise NotAllowed("电子监察看板只对监察员和部门负责人开放")


@dataclass
class BoardRow:
    number: str
    card: str
    item: str
    item_code: str
    department: str
    department_code: str
    window: str  # the clerk's name and department
    window_user: str | None
    applicant: str
    steps: str  # the open steps and who holds them
    clock: str  # which limit
    due_on: date | None
    days: int | None  # working days left (>= 0) or late (< 0)
    paused: bool
    started_on: date
    card_clock: str = ""  # the limit whose deadline raised the card, when it has ended (the row shows another)
    end: str = ""  # which end ``due_on`` is, for a limit with two: 承诺, or 法定 once the promised one passed
    case_limit: str = ""  # the case's own limit, when the row counts down the card's (a step's, 先行审查)
    findings: int = 0  # 监察事项 on the case the viewer may see (a head: the department's)


def _concerns(department_id):
    """The cases a department answers for on the board: its items', and those with a step open in
    it (a 联办 step of another department's item)."""
    return or_(Item.department_id == department_id,
               Case.id.in_(select(Task.case_id).where(Task.department_id == department_id,
                                                      Task.state == TaskState.READY)))


def _ends(session: Session, case_ids: list[int]) -> dict[int, dict[str, date]]:
    """Each clock's promised and statutory last days, from its deadlines as armed (moved by
    extensions, suspended days and calendar changes), as the case page and every printed
    document take them (engine/read/documents.py ``end_dates``)."""
    out: dict[int, dict[str, date]] = {}
    if not case_ids:
        return out
    for clock_id, kind, due_on in session.execute(
            select(Deadline.clock_id, Deadline.kind, Deadline.due_on)
            .where(Deadline.case_id.in_(case_ids), Deadline.kind.in_(("yellow", "red", "deemed")))
            .order_by(Deadline.due_at)):
        out.setdefault(clock_id, {})["promised" if kind == "yellow" else "statutory"] = due_on
    return out


def _end(calendar: WorkCalendar, clock: Clock, ends: dict[str, date], today: date) -> tuple[date, str]:
    """The last day the row counts to, and which end it is when a limit has two (承诺, 法定): the
    promised end until it passes, then the statutory end — the case page's rule
    (``case_end_dates``). A step's or the acceptance's limit has one end: its yellow or its
    red (视为受理) deadline's day."""
    promised = ends.get("promised") if (clock.detail or {}).get("promised_days") is not None or \
        "statutory" not in ends else None
    statutory = ends.get("statutory")
    if promised is None and statutory is None:
        return calendar.add(clock.started_on, clock.limit_days + clock.extended_days + clock.suspended_days).value, ""
    if promised is None or statutory is None:
        return promised or statutory, ""
    return (promised, "承诺") if today <= promised else (statutory, "法定")


#: the deadlines that raise each card (engine/timelimits/firing.py ``alert``; a blocked 超期默许 shows red)
RAISING = {"yellow": ("yellow",), "red": ("red", "deemed")}


def _raising(session: Session, cards: list[tuple[int, str]]) -> dict[int, tuple[Clock, date, str]]:
    """For each case, what its card is about: the fired deadline of the card's colour that is
    longest overdue among those whose limit still runs (a late step still open, a passed 承诺 or
    法定 end of a clock still counting), else the latest that raised it — with its clock, its day
    and its kind."""
    if not cards:
        return {}
    wanted = dict(cards)
    rows = session.execute(select(Deadline.case_id, Deadline.kind, Deadline.due_on, Clock)
                           .join(Clock, Clock.id == Deadline.clock_id)
                           .where(Deadline.case_id.in_(list(wanted)), Deadline.state == DeadlineState.FIRED,
                                  Deadline.kind.in_(("yellow", "red", "deemed")))
                           .order_by(Deadline.fired_at, Deadline.id)).all()
    latest: dict[int, tuple[Clock, date, str]] = {}
    running: dict[int, tuple[Clock, date, str]] = {}
    for case_id, kind, due_on, clock in rows:
        if kind not in RAISING.get(wanted[case_id], ()):
            continue
        latest[case_id] = (clock, due_on, kind)
        if clock.state in (ClockState.RUNNING, ClockState.PAUSED) and \
                (case_id not in running or due_on < running[case_id][1]):
            running[case_id] = (clock, due_on, kind)
    return latest | running


def card_reason(session: Session, case: Case) -> str:
    """What a case's card is about, in words: the limit and the day whose end raised it
    (环节时限（决定） 2026-03-06 届满, 办理时限（承诺） 2026-03-16 届满); "" without a card."""
    if not case.card:
        return ""
    found = _raising(session, [(case.id, case.card)]).get(case.id)
    if found is None:
        return ""
    clock, due_on, kind = found
    names = dict(session.execute(select(Task.id, Task.name).where(Task.id == clock.task_id)).all()) \
        if clock.task_id is not None else {}
    which = _which(clock, kind, _ends(session, [case.id]).get(clock.id, {}))
    return f"{_label(clock, names)}{'（' + which + '）' if which else ''} {due_on:%Y-%m-%d} 届满"


def _label(clock: Clock, step_names: dict[int, str]) -> str:
    """环节时限（审批决定）, 先行审查时限, 办理时限 …"""
    label = ClockKind.label_of(clock.kind)
    return f"{label}（{step_names[clock.task_id]}）" if clock.task_id in step_names else label


def _which(clock: Clock, kind: str, ends: dict[str, date]) -> str:
    """Which end of a limit with two (承诺 and 法定) a card's deadline is; "" for a limit with one."""
    if "statutory" not in ends or (clock.detail or {}).get("promised_days") is None:
        return ""
    return "承诺" if kind == "yellow" else "法定"


def _window(session: Session, case_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """The clerk who took each case in: the first staff actor that set its acceptance, else the
    staff member who registered it."""
    out: dict[int, tuple[str, str | None]] = {}
    rows = session.execute(select(HistoryEntry.case_id, HistoryEntry.seq, HistoryEntry.actor, HistoryEntry.observed)
                           .where(HistoryEntry.case_id.in_(case_ids)).order_by(HistoryEntry.case_id, HistoryEntry.seq))
    candidates: dict[int, str] = {}
    for case_id, seq, actor, observed in rows:
        if case_id in candidates or ":" in actor:
            continue
        if ((observed or {}).get("case") or {}).get("acceptance") or seq == 1:
            candidates[case_id] = actor
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(set(candidates.values()))))}
    for case_id, name in candidates.items():
        user = users.get(name)
        out[case_id] = (f"{user.display_name}（{user.department.name}）" if user else name, name)
    return out


def board(session: Session, actor: Actor, calendar: WorkCalendar, today: date, *, department: str = "",
          item: str = "", card: str = "", window: str = "") -> dict[str, Any]:
    """The board rows, the most late first, and the filter choices."""
    scope = board_scope(session, actor)
    # the department filtered by, by its id: the cases it answers for (``_concerns``, then each row's)
    chosen = session.execute(select(Department.id, Department.name).where(Department.code == department)).first() \
        if department else None
    chosen_id = chosen.id if chosen is not None else -1  # an unknown code: no department answers
    query = (select(Case, Item, Department).join(Item, Case.item_id == Item.id)
             .join(Department, Item.department_id == Department.id)
             .where(Case.state == CaseState.RUNNING, Case.card.is_not(None)))
    if scope.department_id is not None:
        query = query.where(_concerns(scope.department_id))
    if department:
        query = query.where(_concerns(chosen_id))
    if item:
        query = query.where(Item.code == item)
    if card in Card.values():
        query = query.where(Case.card == card)
    found = session.execute(query.order_by(Case.id).limit(BOARD_LIMIT + 1)).all()
    capped = len(found) > BOARD_LIMIT
    found = found[:BOARD_LIMIT]
    ids = [c.id for c, _, _ in found]
    windows = _window(session, ids) if ids else {}
    clocks: dict[int, Clock] = {}
    for clock in session.scalars(select(Clock).where(Clock.case_id.in_(ids), Clock.kind.in_(CASE_CLOCKS),
                                                     Clock.state.in_((ClockState.RUNNING, ClockState.PAUSED)))
                                 .order_by(Clock.id)):
        current = clocks.get(clock.case_id)
        if current is None or CASE_CLOCKS.index(clock.kind) < CASE_CLOCKS.index(current.kind):
            clocks[clock.case_id] = clock
    raised = _raising(session, [(c.id, c.card) for c, _, _ in found])
    steps: dict[int, list[str]] = {}
    for task in session.scalars(select(Task).where(Task.case_id.in_(ids), Task.state == TaskState.READY)
                                .order_by(Task.id)):
        holder = task.assignee.display_name if task.assignee is not None else f"{task.department.name}"
        steps.setdefault(task.case_id, []).append(f"{task.name}（{holder}）")
    ends = _ends(session, ids)
    found_query = select(Finding.case_id, func.count(Finding.id)).where(Finding.case_id.in_(ids)).group_by(Finding.case_id)
    if scope.department_id is not None:
        found_query = found_query.where(Finding.department_id == scope.department_id)
    findings = dict(session.execute(found_query).all()) if ids else {}
    # the steps whose limits raised cards, by name and department (one query)
    raised_steps = {c.task_id for c, _, _ in raised.values() if c.task_id is not None}
    step_rows = session.execute(select(Task.id, Task.name, Task.department_id)
                                .where(Task.id.in_(raised_steps))).all() if raised_steps else []
    step_names = {task_id: name for task_id, name, _ in step_rows}
    step_departments = {task_id: department_id for task_id, _, department_id in step_rows}
    # the department that answers for a card: the late step's, or the one a 先行审查 runs in
    answering = {case_id: step_departments.get(c.task_id) if c.task_id is not None else (c.detail or {}).get("department")
                 for case_id, (c, _, _) in raised.items()}
    answering = {case_id: d for case_id, d in answering.items() if isinstance(d, int)}
    department_names = dict(session.execute(select(Department.id, Department.name).where(
        Department.id.in_(set(answering.values())))).all()) if answering else {}
    rows = []
    for case, item_row, dept in found:
        name, username = windows.get(case.id, ("—", None))
        if window and username != window:
            continue
        # the limit the row counts down: the one the card is about while it still runs (a late
        # step, a late 先行审查, a passed 承诺 end), to the very day that raised the card; else the
        # case's own limit — so the card, the limit and the days late beside it tell one story
        card_clock, card_due, card_kind = raised.get(case.id, (None, None, ""))
        case_clock = clocks.get(case.id)
        live = card_clock is not None and card_clock.state in (ClockState.RUNNING, ClockState.PAUSED)
        clock = card_clock if live else case_clock
        due_on = days = None
        paused = False
        which = label = ""
        if clock is not None:
            label = _label(clock, step_names)
            if live:
                due_on, which = card_due, _which(card_clock, card_kind, ends.get(card_clock.id, {}))
            else:
                due_on, which = _end(calendar, clock, ends.get(clock.id, {}), today)
            paused = clock.state == ClockState.PAUSED
            days = calendar.between(today, due_on).value
        case_limit = ""
        if case_clock is not None:  # the case's own limit as the case page counts it, when the row counts another
            case_due, case_which = _end(calendar, case_clock, ends.get(case_clock.id, {}), today)
            if (case_clock, case_due) != (clock, due_on):
                left = calendar.between(today, case_due).value
                passed = "，已过承诺期限" if case_which == "法定" else ""  # as the case page says it
                case_limit = (f"办件{ClockKind.label_of(case_clock.kind)}{'（' + case_which + '）' if case_which else ''}"
                              f" 至 {case_due:%Y-%m-%d}，{remaining_words(left)}{passed}")
        # a step's lateness is its department's, whatever department owns the item (联办)
        accountable_id = answering.get(case.id, dept.id)
        if department and accountable_id != chosen_id:
            continue  # the filter keeps the cases the department answers for
        accountable = department_names.get(accountable_id, dept.name)
        rows.append(BoardRow(case.number, case.card, item_row.name, item_row.code, accountable, dept.code, name,
                             username, case.applicant, "；".join(steps.get(case.id, [])) or "—", label or "—", due_on,
                             days, paused, case.started_at.date(),
                             _label(card_clock, step_names) if card_clock is not None and not live else "", which,
                             case_limit, findings.get(case.id, 0)))
    rows.sort(key=lambda r: (r.card != "red", r.days if r.days is not None else 10 ** 6, r.number))
    # any department may answer for a card (a 联办 step), not only those with items of their own
    choices_query = select(Department.code, Department.name).order_by(Department.id)
    items_query = select(Item.code, Item.name).order_by(Item.code)
    if scope.department_id is not None:
        choices_query = choices_query.where(Department.id == scope.department_id)
        items_query = items_query.where(Item.department_id == scope.department_id)
    windows_seen = sorted({(r.window_user, r.window) for r in rows if r.window_user})
    by_department: dict[str, dict[str, int]] = {}
    for r in rows:
        counts = by_department.setdefault(r.department, {"yellow": 0, "red": 0})
        counts[r.card] += 1
    if chosen is not None:  # the title says whose cases are shown
        scope = replace(scope, title=chosen.name)
    return {"scope": scope, "rows": rows, "capped": capped, "limit": BOARD_LIMIT,
            "departments": list(session.execute(choices_query)), "items": list(session.execute(items_query)),
            "windows": windows_seen, "by_department": by_department,
            "filters": {"department": department, "item": item, "card": card, "window": window}}
