"""Finding cases (办件查询): by part of the number, part of the applicant's name, item, the day
received (China dates) and status — over the cases the user may read (``may_read_case``), all
of them for supervisors and administrators. Parsing the form's values is here too, so the web
and the CLI refuse the same input with the same Chinese message.

Plans: the newest-first page walks ``ix_cases_started_at`` (migration 0008) and the item filter
``ix_cases_item_id``; a part of a number or name is a ``LIKE '%…%'``, which no index range can
serve, checked on the cases whose grams it has (engine/store/grams.py, migration 0020) — a scan
only for a part with no letter or digit. The current steps and promised end dates of a page are fetched
for its 20 cases at once through ``ix_tasks_case_state`` and ``ix_deadlines_case_id``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Mapping

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, joinedload

from engine.actors import Actor
from engine.clock import CHINA_TZ
from engine.errors import BadInput
from engine.read.queries import COUNT_CAP, iso
from engine.people import role_holders
from engine.roles import role_name
from engine.runtime.values import check_text
from engine.store import grams
from engine.store.enums import Acceptance, CaseState, Decision, TaskState
from engine.store.models import Case, CaseRequest, Clock, Deadline, HistoryEntry, Item, Message, Task

#: roles that read every case (as ``engine.read.views.OVERSIGHT_ROLES``)
SEE_ALL = frozenset({"supervisor", "admin"})

MAX_TERM = 64
PER_PAGE = 20

#: the statuses one may search by, with their Chinese names (from engine/store/enums.py)
STATUSES: dict[str, str] = {
    "running": CaseState.RUNNING.label,
    "supplement": Acceptance.SUPPLEMENT.label,
    "concluded": CaseState.CONCLUDED.label,
    "granted": Decision.GRANT.label,
    "denied": Decision.DENY.label,
    "deemed_grant": Decision.DEEMED_GRANT.label,
    "refused": Acceptance.REFUSED.label,
    "held": "已挂起",
    "terminated": CaseState.TERMINATED.label,
    "voided": CaseState.VOIDED.label,
}


def _status_clause(status: str):
    return {
        "running": and_(Case.state == CaseState.RUNNING, Case.hold.is_(None)),
        "supplement": and_(Case.state == CaseState.RUNNING, Case.acceptance == Acceptance.SUPPLEMENT),
        "concluded": Case.state == CaseState.CONCLUDED,
        "granted": Case.decision == Decision.GRANT,
        "denied": Case.decision == Decision.DENY,
        "deemed_grant": Case.decision == Decision.DEEMED_GRANT,
        "refused": Case.acceptance == Acceptance.REFUSED,
        "held": and_(Case.state == CaseState.RUNNING, Case.hold.is_not(None)),
        "terminated": Case.state == CaseState.TERMINATED,
        "voided": Case.state == CaseState.VOIDED,
    }[status]


def status_label(case: Case) -> str:
    """One word for where a case stands: ended by an administrator (已终止, 已作废), the refusal or
    decision if there is one, else 已办结, 已挂起, 待补正 or 办理中."""
    if case.state in (CaseState.TERMINATED, CaseState.VOIDED):
        return CaseState.label_of(case.state)
    if case.acceptance == Acceptance.REFUSED:
        return Acceptance.REFUSED.label
    if case.decision:
        return Decision.label_of(case.decision)
    if case.state == CaseState.CONCLUDED:
        return CaseState.CONCLUDED.label
    if case.hold:
        return "已挂起"
    if case.acceptance == Acceptance.SUPPLEMENT:
        return Acceptance.SUPPLEMENT.label
    return CaseState.RUNNING.label


@dataclass(frozen=True)
class CaseSearch:
    number: str = ""
    applicant: str = ""
    item: str = ""  # item code
    received_from: date | None = None
    received_to: date | None = None
    status: str = ""
    page: int = 1

    @property
    def empty(self) -> bool:
        return not (self.number or self.applicant or self.item or self.received_from or self.received_to
                    or self.status)

    def args(self) -> dict[str, str]:
        """The query string of this search (for the pager's links)."""
        out = {"number": self.number, "applicant": self.applicant, "item": self.item, "status": self.status,
               "from": self.received_from.isoformat() if self.received_from else "",
               "to": self.received_to.isoformat() if self.received_to else ""}
        return {k: v for k, v in out.items() if v}


def _term(value: str, what: str) -> str:
    value = check_text(value, what, max_length=1000).strip()
    if len(value) > MAX_TERM:
        raise BadInput(f"{what}过长（{len(value)} 字，上限 {MAX_TERM} 字）")
    return value


def _day(value: str, what: str) -> date | None:
    value = check_text(value, what, max_length=100).strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value.replace("/", "-"))
    except ValueError:
        raise BadInput(f"{what}“{value[:20]}”不是有效的日期，请按 年-月-日 填写，例如 2026-03-02") from None
    if not 2000 <= day.year <= 2100:
        raise BadInput(f"{what}应在 2000 年到 2100 年之间")
    return day


