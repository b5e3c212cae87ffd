"""Official documents (文书): numbered once by the command that issues them, per item and year,
kept by replay; printed from the case as it is now; offered only once they apply."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import select

from engine.catalogue import CatalogueError, load_file, read_entry
from engine.clock import CHINA_TZ
from engine.commands import (CompleteTask, ExtendDeadline, ReceiveSupplement, RecordMaterials, RequestSupplement,
                             ReturnTask)
from engine.documents import rule_problem
from engine.read.documents import authority, chinese_date, document_list, document_view, end_dates
from engine.read.queries import get_case
from engine.replay import Replayer, export_case
from engine.store.models import Case, Document, HistoryEntry
from web import create_app

from .conftest import BPMN, ROOT
from .helpers import login

FOOD = "SCJG-SPJY"
GOOD = (ROOT / "processes" / "food_business_licence.yaml").read_text(encoding="utf-8")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def numbers(db, number: str | None = None) -> list[tuple[str, str]]:
    with db.reader() as session:
        query = select(Document.kind, Document.number).join(Case, Case.id == Document.case_id).order_by(Document.id)
        if number is not None:
            query = query.where(Case.number == number)
        return [tuple(r) for r in session.execute(query)]


def accept(flow, number: str, opinion: str = "材料齐全，予以受理"):
    return flow.complete("chuangkou", {"acceptance": "accept"}, opinion, number=number)


def decide(flow, number: str, decision: str, opinion: str):
    flow.complete("shencha", {"review_result": "pass", "needs_inspection": False}, "同意", number=number)
    flow.complete("fuzeren", {"decision": decision}, opinion, number=number)


# ---------------------------------------------------------------- numbering, in the engine

def test_each_document_is_numbered_by_the_command_that_issues_it(flow, actors):
    case = flow.start(item=FOOD, applicant="某餐饮管理有限公司")
    assert numbers(flow.db) == []  # a receipt is not numbered: the case number is its number
    flow.engine.execute(RequestSupplement(case=case.number, materials=("食品安全管理制度目录",)), actors["chuangkou"])
    flow.engine.execute(ReceiveSupplement(case=case.number), actors["chuangkou"])
    accept(flow, case.number)
    decide(flow, case.number, "grant", "同意")
    assert numbers(flow.db) == [("supplement_notice", "市监食经补〔2026〕1号"),
                                ("acceptance_notice", "市监食经受〔2026〕1号"),
                                ("grant_decision", "市监食经许〔2026〕1号")]
    with flow.db.reader() as session:
        entries = {e.command: e.payload for e in session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id)
                                                               .order_by(HistoryEntry.seq))
                   if "document" in e.payload}  # in order: the later complete_task (the decision) is kept
    # the number is in the issuing command's result (what replay reproduces), not in its inputs
    assert entries["request_supplement"]["document"] == {"kind": "supplement_notice", "number": "市监食经补〔2026〕1号"}
    assert entries["complete_task"]["document"]["kind"] == "grant_decision"


def test_sequences_run_per_item_and_year_and_per_kind_where_the_rule_says(flow, clock):
    clock.set(at("2026-12-30T09:00"))
    first, second = (flow.start(item=FOOD, applicant=f"申请人{n}") for n in (1, 2))
    other = flow.start(item="GENERAL", applicant="另一事项的申请人")
    accept(flow, first.number)
    accept(flow, second.number)
    flow.complete("chuangkou", {"acceptance": "refuse"}, "不属于本机关职权范围", number=other.number)
    clock.set(at("2027-01-04T09:00"))
    next_year = flow.start(item=FOOD, applicant="新年的申请人")
    accept(flow, next_year.number)
    flow.complete("chuangkou", {"acceptance": "refuse"}, "申请事项依法不需要取得行政许可",
                  number=flow.start(item=FOOD, applicant="被拒的申请人").number)
    assert numbers(flow.db) == [
        ("acceptance_notice", "市监食经受〔2026〕1号"), ("acceptance_notice", "市监食经受〔2026〕2号"),
        ("refusal_notice", "通用审批（演示）不受〔2026〕1号"),  # no rule declared: the default, prefixed by the item's name
        ("acceptance_notice", "市监食经受〔2027〕1号"),  # a new year counts from 1
        ("refusal_notice", "市监食经不受〔2027〕1号"),  # its own series: the rule has {word}
    ]


def test_a_step_done_again_after_a_return_issues_no_second_notice(flow, actors):
    case = flow.start(item=FOOD, applicant="某餐饮管理有限公司")
    accept(flow, case.number)
    review = flow.task_of("shencha", case.number)
    flow.engine.execute(ReturnTask(task=review.id, to="accept_application", reason="营业执照复印件不清晰"),
                        actors["shencha"])
    accept(flow, case.number, "已核对原件，予以受理")
    assert numbers(flow.db, case.number) == [("acceptance_notice", "市监食经受〔2026〕1号")]


def test_refusals_keep_the_reason_and_tell_the_remedies(flow):
    refused = flow.start(item=FOOD, applicant="甲公司")
    flow.complete("chuangkou", {"acceptance": "refuse"}, "申请事项不属于本机关职权范围", number=refused.number)
    denied = flow.start(item=FOOD, applicant="乙公司")
    accept(flow, denied.number)
    decide(flow, denied.number, "deny", "经营场所与污染源距离不符合要求")
    with flow.db.reader() as session:
        refusal = document_view(session, get_case(session, refused.number), "refusal_notice")
        denial = document_view(session, get_case(session, denied.number), "denial_decision")
        with pytest.raises(Exception, match="尚未出具准予行政许可决定书"):
            document_view(session, get_case(session, denied.number), "grant_decision")
    assert refusal["reason"] == "申请事项不属于本机关职权范围" and refusal["number"] == "市监食经不受〔2026〕1号"
    assert denial["reason"] == "经营场所与污染源距离不符合要求" and denial["clerk"] == "赵负责"
    for doc in (refusal, denial):
        assert doc["authority"] == "某市市场监督管理局"  # the department's full official name
        # 行政复议 to the people's government the department belongs to, 行政诉讼 within six months
        assert "六十日内" in doc["rights"] and "向某市人民政府申请行政复议" in doc["rights"]
        assert "六个月内" in doc["rights"] and "《中华人民共和国行政诉讼法》第四十六条" in doc["rights"]


def test_replay_takes_the_recorded_numbers_and_an_old_history_issues_none(flow):
    for n in range(3):  # the case replayed holds number 3, which a fresh database would not draw
        case = flow.start(item=FOOD, applicant=f"申请人{n}")
        accept(flow, case.number)
    decide(flow, case.number, "grant", "同意")
    with flow.db.reader() as session:
        history = export_case(session, get_case(session, case.number))
    replayer = Replayer()
    try:
        result = replayer.replay(history, final=lambda db: numbers(db))
        assert result.same, result.summary()
        assert result.final == [("acceptance_notice", "市监食经受〔2026〕3号"), ("grant_decision", "市监食经许〔2026〕1号")]
        # a history written before documents were numbered: its commands issued none, and neither does replay
        for entry in history["commands"]:
            entry["result"].pop("document", None)
        old = replayer.replay(history, final=lambda db: numbers(db))
        assert old.same, old.summary()
        assert old.final == []
    finally:
        replayer.close()


# ---------------------------------------------------------------- the rule in the catalogue

def test_the_authority_is_the_items_declared_name_else_the_departments_full_name_else_its_name(flow):
    case = flow.start(item=FOOD, applicant="某餐饮管理有限公司")
    with flow.db.reader() as session:  # changed in memory only: never committed
        row = get_case(session, case.number)
        assert authority(row) == "某市市场监督管理局" and row.item.department.name == "市市场监督管理局"
        row.item.guide = {**row.item.guide, "documents": {"authority": "某市市场监督管理局（行政审批专用）"}}
        assert authority(row) == "某市市场监督管理局（行政审批专用）"
        row.item.guide = {**row.item.guide, "documents": {}}
        row.item.department.official_name = None
        assert authority(row) == "市市场监督管理局"


@pytest.mark.parametrize("rule, reason", [
    ("{prefix}受〔{year}〕号", "{seq}"),
    ("{prefix}受〔{year}〕{seq}{seq}号", "{seq}"),
    ("{prefix}受〔2026〕{seq}号", "{year}"),
    ("{prefix}{kind}〔{year}〕{seq}号", "未知的占位符 {kind}"),
    ("{prefix受〔{year}〕{seq}号", "花括号不成对"),
])
def test_a_bad_number_rule_is_refused_with_its_line(seeded, tmp_path, rule, reason):
    assert reason in (rule_problem(rule) or "")
    path = tmp_path / "food_business_licence.yaml"
    path.write_text(GOOD.replace('number: "{prefix}{word}〔{year}〕{seq}号"', f'number: "{rule}"'), encoding="utf-8")
    with seeded.transaction() as session, pytest.raises(CatalogueError) as caught:
        load_file(session, path, BPMN, loaded_by="admin", at=at("2026-03-02T09:00"))
    assert caught.value.field == "documents.number" and caught.value.line == GOOD.count("\n")
    assert reason in caught.value.reason


def test_unknown_document_settings_are_refused_by_the_schema():
    with pytest.raises(CatalogueError) as caught:
        read_entry(GOOD.replace("prefix: 市监食经", "seal: 市监食经"), "food.yaml")
    assert caught.value.field == "documents" and "未知字段 seal" in caught.value.reason


# ---------------------------------------------------------------- what a sheet shows: the case as it is now

def test_every_sheet_shows_the_current_end_dates_from_one_place(flow, actors, clock):
    case = flow.start(item=FOOD, applicant="某餐饮管理有限公司")
    statuses = (("食品经营许可申请书", "received"), ("营业执照或者其他主体资格证明文件", "received"),
                ("与食品经营相适应的主要设备设施、经营布局、操作流程等文件", "received"),
                ("食品安全自查、从业人员健康管理、进货查验记录、食品安全事故处置等保证食品安全的规章制度目录", "deferred"),
                ("委托代理人办理的授权委托书及代理人身份证明", "missing"))
    flow.engine.execute(RecordMaterials(case=case.number, statuses=statuses), actors["chuangkou"])
    with flow.db.reader() as session:
        receipt = document_view(session, get_case(session, case.number), "receipt")
    assert receipt["dates"]["promised_on"] is None and receipt["dates"]["promised_days"] == 10  # not accepted yet
    assert receipt["clerk"] == "" and receipt["received_on"] == "2026年3月2日"  # the applicant applied themselves
    accept(flow, case.number)
    with flow.db.reader() as session:
        before = end_dates(session, get_case(session, case.number))
    assert (before["promised_on"].isoformat(), before["statutory_on"].isoformat()) == ("2026-03-16", "2026-03-30")
    clock.set(at("2026-03-10T09:00"))
    flow.engine.execute(ExtendDeadline(case=case.number, reason="需要补充论证", days=10), actors["fuzeren"])
    with flow.db.reader() as session:
        row = get_case(session, case.number)
        sheets = [document_view(session, row, kind) for kind in ("receipt", "acceptance_notice")]
    for sheet in sheets:
        dates = sheet["dates"]
        assert dates["extended_days"] == 10
        assert (dates["promised_on_text"], dates["statutory_on_text"]) == ("2026年3月30日", "2026年4月14日")
    assert sheets[1]["number"] == "市监食经受〔2026〕1号" and sheets[1]["clerk"] == "王窗口"
    assert [m["name"] for m in sheets[0]["application"]["materials"] if m["status"] in ("received", "deferred")] == [
        "食品经营许可申请书", "营业执照或者其他主体资格证明文件", statuses[2][0], statuses[3][0]]


def test_chinese_dates_are_china_time():
    assert chinese_date(at("2026-11-24T00:30")) == "2026年11月24日"
    assert chinese_date(datetime.fromisoformat("2026-11-23T17:00:00+00:00")) == "2026年11月24日"


# ---------------------------------------------------------------- the pages

@pytest.fixture
def app(seeded, engine):
    return create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)


def test_the_case_page_lists_what_applies_and_each_sheet_prints(app, flow, actors):
    case = flow.start(item=FOOD, applicant="某餐饮管理有限公司")
    flow.engine.execute(RequestSupplement(case=case.number, materials=("食品安全管理制度目录", "设备布局图")),
                        actors["chuangkou"])
    client = login(app.test_client(), "chuangkou")
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert 'id="documents"' in page and "收件凭证" in page and "补正材料一次性告知书" in page
    assert "受理通知书" not in page and "决定书" not in page  # not issued: not offered
    notice = client.get(f"/cases/{case.number}/documents/supplement_notice").get_data(as_text=True)
    assert "市监食经补〔2026〕1号" in notice and "<li>食品安全管理制度目录</li>" in notice and "12315" in notice
    assert "某市市场监督管理局" in notice and "印章" in notice and "经办人：王窗口" in notice
    receipt = client.get(f"/cases/{case.number}/documents/receipt").get_data(as_text=True)
    assert "收件凭证" in receipt and case.number in receipt and "自受理之日起 10 个工作日内" in receipt
    # the old single sheet's address leads to the list
    moved = client.get(f"/cases/{case.number}/print")
    assert moved.status_code == 302 and moved.headers["Location"].endswith(f"/cases/{case.number}#documents")
    # the acceptance step's page links the receipt and the notice too
    task = flow.task_of("chuangkou", case.number)
    assert "补正材料一次性告知书" in client.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_a_document_that_does_not_apply_is_a_chinese_404_with_the_way_back(app, flow):
    case = flow.start(item=FOOD, applicant="某餐饮管理有限公司")
    client = login(app.test_client(), "chuangkou")
    for kind in ("grant_decision", "acceptance_notice", "no_such_kind"):
        response = client.get(f"/cases/{case.number}/documents/{kind}")
        text = response.get_data(as_text=True)
        assert response.status_code == 404 and "返回办件" in text and "返回待办" in text, kind
    assert "尚未出具准予行政许可决定书" in client.get(f"/cases/{case.number}/documents/grant_decision").get_data(as_text=True)
    assert client.get(f"/cases/{case.number}/documents/receipt/2").status_code == 404


def test_only_those_who_may_read_the_case_print_its_documents(app, flow):
    case = flow.start(item=FOOD, applicant="某餐饮管理有限公司")
    accept(flow, case.number)
    assert login(app.test_client(), "ws_chuangkou").get(
        f"/cases/{case.number}/documents/acceptance_notice").status_code == 403
    assert login(app.test_client(), "jiancha").get(
        f"/cases/{case.number}/documents/acceptance_notice").status_code == 200
    assert app.test_client().get(f"/cases/{case.number}/documents/receipt").status_code == 302  # to the login


@pytest.mark.slow
@pytest.mark.cli
def test_the_command_line_cannot_choose_or_skip_a_document_number(db):
    from click.testing import CliRunner  # import here: only this test drives the command line

    from cli.main import main  # import here: as above

    def run(*args: str):
        return CliRunner().invoke(main, ["--db", db.url, *args], catch_exceptions=False)

    assert run("init-db", "--simulation").exit_code == 0 and run("demo").exit_code == 0
    number = run("start", FOOD, "--applicant", "张三", "--now", "2026-03-02T09:00").stdout.strip()
    for forged in ("市监食经受〔2026〕99号", ""):
        refused = run("run", "request_supplement", "--user", "chuangkou", "--now", "2026-03-02T09:10", "--input",
                      json.dumps({"case": number, "materials": ["设备布局图"], "document": forged}, ensure_ascii=False))
        assert refused.exit_code != 0 and "document 由系统生成，不能指定" in refused.stderr
    assert numbers(db) == []
