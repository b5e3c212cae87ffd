"""网上办事大厅 (engine/online.py, engine/commands/applicant.py): an applicant's account, applying
online with scans, the one-time notice answered online, tracking, 好差评 and a complaint."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.commands import ReceiveSupplement, RequestSupplement
from engine.errors import BadInput, Conflict, NotAllowed, NotFound
from engine.files import FileStore
from engine.intake import ApplicationInvalid
from engine.online import (OnlineApplication, actor_of, apply, authenticate, case_view, complain, my_cases,
                           open_account, rate, submit_supplement)
from engine.store.models import ApplicantAccount, Attachment, Case, HistoryEntry, Message
from engine.supervision.statistics import statistics
from engine.window import Upload

from .test_window import PDF, id_number

ZHANG = id_number("35010219850505123")
PERSON = {"kind": "natural", "name": "张三", "id_number": ZHANG, "phone": "13800138000"}
PASSWORD = "zhang2026!"
GENERAL = {"subject": "开办小吃店", "description": "鼓楼区五四路"}
SCANS = (Upload("申请书", "申请书.pdf", PDF), Upload("申请人身份证明", "身份证.pdf", PDF))


def account(db, clock, info=None) -> ApplicantAccount:
    with db.transaction() as session:
        made = open_account(session, info or PERSON, PASSWORD, PASSWORD, at=clock.now())
        session.expunge(made)
    return made


def test_an_account_is_opened_with_a_checked_identity_and_logs_in(seeded, clock):
    with pytest.raises(ApplicationInvalid) as bad:
        with seeded.transaction() as session:
            open_account(session, {**PERSON, "id_number": ZHANG[:17] + "0" if ZHANG[17] != "0" else ZHANG[:17] + "1",
                                   "phone": "123"}, "short", "short", at=clock.now())
    assert set(bad.value.problems) == {"applicant.id_number", "applicant.phone", "password"}
    made = account(seeded, clock)
    assert made.login == ZHANG and made.name == "张三"
    with pytest.raises(ApplicationInvalid, match="已注册"):
        account(seeded, clock)
    with seeded.reader() as session:
        assert authenticate(session, ZHANG.lower(), PASSWORD).id == made.id
        assert authenticate(session, ZHANG, "wrong-password1") is None
        assert authenticate(session, "x" * 500, PASSWORD) is None


def test_an_online_application_waits_at_the_window_and_the_supplement_is_handed_in_online(
        engine, seeded, clock, actors, tmp_path):
    files = FileStore(tmp_path)
    zhang = account(seeded, clock)
    with pytest.raises(ApplicationInvalid) as bad:  # checked in full before anything is kept
        apply(engine, zhang, OnlineApplication("GENERAL", {"subject": ""}, SCANS[:1]), files)
    assert set(bad.value.problems) == {"application.subject", "materials"}
    number = apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), files)
    with seeded.reader() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        assert case.account_id == zhang.id and case.applicant_info["id_number"] == ZHANG
        entries = session.execute(select(HistoryEntry.command, HistoryEntry.actor)
                                  .where(HistoryEntry.case_id == case.id).order_by(HistoryEntry.seq)).all()
        assert [tuple(e) for e in entries] == [("start_case", "applicant:张三"), ("attach_material", "applicant:张三"),
                                               ("attach_material", "applicant:张三")]
        assert my_cases(session, zhang)[0]["status"] == "待受理"
    clerk = actors["chuangkou"]
    engine.execute(RequestSupplement(case=number, materials=("申请人身份证明",), note="身份证复印件不清晰"), clerk)
    with seeded.reader() as session:
        view = case_view(session, zhang, number)
    assert view["supplement"]["materials"] == ["申请人身份证明"] and not view["supplement"]["submitted"]
    assert view["tone"] == "action"
    assert waiting_note(seeded, number)["title"] == "等待补正"
    assert "一次性告知补正：申请人身份证明" in waiting_note(seeded, number)["text"]
    with pytest.raises(BadInput, match="扫描件"):
        submit_supplement(engine, zhang, number, [], "", files)
    with pytest.raises(BadInput, match="要求补正的材料：申请人身份证明"):  # not what the notice asked for
        submit_supplement(engine, zhang, number, [Upload("申请书", "又一份.pdf", PDF)], "", files)
    assert submit_supplement(engine, zhang, number, [Upload("申请人身份证明", "清晰件.pdf", PDF)], "已重新扫描", files) == 1
    with seeded.reader() as session:
        told = session.scalars(select(Message.title).where(Message.kind == "supplement")).all()
        assert told and all("申请人已在网上提交" in t for t in told)
        assert case_view(session, zhang, number)["supplement"]["submitted"]
    # the window's step says so, with what was uploaded and the applicant's note
    note = waiting_note(seeded, number)
    assert note["title"] == "补正材料已在网上提交" and note["said"] == "已重新扫描"
    assert "提交了补正材料（申请人身份证明；" in note["text"]
    engine.execute(ReceiveSupplement(case=number), clerk)
    assert waiting_note(seeded, number) is None
    with pytest.raises(Conflict):  # once accepted, materials come through the window
        submit_supplement(engine, zhang, number, [Upload("申请书", "又一份.pdf", PDF)], "", files)


def test_an_online_case_is_accepted_only_once_its_scans_are_checked_and_complete(engine, seeded, clock, flow,
                                                                                   tmp_path):
    from engine.commands import RecordMaterials
    zhang = account(seeded, clock)
    number = apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), FileStore(tmp_path))
    with pytest.raises(Conflict, match="网上申请的材料尚未核对"):
        flow.complete("chuangkou", {"acceptance": "accept"}, "材料齐全", number=number)
    engine.execute(RecordMaterials(case=number, statuses=(("申请书", "received"), ("申请人身份证明", "missing"))),
                   flow.actors["chuangkou"])
    with pytest.raises(Conflict, match="必需材料不齐（申请人身份证明）"):
        flow.complete("chuangkou", {"acceptance": "accept"}, "材料齐全", number=number)
    accept_checked(flow, number)
    with seeded.reader() as session:
        assert session.scalar(select(Case.acceptance).where(Case.number == number)) == "accepted"


def accept_checked(flow, number, opinion="材料齐全"):
    """The window checks an online case's scans (every material received) and accepts it."""
    from engine.commands import RecordMaterials
    with flow.db.reader() as session:
        guide = session.scalar(select(Case).where(Case.number == number)).started_guide
    flow.engine.execute(RecordMaterials(case=number, statuses=tuple((m["name"], "received")
                                                                    for m in guide["materials"])),
                        flow.actors["chuangkou"])
    flow.complete("chuangkou", {"acceptance": "accept"}, opinion, number=number)


