"""The sweep, BPMN timers in working days, retries, a provisional year, several sweepers."""
from __future__ import annotations

import json
import re
from collections import Counter
import multiprocessing
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine import Database, Engine, FixedClock
from engine.clock import CHINA_TZ
from engine.deploy import deploy
from engine.errors import BadInput
from engine.store.models import Case, Deadline, HistoryEntry, Message
from engine.timelimits.schedule import import_schedule, parse_schedule
from timers import sweep
from timers.sweep import MAX_ATTEMPTS

from .conftest import FIXTURES, ON_POSTGRES, PG_URL
from .test_time_limits import at, case_of, deadline, fired, sweep_at


@pytest.fixture
def timed(seeded, clock):
    with seeded.transaction() as session:
        deploy(session, (FIXTURES / "workday_timer.bpmn").read_bytes(), "workday_timer.bpmn", "FEE",
               deployed_by="test", at=clock.now(), department_code="scjg", item_name="缴费")
    return "FEE"


def test_a_boundary_timer_in_working_days_skips_the_national_day_holiday(flow, clock, seeded, timed):
    clock.set(at("2026-09-30T10:00"))
    case = flow.start(item=timed)
    timer = next(d for d in _deadlines(seeded, case.number) if d.kind == "timer")
    # 1–7 October are off; 8, 9 and the makeup Saturday 10 October are the three working days.
    assert timer.due_on == date(2026, 10, 10) and not timer.provisional

    sweep_at(flow, clock, "2026-10-10T20:00")
    assert flow.task_of("chuangkou", case.number).element_id == "confirm_payment"
    sweep_at(flow, clock, "2026-10-11T08:00")
    row = case_of(seeded, case.number)
    assert row.state == "concluded"
    with seeded.reader() as session:
        entry = session.scalar(select(HistoryEntry).where(HistoryEntry.case_id == row.id,
                                                          HistoryEntry.command == "fire_deadline"))
    assert entry.payload["timer"] == "payment_overdue" and entry.ready_tasks == []


def test_completing_the_task_first_withdraws_the_timer(flow, clock, seeded, timed):
    clock.set(at("2026-09-30T10:00"))
    case = flow.start(item=timed)
    flow.complete("chuangkou", {}, number=case.number)
    assert [d.state for d in _deadlines(seeded, case.number) if d.kind == "timer"] == ["cancelled"]
    assert sweep_at(flow, clock, "2026-10-12T08:00").fired == 0


def _deadlines(db, number: str) -> list[Deadline]:
    with db.reader() as session:
        case_id = session.scalar(select(Case.id).where(Case.number == number))
        return list(session.scalars(select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.id)))


SCHEDULE_2027 = {
    "year": 2027, "source": "测试用 2027 年安排",
    "days_off": [{"date": "2027-01-01", "name": "元旦"}, {"from": "2027-02-06", "to": "2027-02-12", "name": "春节"}],
    "makeup_days": [{"date": "2027-02-14", "name": "春节调休"}],
}


def test_a_deadline_in_an_unpublished_year_is_provisional_and_moves_when_it_is_imported(flow, clock, seeded):
    clock.set(at("2026-12-10T09:00"))
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    red = deadline(seeded, case.number, "decision/red")
    # On weekends and the fixed-date 元旦 alone, the 20th working day after 10 December is 8 January 2027.
    assert red.due_on == date(2027, 1, 8) and red.provisional
    assert not deadline(seeded, case.number, "decision/warning").provisional  # 23 December: known

    # A (made-up) schedule that also gives Monday 4 January off.
    schedule = json.dumps({**SCHEDULE_2027, "days_off": SCHEDULE_2027["days_off"] + [
        {"date": "2027-01-04", "name": "测试"}]})
    result = import_schedule(flow.engine, parse_schedule(schedule), "admin")
    assert {"case": case.number, "deadline": "decision/red", "from": "2027-01-08", "to": "2027-01-11"} in result["moved"]
    assert result["failed"] == []
    red = deadline(seeded, case.number, "decision/red")
    assert red.due_on == date(2027, 1, 11) and not red.provisional
    with seeded.reader() as session:
        entry = session.scalar(select(HistoryEntry).where(HistoryEntry.command == "recompute_deadlines"))
    assert entry.actor == "system:calendar"
    assert {"deadline": "decision/red", "from": "2027-01-08", "to": "2027-01-11"} in entry.payload["moved"]

    # Importing the same schedule again moves nothing and records nothing.
    again = import_schedule(flow.engine, parse_schedule(schedule), "admin")
    assert again["moved"] == []
    with seeded.reader() as session:
        assert session.scalar(select(func.count()).where(HistoryEntry.command == "recompute_deadlines")) == 1


