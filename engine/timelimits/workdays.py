"""Working days on the official Chinese schedule (法定节假日 and 调休 makeup days).

The schedule lives in the project's own tables, seeded from the maintained
``chinesecalendar`` package and correctable by administrators. A year whose
schedule is not loaded is counted on weekends and its fixed-date statutory
holidays (1 January, 1–2 May, 1–3 October) only, and every answer that touches
it says so (``provisional``): movable holidays and makeup days are never guessed.

Counting follows the usual rule: the day a period starts is not counted, so
"N working days from D" is the N-th working day after D.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import BadInput
from engine.store.models import CalendarDay, CalendarYear, Meta

VERSION_KEY = "calendar_version"
#: The statutory holidays whose dates are fixed by law (全国年节及纪念日放假办法): 元旦, 劳动节,
#: 国庆节. In a year whose schedule is not yet published they are taken as days off — the
#: year stays provisional, since the published schedule also moves weekends (调休) around them.
FIXED_HOLIDAYS = {(1, 1): "元旦", (5, 1): "劳动节", (5, 2): "劳动节",
                  (10, 1): "国庆节", (10, 2): "国庆节", (10, 3): "国庆节"}


@dataclass(frozen=True)
class WorkdayAnswer:
    value: date | int
    provisional: bool
    unknown_years: tuple[int, ...] = ()


class WorkCalendar:
    """An in-memory view of the loaded schedule; cheap to query, built from the tables."""

    def __init__(self, years: set[int], off: set[date], makeup: set[date]):
        self.years, self.off, self.makeup = years, off, makeup
        #: answers of ``add`` already counted: a calendar never changes once built (a changed
        #: schedule is a new ``WorkCalendar``), and every command counts the same few periods
        self._added: dict[tuple[date, int], WorkdayAnswer] = {}

    @classmethod
    def load(cls, session: Session) -> "WorkCalendar":
        years = set(session.scalars(select(CalendarYear.year)))
        off, makeup = set(), set()
        for day, kind in session.execute(select(CalendarDay.day, CalendarDay.kind)):
            (off if kind == "off" else makeup).add(day)
        return cls(years, off, makeup)

    def is_workday(self, day: date) -> bool:
        if day in self.off:
            return False
        if day in self.makeup:
            return True
        if day.year not in self.years and (day.month, day.day) in FIXED_HOLIDAYS:
            return False
        return day.weekday() < 5

    def add(self, start: date, n: int) -> WorkdayAnswer:
        """The n-th working day after ``start`` (start not counted)."""
        answer = self._added.get((start, n))
        if answer is None:
            if len(self._added) > 50_000:
                self._added.clear()
            answer = self._added[(start, n)] = self._count(start, n)
        return answer

    def _count(self, start: date, n: int) -> WorkdayAnswer:
        if n < 0:
            raise BadInput("工作日数不能为负")
        day, unknown = start, set()
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            if day.year not in self.years:
                unknown.add(day.year)
            if self.is_workday(day):
                counted += 1
        return WorkdayAnswer(day, bool(unknown), tuple(sorted(unknown)))

    def between(self, start: date, end: date) -> WorkdayAnswer:
        """Working days after ``start`` up to and including ``end``."""
        if end < start:
            answer = self.between(end, start)
            return WorkdayAnswer(-answer.value, answer.provisional, answer.unknown_years)
        first = start + timedelta(days=1)
        unknown = {y for y in range(first.year, end.year + 1) if y not in self.years} if end > start else set()
        count = sum(1 for i in range(1, (end - start).days + 1) if self.is_workday(start + timedelta(days=i)))
        return WorkdayAnswer(count, bool(unknown), tuple(sorted(unknown)))


def import_year(session: Session, year: int, off: list[tuple[date, str]], makeup: list[tuple[date, str]],
                source: str) -> None:
    """Replace one year's schedule (days off on weekdays or weekends, and makeup working days)."""
    for day, _ in off + makeup:
        if day.year != year:
            raise BadInput(f"{day} 不属于 {year} 年")
    for row in session.scalars(select(CalendarDay).where(CalendarDay.year == year)):
        session.delete(row)
    session.flush()
    for day, name in off:
        session.add(CalendarDay(day=day, year=year, kind="off", name=name))
    for day, name in makeup:
        session.add(CalendarDay(day=day, year=year, kind="makeup", name=name))
    existing = session.get(CalendarYear, year)
    if existing is None:
        session.add(CalendarYear(year=year, source=source))
    else:
        existing.source = source
    bump_version(session)
    session.flush()


_VERSION = select(Meta.value).where(Meta.key == VERSION_KEY)


def calendar_version(session: Session) -> int:
    """Changes whenever the schedule changes, so that cached calendars know to reload."""
    with session.no_autoflush:  # what the command changed so far has no bearing on it
        value = session.scalar(_VERSION)
    return int(value) if value else 0


def bump_version(session: Session) -> None:
    row = session.get(Meta, VERSION_KEY)
    if row is None:
        session.add(Meta(key=VERSION_KEY, value="1"))
    else:
        row.value = str(int(row.value) + 1)


def seed_from_chinesecalendar(session: Session) -> list[int]:
    """Load every year the ``chinesecalendar`` package covers and the tables do not have yet."""
    have = set(session.scalars(select(CalendarYear.year)))
    years = sorted({d.year for d in chinese_calendar.holidays} - have)
    for year in years:
        off = [(d, str(name or "")) for d, name in chinese_calendar.holidays.items() if d.year == year]
        makeup = [(d, str(name or "")) for d, name in chinese_calendar.workdays.items()
                  if d.year == year and d.weekday() >= 5]
        import_year(session, year, off, makeup, source=f"chinesecalendar {chinese_calendar.__version__}")
    return years
