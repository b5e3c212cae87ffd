"""受理登记 at the window: the applicant's identity numbers, the item's application fields, scanned
materials, and accepting, notifying or refusing on the spot (engine/intake.py, engine/files.py,
engine/window.py, web/window.py)."""
from __future__ import annotations

import os
import stat
from datetime import date

import pytest
from sqlalchemy import func, select

from engine.errors import BadInput, NotAllowed
from engine.files import FileStore
from engine.intake import (ApplicationInvalid, check_applicant, check_application, check_credit_code, check_phone,
                           id_check_char, parse_id_number, uscc_check_char)
from engine.read.application import application_view
from engine.store.models import Attachment, Case, HistoryEntry, Task
from engine.window import Registration, Upload, register

from .helpers import csrf_of, login

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def id_number(first17: str) -> str:
    return first17 + id_check_char(first17)


MAN = id_number("11010119900101123")      # born 1990-01-01, 17th digit odd: male
WOMAN = id_number("11010119920202124")    # born 1992-02-02, even: female
CODE = "91350100M000100Y4" + uscc_check_char("91350100M000100Y4")
COMPANY = {"kind": "legal", "name": "某餐饮管理有限公司", "credit_code": CODE, "legal_rep": "李四",
           "contact": "王五", "phone": "13800138000"}
FOOD_FIELDS = {"business_name": "某餐饮管理有限公司", "premises": "鼓楼区五四路 1 号", "main_format": "餐饮服务经营者",
               "area": "120", "safety_manager": "王五"}
FOOD_MATERIALS = ("食品经营许可申请书", "营业执照或者其他主体资格证明文件", "与食品经营相适应的主要设备设施、经营布局、操作流程等文件",
                  "食品安全自查、从业人员健康管理、进货查验记录、食品安全事故处置等保证食品安全的规章制度目录",
                  "委托代理人办理的授权委托书及代理人身份证明")


def food(action: str, statuses=("received", "received", "received", "received", "missing"), **kw) -> Registration:
    return Registration(item="SCJG-SPJY", applicant=COMPANY, application=FOOD_FIELDS,
                        statuses=tuple(zip(FOOD_MATERIALS, statuses)), action=action, **kw)


# ---------------------------------------------------------------- identity numbers

def test_an_identity_number_is_checked_and_read():
    parsed = parse_id_number(MAN.lower() if MAN.endswith("X") else MAN)
    assert parsed.born == date(1990, 1, 1) and parsed.male
    assert parsed.age_on(date(2012, 1, 1)) == 22 and parsed.age_on(date(2011, 12, 31)) == 21
    wrong = MAN[:17] + ("0" if MAN[17] != "0" else "1")
    with pytest.raises(BadInput, match="校验位"):
        parse_id_number(wrong)
    with pytest.raises(BadInput, match="出生日期"):
        parse_id_number(id_number("11010119901301123"))
    with pytest.raises(BadInput, match="18 位"):
        parse_id_number("11010119900101")


def test_a_credit_code_and_a_phone_are_checked():
    assert check_credit_code(CODE.lower()) == CODE
    with pytest.raises(BadInput, match="校验位"):
        check_credit_code(CODE[:17] + ("0" if CODE[17] != "0" else "1"))
    with pytest.raises(BadInput, match="不含 I、O、S、V、Z"):
        check_credit_code("91350100M000100YO1")
    assert check_phone("138 0013 8000") == "13800138000" and check_phone("0591-87654321") == "0591-87654321"
    with pytest.raises(BadInput, match="手机号码"):
        check_phone("12345")


