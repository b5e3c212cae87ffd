"""The demo cases of ``approvals serve --demo`` (cli/demo_cases.py): made through the engine's
commands on past working days, with cards, statistics and findings that are real, and histories
that replay."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cli.demo_cases import CONCLUDED, ONLINE, OPEN, loaded_at, plan, seed_cases, working_days
from engine.clock import CHINA_TZ, FixedClock, china_date
from engine.intake import check_registration
from engine.integrity import check
from engine.people import actor_for
from engine.replay import export_case, replay
from engine.store.models import Case, Finding, HistoryEntry, Item, Task
from engine.supervision.board import board
from engine.supervision.statistics import statistics
from engine.timelimits.workdays import WorkCalendar

from .test_packaging import serve  # noqa: F401  (fixture)

NOW = FixedClock("2026-11-25T10:00:00+08:00").now()


def _calendar_and_guides(db):
    with db.reader() as session:
        return WorkCalendar.load(session), {c: g or {} for c, g in session.execute(select(Item.code, Item.guide))}


def test_the_plan_fits_the_working_days_before_any_today(seeded):
    """Whatever day the demo is loaded on — holidays, a short month, a year whose schedule is not
    yet published — every step falls on a working day before today, in order, and the
    applications pass the window's checks (identity numbers, credit codes, the item's fields)."""
    calendar, guides = _calendar_and_guides(seeded)
    today = date(2026, 1, 1)
    while today < date(2028, 1, 1):
        days, stories = plan(calendar, today, guides)
        assert days == working_days(calendar, today) and all(d < today and calendar.is_workday(d) for d in days)
        assert days[0] >= loaded_at(datetime(today.year, today.month, today.day, 12, tzinfo=CHINA_TZ)).date()
        assert len(stories) == sum(n for *_, n in CONCLUDED) + len(OPEN) + len(ONLINE), today
        for story in stories:
            offsets = [s.day for s in story.steps]
            assert offsets == sorted(offsets) and 0 <= story.start and story.start + offsets[-1] < len(days)
            for step in story.steps:
                if step.op == "register" and today.month == 1:
                    fields = guides[story.item].get("application", [])
                    check_registration(step.args["applicant"], fields, step.args["application"], days[story.start])
        today += timedelta(days=17)
    assert plan(calendar, date(2026, 11, 25), guides)[1] == plan(calendar, date(2026, 11, 25), guides)[1]


@pytest.mark.slow
@pytest.mark.replay
def test_the_demo_cases_are_real_cases_in_every_state(seeded):
    seeded_cases = seed_cases(seeded, NOW)
    assert 40 <= seeded_cases.cases <= 60 and seeded_cases.fired > 0 and seeded_cases.findings > 0
    with seeded.reader() as session:
        cases = list(session.scalars(select(Case)))
        calendar = WorkCalendar.load(session)
        assert len(cases) == seeded_cases.cases
        assert {c.item.code for c in cases} == {"SCJG-SPJY", "WSJK-GGCS", "NYNC-DWZL", "MZ-JHDJ", "FGW-TZXM",
                                               "ZWFW-12345", "SCJG-SPSC", "GENERAL"}
        # received over the previous two months and this one, from many applicants
        assert {c.started_at.astimezone(CHINA_TZ).month for c in cases} == {9, 10, 11}
        walk_ins = [c for c in cases if c.account_id is None]
        assert len({c.applicant for c in walk_ins}) == len(walk_ins)
        # the demo applicant's own online cases: concluded (to rate), awaiting her supplement, at review
        mine = {(c.state, c.acceptance) for c in cases if c.account_id is not None}
        assert mine == {("concluded", "accepted"), ("running", "supplement"), ("running", "accepted")}
        outcomes = {(c.state, c.acceptance, c.decision) for c in cases}
        assert {("concluded", "accepted", "grant"), ("concluded", "accepted", "deny"),
                ("concluded", "refused", None), ("concluded", "accepted", "deemed_grant"),
                ("running", None, None), ("running", "supplement", None), ("running", "accepted", None),
                ("running", "deemed", None)} <= outcomes
        assert any(c.suspended for c in cases)  # 检测, 专家评审
        commands = set(session.scalars(select(HistoryEntry.command)))
        assert {"record_materials", "request_supplement", "receive_supplement", "extend_deadline",
                "request_extension", "decide_extension", "return_task", "suspend_clocks", "fire_deadline"} <= commands
        # a 即办件 concluded on the day it came in
        assert any(c.item.code == "MZ-JHDJ" and c.decision == "grant" and c.concluded_at.date() == c.started_at.date()
                   for c in cases)
        # people act on working days in office hours, before now; only the sweep acts at night
        for e in session.scalars(select(HistoryEntry)):
            at = e.at.astimezone(CHINA_TZ)
            assert at <= NOW
            if not e.actor.startswith("system"):
                assert calendar.is_workday(at.date()) and 9 <= at.hour < 22, (e.actor, at)

        # every step has someone waiting: the windows, the reviewers, the heads
        def inbox(username):
            actor = actor_for(session, username)
            return {t.element_id for t in session.scalars(select(Task).where(Task.state == "ready"))
                    if t.department_id == actor.department_id and t.role in actor.roles}
        assert "accept_application" in inbox("chuangkou")
        assert {"review_materials", "site_inspection"} <= inbox("shencha")
        assert "decide" in inbox("fuzeren") and "decide" in inbox("nync_fuzeren")

        # the supervisor's board has yellow and red cards, October has figures, 监察事项 entries
        rows = board(session, actor_for(session, "jiancha"), calendar, china_date(NOW))["rows"]
        assert {r.card for r in rows} == {"yellow", "red"}
        figures = statistics(session, calendar, date(2026, 10, 1), date(2026, 10, 31))["total"]["figures"]
        assert figures["received"] >= 8 and figures["concluded"] >= 8 and figures["on_time"] >= 1
        kinds = set(session.scalars(select(Finding.kind)))
        assert {"refusal", "deemed", "overdue"} <= kinds
        # a few histories through the replay API (approvals check below replays every one of them)
        notable = set(session.scalars(select(HistoryEntry.case_id).where(HistoryEntry.command.in_(
            ("extend_deadline", "decide_extension", "receive_supplement", "return_task", "suspend_clocks")))))
        histories = [export_case(session, c) for c in cases if c.decision == "deemed_grant" or c.id in notable]
    assert len(histories) >= 4
    for history in histories:
        result = replay(history)
        assert result.same, result.to_dict()
    report = check(seeded)  # every case: its history replayed, the state compared, the hash chain
    assert report.ok and report.cases == len(cases), report.to_dict()


@pytest.mark.slow
@pytest.mark.cli
def test_serve_demo_loads_the_demo_cases_up_to_now(serve, db):  # noqa: F811
    out = serve("--demo")
    assert "已加载演示数据" in out and "演示办件：" in out
    with db.reader() as session:
        cases = session.scalar(select(func.count()).select_from(Case))
        findings = session.scalar(select(func.count()).select_from(Finding))
    assert cases >= 40 and findings > 0
    again = serve("--demo")
    assert "演示办件" not in again  # a database with data gets nothing more
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == cases
