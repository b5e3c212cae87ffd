"""The APScheduler jobs: sweep due deadlines every ``interval`` seconds; look for supervision
findings every ``DETECT_MINUTES`` (the ``detect_findings`` command, recorded like any other);
store the finished months of the 月度通报's trend at start and each night (derived figures, not
case state: the report page only reads them)."""
from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine.clock import CHINA_TZ, SystemClock
from engine.commands import DetectFindings
from engine.executor import Engine
from engine.supervision.report import remember_finished_months

from .sweep import SWEEPER, sweep

DEFAULT_INTERVAL = 30
DETECT_MINUTES = 15


def detect_findings(engine: Engine) -> None:
    """电子监察扫描 of the cases changed since the last scan."""
    engine.execute(DetectFindings(), SWEEPER)


def remember_trend(engine: Engine) -> None:
    """The trend's finished months, computed once on the engine's clock."""
    remember_finished_months(engine.db, engine.calendar, engine.now())


def _add_job(scheduler, engine: Engine, interval: int):
    # One sweep at a time per process; a late run is folded into the next (coalesce). The first
    # runs at once: the scheduler's own timetable is wall-clock time (what it sweeps for is the
    # engine's clock). A separate one-off "date" job raced with shutdown (APScheduler removed the
    # finished job from a job store that shutdown had already emptied).
    scheduler.add_job(sweep, "interval", args=[engine], seconds=interval, id="sweep-deadlines",
                      max_instances=1, coalesce=True, next_run_time=SystemClock().now())
    scheduler.add_job(detect_findings, "interval", args=[engine], minutes=DETECT_MINUTES, id="detect-findings",
                      max_instances=1, coalesce=True)
    scheduler.add_job(remember_trend, "cron", args=[engine], hour=0, minute=20, id="remember-trend",
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
