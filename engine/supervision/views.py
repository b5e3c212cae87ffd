"""What the supervision pages show, and which operations they offer (asked of the commands'
policies, so no page offers what the engine would refuse)."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.authorization import Subject
from engine.clock import CHINA_TZ
from engine.commands import COMMANDS
from engine.errors import BadInput, NotAllowed, NotFound
from engine.people import display_names
from engine.read.views import history_view
from engine.store.enums import FindingKind, FindingState, TaskState, WarningState, WarningTarget
from engine.store.models import Case, Department, Finding, HistoryEntry, Item, Task, User, UserRole

from .board import board_scope
from .findings import refusal_evidence
from .warnings import warnings_list, warning_dict

FINDINGS_SHOWN = 200
FINDING_ACTS = ("acknowledge_refusal", "request_explanation", "explain_finding", "confirm_finding", "close_finding")
#: each act as its button says it
ACT_BUTTONS = {"acknowledge_refusal": "确认报备", "request_explanation": "要求说明", "explain_finding": "提交说明",
               "confirm_finding": "确认问题", "close_finding": "关闭"}


def findings_page(session: Session, actor: Actor, *, state: str = "", kind: str = "", case: str = "",
                  department: str = "") -> dict[str, Any]:
    """The findings, newest first, filtered by state, kind, case number and (a supervisor) the
    department answerable for them; a head sees their own department's."""
    scope = board_scope(session, actor)
    case, department = case.strip(), department.strip()
    query = select(Finding).order_by(Finding.id.desc()).limit(FINDINGS_SHOWN)
    if scope.department_id is not None:
        query = query.where(Finding.department_id == scope.department_id)
    elif department:
        query = query.where(Finding.department_id.in_(select(Department.id).where(Department.code == department)))
    if case:
        query = query.where(Finding.case_id.in_(select(Case.id).where(Case.number == case)))
    if state in FindingState.values():
        query = query.where(Finding.state == state)
    if kind in FindingKind.values():
        query = query.where(Finding.kind == kind)
    rows = []
    histories: dict[int, dict[int, dict]] = {}
    for f in session.scalars(query):
        if f.case_id not in histories:
            histories[f.case_id] = {e["seq"]: e for e in history_view(session, f.case)}
        if f.kind == FindingKind.PROCESS_ERROR:  # its evidence: refused operations, not history entries
            refused = refusal_evidence(session, list(f.evidence))
            who = display_names(session, {r.actor for r in refused})
            evidence = [{"seq": "—", "at": r.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"),
                         "who": who.get(r.actor, r.actor),
                         "what": f"{getattr(COMMANDS.get(r.command), 'label', r.command)}（被拒绝）",
                         "step": "", "details": "", "said": r.message} for r in refused]
        else:
            evidence = [histories[f.case_id][s] for s in f.evidence if s in histories[f.case_id]]
        subject = Subject(None, None, record=f)
        acts = [t for t in FINDING_ACTS if COMMANDS[t].policy.allows(session, actor, subject)
                and _state_allows(t, f)]
        names = display_names(session, {t["by"] for t in f.trail})
        trail = [{**t, "by": names.get(t["by"], "系统" if t["by"].startswith("system") else t["by"]),
                  "at": _china(t["at"])} for t in f.trail]
        process_error = f.kind == FindingKind.PROCESS_ERROR
        rows.append({"id": f.id, "kind": f.kind,
                     "evidence_caption": "依据（被拒绝的操作）" if process_error else "依据（办件记录）",
                     "said_heading": "拒绝原因" if process_error else "意见", "state": f.state, "case": f.case.number, "item": f.case.item.name,
                     "department": f.department.name, "summary": f.summary, "evidence": evidence,
                     "trail": trail, "acts": acts})
    departments = list(session.execute(select(Department.code, Department.name).order_by(Department.id))) \
        if scope.department_id is None else []
    return {"scope": scope, "rows": rows,
            "filters": {"state": state, "kind": kind, "case": case,
                        "department": department if scope.department_id is None else ""},
            "kinds": [(k.value, k.label) for k in FindingKind], "states": [(s.value, s.label) for s in FindingState],
            "departments": departments, "buttons": ACT_BUTTONS, "may_detect": actor.has_role("supervisor"),
            "may_warn": actor.has_role("supervisor")}


