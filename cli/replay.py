"""Export and replay case histories (testers)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from sqlalchemy import select

from engine.errors import BadInput, NotFound
from engine.read.queries import get_case
from engine.replay import Replayer, export_case, load_history, replay_item
from engine.store.models import Item, ProcessVersion

from .common import State, emit, json_option


@click.command("export")
@click.argument("number")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="写入文件（默认输出到屏幕）")
@click.pass_obj
def case_export(state: State, number: str, output: Path | None) -> None:
    """Export case NUMBER's history as one JSON file, for replay."""
    with state.db.reader() as session:
        history = export_case(session, get_case(session, number))
    text = json.dumps(history, ensure_ascii=False, indent=1, sort_keys=True) + "\n"  # stable on any database
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            folder = output.parent
            reason = (f"文件夹 {folder} 不存在，请先创建它或换一个路径" if not folder.is_dir()
                      else f"{exc.strerror or exc}，请检查路径和权限")
            raise BadInput(f"无法写入 {output}：{reason}") from None
        click.echo(f"已导出 {number}：{len(history['commands'])} 条命令 → {output}")


def _candidate(state: State, against: str | None, item_code: str) -> tuple[bytes | None, str | None]:
    """--against: a BPMN file, or a version (number or hash) of the item in the database."""
    if against is None:
        return None, None
    path = Path(against)
    if path.suffix == ".bpmn" or path.is_file():
        if not path.is_file():
            raise NotFound(f"文件 {against} 不存在")
        return path.read_bytes(), path.name

    with state.db.reader() as session:
        query = select(ProcessVersion).join(Item).where(Item.code == item_code)
        query = query.where(ProcessVersion.version == int(against)) if against.isdigit() else \
            query.where(ProcessVersion.content_hash.startswith(against))
        version = session.scalar(query)
        if version is None:
            raise NotFound(f"审批事项 {item_code} 没有版本 {against}")
        xml = session.scalar(select(ProcessVersion.bpmn_xml).where(ProcessVersion.id == version.id))
        return xml.encode("utf-8"), version.filename


@click.command()
@click.argument("source", required=False)
@click.option("--against", metavar="VERSION|FILE.bpmn", help="候选流程：BPMN 文件，或数据库中该事项的版本号/哈希")
@click.option("--item", "item_code", help="重放该事项的全部办件（须同时给出 --against）")
@click.option("--jobs", type=click.IntRange(1, 256), help="批量重放用的进程数（默认每个 CPU 核一个）")
@json_option
@click.pass_obj
def replay(state: State, source: str | None, against: str | None, item_code: str | None, jobs: int | None,
           as_json: bool) -> None:
    """Replay a history FILE or a CASE number (default: against the version it ran on); with --item,
    every case of the item against a candidate, one process per core. Exit 0 when identical, 1 at
    the first divergence."""
    if item_code:
        if source or not against:
            raise BadInput("批量重放的用法：approvals replay --item 事项代码 --against 候选.bpmn")
        bpmn, filename = _candidate(state, against, item_code)
        report = replay_item(state.db, item_code, bpmn, filename, processes=jobs)
        counts = report.counts()
        if as_json:
            emit({"item": item_code, "against": against, **counts, "processes": report.processes,
                  "histories_per_s": report.histories_per_s, "cases": [r.to_dict() for r in report.rows]})
        else:
            names = {"same": "一致", "diverged": "分歧", "failed": "失败"}
            for r in report.rows:
                # a divergence's message names its command and goes on with what was expected and
                # what happened, as the single-case mode prints it (indented under the case's line)
                lines = r.message.splitlines() if r.message else [""]
                where = f"第 {r.seq} 条命令 " if r.seq and not lines[0].startswith("第 ") else ""
                click.echo(f"{r.case:<28} {names[r.outcome]:<4} {where}{lines[0]}".rstrip())
                for line in lines[1:]:
                    click.echo(f"{'':<28}   {line}")
            click.echo(f"共 {len(report.rows)} 件：一致 {counts['same']}，分歧 {counts['diverged']}，失败 {counts['failed']}"
                       f"（{report.processes} 个进程，每秒 {report.histories_per_s} 件）")
        sys.exit(0 if counts["diverged"] == counts["failed"] == 0 else 1)
    if not source:
        raise BadInput("请给出历史文件或办件编号，或用 --item 批量重放")
    path = Path(source)
    if path.is_file():
        history = load_history(path.read_bytes())
    else:
        with state.db.reader() as session:
            history = export_case(session, get_case(session, source))
    bpmn, filename = _candidate(state, against, history["item"]["code"])
    result = Replayer().replay(history, bpmn, filename)
    if as_json:
        emit(result.to_dict())
    elif result.same:
        click.echo(result.summary())
    else:
        click.echo(result.summary(), err=True)
    sys.exit(0 if result.same else 1)


def register(main: click.Group, case: click.Group) -> None:
    main.add_command(replay)
    case.add_command(case_export)
