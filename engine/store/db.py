"""Database connection, sessions and schema creation for SQLite and PostgreSQL."""
from __future__ import annotations

import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine as SAEngine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from engine.store import grams
from engine.store.models import Base, Meta
from engine.store.writer import WriterSession

if TYPE_CHECKING:
    from engine.store.migrate import UpgradeResult

DEFAULT_URL = "sqlite:///instance/approvals.db"
SIMULATION_KEY = "simulation"
SECRET_KEY = "secret_key"


def database_url(explicit: str | None = None) -> str:
    """The URL in use: explicit, else ``APPROVALS_DATABASE_URL``, else SQLite under ./instance/."""
    return explicit or os.environ.get("APPROVALS_DATABASE_URL") or DEFAULT_URL


def compact_json(value) -> str:
    """JSON as SQLite keeps it: no spaces after separators and Chinese as UTF-8 rather than
    ``\\uXXXX`` escapes (half the bytes). The same values read back, so neither the history's hash
    (computed over values in a canonical form, engine/audit.py) nor any query changes; values written
    before read as they always did. A string that cannot be UTF-8 (a lone surrogate, which input
    checks refuse anyway) falls back to escapes. PostgreSQL keeps the history's ``json`` columns as
    this text too (migration 0018); its JSONB columns keep their own binary form."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":"))
    return text


class Database:
    """One SQLAlchemy engine and the two kinds of sessions the app uses.

    Writes go through ``transaction()``; on SQLite it starts with BEGIN IMMEDIATE
    so that concurrent writers queue on the lock instead of failing to upgrade a
    read snapshot. Reads use ``reader()`` with a deferred transaction.
    """

    def __init__(self, url: str | None = None, *, echo: bool = False):
        self.url = database_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict = {"echo": echo}
        if self.is_sqlite:
            database = parsed.database
            in_memory = not database or database == ":memory:"
            if in_memory:
                kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
            else:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
                # it holds password hashes, sessions and the signing secret: readable by its owner only
                # (SQLite gives the -wal and -shm files the same permissions)
                os.close(os.open(database, os.O_CREAT | os.O_RDWR, 0o600))
                kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        # the same compact text on PostgreSQL, which keeps the history's ``json`` columns as written
        kwargs["json_serializer"] = compact_json
        self.engine: SAEngine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._writer = sessionmaker(self.engine.execution_options(sqlite_begin="IMMEDIATE"), class_=WriterSession,
                                    expire_on_commit=False)
        # On PostgreSQL a reader's transactions are READ ONLY (psycopg begins them so: no statement
        # of its own) and end with COMMIT, which for a transaction that cannot write is the same as
        # a rollback, but keeps the connection's prepared statements: psycopg clears them on every
        # ROLLBACK, so each page view made every statement of the next page view and of the next
        # command be parsed and planned again (docs/performance.md, sixth pass).
        self._reader = sessionmaker(self.engine if self.is_sqlite else
                                    self.engine.execution_options(postgresql_readonly=True), expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one write transaction: commit on success, roll back on error."""
        with self._writer() as session, session.begin():
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reading; what it changes is never written (on PostgreSQL a write in it
        is refused: its transactions are read only)."""
        with self._reader() as session:
            yield session
            # read only, nothing pending: a COMMIT ends it as a rollback would, prepared statements
            # kept; objects changed in memory (a preview) are dropped by the rollback of ``close``
            if not self.is_sqlite and session.in_transaction() and \
                    not (session.new or session.dirty or session.deleted):
                session.commit()

    def create_schema(self, *, simulation: bool = False) -> "UpgradeResult":
        """Bring the schema to the newest revision (``engine.store.migrate.upgrade``): all of it
        on an empty database, what is missing on an older one; cases stay as they are."""
        from engine.store.migrate import upgrade  # import here: Alembic takes ~0.1 s to import

        result = upgrade(self)
        with self.transaction() as session:
            if simulation and session.get(Meta, SIMULATION_KEY) is None:
                session.add(Meta(key=SIMULATION_KEY, value="true"))
        return result

    def secret_key(self) -> str:
        """The application's signing secret (CSRF tokens, the anonymous cookie), made once and
        kept in ``meta``: every web process shares it and it outlives restarts, so an open form
        still submits after the server was restarted. ``APPROVALS_SECRET_KEY`` overrides it."""
        for _ in range(2):
            with self.reader() as session:
                row = session.get(Meta, SECRET_KEY)
                if row is not None:
                    return row.value
            try:
                with self.transaction() as session:
                    session.add(Meta(key=SECRET_KEY, value=secrets.token_hex(32)))
            except IntegrityError:  # another process made it first: read theirs
                continue
        with self.reader() as session:
            return session.get(Meta, SECRET_KEY).value

    def is_simulation(self) -> bool:
        with self.reader() as session:
            row = session.scalar(select(Meta).where(Meta.key == SIMULATION_KEY))
            return row is not None and row.value == "true"

    def optimize(self) -> None:
        """Refresh the planner's statistics. PostgreSQL's autovacuum does this by itself; SQLite
        needs ``ANALYZE`` now and then, or it may pick a poor index for the inbox search. With an
        analysis limit it samples each index instead of reading it all, so it stays quick."""
        if self.is_sqlite:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA analysis_limit=1000")
                conn.exec_driver_sql("ANALYZE")

    def dispose(self) -> None:
        self.engine.dispose()

    def drop_schema(self) -> None:
        """Drop every table of the application and the migration record (tests, benchmarks)."""
        from engine.store.migrate import VERSION_TABLE  # import here: Alembic takes ~0.1 s to import

        Base.metadata.drop_all(self.engine)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {VERSION_TABLE}")
            if self.is_sqlite:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {grams.TABLE}")
            else:
                conn.exec_driver_sql("DROP FUNCTION IF EXISTS approvals_append_only() CASCADE")
                conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {grams.FUNCTION}(text, text) CASCADE")

    def reset_for_tests(self) -> None:
        """Empty every table (tests on a shared PostgreSQL database)."""
        if self.is_sqlite:
            self.drop_schema()
            self.create_schema()
            return
        names = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
        with self.engine.begin() as conn:
            # the history refuses TRUNCATE (migration 0004); tests may, as a replica would
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def _configure_sqlite(engine: SAEngine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event, not pysqlite, decide how transactions start.
        dbapi_connection.isolation_level = None
        grams.register(dbapi_connection)  # the triggers keeping the search index call it
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
