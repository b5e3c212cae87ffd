"""The clerk workspace routes: login, inbox, task form, case view, and their refusals."""
from __future__ import annotations

import re
from datetime import date

import pytest

from engine.commands import CompleteTask, TransferTask
from engine.read.documents import chinese_date
from engine.read.queries import case_end_dates, get_case
from engine.timelimits.workdays import WorkCalendar
from cli.demo import DEMO_PASSWORD
from web import create_app

from .helpers import csrf_of, login, version_of


@pytest.fixture
def app(seeded, engine):
    return create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)


def test_pages_need_login(app):
    client = app.test_client()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_password_is_refused(app):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": "chuangkou", "password": "nope", "csrf_token": csrf_of(page)})
    assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)


def test_clerk_completes_a_task_from_the_inbox(app, flow):
    case = flow.start()
    client = login(app.test_client(), "chuangkou")
    inbox = client.get("/").get_data(as_text=True)
    assert case.number in inbox and "受理" in inbox
    task = flow.task_of("chuangkou")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "予以受理" in page and "审批意见" in page
    response = client.post(f"/tasks/{task.id}/complete", data={
        "csrf_token": csrf_of(page), "task_version": version_of(page), "acceptance": "accept", "opinion": "材料齐全"})
    assert response.status_code == 302
    view = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "材料齐全" in view and "审查" in view
    # an old link to the step (a message, the browser's history) leads to the case, saying who did it
    again = client.get(f"/tasks/{task.id}")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/cases/{case.number}")
    assert "“受理”已由 王窗口 于 " in client.get(again.headers["Location"]).get_data(as_text=True)
    other = login(app.test_client(), "mz_chuangkou")  # not a reader of the case: refused as before
    assert other.get(f"/tasks/{task.id}").status_code in (403, 404)


def test_clerk_of_another_department_is_refused(app, flow):
    flow.start()
    task = flow.task_of("chuangkou")
    client = login(app.test_client(), "mz_chuangkou")
    assert client.get(f"/tasks/{task.id}").status_code == 403
    page = client.get("/").get_data(as_text=True)
    response = client.post(f"/tasks/{task.id}/complete", data={"csrf_token": csrf_of(page), "acceptance": "accept"})
    assert response.status_code == 403
    assert flow.task_of("chuangkou").state == "ready"


def test_forged_csrf_token_is_refused(app, flow):
    flow.start()
    task = flow.task_of("chuangkou")
    client = login(app.test_client(), "chuangkou")
    response = client.post(f"/tasks/{task.id}/complete", data={"csrf_token": "forged", "acceptance": "accept"})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert flow.task_of("chuangkou").state == "ready"


def test_stale_form_after_someone_else_completed(app, flow):
    from engine.people import add_user, actor_for
    from engine.commands import CompleteTask

    with flow.db.transaction() as session:
        add_user(session, "chuangkou2", roles=["window_clerk"], department_code="scjg")
    flow.start()
    task = flow.task_of("chuangkou")
    client = login(app.test_client(), "chuangkou")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    with flow.db.reader() as session:
        other = actor_for(session, "chuangkou2")
    flow.engine.execute(CompleteTask(task=task.id, data={"acceptance": "accept"}), other)
    response = client.post(f"/tasks/{task.id}/complete", data={
        "csrf_token": csrf_of(page), "task_version": version_of(page), "acceptance": "refuse"})
    assert response.status_code == 409 and "不在待办中" in response.get_data(as_text=True)


