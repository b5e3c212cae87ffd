"""Schema migrations with Alembic, configured here rather than by an alembic.ini.

The scripts are package data (``engine/store/migrations``): ``env.py``, ``script.py.mako`` and
``versions/NNNN_what.py``. Revision ``0001`` is the baseline: the schema as it was when
migrations began. Every later change to the models is a new revision; the test
``tests/test_migrations.py`` fails while ``upgrade head`` and the models differ.

``upgrade`` brings any database to head in one transaction:

- an empty database gets every revision from 0001;
- a database made before migrations (tables, no ``alembic_version``) is recognised as one
  of ``UNVERSIONED`` by its tables and columns, exactly, stamped so and upgraded; one
  that matches none is refused and left as it is;
- a database with ``alembic_version`` is upgraded from where it is.

An empty SQLite database is made quicker (tests and replays make hundreds): the first one in a
process runs the migrations for real into an in-memory template, and later ones get a copy
of what that produced, DDL and rows (``sqlite_master`` in creation order). It is still the
migrations' schema, triggers included, not ``metadata.create_all``'s.

Concurrent starters (several web processes on PostgreSQL) queue on an advisory lock, on
SQLite on the write lock, so only one of them migrates.
"""
from __future__ import annotations

import functools
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection

from engine.errors import ApprovalError
from engine.store import grams

if TYPE_CHECKING:
    from engine.store.db import Database

SCRIPT_LOCATION = "engine.store:migrations"
BASELINE = "0001"
#: The revisions a database made before migrations (by ``metadata.create_all``) can be at,
#: each equal in tables and columns to the models of its day: 0001 is main at 965e8ec. A
#: revision that reproduces exactly what a later pre-migration commit created may be added.
UNVERSIONED: tuple[str, ...] = (BASELINE, "0002")
VERSION_TABLE = "alembic_version"
#: tables in the database that the migrations do not own: Flask-Session creates ``web_sessions``
IGNORED_TABLES = frozenset({"web_sessions"})
#: pg_advisory_xact_lock key ("approvals schema")
_PG_LOCK = 0x617070726F76616C


def _search_index_table(name: str) -> bool:
    """The search index (migration 0020), which the models do not describe: on SQLite an FTS5
    table and the tables FTS5 keeps it in (``case_grams_data``, …); on PostgreSQL it is an
    expression index (``grams.PG_INDEX``)."""
    return name == grams.TABLE or name.startswith(grams.TABLE + "_")


class SchemaError(ApprovalError):
    """The database's schema cannot be brought to the current one automatically."""

    code = "schema"


def include_name(name: str | None, type_: str, parent_names) -> bool:
    """What autogenerate and the schema comparison look at: not Flask-Session's table, nor the
    search index (migration 0020)."""
    if type_ == "table":
        return name not in IGNORED_TABLES and not _search_index_table(name or "")
    return not (type_ == "index" and name == grams.PG_INDEX)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.set_main_option("truncate_slug_length", "40")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def script_directory() -> ScriptDirectory:
    """The revisions, read once per process (``script_directory.cache_clear()`` after adding one)."""
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    heads = script_directory().get_heads()
    if len(heads) != 1:
        raise SchemaError(f"迁移脚本有 {len(heads)} 个末端版本（{', '.join(heads)}），应当只有一个")
    return heads[0]


def revisions() -> list[dict[str, str]]:
    """Every revision from the baseline to head: id and message."""
    return [{"revision": s.revision, "message": s.doc or ""}
            for s in reversed(list(script_directory().walk_revisions()))]


def next_revision_id() -> str:
    """The id of the next revision: one more than the highest (0001, 0002 …)."""
    numbers = [int(s.revision) for s in script_directory().walk_revisions() if re.fullmatch(r"\d{4}", s.revision)]
    return f"{max(numbers, default=0) + 1:04d}"


@dataclass
class Status:
    current: str | None  # the stamped revision; None for an empty or pre-migration database
    head: str
    state: str  # empty | unversioned | behind | current | unknown

    def to_dict(self) -> dict:
        return {"current": self.current, "head": self.head, "state": self.state,
                "up_to_date": self.state == "current"}


def _app_tables(connection: Connection) -> set[str]:
    return {t for t in inspect(connection).get_table_names()
            if t != VERSION_TABLE and t not in IGNORED_TABLES and not _search_index_table(t)}


def _status(connection: Connection) -> Status:
    target = head()
    current = MigrationContext.configure(connection).get_current_revision()
    if current is not None:
        if current == target:
            state = "current"
        elif current in {s.revision for s in script_directory().walk_revisions()}:
            state = "behind"
        else:
            state = "unknown"
        return Status(current, target, state)
    return Status(None, target, "unversioned" if _app_tables(connection) else "empty")


def status(db: "Database") -> Status:
    with db.engine.connect() as connection:
        return _status(connection)


