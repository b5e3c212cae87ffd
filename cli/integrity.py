"""Integrity and backups: ``approvals audit verify``, ``approvals check``, ``approvals backup``,
``approvals restore`` (docs/cli.md, docs/operations.md). The rules are in engine/audit.py,
engine/integrity.py and engine/store/backup.py; these commands parse, call and print.

``audit verify`` and ``check`` exit with status 1 when they find something wrong."""
from __future__ import annotations

import json
from pathlib import Path

import click

from engine.audit import verify
from engine.errors import BadInput
from engine.integrity import check as check_cases
from engine.store.backup import backup as backup_database, restore as restore_database

from .common import State, emit, json_option


@click.group("audit")
def audit() -> None:
    """The tamper-evident case history (docs/security.md)."""


@audit.command("verify")
@click.argument("number", metavar="[CASE]", required=False)
@click.option("--against", "kept_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="与之前保存的链头核对（audit verify --json 的输出文件，保存在数据库之外）")
@json_option
@click.pass_context
def audit_verify(ctx: click.Context, number: str | None, kept_file: Path | None, as_json: bool) -> None:
    """Check the hash chain of every case's history, or of CASE; name the first entry that does not match.
    With --against, also check that the heads saved earlier are still in the chains."""
    state: State = ctx.obj
    kept = _kept_heads(kept_file) if kept_file is not None else None
    with state.db.reader() as session:
        report = verify(session, number, kept)
    if as_json:
        emit(report.to_dict())
    else:
        if number is not None and not report.cases:
            click.echo(f"错误：办件 {number} 不存在", err=True)
            ctx.exit(1)
        bad = {f.case: f for f in report.findings}
        for case, head in report.heads.items():
            click.echo(f"{case}  不符  {bad[case].message()}" if case in bad else f"{case}  一致（{head['seq']} 条）")
        click.echo(f"共 {report.cases} 个办件、{report.entries} 条历史记录："
                   + ("哈希链全部一致" if not report.findings else f"{len(report.findings)} 个办件的历史被改动，请从备份核对"))
        if report.missing_guards:
            click.echo(f"警告：{report.guards_message()}", err=True)
    if not report.ok or (number is not None and not report.cases):
        ctx.exit(1)


def _kept_heads(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path} 不是有效的 JSON：{exc}") from None
    heads = data.get("heads") if isinstance(data, dict) else None
    if not isinstance(heads, dict):
        raise BadInput(f"{path} 不是 approvals audit verify --json 的输出（缺少 heads）")
    return heads


@click.command("check")
@click.argument("number", metavar="[CASE]", required=False)
@json_option
@click.pass_context
def check(ctx: click.Context, number: str | None, as_json: bool) -> None:
    """Check every case (or CASE): history seq without gaps, ready tasks match the workflow, stored state
    equals a replay of the history, armed deadlines belong to live cases."""
    state: State = ctx.obj
    report = check_cases(state.db, number)
    if as_json:
        emit(report.to_dict())
    else:
        for problem in report.problems:
            click.echo(f"{problem.case}  [{problem.kind}]  {problem.message}")
        if report.not_replayable:
            click.echo(f"早期办件的历史没有保存命令输入，未重放核对：{'、'.join(report.not_replayable)}")
        click.echo(f"共核对 {report.cases} 个办件：" + ("全部一致" if report.ok else f"发现 {len(report.problems)} 个问题"))
    if not report.ok or (number is not None and not report.cases):
        if number is not None and not report.cases and not as_json:
            click.echo(f"错误：办件 {number} 不存在", err=True)
        ctx.exit(1)


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def backup(state: State, file: Path, as_json: bool) -> None:
    """Copy the SQLite database to FILE while the server runs (PostgreSQL: pg_dump)."""
    result = backup_database(state.db, file)
    if as_json:
        emit(result.to_dict())
    else:
        click.echo(f"已备份到 {result.path}（{result.size} 字节）")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="覆盖已有办件或用户的数据库（先停止 serve 和定时扫描）")
@json_option
@click.pass_obj
def restore(state: State, file: Path, force: bool, as_json: bool) -> None:
    """Replace the SQLite database with the backup FILE (checked first); then run check and audit verify."""
    result = restore_database(state.db, file, force=force)
    if as_json:
        emit(result.to_dict())
    else:
        click.echo(f"已从 {file} 恢复到 {result.path}：{result.cases} 个办件、{result.entries} 条历史记录"
                   f"（结构版本 {result.revision}" + (f"，已升级到 {result.upgraded_to}）" if result.upgraded_to != result.revision else "）"))
        click.echo("请再运行 approvals check 和 approvals audit verify 核对")


def register(main: click.Group) -> None:
    main.add_command(audit)
    main.add_command(check)
    main.add_command(backup)
    main.add_command(restore)
