"""Editing an item's guide (办事指南) and limits: the same checks as a catalogue file, every problem
on its field, the YAML export that loads back to the same item, the record of a limit change, and
cases that keep the limits and materials they started with."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from engine.catalogue import item_files, load_catalogue, read_entry
from engine.clock import CHINA_TZ
from engine.commands import EditGuide, RecordMaterials
from engine.errors import BadInput, Conflict, NotAllowed
from engine.guides import GuideProblems, export_yaml, fingerprint, guide_view, item_entry
from engine.store.models import AdministrationAct, Case, Deadline, Item, ProcessVersion
from engine.timelimits.policy import policy_from_json

from .conftest import BPMN, ROOT

CATALOGUE = ROOT / "processes"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def item_state(db, code: str):
    with db.reader() as session:
        item = session.scalar(select(Item).where(Item.code == code))
        versions = session.scalar(select(ProcessVersion.id).where(ProcessVersion.item_id == item.id)
                                  .order_by(ProcessVersion.version.desc()).limit(1))
        return (item.name, item.kind, item.department.code, item.guide, item.time_policy, item.numbering, versions)


def acts(db) -> list[AdministrationAct]:
    with db.reader() as session:
        return list(session.scalars(select(AdministrationAct).order_by(AdministrationAct.id)))


@pytest.mark.slow  # loads the whole catalogue again
def test_every_shipped_item_exports_to_yaml_that_loads_back_to_the_same_item(seeded, tmp_path):
    files = item_files(CATALOGUE)
    assert len(files) >= 10
    exported = tmp_path / "processes"
    exported.mkdir()
    before = {}
    for path in files:
        original = read_entry(path.read_bytes(), path.name)
        code = original.data["code"]
        before[code] = item_state(seeded, code)
        with seeded.reader() as session:
            data = item_entry(session, session.scalar(select(Item).where(Item.code == code)))
        text = export_yaml(data)
        again = read_entry(text, path.name)  # the loader's own checks
        assert {k: v for k, v in again.data.items() if k != "limits"} == \
            {k: v for k, v in original.data.items() if k != "limits"}, code
        (exported / path.name).write_text(text, encoding="utf-8")
    report = load_catalogue(seeded, exported, BPMN, loaded_by="admin", at=at("2026-03-03T09:00"))
    assert report.refused == []
    assert [r["new_version"] for r in report.loaded] == [False] * len(files)
    for code, state in before.items():
        assert item_state(seeded, code) == state, code


def _food(seeded):
    with seeded.reader() as session:
        return guide_view(session, "SCJG-SPJY")


def test_an_edit_of_materials_and_a_limit_is_stored_and_recorded_with_its_reason(flow, seeded, actors, clock):
    view = _food(seeded)
    materials = view["entry"]["materials"] + [{"name": "食品安全管理人员培训证明", "required": False, "copies": 2,
                                               "provided": "复印件", "deficiency_allowed": True}]
    clock.set(at("2026-03-03T10:00"))
    flow.engine.execute(EditGuide(item="SCJG-SPJY", guide={"materials": materials, "limits": {"promised_days": 8}},
                                  reason="落实“一网通办”提速要求", expected=view["fingerprint"]), actors["admin"])
    with seeded.reader() as session:
        item = session.scalar(select(Item).where(Item.code == "SCJG-SPJY"))
        assert item.guide["materials"][-1]["provided"] == "复印件"
        assert item.time_policy["promised_days"] == 8 and item.time_policy["statutory_days"] == 20
        assert item.time_policy["step_days"] == {"review_materials": 3, "site_inspection": 3, "decide": 2}
    [act] = acts(seeded)
    assert (act.command, act.actor, act.at) == ("edit_guide", "admin", at("2026-03-03T10:00"))
    assert act.payload["limits"] == {"promised_days": {"from": 10, "to": 8}}
    assert act.payload["changed"] == ["materials"] and act.payload["reason"] == "落实“一网通办”提速要求"
    assert act.inputs["guide"]["limits"] == {"promised_days": 8}


def test_a_limit_change_without_a_reason_is_refused_on_the_reason_and_changes_nothing(flow, seeded, actors):
    before = item_state(seeded, "SCJG-SPJY")
    with pytest.raises(GuideProblems) as refused:
        flow.engine.execute(EditGuide(item="SCJG-SPJY", guide={"limits": {"statutory_days": 15}}, reason="  "),
                            actors["admin"])
    assert [(p.field, p.reason) for p in refused.value.problems] == [("reason", "修改时限须说明理由")]
    assert item_state(seeded, "SCJG-SPJY") == before and acts(seeded) == []


def test_bad_values_are_all_reported_on_their_fields_as_the_loader_would(flow, seeded, actors):
    before = item_state(seeded, "SCJG-SPJY")
    materials = _food(seeded)["entry"]["materials"]
    materials[1] = {**materials[1], "copies": 0}
    materials[2] = {**materials[2], "provided": "扫描件"}
    guide = {"materials": materials, "fees": {"amount": "免费", "basis": "不收费"},
             "complaint": {"phone": "投诉电话"}, "conditions": []}
    with pytest.raises(GuideProblems) as refused:
        flow.engine.execute(EditGuide(item="SCJG-SPJY", guide=guide), actors["admin"])
    found = {p.field: p.reason for p in refused.value.problems}
    assert set(found) == {"conditions", "materials.1.copies", "materials.2.provided", "fees.amount", "complaint.phone"}
    assert found["materials.1.copies"] == "应不小于 1，收到 0"
    assert "原件、复印件、验原件收复印件" in found["materials.2.provided"]
    assert found["fees.amount"].startswith("应为数字") and found["conditions"] == "不能为空"
    assert item_state(seeded, "SCJG-SPJY") == before and acts(seeded) == []


@pytest.mark.parametrize("limits, field, reason", [
    ({"promised_days": 25}, "limits", "承诺时限（25）不能长于法定时限（20）"),
    ({"statutory_days": 400}, "limits.statutory_days", "应不大于 365"),
    ({"statutory_days": 2, "promised_days": 1}, "limits", "流程图的时限与事项时限矛盾"),
    ({"steps": {"review": 1}}, "limits.steps", "此处不能修改"),
])
def test_limits_are_checked_against_the_law_and_the_diagram(flow, seeded, actors, limits, field, reason):
    before = item_state(seeded, "SCJG-SPJY")
    with pytest.raises(GuideProblems) as refused:
        flow.engine.execute(EditGuide(item="SCJG-SPJY", guide={"limits": limits}, reason="调整"), actors["admin"])
    [problem] = refused.value.problems
    assert problem.field == field and reason in problem.reason
    assert item_state(seeded, "SCJG-SPJY") == before


def test_only_an_administrator_edits_and_a_stale_form_is_refused(flow, seeded, actors):
    with pytest.raises(NotAllowed):
        flow.engine.execute(EditGuide(item="GENERAL", guide={"summary": "改"}), actors["sheji"])
    view = _food(seeded)
    flow.engine.execute(EditGuide(item="SCJG-SPJY", guide={"summary": "第一次修改"}), actors["admin"])
    with pytest.raises(Conflict, match="已被他人修改"):
        flow.engine.execute(EditGuide(item="SCJG-SPJY", guide={"summary": "第二次修改"},
                                      expected=view["fingerprint"]), actors["admin"])
    with pytest.raises(BadInput, match="没有修改任何内容"):
        flow.engine.execute(EditGuide(item="SCJG-SPJY", guide={"summary": "第一次修改"}), actors["admin"])
    assert [a.payload["changed"] for a in acts(seeded)] == [["summary"]]


def deadline(db, number: str, key: str) -> Deadline:
    with db.reader() as session:
        case_id = session.scalar(select(Case.id).where(Case.number == number))
        return session.scalar(select(Deadline).where(Deadline.case_id == case_id, Deadline.key == key))


def test_a_limit_change_never_touches_a_case_already_accepted_only_new_ones(flow, seeded, actors, clock):
    """GENERAL promises 10 working days of a statutory 20. A case accepted before the change keeps
    both; a case registered after it gets the new ones."""
    before = flow.start()  # Monday 2 March 2026
    clock.set(at("2026-03-02T10:00"))
    flow.complete("chuangkou", {"acceptance": "accept"}, number=before.number)
    assert deadline(seeded, before.number, "decision/yellow").due_on == date(2026, 3, 16)

    clock.set(at("2026-03-03T09:00"))
    flow.engine.execute(EditGuide(item="GENERAL", guide={"limits": {"promised_days": 5, "statutory_days": 15}},
                                  reason="市政府提速文件"), actors["admin"])
    clock.set(at("2026-03-03T10:00"))
    after = flow.start()
    clock.set(at("2026-03-03T11:00"))
    flow.complete("chuangkou", {"acceptance": "accept"}, number=after.number)

    assert deadline(seeded, before.number, "decision/yellow").due_on == date(2026, 3, 16)  # 10 days, as promised
    assert deadline(seeded, before.number, "decision/red").due_on == date(2026, 3, 30)  # 20 days
    assert deadline(seeded, after.number, "decision/yellow").due_on == date(2026, 3, 10)  # 5 days
    assert deadline(seeded, after.number, "decision/red").due_on == date(2026, 3, 24)  # 15 days
    with seeded.reader() as session:
        cases = {c.number: c for c in session.scalars(select(Case))}
        policies = {number: policy_from_json(c.started_policy) for number, c in cases.items()}
        # the case started before the edit got its own copy of the old policy; the one after reads the item's
        assert cases[before.number].time_policy["promised_days"] == 10 and cases[after.number].time_policy is None
    assert (policies[before.number].promised_days, policies[before.number].statutory_days) == (10, 20)
    assert (policies[after.number].promised_days, policies[after.number].statutory_days) == (5, 15)


def test_a_case_stores_its_policy_only_once_the_item_s_changes_and_statistics_read_either(flow, seeded, clock):
    """A case reads its item's time policy until that changes (``Case.started_policy``): then the
    cases that read it get a copy of the old one first, whichever way the item's policy changes."""
    from engine.deploy import set_time_policy
    from engine.supervision.statistics import period_facts

    first = flow.start()
    with seeded.reader() as session:
        assert session.scalar(select(Case.time_policy).where(Case.number == first.number)) is None
    with seeded.transaction() as session:
        old = session.scalar(select(Item.time_policy).where(Item.code == "GENERAL"))
        set_time_policy(session, "GENERAL", {"statutory_days": old["statutory_days"], "promised_days": 6})
    clock.set(at("2026-03-02T11:00"))
    second = flow.start()
    with seeded.transaction() as session:  # the same policy again: nothing to keep
        set_time_policy(session, "GENERAL", {"statutory_days": old["statutory_days"], "promised_days": 6})
    with seeded.reader() as session:
        cases = {c.number: c for c in session.scalars(select(Case))}
        assert cases[first.number].time_policy == old and cases[second.number].time_policy is None
        assert policy_from_json(cases[second.number].started_policy).promised_days == 6
        facts = {f.number: f for f, *_ in period_facts(session, flow.engine.calendar(session),
                                                        date(2026, 3, 1), date(2026, 3, 31))}
    assert (facts[first.number].promised_days, facts[second.number].promised_days) == (old["promised_days"], 6)
    assert facts[first.number].statutory_days == facts[second.number].statutory_days == old["statutory_days"]


