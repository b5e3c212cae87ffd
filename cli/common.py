"""What every ``approvals`` command shares: the database, the engine, output and errors."""
from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from engine import Database, Engine, FixedClock
from engine.clock import SystemClock, parse_datetime
from engine.errors import ApprovalError, TimeOrderError
from engine.timelimits.workdays import seed_from_chinesecalendar


class State:
    """Per-invocation objects, created on first use."""

    def __init__(self, url: str | None):
        self.url = url
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.url)
        return self._db

    def engine(self, now: str | None = None) -> Engine:
        """An engine on the real clock, or on ``--now`` where the database is a simulation."""
        if now is None:
            return Engine(self.db, SystemClock())
        if not self.db.is_simulation():
            raise TimeOrderError("--now 只能用于模拟数据库（approvals init-db --simulation 创建）")
        return Engine(self.db, FixedClock(parse_datetime(now)))


def prepare_database(db: Database, *, simulation: bool = False) -> str:
    """The schema brought to the newest revision, and the official holiday schedule for every
    year the calendar library covers. Returns the schema revision."""
    result = db.create_schema(simulation=simulation)
    with db.transaction() as session:
        seed_from_chinesecalendar(session)
    db.optimize()
    return result.after


def emit(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


class ApprovalsGroup(click.Group):
    """Turns the engine's refusals into a message and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ApprovalError as exc:
            if "--json" in sys.argv:
                emit(printable(exc.to_dict()))
            click.echo(f"错误：{printable(exc.message)}", err=True)
            ctx.exit(1)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception:
            # Never a traceback for people: a Chinese line and status 1 (APPROVALS_DEBUG=1 shows it).
            if os.environ.get("APPROVALS_DEBUG"):
                raise
            click.echo("错误：系统内部错误，操作未完成。"
                       "请检查输入后重试；如仍不成功，请设置 APPROVALS_DEBUG=1 重新运行并把输出交给管理员。", err=True)
            ctx.exit(1)


def printable(value: Any) -> Any:
    """Text that can be printed: an argument that was not UTF-8 reaches us as surrogate escapes,
    which would make printing it fail; they are shown as ``\\xNN``."""
    if isinstance(value, str):
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate that no undecodable byte stands for
            raw = value.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {k: printable(v) for k, v in value.items()}
    return value


now_option = click.option("--now", metavar="ISO-DATETIME",
                          help="操作发生的时间（仅限 --simulation 数据库）")
json_option = click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
