"""Schema migrations: the revisions give exactly the models' schema, and a database made at the
baseline, full of cases, is upgraded to head with its cases intact and running on.

On PostgreSQL these tests use the database of APPROVALS_DATABASE_URL from empty and leave it
with the current schema, as the other tests expect it.
"""
from __future__ import annotations

import json
from datetime import date, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import select

from engine import Database, Engine, FixedClock
from engine.clock import CHINA_TZ
from engine.commands import CompleteTask, StartCase
from engine.actors import Actor
from engine.errors import ApprovalError
from engine.people import actor_for
from engine.read.queries import ready_tasks
from engine.store import migrate
from engine.store.models import Base, Case, Clock, Deadline, HistoryEntry, Message, Task, User
from timers.sweep import sweep

from . import migration_fixture
from .conftest import ON_POSTGRES, PG_URL


@pytest.fixture
def blank(tmp_path):
    """The URL of an empty database."""
    if ON_POSTGRES:
        db = Database(PG_URL)
        db.drop_schema()
        db.dispose()
        yield PG_URL
        db = Database(PG_URL)
        db.drop_schema()
        db.create_schema()
        db.dispose()
    else:
        yield f"sqlite:///{tmp_path / 'blank.db'}"


@pytest.fixture
def database(blank):
    db = Database(blank)
    yield db
    db.dispose()


def differences(db: Database) -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "compare_server_default": True, "include_name": migrate.include_name})
        return compare_metadata(context, Base.metadata)


def upgrade_for_real(db: Database, revision: str = "head") -> None:
    """The revisions themselves, never the SQLite copy ``create_schema`` may use."""
    with db.engine.begin() as connection:
        command.upgrade(migrate.alembic_config(connection), revision)


