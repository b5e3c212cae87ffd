"""Monthly statistics, assessment and the monthly report over many concluded cases.

    python bench/stats.py [--quick] [--cases N] [--db URL] [--runs N]

Five kinds of case are run through the engine on a controlled clock (on time, paused for a
supplement, late, done on the spot, refused); the N cases (default 100,000; 10,000 with --quick)
are bulk copies of them — case rows and their whole histories — shifted by whole weeks across 52
weeks of 2026, so a month holds about a twelfth of them, as in a centre handling N cases a year.
Times, in seconds (median of --runs): the month's statistics by department, the assessment, and
the monthly report with its six-month trend: computed whole, the first view as the page does it
(computing the finished months and storing them in trend_figures), and the views after it (the
finished months read back). Prints figures, then one JSON object as the last line.
"""
from __future__ import annotations

import argparse
import json
import statistics as stats_lib
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from cli.demo import seed  # noqa: E402
from engine import Actor, Database, Engine, FixedClock, people  # noqa: E402
from engine.clock import CHINA_TZ  # noqa: E402
from engine.commands import CompleteTask, ReceiveSupplement, RequestSupplement, StartCase  # noqa: E402
from engine.people import actor_for  # noqa: E402
from engine.read.queries import ready_tasks  # noqa: E402
from engine.store.models import Case, HistoryEntry  # noqa: E402
from engine.supervision.assessment import assess  # noqa: E402
from engine.supervision.report import TREND_MONTHS, month_bounds, monthly_report, remember_trend  # noqa: E402
from engine.supervision.statistics import statistics  # noqa: E402
from engine.timelimits.workdays import seed_from_chinesecalendar  # noqa: E402

CHUNK = 5000
MONTH = (2026, 6)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def _templates(engine: Engine, db: Database) -> list[int]:
    with db.reader() as session:
        actors = {n: actor_for(session, n) for n in ("chuangkou", "shencha", "fuzeren")}

    def complete(user, number, data, when, opinion="同意"):
        engine.clock.set(at(when))
        with db.reader() as session:
            task = next(t for t in ready_tasks(session, actors[user]) if t.case.number == number)
        engine.execute(CompleteTask(task=task.id, data=data, opinion=opinion), actors[user])

    def case(start, accept, review, decide, decision="grant", supplement=None):
        engine.clock.set(at(start))
        c = engine.execute(StartCase(item="GENERAL", applicant="模板"), Actor.applicant("模板"))
        if supplement:
            engine.clock.set(at(supplement[0]))
            engine.execute(RequestSupplement(case=c.number, materials=("申请书",)), actors["chuangkou"])
            engine.clock.set(at(supplement[1]))
            engine.execute(ReceiveSupplement(case=c.number), actors["chuangkou"])
        complete("chuangkou", c.number, {"acceptance": "accept"}, accept)
        complete("shencha", c.number, {"review_result": "pass"}, review)
        complete("fuzeren", c.number, {"decision": decision}, decide, "同意" if decision == "grant" else "不符合条件")
        return c.id

    return [case("2026-01-05T09:00", "2026-01-05T10:00", "2026-01-08T10:00", "2026-01-09T10:00"),
            case("2026-01-05T09:00", "2026-01-12T10:00", "2026-01-14T10:00", "2026-01-15T10:00",
                 supplement=("2026-01-05T11:00", "2026-01-09T10:00")),
            case("2026-01-05T09:00", "2026-01-05T10:00", "2026-01-20T10:00", "2026-01-22T10:00"),
            case("2026-01-05T09:00", "2026-01-05T09:20", "2026-01-05T10:00", "2026-01-05T10:30"),
            case("2026-01-05T09:00", "2026-01-05T10:00", "2026-01-07T10:00", "2026-01-08T10:00", decision="deny")]


