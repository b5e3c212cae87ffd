"""``approvals db``: the schema's revision, upgrading it, and making a new revision.

Alembic is imported inside the commands: it takes ~0.1 s, and every other command loads this module."""
from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import create_engine

from engine.errors import BadInput

from .common import State, emit, json_option

_STATE_TEXT = {
    "empty": "数据库为空（执行 approvals db upgrade 建立全部表）",
    "unversioned": "数据库没有结构版本记录（由引入迁移之前的版本创建）；"
                   "执行 approvals db upgrade 将按表和列识别其结构版本（可识别：{unversioned}）并升级",
    "behind": "需要升级：执行 approvals db upgrade",
    "current": "已是最新",
    "unknown": "数据库的结构版本不在本程序的迁移脚本中：它可能来自更新的版本，请升级程序",
}


@click.group("db")
def db() -> None:
    """The database schema and its migrations (docs/cli.md)."""


@db.command("current")
@json_option
@click.pass_obj
def db_current(state: State, as_json: bool) -> None:
    """Show the schema revision of the database and the newest one this program knows."""
    from engine.store.migrate import UNVERSIONED, status  # import here: Alembic takes ~0.1 s to import

    out = status(state.db).to_dict()
    if as_json:
        emit(out)
        return
    click.echo(f"数据库：{state.db.url}")
    click.echo(f"当前结构版本：{out['current'] or '无'}（本程序最新：{out['head']}）")
    click.echo(_STATE_TEXT[out["state"]].format(unversioned="、".join(UNVERSIONED)))


@db.command("upgrade")
@json_option
@click.pass_obj
def db_upgrade(state: State, as_json: bool) -> None:
    """Bring the database to the newest schema; its cases stay as they are. A database made
    before migrations is recognised by its tables and columns and stamped first."""
    result = state.db.create_schema()
    out = result.to_dict()
    if as_json:
        emit(out)
        return
    if result.stamped:
        click.echo(f"数据库没有结构版本记录：已核对其表和列与结构版本 {result.stamped} 一致并标记"
                   + (f"，再升级到 {out['to']}" if out["to"] != result.stamped else ""))
    elif result.before.state == "empty":
        click.echo(f"已在空数据库中建立全部表（结构版本 {out['to']}）")
    elif out["changed"]:
        click.echo(f"已将数据库结构从 {out['from']} 升级到 {out['to']}")
    else:
        click.echo(f"数据库结构已是最新（{out['to']}），无需升级")


@db.command("history")
@json_option
def db_history(as_json: bool) -> None:
    """List the revisions from the baseline to the newest."""
    from engine.store.migrate import revisions  # import here: Alembic takes ~0.1 s to import

    rows = revisions()
    if as_json:
        emit(rows)
        return
    for r in rows:
        click.echo(f"{r['revision']}  {r['message'].strip().splitlines()[0] if r['message'] else ''}")


@db.command("revision")
@click.option("-m", "--message", required=True, help="这次结构变更做什么（英文短句，用作文件名）")
@click.option("--empty", is_flag=True, help="不比较模型，生成空白脚本（数据迁移等）")
def db_revision(message: str, empty: bool) -> None:
    """For developers: write the next revision (NNNN_message.py) into engine/store/migrations/versions,
    with the operations that bring a database at head to today's models. Review and edit it."""
    from alembic import command  # import here: Alembic takes ~0.1 s to import

    from engine.store import migrate  # import here: Alembic takes ~0.1 s to import

    versions = Path(migrate.__file__).resolve().parent / "migrations" / "versions"
    if not (versions.parents[3] / "setup.cfg").is_file():
        raise BadInput("只能在源代码目录中生成迁移脚本（pip install -e . 的安装方式）")
    revision_id = migrate.next_revision_id()
    scratch = create_engine("sqlite://")  # the schema at head, to compare the models with
    try:
        with scratch.begin() as connection:
            config = migrate.alembic_config(connection)
            command.upgrade(config, "head")
            script = command.revision(config, message, autogenerate=not empty, rev_id=revision_id)
    finally:
        scratch.dispose()
        migrate.script_directory.cache_clear()
    path = Path(script.path) if script is not None and not isinstance(script, list) else versions
    click.echo(f"已生成 {path}")
    click.echo("请检查并修改：PostgreSQL 专有的部分、数据迁移、case_history 的触发器；"
               "然后运行 python3 -m pytest tests/test_migrations.py")


def register(main: click.Group) -> None:
    main.add_command(db)
