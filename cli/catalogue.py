"""The catalogue of approval items."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from engine import content
from engine.catalogue import catalogue_rows, load_catalogue
from engine.guides import export_yaml, guide_view

from .common import State, emit, json_option, prepare_database


@click.group()
def catalogue() -> None:
    """Approval items (审批事项) described under processes/."""


@catalogue.command("load")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--bpmn", "bpmn_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="流程图目录（默认随程序发布的流程图）")
@click.option("--user", "username", default="admin", show_default=True)
@json_option
@click.pass_obj
def catalogue_load(state: State, directory: Path | None, bpmn_dir: Path | None, username: str,
                   as_json: bool) -> None:
    """Load every item file in DIRECTORY (default: the catalogue shipped with the program, processes/
    in the repository); a broken file is refused with its
    line and field and the others still load. Exit 1 when any file was refused."""
    prepare_database(state.db)
    report = load_catalogue(state.db, directory or content.catalogue(), bpmn_dir or content.diagrams(),
                            loaded_by=username, at=state.engine().now())
    if as_json:
        emit(report.to_dict())
    else:
        for row in report.loaded:
            change = f"新版本 {row['version']}" if row["new_version"] else f"流程未变（第 {row['version']} 版）"
            click.echo(f"已加载 {row['code']:<12} {row['name']}（{change}）")
        for error in report.refused:
            click.echo(f"错误：{error.message}", err=True)
    sys.exit(1 if report.refused else 0)


@catalogue.command("list")
@json_option
@click.pass_obj
def catalogue_list(state: State, as_json: bool) -> None:
    """The loaded items with their kind and limits."""
    with state.db.reader() as session:
        rows = catalogue_rows(session)
    if as_json:
        emit(rows)
        return
    for r in rows:
        deemed = "，超期默许" if r["deemed_approval"] else ""
        click.echo(f"{r['code']:<12} {r['name']:<22} {r['kind'] or '':<4} {r['department_name']:<12} "
                   f"法定 {r['statutory_days']} 个工作日，承诺 {r['promise']}{deemed}")


@catalogue.command("export")
@click.argument("code")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="写入文件（默认输出到标准输出）")
@click.pass_obj
def catalogue_export(state: State, code: str, out: Path | None) -> None:
    """Write item CODE back as its catalogue YAML file, with the guide and limits as edited in the
    web (loading it gives the same item)."""
    with state.db.reader() as session:
        text = export_yaml(guide_view(session, code)["entry"])
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"已导出 {code} 到 {out}")


def register(main: click.Group) -> None:
    main.add_command(catalogue)