def test_materials_changed_apply_to_new_applications_only(flow, seeded, actors, clock):
    before = flow.start()
    with seeded.reader() as session:
        materials = guide_view(session, "GENERAL")["entry"]["materials"]
        old_guide = session.scalar(select(Item.guide).where(Item.code == "GENERAL"))
        # a case stores no copy of its item's guide while the guide is unchanged
        assert session.scalar(select(Case.guide).where(Case.number == before.number)) is None
    flow.engine.execute(EditGuide(item="GENERAL", guide={"materials": [
        {"name": "申请书（2026 版）", "required": True}, *materials[1:]]}), actors["admin"])
    after = flow.start()
    # the case registered before is checked against the list it was registered under
    flow.engine.execute(RecordMaterials(case=before.number, statuses=(("申请书", "received"),
                                                                     ("申请人身份证明", "received"))), actors["chuangkou"])
    with pytest.raises(BadInput, match="申请书”不是本事项"):
        flow.engine.execute(RecordMaterials(case=after.number, statuses=(("申请书", "received"),
                                                                        ("申请人身份证明", "received"))),
                            actors["chuangkou"])
    flow.engine.execute(RecordMaterials(case=after.number, statuses=(("申请书（2026 版）", "received"),
                                                                    ("申请人身份证明", "received"))), actors["chuangkou"])
    with seeded.reader() as session:
        cases = {c.number: c for c in session.scalars(select(Case))}
        assert [m["name"] for m in cases[before.number].started_guide["materials"]] == ["申请书", "申请人身份证明"]
        assert set(cases[after.number].materials) == {"申请书（2026 版）", "申请人身份证明"}
        # the edit gave the case started before it the guide it was registered under; the later one reads the item's
        assert cases[before.number].guide == old_guide and cases[after.number].guide is None


