"""Findings detected from case histories and the current state (电子监察).

Each finding names its case, its kind, the department answerable for it (the item's department),
a one-line summary, and its evidence: the seqs of the history entries that show it. What is
looked for, each by its own function over the case's facts and history:

==================  =====================================================================
办理超时 overdue     the case got a red card, or concluded after its limit (promised + extension)
违规受理             the case was accepted by a clerk after a materials check that found a required
                    material missing (容缺 is recorded as ``deferred``, not ``missing``, and is allowed).
                    The engine now refuses such an acceptance (``outcomes.check_acceptance``), so
                    this finds it in histories recorded before, or imported; an acceptance by law
                    when the window let the limit pass is the 默许 finding, not this one
多头审批 duplicate   the same applicant has two open cases of the same item
差评整改             the applicant rated the service 不满意 or 非常不满意 (好差评): followed up here
否定报备 refusal     a refusal (不予受理 or 不予许可): reported to the supervisor, who acknowledges it
默许 deemed          a deemed acceptance or a deemed approval (the authority did not act in time)
重复告知             more than one one-time notice (一次性告知) on one case
体外循环迹象         a concluded case with a step completed within ``MIN_STEP_MINUTES`` of reaching its
                    handler (the work was done elsewhere and clicked through), or a certificate
                    number on a case that was never granted
==================  =====================================================================

流程错误 (an operation refused by the engine as out of order or not allowed) is found from
``command_refusals``, which ``Engine.execute`` appends to after a refused case command rolled back:
one finding per case for the refusals a scan has not yet named, its evidence the refusals' ids
(not history seqs: a refusal changed nothing in the history), see ``detect_refusals``.

Detection is idempotent: a finding is keyed by (case, kind, key) and found once; detecting again
adds only what is new. It runs as the ``detect_findings`` command (the sweep, or a supervisor),
so that each run is recorded.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from engine.commands.applicant import RATINGS, is_poor
from engine.commands.base import COMMANDS
from engine.errors import NotAllowed
from engine.store.enums import CaseState, ClockKind, FindingKind
from engine.store.models import Case, CommandRefusal, Finding, HistoryEntry, Item, Task, User
from engine.timelimits.workdays import WorkCalendar

from .facts import CaseFacts, case_facts

MIN_STEP_MINUTES = 2
#: how many cases one detection run reads the histories of at a time
BATCH = 500


@dataclass(frozen=True)
class Detected:
    case_id: int
    kind: str
    key: str
    department_id: int
    summary: str
    evidence: tuple[int, ...]


def _overdue(f: CaseFacts, entries) -> list[Detected]:
    if f.red_seq is not None:
        # the limit that passed: a clock's key is its kind, or ``step.…`` for a step's own limit
        kind = f.red_clock.split(".", 1)[0] or "decision"
        return [Detected(f.case_id, "overdue", "red", f.department_id,
                         f"办件超过{ClockKind.label_of(kind, '办理时限')}，亮红牌", (f.red_seq,))]
    if f.concluded and f.late_days > 0:
        return [Detected(f.case_id, "overdue", "late", f.department_id,
                         f"办结时已用 {f.used_days} 个工作日，时限 {f.limit_days} 个工作日，超期 {f.late_days} 个工作日", (f.concluded_seq,))]
    return []


def _irregular_acceptance(f: CaseFacts, entries) -> list[Detected]:
    missing_seq, missing = None, []
    for e in entries:
        if e.command == "record_materials":
            missing = list((e.payload or {}).get("missing_required") or [])
            missing_seq = e.seq if missing else None
        acceptance = ((e.observed or {}).get("case") or {}).get("acceptance")
        if missing_seq is not None and acceptance == "accepted" and e.command != "fire_deadline":
            return [Detected(f.case_id, "irregular_acceptance", str(missing_seq), f.department_id,
                             f"缺少必要材料（{'、'.join(missing)}）仍予受理", (missing_seq, e.seq))]
    return []


def _refusal(f: CaseFacts, entries) -> list[Detected]:
    if f.refusal_seq is None:
        return []
    what = "不予受理" if f.refusal_kind == "acceptance" else "不予许可"
    return [Detected(f.case_id, "refusal", f.refusal_kind or "", f.department_id, f"{what}，须向监察员报备",
                     (f.refusal_seq,))]


def _deemed(f: CaseFacts, entries) -> list[Detected]:
    if f.deemed_seq is None:
        return []
    what = "视为受理（受理期限内未作处理）" if f.deemed_kind == "acceptance" else "超期默许，视为准予许可"
    return [Detected(f.case_id, "deemed", f.deemed_kind or "", f.department_id, what, (f.deemed_seq,))]


def _repeated_notice(f: CaseFacts, entries) -> list[Detected]:
    if len(f.supplements) < 2:
        return []
    return [Detected(f.case_id, "repeated_notice", "", f.department_id,
                     f"一次性告知 {len(f.supplements)} 次（一次性告知制）", tuple(f.supplements))]


def _poor_rating(f: CaseFacts, entries) -> list[Detected]:
    """差评整改: a 不满意 or 非常不满意 rating is followed up like any other finding (要求说明, the
    department's explanation, 确认 or 关闭), so that 请跟进整改 has somewhere to happen."""
    if f.rating is None or not is_poor(f.rating):
        return []
    return [Detected(f.case_id, "poor_rating", "", f.department_id,
                     f"申请人评价“{RATINGS.get(f.rating, f.rating)}”（好差评），须跟进整改", (f.rating_seq,))]


def _off_system(f: CaseFacts, entries, certificate_no: str | None) -> list[Detected]:
    if not f.concluded:
        return []
    found = []
    appeared: dict[str, tuple[int, datetime]] = {}
    quick: list[int] = []
    for e in entries:
        task = (e.inputs or {}).get("task") if e.command == "complete_task" else None
        if isinstance(task, str) and task in appeared and e.seq != f.clerk_seq:
            seq, at = appeared[task]
            if (e.at - at).total_seconds() < MIN_STEP_MINUTES * 60:
                quick.append(e.seq)
        for t in e.ready_tasks or []:
            appeared.setdefault(t.get("task"), (e.seq, e.at))
    if quick and (f.promised_days or 0) > 0:  # a 即办件 is meant to be done at once
        found.append(Detected(f.case_id, "off_system", "quick", f.department_id,
                              f"{len(quick)} 个环节到达后不足 {MIN_STEP_MINUTES} 分钟即办结", tuple(quick)))
    granted = any(((e.observed or {}).get("case") or {}).get("decision") in ("grant", "deemed_grant") for e in entries)
    if certificate_no and not granted:
        found.append(Detected(f.case_id, "off_system", "certificate", f.department_id,
                              f"登记了证照编号 {certificate_no}，但办件没有准予许可的记录", (f.concluded_seq or 1,)))
    return found


def detect_case(case: Case, entries: list, calendar: WorkCalendar) -> list[Detected]:
    f = case_facts(case.id, case.number, case.item_id, case.item.department_id, case.applicant, case.started_policy,
                   entries, calendar)
    found: list[Detected] = []
    for rule in (_overdue, _irregular_acceptance, _refusal, _deemed, _repeated_notice, _poor_rating):
        found += rule(f, entries)
    found += _off_system(f, entries, case.certificate_no)
    return found


def detect_duplicates(session: Session) -> list[Detected]:
    """多头审批: the same applicant with two open cases of the same item (the later one is found)."""
    groups = (select(Case.applicant, Case.item_id).where(Case.state == CaseState.RUNNING)
              .group_by(Case.applicant, Case.item_id).having(func.count(Case.id) > 1))
    found = []
    for applicant, item_id in session.execute(groups):
        cases = list(session.scalars(select(Case).where(Case.state == CaseState.RUNNING, Case.applicant == applicant,
                                                        Case.item_id == item_id).order_by(Case.id)))
        first = cases[0]
        for case in cases[1:]:
            found.append(Detected(case.id, "duplicate", first.number, case.item.department_id,
                                  f"申请人 {applicant} 同一事项另有在办件 {first.number}", (1,)))
    return found


def detect_refusals(session: Session, *, after: int | None,
                    limit: int | None = None) -> tuple[list[Detected], int | None]:
    """流程错误: the refusals recorded after id ``after`` (all when None), at most ``limit``, one
    finding per case naming those not already named by an earlier 流程错误 finding of the case.
    Returns what was found and the id of the last refusal read (where the next run goes on)."""
    query = (select(CommandRefusal).where(CommandRefusal.case_id.is_not(None)).order_by(CommandRefusal.id)
             .limit(limit or SCAN_LIMIT))
    if after is not None:
        query = query.where(CommandRefusal.id > after)
    refusals = list(session.scalars(query))
    if not refusals:
        return [], after
    named: set[int] = set()
    case_ids = {r.case_id for r in refusals}
    for evidence in session.scalars(select(Finding.evidence).where(Finding.case_id.in_(case_ids),
                                                                   Finding.kind == FindingKind.PROCESS_ERROR)):
        named.update(evidence)
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(case_ids)))}
    insiders = _insiders(session, cases, {r.actor for r in refusals if r.code == NotAllowed.code})
    by_case: dict[int, list[CommandRefusal]] = {}
    for r in refusals:
        if r.id in named:
            continue
        if r.code == NotAllowed.code and r.actor not in insiders.get(r.case_id, ()):
            continue  # someone outside the case's departments (a stale page, a wrong link): not the case's 流程错误
        by_case.setdefault(r.case_id, []).append(r)
    found = []
    for case_id, rows in by_case.items():
        labels = "、".join(dict.fromkeys(getattr(COMMANDS.get(r.command), "label", r.command) for r in rows))
        found.append(Detected(case_id, FindingKind.PROCESS_ERROR, f"r{rows[0].id}", cases[case_id].item.department_id,
                              f"{len(rows)} 次操作被系统拒绝（{labels}）：{rows[0].message}"[:500],
                              tuple(r.id for r in rows)))
    return found, refusals[-1].id


