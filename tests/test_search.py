"""Finding cases (engine/read/search.py), the inbox's search box and its 催办/退回 marks, the
password change and the 抄送 lists of 我的设置 — on SQLite and on PostgreSQL alike."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from engine.commands import CopyCase, RequestSupplement, ReturnTask, UrgeTask
from engine.errors import BadInput
from engine.people import authenticate, change_password
from engine.read.queries import copies_received, copies_sent, inbox
from engine.read.search import CaseSearch, parse_search, search_cases
from engine.read.views import may_read_case
from engine.store.models import Case, Deadline, Message, Task, User
from web import create_app

from .helpers import login
from .test_time_limits import at


@pytest.fixture
def cases(flow, clock):
    """Seven cases on three days (China time, two of them either side of midnight UTC+8) of three
    items, in every status one can search by."""
    made = {}

    def start(key, when, item, applicant):
        clock.set(at(when))
        made[key] = flow.start(item=item, applicant=applicant).number

    start("wang", "2026-03-02T09:00", "GENERAL", "王小明")
    start("wang2", "2026-03-03T23:30", "GENERAL", "王大力")   # 15:30 UTC on the 3rd
    start("li", "2026-03-04T00:10", "GENERAL", "李四")        # 16:10 UTC on the 3rd, but the 4th in China
    start("refused", "2026-03-04T10:00", "GENERAL", "赵五")
    start("marriage", "2026-03-05T09:00", "MZ-JHDJ", "张小明、刘芳")
    start("food", "2026-03-05T10:00", "SCJG-SPJY", "某餐饮管理有限公司")
    start("supplement", "2026-03-05T11:00", "GENERAL", "钱七")
    clock.set(at("2026-03-06T09:00"))
    flow.complete("chuangkou", {"acceptance": "accept"}, number=made["wang"])
    flow.complete("chuangkou", {"acceptance": "refuse"}, opinion="不属于本机关职权范围", number=made["refused"])
    flow.engine.execute(RequestSupplement(case=made["supplement"], materials=("申请书",)), flow.actors["chuangkou"])
    return made


def found(flow, username, **criteria):
    with flow.db.reader() as session:
        return [r["number"] for r in search_cases(session, flow.actors[username], CaseSearch(**criteria), per_page=50).rows]


def test_search_by_part_of_the_number_or_the_name_newest_first(flow, cases):
    with flow.db.reader() as session:
        numbers = {n: session.scalar(select(Case.started_at).where(Case.number == n)) for n in cases.values()}
    everything = sorted(numbers, key=lambda n: numbers[n], reverse=True)
    assert found(flow, "jiancha") == everything  # a supervisor: every case, newest first
    middle = cases["food"].split("-")[1]  # "SPJY", the middle of SCJG-SPJY-…
    assert found(flow, "jiancha", number=middle.lower().upper()) == [cases["food"]]
    tail = cases["wang2"][-9:]  # the day and sequence: 20260303-…
    assert found(flow, "jiancha", number=tail) == [n for n in everything if tail in n] and cases["wang2"] in found(
        flow, "jiancha", number=tail)
    assert found(flow, "jiancha", applicant="小明") == [cases["marriage"], cases["wang"]]
    assert found(flow, "jiancha", applicant="王") == [cases["wang2"], cases["wang"]]
    assert found(flow, "jiancha", applicant="小明", number="MZ") == [cases["marriage"]]
    assert found(flow, "jiancha", applicant="100%_") == []  # wildcards are text, not patterns


def test_search_by_item_and_by_days_received_in_china_time(flow, cases):
    assert found(flow, "jiancha", item="MZ-JHDJ") == [cases["marriage"]]
    assert found(flow, "jiancha", item="GENERAL", received_from=date(2026, 3, 3), received_to=date(2026, 3, 3)) \
        == [cases["wang2"]]  # 23:30 on the 3rd is the 3rd; 00:10 on the 4th is not, though both are the 3rd in UTC
    assert found(flow, "jiancha", received_from=date(2026, 3, 4), received_to=date(2026, 3, 4)) \
        == [cases["refused"], cases["li"]]
    assert found(flow, "jiancha", received_from=date(2026, 3, 5)) == [cases["supplement"], cases["food"], cases["marriage"]]
    assert found(flow, "jiancha", received_to=date(2026, 3, 2)) == [cases["wang"]]


def test_search_by_status_shows_the_status_the_current_step_and_the_promised_date(flow, cases):
    assert found(flow, "jiancha", status="refused") == [cases["refused"]]
    assert found(flow, "jiancha", status="supplement") == [cases["supplement"]]
    assert cases["refused"] in found(flow, "jiancha", status="concluded")
    assert cases["refused"] not in found(flow, "jiancha", status="running")
    assert set(found(flow, "jiancha", status="running")) == set(cases.values()) - {cases["refused"]}
    with flow.db.reader() as session:
        page = search_cases(session, flow.actors["jiancha"], CaseSearch(number=cases["wang"]))
        (row,) = page.rows
        case_id = session.scalar(select(Case.id).where(Case.number == cases["wang"]))
        ready = list(session.scalars(select(Task.name).where(Task.case_id == case_id, Task.state == "ready")))
        yellow = session.scalar(select(Deadline.due_on).where(Deadline.case_id == case_id,
                                                              Deadline.key == "decision/yellow"))
        refused = search_cases(session, flow.actors["jiancha"], CaseSearch(status="refused")).rows[0]
    assert row["steps"] == ready == ["审查"] and row["status"] == "办理中" and row["item_name"] == "通用审批（演示）"
    assert row["promised_on"] == yellow.isoformat()  # the promised limit (10 days), not the statutory one
    assert refused["status"] == "不予受理" and refused["steps"] == [] and refused["promised_on"] is None


def test_a_clerk_finds_only_the_cases_they_may_read(flow, cases):
    flow.engine.execute(CopyCase(case=cases["food"], to=("mz_chuangkou",), note="请知悉"), flow.actors["fuzeren"])
    with flow.db.reader() as session:
        all_cases = list(session.scalars(select(Case)))
        for username in ("chuangkou", "mz_chuangkou", "mz_fuzeren", "ws_chuangkou", "jiancha", "admin", "rexian"):
            actor = flow.actors[username]
            readable = {c.number for c in all_cases if may_read_case(session, actor, c)}
            assert set(found(flow, username)) == readable, username
    assert set(found(flow, "mz_chuangkou")) == {cases["marriage"], cases["food"]}  # their item, and the copy
    assert found(flow, "ws_chuangkou") == []


def test_paging_is_bounded_and_keeps_the_order(flow, cases):
    with flow.db.reader() as session:
        first = search_cases(session, flow.actors["jiancha"], CaseSearch(page=1), per_page=3)
        third = search_cases(session, flow.actors["jiancha"], CaseSearch(page=3), per_page=3)
        beyond = search_cases(session, flow.actors["jiancha"], CaseSearch(page=40), per_page=3)
    assert first.total == 7 and first.pages == 3 and len(first.rows) == 3
    assert [r["number"] for r in third.rows] == [cases["wang"]] and beyond.page == 3


@pytest.mark.parametrize("args, message", [
    ({"from": "2026-13-01"}, "收件日期起“2026-13-01”不是有效的日期，请按 年-月-日 填写"),
    ({"to": "昨天"}, "收件日期止“昨天”不是有效的日期"),
    ({"from": "2026-03-05", "to": "2026-03-01"}, "收件日期止（2026-03-01）早于收件日期起（2026-03-05）"),
    ({"applicant": "王" * 65}, "申请人过长（65 字，上限 64 字）"),
    ({"number": "A\x1b[31m"}, "办件编号含有控制字符"),
    ({"item": "NOPE"}, "所选事项不存在"),
    ({"status": "lost"}, "所选状态无效"),
    ({"from": "1900-01-01"}, "应在 2000 年到 2100 年之间"),
])
def test_bad_search_input_is_refused_in_chinese(args, message):
    with pytest.raises(BadInput) as caught:
        parse_search(args, {"GENERAL"})
    assert message in caught.value.message


def test_search_input_is_trimmed_and_the_number_upper_cased():
    search = parse_search({"number": " spjy ", "applicant": " 王 ", "from": "2026/3/2".replace("/3/2", "-03-02"),
                           "page": "x"})
    assert search == CaseSearch(number="SPJY", applicant="王", received_from=date(2026, 3, 2), page=1)
    assert search.args() == {"number": "SPJY", "applicant": "王", "from": "2026-03-02"}


# ---------------------------------------------------------------- the inbox: search box and marks

def test_the_inbox_search_finds_part_of_a_number_or_of_a_name(flow, cases):
    actor = flow.actors["chuangkou"]
    with flow.db.reader() as session:
        by_name = [r["case"] for r in inbox(session, actor, search="大力").rows]
        by_number = [r["case"] for r in inbox(session, actor, search=cases["li"][-14:].lower()).rows]
    assert by_name == [cases["wang2"]] and by_number == [cases["li"]]


def test_urged_and_returned_steps_are_marked_in_the_handlers_inbox(flow, cases, clock):
    number = cases["wang"]
    review = flow.task_of("shencha", number)
    clock.set(at("2026-03-06T10:00"))
    flow.engine.execute(UrgeTask(task=review.id, note="请尽快"), flow.actors["fuzeren"])
    clock.set(at("2026-03-06T11:00"))
    flow.engine.execute(UrgeTask(task=review.id), flow.actors["jiancha"])
    with flow.db.reader() as session:
        rows = {r["case"]: r for r in inbox(session, flow.actors["shencha"]).rows}
    assert rows[number]["urged"] == 2 and rows[number]["returned_reason"] is None
    assert all(r["urged"] == 0 for n, r in rows.items() if n != number)

    clock.set(at("2026-03-06T14:00"))
    flow.engine.execute(ReturnTask(task=review.id, to="accept_application", reason="申请书未签字"),
                        flow.actors["shencha"])
    with flow.db.reader() as session:
        rows = {r["case"]: r for r in inbox(session, flow.actors["chuangkou"]).rows}
        done = inbox(session, flow.actors["chuangkou"], tab="done").rows
    assert rows[number]["returned_reason"] == "申请书未签字" and rows[number]["returned_by"] == "李审查"
    assert rows[number]["urged"] == 0  # the urging was of the review step, not of this one
    assert all(r["returned_reason"] is None for n, r in rows.items() if n != number)
    assert done and all(r["returned_reason"] is None and r["urged"] == 0 for r in done)  # finished: never marked

    # accepted again, the review step opens anew: neither urged nor returned any more
    clock.set(at("2026-03-06T15:00"))
    flow.complete("chuangkou", {"acceptance": "accept"}, number=number)
    with flow.db.reader() as session:
        rows = {r["case"]: r for r in inbox(session, flow.actors["shencha"]).rows}
    assert rows[number]["urged"] == 0 and rows[number]["returned_reason"] is None


# ---------------------------------------------------------------- 我的设置

def test_a_password_change_needs_the_current_one_and_the_new_one_twice(flow, seeded, clock):
    from cli.demo import DEMO_PASSWORD  # import here: the demo password is the seed's

    refusals = [
        ("wrong", "newpassword1", "newpassword1", "当前密码不正确"),
        ("", "newpassword1", "newpassword1", "请填写当前密码"),
        (DEMO_PASSWORD, "short7c", "short7c", "新密码至少 8 个字符（现在 7 个）"),
        (DEMO_PASSWORD, "newpassword1", "newpassword2", "两次输入的新密码不一致"),
        (DEMO_PASSWORD, "        ", "        ", "新密码不能全是空格"),
        (DEMO_PASSWORD, "12345678", "12345678", "新密码太容易被猜到"),
        (DEMO_PASSWORD, "abcdefgh", "abcdefgh", "新密码太容易被猜到"),
        (DEMO_PASSWORD, "x" * 129, "x" * 129, "新密码过长"),
    ]
    for current, new, repeated, message in refusals:
        with pytest.raises(BadInput) as caught:
            with seeded.transaction() as session:
                change_password(session, "shencha", current, new, repeated, at=clock.now())
        assert message in caught.value.message
    with seeded.reader() as session:
        assert authenticate(session, "shencha", DEMO_PASSWORD) is not None  # nothing changed
    with seeded.transaction() as session:
        change_password(session, "shencha", DEMO_PASSWORD, "新的密码 2026", "新的密码 2026", at=clock.now())
    with seeded.reader() as session:
        user = session.scalar(select(User).where(User.username == "shencha"))
        assert user.password_hash.startswith("scrypt") or ":" in user.password_hash
        assert check_password_hash(user.password_hash, "新的密码 2026")
        assert authenticate(session, "shencha", DEMO_PASSWORD) is None
        (note,) = session.scalars(select(Message).where(Message.user_id == user.id, Message.kind == "password"))
        assert note.title == "您的登录密码已修改" and note.created_at == clock.now()
    with pytest.raises(BadInput, match="新密码与当前密码相同"):
        with seeded.transaction() as session:
            change_password(session, "shencha", "新的密码 2026", "新的密码 2026", "新的密码 2026", at=clock.now())


def test_copies_received_and_sent_are_listed_with_names(flow, cases, clock):
    clock.set(at("2026-03-06T16:00"))
    flow.engine.execute(CopyCase(case=cases["food"], to=("mz_fuzeren", "jiancha"), note="请知悉"), flow.actors["fuzeren"])
    clock.set(at("2026-03-06T16:30"))
    flow.engine.execute(CopyCase(case=cases["wang"], to=("mz_fuzeren",)), flow.actors["fuzeren"])
    with flow.db.reader() as session:
        received = copies_received(session, flow.actors["mz_fuzeren"].user_id)
        sent = copies_sent(session, flow.actors["fuzeren"])
        nothing = copies_sent(session, flow.actors["mz_fuzeren"])
    assert [(c["number"], c["from"], c["note"]) for c in received] == [(cases["wang"], "赵负责", ""),
                                                                         (cases["food"], "赵负责", "请知悉")]
    assert [(c["number"], c["to"]) for c in sent] == [(cases["wang"], ["吴负责"]), (cases["food"], ["孙监察", "吴负责"])]
    assert nothing == []


def test_the_search_page_refuses_a_bad_date_in_chinese_and_keeps_what_was_typed(seeded, engine):
    client = create_app({"SECRET_KEY": "test", "TESTING": True}, db=seeded, clock=engine.clock).test_client()
    login(client, "chuangkou")
    response = client.get("/cases/?applicant=王&from=2026-02-30")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "收件日期起“2026-02-30”不是有效的日期，请按 年-月-日 填写" in page and 'value="王"' in page
    assert client.get("/cases/?applicant=" + "王" * 65).status_code == 400
    assert "暂无可查看的办件" in client.get("/cases/").get_data(as_text=True)