def parse_search(args: Mapping[str, str], item_codes: set[str] | None = None) -> CaseSearch:
    """The search form's values checked: bounded text, dates as 年-月-日, a known item and status."""
    number = _term(args.get("number", ""), "办件编号")
    applicant = _term(args.get("applicant", ""), "申请人")
    item = _term(args.get("item", ""), "事项")
    if item and item_codes is not None and item not in item_codes:
        raise BadInput("所选事项不存在，请从列表中选择")
    status = _term(args.get("status", ""), "状态")
    if status and status not in STATUSES:
        raise BadInput("所选状态无效，请从列表中选择")
    start, end = _day(args.get("from", ""), "收件日期起"), _day(args.get("to", ""), "收件日期止")
    if start and end and end < start:
        raise BadInput(f"收件日期止（{end}）早于收件日期起（{start}）")
    try:
        page = max(1, int(args.get("page", "1") or 1))
    except ValueError:
        page = 1
    return CaseSearch(number.upper(), applicant, item, start, end, status, min(page, COUNT_CAP // PER_PAGE))


def readable_by(actor: Actor):
    """The SQL condition for the cases ``actor`` may read — the same rule as
    ``engine.read.views.may_read_case`` (tests check they agree), for staff: a department that took
    part or owns the item (their own or an away colleague's they stand in for), a copy (抄送) to
    them, an extension their department decides, or a case they registered."""
    if actor.roles & SEE_ALL or actor.kind == "system":
        return True
    if actor.kind == "applicant":  # as ``may_read_case``
        if actor.account_id is not None:
            return Case.account_id == actor.account_id
        return (Case.applicant == actor.display_name) & Case.account_id.is_(None)
    if actor.user_id is None:
        return False
    departments = sorted({actor.department_id, *(p.department_id for p in actor.principals)} - {None})
    return or_(
        Case.item_id.in_(select(Item.id).where(Item.department_id.in_(departments))),
        exists().where(Task.case_id == Case.id, Task.department_id.in_(departments)),
        Case.id.in_(select(Message.case_id).where(Message.user_id == actor.user_id, Message.kind == "copy",
                                                  Message.case_id.is_not(None))),
        Case.id.in_(select(CaseRequest.case_id).where(CaseRequest.department_id == actor.department_id)),
        exists().where(HistoryEntry.case_id == Case.id, HistoryEntry.seq == 1, HistoryEntry.actor == actor.name),
    )


def _like(text: str) -> str:
    return "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"


def _received(day: date, next_day: bool = False) -> datetime:
    """The start of a China day (or of the one after), as the UTC moment stored."""
    return datetime.combine(day + timedelta(days=1 if next_day else 0), time(), CHINA_TZ)


@dataclass
class SearchPage:
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


def search_cases(session: Session, actor: Actor, search: CaseSearch, *, per_page: int = PER_PAGE) -> SearchPage:
    """One page of the cases found, newest first, with where each stands."""
    query = select(Case).where(readable_by(actor))
    if search.number:
        query = query.where(Case.number.like(_like(search.number)))
    if search.applicant:
        query = query.where(Case.applicant.like(_like(search.applicant)))
    # the cases whose grams (engine/store/grams.py) the parts have: a few, looked up by id, instead
    # of every case read for its LIKE
    dialect = session.get_bind().dialect.name
    needed = grams.bind_value(dialect, f"{search.number} {search.applicant}")  # None without a part
    if needed is not None:
        query = query.where(grams.condition(dialect, needed))
    if search.item:
        query = query.where(Case.item_id == select(Item.id).where(Item.code == search.item).scalar_subquery())
    if search.received_from:
        query = query.where(Case.started_at >= _received(search.received_from))
    if search.received_to:
        query = query.where(Case.started_at < _received(search.received_to, next_day=True))
    if search.status:
        query = query.where(_status_clause(search.status))
    total = session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP + 1).subquery())) or 0
    page = min(search.page, max(1, -(-min(total, COUNT_CAP) // per_page)))
    cases = list(session.scalars(query.options(joinedload(Case.item)).order_by(Case.started_at.desc(), Case.id.desc())
                                 .limit(per_page).offset((page - 1) * per_page)))
    ids = [c.id for c in cases]
    steps: dict[int, list[str]] = {}
    for case_id, name in session.execute(select(Task.case_id, Task.name).where(
            Task.case_id.in_(ids), Task.state == TaskState.READY).order_by(Task.id)):
        steps.setdefault(case_id, []).append(name)
    promised = dict(session.execute(
        select(Deadline.case_id, func.min(Deadline.due_on)).join(Clock, Clock.id == Deadline.clock_id)
        .where(Deadline.case_id.in_(ids), Clock.kind == "decision", Deadline.kind.in_(("yellow", "red", "deemed")))
        .group_by(Deadline.case_id)).all())
    rows = [{"number": c.number, "item": c.item.code, "item_name": c.item.name, "applicant": c.applicant,
             "started_at": iso(c.started_at), "state": c.state, "status": status_label(c),
             "steps": list(dict.fromkeys(steps.get(c.id, []))),
             "promised_on": promised[c.id].isoformat() if c.id in promised else None}
            for c in cases]
    return SearchPage(rows, total, page, per_page)


def searchable_items(session: Session) -> list[tuple[str, str]]:
    """The items to pick from, by name: (code, name)."""
    return [(code, name) for code, name in session.execute(select(Item.code, Item.name).order_by(Item.name, Item.code))]


def where_it_went(session: Session, case_id: int) -> str:
    """After a step is done: where the case is now — its next steps and who holds them, or how it
    ended — for the clerk's confirmation ("已办理：受理（…）。下一环节：审查（市市场监督管理局 · 审查员）")."""
    case = session.get(Case, case_id)
    if case is None:
        return ""
    if case.state != CaseState.RUNNING:
        return f"办件状态：{status_label(case)}"
    if case.acceptance == Acceptance.SUPPLEMENT:
        return "已一次性告知，等待申请人补正"
    steps = []
    for task in session.scalars(select(Task).where(Task.case_id == case_id, Task.state == TaskState.READY)
                                .order_by(Task.id)):
        if task.assignee is not None:
            holder = task.assignee.display_name
        else:  # shared by a role: the department and role, and who holds it there
            holder = "·".join(p for p in (task.department.name if task.department else "", role_name(task.role or ""))
                              if p)
            people = [u.display_name for u in role_holders(session, task.role, task.department_id)] \
                if task.role and task.department_id else []
            if people:
                holder = f"{holder}：{'、'.join(people)}"
        steps.append(f"{task.name}（{holder}）" if holder else task.name)
    return "下一环节：" + "、".join(dict.fromkeys(steps)) if steps else f"办件状态：{status_label(case)}"