def waiting_note(db, number):
    """The window step's note about the supplement (engine.read.views.step_reasons), if any."""
    from engine.read.views import step_reasons
    from engine.store.models import Task
    with db.reader() as session:
        task = session.scalar(select(Task).join(Case).where(Case.number == number, Task.state == "ready"))
        return next((r for r in step_reasons(session, task) if r["kind"] == "supplement"), None)


def test_only_the_applicant_of_an_online_case_acts_on_it(engine, seeded, clock, actors, tmp_path):
    files = FileStore(tmp_path)
    zhang = account(seeded, clock)
    li = account(seeded, clock, {**PERSON, "name": "李四", "id_number": id_number("35010219900303234")})
    number = apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), files)
    with seeded.reader() as session:
        with pytest.raises(NotFound):
            case_view(session, li, number)
    from engine.commands import AttachMaterial, RateService, StartCase
    with pytest.raises(NotAllowed):
        engine.execute(RateService(case=number, score=5), actor_of(li))
    with pytest.raises(NotAllowed):  # another's account named on a start
        engine.execute(StartCase(item="GENERAL", applicant="李四", account=zhang.id), actor_of(li))
    with pytest.raises(BadInput, match="网上办事大厅"):  # a clerk cannot file in someone's account
        engine.execute(StartCase(item="GENERAL", applicant="张三", account=zhang.id), actors["chuangkou"])
    kept = files.put(PDF, "x.pdf")
    with pytest.raises(NotAllowed):
        engine.execute(AttachMaterial(case=number, material="申请书", filename="x.pdf", content_type=kept.content_type,
                                      size=kept.size, sha256=kept.sha256), actor_of(li))