def _insiders(session: Session, cases: dict[int, Case], actors: set[str]) -> dict[int, set[str]]:
    """Of ``actors``, those who work in a department taking part in each case: the item's
    department or one that had a task on the case. A refusal they met is the case's 流程错误 (an
    operation out of order or beyond their role); an outsider's is an access matter, kept in
    ``command_refusals`` but not made a finding."""
    if not actors or not cases:
        return {}
    department_of = dict(session.execute(select(User.username, User.department_id).where(User.username.in_(actors))).all())
    taking_part: dict[int, set[int]] = {case_id: {case.item.department_id} for case_id, case in cases.items()}
    for case_id, department_id in session.execute(select(Task.case_id, Task.department_id)
                                                  .where(Task.case_id.in_(cases)).distinct()):
        taking_part[case_id].add(department_id)
    return {case_id: {a for a, d in department_of.items() if d in departments}
            for case_id, departments in taking_part.items()}


def refusal_evidence(session: Session, ids: list[int]) -> list[CommandRefusal]:
    return list(session.scalars(select(CommandRefusal).where(CommandRefusal.id.in_(ids)).order_by(CommandRefusal.id)))


#: cases one detection run reads at most (one transaction; on SQLite it holds the write lock): a
#: backlog is worked through by the following runs, each continuing where the last one stopped
SCAN_LIMIT = 2000


