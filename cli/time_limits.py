"""Time-limit commands: the calendar, the timer sweep, a case's clocks, messages, item limits."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import select

from engine.clock import parse_datetime
from engine.commands import ExtendDeadline, ReceiveSupplement, RequestSupplement, ResumeClocks, SuspendClocks
from engine.deploy import set_time_policy
from engine.errors import NotFound
from engine.people import actor_for
from engine.read.queries import calendar_years as years
from engine.read.queries import case_clocks, get_case
from engine.read.queries import messages as inbox
from engine.runtime.values import parse_json_object
from engine.store.models import Item
from engine.timelimits.policy import policy_from_json
from engine.timelimits.schedule import import_schedule, parse_schedule
from engine.timelimits.workdays import WorkCalendar
from timers import sweep
from timers.scheduler import DEFAULT_INTERVAL, run_blocking

from .common import State, emit, json_option, now_option


@click.group()
def calendar() -> None:
    """Working-day calendar (法定节假日 and 调休)."""


def _work_calendar(state: State):
    with state.db.reader() as session:
        return WorkCalendar.load(session)


def _provisional(answer) -> str:
    years = "、".join(map(str, answer.unknown_years))
    return f"（暂定：{years} 年的节假日安排尚未导入，仅按周末计算）" if answer.provisional else ""


@calendar.command("add")
@click.argument("start", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("days", type=int)
@json_option
@click.pass_obj
def calendar_add(state: State, start, days: int, as_json: bool) -> None:
    """The date DAYS working days after START (START itself not counted)."""
    answer = _work_calendar(state).add(start.date(), days)
    if as_json:
        emit({"date": answer.value.isoformat(), "provisional": answer.provisional,
              "unknown_years": list(answer.unknown_years)})
    else:
        click.echo(f"{answer.value.isoformat()}{_provisional(answer)}")


@calendar.command("between")
@click.argument("start", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("end", type=click.DateTime(formats=["%Y-%m-%d"]))
@json_option
@click.pass_obj
def calendar_between(state: State, start, end, as_json: bool) -> None:
    """Working days after START up to and including END."""
    answer = _work_calendar(state).between(start.date(), end.date())
    if as_json:
        emit({"working_days": answer.value, "provisional": answer.provisional,
              "unknown_years": list(answer.unknown_years)})
    else:
        click.echo(f"{answer.value}{_provisional(answer)}")


@calendar.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", default="admin", show_default=True, help="导入人")
@json_option
@click.pass_obj
def calendar_import(state: State, file: Path, username: str, as_json: bool) -> None:
    """Import (or correct) one year's official schedule from a JSON FILE; deadlines it moves
    are recomputed and recorded in their cases' histories. A case that cannot be recomputed
    is listed (exit status 1); the others are recomputed all the same."""
    result = import_schedule(state.engine(), parse_schedule(file.read_bytes()), username)
    if as_json:
        emit(result)
        sys.exit(1 if result["failed"] else 0)
    click.echo(f"已导入 {result['year']} 年：放假 {result['days_off']} 天，调休上班 {result['makeup_days']} 天")
    click.echo(f"检查办件 {result['cases_checked']} 件，期限变动 {len(result['moved'])} 项")
    for m in result["moved"]:
        click.echo(f"  {m['case']} {m['deadline']}：{m['from']} → {m['to']}")
    for f in result["failed"]:
        click.echo(f"  {f['case']} 未能重算：{f['error']}（其余办件已重算；修复该办件后可重新导入本年）", err=True)
    if result["failed"]:
        sys.exit(1)


@calendar.command("years")
@json_option
@click.pass_obj
def calendar_years(state: State, as_json: bool) -> None:
    """The years whose official schedule is loaded."""
    with state.db.reader() as session:
        rows = years(session)
    if as_json:
        emit(rows)
        return
    for r in rows:
        click.echo(f"{r['year']}  放假 {r['days_off']:>2} 天  调休 {r['makeup_days']} 天  来源：{r['source']}")


@click.group()
def timers() -> None:
    """The deadline sweep."""


@timers.command("run")
@now_option
@click.option("--once", is_flag=True, help="只扫描一次后退出")
@click.option("--interval", default=None, type=int, help="扫描间隔（秒），默认 30")
@json_option
@click.pass_obj
def timers_run(state: State, now: str | None, once: bool, interval: int | None, as_json: bool) -> None:
    """Fire due deadlines: once (with --once or --now), or every INTERVAL seconds until stopped."""
    engine = state.engine(now)
    if once or now is not None:
        report = sweep(engine, parse_datetime(now) if now else None)
        if as_json:
            emit(report.to_dict())
        else:
            click.echo(f"{report.at.isoformat()}：触发 {report.fired} 项，跳过 {report.skipped} 项，"
                       f"失败 {len(report.failed)} 项")
            for f in report.failed:
                click.echo(f"  期限 {f['deadline']}：{f['error']}", err=True)
        return
    click.echo(f"定时扫描：每 {interval or DEFAULT_INTERVAL} 秒一次，Ctrl-C 停止")
    run_blocking(engine, interval or DEFAULT_INTERVAL)


def _case_command(state: State, command, username: str, now: str | None, as_json: bool, describe) -> None:
    engine = state.engine(now)
    with state.db.reader() as session:
        actor = actor_for(session, username)
    result = engine.execute(command, actor)
    if as_json:
        emit(result)
    else:
        click.echo(describe(result))


user_option = click.option("--user", "username", required=True, help="操作人")


@click.command("supplement")
@click.argument("number")
@click.option("--material", "materials", multiple=True, required=True, help="需补正的材料，可重复，一次列全")
@click.option("--note", default="", help="说明")
@user_option
@now_option
@json_option
@click.pass_obj
def case_supplement(state: State, number: str, materials: tuple[str, ...], note: str, username: str,
                    now: str | None, as_json: bool) -> None:
    """一次性告知: list every missing material of case NUMBER."""
    _case_command(state, RequestSupplement(case=number, materials=materials, note=note), username, now, as_json,
                  lambda r: f"已一次性告知补正 {len(r['materials'])} 项材料")


@click.command("receive")
@click.argument("number")
@click.option("--note", default="", help="说明")
@user_option
@now_option
@json_option
@click.pass_obj
def case_receive(state: State, number: str, note: str, username: str, now: str | None, as_json: bool) -> None:
    """Register that the complete supplement of case NUMBER has arrived."""
    _case_command(state, ReceiveSupplement(case=number, note=note), username, now, as_json,
                  lambda r: f"已登记补正材料；受理期限至 {r['acceptance_due']}")


@click.command("suspend")
@click.argument("number")
@click.option("--kind", required=True, help="hearing 听证、tender 招标、auction 拍卖、inspection 检验、testing 检测、"
                                            "quarantine 检疫、appraisal 鉴定、expert_review 专家评审")
@click.option("--days", required=True, type=int, help="所需工作日")
@click.option("--reason", required=True, help="告知申请人的说明")
@user_option
@now_option
@json_option
@click.pass_obj
def case_suspend(state: State, number: str, kind: str, days: int, reason: str, username: str, now: str | None,
                 as_json: bool) -> None:
    """Stop the clocks of case NUMBER for a suspended period (特别程序)."""
    _case_command(state, SuspendClocks(case=number, kind=kind, days=days, reason=reason), username, now, as_json,
                  lambda r: f"已中止计时，预计至 {r['until']}")


@click.command("resume")
@click.argument("number")
@user_option
@now_option
@json_option
@click.pass_obj
def case_resume(state: State, number: str, username: str, now: str | None, as_json: bool) -> None:
    """End the suspended period of case NUMBER; its clocks go on."""
    _case_command(state, ResumeClocks(case=number), username, now, as_json,
                  lambda r: "已恢复计时：" + "，".join(f"{k} 顺延 {v} 个工作日" for k, v in r["stood_days"].items()))


@click.command("extend")
@click.argument("number")
@click.option("--reason", required=True, help="延期理由（告知申请人）")
@click.option("--days", type=int, help="延长的工作日（默认为事项允许的上限）")
@user_option
@now_option
@json_option
@click.pass_obj
def case_extend(state: State, number: str, reason: str, days: int | None, username: str, now: str | None,
                as_json: bool) -> None:
    """延期: extend the decision limit of case NUMBER once (the 负责人 only)."""
    _case_command(state, ExtendDeadline(case=number, reason=reason, days=days), username, now, as_json,
                  lambda r: f"已延期 {r['days']} 个工作日，至 {r['until']}")


@click.command("deadlines")
@click.argument("number")
@json_option
@click.pass_obj
def case_deadlines(state: State, number: str, as_json: bool) -> None:
    """The clocks and deadlines of case NUMBER."""
    with state.db.reader() as session:
        rows = case_clocks(session, get_case(session, number))
    if as_json:
        emit(rows)
        return
    for c in rows:
        click.echo(f"{c['label']}（{c['state_name']}{'，' + c['outcome'] if c['outcome'] else ''}）"
                   f" 起算 {c['started_on']}，{c['limit_days']} 个工作日")
        for d in c["deadlines"]:
            mark = "（暂定）" if d["provisional"] else ""
            click.echo(f"    {d['due_on']}{mark} {d['label']:<8} {d['state_name']}")


@click.command()
@click.option("--user", "username", required=True)
@click.option("--unread", is_flag=True, help="只列未读")
@json_option
@click.pass_obj
def messages(state: State, username: str, unread: bool, as_json: bool) -> None:
    """A user's in-app messages (站内消息)."""
    with state.db.reader() as session:
        rows = inbox(session, actor_for(session, username).user_id, unread_only=unread)
    if as_json:
        emit(rows)
        return
    for m in rows:
        click.echo(f"{m['created_at'][:16]} {'  ' if m['read'] else '* '}{m['title']}")


