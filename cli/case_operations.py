"""Administrators operating running cases from the command line (engine/operations.py): suspend
(``case hold``) and resume (``case unhold``) a case, terminate or void it, suspend or resume a whole
item (``item hold`` / ``item unhold``), and list the failed timers (``incidents``). ``case suspend``
is the 特别程序 (time_limits.py). Moving back, skipping, correcting data and retrying a timer are
``approvals run rewind_case|skip_task|correct_case_data|retry_deadline|resolve_deadline``."""
from __future__ import annotations

import click

from engine.commands import ResumeCase, SuspendCase, TerminateCase, VoidCase
from engine.operations import resume_item, suspend_item
from engine.people import actor_for
from engine.read.incidents import incidents as incident_list

from .common import State, emit, json_option, now_option
from .time_limits import _case_command

admin_option = click.option("--user", "username", default="admin", show_default=True, help="操作的管理员")
reason_option = click.option("--reason", required=True, help="理由（记入办理记录）")


def _simple(name: str, command, describe, doc: str):
    @click.command(name)
    @click.argument("number")
    @reason_option
    @admin_option
    @now_option
    @json_option
    @click.pass_obj
    def run(state: State, number: str, reason: str, username: str, now: str | None, as_json: bool) -> None:
        _case_command(state, command(case=number, reason=reason), username, now, as_json, describe)

    run.__doc__ = doc
    return run


case_hold = _simple("hold", SuspendCase, lambda r: f"已挂起办件，暂停 {len(r['paused'])} 项时限",
                    "挂起 case NUMBER: nobody may act on it and its clocks and timers stand still.")
case_unhold = _simple("unhold", ResumeCase,
                      lambda r: "已恢复办件：" + ("，".join(f"{k} 顺延 {v} 个工作日" for k, v in r["stood_days"].items())
                                                 or "期限不变"),
                      "恢复 case NUMBER: its deadlines move by the working days it stood still.")
case_terminate = _simple("terminate", TerminateCase, lambda r: "已终止办件", "终止 case NUMBER (it ends, no decision).")
case_void = _simple("void", VoidCase, lambda r: "已作废办件", "作废 case NUMBER (registered by mistake).")


def _item_command(resume: bool):
    @click.command("unhold" if resume else "hold")
    @click.argument("code")
    @reason_option
    @admin_option
    @now_option
    @json_option
    @click.pass_obj
    def run(state: State, code: str, reason: str, username: str, now: str | None, as_json: bool) -> None:
        engine = state.engine(now)
        with state.db.reader() as session:
            actor = actor_for(session, username)
        report = (resume_item if resume else suspend_item)(engine, actor, code, reason)
        if as_json:
            emit(report.to_dict())
            return
        click.echo(f"已{'恢复' if resume else '暂停'}受理 {code}；{'恢复' if resume else '挂起'}办件 {len(report.done)} 件"
                   + (f"，跳过 {len(report.skipped)} 件" if report.skipped else ""))
        for failure in report.failed:
            click.echo(f"  {failure['case']}：{failure['error']}")

    run.__doc__ = ("恢复受理 item CODE and resume the cases suspended with it." if resume
                   else "暂停受理 item CODE: no new cases; each running case is suspended in its own transaction.")
    return run


@click.command("incidents")
@json_option
@click.pass_obj
def incidents(state: State, as_json: bool) -> None:
    """Failed timer firings (故障事件): retried by the sweep, or given up."""
    with state.db.reader() as session:
        rows = incident_list(session)
    if as_json:
        emit(rows)
        return
    if not rows:
        click.echo("没有故障事件")
    for i in rows:
        click.echo(f"{i['id']}\t{i['case']}\t{i['clock_label']}{i['kind_label']}\t{i['state_label']}（{i['attempts']} 次）"
                   f"\t{i['error']}")


def register(main: click.Group, case: click.Group) -> None:
    for command in (case_hold, case_unhold, case_terminate, case_void):
        case.add_command(command)
    item = main.commands["item"]
    item.add_command(_item_command(False))
    item.add_command(_item_command(True))
    main.add_command(incidents)
