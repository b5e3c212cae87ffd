"""Every operation of the web, scriptable: run any command by its type, see what a user is
offered on a task, mark messages read.

``approvals run TYPE --user NAME --input JSON`` runs the same command the web runs, through
the same ``Engine.execute``, with the same policy check and history entry; with ``--now`` on a
simulation database a whole day's work can be scripted and replayed.
"""
from __future__ import annotations

import json
from dataclasses import fields

import click

from engine import Actor
from engine.alerts import mark_read
from engine.clock import china_date
from engine.commands import COMMANDS
from engine.errors import BadInput
from engine.people import actor_for
from engine.read.views import task_view
from engine.runtime.values import parse_json_object

from .common import State, emit, json_option, now_option


def _actor(state: State, username: str | None, applicant: str | None, system: str | None,
           on_behalf_of: str | None = None) -> Actor:
    given = [v for v in (username, applicant, system) if v]
    if len(given) != 1:
        raise BadInput("请用 --user、--applicant 或 --system 中的一个指明由谁操作")
    if applicant:
        return Actor.applicant(applicant)
    if system:
        return Actor.system(system)
    with state.db.reader() as session:
        return actor_for(session, username, on_behalf_of=on_behalf_of)


def _describe(value) -> object:
    """A JSON-friendly view of what a command returned."""
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    if hasattr(value, "spiff_id"):  # a task row
        return {"task": value.id, "name": value.name, "state": value.state}
    if hasattr(value, "number"):  # a case row
        return {"case": value.number, "state": value.state}
    return str(value)


@click.command("run")
@click.argument("command_type", metavar="TYPE")
@click.option("--user", "username", help="操作的工作人员（用户名）")
@click.option("--applicant", help="以申请人身份操作（姓名或单位名称）")
@click.option("--system", help="以系统身份操作（例如 timer、calendar）")
@click.option("--input", "input_text", default="{}", show_default=True, help="命令的输入（JSON 对象）")
@now_option
@json_option
@click.pass_obj
def run(state: State, command_type: str, username: str | None, applicant: str | None, system: str | None,
        input_text: str, now: str | None, as_json: bool) -> None:
    """Run any command by its TYPE (see `approvals commands`), as the web would."""
    cls = COMMANDS.get(command_type)
    if cls is None:
        raise BadInput(f"没有命令 {command_type}；可用的命令见 approvals commands")
    inputs = parse_json_object(input_text, "--input")
    known = {f.name for f in fields(cls)}
    minted = sorted(set(inputs) & (set(cls.unrecorded) & MINTED))
    if minted:  # numbers and keys the engine draws itself (a replay passes the recorded ones)
        raise BadInput(f"命令 {command_type} 的 {'、'.join(minted)} 由系统生成，不能指定")
    unknown = sorted(set(inputs) - known)
    if unknown:
        raise BadInput(f"命令 {command_type} 没有输入 {'、'.join(unknown)}；可用：{'、'.join(sorted(known))}")
    for name, value in inputs.items():
        if isinstance(value, list):
            inputs[name] = tuple(value)
    try:
        command = cls(**inputs)
    except TypeError as exc:
        raise BadInput(f"命令 {command_type} 的输入不完整：{exc}") from None
    engine = state.engine(now)
    value = engine.execute(command, _actor(state, username, applicant, system))
    if as_json:
        emit({"command": command_type, "label": cls.label, "value": _describe(value)})
    else:
        click.echo(f"已{cls.label}：{json.dumps(_describe(value), ensure_ascii=False)}")


#: inputs that are drawn by the engine (case key and number, document numbers), never given
MINTED = frozenset({"key", "number", "document"})


@click.command("commands")
@json_option
def commands(as_json: bool) -> None:
    """List every command: its type, label, who may run it, and its inputs."""
    rows = [{"type": t, "label": c.label, "policy": c.policy.name, "who": c.policy.label,
             "inputs": [f.name for f in fields(c)]} for t, c in sorted(COMMANDS.items())]
    if as_json:
        emit(rows)
        return
    for r in rows:
        click.echo(f"{r['type']:<20} {r['label']:<10} {r['who']}；输入：{', '.join(r['inputs'])}")


@click.command("view")
@click.argument("task_id", type=int)
@click.option("--user", "username", required=True, help="以该用户身份查看")
@json_option
@click.pass_obj
def task_view_command(state: State, task_id: int, username: str, as_json: bool) -> None:
    """What the task page shows USER: form, next steps, return targets, people to pick, operations."""
    engine = state.engine()
    with state.db.reader() as session:
        actor = actor_for(session, username)
        view = task_view(session, actor, task_id, engine.definition, today=china_date(engine.now()),
                         calendar=engine.calendar(session))
        out = {"task": view.task, "form": [f.id for f in view.form], "stage": view.stage,
               "operations": sorted(view.operations), "next_steps": view.next_steps,
               "return_targets": [{"element": e, "name": n} for e, n in view.return_targets],
               "transfer_to": [p.username for p in view.transfer_to],
               "delegate_to": [p.username for p in view.delegate_to], "draft": view.values,
               "due": view.due, "why": view.why, "earlier": view.earlier}
    if as_json:
        emit(out)
        return
    click.echo(f"{out['task']['name']}（办件 {out['task']['case']}）{' ' + view.due['text'] if view.due.get('text') else ''}")
    for why in out["why"]:
        click.echo(f"{why['title']}：{why['text']}{'：' + why['said'] if why['said'] else ''}")
    click.echo(f"可用操作：{'、'.join(COMMANDS[t].label for t in out['operations']) or '无'}")
    for step in out["next_steps"]:
        click.echo(f"下一环节：{step['name']}（{step['who']}）")


@click.command("read")
@click.option("--user", "username", required=True, help="用户名")
@click.option("--id", "message_id", type=int, help="只标记这一条（默认全部）")
@now_option
@json_option
@click.pass_obj
def messages_read(state: State, username: str, message_id: int | None, now: str | None, as_json: bool) -> None:
    """Mark a user's messages as read."""
    engine = state.engine(now)
    with state.db.transaction() as session:
        actor = actor_for(session, username)
        count = mark_read(session, actor.user_id, engine.now(), message_id)
    if as_json:
        emit({"marked": count})
    else:
        click.echo(f"已标记 {count} 条消息为已读")


def register(main: click.Group) -> None:
    main.add_command(run)
    main.add_command(commands)
    task = click.Group("task", help="Tasks: what a user is offered on one.")
    task.add_command(task_view_command)
    main.add_command(task)
    messages = main.commands.get("messages")
    if isinstance(messages, click.Group):
        messages.add_command(messages_read)
    else:  # `messages` lists; `messages-read` marks
        main.add_command(messages_read, "messages-read")