def case_supervision(session: Session, actor: Actor, case: Case) -> dict[str, Any] | None:
    """What supervision holds about one case, for its page: the findings on it (number, kind,
    state, the department's explanation) and the 效能告诫 that name it or one of those findings.
    None for whoever may not see supervision (``board_scope``); a head sees their department's."""
    try:
        scope = board_scope(session, actor)
    except NotAllowed:
        return None
    query = select(Finding).where(Finding.case_id == case.id).order_by(Finding.id)
    if scope.department_id is not None:
        query = query.where(Finding.department_id == scope.department_id)
    findings = []
    for f in session.scalars(query):
        explained = [t for t in f.trail if t.get("act") == "explained"]
        names = display_names(session, {t["by"] for t in explained})
        findings.append({"id": f.id, "kind": f.kind, "state": f.state, "department": f.department.name,
                         "summary": f.summary,
                         "explanations": [{"by": names.get(t["by"], t["by"]), "at": _china(t["at"]),
                                           "note": t.get("note") or ""} for t in explained]})
    ids = {f["id"] for f in findings}
    warnings = []
    for w in warnings_list(session, department_id=scope.department_id):
        if case.number in (w.cases or []) or ids & set(w.findings or []):
            row = warning_dict(w)
            row["target_name"] = WarningTarget.label_of(row["target"])
            row["state_name"] = WarningState.label_of(row["state"])
            row["created_at"] = _china(row["created_at"])
            warnings.append(row)
    return {"findings": findings, "warnings": warnings, "scope": scope,
            "may_warn": actor.has_role("supervisor")}


def _china(iso: str) -> str:
    """A stored ISO time as China time, to the minute."""
    return datetime.fromisoformat(iso).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def _state_allows(command_type: str, f: Finding) -> bool:
    open_or_explained = (FindingState.OPEN, FindingState.EXPLAINED)
    return {"acknowledge_refusal": f.kind == FindingKind.REFUSAL and f.state in open_or_explained,
            "request_explanation": f.state in open_or_explained,
            "explain_finding": f.state == FindingState.EXPLAINING,
            "confirm_finding": f.state in open_or_explained,
            "close_finding": f.state != FindingState.CLOSED}[command_type]


def warnings_page(session: Session, actor: Actor) -> dict[str, Any]:
    """The warnings: all of them with the form to issue one (a supervisor), or those to a head's
    own department and its staff, to read (a head)."""
    supervisor = actor.user_id is not None and actor.has_role("supervisor")
    if not supervisor and not (actor.user_id is not None and actor.has_role("head")):
        raise NotAllowed("效能告诫只对监察员和部门负责人开放")
    department_id = None if supervisor else actor.department_id
    rows = [warning_dict(w) for w in warnings_list(session, department_id=department_id)]
    names = display_names(session, {r["created_by"] for r in rows})
    for r in rows:
        r["created_by_name"] = names.get(r["created_by"], r["created_by"])
        r["created_at"] = _china(r["created_at"])
        r["target_name"] = WarningTarget.label_of(r["target"])
        r["state_name"] = WarningState.label_of(r["state"])
    people = [(u.username, f"{u.display_name}（{u.department.name}）") for u in session.scalars(
        select(User).where(User.active.is_(True)).join(UserRole).where(
            UserRole.role.in_(WARNED_ROLES)).order_by(User.department_id, User.id)).unique()] \
        if supervisor else []
    units = list(session.execute(select(Department.code, Department.name).order_by(Department.id))) if supervisor else []
    per_person: dict[str, int] = {}
    per_unit: dict[str, int] = {}
    for r in rows:
        if r["state"] == WarningState.ISSUED:
            if r["person"]:
                per_person[r["person"]] = per_person.get(r["person"], 0) + 1
            per_unit[r["department"]] = per_unit.get(r["department"], 0) + 1
    return {"rows": rows, "people": people, "units": units, "per_person": per_person, "per_unit": per_unit,
            "proposed": [r for r in rows if r["state"] == WarningState.PROPOSED] if supervisor else [],
            "may_issue": supervisor,
            "scope": "全部部门" if supervisor else session.get(Department, actor.department_id).name}


#: the roles a warning may be addressed to on the form (``warnings_page`` ``people``)
WARNED_ROLES = ("window_clerk", "reviewer", "head")


def warning_draft(session: Session, finding_id: int) -> dict[str, str]:
    """The 效能告诫 form filled in from a finding (发出效能告诫 on the findings page): the finding,
    its case, and whom it concerns — the staff member of the answerable department whose entry is
    its evidence, else the one holding the case's open step there, else the department itself."""
    f = session.get(Finding, finding_id) if 0 < finding_id <= 2 ** 31 else None
    if f is None:
        raise NotFound(f"监察事项第 {finding_id} 号不存在")
    draft = {"findings": f"第 {f.id} 号", "cases": f.case.number, "department": f.department.code,
             "target": "unit", "user": "", "reason": ""}
    candidates: list[str] = []
    if f.kind != FindingKind.PROCESS_ERROR:  # its evidence: history seqs, newest last
        candidates += [a for a in session.scalars(select(HistoryEntry.actor).where(
            HistoryEntry.case_id == f.case_id, HistoryEntry.seq.in_(list(f.evidence or [])))
            .order_by(HistoryEntry.seq.desc())) if ":" not in a]
    candidates += [u for u in session.scalars(select(User.username).join(Task, Task.assignee_id == User.id).where(
        Task.case_id == f.case_id, Task.state == TaskState.READY, Task.department_id == f.department_id))]
    for username in candidates:
        person = session.scalar(select(User).join(UserRole).where(
            User.username == username, User.active.is_(True), User.department_id == f.department_id,
            UserRole.role.in_(WARNED_ROLES)).limit(1))
        if person is not None:
            draft.update(target="person", user=person.username)
            break
    return draft