def test_every_problem_of_an_application_is_reported_at_once():
    fields = [{"name": "area", "label": "经营面积", "type": "integer", "required": True, "min": 1, "max": 100},
              {"name": "format", "label": "主体业态", "type": "enum", "required": True, "options": ["甲", "乙"]},
              {"name": "wife", "label": "女方身份证号", "type": "id_number", "required": True, "sex": "女", "min_age": 20}]
    with pytest.raises(ApplicationInvalid) as refused:
        problems = {}
        check_applicant({"kind": "natural", "name": " ", "id_number": "1", "phone": "2"}, problems)
        check_application(fields, {"area": "1000", "format": "丙", "wife": MAN}, date(2026, 11, 24), problems)
        raise ApplicationInvalid(problems)
    assert set(refused.value.problems) == {"applicant.name", "applicant.id_number", "applicant.phone",
                                           "application.area", "application.format", "application.wife"}
    assert "性别不是女" in refused.value.problems["application.wife"]
    with pytest.raises(BadInput, match="没有的字段"):
        check_application(fields, {"price": 1}, date(2026, 11, 24))


# ---------------------------------------------------------------- the file store

def test_a_scan_is_kept_once_outside_the_web_root_and_only_known_types(tmp_path):
    store = FileStore(tmp_path)
    kept = store.put(PDF, "../../etc/申请书.pdf")
    assert kept.filename == "申请书.pdf" and kept.content_type == "application/pdf"
    path = store.path_of(kept.sha256)
    assert path.read_bytes() == PDF and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert store.put(PDF, "again.pdf").sha256 == kept.sha256
    with pytest.raises(BadInput, match="PDF、JPEG、PNG"):
        store.put(b"<html><script>alert(1)</script>", "scan.pdf")
    with pytest.raises(BadInput, match="空的"):
        store.put(b"", "scan.pdf")


# ---------------------------------------------------------------- registering at the window

def test_a_walk_in_application_is_registered_with_scans_and_a_one_time_notice(engine, seeded, actors, tmp_path):
    clerk = actors["chuangkou"]
    result = register(engine, clerk, food("notice", uploads=(Upload(FOOD_MATERIALS[0], "申请书.pdf", PDF),
                                                              Upload(FOOD_MATERIALS[1], "执照.png", PNG)),
                                          extra_missing=("法定代表人身份证复印件",), note="请于十日内补齐",
                                          opinion="营业执照复印件缺公章"),
                      FileStore(tmp_path))
    assert result.refused is None and "已发出一次性告知" in result.message
    with seeded.reader() as session:
        case = session.scalar(select(Case).where(Case.number == result.case))
        assert case.applicant == "某餐饮管理有限公司" and case.applicant_info["credit_code"] == CODE
        assert case.application["area"] == 120 and case.acceptance == "supplement"
        view = application_view(session, case)
        assert ("统一社会信用代码", CODE) in view["applicant"]["details"]
        assert {"name": "area", "label": "经营面积（平方米）", "value": "120"} in view["fields"]
        assert [f["filename"] for f in view["materials"][0]["files"]] == ["申请书.pdf"]
        commands = session.scalars(select(HistoryEntry.command).where(HistoryEntry.case_id == case.id)
                                   .order_by(HistoryEntry.seq)).all()
    # in the order the law sees them: received, checked, scans attached, notice
    assert commands == ["start_case", "record_materials", "attach_material", "attach_material", "request_supplement"]
    with seeded.reader() as session:  # the opinion typed with the notice is kept with it
        notice = session.scalar(select(HistoryEntry).where(HistoryEntry.command == "request_supplement"))
        assert notice.inputs["note"] == "请于十日内补齐\n营业执照复印件缺公章"


@pytest.mark.slow
@pytest.mark.replay
def test_a_case_registered_at_the_window_replays(engine, seeded, actors, tmp_path):
    """The export carries what the registration and the checklist were checked against (the
    guide's application fields and materials), so the replay accepts them as the window did;
    a case not registered at the window exports as before."""
    from engine.commands import StartCase
    from engine.replay import export_case, replay

    notice = food("notice", ("received", "received", "missing", "received", "na"),
                  uploads=(Upload(FOOD_MATERIALS[0], "申请书.pdf", PDF),))
    registered = register(engine, actors["chuangkou"], notice, FileStore(tmp_path))
    by_name = engine.execute(StartCase(item="SCJG-SPJY", applicant="张三"), actors["chuangkou"])
    with seeded.reader() as session:
        history = export_case(session, session.scalar(select(Case).where(Case.number == registered.case)))
        plain = export_case(session, session.scalar(select(Case).where(Case.number == by_name.number)))
    assert [f["name"] for f in history["item"]["guide"]["application"]] == list(FOOD_FIELDS) + ["manager_phone"]
    assert set(history["item"]["guide"]) == {"application", "materials"} and "guide" not in plain["item"]
    result = replay(history)
    assert result.same and result.replayed == 4, result.to_dict()


