"""No statement of a clerk's day reads a whole growing table.

A query that filters a case's rows by a column without an index (a deadline by its clock, a
co-signature by the step it follows) is as fast as any other on a test database and grows with
every case ever handled: the case page took 26 ms more at 30,000 cases for one such query
(issue 13, point 6). So this test runs a day's work — commands, the timer sweep, the clerk's
pages and searches — records every statement, and asks SQLite's planner (``EXPLAIN QUERY PLAN``,
with the statement's own values) how it would read each: none may scan a table that grows with
the cases. A search for part of a name goes through the grams' index (migration 0020).
"""
from __future__ import annotations

import re
import sqlite3

import pytest
from sqlalchemy import event, select

from engine.commands import CompleteTask
from engine.store.models import Task
from tests.conftest import ON_POSTGRES
from tests.helpers import login
from timers import sweep
from web import create_app

pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="SQLite's planner; PostgreSQL plans by its statistics")

#: tables whose rows grow with the cases handled
GROWING = {"cases", "tasks", "deadlines", "case_clocks", "case_history", "messages", "documents", "case_notices",
           "case_attachments", "case_requests", "command_refusals"}


def _plans(path: str, statements: list[tuple[str, tuple]]) -> dict[str, list[str]]:
    """Each statement's plan, from a fresh connection to the same file without the statistics a
    tiny test database would give the planner (it would rightly scan a table of ten rows)."""
    conn = sqlite3.connect(path)
    try:
        if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone():
            conn.execute("DELETE FROM sqlite_stat1")
            conn.execute("ANALYZE sqlite_schema")  # reload: no statistics
        out = {}
        for sql, params in statements:
            if sql in out or not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
                continue
            out[sql] = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
        return out
    finally:
        conn.close()


def test_no_statement_of_a_day_scans_a_growing_table(flow, seeded, engine, tmp_path):
    statements: list[tuple[str, tuple]] = []

    def record(_conn, _cursor, sql, params, _context, executemany):
        if not executemany:
            statements.append((sql, tuple(params or ())))

    event.listen(seeded.engine, "before_cursor_execute", record)
    try:
        cases = [flow.start(applicant=f"申请人{n}") for n in range(3)]
        flow.complete("chuangkou", {"acceptance": "accept"}, number=cases[0].number)
        flow.complete("chuangkou", {"acceptance": "accept"}, number=cases[1].number)
        flow.complete("shencha", {"review_result": "pass"}, opinion="同意", number=cases[0].number)
        engine.clock.advance(days=40)
        assert sweep(engine, engine.now()).fired  # warnings, cards, escalations fire
        app = create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)
        with app.test_client() as client:
            login(client, "shencha")
            with seeded.reader() as session:
                task = session.scalar(select(Task.id).where(Task.state == "ready", Task.element_id == "review"))
            for url in ("/", "/?tab=overdue", "/?tab=warning", "/?tab=done", f"/?q={cases[1].number}",
                        "/?q=请人1", "/messages/", f"/tasks/{task}", f"/cases/{cases[0].number}", f"/cases/{cases[1].number}"):
                assert client.get(url).status_code == 200, url
        # the supervisor's board; not the statistics and reports, which aggregate a period, nor 办件查询
        # (/cases/), whose filters (a status, part of a name) read matching cases until 1,001 are found
        with app.test_client() as client:
            login(client, "jiancha")
            for url in ("/supervision/", "/supervision/findings", "/supervision/warnings", "/messages/",
                        f"/cases/{cases[2].number}"):
                assert client.get(url).status_code == 200, url
        with seeded.reader() as session:
            task = session.get(Task, task)
            engine.execute(CompleteTask(task=task.id, data={"review_result": "pass"}, opinion="同意"), flow.actors["shencha"])
    finally:
        event.remove(seeded.engine, "before_cursor_execute", record)

    path = seeded.engine.url.database
    scans = {}
    for sql, plan in _plans(path, statements).items():
        bad = [line for line in plan if (m := re.match(r"SCAN (\w+)", line)) and m.group(1) in GROWING
]
        if bad:
            scans[" ".join(sql.split())[:300]] = bad
    assert len(statements) > 100
    assert not scans, "statements that read a whole growing table:\n" + "\n".join(f"{s}\n    {b}" for s, b in scans.items())
