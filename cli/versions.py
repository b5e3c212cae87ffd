"""An item's versions from the command line: list them with what changed, roll back, and migrate
running cases (``approvals migrate ITEM --to VERSION [--dry-run]``, or before deploying a
designer's draft ``approvals migrate ITEM --draft ID --dry-run``). The rules are in
engine/versions.py and engine/migration.py; this parses, calls and prints."""
from __future__ import annotations

import click

from engine.migration import plan, run
from engine.people import actor_for
from engine.versions import rollback, versions_view

from .common import State, emit, json_option, now_option


def _changes(summary: dict) -> str:
    if summary["first"]:
        return "首个版本"
    parts = [f"新增 {s['name']}（{s['id']}）" for s in summary["added"]]
    parts += [f"删除 {s['name']}（{s['id']}）" for s in summary["removed"]]
    parts += [f"修改 {s['name']}：{'，'.join(s['changes'])}" for s in summary["changed"]]
    return "；".join(parts) or "环节未变"


def _print_report(report) -> None:
    head = "试运行" if report.dry_run else "迁移"
    click.echo(f"{head}：{report.item_name}（{report.item}）迁移到{report.target}")
    if not report.cases:
        click.echo("没有需要迁移的办理中办件")
    for check in report.cases:
        where = "、".join(check.at_steps) or "无待办环节"
        if report.dry_run:
            state = "可迁移" if check.movable else "不能迁移：" + "；".join(check.reasons)
        else:
            state = "已迁移" if check.case in report.moved else "未迁移：" + "；".join(check.reasons)
        click.echo(f"  {check.case}  当前环节 {where}  {state}")
        if check.replay:
            click.echo(f"    重放：{check.replay}")
    if report.dry_run:
        click.echo(f"共 {len(report.cases)} 件，可迁移 {report.movable} 件（试运行，未作任何改动）")
    else:
        click.echo(f"共 {len(report.cases)} 件，已迁移 {len(report.moved)} 件，其余留在原版本")


def register(main: click.Group) -> None:
    @main.command("versions")
    @click.argument("item")
    @click.option("--user", "username", default="admin", show_default=True, help="管理员用户名")
    @json_option
    @click.pass_obj
    def versions(state: State, item: str, username: str, as_json: bool) -> None:
        """List ITEM's process versions, newest first, with what changed and which is current."""
        engine = state.engine()
        with state.db.reader() as session:
            view = versions_view(session, actor_for(session, username), item, engine.definition)
        if as_json:
            emit(view)
            return
        for v in view["versions"]:
            mark = "（当前）" if v["current"] else ""
            click.echo(f"第 {v['number']} 版{mark}  {v['deployed_at']}  {v['deployed_by_name']}  {v['hash'][:12]}  "
                       f"办理中 {v['running']} 件  {_changes(v['changes'])}")

    @main.command("rollback")
    @click.argument("item")
    @click.option("--to", "version", type=int, required=True, help="回退到的版本号")
    @click.option("--reason", required=True, help="回退理由")
    @click.option("--user", "username", default="admin", show_default=True, help="管理员用户名")
    @now_option
    @click.pass_obj
    def rollback_command(state: State, item: str, version: int, reason: str, username: str, now: str | None) -> None:
        """Make an earlier version of ITEM the one new cases start on (running cases stay)."""
        engine = state.engine(now)
        with state.db.transaction() as session:
            rollback(session, actor_for(session, username), item, version, at=engine.now(), reason=reason)
        click.echo(f"{item} 新办件从第 {version} 版开始；办理中的办件不变")

    @main.command("migrate")
    @click.argument("item")
    @click.option("--to", "version", type=int, help="目标版本号")
    @click.option("--draft", "draft", type=int, help="尚未部署的草稿编号（只能与 --dry-run 同用）")
    @click.option("--dry-run", is_flag=True, help="只列出每件能否迁移及原因，不作改动")
    @click.option("--reason", default="", help="迁移理由（真正迁移时必填，记入每件的办理历史）")
    @click.option("--no-replay", is_flag=True, help="试运行时不按目标版本重放历史（较快；正式迁移仍会重放，重放不同的办件不迁移）")
    @click.option("--user", "username", default="admin", show_default=True, help="管理员用户名")
    @now_option
    @json_option
    @click.pass_obj
    def migrate(state: State, item: str, version: int | None, draft: int | None, dry_run: bool, reason: str,
                no_replay: bool, username: str, now: str | None, as_json: bool) -> None:
        """Move ITEM's running cases to version VERSION: each that can, in its own transaction.
        With --draft ID --dry-run: what deploying that draft would mean for them, before deploying."""
        if (version is None) == (draft is None):
            raise click.UsageError("请用 --to 指定目标版本，或用 --draft 指定草稿（二者选一）")
        if draft is not None and not dry_run:
            raise click.UsageError("草稿尚未部署，办件不能迁移到草稿：请加 --dry-run 试运行，或先部署")
        engine = state.engine(now)
        with state.db.reader() as session:
            actor = actor_for(session, username)
        if dry_run:
            report = plan(engine, actor, item, version, draft=draft, at=engine.now(), replay=not no_replay)
        else:
            report = run(engine, actor, item, version, at=engine.now(), reason=reason)
        if as_json:
            emit(report.to_dict())
        else:
            _print_report(report)
