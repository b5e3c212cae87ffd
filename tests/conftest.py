"""Fixtures: a database, a controlled clock, an engine, and the demo seed.

The demo seed (departments, users, the catalogue, the working-day calendar) is made once per
session, not once per test:

* SQLite: two template files are built once (an empty schema, and the seeded one); before each
  test the one it needs is copied over the session's test database file (SQLite's backup API),
  so that the SQLAlchemy engine, and its cache of compiled statements, lives for the session.
* PostgreSQL (``APPROVALS_DATABASE_URL``): one shared database, seeded once. Statement triggers
  note every table a test writes to; before the next test only those tables are emptied and, if
  they belong to the seed, refilled from a snapshot, and every id sequence that moved is set
  back. A test
  sees exactly the seed (or an empty schema when it asks for ``db`` alone), never another test's
  cases, messages, sessions or changed users.

Helpers for writing tests (``Flow``, logins, the browser, screenshots, the accessibility check)
are in ``tests/helpers.py``.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import Database, Engine, FixedClock
from engine.people import actor_for

from .helpers import ARTIFACTS, BPMN, FIXTURES, ROOT, Flow  # noqa: F401  (re-exported for the test modules)

PG_URL = os.environ.get("APPROVALS_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgresql")
SEED_AT = "2026-03-02T09:00:00+08:00"  # the clock fixture's time, and the seed's "loaded at"
SLOW_SECONDS = 1.0  # a test over this belongs in the slow set


def pytest_collection_modifyitems(config, items):
    """Tests that drive the browser are slow wherever they are."""
    for item in items:
        if {"page", "server"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


_slow_but_unmarked: list[tuple[float, str]] = []


def pytest_runtest_logreport(report):
    if report.when == "call" and report.duration > SLOW_SECONDS and "slow" not in report.keywords:
        _slow_but_unmarked.append((report.duration, report.nodeid))


def pytest_terminal_summary(terminalreporter):
    """Name the tests of the quick loop that took too long, so that it stays quick."""
    if _slow_but_unmarked:
        terminalreporter.write_sep("-", f"not marked slow, but over {SLOW_SECONDS:g} s (mark them @pytest.mark.slow?)")
        for duration, nodeid in sorted(_slow_but_unmarked, reverse=True):
            terminalreporter.write_line(f"{duration:.2f}s {nodeid}")


def _seed(db: Database, at: datetime) -> None:
    from cli.demo import seed
    from engine.timelimits.workdays import seed_from_chinesecalendar

    with db.transaction() as session:
        seed(session, at)
        seed_from_chinesecalendar(session)


@pytest.fixture(autouse=True, scope="session")
def _file_store(tmp_path_factory):
    """Scanned materials go to a folder of the test session, never to ./instance/files."""
    os.environ["APPROVALS_FILES"] = str(tmp_path_factory.mktemp("files"))


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes():
    """Hashing stays real, with a low work factor so that seeding is fast."""
    from engine import people

    people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"


# ---------------------------------------------------------------- SQLite: template files

class SqliteTemplates:
    """An empty-schema file and a seeded file, each built once on first use; tests get copies."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._lock = threading.RLock()
        self._built: dict[bool, Path] = {}

    def path(self, seeded: bool) -> Path:
        with self._lock:
            if seeded not in self._built:
                target = self.folder / ("seeded.db" if seeded else "empty.db")
                if seeded:
                    shutil.copyfile(self.path(False), target)
                database = Database(f"sqlite:///{target}")
                if seeded:
                    _seed(database, FixedClock(SEED_AT).now())
                else:
                    database.create_schema()
                # Fold the write-ahead log into the file, so that the file alone is the database.
                with database.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                database.dispose()
                wal = target.with_name(target.name + "-wal")
                assert not wal.exists() or wal.stat().st_size == 0, f"{wal} left behind"
                self._built[seeded] = target
            return self._built[seeded]

    def reuse(self, seeded: bool) -> Database:
        """One ``Database`` for the session whose contents are replaced by the template's before
        each test (SQLite's backup API, page by page, through SQLite, so that any connection
        still open on the file sees a consistent database). A new SQLAlchemy engine per test
        would compile every statement again, its compiled cache being per engine."""
        with self._lock:
            target = self.folder / "test.db"
            if not hasattr(self, "_database"):
                shutil.copyfile(self.path(seeded), target)
                self._database = Database(f"sqlite:///{target}")
                return self._database
            self._database.dispose()
            source, dest = sqlite3.connect(self.path(seeded)), sqlite3.connect(target, timeout=30)
            try:
                source.backup(dest)
            finally:
                source.close()
                dest.close()
            return self._database


