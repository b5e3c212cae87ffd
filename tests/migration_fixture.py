"""Cases captured at the schema baseline (revision 0001), and the way back into a database.

``tests/fixtures/baseline_cases.json`` holds every row of a small database made by the code
of the baseline: the demo departments and users, the item GENERAL, the 2026 calendar, and
three cases in mid-flight on a controlled clock (China time):

- ``GENERAL-20260302-00001`` started Monday 2 March 09:00, waiting at acceptance (its
  acceptance warning and deemed-acceptance deadlines armed);
- ``GENERAL-20260302-00002`` accepted at 10:00, waiting at review, its decision and step
  clocks running with their warning and card deadlines;
- ``GENERAL-20260302-00003`` accepted, reviewed and granted: concluded.

``tests/test_migrations.py`` loads the rows into a database upgraded to 0001 only (with
SQLAlchemy Core into reflected tables, so without the models of today, which may have
columns the baseline lacks), upgrades it to head and runs the cases on.

The rows are read back by reflection too, so this module never needs the models of the
day; but making the cases needs the engine of the baseline. To make the file again, run
this module in a checkout where the newest revision is still 0001 (any commit before
migration 0002 was added; ``make`` checks):

    git worktree add /tmp/at-0001 <commit> && cd /tmp/at-0001
    python3 -m tests.migration_fixture        # writes tests/fixtures/baseline_cases.json
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "baseline_cases.json"
REVISION = "0001"
CALENDAR_YEARS = (2026,)
NUMBERS = ("GENERAL-20260302-00001", "GENERAL-20260302-00002", "GENERAL-20260302-00003")


# ---------------------------------------------------------------- making (at the baseline only)

def make(path: Path = FIXTURE) -> None:
    import tempfile

    from engine import Actor, Database, Engine, FixedClock, content
    from engine.catalogue import load_file
    from engine.commands import CompleteTask, StartCase
    from engine.people import actor_for
    from engine.read.queries import ready_tasks
    from engine.timelimits.workdays import seed_from_chinesecalendar
    from engine import people
    from engine.store.migrate import head
    from cli import demo

    assert head() == REVISION, f"run this at the baseline: head is {head()}, not {REVISION}"
    people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/baseline.db")
        db.create_schema()
        clock = FixedClock("2026-03-02T09:00:00+08:00")
        with db.transaction() as session:
            for code, name, level, parent in demo.DEPARTMENTS:
                people.add_department(session, code, name, level=level, parent=parent)
            for username, display, roles, department in demo.USERS:
                people.add_user(session, username, roles=roles, department_code=department,
                                password=demo.DEMO_PASSWORD, display_name=display)
            seed_from_chinesecalendar(session)
            load_file(session, content.catalogue() / "general_approval.yaml", content.diagrams(),
                      loaded_by="demo", at=clock.now())
        engine = Engine(db, clock)
        with db.reader() as session:
            actors = {u: actor_for(session, u) for u in ("chuangkou", "shencha", "fuzeren")}

        def complete(username: str, number: str, data: dict, opinion: str, when: str) -> None:
            clock.set(when)
            with db.reader() as session:
                task = next(t for t in ready_tasks(session, actors[username]) if t.case.number == number)
            engine.execute(CompleteTask(task=task.id, data=data, opinion=opinion), actors[username])

        for n, when in enumerate(("09:00", "09:30", "10:00")):
            clock.set(f"2026-03-02T{when}:00+08:00")
            case = engine.execute(StartCase(item="GENERAL", applicant=f"申请人{n + 1}", data={"shop": f"小吃店{n + 1}"}),
                                  Actor.applicant(f"申请人{n + 1}"))
            assert case.number == NUMBERS[n]
        complete("chuangkou", NUMBERS[1], {"acceptance": "accept"}, "材料齐全", "2026-03-02T10:00:00+08:00")
        complete("chuangkou", NUMBERS[2], {"acceptance": "accept"}, "材料齐全", "2026-03-02T10:30:00+08:00")
        complete("shencha", NUMBERS[2], {"review_result": "pass"}, "符合条件", "2026-03-02T14:00:00+08:00")
        complete("fuzeren", NUMBERS[2], {"decision": "grant"}, "准予许可", "2026-03-02T16:00:00+08:00")
        with db.engine.connect() as connection:
            tables = dump(connection)
        db.dispose()
    document = {
        "about": "Rows of a database at schema revision 0001 with three cases in mid-flight; "
                 "made by `python3 -m tests.migration_fixture` at the baseline (see that module).",
        "revision": REVISION,
        "tables": tables,
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def dump(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in foreign-key order, as JSON values (times in UTC)."""
    metadata = sa.MetaData()
    metadata.reflect(connection)
    out: dict[str, list[dict[str, Any]]] = {}
    for table in metadata.sorted_tables:
        if table.name == "alembic_version":
            continue
        query = sa.select(table).order_by(*table.primary_key.columns)
        if table.name in ("calendar_days", "calendar_years"):
            query = query.where(table.c.year.in_(CALENDAR_YEARS))
        out[table.name] = [{k: _to_json(v) for k, v in row._mapping.items()} for row in connection.execute(query)]
    return out


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


# ---------------------------------------------------------------- loading (any later code)

def load(connection: Connection, path: Path = FIXTURE) -> dict[str, int]:
    """Insert the fixture's rows into the reflected tables of a database at revision 0001.
    Returns the number of rows per table."""
    document = json.loads(path.read_text(encoding="utf-8"))
    metadata = sa.MetaData()
    metadata.reflect(connection)
    sqlite = connection.dialect.name == "sqlite"
    counts = {}
    for name, rows in document["tables"].items():
        table = metadata.tables[name]
        for column in table.c:
            if isinstance(column.type, sa.JSON):
                column.type.none_as_null = True
        if rows:
            connection.execute(table.insert(), [{k: _from_json(table.c[k], v, sqlite) for k, v in row.items()}
                                                for row in rows])
        counts[name] = len(rows)
    if connection.dialect.name == "postgresql":
        # Explicit ids do not move the sequences: without this the next insert collides.
        for table in metadata.sorted_tables:
            if "id" in table.c and table.c.id.primary_key:
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)")
    return counts


def _from_json(column: sa.Column, value: Any, sqlite: bool) -> Any:
    if value is None:
        return None  # SQL NULL, JSON columns included (none_as_null below)
    if isinstance(column.type, sa.DateTime):
        moment = datetime.fromisoformat(value).astimezone(timezone.utc)
        return moment.replace(tzinfo=None) if sqlite else moment
    if isinstance(column.type, sa.Date):
        return date.fromisoformat(value)
    return value


if __name__ == "__main__":
    make()
    print(f"wrote {FIXTURE}")
