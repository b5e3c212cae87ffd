"""The clerk's inbox query over many open cases.

    python bench/inbox.py [--quick] [--cases N] [--db URL] [--runs N]

Builds N open cases (default 100,000; 20,000 with --quick) whose review step sits in one
department's inbox — the worst case: every one of them belongs to the reviewer asking —
and times the inbox as the web page runs it (the page, its count and the counts of the other
tabs shown beside it): the first page of 待办, the last page the inbox offers (50; beyond 1,000
it asks for a search), 预警, 超期, a search by case number, and one for part of a name and of a
number. Median and 95th percentile in
milliseconds, against the same on a 1,000-case baseline built in the same run. Prints
figures, then one JSON object as the last line.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.population import build  # noqa: E402
from engine import people  # noqa: E402
from engine.clock import china_date  # noqa: E402
from engine.people import actor_for  # noqa: E402
from engine.read.queries import inbox, inbox_count  # noqa: E402

QUERIES = {
    "todo_first_page": dict(tab="todo"),
    "todo_page_50": dict(tab="todo", page=50),
    "warning_first_page": dict(tab="warning"),
    "overdue_first_page": dict(tab="overdue"),
    "search_case_number": dict(tab="todo", search="BENCH-0000777"),
    # part of a name, part of a number: a LIKE '%…%' no index range serves, checked on the cases
    # the grams' index names (migration 0020; before it, a scan of ix_cases_applicant that grew
    # with the cases)
    "search_name_part": dict(tab="todo", search="人777"),
    "search_number_part": dict(tab="todo", search="0777"),
}
#: the queries the issue's flat targets are about: all of them
FLAT = list(QUERIES)


def measure(url: str, cases: int, runs: int) -> dict:
    db, engine = build(url, cases, 0)
    today = china_date(engine.now())
    out = {}
    with db.reader() as session:
        actor = actor_for(session, "shencha")
        calendar = engine.calendar(session)
        for name, args in QUERIES.items():
            times, cpu = [], []
            for _ in range(runs):
                start, start_cpu = time.perf_counter(), time.process_time()
                page = inbox(session, actor, today=today, calendar=calendar, **args)
                for tab in ("todo", "warning", "overdue"):  # the tab counts the page shows beside it
                    if tab != args.get("tab") or args.get("search"):
                        inbox_count(session, actor, tab, today=today)
                times.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
            assert page.rows or name == "warning_first_page"
            times.sort()
            out[name] = {"median_ms": round(statistics.median(times), 2),
                         "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
                         "cpu_median_ms": round(statistics.median(cpu), 2),
                         "cpu_p95_ms": round(sorted(cpu)[int(len(cpu) * 0.95) - 1], 2), "total": page.total}
    db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 cases (about a minute)")
    parser.add_argument("--cases", type=int)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    cases = args.cases or (20_000 if args.quick else 100_000)
    people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    with tempfile.TemporaryDirectory() as tmp:
        baseline = measure(args.db or f"sqlite:///{Path(tmp) / 'baseline.db'}", 1_000, args.runs)
        big = measure(args.db or f"sqlite:///{Path(tmp) / 'big.db'}", cases, args.runs)
    result = {"bench": "inbox", "database": "postgresql" if (args.db or "").startswith("postgresql") else "sqlite",
              "cases": cases, "runs": args.runs}
    print(f"{cases:,} open cases in one reviewer's inbox ({result['database']}), {args.runs} runs each")
    print(f"{'query':<22}{'median ms':>11}{'p95 ms':>9}{'CPU p95':>9}{'1k median':>11}{'ratio':>7}")
    for name in QUERIES:
        b, g = baseline[name], big[name]
        ratio = round(g["median_ms"] / b["median_ms"], 2) if b["median_ms"] else None
        cpu_ratio = round(g["cpu_median_ms"] / b["cpu_median_ms"], 2) if b["cpu_median_ms"] else None
        result[name] = {**g, "baseline_1k_median_ms": b["median_ms"], "ratio": ratio, "cpu_ratio": cpu_ratio}
        print(f"{name:<22}{g['median_ms']:>11}{g['p95_ms']:>9}{g['cpu_p95_ms']:>9}{b['median_ms']:>11}{ratio:>7}")
    result["growth_ratio_todo_first_page"] = result["todo_first_page"]["ratio"]
    result["cpu_growth_ratio_todo_first_page"] = result["todo_first_page"]["cpu_ratio"]
    result["worst_p95_ms"] = max(result[name]["p95_ms"] for name in FLAT)
    print(f"growth of the first page of 待办 from 1,000 to {cases:,} cases: "
          f"{result['growth_ratio_todo_first_page']}× (CPU time: {result['cpu_growth_ratio_todo_first_page']}×); "
          f"worst p95 {result['worst_p95_ms']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