def test_a_concluded_case_is_rated_once_and_a_poor_rating_reaches_the_head_and_supervisors(
        engine, seeded, clock, flow, tmp_path):
    zhang = account(seeded, clock)
    number = apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), FileStore(tmp_path))
    with pytest.raises(Conflict, match="办结后"):
        rate(engine, zhang, number, 5, "")
    clock.advance(hours=1)
    accept_checked(flow, number)
    clock.advance(days=1)
    flow.complete("shencha", {"review_result": "pass"}, "符合条件", number=number)
    clock.advance(days=1)
    flow.complete("fuzeren", {"decision": "grant"}, "同意", number=number)
    concluded_on = clock.now().date()
    clock.advance(days=40)  # rated the month after it concluded: counted in the month it was given
    with pytest.raises(BadInput, match="原因"):
        rate(engine, zhang, number, 1, "")
    with pytest.raises(BadInput, match="请选择评价"):
        rate(engine, zhang, number, "七", "")
    assert rate(engine, zhang, number, 2, "窗口排队太久") == 2
    with pytest.raises(Conflict, match="只能评价一次"):
        rate(engine, zhang, number, 5, "")
    with seeded.reader() as session:
        view = case_view(session, zhang, number)
        told = session.execute(select(Message.title).where(Message.kind == "rating")).scalars().all()
        figures = statistics(session, engine.calendar(session), clock.now().date().replace(day=1), clock.now().date())
        before = statistics(session, engine.calendar(session), concluded_on.replace(day=1), concluded_on)
    texts = [line["text"] for line in view["progress"]]
    assert texts[0] == "提交申请" and "已受理" in texts and "决定：准予许可" in texts and "办结" in texts
    assert texts[-1] == "您的评价：不满意" and view["rating_words"] == "不满意" and not view["may_rate"]
    assert told and all("【差评】" in t for t in told)
    total = figures["total"]["figures"]
    assert total["rated"] == 1 and total["satisfaction_rate"] == 0 and total["concluded"] == 0
    assert before["total"]["figures"]["concluded"] == 1 and before["total"]["figures"]["satisfaction_rate"] is None
    # 差评整改: the next scan makes it a finding, followed up like any other
    from engine.commands import DetectFindings
    from engine.store.models import Finding
    engine.execute(DetectFindings(), flow.actors["jiancha"])
    with seeded.reader() as session:
        found = session.scalars(select(Finding).where(Finding.kind == "poor_rating")).all()
        assert [(f.case.number, f.summary) for f in found] == [(number, "申请人评价“不满意”（好差评），须跟进整改")]


def test_a_complaint_is_a_12345_case_in_the_applicants_name(engine, seeded, clock, tmp_path):
    zhang = account(seeded, clock)
    number = apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), FileStore(tmp_path))
    with pytest.raises(BadInput, match="事由"):
        complain(engine, zhang, number, "  ")
    complaint = complain(engine, zhang, number, "窗口要求提交清单以外的材料")
    with seeded.reader() as session:
        case = session.scalar(select(Case).where(Case.number == complaint))
        assert case.item.code == "ZWFW-12345" and case.account_id == zhang.id
        listed = [c["number"] for c in my_cases(session, zhang)]
    assert set(listed) == {number, complaint}
    with pytest.raises(NotFound):
        complain(engine, zhang, "GENERAL-20990101-00001", "不存在的办件")


