"""Working days on the official schedule, as published by the State Council."""
from __future__ import annotations

from datetime import date

import pytest

from engine.timelimits.workdays import WorkCalendar, import_year, seed_from_chinesecalendar


@pytest.fixture
def calendar(db):
    with db.transaction() as session:
        seed_from_chinesecalendar(session)
    with db.reader() as session:
        return WorkCalendar.load(session)


@pytest.mark.parametrize("start,n,expected", [
    ("2026-09-28", 5, "2026-10-10"),   # across 国庆: the makeup Saturday counts
    ("2026-09-28", 20, "2026-10-30"),
    ("2026-09-18", 20, "2026-10-22"),
    ("2026-02-13", 5, "2026-02-27"),   # across 春节 2026
    ("2025-01-24", 5, "2025-02-07"),   # across 春节 2025: Sunday 2025-01-26 is a makeup day
    ("2025-01-24", 6, "2025-02-08"),   # … and so is Saturday 2025-02-08
    ("2025-09-26", 5, "2025-10-10"),   # 国庆+中秋 2025: makeup Sunday 09-28, off 10-01 … 10-08
    ("2026-03-02", 0, "2026-03-02"),
])
def test_adding_working_days(calendar, start, n, expected):
    answer = calendar.add(date.fromisoformat(start), n)
    assert answer.value == date.fromisoformat(expected)
    assert not answer.provisional


@pytest.mark.parametrize("day,workday", [
    ("2026-10-01", False), ("2026-10-10", True), ("2026-02-14", True), ("2026-02-17", False),
    ("2025-01-26", True), ("2025-10-08", False), ("2026-03-07", False), ("2026-03-09", True),
])
def test_official_days(calendar, day, workday):
    assert calendar.is_workday(date.fromisoformat(day)) is workday


def test_between_does_not_count_the_start_day(calendar):
    assert calendar.between(date(2026, 9, 28), date(2026, 10, 10)).value == 5
    assert calendar.between(date(2026, 3, 2), date(2026, 3, 2)).value == 0


def test_unpublished_year_is_provisional_until_imported(db, calendar):
    answer = calendar.add(date(2026, 12, 28), 10)
    assert answer.provisional and answer.unknown_years == (2027,)
    # weekends and the fixed-date 元旦: 12-29 … 12-31, then 01-04 … 01-08, 01-11, 01-12
    assert answer.value == date(2027, 1, 12)
    with db.transaction() as session:
        import_year(session, 2027, off=[(date(2027, 1, 1), "元旦")], makeup=[], source="test")
    with db.reader() as session:
        again = WorkCalendar.load(session).add(date(2026, 12, 28), 10)
    assert not again.provisional and again.value == date(2027, 1, 12)


def test_an_unpublished_year_has_its_fixed_date_holidays_and_stays_provisional(calendar):
    assert not calendar.is_workday(date(2027, 1, 1))  # Friday, 元旦
    assert not calendar.is_workday(date(2027, 10, 1)) and not calendar.is_workday(date(2027, 10, 3))
    assert calendar.is_workday(date(2027, 10, 4))  # Monday after 1–3 October: not guessed
    assert calendar.is_workday(date(2027, 5, 3))  # Monday: the published 调休 may differ; not guessed
    answer = calendar.add(date(2027, 4, 29), 2)  # Friday 30 April, then Monday 3 May (1–2 May off)
    assert answer.value == date(2027, 5, 3) and answer.provisional
    assert calendar.between(date(2027, 9, 30), date(2027, 10, 8)).value == 5  # 10-04 … 10-08