@pytest.mark.parametrize("change, reason", [
    ({"year": "2027"}, "year"),
    ({"makeup_days": [{"date": "2027-02-15"}]}, "不是周末"),
    ({"days_off": [{"date": "2028-01-01"}]}, "不属于"),
    ({"days_off": [{"from": "2027-02-12", "to": "2027-02-06"}]}, "区间"),
    ({"days_off": [{"date": "2027-13-01"}]}, "无效"),
    ({"holidays": []}, "不认识的名称：holidays"),
])
def test_a_bad_schedule_file_is_refused_with_the_reason(change, reason):
    with pytest.raises(BadInput) as caught:
        parse_schedule(json.dumps({**SCHEDULE_2027, **change}))
    assert reason in caught.value.message and "日历文件第 1 行：" in caught.value.message


@pytest.mark.parametrize("text, message", [
    # a JSON mistake: Python's parser's message in Chinese, with line and column
    ('{"year": 2027,\n "days_off": [\n  {"date": "2027-01-01",}\n ]}',
     "日历文件 第 3 行第 25 列：不是有效的 JSON，此处应为用双引号括起的名称（对象末尾多了逗号？）"),
    ('{"year": 2027\n "days_off": []}', "日历文件 第 2 行第 2 列：不是有效的 JSON，此处缺少逗号"),
    ('{"year": 2027,\n "days_off": [\n  {"date": "2027-01-01", "name": "元旦"},\n  {"date": "2027-13-01"}\n ]}',
     "日历文件第 4 行：放假日（days_off）第 2 项的日期“2027-13-01”无效，应为 年-月-日，例如 2027-01-01"),
    ('{"year": 2027,\n "days_off": [{"date": "2027-01-01"}],\n "makeup_days": [\n\n  {"date": "2027-01-01"}]}',
     "日历文件第 5 行：调休上班日 2027-01-01 不是周末：工作日本来就上班"),
    ('{"year": 2027,\n "days_off": [{"date": "2027-01-01"},\n  {"date": "2027-01-01"}]}',
     "日历文件第 3 行：放假日 2027-01-01 重复（第 2 行已列出）"),
    ('{"year": 2027,\n\n "makeup_days": {"date": "2027-01-02"}}', "日历文件第 3 行：调休上班日（makeup_days）应为列表"),
    (b'{"year": 2027,\n "source": "\xff"}', "日历文件 第 2 行：不是有效的 UTF-8 文本"),
    ("", "日历文件 是空的"),
])
def test_every_schedule_error_is_chinese_and_names_its_line(text, message):
    with pytest.raises(BadInput) as caught:
        parse_schedule(text)
    assert caught.value.message.startswith(message)
    assert not re.search(r"[A-Za-z]{3,}", caught.value.message.split("例如")[0].replace("days_off", "").replace("makeup_days", "")
                         .replace("JSON", "").replace("UTF", "")), caught.value.message