def test_bad_input_at_the_window_leaves_nothing_behind(engine, seeded, actors, tmp_path):
    with seeded.reader() as session:
        before = session.scalar(select(func.count(Case.id)))
    bad_company = {**COMPANY, "credit_code": CODE[:17] + ("0" if CODE[17] != "0" else "1")}
    cases = [
        Registration(item="SCJG-SPJY", applicant=bad_company, application=FOOD_FIELDS,
                     statuses=tuple((m, "received") for m in FOOD_MATERIALS), action="accept"),
        food("accept", statuses=("received", "missing", "received", "received", "received")),  # a required one missing
        food("refuse"),  # no reason
        food("notice", statuses=("received",) * 5),  # nothing missing to notify
        food("accept", statuses=("received",) * 4),  # one material not checked
    ]
    for registration in cases:
        with pytest.raises(ApplicationInvalid):
            register(engine, actors["chuangkou"], registration, FileStore(tmp_path))
    with pytest.raises(BadInput, match="PDF、JPEG、PNG"):
        register(engine, actors["chuangkou"], food("accept", uploads=(Upload(FOOD_MATERIALS[0], "a.pdf", b"MZ\x90"),)),
                 FileStore(tmp_path))
    with seeded.reader() as session:
        assert session.scalar(select(func.count(Case.id))) == before


def test_accepted_on_the_spot_and_refused_with_a_reason(engine, seeded, actors, tmp_path):
    accepted = register(engine, actors["chuangkou"], food("accept", opinion="材料齐全，予以受理"), FileStore(tmp_path))
    refused = register(engine, actors["chuangkou"], food("refuse", opinion="经营场所位于住宅内，不符合条件"),
                       FileStore(tmp_path))
    with seeded.reader() as session:
        a = session.scalar(select(Case).where(Case.number == accepted.case))
        r = session.scalar(select(Case).where(Case.number == refused.case))
        assert a.acceptance == "accepted" and r.acceptance == "refused" and r.state != "running"
    assert accepted.next_task is None  # the review is the reviewer's, not the window's


def test_a_marriage_is_concluded_at_the_window_the_same_day(engine, seeded, actors, tmp_path):
    clerk = actors["mz_chuangkou"]
    result = register(engine, clerk, Registration(
        item="MZ-JHDJ", applicant={"kind": "natural", "name": "张三", "id_number": MAN, "phone": "13800138000"},
        application={"man_name": "张三", "man_id": MAN, "woman_name": "李梅", "woman_id": WOMAN},
        statuses=tuple((m, "received") for m in ("本人的居民身份证", "本人的户口簿",
                                                  "本人无配偶以及与对方当事人没有直系血亲和三代以内旁系血亲关系的签字声明",
                                                  "2 张 2 寸近期半身免冠合影照片")),
        action="accept", acceptance_values={"identity_checked": "checked"}), FileStore(tmp_path))
    assert result.refused is None, result.refused
    assert result.next_task is not None  # 登记发证, by the same window
    with seeded.reader() as session:
        assert session.get(Task, result.next_task).name == "登记发证"


def test_a_marriage_under_age_is_refused_before_anything_is_written(engine, seeded, actors, tmp_path):
    young = id_number("11010120100101124")  # a girl born 2010
    with pytest.raises(ApplicationInvalid, match="未满 20 周岁"):
        register(engine, actors["mz_chuangkou"], Registration(
            item="MZ-JHDJ", applicant={"kind": "natural", "name": "张三", "id_number": MAN, "phone": "13800138000"},
            application={"man_name": "张三", "man_id": MAN, "woman_name": "李梅", "woman_id": young},
            statuses=(), action="register"), FileStore(tmp_path))


