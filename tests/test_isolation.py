"""The test fixtures themselves: each test starts from exactly the seed (or an empty schema), never
seeing another test's cases, messages, sessions or changed users — on SQLite (a copy of a template
file per test) and on PostgreSQL (one database, put back after what each test wrote)."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from engine.commands import UrgeTask
from engine.people import add_department, add_user, set_away, set_backup
from engine.store import migrate
from engine.store.models import Base

from .conftest import ON_POSTGRES
from .helpers import login


def _contents(db) -> dict[str, list]:
    """Every row of every table, and on PostgreSQL where each id sequence stands."""
    with db.engine.connect() as conn:
        # not the schema's version; nor SQLite's search index (case_grams and its tables, which hold
        # FTS5's own structure even when empty): it follows the cases (tests/test_search_grams.py)
        tables = [t for t in inspect(conn).get_table_names()
                  if t != "alembic_version" and not migrate._search_index_table(t)]
        rows = {t: sorted(map(repr, conn.execute(text(f'SELECT * FROM "{t}"')).all())) for t in tables}
        if ON_POSTGRES:
            for table, column in conn.execute(text(
                    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
                    "AND column_default LIKE 'nextval(%'")).all():
                sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table, "c": column}).scalar()
                rows[f"sequence {sequence}"] = list(conn.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one())
    # A table made during the session (Flask-Session's) is the same as none while it is empty.
    return {k: v for k, v in rows.items() if v and v != [1, False]}


def _write_a_bit_of_everything(flow, seeded, engine):
    from web import create_app

    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, opinion="材料齐全")
    engine.execute(UrgeTask(task=flow.task_of("shencha").id, note="快"), flow.actors["fuzeren"])  # a message
    with seeded.transaction() as session:
        add_user(session, "linshi", roles=["window_clerk"], department_code="scjg")
        set_backup(session, "shencha", "shencha_b")
        set_away(session, "shencha", True)
    with pytest.raises(RuntimeError):  # rolled back, but on PostgreSQL the id sequence moved on
        with seeded.transaction() as session:
            add_department(session, "huigun", "回滚局", level="city", parent=None)
            session.flush()
            raise RuntimeError
    app = create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)
    login(app.test_client(), "chuangkou")  # a server-side session row
    return case


def test_a_test_sees_the_seed_and_nothing_a_test_before_it_wrote(flow, seeded, engine, request):
    before = _contents(seeded)
    assert "users" in before and not {"cases", "tasks", "messages", "case_history", "web_sessions"} & set(before)
    _write_a_bit_of_everything(flow, seeded, engine)
    assert _contents(seeded) != before
    if ON_POSTGRES:  # what the db fixture does before the next test
        request.getfixturevalue("_shared_pg").restore(seeded=True)
        assert _contents(seeded) == before
        request.getfixturevalue("_shared_pg").restore(seeded=False)
        assert _contents(seeded) == {}
        request.getfixturevalue("_shared_pg").restore(seeded=True)
        assert _contents(seeded) == before


@pytest.mark.parametrize("round_", [1, 2])
def test_the_same_case_number_and_ids_in_every_test(flow, round_):
    case = flow.start()
    assert case.number == "GENERAL-20260302-00001"
    assert flow.task_of("chuangkou").id == 1


def test_db_alone_is_an_empty_schema(db):
    with db.engine.connect() as conn:
        assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(conn).get_table_names())
    assert _contents(db) == {}