def test_a_failing_deadline_is_retried_with_backoff_and_never_blocks_the_others(flow, clock, seeded):
    case, other = flow.start(), flow.start()
    broken = deadline(seeded, case.number, "acceptance/warning")
    with seeded.transaction() as session:
        row = session.get(Deadline, broken.id)  # an escalation that lost its detail: this code cannot fire it
        row.kind, row.detail = "escalate", {}
    report = sweep_at(flow, clock, "2026-03-07T08:00")
    assert report.fired == 1 and [f["deadline"] for f in report.failed] == [broken.id]
    assert fired(seeded, other.number) == [(date(2026, 3, 7), "acceptance/warning")]  # not blocked
    row = deadline(seeded, case.number, "acceptance/warning")
    assert row.state == "armed" and row.attempts == 1 and "'to'" in row.last_error
    assert row.due_at == at("2026-03-07T08:01")

    for attempt in range(2, MAX_ATTEMPTS + 1):
        report = sweep_at(flow, clock, (row.due_at + timedelta(seconds=1)).astimezone(CHINA_TZ).isoformat())
        row = deadline(seeded, case.number, "acceptance/warning")
        assert row.attempts == attempt
    assert row.state == "failed"
    with seeded.reader() as session:
        titles = list(session.scalars(select(Message.title).where(Message.kind == "timer_failed")))
    assert titles and "定时失败" in titles[0]
    assert sweep_at(flow, clock, "2026-03-08T08:00").failed == []  # failed rows are no longer swept


def test_the_sweep_reads_only_due_rows(flow, clock, seeded):
    for _ in range(3):
        flow.start()
    assert sweep_at(flow, clock, "2026-03-03T08:00").fired == 0
    report = sweep_at(flow, clock, "2026-03-07T08:00")  # the three acceptance warnings
    assert report.fired == 3 and report.skipped == 0


def _sweeper(url: str, now: str) -> dict:
    """One sweeper process: its own connections and engine, the same database."""
    database = Database(url)
    try:
        return sweep(Engine(database, FixedClock(now)), datetime.fromisoformat(now)).to_dict()
    finally:
        database.dispose()


@pytest.mark.slow
@pytest.mark.concurrency
def test_two_sweeper_processes_fire_every_due_deadline_exactly_once(flow, clock, seeded, tmp_path):
    cases = [flow.start().number for _ in range(60)]
    url = PG_URL if ON_POSTGRES else seeded.url
    now = "2026-03-10T08:00:00+08:00"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        reports = pool.starmap(_sweeper, [(url, now), (url, now)])
    # Each case has a warning and a deemed acceptance due: 120 firings between the two.
    assert sum(r["fired"] for r in reports) == 2 * len(cases)
    assert all(not r["failed"] for r in reports)
    with seeded.reader() as session:
        firings = Counter((case_id, payload["deadline"]) for case_id, payload in session.execute(
            select(HistoryEntry.case_id, HistoryEntry.payload).where(HistoryEntry.command == "fire_deadline")))
        assert len(firings) == 2 * len(cases) and set(firings.values()) == {1}
        assert session.scalar(select(func.count()).where(Deadline.state == "armed", Deadline.due_at <= at(now[:19]))) == 0
    assert {case_of(seeded, n).acceptance for n in cases} == {"deemed"}
    assert all(k for _, k in fired(seeded, cases[0]))


def test_a_failed_firing_is_recorded_in_the_history_and_replays(flow, clock, seeded):
    """The deemed review cannot complete (the gateway after it needs a score): each failed
    firing is a ``record_deadline_failure`` command, and the exported history replays."""
    from engine.replay import export_case, replay

    with seeded.transaction() as session:
        deploy(session, (FIXTURES / "deemed_gateway.bpmn").read_bytes(), "deemed_gateway.bpmn", "SCORED",
               deployed_by="test", at=clock.now(), department_code="scjg", item_name="评分审查")
    case = flow.start(item="SCORED")
    report = sweep_at(flow, clock, "2026-03-05T08:00")
    assert len(report.failed) == 1 and "score" in report.failed[0]["error"]
    sweep_at(flow, clock, "2026-03-05T08:02")
    with seeded.reader() as session:
        row = session.scalar(select(Case).where(Case.number == case.number))
        failures = [e.payload for e in session.scalars(select(HistoryEntry).where(
            HistoryEntry.case_id == row.id, HistoryEntry.command == "record_deadline_failure")
            .order_by(HistoryEntry.seq))]
        history = export_case(session, row)
    assert [(f["attempt"], f["retry_at"]) for f in failures] == [(1, "2026-03-05T08:01:00+08:00"),
                                                                 (2, "2026-03-05T08:04:00+08:00")]
    assert all("评分是否合格" in f["error"] for f in failures)
    result = replay(history)
    assert result.same, result.summary()