@pytest.mark.slow
@pytest.mark.replay
def test_an_online_case_replays(engine, seeded, clock, actors, tmp_path):
    from engine.replay import export_case, replay

    zhang = account(seeded, clock)
    files = FileStore(tmp_path)
    apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), files)  # its scans take the first row ids
    number = apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), files)
    engine.execute(RequestSupplement(case=number, materials=("申请书",)), actors["chuangkou"])
    submit_supplement(engine, zhang, number, [Upload("申请书", "新.pdf", PDF)], "", files)
    with seeded.reader() as session:
        assert session.scalar(select(Attachment.uploaded_by).where(Attachment.filename == "新.pdf")) == "applicant:张三"
        history = export_case(session, session.scalar(select(Case).where(Case.number == number)))
    assert history["commands"][0]["inputs"]["account"] == zhang.id
    result = replay(history)
    assert result.same and result.replayed == len(history["commands"]) == 6, result.to_dict()


def test_the_staff_see_an_online_application_and_its_rating_in_words(engine, seeded, clock, flow, tmp_path):
    from engine.read.application import application_view
    from engine.read.views import history_view

    zhang = account(seeded, clock)
    number = apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), FileStore(tmp_path))
    accept_checked(flow, number)
    flow.complete("shencha", {"review_result": "pass"}, "符合条件", number=number)
    flow.complete("fuzeren", {"decision": "grant"}, "同意", number=number)
    rate(engine, zhang, number, 5, "很快")
    with seeded.reader() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        assert application_view(session, case)["applicant"]["online"]
        words = history_view(session, case)
    assert (words[0]["what"], words[0]["who"]) == ("网上申请", "申请人 张三")
    assert words[1]["details"] == "申请书：申请书.pdf"
    assert (words[-1]["what"], words[-1]["details"], words[-1]["said"]) == ("评价（好差评）", "非常满意", "很快")


@pytest.fixture
def app(seeded, engine, tmp_path):
    from web import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "test", "FILES_DIR": str(tmp_path)}, db=seeded,
                      clock=engine.clock)


def test_the_hall_keeps_applicants_in_the_hall(app, seeded, clock):
    from .helpers import csrf_of

    account(seeded, clock)
    client = app.test_client()
    guide = client.get("/hall/").get_data(as_text=True)
    assert "通用审批（演示）" in guide and "12345 诉求件" not in guide  # complaints have their own page
    missing = client.get("/hall/items/NOPE")
    text = missing.get_data(as_text=True)
    assert missing.status_code == 404 and "返回办事指南" in text and "返回待办" not in text
    page = client.get("/hall/login").get_data(as_text=True)
    assert client.post("/hall/login", data={"login": ZHANG, "password": PASSWORD,
                                            "csrf_token": csrf_of(page)}).status_code == 302
    assert client.get("/hall/apply/ZWFW-12345").headers["Location"].endswith("/hall/complaint")
    other = client.get("/hall/my/GENERAL-20260302-99999")
    assert other.status_code == 404 and "返回我的办件" in other.get_data(as_text=True)
    assert client.get("/").status_code == 302  # the staff's pages want a staff login
    assert client.get("/cases/").headers["Location"].startswith("/login")


def test_an_applicant_withdraws_before_the_decision_and_the_window_is_told(engine, seeded, clock, flow, tmp_path):
    from engine.online import withdraw
    from engine.replay import export_case, replay
    from engine.store.models import Task

    zhang = account(seeded, clock)
    number = apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), FileStore(tmp_path))
    accept_checked(flow, number)
    with pytest.raises(BadInput, match="确认撤回"):
        withdraw(engine, zhang, number, "", False)
    withdraw(engine, zhang, number, "店面转让，不再开办", True)
    with seeded.reader() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        assert case.state == "terminated"
        assert not session.scalars(select(Task).where(Task.case_id == case.id, Task.state == "ready")).all()
        told = session.scalars(select(Message.title).where(Message.kind == "operation")).all()
        view = case_view(session, zhang, number)
        history = export_case(session, case)
    assert told and all("【申请人撤回】" in t for t in told)
    with seeded.reader() as session:
        from engine.read.operations import case_status
        from engine.read.queries import case_end_dates

        case = session.scalar(select(Case).where(Case.number == number))
        assert "申请人 张三" in case_status(session, case)["text"] and "店面转让" in case_status(session, case)["text"]
        assert case_end_dates(session, case)["text"] == "已终止，不再计时"
    assert view["status"] == "已撤回" and not view["may_withdraw"]
    assert view["progress"][-1]["text"] == "您撤回了申请，办件终止（理由：店面转让，不再开办）"
    with pytest.raises(Conflict):
        withdraw(engine, zhang, number, "", True)
    assert replay(history).same
    decided = apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), FileStore(tmp_path))
    accept_checked(flow, decided, "")
    flow.complete("shencha", {"review_result": "pass"}, "", number=decided)
    flow.complete("fuzeren", {"decision": "grant"}, "", number=decided)
    with pytest.raises(Conflict):
        withdraw(engine, zhang, decided, "", True)


