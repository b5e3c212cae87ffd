"""The inbox reads each tab as ordered index pieces (engine/read/queries.py ``_inbox_pieces``):
whatever mix of roles, backups (AB岗), 委派, claims, alerts and missing due dates, every page and
every count is what the tab's plain query gives in the tab's order."""
from __future__ import annotations

from datetime import timedelta

import pytest

from sqlalchemy import select, update

from engine.clock import china_date
from engine.people import actor_for, set_away, set_backup
from engine.read.queries import COUNT_CAP, _inbox_query, inbox, inbox_count
from engine.store.models import Task, User

pytestmark = pytest.mark.slow


def _reference(session, actor, tab, today) -> list[int]:
    query, order, params = _inbox_query(session, actor, tab, "", today)
    return list(session.scalars(query.with_only_columns(Task.id).order_by(*order), params))


def test_every_page_and_count_is_the_plain_query_in_order(flow, seeded, engine):
    for n in range(24):
        flow.start(applicant=f"申请人{n}")
    for n in range(16):
        flow.complete("chuangkou", {"acceptance": "accept"})  # review steps in 市场监管局
    today = china_date(engine.now())
    with seeded.transaction() as session:
        users = dict(session.execute(select(User.username, User.id)).all())
        reviews = list(session.scalars(select(Task.id).where(Task.state == "ready", Task.element_id == "review")
                                       .order_by(Task.id)))
        assert len(reviews) == 16
        for n, task_id in enumerate(reviews):
            values = {"due_on": None if n % 5 == 0 else today + timedelta(days=(n * 7) % 11 - 4),
                      "alert": [None, "warning", "yellow", "red"][n % 4] if n % 3 else None}
            if n % 6 == 1:
                values["assignee_id"] = users["shencha_b"]  # claimed by a colleague
            if n % 7 in (2, 3):  # 委派 by the 负责人 to a reviewer, or to the window clerk (another role)
                values.update(assignee_id=users["shencha" if n % 7 == 2 else "chuangkou"],
                              delegated_by_id=users["fuzeren"])
            session.execute(update(Task).where(Task.id == task_id).values(**values))
        set_backup(session, "shencha_b", "shencha")
        set_away(session, "shencha_b", True)  # shencha stands in for shencha_b (AB岗)
    with seeded.reader() as session:
        mine = _reference(session, actor_for(session, "shencha"), "todo", today)
        due = dict(session.execute(select(Task.id, Task.due_on).where(Task.id.in_(mine))).all())
        assert len(mine) > 10 and due[mine[-1]] is None and due[mine[0]] is not None  # a real mix, undated last
        for username in ("shencha", "shencha_b", "fuzeren", "chuangkou"):
            actor = actor_for(session, username)
            for tab in ("todo", "warning", "overdue"):
                expected = _reference(session, actor, tab, today)
                assert inbox_count(session, actor, tab, today=today) == min(len(expected), COUNT_CAP + 1)
                for per_page in (3, 20):
                    shown = []
                    for page in range(1, len(expected) // per_page + 2):
                        result = inbox(session, actor, tab=tab, page=page, per_page=per_page, today=today)
                        assert result.total == len(expected)
                        shown += [row["id"] for row in result.rows]
                    assert shown == expected, (username, tab, per_page)