@dataclass
class UpgradeResult:
    before: Status
    after: str
    stamped: str | None = None  # the revision a pre-migration database was recognised as

    def to_dict(self) -> dict:
        return {"from": self.before.current, "to": self.after, "state_before": self.before.state,
                "stamped": self.stamped, "changed": self.before.current != self.after}


def upgrade(db: "Database") -> UpgradeResult:
    """Bring the database to head in one transaction."""
    with _migration_connection(db) as connection:
        before = _status(connection)
        if before.state == "unknown":
            raise SchemaError(f"数据库的结构版本 {before.current} 不在本程序的迁移脚本中"
                              f"（本程序最新为 {before.head}）：数据库可能来自更新的版本，请升级程序")
        if before.state == "empty" and db.is_sqlite:
            _copy_sqlite_template(connection)
            return UpgradeResult(before, before.head)
        config = alembic_config(connection)
        stamped = _recognise(connection) if before.state == "unversioned" else None
        if stamped:
            command.stamp(config, stamped)
        if before.state != "current":
            command.upgrade(config, "head")
        after = MigrationContext.configure(connection).get_current_revision()
    return UpgradeResult(before, after, stamped)


@contextmanager
def _migration_connection(db: "Database") -> Iterator[Connection]:
    """One connection in one transaction that only one migrator at a time gets.

    SQLite: foreign keys are off while migrating, as SQLite's own procedure for changing a
    table requires (batch mode copies a table and drops the old one, which would otherwise
    cascade), and checked before the commit."""
    with db.engine.connect() as connection:
        if db.is_sqlite:
            # outside any transaction (inside one SQLite ignores it), so on the driver's connection
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
            connection = connection.execution_options(sqlite_begin="IMMEDIATE")
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
                yield connection
                if db.is_sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise SchemaError(f"迁移后有 {len(broken)} 行违反外键约束（首个在表 {broken[0][0]}），已回滚")
        finally:
            if db.is_sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def _shape(connection: Connection) -> dict[str, set[str]]:
    inspector = inspect(connection)
    return {t: {c["name"] for c in inspector.get_columns(t)} for t in _app_tables(connection)}


def _recognise(connection: Connection) -> str:
    """The revision of ``UNVERSIONED`` whose tables and columns a database made before
    migrations has exactly, newest first."""
    found = _shape(connection)
    for revision in reversed(UNVERSIONED):
        if shape_at(revision) == found:
            return revision
    expected = shape_at(BASELINE)
    missing = [t for t in sorted(expected) if t not in found]
    extra = [t for t in sorted(found) if t not in expected]
    for table in sorted(set(expected) & set(found)):
        missing += [f"{table}.{c}" for c in sorted(expected[table] - found[table])]
        extra += [f"{table}.{c}" for c in sorted(found[table] - expected[table])]

    def listed(names: list[str]) -> str:
        return "、".join(names[:8]) + ("等" if len(names) > 8 else "")

    differences = "；".join(([f"缺少 {listed(missing)}"] if missing else []) + ([f"多出 {listed(extra)}"] if extra else []))
    raise SchemaError(f"数据库没有结构版本记录，且与可识别的结构（{'、'.join(UNVERSIONED)}）都不符（与 {BASELINE} 相比"
                      f"{differences}）：无法自动升级。请先备份；若它来自引入迁移之前的开发版本，请导出办件后重建数据库")


@functools.cache
def shape_at(revision: str) -> dict[str, set[str]]:
    """Tables and their columns at ``revision``, read from a scratch database upgraded to it."""
    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
            return _shape(connection)
    finally:
        scratch.dispose()


_template_lock = threading.Lock()
_templates: dict[str, tuple[list[str], dict[str, tuple[list[str], list[tuple]]]]] = {}


def _sqlite_template() -> tuple[list[str], dict[str, tuple[list[str], list[tuple]]]]:
    """The DDL (in creation order) and the rows of an in-memory SQLite database at head."""
    target = head()
    with _template_lock:
        if target not in _templates:
            scratch = create_engine("sqlite://")
            try:
                with scratch.begin() as connection:
                    command.upgrade(alembic_config(connection), target)
                    # not the tables FTS5 makes for itself: its CREATE VIRTUAL TABLE makes them again
                    statements = [sql for (name, sql) in connection.exec_driver_sql(
                        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
                        "ORDER BY rowid") if not (name != grams.TABLE and _search_index_table(name))]
                    rows = {}
                    for table in inspect(connection).get_table_names():
                        if _search_index_table(table):
                            continue
                        result = connection.exec_driver_sql(f'SELECT * FROM "{table}"')
                        content = [tuple(r) for r in result]
                        if content:
                            rows[table] = (list(result.keys()), content)
            finally:
                scratch.dispose()
            _templates[target] = (statements, rows)
        return _templates[target]


def _copy_sqlite_template(connection: Connection) -> None:
    statements, rows = _sqlite_template()
    for sql in statements:
        connection.exec_driver_sql(sql)
    for table, (columns, content) in rows.items():
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        connection.exec_driver_sql(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', content)
