"""The one APScheduler job: sweep due deadlines every ``interval`` seconds."""
from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine.clock import CHINA_TZ, SystemClock
from engine.executor import Engine

from .sweep import sweep

DEFAULT_INTERVAL = 30


def _add_job(scheduler, engine: Engine, interval: int):
    # One sweep at a time per process; a late run is folded into the next (coalesce). The first
    # runs at once: the scheduler's own timetable is wall-clock time (what it sweeps for is the
    # engine's clock). A separate one-off "date" job raced with shutdown (APScheduler removed the
    # finished job from a job store that shutdown had already emptied).
    scheduler.add_job(sweep, "interval", args=[engine], seconds=interval, id="sweep-deadlines",
                      max_instances=1, coalesce=True, next_run_time=SystemClock().now())
    # Planner statistics for SQLite (a no-op on PostgreSQL, where autovacuum keeps them).
    scheduler.add_job(engine.db.optimize, "interval", hours=1, id="optimize-database", max_instances=1,
                      coalesce=True)
    return scheduler


def start_background(engine: Engine, interval: int = DEFAULT_INTERVAL) -> BackgroundScheduler:
    """For ``approvals serve``: sweeps in a thread beside the web app."""
    scheduler = _add_job(BackgroundScheduler(timezone=CHINA_TZ), engine, interval)
    scheduler.start()
    return scheduler


def run_blocking(engine: Engine, interval: int = DEFAULT_INTERVAL) -> None:
    """For ``approvals timers run``: sweep until interrupted."""
    _add_job(BlockingScheduler(timezone=CHINA_TZ), engine, interval).start()
