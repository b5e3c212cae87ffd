"""The catalogue: every shipped item loads, draws and lints; broken files are refused with
file, line and field, and leave the rest of the catalogue as it was."""
from __future__ import annotations

import json
import shutil
from datetime import datetime

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import select

from cli.main import main
from engine.catalogue import CatalogueError, load_catalogue, read_entry
from engine.clock import CHINA_TZ
from engine.runtime.definitions import parse_definition
from engine.store.models import Item

from .conftest import BPMN, ROOT

CATALOGUE = ROOT / "processes"
GOOD = (CATALOGUE / "food_business_licence.yaml").read_text(encoding="utf-8")
NOW = datetime(2026, 3, 2, 9, tzinfo=CHINA_TZ)


def test_every_shipped_item_is_valid_and_its_diagram_lints_and_draws():
    files = sorted(CATALOGUE.glob("*.yaml"))
    assert len(files) >= 9
    for path in files:
        entry = read_entry(path.read_bytes(), path.name)
        bpmn = BPMN / entry.data["process"]
        definition = parse_definition(bpmn.read_bytes(), bpmn.name)
        assert definition.warnings == [], f"{bpmn.name} cannot be drawn: {definition.warnings}"
        root = etree.parse(str(bpmn)).getroot()
        ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
        assert root.findall(".//bpmn:lane", ns), f"{bpmn.name} has no lanes"
        assert all(t.form for t in definition.user_tasks.values() if t.settings.stage in ("acceptance", "decision"))


def test_the_demo_seed_loads_the_whole_catalogue(seeded):
    with seeded.reader() as session:
        items = {i.code: i for i in session.scalars(select(Item))}
    assert {"MZ-JHDJ", "SCJG-SPJY", "WSJK-GGCS", "NYNC-DWZL", "FGW-TZXM", "ZWFW-12345", "SCJG-SPSC"} <= set(items)
    food = items["SCJG-SPJY"]
    assert food.kind == "承诺件" and food.time_policy["promised_days"] == 10
    assert food.time_policy["step_days"] == {"review_materials": 3, "site_inspection": 3, "decide": 2}
    assert any(m.get("deficiency_allowed") for m in food.guide["materials"])
    assert items["MZ-JHDJ"].time_policy["promised_days"] == 0 and items["MZ-JHDJ"].kind == "即办件"
    assert items["NYNC-DWZL"].time_policy["deemed_approval"] is True


@pytest.mark.parametrize("change, line, field, reason", [
    (("kind: 承诺件", "kind: 快办件"), 4, "kind", "即办件"),
    (("  promised_days: 10\n", "  promised_days: -1\n"), 25, "limits.promised_days", "不小于 0"),
    (("code: SCJG-SPJY\n", ""), 1, "", "缺少必填字段 code"),
    (("fees: {amount: 0, basis: 不收费}", "fees: {amount: 0, basis: 不收费, currency: CNY}"), 22, "fees", "未知字段 currency"),
    (("  - {name: 食品经营许可申请书, required: true", "  - {name: 食品经营许可申请书, required: yes-please"), 17,
     "materials.0.required", "true/false"),
    (("process: food_business_licence.bpmn", "process: food_business_licence.xml"), 5, "process", "格式不对"),
])
def test_schema_errors_name_the_line_and_the_field(change, line, field, reason):
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(CatalogueError) as caught:
        read_entry(text, "food_business_licence.yaml")
    error = caught.value
    assert (error.line, error.field) == (line, field), error.message
    assert reason in error.reason and error.message.startswith(f"food_business_licence.yaml:{line} 字段 {field}")


def test_yaml_syntax_errors_and_aliases_are_refused_with_a_line():
    with pytest.raises(CatalogueError) as caught:
        read_entry(GOOD.replace("kind: 承诺件", "kind: [承诺件"), "x.yaml")
    assert "YAML 格式错误" in caught.value.message and caught.value.line
    with pytest.raises(CatalogueError) as caught:
        read_entry("code: &a SCJG-X\nname: *a\n", "x.yaml")
    assert "别名" in caught.value.message


def _catalogue(tmp_path, files: dict[str, str]):
    folder = tmp_path / "processes"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_broken_file_is_refused_and_the_rest_of_the_catalogue_stays(seeded, tmp_path):
    marriage = (CATALOGUE / "marriage_registration.yaml").read_text(encoding="utf-8")
    folder = _catalogue(tmp_path, {
        "food_business_licence.yaml": GOOD.replace("name: 食品经营许可", "name: 食品经营许可（新名称）")
                                          .replace("department: scjg", "department: nowhere"),
        "marriage_registration.yaml": marriage.replace("promised_days: 0", "promised_days: 0\n  steps: {no_such_step: 1}"),
        "public_place_hygiene.yaml": (CATALOGUE / "public_place_hygiene.yaml").read_text(encoding="utf-8")
                                     .replace("statutory_days: 20", "statutory_days: 5"),
    })
    report = load_catalogue(seeded, folder, BPMN, loaded_by="admin", at=NOW)
    refused = {e.file: e for e in report.refused}
    assert refused["food_business_licence.yaml"].field == "department" and "nowhere" in refused["food_business_licence.yaml"].reason
    assert refused["marriage_registration.yaml"].field == "limits.steps.no_such_step"
    assert "承诺时限" in refused["public_place_hygiene.yaml"].reason
    with seeded.reader() as session:
        food = session.scalar(select(Item).where(Item.code == "SCJG-SPJY"))
        assert food.name == "食品经营许可"  # unchanged


def test_a_changed_diagram_becomes_a_new_version_and_a_renamed_item_updates(seeded, tmp_path):
    bpmn = tmp_path / "bpmn"
    shutil.copytree(BPMN, bpmn)
    path = bpmn / "food_business_licence.bpmn"
    path.write_text(path.read_text(encoding="utf-8").replace('name="现场核查"', 'name="现场核查（双随机）"'),
                    encoding="utf-8")
    folder = _catalogue(tmp_path, {"food_business_licence.yaml": GOOD.replace("summary: ", "summary: 【修订】")})
    report = load_catalogue(seeded, folder, bpmn, loaded_by="admin", at=NOW)
    assert report.refused == [] and report.loaded[0]["version"] == 2 and report.loaded[0]["new_version"]
    with seeded.reader() as session:
        assert session.scalar(select(Item).where(Item.code == "SCJG-SPJY")).guide["summary"].startswith("【修订】")


@pytest.mark.slow
@pytest.mark.cli
def test_catalogue_load_and_list_from_the_command_line(db, tmp_path):
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(main, ["--db", db.url, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output + result.stderr
        return result

    run("init-db")
    run("demo")
    rows = json.loads(run("catalogue", "list", "--json").stdout)
    marriage = next(r for r in rows if r["code"] == "MZ-JHDJ")
    assert marriage["promise"] == "当日办结" and marriage["kind"] == "即办件" and marriage["materials"] == 4
    assert "已加载 SCJG-SPJY" in run("catalogue", "load").stdout
    folder = _catalogue(tmp_path, {"broken.yaml": GOOD.replace("kind: 承诺件", "kind: 快办件")})
    refused = run("catalogue", "load", str(folder), code=1)
    assert "broken.yaml:4 字段 kind" in refused.stderr
