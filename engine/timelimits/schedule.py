"""Importing a year's official schedule (国务院办公厅 节假日安排) and moving the deadlines
it changes.

The file is JSON::

    {"year": 2027, "source": "国办发明电〔2026〕X号",
     "days_off": [{"date": "2027-01-01", "name": "元旦"},
                  {"from": "2027-02-06", "to": "2027-02-12", "name": "春节"}],
     "makeup_days": [{"date": "2027-02-14", "name": "春节调休"}]}

Days off may fall on any day; makeup working days must be Saturdays or Sundays.
After the import every case whose deadlines the new schedule moves (or confirms,
where they were provisional) gets a ``recompute_deadlines`` command, so each moved
deadline appears in that case's history. Each case is its own transaction: one that
cannot be recomputed is listed under ``failed`` and the others are still recomputed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select

from engine.actors import Actor
from engine.commands import RecomputeDeadlines
from engine.errors import ApprovalError, BadInput, Skipped
from engine.runtime.values import check_text, parse_json
from engine.store.models import Case, Deadline
from engine.timelimits.workdays import import_year

MAX_DAYS_PER_ENTRY = 31
MAX_SCHEDULE_CHARS = 64 * 1024
log = logging.getLogger("approvals.calendar")


@dataclass(frozen=True)
class Schedule:
    year: int
    source: str
    days_off: list[tuple[date, str]]
    makeup_days: list[tuple[date, str]]

    def to_dict(self) -> dict[str, Any]:
        return {"year": self.year, "source": self.source,
                "days_off": [[d.isoformat(), name] for d, name in self.days_off],
                "makeup_days": [[d.isoformat(), name] for d, name in self.makeup_days]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Schedule":
        return cls(int(data["year"]), str(data.get("source", "")),
                   [(date.fromisoformat(d), n) for d, n in data.get("days_off", [])],
                   [(date.fromisoformat(d), n) for d, n in data.get("makeup_days", [])])


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise BadInput(f"{where}：日期 “{value}” 无效（应为 YYYY-MM-DD）") from None


def _entries(items: Any, what: str) -> list[tuple[date, str]]:
    if not isinstance(items, list):
        raise BadInput(f"{what} 应为列表")
    days = []
    for i, entry in enumerate(items, 1):
        where = f"{what} 第 {i} 项"
        if not isinstance(entry, dict):
            raise BadInput(f"{where} 应为对象，例如 {{\"date\": \"2027-01-01\", \"name\": \"元旦\"}}")
        name = check_text(str(entry.get("name", "")), f"{where} 的 name")[:64]
        if "date" in entry:
            days.append((_date(entry["date"], where), name))
            continue
        if "from" not in entry or "to" not in entry:
            raise BadInput(f"{where} 需要 date，或 from 与 to")
        first, last = _date(entry["from"], where), _date(entry["to"], where)
        if last < first or (last - first).days >= MAX_DAYS_PER_ENTRY:
            raise BadInput(f"{where}：from 到 to 应为不超过 {MAX_DAYS_PER_ENTRY} 天的区间")
        days.extend((first + timedelta(days=n), name) for n in range((last - first).days + 1))
    return days


def parse_schedule(text: str | bytes) -> Schedule:
    data = parse_json(text, "日历文件", max_bytes=MAX_SCHEDULE_CHARS, max_depth=4)
    if not isinstance(data, dict):
        raise BadInput("日历文件应为 JSON 对象")
    unknown = sorted(set(data) - {"year", "source", "days_off", "makeup_days"})
    if unknown:
        raise BadInput(f"日历文件中有未知项：{'、'.join(unknown)}")
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise BadInput("year 应为 2000 到 2100 之间的年份")
    off = _entries(data.get("days_off", []), "days_off")
    makeup = _entries(data.get("makeup_days", []), "makeup_days")
    for day, _ in off + makeup:
        if day.year != year:
            raise BadInput(f"{day} 不属于 {year} 年")
    for day, _ in makeup:
        if day.weekday() < 5:
            raise BadInput(f"调休上班日 {day} 不是周末：工作日本来就上班")
    clash = sorted({d for d, _ in off} & {d for d, _ in makeup})
    if clash:
        raise BadInput(f"{clash[0]} 同时被列为放假和调休上班")
    if len({d for d, _ in off}) != len(off):
        raise BadInput("days_off 中有重复的日期")
    return Schedule(year, check_text(str(data.get("source") or ""), "source")[:100], off, makeup)


def affected_cases(session, year: int) -> list[str]:
    """Cases with a pending deadline that is provisional or falls in or after the year."""
    query = (select(Case.number).distinct().join(Deadline, Deadline.case_id == Case.id)
             .where(Deadline.state.in_(("armed", "paused")),
                    or_(Deadline.provisional.is_(True), Deadline.due_on >= date(year, 1, 1)))
             .order_by(Case.number))
    return list(session.scalars(query))


def import_schedule(engine, schedule: Schedule, imported_by: str) -> dict[str, Any]:
    """Store the year and move every deadline it changes, one command per affected case."""
    with engine.db.transaction() as session:
        import_year(session, schedule.year, schedule.days_off, schedule.makeup_days,
                    source=f"{schedule.source or '导入'}（{imported_by}）")
        numbers = affected_cases(session, schedule.year)
    moved, failed, recorded = [], [], schedule.to_dict()
    for number in numbers:  # one command, one transaction per case: one that fails stops nothing
        try:
            changes = engine.execute(RecomputeDeadlines(case=number, schedule=recorded), Actor.system("calendar"))
        except Skipped:
            continue
        except ApprovalError as exc:
            failed.append({"case": number, "error": exc.message})
            continue
        except Exception as exc:  # a case that cannot be recomputed must not stop the others
            log.exception("calendar import %s: case %s could not be recomputed", schedule.year, number)
            failed.append({"case": number, "error": f"{type(exc).__name__}: {exc}"})
            continue
        moved.extend({"case": number, **m.to_dict()} for m in changes)
    return {"year": schedule.year, "days_off": len(schedule.days_off), "makeup_days": len(schedule.makeup_days),
            "cases_checked": len(numbers), "moved": moved, "failed": failed}
