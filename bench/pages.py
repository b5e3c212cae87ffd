"""The clerk's day pages rendered through the Flask test client over many cases.

    python bench/pages.py [--quick] [--cases N] [--db URL] [--runs N]

Builds N open cases (default 100,000; 5,000 with --quick; bench/population.py) whose review
step sits in the reviewer's inbox — the worst case — logs the reviewer (shencha) in and renders,
as a browser would ask for them: the inbox (待办, first page), the 超期 tab, the task page of a
review step and the case page (tasks, diagram, clocks, history) of a case made through the
engine. For each page: median and 95th percentile in milliseconds and the SQL statements it
runs, and the 95th percentile of this process's CPU time per page (on a busy shared machine the
wall clock mostly measures the neighbours; on SQLite the CPU time is the page's own work). Prints
figures, then one JSON object as the last line; the aim is every p95 under 50 ms.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select  # noqa: E402

from bench.population import build  # noqa: E402
from cli.demo import DEMO_PASSWORD  # noqa: E402
from engine import people  # noqa: E402
from engine.store.models import Case, Task  # noqa: E402
from web import create_app  # noqa: E402

TARGET_MS = 50


def _login(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.status_code


def _p95(values: list[float]) -> float:
    values = sorted(values)
    return round(values[max(0, int(len(values) * 0.95) - 1)], 2)


def measure(url: str, cases: int, runs: int, files: Path) -> dict:
    db, engine = build(url, cases, 0)
    with db.reader() as session:  # the case made through the engine (the others are its copies)
        case = session.scalar(select(Case).order_by(Case.id).limit(1))
        task_id = session.scalar(select(Task.id).where(Task.case_id == case.id, Task.state == "ready"))
        number = case.number
    app = create_app({"TESTING": False, "SECRET_KEY": "bench", "FILES_DIR": str(files)}, db=db, clock=engine.clock)
    pages = {"inbox": "/", "inbox_overdue": "/?tab=overdue", "task": f"/tasks/{task_id}", "case": f"/cases/{number}"}
    statements = [0]

    def count(*_args, **_kwargs):
        statements[0] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    out = {}
    with app.test_client() as client:
        _login(client, "shencha")
        for name, path in pages.items():
            response = client.get(path)  # warm: templates compiled, the diagram drawn once
            assert response.status_code == 200, (path, response.status_code)
            statements[0] = 0
            client.get(path)
            per_page = statements[0]
            times, cpu = [], []
            for _ in range(runs):
                start, start_cpu = time.perf_counter(), time.process_time()
                response = client.get(path)
                times.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
                assert response.status_code == 200
            out[name] = {"median_ms": round(statistics.median(times), 2), "p95_ms": _p95(times),
                         "cpu_p95_ms": _p95(cpu), "statements": per_page, "bytes": len(response.get_data())}
    event.remove(db.engine, "before_cursor_execute", count)
    db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 cases (under a minute)")
    parser.add_argument("--cases", type=int)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    cases = args.cases or (5_000 if args.quick else 100_000)
    people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    with tempfile.TemporaryDirectory() as tmp:
        figures = measure(args.db or f"sqlite:///{Path(tmp) / 'pages.db'}", cases, args.runs, Path(tmp) / "files")
    database = "postgresql" if (args.db or "").startswith("postgresql") else "sqlite"
    result = {"bench": "pages", "database": database, "cases": cases, "runs": args.runs, "target_p95_ms": TARGET_MS,
              **figures, "worst_p95_ms": max(f["p95_ms"] for f in figures.values()),
              "worst_cpu_p95_ms": max(f["cpu_p95_ms"] for f in figures.values())}
    result["all_under_target"] = result["worst_p95_ms"] < TARGET_MS
    print(f"{cases:,} open cases ({database}), the reviewer's pages through the Flask test client, {args.runs} runs each")
    print(f"{'page':<16}{'median ms':>11}{'p95 ms':>9}{'CPU p95':>9}{'SQL':>6}{'KB':>7}")
    for name, f in figures.items():
        print(f"{name:<16}{f['median_ms']:>11}{f['p95_ms']:>9}{f['cpu_p95_ms']:>9}{f['statements']:>6}"
              f"{f['bytes'] / 1024:>7.1f}")
    print(f"worst p95 {result['worst_p95_ms']} ms (aim: under {TARGET_MS} ms)")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