def stamped(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


# ---------------------------------------------------------------- the revisions and the models

def test_upgrade_head_gives_exactly_the_schema_of_the_models(database):
    """What keeps every migration honest: change a model without a revision (or the other way
    round) and this lists the difference."""
    database.create_schema()  # what `approvals db upgrade` does
    assert differences(database) == []
    assert stamped(database) == migrate.head()


def test_the_comparison_notices_a_model_without_its_migration(database):
    upgrade_for_real(database)
    changed = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["cases"].append_column(sa.Column("priority", sa.Integer()))
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": migrate.include_name})
        diff = compare_metadata(context, changed)
    assert [(d[0], d[3].name) for d in diff] == [("add_column", "priority")]


def _schema(rows) -> list:
    """sqlite_master with each CREATE TABLE's lines sorted: Alembic's batch mode (which rebuilds a
    SQLite table to add a constraint) writes the foreign keys and unique constraints of the copy in
    no fixed order, so two real upgrades differ in that order only."""
    return [(kind, name, table, sorted(line.strip().rstrip(",") for line in (sql or "").splitlines()))
            for kind, name, table, sql in rows]


def test_create_schema_gives_the_same_database_as_the_revisions(database, tmp_path):
    """SQLite copies a template for speed: the same tables, indexes, triggers and stamp."""
    database.create_schema()
    assert differences(database) == []
    assert stamped(database) == migrate.head()
    if not database.is_sqlite:
        return
    for _ in range(2):  # the first may have made the template, the second certainly copies it
        copy = Database(f"sqlite:///{tmp_path / 'copy.db'}")
        copy.create_schema()
        real = Database(f"sqlite:///{tmp_path / 'real.db'}")
        upgrade_for_real(real)
        query = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        with copy.engine.connect() as a, real.engine.connect() as b:
            assert _schema(a.exec_driver_sql(query)) == _schema(b.exec_driver_sql(query))
        assert stamped(copy) == stamped(real) == migrate.head()
        for db in (copy, real):
            db.dispose()
        (tmp_path / "copy.db").unlink()
        (tmp_path / "real.db").unlink()


def test_revision_ids_are_numbered_in_order():
    ids = [r["revision"] for r in migrate.revisions()]
    assert ids[0] == migrate.BASELINE and ids == [f"{n:04d}" for n in range(1, len(ids) + 1)]
    assert migrate.next_revision_id() == f"{len(ids) + 1:04d}"


# ---------------------------------------------------------------- databases from before

def test_a_database_from_before_migrations_is_recognised_as_the_baseline(database):
    upgrade_for_real(database, migrate.BASELINE)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")  # what create_all made
    assert migrate.status(database).state == "unversioned"
    result = database.create_schema()
    assert result.stamped == migrate.BASELINE and result.to_dict()["to"] == migrate.head()
    assert differences(database) == []


def test_a_database_older_than_the_baseline_is_refused_and_left_alone(database):
    upgrade_for_real(database, migrate.BASELINE)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")
        connection.exec_driver_sql("DROP TABLE deadlines")  # made before the time-limit tables
    with pytest.raises(migrate.SchemaError, match="缺少 deadlines）：无法自动升级"):
        database.create_schema()
    assert migrate.status(database).state == "unversioned"


def test_a_database_from_a_later_commit_without_its_migration_is_refused(database):
    """Stamping it 0001 would make the next revision add a column that is already there."""
    upgrade_for_real(database, migrate.BASELINE)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")
        connection.exec_driver_sql("ALTER TABLE tasks ADD COLUMN priority INTEGER")
    with pytest.raises(migrate.SchemaError, match="多出 tasks.priority"):
        database.create_schema()
    assert migrate.status(database).state == "unversioned"


def test_a_database_from_a_newer_program_is_refused(database):
    database.create_schema()
    with database.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(ApprovalError, match="9999.*请升级程序"):
        database.create_schema()


# ---------------------------------------------------------------- cases across the upgrade

def at(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


@pytest.mark.parametrize("versioned", [True, False], ids=["stamped-0001", "made-before-migrations"])
def test_cases_made_at_the_baseline_run_on_after_upgrading_to_head(database, versioned):
    upgrade_for_real(database, migrate.BASELINE)
    with database.engine.begin() as connection:
        counts = migration_fixture.load(connection)
        if not versioned:
            connection.exec_driver_sql("DROP TABLE alembic_version")
    assert counts["cases"] == 3

    result = database.create_schema()  # what `approvals db upgrade` and every start do
    assert result.to_dict()["to"] == migrate.head()
    assert result.stamped == (None if versioned else migrate.BASELINE)

    waiting, reviewing, concluded = migration_fixture.NUMBERS
    clock = FixedClock(at("2026-03-03T09:00"))
    engine = Engine(database, clock)
    with database.reader() as session:
        actors = {u: actor_for(session, u) for u in ("chuangkou", "shencha", "fuzeren")}
        rows = {c.number: c for c in session.scalars(select(Case))}
        assert {n: (c.state, c.acceptance, c.decision) for n, c in rows.items()} == {
            waiting: ("running", None, None), reviewing: ("running", "accepted", None),
            concluded: ("concluded", "accepted", "grant")}

    def case(number: str) -> Case:
        with database.reader() as session:
            return session.scalar(select(Case).where(Case.number == number))

    def complete(username: str, number: str, data: dict, when: str) -> None:
        clock.set(at(when))
        with database.reader() as session:
            task = next(t for t in ready_tasks(session, actors[username]) if t.case.number == number)
        engine.execute(CompleteTask(task=task.id, data=data, opinion="同意"), actors[username])

    def fired(number: str) -> list[str]:
        with database.reader() as session:
            return [h.payload["deadline"] for h in session.scalars(
                select(HistoryEntry).join(Case).where(Case.number == number, HistoryEntry.command == "fire_deadline")
                .order_by(HistoryEntry.seq))]

    # a new case after the upgrade: new ids do not collide with the loaded ones
    clock.set(at("2026-03-03T09:00"))
    fresh = engine.execute(StartCase(item="GENERAL", applicant="新申请人", data={}), Actor.applicant("新申请人"))
    assert fresh.id == 4 and fresh.number == "GENERAL-20260303-00001"

    # the case at review: its next task, then its deadlines through the sweep
    complete("shencha", reviewing, {"review_result": "pass"}, "2026-03-04T10:00")
    day = date(2026, 3, 5)
    while day <= date(2026, 3, 19):
        clock.set(at(f"{day.isoformat()}T08:00"))
        report = sweep(engine)
        assert report.failed == []
        day = day.fromordinal(day.toordinal() + 1)
    # the decision limit (promised 10 working days) and the decide step's own limit
    assert [k.split("/")[1] if k.startswith("step.") else k for k in fired(reviewing)] == [
        "warning", "yellow", "yellow.1", "yellow.2",
        "decision/warning", "decision/yellow", "decision/yellow.1", "decision/yellow.2"]
    assert case(reviewing).card == "yellow"
    complete("fuzeren", reviewing, {"decision": "grant"}, "2026-03-19T10:00")
    assert (case(reviewing).state, case(reviewing).decision) == ("concluded", "grant")

    # the case waiting at acceptance was deemed accepted by the sweep on 10 March
    assert [k for k in fired(waiting) if k.startswith("acceptance/")] == ["acceptance/warning", "acceptance/deemed"]
    assert case(waiting).acceptance == "deemed" and case(waiting).accepted_at == at("2026-03-02T09:00")
    with database.reader() as session:
        assert [t.element_id for t in ready_tasks(session, actors["shencha"])
                if t.case.number == waiting] == ["review"]

    # the concluded case: untouched, its history whole and still append-only
    with database.reader() as session:
        done = session.scalar(select(Case).where(Case.number == concluded))
        assert done.last_seq == 4 and done.concluded_at == at("2026-03-02T16:00")
        assert [h.seq for h in session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == done.id)
                                               .order_by(HistoryEntry.seq))] == [1, 2, 3, 4]
        assert not session.scalars(select(Deadline).where(Deadline.case_id == done.id,
                                                          Deadline.state == "armed")).all()
        assert session.scalar(select(Clock).where(Clock.case_id == done.id, Clock.key == "decision")).outcome
        assert session.scalar(select(sa.func.count()).select_from(Message)) > 0
        assert session.scalar(select(User).where(User.username == "shencha")).department.code == "scjg"
        assert session.scalar(select(sa.func.count()).select_from(Task).where(Task.case_id == done.id)) == 3
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with database.engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM case_history")


