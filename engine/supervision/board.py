"""The supervisor's board (电子监察看板): every open case with a yellow or red card, by department,
window and item, with how long it has left or how late it is, in working days on the engine's
calendar. A department head sees the same for the department.

"Time left" is measured against the case's own limit clock: the decision clock once accepted (办理
时限), the acceptance clock before (受理时限), the issue clock after the decision (发证时限), with its
extension and suspended days; a paused clock (待补正, 特别程序) is shown as paused, not counted down.
Beside the card, the limit whose deadline raised it, which need not be the case's: a review step's
own limit (环节时限) or 先行审查 — and while it runs, how late it is.
The window (窗口) is the clerk who took the application in and that clerk's department.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.errors import NotAllowed
from engine.store.enums import Card, CaseState, ClockKind, ClockState, DeadlineState, TaskState
from engine.store.models import Case, Clock, Deadline, Department, HistoryEntry, Item, Task, User
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
    card_clock: str = ""  # the limit whose deadline raised the card ("" if none is recorded)
    card_days: int | None = None  # that limit's working days left or late (< 0), while it runs


def _due(calendar: WorkCalendar, clock: Clock) -> date:
    return calendar.add(clock.started_on, clock.limit_days + clock.extended_days + clock.suspended_days).value


#: the deadlines that raise each card (engine/timelimits/firing.py ``alert``; a blocked 超期默许 shows red)
RAISING = {"yellow": ("yellow",), "red": ("red", "deemed")}


def _card_clocks(session: Session, cards: list[tuple[int, str]]) -> dict[int, Clock]:
    """For each case, the clock whose fired deadline raised its card: the latest that can."""
    if not cards:
        return {}
    wanted = dict(cards)
    rows = session.execute(select(Deadline.case_id, Deadline.kind, Clock).join(Clock, Clock.id == Deadline.clock_id)
                           .where(Deadline.case_id.in_(list(wanted)), Deadline.state == DeadlineState.FIRED,
                                  Deadline.kind.in_(("yellow", "red", "deemed")))
                           .order_by(Deadline.fired_at, Deadline.id)).all()
    out: dict[int, Clock] = {}
    for case_id, kind, clock in rows:
        if kind in RAISING.get(wanted[case_id], ()):
            out[case_id] = clock
    return out


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
    query = (select(Case, Item, Department).join(Item, Case.item_id == Item.id)
             .join(Department, Item.department_id == Department.id)
             .where(Case.state == CaseState.RUNNING, Case.card.is_not(None)))
    if scope.department_id is not None:
        query = query.where(Item.department_id == scope.department_id)
    if department:
        query = query.where(Department.code == department)
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
    raised = _card_clocks(session, [(c.id, c.card) for c, _, _ in found])
    steps: dict[int, list[str]] = {}
    for task in session.scalars(select(Task).where(Task.case_id.in_(ids), Task.state == TaskState.READY)
                                .order_by(Task.id)):
        holder = task.assignee.display_name if task.assignee is not None else f"{task.department.name}"
        steps.setdefault(task.case_id, []).append(f"{task.name}（{holder}）")
    rows = []
    for case, item_row, dept in found:
        name, username = windows.get(case.id, ("—", None))
        if window and username != window:
            continue
        clock = clocks.get(case.id)
        due_on = days = None
        paused = False
        label = "—"
        if clock is not None:
            label = ClockKind.label_of(clock.kind)
            due_on = _due(calendar, clock)
            paused = clock.state == ClockState.PAUSED
            days = calendar.between(today, due_on).value
        # what the card is about, which need not be the case's limit: a late review step (环节时限)
        # or 先行审查 beside a decision clock with days left; how late it is while it still counts
        card_clock = raised.get(case.id)
        card_days = (calendar.between(today, _due(calendar, card_clock)).value
                     if card_clock is not None and card_clock.state == ClockState.RUNNING else None)
        rows.append(BoardRow(case.number, case.card, item_row.name, item_row.code, dept.name, dept.code, name,
                             username, case.applicant, "；".join(steps.get(case.id, [])) or "—", label, due_on, days,
                             paused, case.started_at.date(),
                             ClockKind.label_of(card_clock.kind) if card_clock is not None else "", card_days))
    rows.sort(key=lambda r: (r.card != "red", r.days if r.days is not None else 10 ** 6, r.number))
    choices_query = select(Department.code, Department.name).where(
        Department.id.in_(select(Item.department_id))).order_by(Department.id)
    items_query = select(Item.code, Item.name).order_by(Item.code)
    if scope.department_id is not None:
        choices_query = choices_query.where(Department.id == scope.department_id)
        items_query = items_query.where(Item.department_id == scope.department_id)
    windows_seen = sorted({(r.window_user, r.window) for r in rows if r.window_user})
    by_department: dict[str, dict[str, int]] = {}
    for r in rows:
        counts = by_department.setdefault(r.department, {"yellow": 0, "red": 0})
        counts[r.card] += 1
    return {"scope": scope, "rows": rows, "capped": capped, "limit": BOARD_LIMIT,
            "departments": list(session.execute(choices_query)), "items": list(session.execute(items_query)),
            "windows": windows_seen, "by_department": by_department,
            "filters": {"department": department, "item": item, "card": card, "window": window}}