def test_a_clerk_registers_only_items_of_their_own_window(engine, seeded, actors, tmp_path):
    with seeded.reader() as session:
        before = session.scalar(select(func.count(Case.id)))
    with pytest.raises(NotAllowed, match="首问登记"):
        register(engine, actors["mz_chuangkou"], food("register"), FileStore(tmp_path))
    with seeded.reader() as session:
        assert session.scalar(select(func.count(Case.id))) == before


# ---------------------------------------------------------------- the web: scans only as downloads, only to readers

@pytest.fixture
def app(seeded, engine, tmp_path):
    from web import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "test", "FILES_DIR": str(tmp_path)}, db=seeded,
                      clock=engine.clock)


def test_a_scan_is_served_as_a_download_to_readers_only(app, engine, actors, tmp_path):
    result = register(engine, actors["chuangkou"], food("register", uploads=(Upload(FOOD_MATERIALS[0], "申请书.pdf", PDF),)),
                      FileStore(tmp_path))
    with app.app_context():
        with engine.db.reader() as session:
            file_id = session.scalar(select(Attachment.id).where(Attachment.filename == "申请书.pdf"))
    clerk = login(app.test_client(), "chuangkou")
    response = clerk.get(f"/cases/{result.case}/files/{file_id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["Content-Security-Policy"] == "sandbox"
    outsider = login(app.test_client(), "mz_shencha")
    assert outsider.get(f"/cases/{result.case}/files/{file_id}").status_code in (403, 404)
    assert clerk.get(f"/cases/{result.case}/files/99999").status_code == 404


def test_the_registration_form_keeps_what_was_typed_and_marks_the_wrong_field(app):
    client = login(app.test_client(), "chuangkou")
    page = client.get("/register/SCJG-SPJY").get_data(as_text=True)
    assert "统一社会信用代码" in page and "经营面积（平方米）" in page
    response = client.post("/register/SCJG-SPJY", data={
        "csrf_token": csrf_of(page), "applicant_kind": "legal", "applicant_name_legal": "某公司",
        "applicant_credit_code": "123", "app_business_name": "某公司", "action": "accept"})
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and 'aria-invalid="true"' in text and "某公司" in text
    assert "统一社会信用代码应为 18 位" in text


def test_only_window_clerks_register(app):
    assert login(app.test_client(), "shencha").get("/register").status_code == 403


def test_the_supplement_received_ticks_the_materials_the_notice_asked_for(engine, seeded, actors, tmp_path):
    from engine.commands import ReceiveSupplement

    result = register(engine, actors["chuangkou"], food("notice", statuses=("received", "missing", "received",
                                                                             "received", "missing")),
                      FileStore(tmp_path))
    engine.execute(ReceiveSupplement(case=result.case), actors["chuangkou"])
    with seeded.reader() as session:
        checklist = session.scalar(select(Case).where(Case.number == result.case)).materials
    assert checklist[FOOD_MATERIALS[1]] == {"status": "received"}  # asked for, now received
    assert checklist[FOOD_MATERIALS[4]] == {"status": "missing"}  # optional, never asked for


def test_a_marriage_registered_issues_no_licence_decision(engine, seeded, actors, tmp_path):
    from engine.commands import CompleteTask
    from engine.store.models import Document

    result = register(engine, actors["mz_chuangkou"], Registration(
        item="MZ-JHDJ", applicant={"kind": "natural", "name": "张三", "id_number": MAN, "phone": "13800138000"},
        application={"man_name": "张三", "man_id": MAN, "woman_name": "李梅", "woman_id": WOMAN},
        statuses=tuple((m, "received") for m in ("本人的居民身份证", "本人的户口簿",
                                                  "本人无配偶以及与对方当事人没有直系血亲和三代以内旁系血亲关系的签字声明",
                                                  "2 张 2 寸近期半身免冠合影照片")),
        action="accept", acceptance_values={"identity_checked": "checked"}), FileStore(tmp_path))
    engine.execute(CompleteTask(task=result.next_task, data={"decision": "grant", "certificate_no": "J350102-1"}),
                   actors["mz_chuangkou"])
    with seeded.reader() as session:
        kinds = set(session.scalars(select(Document.kind).join(Case).where(Case.number == result.case)))
    assert kinds == {"acceptance_notice"}  # the 结婚证 is the decision: no 准予行政许可决定书


def test_a_relative_file_store_serves_what_it_kept(seeded, engine, actors, tmp_path, monkeypatch):
    """``approvals serve`` in a folder: the default store is relative (instance/files); a scan
    kept there must be served from there, not from the web package's folder."""
    from web import create_app

    from .helpers import login

    monkeypatch.chdir(tmp_path)
    store = FileStore("instance/files")
    assert store.root.is_absolute() and store.root == tmp_path / "instance" / "files"
    result = register(engine, actors["chuangkou"], food("register", uploads=(Upload(FOOD_MATERIALS[0], "申请书.pdf", PDF),)),
                      store)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "FILES_DIR": "instance/files"}, db=seeded,
                     clock=engine.clock)
    with seeded.reader() as session:
        file_id = session.scalar(select(Attachment.id).where(Attachment.filename == "申请书.pdf"))
    response = login(app.test_client(), "chuangkou").get(f"/cases/{result.case}/files/{file_id}")
    assert response.status_code == 200 and response.data == PDF