def test_the_hotline_clerk_sees_what_an_online_complaint_says(app, engine, seeded, clock, flow, tmp_path):
    from .helpers import login

    zhang = account(seeded, clock)
    about = apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), FileStore(tmp_path))
    number = complain(engine, zhang, about, "窗口要求提交清单以外的材料")
    task = flow.task_of("rexian", number)
    client = login(app.test_client(), "rexian")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    # the form's 诉求内容 is filled with it, and the application shows it by the form's labels
    assert f"关于办件 {about}（通用审批（演示））：窗口要求提交清单以外的材料</textarea>" in page
    case_page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "诉求内容" in case_page and "窗口要求提交清单以外的材料" in case_page
    assert "效能投诉" in case_page  # the category, by its option's label


def test_the_rules_hold_in_the_commands_and_the_limits(engine, seeded, clock, actors, tmp_path, monkeypatch):
    from engine import online
    from engine.commands import SubmitSupplement
    from engine.integrity import check
    from engine.online import account_view
    from engine.read.views import may_read_case

    files = FileStore(tmp_path)
    zhang = account(seeded, clock)
    number = apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), files)
    engine.execute(RequestSupplement(case=number, materials=("申请书", "法定代表人身份证明复印件")), actors["chuangkou"])
    # the command itself: nothing uploaded since the notice, or not what it asked for
    with pytest.raises(BadInput, match="请先上传"):
        engine.execute(SubmitSupplement(case=number), actor_of(zhang))
    with pytest.raises(BadInput, match="要求补正的材料：申请书"):
        submit_supplement(engine, zhang, number, [Upload("申请人身份证明", "x.pdf", PDF)], "", files)
    with pytest.raises(BadInput, match="说明过长"):  # before any file is attached
        submit_supplement(engine, zhang, number, [Upload("申请书", "x.pdf", PDF)], "长" * 501, files)
    with seeded.reader() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        assert session.scalar(select(Attachment.id).where(Attachment.filename == "x.pdf")) is None
        # reading: the account's own cases only, never a namesake's
        assert may_read_case(session, actor_of(zhang), case)
        from engine.actors import Actor
        assert not may_read_case(session, Actor.applicant("张三"), case)
    view = account_view(zhang)
    assert ("身份证号", ZHANG[:6] + "********" + ZHANG[-4:]) in view["fields"]
    # an account has at most MAX_OPEN_ONLINE cases in progress
    monkeypatch.setattr(online, "MAX_OPEN_ONLINE", 1)
    with pytest.raises(Conflict, match="已达上限"):
        apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), files)
    with pytest.raises(Conflict, match="已达上限"):
        complain(engine, zhang, "", "另一件事")
    # approvals check compares the account a case belongs to
    assert check(seeded).ok
    with seeded.transaction() as session:
        session.execute(Case.__table__.update().where(Case.number == number).values(account_id=zhang.id + 1))
    assert not check(seeded).ok