@pytest.mark.slow
def test_0018_keeps_every_case_s_policy_and_every_chain_written_before(database):
    """0018: a case's policy NULL meant the defaults and is written out; one equal to its item's
    is read from the item; one of its own stays. On PostgreSQL the history's JSON becomes ``json``
    and its hashes bytes: entries written before — one with numbers JSONB normalised — still verify."""
    from engine.audit import canonical, chain, verify
    from engine.timelimits.policy import TimePolicy

    upgrade_for_real(database, migrate.BASELINE)
    with database.engine.begin() as connection:
        migration_fixture.load(connection)
    with migrate._migration_connection(database) as connection:  # foreign keys off, as the migrator has them
        command.upgrade(migrate.alembic_config(connection), "0017")
    waiting, reviewing, concluded = migration_fixture.NUMBERS
    own = {**TimePolicy().to_dict(), "promised_days": 7}
    tables = sa.MetaData()
    tables.reflect(database.engine, only=["cases", "items", "case_history"])
    cases, history = tables.tables["cases"], tables.tables["case_history"]
    with database.engine.begin() as connection:
        assert connection.scalar(select(tables.tables["items"].c.time_policy)) is not None
        connection.execute(sa.update(cases).where(cases.c.number == waiting).values(time_policy=sa.null()))
        connection.execute(sa.update(cases).where(cases.c.number == concluded).values(time_policy=own))
        connection.execute(sa.update(cases).values(application=None))  # a JSON null, as written before
        # an entry whose values JSONB normalises (1e20, 1.50), hashed as it read back at 0017
        row = connection.execute(select(cases).where(cases.c.number == concluded)).one()
        values = {"inputs": {"note": "x"}, "payload": {"z": 1e20, "a": [1.50, "中文"]}, "ready_tasks": [],
                  "observed": {"case": {"acceptance": "accepted"}}}
        if ON_POSTGRES:
            values = {k: connection.scalar(select(sa.cast(sa.literal(json.dumps(v)), sa.dialects.postgresql.JSONB)))
                      for k, v in values.items()}
        when = at("2026-03-03T09:00")
        digest = chain(row.history_head, canonical(row.last_seq + 1, "note_case", "admin", when, row.state, values))
        stored_at = when if ON_POSTGRES else when.astimezone(timezone.utc).replace(tzinfo=None)  # SQLite: naive UTC
        connection.execute(sa.insert(history).values(case_id=row.id, seq=row.last_seq + 1, command="note_case",
                                                     actor="admin", at=stored_at, case_state=row.state, hash=digest,
                                                     **values))
        connection.execute(sa.update(cases).where(cases.c.id == row.id)
                           .values(last_seq=row.last_seq + 1, history_head=digest))
    database.create_schema()  # what `approvals db upgrade` does
    assert differences(database) == []
    with database.reader() as session:
        report = verify(session)
        assert report.ok and report.entries == 1 + 2 + 4 + 1, report.to_dict()
        rows = {c.number: c for c in session.scalars(select(Case))}
        assert rows[waiting].time_policy == TimePolicy().to_dict()  # what NULL meant: the defaults
        assert rows[reviewing].time_policy is None  # the item's, unchanged since
        assert rows[reviewing].started_policy == rows[reviewing].item.time_policy
        assert rows[concluded].time_policy == own
        assert len(rows[concluded].history_head) == 64 and report.heads[concluded]["hash"] == digest
        assert session.scalar(select(sa.func.count()).select_from(Case).where(Case.application.is_(None))) == 3
    # and new entries chain on from the converted head
    engine = Engine(database, FixedClock(at("2026-03-03T10:00")))
    with database.reader() as session:
        shencha = actor_for(session, "shencha")
        task = session.scalar(select(Task).where(Task.case_id == rows[reviewing].id, Task.state == "ready"))
    engine.execute(CompleteTask(task=task.id, data={"review_result": "pass"}), shencha)
    with database.reader() as session:
        assert verify(session).ok


