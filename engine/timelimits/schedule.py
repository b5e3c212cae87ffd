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

import json
import json.decoder
import json.scanner
import logging
import re
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


FIELDS = {"days_off": "放假日（days_off）", "makeup_days": "调休上班日（makeup_days）"}


class _Object(dict):
    """A JSON object that knows the line it starts on."""
    line = 1


class _Array(list):
    """A JSON list that knows the line it starts on."""
    line = 1


class _LineDecoder(json.JSONDecoder):
    """Python's own JSON decoder (the pure-Python scanner, so the hooks below are used) that
    tags each object and list with its line, so an error names the line to fix."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

        def located(parse, kind):
            def parse_at(s_and_end, *args):
                text, start = s_and_end
                value, end = parse(s_and_end, *args)
                out = kind(value)
                out.line = text.count("\n", 0, start) + 1
                return out, end
            return parse_at

        self.parse_object = located(json.decoder.JSONObject, _Object)
        self.parse_array = located(json.decoder.JSONArray, _Array)
        self.scan_once = json.scanner.py_make_scanner(self)


class _Text:
    """The schedule's text, to find the line of a top-level name."""

    def __init__(self, text: str):
        self.text = text

    def line_of(self, key: str) -> int:
        match = re.search(r'"' + re.escape(key) + r'"\s*:', self.text)
        return self.text.count("\n", 0, match.start()) + 1 if match else 1


def _refuse(line: int, message: str) -> BadInput:
    return BadInput(f"日历文件第 {line} 行：{message}")


def _date(value: Any, line: int, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _refuse(line, f"{where}的日期“{str(value)[:20]}”无效，应为 年-月-日，例如 2027-01-01") from None


def _entries(items: Any, key: str, text: _Text) -> list[tuple[date, str, int]]:
    what = FIELDS[key]
    if not isinstance(items, list):
        raise _refuse(text.line_of(key), f"{what}应为列表，例如 [{{\"date\": \"2027-01-01\", \"name\": \"元旦\"}}]")
    days = []
    for i, entry in enumerate(items, 1):
        where = f"{what}第 {i} 项"
        line = getattr(entry, "line", getattr(items, "line", text.line_of(key)))
        if not isinstance(entry, dict):
            raise _refuse(line, f"{where}应为对象，例如 {{\"date\": \"2027-01-01\", \"name\": \"元旦\"}}")
        unknown = sorted(set(entry) - {"date", "from", "to", "name"})
        if unknown:
            raise _refuse(line, f"{where}中有不认识的名称：{'、'.join(unknown)}（可用 date、from、to、name）")
        try:
            name = check_text(str(entry.get("name", "")), f"{where}的名称（name）")[:64]
        except BadInput as exc:
            raise _refuse(line, exc.message) from None
        if "date" in entry:
            days.append((_date(entry["date"], line, where), name, line))
            continue
        if "from" not in entry or "to" not in entry:
            raise _refuse(line, f"{where}需要 date（一天），或 from 与 to（连续几天）")
        first, last = _date(entry["from"], line, where), _date(entry["to"], line, where)
        if last < first or (last - first).days >= MAX_DAYS_PER_ENTRY:
            raise _refuse(line, f"{where}：from 到 to 应为不超过 {MAX_DAYS_PER_ENTRY} 天的区间，且 to 不早于 from")
        days.extend((first + timedelta(days=n), name, line) for n in range((last - first).days + 1))
    return days


def parse_schedule(text: str | bytes) -> Schedule:
    """The schedule file checked; every refusal is a Chinese message naming the line to fix."""
    data = parse_json(text, "日历文件", max_bytes=MAX_SCHEDULE_CHARS, max_depth=4)
    source = _Text(text.decode("utf-8") if isinstance(text, bytes) else text)
    data = json.loads(source.text, cls=_LineDecoder)  # again, now that it is known to be sound: with lines
    if not isinstance(data, dict):
        raise _refuse(1, "日历文件应为一个 JSON 对象，以 { 开始，包含 year、days_off、makeup_days")
    unknown = sorted(set(data) - {"year", "source", "days_off", "makeup_days"})
    if unknown:
        raise _refuse(source.line_of(unknown[0]),
                      f"有不认识的名称：{'、'.join(unknown)}（可用 year、source、days_off、makeup_days）")
    year = data.get("year")
    if "year" not in data:
        raise _refuse(1, "缺少年份 year，例如 \"year\": 2027")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise _refuse(source.line_of("year"), f"年份 year 应为 2000 到 2100 之间的整数（现为 {json.dumps(year, ensure_ascii=False)[:20]}）")
    off = _entries(data.get("days_off", []), "days_off", source)
    makeup = _entries(data.get("makeup_days", []), "makeup_days", source)
    for day, _, line in off + makeup:
        if day.year != year:
            raise _refuse(line, f"{day} 不属于 {year} 年")
    for day, _, line in makeup:
        if day.weekday() < 5:
            raise _refuse(line, f"调休上班日 {day} 不是周末：工作日本来就上班")
    off_days = {d: line for d, _, line in off}
    for day, _, line in makeup:
        if day in off_days:
            raise _refuse(line, f"{day} 同时被列为放假（第 {off_days[day]} 行）和调休上班")
    seen: dict[date, int] = {}
    for day, _, line in off:
        if day in seen:
            raise _refuse(line, f"放假日 {day} 重复（第 {seen[day]} 行已列出）")
        seen[day] = line
    try:
        label = check_text(str(data.get("source") or ""), "来源（source）")[:100]
    except BadInput as exc:
        raise _refuse(source.line_of("source"), exc.message) from None
    return Schedule(year, label, [(d, n) for d, n, _ in off], [(d, n) for d, n, _ in makeup])


def affected_cases(session, year: int) -> list[str]:
    """Cases with a pending deadline that is provisional or falls in or after the year."""
    query = (select(Case.number).distinct().join(Deadline, Deadline.case_id == Case.id)
             .where(Deadline.state.in_(("armed", "paused")),
                    or_(Deadline.provisional.is_(True), Deadline.due_on >= date(year, 1, 1)))
             .order_by(Case.number))
    return list(session.scalars(query))


#: the seven festivals the State Council's notice sets every year, with the words a name may use
FESTIVALS = {"元旦": ("元旦", "new year"), "春节": ("春节", "spring festival"), "清明节": ("清明", "tomb"),
             "劳动节": ("劳动", "labour", "labor"), "端午节": ("端午", "dragon boat"), "中秋节": ("中秋", "mid-autumn"),
             "国庆节": ("国庆", "national day")}


def missing_festivals(schedule: Schedule) -> list[str]:
    """The festivals no day off of the schedule is named after: a year's notice has all seven, so
    a schedule without one was most likely typed in part (the import keeps it; the page warns)."""
    names = " ".join(name.lower() for _, name in schedule.days_off)
    return [festival for festival, words in FESTIVALS.items() if not any(w in names for w in words)]


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
            "cases_checked": len(numbers), "moved": moved, "failed": failed,
            "missing_festivals": missing_festivals(schedule)}