def test_a_material_accepted_for_later_is_owed_until_the_licence_is_issued(engine, seeded, actors, flow, tmp_path):
    """容缺受理，领证前补齐: the licence waits for the material; the window registers it when it comes."""
    from engine.commands import ReceiveDeferredMaterial
    from engine.errors import Conflict, NotAllowed
    owed = FOOD_MATERIALS[3]
    number = register(engine, actors["chuangkou"], food("accept", ("received", "received", "received", "deferred",
                                                                   "received"), opinion="容缺受理"),
                      FileStore(tmp_path)).case
    flow.complete("shencha", {"review_result": "pass"}, "符合要求", number=number)
    flow.complete("fuzeren", {"decision": "grant"}, "同意", number=number)
    with pytest.raises(Conflict, match="容缺受理的材料尚未补齐：食品安全自查"):
        flow.complete("chuangkou", {"certificate_no": "JY13501000000001"}, number=number)
    with pytest.raises(NotAllowed):  # neither the window of the item nor holding the case now
        engine.execute(ReceiveDeferredMaterial(case=number, material=owed), actors["shencha"])
    engine.execute(ReceiveDeferredMaterial(case=number, material=owed, note="申请人送来"), actors["chuangkou"])
    with pytest.raises(Conflict, match="不是待补齐的容缺材料"):
        engine.execute(ReceiveDeferredMaterial(case=number, material=owed), actors["chuangkou"])
    with seeded.reader() as session:
        entry = session.scalar(select(Case).where(Case.number == number)).materials[owed]
    assert entry["status"] == "received" and entry["deferred_until"] and entry["received_on"]
    flow.complete("chuangkou", {"certificate_no": "JY13501000000001"}, number=number)
    with seeded.reader() as session:
        assert session.scalar(select(Case.state).where(Case.number == number)) == "concluded"


def test_no_one_time_notice_once_the_case_is_accepted(engine, seeded, actors, flow, tmp_path):
    """A step returned to the window after acceptance: the 受理通知书 is out, 一次性告知 is too late."""
    from engine.commands import RequestSupplement, ReturnTask
    from engine.errors import Conflict
    number = register(engine, actors["chuangkou"], food("accept", opinion="材料齐全"), FileStore(tmp_path)).case
    review = flow.task_of("shencha", number)
    engine.execute(ReturnTask(task=review.id, to="accept_application", reason="材料需核实"), actors["shencha"])
    with pytest.raises(Conflict, match="办件已受理"):
        engine.execute(RequestSupplement(case=number, materials=("设备布局图",)), actors["chuangkou"])
    from engine.read.views import task_view
    step = flow.task_of("chuangkou", number)
    with seeded.reader() as session:
        view = task_view(session, actors["chuangkou"], step.id, engine.definition)
    assert "request_supplement" not in view.operations and "complete_task" in view.operations