def test_a_password_reset_at_the_window_leads_to_choosing_ones_own(app, engine, seeded, clock):
    from engine.actors import Actor
    from engine.commands import ResetApplicantPassword

    from .helpers import csrf_of

    account(seeded, clock)
    temporary = engine.execute(ResetApplicantPassword(login=ZHANG.lower()), Actor.system("cli"))
    client = app.test_client()
    page = client.get("/hall/login").get_data(as_text=True)
    assert client.post("/hall/login", data={"login": ZHANG, "password": PASSWORD,
                                            "csrf_token": csrf_of(page)}).status_code == 401  # the old one is gone
    client.post("/hall/login", data={"login": ZHANG, "password": temporary, "csrf_token": csrf_of(page)})
    assert client.get("/hall/my/").headers["Location"].endswith("/hall/password")
    form = client.get("/hall/password").get_data(as_text=True)
    assert "临时密码" in form
    refused = client.post("/hall/password", data={"current": temporary, "new": "short", "repeat": "short",
                                                  "csrf_token": csrf_of(form)})
    assert refused.status_code == 400 and "至少" in refused.get_data(as_text=True)
    done = client.post("/hall/password", data={"current": temporary, "new": "zhang-new-2026", "repeat": "zhang-new-2026",
                                               "csrf_token": csrf_of(form)})
    assert done.headers["Location"].endswith("/hall/my/")
    assert client.get("/hall/my/").status_code == 200


def test_a_company_applies_online_for_a_food_licence_with_its_fields(engine, seeded, clock, tmp_path):
    from .test_window import COMPANY, FOOD_FIELDS, FOOD_MATERIALS

    company = account(seeded, clock, COMPANY)
    assert company.login == COMPANY["credit_code"] and company.name == "某餐饮管理有限公司"
    files = FileStore(tmp_path)
    scans = tuple(Upload(m, f"{n}.pdf", PDF) for n, m in enumerate(FOOD_MATERIALS[:4]))
    with pytest.raises(ApplicationInvalid) as bad:
        apply(engine, company, OnlineApplication("SCJG-SPJY", {**FOOD_FIELDS, "area": "很大"}, scans), files)
    assert set(bad.value.problems) == {"application.area"}
    number = apply(engine, company, OnlineApplication("SCJG-SPJY", FOOD_FIELDS, scans), files)
    with seeded.reader() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        assert case.applicant_info["credit_code"] == COMPANY["credit_code"] and case.application["area"] == 120
        view = case_view(session, company, number)
    assert ("经营面积（平方米）", 120) in view["fields"] and len(view["files"]) == 4
    # a natural person's item refuses a company
    with pytest.raises(BadInput, match="申请人只能是"):
        apply(engine, company, OnlineApplication("MZ-JHDJ", {}, ()), files)


def test_an_applicant_downloads_their_own_scans_only(app, engine, seeded, clock, tmp_path):
    from .helpers import csrf_of
    from .test_window import COMPANY, FOOD_FIELDS, FOOD_MATERIALS

    zhang = account(seeded, clock)
    number = apply(engine, zhang, OnlineApplication("GENERAL", GENERAL, SCANS), FileStore(tmp_path))
    company = account(seeded, clock, COMPANY)
    # a material the window may accept as missing (容缺) need not be uploaded
    scans = tuple(Upload(m, f"{n}.pdf", PDF) for n, m in enumerate(FOOD_MATERIALS[:3]))
    other = apply(engine, company, OnlineApplication("SCJG-SPJY", FOOD_FIELDS, scans), FileStore(tmp_path))
    with seeded.reader() as session:
        mine = session.scalar(select(Attachment.id).join(Case).where(Case.number == number))
        theirs = session.scalar(select(Attachment.id).join(Case).where(Case.number == other))
    client = app.test_client()
    page = client.get("/hall/login").get_data(as_text=True)
    client.post("/hall/login", data={"login": ZHANG, "password": PASSWORD, "csrf_token": csrf_of(page)})
    got = client.get(f"/hall/my/{number}/files/{mine}")
    assert got.status_code == 200 and got.data == PDF and got.headers["Content-Security-Policy"] == "sandbox"
    assert client.get(f"/hall/my/{other}/files/{theirs}").status_code == 404
    assert client.get(f"/hall/my/{number}/files/{theirs}").status_code == 404