class FieldError(BadInput):
    """Bad input in one field of a form: the page shows the message next to that field."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


#: the years the statistics and the report cover
YEARS = (2000, 2100)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_QUARTER = re.compile(r"(\d{4})-?[Qq]([0-9]+)")


def _year(year: int, field: str) -> int:
    if not YEARS[0] <= year <= YEARS[1]:
        raise FieldError(f"年份超出范围：只能查看 {YEARS[0]} 年至 {YEARS[1]} 年，收到 {year} 年", field)
    return year


def month_of(value: str, today: date, field: str = "value") -> tuple[int, int]:
    """A month as typed (2026-03; empty: this month), or a message saying what is wrong with it."""
    value = (value or "").strip()
    if not value:
        return today.year, today.month
    found = _MONTH.fullmatch(value)
    if found is None:
        if _QUARTER.fullmatch(value):
            raise FieldError(f"这里要填月份，如 2026-03；“{value}”是季度（按季度统计请把期间选为按季度）", field)
        raise FieldError(f"月份格式不对：应如 2026-03（四位年份-月份），收到“{value}”", field)
    year, month = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12:
        raise FieldError(f"没有第 {month} 个月：月份应在 1 至 12 之间，收到“{value}”", field)
    return _year(year, field), month


def _day(text: str, which: str, field: str) -> date:
    text = (text or "").strip()
    if not text:
        raise FieldError(f"请填写{which}", field)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldError(f"{which}不对：应如 2026-03-01，收到“{text}”", field) from None


def period_of(kind: str, value: str, start: str, end: str, today: date) -> tuple[date, date, str]:
    """The period a statistics page asks for: a month (2026-03), a quarter (2026-Q1) or a range.
    A bad one is refused with a ``FieldError`` naming the field and saying what is wrong."""
    if kind == "range":
        a, b = _day(start, "开始日期", "start"), _day(end, "结束日期", "end")
        _year(a.year, "start"), _year(b.year, "end")
        if b < a:
            raise FieldError(f"结束日期 {b:%Y-%m-%d} 早于开始日期 {a:%Y-%m-%d}，请改正", "end")
        if (b - a).days > 366 * 3:
            raise FieldError("统计区间最长三年", "end")
        return a, b, f"{a:%Y-%m-%d} 至 {b:%Y-%m-%d}"
    if kind == "quarter":
        value = (value or "").strip()
        if not value:
            year, q = today.year, (today.month - 1) // 3 + 1
        else:
            found = _QUARTER.fullmatch(value)
            if found is None:
                if _MONTH.fullmatch(value):
                    raise FieldError(f"这里要填季度，如 2026-Q4；“{value}”是月份（按月统计请把期间选为按月）", "value")
                raise FieldError(f"季度格式不对：应如 2026-Q1（第一季度），收到“{value}”", "value")
            year, q = _year(int(found.group(1)), "value"), int(found.group(2))
            if not 1 <= q <= 4:
                raise FieldError(f"没有第 {q} 季度：季度应为 Q1 至 Q4，收到“{value}”", "value")
        a = date(year, 3 * q - 2, 1)
        b = (date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)) - timedelta(days=1)
        return a, b, f"{year} 年第 {q} 季度"
    if kind != "month":
        raise FieldError("期间只能选按月、按季度或自定义", "period")
    year, month = month_of(value, today)
    a = date(year, month, 1)
    b = date(year + (month == 12), 1 if month == 12 else month + 1, 1) - timedelta(days=1)
    return a, b, f"{year} 年 {month} 月"


CASES_LISTED = 500


def cases_listing(session: Session, numbers: list[str]) -> list[dict[str, Any]]:
    """The cases behind a figure, as a list a person reads: item, applicant, when in and out."""
    shown = sorted(numbers)[:CASES_LISTED]
    rows = session.execute(select(Case.number, Item.name, Case.applicant, Case.state, Case.started_at,
                                  Case.concluded_at, Case.decision, Case.acceptance)
                           .join(Item, Case.item_id == Item.id).where(Case.number.in_(shown)).order_by(Case.number))
    return [{"number": n, "item": item, "applicant": applicant, "state": state,
             "started": started.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"),
             "concluded": concluded.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if concluded else "",
             "decision": decision, "acceptance": acceptance}
            for n, item, applicant, state, started, concluded, decision, acceptance in rows]