def test_an_item_without_a_guide_says_how_to_load_one(seeded):
    with seeded.transaction() as session:
        session.scalar(select(Item).where(Item.code == "GENERAL")).guide = None
    with seeded.reader() as session:
        with pytest.raises(BadInput, match="catalogue load"):
            guide_view(session, "GENERAL")


def test_fingerprint_follows_the_stored_guide(seeded):
    with seeded.reader() as session:
        item = session.scalar(select(Item).where(Item.code == "GENERAL"))
        first = fingerprint(item)
        item.guide = {**item.guide, "summary": "改"}
        assert fingerprint(item) != first


# ---------------------------------------------------------------- the page (Flask test client)

@pytest.fixture
def app(seeded, engine):
    from web import create_app
    return create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)


def _form(page: str) -> dict[str, str]:
    """The fields as the browser would send them (text, selected options, ticked boxes)."""
    import html
    import re
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = (re.search(r'type="([^"]+)"', tag) or [None, "text"])[1]
        if kind == "checkbox" and " checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        fields[name] = html.unescape(body)
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        fields[name] = html.unescape(chosen.group(1)) if chosen else ""
    return fields


def test_the_page_saves_unchanged_fields_as_no_change_and_edits_as_the_command_does(app, seeded):
    from .helpers import login
    client = login(app.test_client(), "admin")
    assert "办事指南" in client.get("/admin/items").get_data(as_text=True)
    page = client.get("/admin/items/SCJG-SPJY/guide").get_data(as_text=True)
    assert "食品经营许可申请书" in page and "时限变更记录" in page
    form = _form(page)
    unchanged = client.post("/admin/items/SCJG-SPJY/guide", data=form)
    assert unchanged.status_code == 400 and "没有修改任何内容" in unchanged.get_data(as_text=True)
    before = item_state(seeded, "SCJG-SPJY")
    bad = client.post("/admin/items/SCJG-SPJY/guide", data={**form, "materials.0.copies": "两份",
                                                               "limits.promised_days": "8"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and item_state(seeded, "SCJG-SPJY") == before
    assert 'id="err-materials-0-copies">应为整数，收到 &#39;两份&#39;' in text
    assert 'id="err-reason">修改时限须说明理由' not in text  # the schema's problems come first, all of them
    good = client.post("/admin/items/SCJG-SPJY/guide", data={**form, "limits.promised_days": "8", "reason": "提速",
                                                                "materials.5.name": "健康证明", "materials.5.copies": "1"})
    assert good.status_code == 302
    with seeded.reader() as session:
        item = session.scalar(select(Item).where(Item.code == "SCJG-SPJY"))
        assert item.time_policy["promised_days"] == 8
        assert item.guide["materials"][-1] == {"name": "健康证明", "required": True, "copies": 1}
        assert item.guide["materials"][:-1] == before[3]["materials"]
    page = client.get("/admin/items/SCJG-SPJY/guide").get_data(as_text=True)
    assert "承诺时限：10 个工作日 → 8 个工作日" in page and "<td>钱管理</td>" in page
    exported = client.get("/admin/items/SCJG-SPJY/guide.yaml")
    assert "attachment" in exported.headers["Content-Disposition"]
    assert read_entry(exported.get_data(), "food_business_licence.yaml").data["limits"]["promised_days"] == 8


def test_only_administrators_open_the_page(app):
    from .helpers import login
    assert login(app.test_client(), "sheji").get("/admin/items/GENERAL/guide").status_code == 403


@pytest.mark.slow
@pytest.mark.cli
def test_the_command_line_edits_with_approvals_run_and_exports(seeded, tmp_path):
    import json

    from click.testing import CliRunner

    from cli.main import main
    runner = CliRunner()
    edited = runner.invoke(main, ["--db", seeded.url, "run", "edit_guide", "--user", "admin", "--input", json.dumps(
        {"item": "GENERAL", "guide": {"limits": {"promised_days": 6}}, "reason": "提速"}, ensure_ascii=False)])
    assert edited.exit_code == 0, edited.output
    assert '"promised_days": {"from": 10, "to": 6}' in edited.output
    out = tmp_path / "general_approval.yaml"
    exported = runner.invoke(main, ["--db", seeded.url, "catalogue", "export", "GENERAL", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert read_entry(out.read_bytes(), out.name).data["limits"] == {"statutory_days": 20, "promised_days": 6}


def test_a_form_cannot_name_a_file_of_the_store_that_it_did_not_upload(app, seeded):
    from .helpers import login
    client = login(app.test_client(), "admin")
    form = _form(client.get("/admin/items/GENERAL/guide").get_data(as_text=True))
    scan = "ab" * 32  # say, a case's scanned material
    forged = client.post("/admin/items/GENERAL/guide", data={**form, "materials.0.sample_file": scan,
                                                             "summary": "演示"})
    assert forged.status_code == 302
    with seeded.reader() as session:
        assert "sample_file" not in session.scalar(select(Item).where(Item.code == "GENERAL")).guide["materials"][0]
    assert client.get(f"/admin/items/GENERAL/samples/{scan}").status_code == 404
