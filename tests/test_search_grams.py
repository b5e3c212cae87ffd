"""The search index of part of a case number or applicant (engine/store/grams.py, migration 0020):
it must find every case a scan of ``LIKE '%…%'`` finds, on SQLite and on PostgreSQL, follow a
changed or deleted case, be rebuilt by the migration, and be what the planner reads."""
from __future__ import annotations

import random

import pytest
from sqlalchemy import func, insert, select, text

from engine.actors import Actor
from engine.commands import StartCase
from engine.read import queries
from engine.read.search import CaseSearch, search_cases
from engine.store import grams, migrate
from engine.store.models import Case

from .conftest import ON_POSTGRES
from .test_migrations import upgrade_for_real

#: characters names and terms are drawn from: a few Chinese ones (so that terms repeat), ASCII
#: letters of both cases, digits and the punctuation of company names and case numbers
ALPHABET = "王李张明小华科技有限公司人一二" + "abcXYZ" + "0123456789" + "-（）· "


def _random_text(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(low, high)))


def test_a_term_s_grams_are_among_those_of_every_text_containing_it():
    rng = random.Random(13)
    for _ in range(3000):
        applicant, number = _random_text(rng, 1, 14), _random_text(rng, 0, 16)
        whole = f"{applicant} {number}"
        start = rng.randrange(len(whole))
        term = whole[start:start + rng.randint(1, 6)]
        for variant in (term, term.upper(), term.lower()):  # SQLite's LIKE ignores ASCII case
            assert set(grams.required(variant)) <= set(grams.grams_of(applicant, number)), (variant, whole)


def test_the_grams_of_a_name_and_of_what_a_clerk_types():
    assert grams.grams_of("张三丰", "GEN-01") == ["张", "三", "丰", "张三", "三丰", "张三丰", "g", "e", "n", "ge",
                                                  "en", "gen", "0", "1", "01"]
    assert grams.required("张三") == ["张三"]
    assert grams.required("科技有限") == ["科技有", "技有限"]
    assert grams.required("Bench-00077") == ["ben", "enc", "nch", "000", "007", "077"]
    assert grams.required("（）- ") == []  # nothing to look up: the search scans


@pytest.fixture
def many(engine, seeded):
    """120 cases with random applicants, and the ids and numbers of them all."""
    rng = random.Random(7)
    names = [_random_text(rng, 2, 9).strip() or "王" for _ in range(120)]
    for name in names:
        engine.execute(StartCase(item="GENERAL", applicant=name), Actor.applicant(name))
    return names


def _scan(session, term: str) -> set[int]:
    pattern = "%" + term.replace("\\", "").replace("%", "").replace("_", "") + "%"
    return set(session.scalars(queries._CASES_LIKE, {"number": pattern.upper(), "name": pattern}))


def test_the_index_finds_exactly_what_a_scan_finds(seeded, many):
    rng = random.Random(11)
    with seeded.reader() as session:
        numbers = list(session.scalars(select(Case.number)))
        terms = ["王", "科技", "有限公司", "ZZZZ", "（", numbers[5], numbers[7][-5:], numbers[9][3:8].lower()]
        for name in rng.sample(many, 40):
            start = rng.randrange(len(name))
            terms.append(name[start:start + rng.randint(1, 4)])
        found_any = 0
        for term in terms:
            expected = _scan(session, term)
            assert set(queries._found_cases(session, term)) == expected, term
            found_any += bool(expected)
        assert found_any > 30


def test_case_search_by_part_of_the_name_or_number_agrees_with_a_scan(seeded, many, actors):
    supervisor = actors["jiancha"]  # reads every case
    with seeded.reader() as session:
        number = session.scalar(select(Case.number).order_by(Case.id.desc()))
        for applicant, part in (("科技", ""), ("王", ""), ("", number[-4:]), ("明", number[:5]), ("无此人", "")):
            page = search_cases(session, supervisor, CaseSearch(number=part.upper(), applicant=applicant))
            query = select(func.count()).select_from(Case).where(
                Case.applicant.like(f"%{applicant}%"), Case.number.like(f"%{part.upper()}%"))
            assert page.total == session.scalar(query), (applicant, part)


def _copy_case(session, applicant: str) -> int:
    """A row of ``cases`` copied from the first, with its own number and key (no steps: it can be
    deleted)."""
    columns = [c for c in Case.__table__.columns if c.name not in ("id", "number", "key", "applicant")]
    row = session.execute(select(*columns).order_by(Case.id).limit(1)).mappings().one()
    return session.execute(insert(Case.__table__).values(
        **row, number="COPY-0000001", key="copy-key", applicant=applicant).returning(Case.__table__.c.id)).scalar_one()


def test_the_index_follows_a_changed_applicant_and_a_deleted_case(seeded, many):
    with seeded.transaction() as session:
        case_id = _copy_case(session, "欧阳娜娜")
    with seeded.reader() as session:
        assert queries._found_cases(session, "欧阳") == [case_id]
    with seeded.transaction() as session:
        session.execute(Case.__table__.update().where(Case.id == case_id).values(applicant="司马相如"))
    with seeded.reader() as session:
        assert queries._found_cases(session, "欧阳") == []
        assert queries._found_cases(session, "司马相") == [case_id]
    with seeded.transaction() as session:
        session.execute(Case.__table__.delete().where(Case.id == case_id))
    with seeded.reader() as session:
        assert queries._found_cases(session, "司马") == []
        assert queries._found_cases(session, "COPY-0000001") == []
    if seeded.is_sqlite:  # FTS5's own check of a contentless table's index against itself
        with seeded.engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO {grams.TABLE}({grams.TABLE}) VALUES ('integrity-check')")


def test_the_planner_reads_the_index(seeded, many):
    with seeded.reader() as session:
        conn = session.connection()
        dialect = conn.dialect.name
        statement = queries._cases_like_indexed(dialect)
        values = {"number": "%科技%", "name": "%科技%", "grams": grams.bind_value(dialect, "科技")}
        if dialect == "postgresql":
            conn.execute(text("SET LOCAL enable_seqscan = off"))  # a test table is small enough to scan
        compiled = statement.compile(dialect=conn.dialect)
        plan = "\n".join(str(row[0] if dialect == "postgresql" else row[3]) for row in conn.exec_driver_sql(
            "EXPLAIN " + ("" if dialect == "postgresql" else "QUERY PLAN ") + str(compiled),
            compiled.construct_params(values) if dialect == "postgresql" else
            tuple(compiled.construct_params(values)[name] for name in compiled.positiontup)))
    if dialect == "postgresql":
        assert grams.PG_INDEX in plan, plan
    else:
        assert f"SCAN {grams.TABLE} VIRTUAL TABLE" in plan and "SCAN cases" not in plan, plan


def test_the_migration_builds_the_index_for_the_cases_there(db, engine, seeded, many):
    """Down to 0019 (no index) and up again: the upgrade indexes the cases already there."""
    with db.engine.begin() as connection:
        from alembic import command
        command.downgrade(migrate.alembic_config(connection), "0019")
    with db.engine.connect() as connection:
        names = {t for t in __import__("sqlalchemy").inspect(connection).get_table_names()}
        assert grams.TABLE not in names
    upgrade_for_real(db)
    with db.reader() as session:
        for name in many[:20]:
            assert set(queries._found_cases(session, name)) == _scan(session, name), name