@click.group()
def item() -> None:
    """Approval items."""


@item.command("limits")
@click.argument("code")
@click.option("--set", "settings", metavar="JSON", help="新的时限设置（JSON），如 "
              "'{\"statutory_days\": 20, \"promised_days\": 8}'")
@json_option
@click.pass_obj
def item_limits(state: State, code: str, settings: str | None, as_json: bool) -> None:
    """Show, or with --set change, the time limits of item CODE."""
    with state.db.transaction() as session:
        if settings is not None:
            policy = set_time_policy(session, code, parse_json_object(settings))
        else:
            row = session.scalar(select(Item).where(Item.code == code))
            if row is None:
                raise NotFound(f"审批事项 {code} 不存在")
            policy = policy_from_json(row.time_policy)
    out = policy.to_dict()
    if as_json:
        emit(out)
        return
    click.echo(f"法定时限 {out['statutory_days']} 个工作日；承诺时限 "
               f"{out['promised_days'] or '未设'}；受理 {out['acceptance_days']}；发证 {out['issue_days']}；"
               f"可延期 {out['extension_days']}；超期默许 {'是' if out['deemed_approval'] else '否'}")


def register(main: click.Group, case: click.Group) -> None:
    for group in (calendar, timers, item):
        main.add_command(group)
    main.add_command(messages)
    for command in (case_supplement, case_receive, case_suspend, case_resume, case_extend, case_deadlines):
        case.add_command(command)