def test_0022_gives_efficiency_warning_messages_a_kind_of_their_own(database):
    """0022: messages of a 效能告诫 (and of a proposed warning to a head), stored as ``warning`` like
    a time limit's 预警, become ``efficiency_warning``; a 预警 stays ``warning``; and back."""
    upgrade_for_real(database, migrate.BASELINE)
    with database.engine.begin() as connection:
        migration_fixture.load(connection)
    with migrate._migration_connection(database) as connection:
        command.upgrade(migrate.alembic_config(connection), "0021")
    tables = sa.MetaData()
    tables.reflect(database.engine, only=["messages", "users"])
    messages = tables.tables["messages"]
    titles = ("【预警】GENERAL-20260302-00001 受理时限将于 2026-03-06 届满", "【效能告诫】李审查",
              "【拟告诫单位负责人】市市场监督管理局，请确认", "【升级·预警】GENERAL-20260302-00002 ……")
    with database.engine.begin() as connection:
        user = connection.scalar(select(tables.tables["users"].c.id).limit(1))
        for title in titles:
            connection.execute(sa.insert(messages).values(user_id=user, kind="warning", title=title, body="",
                                                          created_at=at("2026-03-03T09:00")))

    def kinds() -> dict[str, str]:
        with database.engine.connect() as connection:
            return dict(connection.execute(select(messages.c.title, messages.c.kind)).all())

    with migrate._migration_connection(database) as connection:
        command.upgrade(migrate.alembic_config(connection), "0022")
    assert [kinds()[t] for t in titles] == ["warning", "efficiency_warning", "efficiency_warning", "warning"]
    with migrate._migration_connection(database) as connection:
        command.downgrade(migrate.alembic_config(connection), "0021")
    assert set(kinds().values()) == {"warning"}


# ---------------------------------------------------------------- the command line

def test_db_current_and_upgrade_from_the_command_line(blank):
    from cli.main import main

    runner = CliRunner()

    def run(*args: str) -> dict:
        result = runner.invoke(main, ["--db", blank, "db", *args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    assert run("current") == {"current": None, "head": migrate.head(), "state": "empty", "up_to_date": False}
    out = run("upgrade")
    assert out["from"] is None and out["to"] == migrate.head() and out["changed"]
    assert run("current")["up_to_date"] is True
    assert run("upgrade")["changed"] is False
    text = runner.invoke(main, ["--db", blank, "db", "current"]).output
    assert f"当前结构版本：{migrate.head()}" in text and "已是最新" in text