@pytest.fixture(scope="session")
def _sqlite_templates(tmp_path_factory):
    return SqliteTemplates(tmp_path_factory.mktemp("templates"))


# ---------------------------------------------------------------- PostgreSQL: undo what a test wrote

class PostgresBaseline:
    """The shared PostgreSQL database, put back before each test to the seed or to an empty schema.

    Every table in ``public`` carries a statement trigger that notes its name in
    ``approvals_tests.written`` on INSERT, UPDATE, DELETE or TRUNCATE (from any connection: the
    web server's threads, CLI runs and sweeper processes too). Restoring deletes the rows of the
    noted tables, copies the seed tables among them back from ``approvals_tests.seed_*`` and sets
    back every sequence that moved, in one transaction with ``session_replication_role = replica`` so that
    neither foreign keys, the append-only history trigger nor the noting triggers get in the way.
    A table without the trigger (one made during a test, like Flask-Session's ``web_sessions``)
    is treated as written and gets the trigger. Measured against the alternatives on this
    machine: TRUNCATE of every table ≈ 340 ms and re-seeding ≈ 700 ms per test; a database made
    from a template (``CREATE DATABASE … TEMPLATE``) ≈ 130 ms; this ≈ 5–10 ms.
    """

    SCHEMA = "approvals_tests"
    TRIGGER = "approvals_tests_written"

    def __init__(self, url: str):
        self.db = Database(url)
        self.state = "unknown"  # "empty" or "seeded" once put in order
        self.seed_tables: set[str] = set()
        self.seed_sequences: dict[str, int | None] = {}  # sequence -> last value handed out, None if none yet

    # -- setting up, once per session

    def prepare(self) -> None:
        s = self.SCHEMA
        with self.db.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {s} CASCADE")  # and the triggers of an earlier run
        self.db.drop_schema()  # the schema may be an older one from an earlier run
        self.db.create_schema()
        with self.db.engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {s}")
            conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {s}.written (name text PRIMARY KEY)")
            conn.exec_driver_sql(
                f"CREATE FUNCTION {s}.note_written() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"INSERT INTO {s}.written VALUES (TG_TABLE_NAME) ON CONFLICT DO NOTHING; RETURN NULL; END $$")
        self._track_new_tables()
        self.state = "unknown"  # tables made by others (web_sessions) may hold an earlier run's rows

    def _tables(self, conn) -> dict[str, bool]:
        """Every table in public, and whether it carries the noting trigger."""
        rows = conn.exec_driver_sql(
            "SELECT c.relname, EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = %s) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
            "AND c.relname <> 'alembic_version'",  # the schema's stamp, not data: never emptied
            (self.TRIGGER,)).all()
        return {name: tracked for name, tracked in rows}

    def _track_new_tables(self, conn=None) -> list[str]:
        if conn is None:
            with self.db.engine.begin() as conn:
                return self._track_new_tables(conn)
        new = [name for name, tracked in self._tables(conn).items() if not tracked]
        for name in new:
            conn.exec_driver_sql(
                f'CREATE TRIGGER {self.TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON public."{name}" '
                f"FOR EACH STATEMENT EXECUTE FUNCTION {self.SCHEMA}.note_written()")
        return new

    @staticmethod
    def _sequences(conn) -> dict[str, int | None]:
        """Where every sequence in public stands. Sequences are not transactional: an insert
        that was rolled back still used a number, in a table that was not written to."""
        return dict(conn.exec_driver_sql(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value "
            "FROM pg_sequences WHERE schemaname = 'public'").all())

    def _snapshot_seed(self) -> None:
        """Seed the (empty) database once and keep a copy of every table the seed filled."""
        self.restore(seeded=False)
        _seed(self.db, FixedClock(SEED_AT).now())
        s = self.SCHEMA
        with self.db.engine.begin() as conn:
            self._track_new_tables(conn)
            written = [n for (n,) in conn.exec_driver_sql(f"SELECT name FROM {s}.written")]
            for name in written:
                if conn.exec_driver_sql(f'SELECT EXISTS (SELECT 1 FROM public."{name}")').scalar():
                    conn.exec_driver_sql(f'DROP TABLE IF EXISTS {s}."seed_{name}"')
                    conn.exec_driver_sql(f'CREATE TABLE {s}."seed_{name}" AS TABLE public."{name}"')
                    self.seed_tables.add(name)
            self.seed_sequences = self._sequences(conn)
            conn.exec_driver_sql(f"DELETE FROM {s}.written")
        self.state = "seeded"

    # -- before each test

    def restore(self, *, seeded: bool) -> None:
        if seeded and not self.seed_tables:
            self._snapshot_seed()
            return
        s = self.SCHEMA
        with self.db.engine.begin() as conn:
            new = self._track_new_tables(conn)
            written = {n for (n,) in conn.exec_driver_sql(f"SELECT name FROM {s}.written")} | set(new)
            tables = set(self._tables(conn))
            sequences = self._sequences(conn)
        if self.seed_tables - tables:  # a test dropped a seed table: build everything again
            self._rebuild(seeded)
            return
        if self.state != ("seeded" if seeded else "empty"):
            written |= tables  # from the seed to empty or back: every table
        with self.db.engine.begin() as conn:
            statements = ["SET LOCAL session_replication_role = replica"]
            for name in sorted(written & tables):
                statements.append(f'DELETE FROM public."{name}"')
                if seeded and name in self.seed_tables:
                    statements.append(f'INSERT INTO public."{name}" OVERRIDING SYSTEM VALUE SELECT * FROM {s}."seed_{name}"')
            for sequence, value in sequences.items():
                wanted = self.seed_sequences.get(sequence) if seeded else None
                if value != wanted:
                    statements.append(f"SELECT setval('{sequence}', {wanted or 1}, {'true' if wanted else 'false'})")
            statements.append(f"DELETE FROM {s}.written")
            conn.exec_driver_sql("; ".join(statements))
        self.state = "seeded" if seeded else "empty"

    def _rebuild(self, seeded: bool) -> None:
        self.seed_tables, self.seed_sequences = set(), {}
        self.prepare()
        if seeded:
            self._snapshot_seed()

    def dispose(self) -> None:
        self.db.dispose()


@pytest.fixture(scope="session")
def _shared_pg():
    baseline = PostgresBaseline(PG_URL)
    baseline.prepare()
    yield baseline
    baseline.dispose()


# ---------------------------------------------------------------- the fixtures tests use

@pytest.fixture
def clock():
    return FixedClock(SEED_AT)


@pytest.fixture
def db(request):
    """An empty schema or, when the test also uses ``seeded``, the seeded database: a copy of the
    session's seed, so that ``seeded`` costs nothing more. (A test whose clock starts elsewhere
    gets an empty schema and ``seeded`` seeds it at its clock's time.)"""
    from_seed = "seeded" in request.fixturenames and request.getfixturevalue("clock").now() == FixedClock(SEED_AT).now()
    if ON_POSTGRES:
        baseline = request.getfixturevalue("_shared_pg")
        baseline.restore(seeded=from_seed)
        baseline.db._test_seeded = "template" if from_seed else False
        yield baseline.db
    else:
        templates = request.getfixturevalue("_sqlite_templates")
        database = templates.reuse(from_seed)
        database._test_seeded = "template" if from_seed else False
        yield database
        database.dispose()


@pytest.fixture
def engine(db, clock):
    return Engine(db, clock)


@pytest.fixture
def seeded(db, clock):
    if not db._test_seeded:  # asked for late (getfixturevalue), or another clock
        _seed(db, clock.now())
        db._test_seeded = "here"
    return db


def _read_actors(database: Database) -> dict:
    from engine.store.models import User

    with database.reader() as session:
        return {n: actor_for(session, n) for n in session.scalars(select(User.username))}


@pytest.fixture(scope="session")
def _seed_actors():
    """The demo users as actors, read once: every test that starts from the session's seed sees
    the same users (actors are frozen; each test gets its own dict)."""
    return {}


@pytest.fixture
def actors(seeded, _seed_actors):
    if seeded._test_seeded != "template":
        return _read_actors(seeded)
    if not _seed_actors:
        _seed_actors.update(_read_actors(seeded))
    return dict(_seed_actors)


@pytest.fixture
def flow(engine, seeded, actors):
    return Flow(engine, seeded, actors)


# ---------------------------------------------------------------- the browser

@pytest.fixture
def server(seeded, engine):
    """The web workspace on a free local port, in a thread, on the test's database and clock."""
    from werkzeug.serving import make_server

    from web import create_app

    app = create_app({"SECRET_KEY": "browser-test"}, db=seeded, clock=engine.clock)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(10)


@pytest.fixture(scope="module")
def _chromium():
    from .helpers import launch_chromium

    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def page(_chromium):
    """A fresh browser page (its own cookies) at 1366×900, zh-CN."""
    from .helpers import new_page

    context, tab = new_page(_chromium)
    yield tab
    context.close()
