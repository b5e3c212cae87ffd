"""The one place that reads the wall clock.

Everything else receives time as an input: a command carries the moment it
happens, and SpiffWorkflow's timer module is pointed at the running command's
time (see ``engine.runtime.spiff``). Tests and replays use ``FixedClock``.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Protocol

from engine.errors import BadInput

#: China Standard Time. China has had no daylight saving time since 1991, so a
#: fixed offset is exact and needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "CST")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time, in China Standard Time."""

    def now(self) -> datetime:
        return datetime.now(CHINA_TZ)


class FixedClock:
    """A clock that only moves when told to: for tests, simulations and replay."""

    def __init__(self, at: datetime | str):
        self._at = parse_datetime(at) if isinstance(at, str) else aware(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime | str) -> None:
        self._at = parse_datetime(at) if isinstance(at, str) else aware(at)

    def advance(self, **delta: float) -> datetime:
        self._at = self._at + timedelta(**delta)
        return self._at


def aware(value: datetime) -> datetime:
    """Naive datetimes are read as China Standard Time."""
    return value.replace(tzinfo=CHINA_TZ) if value.tzinfo is None else value


def parse_datetime(text: str) -> datetime:
    """ISO 8601 date or date-time; without an offset it is China Standard Time."""
    try:
        return aware(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise BadInput(f"时间格式无效：{text!r}（应为 ISO 8601，例如 2026-03-02T09:30）") from None


def china_date(at: datetime) -> date:
    """The calendar day in China at the moment ``at``."""
    return aware(at).astimezone(CHINA_TZ).date()


def end_of_day(day: date) -> datetime:
    """The moment a day is over in China: midnight starting the next day."""
    return datetime.combine(day + timedelta(days=1), time(0), CHINA_TZ)
