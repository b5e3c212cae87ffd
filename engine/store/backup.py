"""Backing up and restoring a SQLite database (``approvals backup`` / ``approvals restore``).

A backup is SQLite's online backup API (``sqlite3.Connection.backup``) run on a connection of the
application's own engine: all pages are copied in one step inside one read transaction, so the
copy is the database as of one moment while the server and the sweep go on writing (WAL mode lets
them). The copy is written beside the target under a temporary name, checked with
``PRAGMA integrity_check``, made a single self-contained file (journal mode DELETE), readable by its
owner only (it holds password hashes and web sessions), and then renamed into place.

A restore checks the file first — an SQLite database that passes ``integrity_check``, with the
application's tables and a schema revision this program knows — then copies it into the configured
database through SQLite (the backup API again, onto a connection of the application's engine), so
that any other connection sees either the old or the restored database, never a mix, and brings
the schema up to date. It refuses to overwrite a database that holds users or cases unless told
to (``force``). Stop ``approvals serve`` and any sweep before restoring: a command they run while
the copy is made is lost, and pages they show afterwards come from the restored database.

PostgreSQL is backed up with ``pg_dump`` and restored with ``pg_restore`` (docs/operations.md).
"""
from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from engine.errors import BadInput
from engine.store.db import Database
from engine.store.models import Case, HistoryEntry, User

PG_HINT = ("PostgreSQL 数据库请用 pg_dump 备份、pg_restore 恢复，例如 pg_dump -Fc -f approvals.dump 数据库名；"
           "见 docs/operations.md")
#: tables an approvals database has at every revision
REQUIRED_TABLES = frozenset({"cases", "case_history", "tasks", "users", "alembic_version"})


@dataclass
class BackupResult:
    path: str
    size: int
    pages: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "pages": self.pages}


@dataclass
class RestoreResult:
    path: str
    revision: str  # of the file
    upgraded_to: str
    cases: int
    entries: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "revision": self.revision, "upgraded_to": self.upgraded_to,
                "cases": self.cases, "history_entries": self.entries}


def _sqlite_file(db: Database, doing: str) -> Path:
    if not db.is_sqlite:
        raise BadInput(f"approvals {doing} 只用于 SQLite 数据库。{PG_HINT}")
    database = make_url(db.url).database
    if not database or database == ":memory:":
        raise BadInput(f"内存数据库不能{'备份' if doing == 'backup' else '恢复'}：请用 --db 或 APPROVALS_DATABASE_URL 指定数据库文件")
    return Path(database).resolve()


def backup(db: Database, target: Path) -> BackupResult:
    """Copy the database to ``target`` (which must not exist), consistent while others write."""
    source_path = _sqlite_file(db, "backup")
    target = Path(target)
    if target.exists():
        raise BadInput(f"备份文件 {target} 已存在：请换一个文件名，不会覆盖已有的备份")
    if target.resolve() == source_path:
        raise BadInput("备份文件不能是数据库文件本身")
    if not target.parent.is_dir():
        raise BadInput(f"目录 {target.parent} 不存在：请先建立")
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            with db.engine.connect() as connection:
                connection.connection.driver_connection.backup(copy)  # every page in one step: one snapshot
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            _check_integrity(copy, target)
            pages = copy.execute("PRAGMA page_count").fetchone()[0]
        finally:
            copy.close()
        os.chmod(partial, 0o600)  # password hashes and web sessions are in it
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(str(target), target.stat().st_size, pages)


def _check_integrity(connection: sqlite3.Connection, path: Path) -> None:
    result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        raise BadInput(f"{path} 未通过 SQLite 完整性检查（{'；'.join(result[:3])}）：文件已损坏，不能使用")


def inspect_backup(path: Path) -> str:
    """The schema revision of a backup file, once it is known to be an intact approvals database."""
    from engine.store.migrate import script_directory  # import here: Alembic takes ~0.1 s to import

    path = Path(path)
    if not path.is_file():
        raise BadInput(f"备份文件 {path} 不存在")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BadInput(f"无法打开 {path}：{exc}") from None
    try:
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError:
            raise BadInput(f"{path} 不是 SQLite 数据库文件") from None
        _check_integrity(connection, path)
        missing = REQUIRED_TABLES - tables
        if missing:
            raise BadInput(f"{path} 不是本系统的数据库（缺少表 {'、'.join(sorted(missing))}）")
        revision = (connection.execute("SELECT version_num FROM alembic_version").fetchone() or [None])[0]
    finally:
        connection.close()
    known = {s.revision for s in script_directory().walk_revisions()}
    if revision not in known:
        raise BadInput(f"{path} 的结构版本 {revision} 不是本程序所知的版本：它可能来自更新的版本，请升级程序后再恢复")
    return revision


def restore(db: Database, source: Path, *, force: bool = False) -> RestoreResult:
    """Replace the configured SQLite database with the backup ``source``."""
    target_path = _sqlite_file(db, "restore")
    source = Path(source)
    revision = inspect_backup(source)
    if source.resolve() == target_path:
        raise BadInput("备份文件就是当前数据库文件本身，无需恢复")
    if not force and target_path.exists():
        cases, users = _counts(db)
        if cases or users:
            raise BadInput(f"数据库 {target_path} 中已有 {cases} 个办件、{users} 个用户，恢复会用备份覆盖它们。"
                           "请先停止 approvals serve 和定时扫描，并确认需要覆盖后加 --force；"
                           "或用 --db 恢复到一个新的数据库文件")
    backup_file = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        with db.engine.connect() as connection:
            # through SQLite onto the application's own connection: others see old or new, never a mix
            backup_file.backup(connection.connection.driver_connection)
    finally:
        backup_file.close()
    upgraded = db.create_schema().after
    with db.reader() as session:
        cases = session.scalar(select(func.count()).select_from(Case))
        entries = session.scalar(select(func.count()).select_from(HistoryEntry))
    return RestoreResult(str(target_path), revision, upgraded, cases, entries)


def _counts(db: Database) -> tuple[int, int]:
    try:
        with db.reader() as session:
            return (session.scalar(select(func.count()).select_from(Case)),
                    session.scalar(select(func.count()).select_from(User)))
    except OperationalError:  # no tables (a new or foreign file): no cases or users to lose
        return 0, 0
