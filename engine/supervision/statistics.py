"""Statistics computed from case histories (``facts.case_facts``) for a period, grouped by
department, window, clerk or item, with the cases behind every figure.

A case counts as *received* in the period it came in (收件) and as *concluded* (办结) in the period
it was decided; a case ended by 不予受理 is counted as such and is no 办结 (no decision was made
on it). Every figure about conclusions (on time, on the spot, time used, overdue, deemed, refusals,
returns, supplements, extensions) is over the cases decided in the period. Limits and compression
are over 承诺件 (promised limit above 0): a 即办件 has no working-day limit to compress.
Satisfaction (满意率) is over the ratings given in the period (好差评, given online once a case
concluded, whenever that was): the share rated 基本满意 or better; “暂无” without ratings.
Complaints are the cases of the 12345 complaint item received and concluded in the period.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.store.enums import CaseState
from engine.store.models import Case, Department, HistoryEntry, Item, JSONType, User
from engine.timelimits.workdays import WorkCalendar

from engine.commands.applicant import SATISFIED

from .facts import CaseFacts, case_facts, day_range

GROUPS = {"department": "部门", "window": "窗口", "clerk": "受理人", "item": "事项"}
COMPLAINT_ITEM = "ZWFW-12345"
#: figure → (Chinese name, whether it is a share of ``concluded``)
FIGURES = {
    "received": "收件", "concluded": "办结", "on_time": "按时办结", "on_time_rate": "按时办结率",
    "on_spot": "现场办结", "on_spot_rate": "现场办结率", "instant": "即办件", "instant_rate": "即办件率",
    "avg_used": "平均用时（工作日）",
    "avg_promised": "平均承诺时限", "avg_statutory": "平均法定时限", "promise_compression": "承诺压缩率",
    "compression": "实际压缩率",
    "overdue": "超期办结", "deemed": "默许", "not_accepted": "不予受理", "refusals": "不予许可", "returns": "有退回",
    "supplements": "有补正告知", "extensions": "有延期", "satisfaction_rate": "满意率",
    "complaints": "投诉收到", "complaints_resolved": "投诉办结", "limited": "承诺件办结",
    "rated": "评价", "satisfied": "满意评价",
}
#: the figures whose value is a list of cases (the others are computed from them)
COUNTED = ("received", "concluded", "on_time", "on_spot", "instant", "overdue", "deemed", "not_accepted", "refusals",
           "returns", "supplements", "extensions", "complaints", "complaints_resolved", "limited", "rated",
           "satisfied")
HISTORY_BATCH = 2000
#: of an entry's result only the days of an extension are read, and of the observed state only the
#: case's four flags, as plain values: the JSON documents stay in the database (decoding them was
#: most of the time over a month of cases)
_days = HistoryEntry.payload["days"].as_integer()
_score = HistoryEntry.payload["score"].as_integer()
#: the time policy a case started under: its own copy once the item's changed, else the item's
#: (``Case.started_policy``)
_POLICY = func.coalesce(Case.time_policy, Item.time_policy, type_=JSONType)
_FLAGS = ("acceptance", "decision", "card")
_OBSERVED = (*(HistoryEntry.observed[("case", name)].as_string().label(name) for name in _FLAGS),
             HistoryEntry.observed[("case", "suspended")].as_boolean().label("suspended"))


class _Entry:
    """A history row as ``case_facts`` reads it, with ``payload`` holding only ``days``."""

    __slots__ = ("seq", "command", "actor", "at", "payload", "case_state", "observed_case")

    def __init__(self, row):
        self.seq, self.command, self.actor, self.at = row.seq, row.command, row.actor, row.at
        self.payload = {"days": row.days} if row.days is not None else {}
        if row.score is not None:
            self.payload["score"] = row.score
        self.case_state = row.case_state
        self.observed_case = {"acceptance": row.acceptance, "decision": row.decision, "card": row.card,
                              "suspended": bool(row.suspended)}


@dataclass
class Group:
    key: str
    label: str
    cases: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in COUNTED})
    used: list[int] = field(default_factory=list)
    promised: list[int] = field(default_factory=list)
    statutory: list[int] = field(default_factory=list)
    limited_used: list[int] = field(default_factory=list)  # time used by the 承诺件 among them

    def add(self, f: CaseFacts, *, received: bool, concluded: bool, complaint: bool, rated: bool = False) -> None:
        c = self.cases
        if rated:  # 好差评 given in the period, whenever the case concluded
            c["rated"].append(f.number)
            if f.rating >= SATISFIED:
                c["satisfied"].append(f.number)
        if received:
            c["received"].append(f.number)
            if complaint:
                c["complaints"].append(f.number)
        if not concluded:
            return
        if f.not_accepted:  # 不予受理: ended without a decision, no 办结
            c["not_accepted"].append(f.number)
            return
        c["concluded"].append(f.number)
        if complaint:
            c["complaints_resolved"].append(f.number)
        if f.on_time:
            c["on_time"].append(f.number)
        if f.on_time is False:
            c["overdue"].append(f.number)
        if f.on_the_spot:
            c["on_spot"].append(f.number)
        if f.instant:
            c["instant"].append(f.number)
        if f.deemed_seq is not None:
            c["deemed"].append(f.number)
        if f.refusal_seq is not None:
            c["refusals"].append(f.number)
        if f.returns:
            c["returns"].append(f.number)
        if f.supplements:
            c["supplements"].append(f.number)
        if f.extension_days:
            c["extensions"].append(f.number)
        if f.used_days is not None:
            self.used.append(f.used_days)
        if f.promised_days and f.statutory_days and f.used_days is not None:  # a 承诺件: limits to compare
            c["limited"].append(f.number)
            self.limited_used.append(f.used_days)
            self.promised.append(f.promised_days)
            self.statutory.append(f.statutory_days)

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: len(numbers) for name, numbers in self.cases.items()}
        done = out["concluded"]
        out["on_time_rate"] = out["on_time"] / done if done else None
        out["on_spot_rate"] = out["on_spot"] / done if done else None
        out["instant_rate"] = out["instant"] / done if done else None
        out["avg_used"] = sum(self.used) / len(self.used) if self.used else None
        out["avg_promised"] = sum(self.promised) / len(self.promised) if self.promised else None
        out["avg_statutory"] = sum(self.statutory) / len(self.statutory) if self.statutory else None
        statutory = sum(self.statutory)
        out["promise_compression"] = 1 - sum(self.promised) / statutory if statutory else None
        out["compression"] = 1 - sum(self.limited_used) / statutory if statutory else None
        out["satisfaction_rate"] = out["satisfied"] / out["rated"] if out["rated"] else None
        return out


def period_facts(session: Session, calendar: WorkCalendar, start: date, end: date
                 ) -> list[tuple[CaseFacts, bool, bool, bool]]:
    """(facts, received in the period, concluded in the period, rated in the period) for every case
    that came in, concluded or was rated between ``start`` and ``end`` (China dates, inclusive),
    from their histories up to the end of the period."""
    low, high = day_range(start, end)
    conn = session.connection()  # plain rows: no ORM loading for tens of thousands of entries
    cases = conn.execute(
        select(Case.id, Case.number, Case.item_id, Item.department_id, Case.applicant,
               _POLICY["promised_days"].as_integer().label("promised"),
               _POLICY["statutory_days"].as_integer().label("statutory"))
        .join(Item, Case.item_id == Item.id)
        .where(or_((Case.started_at >= low) & (Case.started_at < high),
                   (Case.concluded_at >= low) & (Case.concluded_at < high),
                   (Case.rated_at >= low) & (Case.rated_at < high)),
               Case.state != CaseState.VOIDED)  # 作废: should never have been (engine/operations.py)
        .order_by(Case.id)).all()
    out = []
    for i in range(0, len(cases), HISTORY_BATCH):
        batch = cases[i:i + HISTORY_BATCH]
        histories: dict[int, list] = {}
        for row in conn.execute(
                select(HistoryEntry.case_id, HistoryEntry.seq, HistoryEntry.command, HistoryEntry.actor,
                       HistoryEntry.at, _days.label("days"), _score.label("score"), HistoryEntry.case_state,
                       *_OBSERVED)
                .where(HistoryEntry.case_id.in_([c.id for c in batch]), HistoryEntry.at < high)
                .order_by(HistoryEntry.case_id, HistoryEntry.seq)):
            histories.setdefault(row.case_id, []).append(_Entry(row))
        for c in batch:
            entries = histories.get(c.id)
            if not entries:
                continue
            f = case_facts(c.id, c.number, c.item_id, c.department_id, c.applicant,
                           {"promised_days": c.promised, "statutory_days": c.statutory}, entries, calendar, until=high)
            received = low <= f.started_at < high
            concluded = f.concluded_at is not None and low <= f.concluded_at < high
            rated = f.rated_at is not None and low <= f.rated_at < high
            out.append((f, received, concluded, rated))
    return out


def statistics(session: Session, calendar: WorkCalendar, start: date, end: date, group: str = "department",
               *, department_id: int | None = None) -> dict[str, Any]:
    """Figures per group and in total; ``cases[group key][figure]`` lists the case numbers behind each.
    ``department_id`` limits it to one department's items (a head's view)."""
    if group not in GROUPS:
        group = "department"
    facts = period_facts(session, calendar, start, end)
    if department_id is not None:
        facts = [x for x in facts if x[0].department_id == department_id]
    departments = {i: name for i, name in session.execute(select(Department.id, Department.name))}
    items = {i: (code, name) for i, code, name in session.execute(select(Item.id, Item.code, Item.name))}
    clerks = {u.username: u for u in session.scalars(select(User).where(
        User.username.in_({f.clerk for f, *_ in facts if f.clerk})))}
    complaint_ids = {i for i, (code, _) in items.items() if code == COMPLAINT_ITEM}
    groups: dict[str, Group] = {}
    total = Group("total", "合计")
    for f, received, concluded, rated in facts:
        if group == "department":
            key, label = str(f.department_id), departments.get(f.department_id, "")
        elif group == "item":
            key, label = items[f.item_id][0], items[f.item_id][1]
        else:
            clerk = clerks.get(f.clerk or "")
            if group == "clerk":
                key, label = (f.clerk, clerk.display_name) if clerk else ("-", "（未经窗口受理）")
            else:
                key, label = ((str(clerk.department_id), f"{clerk.department.name}窗口") if clerk
                              else ("-", "（未经窗口受理）"))
        target = groups.setdefault(key, Group(key, label))
        complaint = f.item_id in complaint_ids
        target.add(f, received=received, concluded=concluded, complaint=complaint, rated=rated)
        total.add(f, received=received, concluded=concluded, complaint=complaint, rated=rated)
    rows = sorted(groups.values(), key=lambda g: (-len(g.cases["received"]) - len(g.cases["concluded"]), g.label))
    return {"start": start, "end": end, "group": group, "group_name": GROUPS[group],
            "rows": [{"key": g.key, "label": g.label, "figures": g.figures()} for g in rows],
            "total": {"key": "total", "label": "合计", "figures": total.figures()},
            "cases": {g.key: g.cases for g in [*rows, total]}}


#: the cases behind a figure that is not itself a count: a rate's numerator, an average's cases
CASES_OF = {"on_time_rate": "on_time", "on_spot_rate": "on_spot", "instant_rate": "instant", "avg_used": "concluded",
            "avg_promised": "limited", "avg_statutory": "limited", "compression": "limited",
            "promise_compression": "limited",
            "satisfaction_rate": "satisfied"}