def detect(session: Session, calendar: WorkCalendar, *, after: tuple[datetime, int] | None,
           limit: int | None = None) -> tuple[list[Detected], int, tuple[datetime, int] | None]:
    """Everything found in the cases changed after ``after`` (a case's last event time and id,
    where the previous run stopped; all cases when None), at most ``limit`` of them in order of
    their last event, and duplicates among open cases. Returns what was found, how many cases
    were read, and where this run stopped."""
    query = select(Case).join(Item, Case.item_id == Item.id).order_by(Case.last_event_at, Case.id).limit(limit or SCAN_LIMIT)
    if after is not None:
        at, case_id = after
        query = query.where(or_(Case.last_event_at > at, and_(Case.last_event_at == at, Case.id > case_id)))
    found: list[Detected] = []
    cases = list(session.scalars(query))
    stopped = (cases[-1].last_event_at, cases[-1].id) if cases else after
    for start in range(0, len(cases), BATCH):
        batch = cases[start:start + BATCH]
        histories: dict[int, list] = {}
        for e in session.scalars(select(HistoryEntry).where(HistoryEntry.case_id.in_([c.id for c in batch]))
                                 .order_by(HistoryEntry.case_id, HistoryEntry.seq)):
            histories.setdefault(e.case_id, []).append(e)
        for case in batch:
            if histories.get(case.id):
                found += detect_case(case, histories[case.id], calendar)
    return found + detect_duplicates(session), len(cases), stopped


def record(session: Session, found: list[Detected], at: datetime) -> list[Finding]:
    """Store what is not stored yet; returns the new findings."""
    if not found:
        return []
    existing = set(session.execute(select(Finding.case_id, Finding.kind, Finding.key).where(
        Finding.case_id.in_({d.case_id for d in found}))).all())
    new = []
    for d in found:
        if (d.case_id, d.kind, d.key) in existing:
            continue
        existing.add((d.case_id, d.kind, d.key))
        row = Finding(case_id=d.case_id, kind=d.kind, key=d.key, department_id=d.department_id, state="open",
                      summary=d.summary, evidence=list(d.evidence), detected_at=at, updated_at=at,
                      trail=[{"act": "detected", "by": "system", "at": at.isoformat(), "note": ""}])
        session.add(row)
        new.append(row)
    session.flush()
    return new


def findings_query(department_id: int | None = None, *, kind: str = "", state: str = ""):
    query = select(Finding).order_by(Finding.id.desc())
    if department_id is not None:
        query = query.where(Finding.department_id == department_id)
    if kind:
        query = query.where(Finding.kind == kind)
    if state:
        query = query.where(Finding.state == state)
    return query


def finding_dict(f: Finding) -> dict[str, Any]:
    return {"id": f.id, "kind": f.kind, "state": f.state, "case": f.case.number, "department": f.department.name,
            "summary": f.summary, "evidence": list(f.evidence), "detected_at": f.detected_at.isoformat(),
            "trail": list(f.trail)}