def test_missing_required_field_is_shown_on_the_form(app, flow):
    flow.start()
    task = flow.task_of("chuangkou")
    client = login(app.test_client(), "chuangkou")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    response = client.post(f"/tasks/{task.id}/complete", data={"csrf_token": csrf_of(page), "opinion": "先看看"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "必填字段" in body and "先看看" in body


# ---------------------------------------------------------------- time limits on the web

def _at(text):
    from datetime import datetime

    from engine.clock import CHINA_TZ
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def test_case_page_shows_clocks_and_marks_provisional_deadlines(app, flow, clock):
    clock.set(_at("2026-12-10T09:00"))
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    page = login(app.test_client(), "chuangkou").get(f"/cases/{case.number}").get_data(as_text=True)
    assert "办理时限" in page and "2027-01-08 红牌" in page and "暂定" in page
    from timers import sweep
    clock.set(_at("2026-12-31T09:00"))  # past the acceptance period's warning: fired, and when
    sweep(flow.engine)
    page = login(app.test_client(), "chuangkou").get(f"/cases/{case.number}").get_data(as_text=True)
    fired = re.findall(r"(\d{4}-\d\d-\d\d) ([^·<]*?) · 已触发（(\d{4}-\d\d-\d\d) \d\d:\d\d）", page)
    assert fired and all(day < when for day, _label, when in fired), fired  # fired after the day it names


def test_one_time_notice_from_the_case_page(app, flow):
    case = flow.start()
    client = login(app.test_client(), "chuangkou")
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    response = client.post(f"/cases/{case.number}/supplement",
                           data={"materials": "营业执照副本\n场所平面图\n", "csrf_token": csrf_of(page)})
    assert response.status_code == 302
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "一次性补正以下材料" in page and "2. 场所平面图" in page and "登记收到" in page

    other = login(app.test_client(), "shencha")
    response = other.post(f"/cases/{case.number}/receive",
                          data={"csrf_token": csrf_of(other.get("/").get_data(as_text=True))})
    assert response.status_code == 403


def test_warnings_arrive_in_the_message_box_and_can_be_marked_read(app, flow, clock):
    from timers import sweep

    flow.start()
    clock.set(_at("2026-03-07T08:00"))
    sweep(flow.engine)
    client = login(app.test_client(), "chuangkou")
    page = client.get("/messages/").get_data(as_text=True)
    assert "【预警】" in page and 'class="badge"' in page
    client.post("/messages/read", data={"csrf_token": csrf_of(page)})
    page = client.get("/messages/").get_data(as_text=True)
    assert "【预警】" in page and 'class="badge"' not in page


def test_only_administrators_import_the_calendar(app, flow, clock):
    import json

    clock.set(_at("2026-12-10T09:00"))
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    clerk = login(app.test_client(), "chuangkou")
    assert clerk.get("/admin/calendar").status_code == 403

    admin = login(app.test_client(), "admin")
    page = admin.get("/admin/calendar").get_data(as_text=True)
    assert "2026" in page and "chinesecalendar" in page
    bad = admin.post("/admin/calendar", data={"schedule": "{not json", "csrf_token": csrf_of(page)})
    assert bad.status_code == 400 and "不是有效的 JSON" in bad.get_data(as_text=True)
    schedule = {"year": 2027, "source": "测试", "days_off": [{"date": "2027-01-01", "name": "元旦"},
                                                             {"date": "2027-01-04", "name": "测试"}]}
    done = admin.post("/admin/calendar", data={"schedule": json.dumps(schedule), "csrf_token": csrf_of(page)})
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "2027-01-08 → 2027-01-11" in text


@pytest.mark.slow  # 1-2.5 s: fills several pages of inbox
def test_inbox_tabs_show_what_runs_out_first_with_marks_search_and_pages(app, flow, clock):
    from timers import sweep

    late = flow.start(applicant="迟到的申请人")
    clock.set(_at("2026-03-02T10:00"))
    flow.complete("chuangkou", {"acceptance": "accept"}, number=late.number)  # its review is due on 9 March
    clock.set(_at("2026-03-04T09:00"))
    numbers = [flow.start(applicant=f"申请人{i}").number for i in range(22)]
    clock.set(_at("2026-03-12T08:00"))
    sweep(flow.engine)  # the others are deemed accepted; their reviews are due on 19 March
    client = login(app.test_client(), "shencha")
    page = client.get("/").get_data(as_text=True)
    assert "共 23 件" in page and "第 1 / 2 页" in page
    rows = re.findall(r'<a href="/cases/([^"]+)">', page)
    assert rows[0] == late.number  # runs out first
    assert "超期 3 个工作日" in page and 'class="card-yellow"' in page
    assert "2026-03-19" in page and "5 个工作日" in page  # due date and remaining working days
    second = client.get("/?page=2").get_data(as_text=True)
    assert len(re.findall(r'<a href="/cases/[A-Z]', second)) == 3

    found = client.get(f"/?q={numbers[5]}").get_data(as_text=True)
    assert "共 1 件" in found and numbers[5] in found
    assert "共 1 件" in client.get("/?q=迟到").get_data(as_text=True)
    assert "共 1 件" in client.get("/?tab=overdue").get_data(as_text=True)

    clock.set(_at("2026-03-18T08:00"))
    sweep(flow.engine)  # a working day before the promised limit: warnings
    assert "共 22 件" in client.get("/?tab=warning").get_data(as_text=True)
    clock.set(_at("2026-03-20T08:00"))
    sweep(flow.engine)
    assert "共 23 件" in client.get("/?tab=overdue").get_data(as_text=True)

    task = flow.task_of("shencha", late.number)
    flow.engine.execute(CompleteTask(task=task.id, data={"review_result": "pass"}, opinion="同意"),
                        flow.actors["shencha"])
    done = client.get("/?tab=done").get_data(as_text=True)
    assert late.number in done and "同意" in done
    assert client.get("/?tab=nonsense").status_code == 404


def test_transfer_to_a_qualified_colleague_and_not_to_anyone_else(app, flow):
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    task = flow.task_of("shencha", case.number)
    client = login(app.test_client(), "shencha")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'value="shencha_b">卫审查<' in page  # a name to pick, not a login to type
    refused = client.post(f"/tasks/{task.id}/transfer", data={"to": "chuangkou", "csrf_token": csrf_of(page),
                                                              "task_version": version_of(page)})
    assert refused.status_code == 400 and "不能转办" in refused.get_data(as_text=True)
    done = client.post(f"/tasks/{task.id}/transfer", data={"to": "shencha_b", "reason": "休假", "csrf_token": csrf_of(page),
                                                           "task_version": version_of(page)})
    assert done.status_code == 302
    other = login(app.test_client(), "shencha_b")
    assert case.number in other.get("/").get_data(as_text=True)
    assert "【转办】" in other.get("/messages/").get_data(as_text=True)
    inbox = client.get("/").get_data(as_text=True)
    assert f"已转办：审查（{case.number}）。现在：审查（卫审查）" in inbox  # the confirmation names who has it
    assert case.number not in re.sub(r'<p class="flash".*?</p>', "", inbox)  # claimed for the colleague now


def test_urge_by_the_head_reaches_the_handler_and_clerks_cannot_urge(app, flow):
    case = flow.start()
    task = flow.task_of("chuangkou", case.number)
    head = login(app.test_client(), "fuzeren")
    page = head.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "催办" in page
    response = head.post(f"/cases/{case.number}/tasks/{task.id}/urge", data={"note": "请尽快受理", "csrf_token": csrf_of(page)})
    assert response.status_code == 302
    clerk = login(app.test_client(), "chuangkou")
    assert "【催办】" in clerk.get("/messages/").get_data(as_text=True)
    page = clerk.get(f"/cases/{case.number}").get_data(as_text=True)
    assert clerk.post(f"/cases/{case.number}/tasks/{task.id}/urge",
                      data={"csrf_token": csrf_of(page)}).status_code == 403
    assert "催办" in page  # the history shows it


def test_a_draft_is_saved_without_moving_the_case_and_comes_back(app, flow):
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    task = flow.task_of("shencha", case.number)
    client = login(app.test_client(), "shencha")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    response = client.post(f"/tasks/{task.id}/draft", data={"review_result": "pass", "opinion": "初步同意，待核实",
                                                            "csrf_token": csrf_of(page), "task_version": version_of(page)})
    assert response.status_code == 302
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "已载入暂存的内容" in page and "初步同意，待核实" in page and 'value="pass" checked' in page
    assert flow.task_of("shencha", case.number).id == task.id  # still ready
    other = login(app.test_client(), "mz_shencha")  # another department may not draft on it
    page = other.get("/").get_data(as_text=True)
    assert other.post(f"/tasks/{task.id}/draft", data={"csrf_token": csrf_of(page)}).status_code == 403


def test_ab_post_backup_sees_and_handles_the_away_users_tasks_on_their_behalf(app, flow, seeded):
    from sqlalchemy import select

    from engine.store.models import HistoryEntry

    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    task = flow.task_of("shencha", case.number)
    backup = login(app.test_client(), "mz_shencha")  # another department: cannot act without AB岗
    assert case.number not in backup.get("/").get_data(as_text=True)

    owner = login(app.test_client(), "shencha")
    page = owner.get("/me/").get_data(as_text=True)
    refused = owner.post("/me/", data={"backup": "chuangkou", "away": "on", "csrf_token": csrf_of(page)})
    assert refused.status_code == 400 and "B 岗" in refused.get_data(as_text=True)
    assert owner.post("/me/", data={"backup": "shencha_b", "away": "on", "csrf_token": csrf_of(page)}).status_code == 302

    stand_in = login(app.test_client(), "shencha_b")
    inbox_page = stand_in.get("/").get_data(as_text=True)
    assert case.number in inbox_page
    form = stand_in.get(f"/tasks/{task.id}").get_data(as_text=True)
    done = stand_in.post(f"/tasks/{task.id}/complete", data={"review_result": "pass", "csrf_token": csrf_of(form),
                                                             "task_version": version_of(form)})
    assert done.status_code == 302
    with seeded.reader() as session:
        entry = session.scalar(select(HistoryEntry).where(HistoryEntry.command == "complete_task")
                               .order_by(HistoryEntry.id.desc()))
    assert entry.actor == "shencha_b"


def test_a_backup_acts_for_an_away_colleague_only_while_they_are_away(app, flow, seeded):
    from sqlalchemy import select

    from engine.commands import ClaimTask
    from engine.store.models import HistoryEntry
    from engine.people import set_away, set_backup

    with seeded.transaction() as session:
        set_backup(session, "shencha", "shencha_b")
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    task = flow.task_of("shencha", case.number)
    with seeded.transaction() as session:
        set_away(session, "shencha", True)
    # a task the owner had claimed shows in the backup's inbox, marked, and is done on the owner's behalf
    flow.engine.execute(ClaimTask(task=task.id), flow.actors["shencha"])
    stand_in = login(app.test_client(), "shencha_b")
    page = stand_in.get("/").get_data(as_text=True)
    assert "代 李审查" in page
    form = stand_in.get(f"/tasks/{task.id}").get_data(as_text=True)
    stand_in.post(f"/tasks/{task.id}/complete", data={"review_result": "pass", "csrf_token": csrf_of(form),
                                                      "task_version": version_of(form)})
    with seeded.reader() as session:
        entry = session.scalar(select(HistoryEntry).where(HistoryEntry.command == "complete_task")
                               .order_by(HistoryEntry.id.desc()))
    assert entry.actor == "shencha_b" and entry.payload["on_behalf_of"] == "shencha"
    assert "卫审查（代 李审查 办理）" in stand_in.get(f"/cases/{case.number}").get_data(as_text=True)  # in words
    with seeded.transaction() as session:
        set_away(session, "shencha", False)
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    other = flow.task_of("shencha", case.number)
    flow.engine.execute(ClaimTask(task=other.id), flow.actors["shencha"])
    assert stand_in.get(f"/tasks/{other.id}").status_code == 403  # back at work: no more standing in


def _session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    return cookie.value if cookie is not None else ""


def test_sessions_live_on_the_server_and_end_at_logout(app):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    before = _session_cookie(client)
    client.post("/login", data={"username": "chuangkou", "password": DEMO_PASSWORD, "csrf_token": csrf_of(page)})
    after = _session_cookie(client)
    assert after and after != before  # a new id at login: no session fixation
    assert "." not in after and len(after) < 100  # only an id in the browser, no signed data

    thief = app.test_client()
    thief.set_cookie("session", after)
    assert thief.get("/").status_code == 200  # the id is the session …
    page = client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    assert thief.get("/").status_code == 302  # … until logout ends it on the server


@pytest.mark.parametrize("path", ["/static/app.css", "/favicon.ico"])
def test_a_stylesheet_or_icon_request_never_puts_back_an_older_session(app, path):
    """A page's stylesheet or icon may still be loading when its form is posted: saving the
    session those requests opened would put it back without the POST's confirmation."""
    from flask import flash, request, session  # import here: only this test runs requests by hand

    client = login(app.test_client(), "chuangkou")
    cookie = {"Cookie": f"session={_session_cookie(client)}"}
    interface = app.session_interface
    with app.test_request_context(path, headers=cookie):  # opened before the POST …
        assert request.endpoint in ("static", "favicon")
        older = session._get_current_object()
        assert "_flashes" not in older
        with app.test_request_context("/", method="POST", headers=cookie):  # … which flashes
            flash("已办理：受理")
            interface.save_session(app, session._get_current_object(), app.response_class())
        interface.save_session(app, older, app.response_class())  # … ends after it
    assert "已办理：受理" in client.get("/").get_data(as_text=True)


def test_copy_a_case_for_information_opens_it_to_the_reader(app, flow):
    case = flow.start()
    reader = login(app.test_client(), "mz_fuzeren")
    assert reader.get(f"/cases/{case.number}").status_code == 403
    clerk = login(app.test_client(), "chuangkou")
    page = clerk.get(f"/cases/{case.number}").get_data(as_text=True)
    bad = clerk.post(f"/cases/{case.number}/copy", data={"to": "nobody", "csrf_token": csrf_of(page)})
    assert bad.status_code == 400 and "nobody" in bad.get_data(as_text=True)
    assert clerk.post(f"/cases/{case.number}/copy", data={"to": "mz_fuzeren", "note": "涉及民政事项，请知悉",
                                                          "csrf_token": csrf_of(page)}).status_code == 302
    assert "【抄送】" in reader.get("/messages/").get_data(as_text=True)
    page = reader.get(f"/cases/{case.number}").get_data(as_text=True)
    assert case.number in page and "抄送" in page
    outsider = login(app.test_client(), "ws_chuangkou")  # not involved, not copied: cannot copy either
    page = outsider.get("/").get_data(as_text=True)
    assert outsider.post(f"/cases/{case.number}/copy", data={"to": "ws_chuangkou", "csrf_token": csrf_of(page)}).status_code == 403


def test_an_extension_request_goes_to_the_head_who_approves_or_refuses(app, flow, seeded):
    from datetime import date

    from sqlalchemy import select

    from engine.store.models import Case, Deadline

    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    reviewer = login(app.test_client(), "shencha")
    page = reviewer.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "申请延期" in page and "负责人直接决定" not in page
    assert reviewer.post(f"/cases/{case.number}/extension-request",
                         data={"reason": "需组织专家论证", "days": "10", "csrf_token": csrf_of(page)}).status_code == 302
    again = reviewer.post(f"/cases/{case.number}/extension-request",
                          data={"reason": "再申请", "csrf_token": csrf_of(page)})
    assert again.status_code == 409

    head = login(app.test_client(), "fuzeren")
    inbox_page = head.get("/").get_data(as_text=True)
    assert "待审批的延期申请" in inbox_page and "需组织专家论证" in inbox_page
    assert "【延期申请】" in head.get("/messages/").get_data(as_text=True)
    refused = head.post(f"/cases/{case.number}/extension-decision", data={"approve": "0", "csrf_token": csrf_of(inbox_page)})
    assert refused.status_code == 400  # refusing needs a reason
    assert reviewer.post(f"/cases/{case.number}/extension-decision",
                         data={"approve": "1", "csrf_token": csrf_of(page)}).status_code == 403
    head.post(f"/cases/{case.number}/extension-decision", data={"approve": "1", "note": "同意", "csrf_token": csrf_of(inbox_page)})
    with seeded.reader() as session:
        case_id = session.scalar(select(Case.id).where(Case.number == case.number))
        red = session.scalar(select(Deadline).where(Deadline.case_id == case_id, Deadline.key == "decision/red"))
    assert red.due_on == date(2026, 4, 14)  # 30 March + 10 working days (清明 off)
    assert "【延期已批准】" in reviewer.get("/messages/").get_data(as_text=True)
    assert "待审批的延期申请" not in head.get("/").get_data(as_text=True)


def test_the_window_checks_the_materials_with_deferrals_where_the_guide_allows(app, flow):
    case = flow.start(item="SCJG-SPJY", applicant="某餐饮管理有限公司")
    task = flow.task_of("chuangkou", case.number)
    client = login(app.test_client(), "chuangkou")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "材料核对" in page and "食品经营许可申请书" in page
    names = re.findall(r'name="n(\d+)" value="([^"]+)"', page)
    statuses = {f"n{i}": name for i, name in names}
    marks = {f"m{i}": "received" for i, _ in names}
    deferrable = next(i for i, name in names if "规章制度" in name)
    required_only = next(i for i, name in names if "申请书" in name)
    refused = client.post(f"/cases/{case.number}/materials", data={**statuses, **marks, f"m{required_only}": "deferred",
                                                                   "csrf_token": csrf_of(page)})
    assert refused.status_code == 400 and "不允许容缺" in refused.get_data(as_text=True)
    partial = client.post(f"/cases/{case.number}/materials", data={**statuses, "csrf_token": csrf_of(page)})
    assert partial.status_code == 400 and "尚未核对" in partial.get_data(as_text=True)
    done = client.post(f"/cases/{case.number}/materials", data={**statuses, **marks, f"m{deferrable}": "deferred",
                                                                "csrf_token": csrf_of(page)})
    assert done.status_code == 302
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "容缺，2026-03-09 前补齐" in page
    assert "核对材料" in client.get(f"/cases/{case.number}").get_data(as_text=True)


def test_return_to_an_earlier_step_and_take_back_before_the_next_one_acts(app, flow, seeded):
    from sqlalchemy import select

    from engine.commands import ClaimTask
    from engine.store.models import Clock, HistoryEntry, Task

    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    flow.complete("shencha", {"review_result": "pass"}, number=case.number)
    decide = flow.task_of("fuzeren", case.number)
    head = login(app.test_client(), "fuzeren")
    page = head.get(f"/tasks/{decide.id}").get_data(as_text=True)
    assert "退回到" in page and '<option value="review">审查</option>' in page
    no_reason = head.post(f"/tasks/{decide.id}/return", data={"to": "review", "csrf_token": csrf_of(page),
                                                              "task_version": version_of(page)})
    assert no_reason.status_code == 400
    head.post(f"/tasks/{decide.id}/return", data={"to": "review", "reason": "现场核查记录不全",
                                                   "csrf_token": csrf_of(page), "task_version": version_of(page)})
    review = flow.task_of("shencha", case.number)
    assert review.element_id == "review"
    reviewer = login(app.test_client(), "shencha")
    assert "【退回】" in reviewer.get("/messages/").get_data(as_text=True)
    # The earlier round of the step stays on record: in the case's steps and the reviewer's 已办.
    with seeded.reader() as session:
        rounds = sorted(t.state for t in session.scalars(select(Task).where(Task.element_id == "review")))
    assert rounds == ["completed", "ready"]
    assert case.number in reviewer.get("/?tab=done").get_data(as_text=True)
    steps = head.get(f"/cases/{case.number}").get_data(as_text=True)
    assert steps.count("<td>审查</td>") == 2

    # The reviewer finishes again, then takes it back before the 负责人 has touched it.
    flow.complete("shencha", {"review_result": "pass"}, number=case.number)
    done = reviewer.get("/?tab=done").get_data(as_text=True)
    assert "拿回" in done
    assert reviewer.post(f"/tasks/{review.id}/take-back", data={"csrf_token": csrf_of(done)}).status_code == 302
    again = flow.task_of("shencha", case.number)
    assert again.id == review.id and again.assignee is not None
    with seeded.reader() as session:
        commands = [e.command for e in session.scalars(select(HistoryEntry).order_by(HistoryEntry.id))]
        clocks = [c.key for c in session.scalars(select(Clock).where(Clock.task_id == review.id).order_by(Clock.id))]
        states = sorted(t.state for t in session.scalars(select(Task).where(Task.element_id == "decide")))
    assert commands[-3:] == ["return_task", "complete_task", "take_back_task"]
    assert clocks == [f"step.{review.spiff_id}", f"step.{review.spiff_id}#2", f"step.{review.spiff_id}#3"]
    assert states == ["returned", "taken_back"]
    # Once the next handler has claimed it, taking back is refused.
    flow.complete("shencha", {"review_result": "pass"}, number=case.number)
    flow.engine.execute(ClaimTask(task=flow.task_of("fuzeren", case.number).id), flow.actors["fuzeren"])
    done = reviewer.get("/?tab=done").get_data(as_text=True)
    assert reviewer.post(f"/tasks/{review.id}/take-back", data={"csrf_token": csrf_of(done)}).status_code == 409


def test_the_task_page_previews_who_handles_the_next_step(app, flow):
    case = flow.start(item="FGW-TZXM", applicant="某新能源科技有限公司")
    task = flow.task_of("fgw_chuangkou", case.number)
    page = login(app.test_client(), "fgw_chuangkou").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "下一环节：用地预审与选址意见（市自然资源和规划局 审查员：尤审查）" in page
    assert "环境影响评价审查意见（市生态环境局 审查员：许审查）" in page
    assert "。选择“不予受理”则办结" in page  # the preview is of the flow when accepted


def test_a_cosigner_must_sign_before_the_step_can_be_completed(app, flow):
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    review = flow.task_of("shencha", case.number)
    reviewer = login(app.test_client(), "shencha")
    page = reviewer.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert reviewer.post(f"/tasks/{review.id}/cosign", data={"to": "ws_shencha", "note": "涉及卫生条件，请会签",
                                                             "csrf_token": csrf_of(page),
                                                             "task_version": version_of(page)}).status_code == 302
    page = reviewer.get(f"/tasks/{review.id}").get_data(as_text=True)
    blocked = reviewer.post(f"/tasks/{review.id}/complete", data={"review_result": "pass", "csrf_token": csrf_of(page),
                                                                  "task_version": version_of(page)})
    assert blocked.status_code == 409 and "加签人尚未签署意见：冯审查" in blocked.get_data(as_text=True)

    cosigner = login(app.test_client(), "ws_shencha")
    assert "【加签】" in cosigner.get("/messages/").get_data(as_text=True)
    cosign = flow.task_of("ws_shencha", case.number)
    assert cosign.kind == "cosign" and cosign.name == "加签：审查"
    form = cosigner.get(f"/tasks/{cosign.id}").get_data(as_text=True)
    assert cosigner.post(f"/tasks/{cosign.id}/complete", data={"opinion": "卫生条件符合", "csrf_token": csrf_of(form),
                                                               "task_version": version_of(form)}).status_code == 302
    page = reviewer.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert reviewer.post(f"/tasks/{review.id}/complete", data={"review_result": "pass", "csrf_token": csrf_of(page),
                                                               "task_version": version_of(page)}).status_code == 302
    assert flow.task_of("fuzeren", case.number).element_id == "decide"


def test_delegate_and_get_it_back_with_an_opinion(app, flow):
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    review = flow.task_of("shencha", case.number)
    owner = login(app.test_client(), "shencha")
    page = owner.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert owner.post(f"/tasks/{review.id}/delegate", data={"to": "mz_shencha", "note": "请协助核实",
                                                            "csrf_token": csrf_of(page),
                                                            "task_version": version_of(page)}).status_code == 302
    assert "已委派给 周审查" in owner.get(f"/tasks/{review.id}").get_data(as_text=True)  # read only now

    delegate = login(app.test_client(), "mz_shencha")
    assert case.number in delegate.get("/").get_data(as_text=True)
    form = delegate.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert "办完交回" in form
    refused = delegate.post(f"/tasks/{review.id}/complete", data={"review_result": "pass", "csrf_token": csrf_of(form),
                                                                  "task_version": version_of(form)})
    assert refused.status_code == 403  # a delegate hands back; the owner submits
    for action, extra in (("return", {"to": "accept_application", "reason": "退回"}),
                          ("transfer", {"to": "shencha_b"}), ("release", {})):
        response = delegate.post(f"/tasks/{review.id}/{action}", data={"csrf_token": csrf_of(form), **extra})
        assert response.status_code == 403, action
    assert delegate.post(f"/tasks/{review.id}/hand-back", data={"review_result": "pass", "opinion": "经核实符合",
                                                                "csrf_token": csrf_of(form)}).status_code == 302
    page = owner.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert "经核实符合" in page and 'value="pass" checked' in page and "【委派交回】" in owner.get("/messages/").get_data(as_text=True)
    assert owner.post(f"/tasks/{review.id}/complete", data={"review_result": "pass", "opinion": "经核实符合",
                                                            "csrf_token": csrf_of(page),
                                                            "task_version": version_of(page)}).status_code == 302


def test_first_contact_is_forwarded_and_followed_until_taken_up(app, flow):
    clerk = login(app.test_client(), "chuangkou")  # a 市场监管 window asked about something of 民政
    page = clerk.get("/").get_data(as_text=True)
    assert "首问登记转办" in page
    response = clerk.post("/first-contact", data={"applicant": "周大爷", "subject": "咨询高龄津贴申领",
                                                  "department": "mz", "csrf_token": csrf_of(page)})
    assert response.status_code == 302
    page = clerk.get("/").get_data(as_text=True)
    number = re.search(r"(SW-\d{8}-\d{5})", page).group(1)
    assert "咨询高龄津贴申领" in page and "市民政局" in page and "待接办" in page
    assert clerk.get(f"/cases/{number}").status_code == 200  # the first person asked keeps seeing it

    mz = login(app.test_client(), "mz_chuangkou")
    task = flow.task_of("mz_chuangkou", number)
    assert task.element_id == "take_up" and task.department.code == "mz"
    form = mz.get(f"/tasks/{task.id}").get_data(as_text=True)
    mz.post(f"/tasks/{task.id}/complete", data={"taken_up": "answered", "csrf_token": csrf_of(form),
                                                "task_version": version_of(form)})
    assert "已接办" in clerk.get("/").get_data(as_text=True)
    reviewer = login(app.test_client(), "shencha")  # not a window: cannot register
    page = reviewer.get("/").get_data(as_text=True)
    assert "首问登记转办" not in page
    assert reviewer.post("/first-contact", data={"applicant": "x", "subject": "y", "department": "mz",
                                                 "csrf_token": csrf_of(page)}).status_code == 403


def test_a_refusal_without_a_reason_is_refused_on_the_form(app, flow):
    case = flow.start()
    task = flow.task_of("chuangkou", case.number)
    client = login(app.test_client(), "chuangkou")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    response = client.post(f"/tasks/{task.id}/complete", data={"acceptance": "refuse", "csrf_token": csrf_of(page),
                                                               "task_version": version_of(page)})
    assert response.status_code == 400 and "不予受理须在审批意见中写明理由" in response.get_data(as_text=True)
    done = client.post(f"/tasks/{task.id}/complete", data={"acceptance": "refuse", "opinion": "不属于本机关职权范围",
                                                           "csrf_token": csrf_of(page), "task_version": version_of(page)})
    assert done.status_code == 302
    assert "不属于本机关职权范围" in client.get(f"/cases/{case.number}").get_data(as_text=True)


def test_suspend_and_resume_from_the_case_page(app, flow):
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    client = login(app.test_client(), "shencha")
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert client.post(f"/cases/{case.number}/suspend", data={"kind": "expert_review", "days": "5",
                                                              "reason": "组织专家评审", "csrf_token": csrf_of(page)}).status_code == 302
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "特别程序中，暂停计时" in page and "专家评审" in page
    assert client.post(f"/cases/{case.number}/resume", data={"csrf_token": csrf_of(page)}).status_code == 302
    assert "特别程序中" not in client.get(f"/cases/{case.number}").get_data(as_text=True)
    outsider = login(app.test_client(), "mz_chuangkou")
    page = outsider.get("/").get_data(as_text=True)
    assert outsider.post(f"/cases/{case.number}/suspend", data={"kind": "hearing", "days": "3", "reason": "x",
                                                                "csrf_token": csrf_of(page)}).status_code == 403


@pytest.mark.parametrize("path", [
    "/tasks/{task}/complete", "/tasks/{task}/claim", "/tasks/{task}/release", "/tasks/{task}/draft",
    "/tasks/{task}/transfer", "/tasks/{task}/return", "/tasks/{task}/delegate", "/tasks/{task}/cosign",
    "/tasks/{task}/take-back", "/cases/{case}/supplement", "/cases/{case}/suspend", "/cases/{case}/extend",
    "/cases/{case}/extension-request", "/cases/{case}/copy", "/cases/{case}/materials", "/first-contact",
    "/messages/read", "/me/", "/admin/calendar",
])
def test_every_form_refuses_a_forged_csrf_token(app, flow, path):
    case = flow.start()
    task = flow.task_of("chuangkou", case.number)
    client = login(app.test_client(), "admin" if path.startswith("/admin") else "chuangkou")
    response = client.post(path.format(task=task.id, case=case.number), data={"csrf_token": "forged"})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert flow.task_of("chuangkou", case.number).id == task.id  # nothing changed


def test_the_government_head_sees_and_approves_a_joint_cases_extension_request(app, flow, clock, actors):
    from engine.commands import RequestExtension

    clock.set(_at("2026-03-02T09:00"))
    case = flow.start(item="JOINT", applicant="某养老服务有限公司")
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    clock.set(_at("2026-03-20T10:00"))
    flow.engine.execute(RequestExtension(case=case.number, reason="需组织专家论证"), actors["ws_shencha"])
    head = login(app.test_client(), "fushizhang")
    inbox_page = head.get("/").get_data(as_text=True)
    assert "待审批的延期申请" in inbox_page and case.number in inbox_page
    page = head.get(f"/cases/{case.number}").get_data(as_text=True)
    assert head.get(f"/cases/{case.number}").status_code == 200
    done = head.post(f"/cases/{case.number}/extension-decision",
                     data={"approve": "1", "note": "同意", "csrf_token": csrf_of(page)})
    assert done.status_code == 302
    from sqlalchemy import select

    from engine.store.models import Notice

    with flow.db.reader() as session:
        assert "经本级人民政府负责人批准" in session.scalar(select(Notice.body).where(Notice.kind == "extension"))


def test_a_head_sees_the_departments_late_steps_under_overdue(app, flow, clock, engine):
    """预警 and 超期 for a 负责人 cover the department's open steps, not only the head's own."""
    from timers.sweep import sweep

    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    clock.set("2026-03-12T08:00:00+08:00")  # the review's 3 working days are long past
    sweep(engine)
    head = login(app.test_client(), "fuzeren")
    overdue = head.get("/?tab=overdue").get_data(as_text=True)
    assert case.number in overdue and f'<a href="/cases/{case.number}">审查</a>' in overdue  # the case, not a 403
    other = login(app.test_client(), "mz_fuzeren").get("/?tab=overdue").get_data(as_text=True)
    assert case.number not in other


def test_deadlines_a_finished_step_never_reached_are_not_shown_as_cancelled(app, flow):
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    page = login(app.test_client(), "chuangkou").get(f"/cases/{case.number}").get_data(as_text=True)
    assert "已作出受理决定或已告知补正，无需触发" in page and "deadline-unneeded" in page and "已取消" not in page


def test_a_refused_task_operation_shows_the_task_page_again_with_what_was_typed(app, flow):
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    flow.complete("shencha", {"review_result": "pass"}, number=case.number)
    task = flow.task_of("fuzeren", case.number)
    head = login(app.test_client(), "fuzeren")
    page = head.get(f"/tasks/{task.id}").get_data(as_text=True)
    too_long = "意" * 2001
    response = head.post(f"/tasks/{task.id}/draft", data={"csrf_token": csrf_of(page), "opinion": too_long,
                                                          "task_version": version_of(page)})
    again = response.get_data(as_text=True)
    assert response.status_code == 400 and "审批意见过长" in again and too_long in again
    assert "退回到" in again and "下一环节" not in again or "转办" in again  # the whole page, not a dead end
    response = head.post(f"/tasks/{task.id}/return", data={"csrf_token": csrf_of(page), "to": "nowhere",
                                                           "reason": "核查记录不全", "task_version": version_of(page)})
    assert response.status_code == 400 and 'value="核查记录不全"' in response.get_data(as_text=True)
    assert '<details class="more-ops" open>' in response.get_data(as_text=True)  # the refused form is unfolded
    assert '<details class="more-ops" >' in again  # a refused 暂存 leaves the other operations folded


def test_an_open_form_survives_a_server_restart(seeded, engine, flow):
    """The signing secret is made once and kept in the database: a form rendered before a restart
    still submits after it (no APPROVALS_SECRET_KEY needed)."""
    case = flow.start()
    task = flow.task_of("chuangkou", case.number)
    before = create_app({"TESTING": True}, db=seeded, clock=engine.clock)
    client = login(before.test_client(), "chuangkou")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    after = create_app({"TESTING": True}, db=seeded, clock=engine.clock)  # the server restarted
    assert after.config["SECRET_KEY"] == before.config["SECRET_KEY"]
    client.application = after
    response = client.post(f"/tasks/{task.id}/complete", data={"csrf_token": csrf_of(page), "acceptance": "accept",
                                                               "task_version": version_of(page)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def test_the_acceptance_period_after_a_supplement_is_named_as_such(app, flow):
    from engine.commands import ReceiveSupplement, RequestSupplement

    case = flow.start()
    flow.engine.execute(RequestSupplement(case=case.number, materials=("营业执照",)), flow.actors["chuangkou"])
    flow.engine.execute(ReceiveSupplement(case=case.number), flow.actors["chuangkou"])
    page = login(app.test_client(), "chuangkou").get(f"/cases/{case.number}").get_data(as_text=True)
    assert page.count("<td>受理时限</td>") == 1 and "受理时限（补正后重新计算）" in page


def test_a_same_day_item_says_so_on_the_task_and_the_case_and_the_print_agrees(app, flow, clock):
    """结婚登记 is a 即办件: the task page says 当日办结, not "剩余 5 个工作日"; once concluded the case
    page says 已办结于 that day, and the printed sheet shows the same dates as the case page."""
    case = flow.start(item="MZ-JHDJ", applicant="王五、李六")
    clerk = login(app.test_client(), "mz_chuangkou")
    task = flow.task_of("mz_chuangkou", case.number)
    page = clerk.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "当日办结" in page and "剩余" not in page
    flow.complete("mz_chuangkou", {"acceptance": "accept", "identity_checked": "checked"}, number=case.number)
    flow.complete("mz_chuangkou", {"decision": "grant", "certificate_no": "J330100-2026-000123"}, number=case.number)
    shown = clerk.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "即办件，当日办结（2026-03-02）" in shown and "已办结于 2026-03-02" in shown
    assert "去办理" not in shown  # nothing left to do
    receipt = clerk.get(f"/cases/{case.number}/documents/receipt").get_data(as_text=True)
    assert "当场办结" in receipt and "剩余" not in receipt


def test_the_case_end_line_counts_what_remains_and_what_is_late(app, flow, clock):
    """One line: 承诺办结 and 法定期限 from the decision clock, and 剩余 / 已超期 N 个工作日 from today."""
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    with flow.db.reader() as session:
        row = get_case(session, case.number)
        calendar = WorkCalendar.load(session)
        ends = case_end_dates(session, row, today=date(2026, 3, 2), calendar=calendar)
        assert ends["stage"] == "decision" and ends["promised"] and ends["statutory"] > ends["promised"]
        assert ends["remaining"] == calendar.between(date(2026, 3, 2), date.fromisoformat(ends["promised"])).value
        assert f"承诺办结 {ends['promised']}" in ends["text"] and f"剩余 {ends['remaining']} 个工作日" in ends["text"]
        late = case_end_dates(session, row, today=calendar.add(date.fromisoformat(ends["statutory"]), 2).value,
                              calendar=calendar)
        assert late["remaining"] == -2 and "已超期 2 个工作日" in late["text"]
        between = case_end_dates(session, row, today=calendar.add(date.fromisoformat(ends["promised"]), 1).value,
                                 calendar=calendar)
        assert "已超过承诺期限，距法定期限尚余" in between["text"]
    page = login(app.test_client(), "chuangkou").get(f"/cases/{case.number}").get_data(as_text=True)
    assert f"承诺办结 {ends['promised']}" in page and f"法定期限 {ends['statutory']}" in page
    printed = login(app.test_client(), "chuangkou").get(f"/cases/{case.number}/documents/acceptance_notice")
    text = printed.get_data(as_text=True)
    assert printed.status_code == 200
    assert chinese_date(date.fromisoformat(ends["promised"])) in text and chinese_date(date.fromisoformat(ends["statutory"])) in text


def test_a_transferred_step_says_who_transferred_it_and_why_and_earlier_records_use_labels(app, flow):
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, opinion="材料齐全", number=case.number)
    task = flow.task_of("shencha", case.number)
    flow.engine.execute(TransferTask(task=task.id, to="shencha_b", reason="李审查出差，请代为审查"),
                        flow.actors["shencha"])
    page = login(app.test_client(), "shencha_b").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "<strong>转办</strong> 李审查" in page and "李审查出差，请代为审查" in page
    assert "前序环节意见与记录" in page and "受理意见" in page and "予以受理" in page and "王窗口" in page
    assert ">accept<" not in page
    # the case page: 去办理 only for whoever may act on the step now
    assert "去办理：审查" in login(app.test_client(), "shencha_b").get(f"/cases/{case.number}").get_data(as_text=True)
    assert "去办理" not in login(app.test_client(), "chuangkou").get(f"/cases/{case.number}").get_data(as_text=True)


def test_a_late_step_shows_its_card_with_what_it_means_and_how_late_it_is(app, flow, clock, engine):
    from timers.sweep import sweep  # import here: as the other sweep tests in this module

    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    clock.set("2026-04-20T08:00:00+08:00")  # past the promised and the statutory limit
    sweep(engine)
    task = flow.task_of("shencha", case.number)
    page = login(app.test_client(), "shencha").get(f"/tasks/{task.id}").get_data(as_text=True)
    # the card says which limit's end raised it — the statutory end of the 办理时限 — and what it asks
    assert '<span class="card-red">红牌</span>' in page
    assert "办理时限（法定） 2026-03-30 届满，负责人和电子监察已收到通知" in page
    assert re.search(r"已超期 \d+ 个工作日</strong> · 本环节期限 2026-03-0\d", page)