def build(url: str, cases: int) -> tuple[Database, Engine]:
    db = Database(url)
    db.drop_schema()
    db.create_schema()
    engine = Engine(db, FixedClock("2026-01-05T09:00:00+08:00"))
    with db.transaction() as session:
        seed(session, engine.now())
        seed_from_chinesecalendar(session)
    template_ids = _templates(engine, db)
    with db.reader() as session:
        templates = []
        for case_id in template_ids:
            row = session.get(Case, case_id)
            columns = {c.key: getattr(row, c.key) for c in Case.__table__.columns if c.key != "id"}
            columns["workflow_state"] = session.scalar(select(Case.workflow_state).where(Case.id == case_id))
            entries = [{c.key: getattr(e, c.key) for c in HistoryEntry.__table__.columns if c.key not in ("id", "case_id")}
                       for e in session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case_id)
                                                .order_by(HistoryEntry.seq))]
            templates.append((columns, entries))
    with db.engine.begin() as conn:
        next_case = conn.scalar(select(func.max(Case.id))) + 1
        for first in range(0, cases, CHUNK):
            case_values, history_values = [], []
            for i in range(first, min(first + CHUNK, cases)):
                columns, entries = templates[i % len(templates)]
                shift = timedelta(weeks=(i // len(templates)) % 52)
                case_id = next_case + i
                case_values.append({**columns, "id": case_id, "number": f"BENCH-{i:07d}", "key": str(uuid.uuid4()),
                                    "applicant": f"申请人{i}", "started_at": columns["started_at"] + shift,
                                    "concluded_at": columns["concluded_at"] + shift,
                                    "last_event_at": columns["last_event_at"] + shift})
                history_values += [{**e, "case_id": case_id, "at": e["at"] + shift} for e in entries]
            conn.execute(insert(Case), case_values)
            conn.execute(insert(HistoryEntry), history_values)
        if not db.is_sqlite:
            for table in ("cases", "case_history"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            conn.exec_driver_sql("ANALYZE")
    db.optimize()
    return db, engine


def timed(runs: int, fn) -> tuple[float, object]:
    times, value = [], None
    for _ in range(runs):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return round(stats_lib.median(times), 3), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 cases (under 30 seconds)")
    parser.add_argument("--cases", type=int)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    cases = args.cases or (10_000 if args.quick else 100_000)
    people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        db, engine = build(args.db or f"sqlite:///{Path(tmp) / 'stats.db'}", cases)
        built = round(time.perf_counter() - started, 1)
        start, end = month_bounds(*MONTH)
        with db.reader() as session:
            calendar = engine.calendar(session)
            stats_s, month = timed(args.runs, lambda: statistics(session, calendar, start, end, "department"))
            assess_s, _ = timed(args.runs, lambda: assess(session, calendar, start, end, stats=month))
            report_s, _ = timed(args.runs, lambda: monthly_report(session, calendar, *MONTH, trend=False))
            trend_s, _ = timed(1, lambda: monthly_report(session, calendar, *MONTH))
        # as the page does it: the finished months of the trend computed once and stored, then read
        today = month_bounds(*MONTH)[1] + timedelta(days=15)
        now = datetime.combine(today, datetime.min.time(), CHINA_TZ)

        def first_view():
            with db.reader() as session:
                view = monthly_report(session, engine.calendar(session), *MONTH, today=today)
            return remember_trend(db, view, now)

        def next_view():
            with db.reader() as session:
                return monthly_report(session, engine.calendar(session), *MONTH, today=today)

        trend_first_s, stored = timed(1, first_view)
        trend_cached_s, view = timed(args.runs, next_view)
        assert stored == TREND_MONTHS and view["trend_fill"] == [], (stored, view["trend_fill"])
        db.dispose()
    total = month["total"]["figures"]
    result = {"bench": "stats", "database": "postgresql" if (args.db or "").startswith("postgresql") else "sqlite",
              "cases": cases, "month": f"{MONTH[0]}-{MONTH[1]:02d}", "concluded_in_month": total["concluded"],
              "build_s": built, "statistics_s": stats_s, "assessment_s": assess_s, "report_s": report_s,
              "report_with_trend_s": trend_s, "report_with_trend_first_s": trend_first_s,
              "report_with_trend_cached_s": trend_cached_s, "on_time_rate": total["on_time_rate"]}
    print(f"{cases:,} concluded cases ({result['database']}); {total['concluded']:,} concluded in {result['month']}")
    for key in ("statistics_s", "assessment_s", "report_s", "report_with_trend_s", "report_with_trend_first_s",
                "report_with_trend_cached_s"):
        print(f"{key:<28}{result[key]:>8} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
