"""The ``approvals`` command line. JSON shapes are documented in docs/cli.md.

Exit status: 0 done; 1 refused (the reason is printed to stderr, and with
``--json`` as a JSON object on stdout); 2 wrong usage.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from sqlalchemy import func, select

from cli.demo import DEMO_APPLICANT, DEMO_APPLICANT_PASSWORD, DEMO_PASSWORD, USERS, is_seeded, logins, seed
from cli.demo_cases import Seeded, loaded_at, seed_cases
from engine import Actor, Engine
from engine.clock import SystemClock
from engine.commands import ClaimTask, CompleteTask, ReleaseTask, StartCase
from engine.deploy import deploy as deploy_file
from engine.errors import ApprovalError, BadInput
from engine.commands.organisation import (AddDepartment, AddUser, DeactivateDepartment, EditUser, MoveDepartment,
                                         ReactivateDepartment, ReactivateUser, RenameDepartment,
                                         ResetApplicantPassword, ResetPassword, SetBackup)
from engine.organisation import deactivate_user
from engine.people import actor_for, user_by_name
from engine.read.queries import case_dict, get_case, get_task, history_dicts, ready_tasks, task_dict, user_dict
from engine.read.queries import case_history as history
from engine.catalogue import shipped_policy
from engine.runtime.definitions import parse_cached
from engine.runtime.lint import lint as lint_bpmn
from engine.timelimits.policy import policy_from_json
from engine.runtime.values import parse_json_object
from engine.store.models import Item, User
from timers.scheduler import DEFAULT_INTERVAL, start_background

from . import case_operations, catalogue, integrity, operations, replay, time_limits, versions
from .common import ApprovalsGroup, State, emit, json_option, now_option, prepare_database, printable
from .db import register as register_db_commands


@click.group(cls=ApprovalsGroup)
@click.option("--db", "url", envvar="APPROVALS_DATABASE_URL", metavar="URL",
              help="数据库 URL（默认 sqlite:///instance/approvals.db；环境变量 APPROVALS_DATABASE_URL）")
@click.pass_context
def main(ctx: click.Context, url: str | None) -> None:
    """行政审批流程引擎 approvals."""
    ctx.obj = State(url)


@main.command("init-db")
@click.option("--simulation", is_flag=True, help="模拟数据库：允许各命令用 --now 指定时间")
@click.pass_obj
def init_db(state: State, simulation: bool) -> None:
    """Create the tables, or bring them to the newest schema (like ``db upgrade``)."""
    revision = prepare_database(state.db, simulation=simulation)
    click.echo(f"数据库已就绪：{state.db.url}（结构版本 {revision}）" + ("（模拟模式）" if simulation else ""))


@main.command()
@click.option("--cases", is_flag=True, help="同时生成演示办件（近两个多月、各审批事项、各办理环节和结果）")
@click.pass_obj
def demo(state: State, cases: bool) -> None:
    """Load the demo departments, users and processes into an empty database; with --cases also
    the demo cases that ``serve --demo`` loads."""
    prepare_database(state.db)
    seeded = _seed_demo(state, cases)
    if seeded is None:
        click.echo("数据库中已有数据，未加载演示数据")
        return
    click.echo("演示数据已加载" + (f"；{_cases_line(seeded)}" if seeded.cases else ""))


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--item", "item_code", required=True, help="审批事项代码")
@click.option("--department", help="所属部门代码（首次部署该事项时必填）")
@click.option("--name", "item_name", help="事项名称（首次部署时使用，默认取流程名）")
@click.option("--user", "username", default="admin", show_default=True, help="部署人")
@now_option
@json_option
@click.pass_obj
def deploy(state: State, file: Path, item_code: str, department: str | None, item_name: str | None,
           username: str, now: str | None, as_json: bool) -> None:
    """Validate FILE and store it as a new version of an item."""
    engine = state.engine(now)
    content = file.read_bytes()
    # Validate first (this evaluates the constant parts of its expressions, up to a second each)
    # outside the write transaction; deploy_file then finds the parsed diagram in the cache.
    parse_cached(content, file.name)
    with state.db.transaction() as session:
        result = deploy_file(session, content, file.name, item_code, deployed_by=username,
                             at=engine.now(), department_code=department, item_name=item_name)
        version = result.version
        out = {"item": item_code, "version": version.version, "hash": version.content_hash,
               "process": version.process_id, "created": result.created, "warnings": result.definition.warnings}
    if as_json:
        emit(out)
    else:
        verb = "已部署" if result.created else "内容未变，沿用"
        click.echo(f"{verb} {item_code} 第 {out['version']} 版（{out['hash'][:12]}）")
        for warning in out["warnings"]:
            click.echo(f"提示：{warning}")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--item", "item_code", help="按该事项（数据库中）的时限校验；默认按随产品提供的事项目录中引用该文件的事项")
@json_option
@click.pass_obj
def lint(state: State, files: tuple[Path, ...], item_code: str | None, as_json: bool) -> None:
    """Validate BPMN files without storing anything: every problem, with where and what to do."""
    policy = None
    if item_code:
        with state.db.reader() as session:
            item = session.scalar(select(Item).where(Item.code == item_code))
            if item is None:
                raise BadInput(f"审批事项 {item_code} 不存在")
            policy = policy_from_json(item.time_policy)
    results, failed = [], False
    for file in files:
        report = lint_bpmn(file.read_bytes(), str(file), policy or shipped_policy(file.name))
        failed = failed or not report.ok
        result = report.to_dict()
        if report.errors:  # the first error also at the top, as before
            first = report.errors[0]
            result.update(element=first.element, line=first.line, reason=first.reason,
                          message=f"{file}：{first.where}：{first.reason}")
        results.append(result)
    if as_json:
        emit(results)
    else:
        for file, r in zip(files, results):
            if r["ok"]:
                click.echo(f"{r['file']}: 通过（流程 {r['process']}，{r['user_tasks']} 个用户任务"
                           f"{'，' + str(r['warnings']) + ' 条提示' if r['warnings'] else ''}）")
            else:
                click.echo(f"{r['file']}: 错误 {r['errors']} 处，提示 {r['warnings']} 条", err=True)
            for p in r["problems"]:
                line = f"{r['file']}:{p['line']}" if p["line"] else r["file"]
                click.echo(f"  {line}：{p['severity_label']}：{p['where']}：{p['reason']}\n    怎么改：{p['fix']}",
                           err=p["severity"] == "error")
    if failed:
        sys.exit(1)


@main.group()
def user() -> None:
    """Users."""


#: who changes the organisation from the server's command line (recorded in administration_acts)
CLI_ACTOR = Actor.system("cli")


def _organisation(state: State, command, now: str | None = None):
    """Run an organisation command as the server's command line: the same command, rules and record
    as the web pages (engine/commands/organisation.py)."""
    return state.engine(now).execute(command, CLI_ACTOR)


@user.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="角色代码或名称，可重复")
@click.option("--department", required=True, help="部门代码")
@click.option("--password", help="登录密码（不设则不能登录网页）")
@click.option("--temporary-password", is_flag=True, help="生成一次性临时密码（显示一次，首次登录须修改）")
@click.option("--display-name", help="姓名（默认同登录名）")
@click.pass_obj
def user_add(state: State, username: str, roles: tuple[str, ...], department: str, password: str | None,
             temporary_password: bool, display_name: str | None) -> None:
    """Add a user."""
    _, temporary = _organisation(state, AddUser(username=username, display_name=display_name or username,
                                                department=department, roles=roles, password=password or "",
                                                temporary_password=temporary_password))
    click.echo(f"已添加用户 {username}")
    if temporary:
        click.echo(f"临时密码（只显示这一次，首次登录须修改）：{temporary}")


def _ab(state: State, username: str) -> tuple[str, bool]:
    with state.db.reader() as session:
        row = user_by_name(session, username)
        backup = session.get(User, row.backup_id) if row.backup_id else None
        return (backup.username if backup else ""), row.away


@user.command("backup")
@click.argument("username")
@click.option("--to", "backup", help="B 岗用户名")
@click.option("--none", "clear", is_flag=True, help="取消 B 岗")
@click.pass_obj
def user_backup(state: State, username: str, backup: str | None, clear: bool) -> None:
    """AB岗: name the colleague who stands in while USERNAME is away."""
    if bool(backup) == clear:
        raise BadInput("请给出 --to 用户名，或 --none")
    _, away = _ab(state, username)
    _organisation(state, SetBackup(username=username, backup="" if clear else backup, away=away and not clear))
    click.echo(f"{username} 的 B 岗：{'无' if clear else backup}")


@user.command("away")
@click.argument("username")
@click.option("--back", is_flag=True, help="回岗")
@click.pass_obj
def user_away(state: State, username: str, back: bool) -> None:
    """Mark USERNAME away (their tasks show in their backup's inbox) or, with --back, back."""
    backup, _ = _ab(state, username)
    _organisation(state, SetBackup(username=username, backup=backup, away=not back))
    click.echo(f"{username} {'已回岗' if back else '已离岗，由 B 岗代办'}")


@user.command("edit")
@click.argument("username")
@click.option("--role", "roles", multiple=True, help="角色代码或名称，可重复（给出则替换原有角色）")
@click.option("--department", help="部门代码")
@click.option("--display-name", help="姓名")
@click.pass_obj
def user_edit(state: State, username: str, roles: tuple[str, ...], department: str | None,
              display_name: str | None) -> None:
    """Change USERNAME's name, department or roles (open tasks must be reassigned first)."""
    with state.db.reader() as session:
        row = user_by_name(session, username)
        current = (row.display_name, row.department.code, tuple(row.role_codes))
    _organisation(state, EditUser(username=username, display_name=display_name or current[0],
                                  department=department or current[1], roles=roles or current[2]))
    click.echo(f"已修改用户 {username}")


@user.command("deactivate")
@click.argument("username")
@click.option("--reassign", "reassign", multiple=True, metavar="TASK=LOGIN",
              help="把任务改派给本部门同岗位人员（LOGIN 留空则退回共享待办），每件待办一项")
@click.option("--reason", default="", help="停用原因")
@click.pass_obj
def user_deactivate(state: State, username: str, reassign: tuple[str, ...], reason: str) -> None:
    """Deactivate USERNAME; each open task in their hands is first reassigned (in its case history)."""
    moves = {}
    for text in reassign:
        task, _, to = text.partition("=")
        if not task.strip().isdigit() or not _:
            raise BadInput(f"--reassign {text} 无效：应为 任务编号=登录名")
        moves[int(task)] = to.strip()
    result = deactivate_user(state.engine(), CLI_ACTOR, username, moves, reason=reason)
    click.echo(f"已停用用户 {username}" + (f"，改派待办 {len(result['reassigned'])} 件" if result["reassigned"] else ""))


@user.command("reactivate")
@click.argument("username")
@click.pass_obj
def user_reactivate(state: State, username: str) -> None:
    """Let a deactivated user log in again."""
    _organisation(state, ReactivateUser(username=username))
    click.echo(f"已启用用户 {username}")


@user.command("reset-password")
@click.argument("username")
@click.pass_obj
def user_reset_password(state: State, username: str) -> None:
    """A one-time temporary password for USERNAME, shown once; they must change it at the next login."""
    temporary = _organisation(state, ResetPassword(username=username))
    click.echo(f"{username} 的临时密码（只显示这一次，首次登录须修改）：{temporary}")


@main.group()
def applicant() -> None:
    """Applicants' accounts in the online hall (网上办事大厅)."""


@applicant.command("reset-password")
@click.argument("login")
@click.pass_obj
def applicant_reset_password(state: State, login: str) -> None:
    """A one-time temporary password for the account of LOGIN (身份证号 or 统一社会信用代码), once the
    applicant has shown their ID at the window; shown once, changed at the next login."""
    temporary = _organisation(state, ResetApplicantPassword(login=login))
    click.echo(f"{login.upper()} 的临时密码（只显示这一次，登录后须修改）：{temporary}")


@main.command()
@json_option
@click.pass_obj
def users(state: State, as_json: bool) -> None:
    """List users."""
    with state.db.reader() as session:
        rows = [user_dict(u) for u in session.scalars(select(User).order_by(User.username))]
    if as_json:
        emit(rows)
        return
    for u in rows:
        click.echo(f"{u['username']:<16} {u['display_name']:<8} {u['department_name']:<14} {','.join(u['roles'])}")


@main.group()
def department() -> None:
    """Departments."""


@department.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--parent", help="上级部门代码")
@click.option("--level", type=click.Choice(["province", "city", "county", "township", "village"]))
@click.option("--official-name", help="印在文书上的全称（如 某市市场监督管理局）；默认用部门名称")
@click.pass_obj
def department_add(state: State, code: str, name: str, parent: str | None, level: str | None,
                   official_name: str | None) -> None:
    """Add a department (a node in the city → county → township → village tree)."""
    _organisation(state, AddDepartment(code=code, name=name, parent=parent or "", level=level or "",
                                       official_name=official_name or ""))
    click.echo(f"已添加部门 {code} {name}")


@department.command("rename")
@click.argument("code")
@click.argument("name")
@click.option("--official-name", default="", help="印在文书上的全称")
@click.pass_obj
def department_rename(state: State, code: str, name: str, official_name: str) -> None:
    """Rename a department."""
    _organisation(state, RenameDepartment(code=code, name=name, official_name=official_name))
    click.echo(f"部门 {code} 已更名为 {name}")


@department.command("move")
@click.argument("code")
@click.option("--parent", default="", help="新的上级部门代码（不给则成为顶层部门）")
@click.pass_obj
def department_move(state: State, code: str, parent: str) -> None:
    """Move a department (with everything under it) under another parent."""
    _organisation(state, MoveDepartment(code=code, parent=parent))
    click.echo(f"部门 {code} 的上级已调整为 {parent or '（顶层）'}")


@department.command("deactivate")
@click.argument("code")
@click.pass_obj
def department_deactivate(state: State, code: str) -> None:
    """Deactivate a department nobody works in and nothing waits in (says what blocks it)."""
    _organisation(state, DeactivateDepartment(code=code))
    click.echo(f"已停用部门 {code}")


@department.command("reactivate")
@click.argument("code")
@click.pass_obj
def department_reactivate(state: State, code: str) -> None:
    """Reactivate a department."""
    _organisation(state, ReactivateDepartment(code=code))
    click.echo(f"已启用部门 {code}")


@main.command()
@click.argument("item")
@click.option("--applicant", required=True, help="申请人")
@click.option("--data", "data_text", help="申请数据（JSON 对象）")
@now_option
@json_option
@click.pass_obj
def start(state: State, item: str, applicant: str, data_text: str | None, now: str | None, as_json: bool) -> None:
    """Start a case of ITEM; prints the case number."""
    data = parse_json_object(data_text)
    engine = state.engine(now)
    case = engine.execute(StartCase(item=item, applicant=applicant, data=data), Actor.applicant(applicant))
    if as_json:
        emit({"number": case.number, "key": case.key, "state": case.state})
    else:
        click.echo(case.number)


@main.command()
@click.option("--user", "username", help="只列出该用户可办理的任务")
@json_option
@click.pass_obj
def tasks(state: State, username: str | None, as_json: bool) -> None:
    """List ready tasks."""
    with state.db.reader() as session:
        actor = actor_for(session, username) if username else None
        rows = [task_dict(t) for t in ready_tasks(session, actor, limit=1000)]
    if as_json:
        emit(rows)
        return
    for t in rows:
        click.echo(f"{t['id']:>6}  {t['case']:<24} {t['name']:<10} {t['role_name']:<6} {t['department_name']}"
                   + (f"  认领人 {t['assignee']}" if t["assignee"] else ""))


def _task_command(state: State, command, username: str, now: str | None, as_json: bool, verb: str) -> None:
    engine = state.engine(now)
    with state.db.reader() as session:
        actor = actor_for(session, username)
    row = engine.execute(command, actor)
    with state.db.reader() as session:
        out = task_dict(get_task(session, row.id))
    if as_json:
        emit(out)
    else:
        click.echo(f"{verb}：任务 {out['id']}（{out['name']}，办件 {out['case']}）")


@main.command()
@click.argument("task", type=int)
@click.option("--user", "username", required=True)
@click.option("--data", "data_text", help="表单数据（JSON 对象）")
@click.option("--opinion", default="", help="审批意见")
@now_option
@json_option
@click.pass_obj
def complete(state: State, task: int, username: str, data_text: str | None, opinion: str, now: str | None,
             as_json: bool) -> None:
    """Complete TASK with form data and an opinion."""
    data = parse_json_object(data_text)
    _task_command(state, CompleteTask(task=task, data=data, opinion=opinion), username, now, as_json, "已办理")


@main.command()
@click.argument("task", type=int)
@click.option("--user", "username", required=True)
@now_option
@json_option
@click.pass_obj
def claim(state: State, task: int, username: str, now: str | None, as_json: bool) -> None:
    """Claim TASK."""
    _task_command(state, ClaimTask(task=task), username, now, as_json, "已认领")


@main.command()
@click.argument("task", type=int)
@click.option("--user", "username", required=True)
@now_option
@json_option
@click.pass_obj
def release(state: State, task: int, username: str, now: str | None, as_json: bool) -> None:
    """Release a claimed TASK."""
    _task_command(state, ReleaseTask(task=task), username, now, as_json, "已释放")


@main.group()
def case() -> None:
    """Cases."""


@case.command("show")
@click.argument("number")
@json_option
@click.pass_obj
def case_show(state: State, number: str, as_json: bool) -> None:
    """Show a case and its tasks."""
    with state.db.reader() as session:
        out = case_dict(session, get_case(session, number))
    if as_json:
        emit(out)
        return
    click.echo(f"{out['number']}  {out['item_name']}  申请人 {out['applicant']}  状态 {out['state']}")
    click.echo(f"流程 {out['process']['id']} 第 {out['process']['version']} 版；{out['commands']} 条操作记录")
    for t in out["tasks"]:
        click.echo(f"  [{t['state']}] {t['id']:>5} {t['name']}（{t['role_name']}，{t['department_name']}）"
                   + (f" 意见：{t['opinion']}" if t["opinion"] else ""))


@case.command("history")
@click.argument("number")
@json_option
@click.pass_obj
def case_history(state: State, number: str, as_json: bool) -> None:
    """Show a case's command history."""
    with state.db.reader() as session:
        rows = history_dicts(history(session, get_case(session, number)))
    if as_json:
        emit(rows)
        return
    for h in rows:
        ready = "、".join(t["name"] for t in h["ready_tasks"]) or "无"
        click.echo(f"{h['seq']:>4} {h['at']} {h['command']:<14} {h['actor']:<16} 待办：{ready}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--sweep-interval", "interval", default=DEFAULT_INTERVAL, show_default=True, type=int,
              help="定时扫描间隔（秒）")
@click.option("--demo", is_flag=True, help="空数据库时加载演示部门、用户、事项目录和演示办件（演示账号密码公开，仅供试用）")
@click.option("--demo-cases/--no-demo-cases", default=True, show_default=True,
              help="--demo 时是否生成演示办件（近两个多月、各审批事项、各办理环节和结果）")
@click.pass_obj
def serve(state: State, host: str, port: int, interval: int, demo: bool, demo_cases: bool) -> None:
    """Start the web application and the timer sweep on the development server. With --demo an
    empty database gets the demo data (and, unless --no-demo-cases, the demo cases); without it,
    no user is ever created."""
    from web import create_app  # import here: Flask and the web app load only for serve

    revision = prepare_database(state.db)
    seeded = _seed_demo(state, demo_cases) if demo else None
    app = create_app(db=state.db)
    scheduler = start_background(Engine(state.db, SystemClock()), interval)
    click.echo(f"数据库：{state.db.url}（结构版本 {revision}）" + ("（已加载演示数据）" if seeded is not None else ""))
    if seeded is not None and seeded.cases:
        click.echo(_cases_line(seeded))
    click.echo(f"定时扫描已启动：每 {interval} 秒触发到期的时限")
    click.echo("注意：这是 Werkzeug 开发服务器，只用于开发和试用，不可用于生产。生产环境先执行 "
               "approvals db upgrade，再用 WSGI 服务器运行应用，例如 waitress-serve --call web:create_app "
               "或 gunicorn 'web:create_app()'，并设置 APPROVALS_DATABASE_URL（可另设 APPROVALS_SECRET_KEY，否则签名密钥保存在数据库中）。")
    _print_logins(state, host, port)
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        scheduler.shutdown(wait=False)


def _seed_demo(state: State, cases: bool) -> Seeded | None:
    """The demo data, into an empty database only, and with ``cases`` the demo cases up to now
    (cli/demo_cases.py). None if the database already had data."""
    now = SystemClock().now()
    with state.db.transaction() as session:
        if is_seeded(session):
            return None
        seed(session, loaded_at(now) if cases else now)  # the catalogue before the first demo case
    if not cases:
        return Seeded.nothing()
    try:
        return seed_cases(state.db, now)
    except Exception as exc:  # the demo still starts, with the cases made so far; the reason is shown
        if os.environ.get("APPROVALS_DEBUG"):
            raise
        message = exc.message if isinstance(exc, ApprovalError) else f"{type(exc).__name__}: {exc}"
        click.echo(f"注意：演示办件未能全部生成（{printable(message)}），已生成的办件保留，其余演示数据可用。"
                   "设置 APPROVALS_DEBUG=1 可查看详情。", err=True)
        return Seeded.nothing()


def _cases_line(seeded: Seeded) -> str:
    return (f"演示办件：{seeded.cases} 件（{seeded.commands} 条命令，其中时限触发 {seeded.fired} 次；"
            f"电子监察发现 {seeded.findings} 项；用时 {seeded.seconds:.1f} 秒）")


def _print_logins(state: State, host: str, port: int) -> None:
    with state.db.reader() as session:
        users = session.scalar(select(func.count()).select_from(User))
        demo_users = session.scalar(select(func.count()).select_from(User).where(
            User.username.in_([u for u, *_ in USERS])))
    click.echo(f"打开 http://{host}:{port}/")
    if demo_users == len(USERS):
        click.echo(f"演示账号（密码均为 {DEMO_PASSWORD}；含演示账号的数据库不可用于生产）：")
        for username, display, roles in logins():
            click.echo(f"  {username:<14} {display}  {roles}")
        click.echo(f"网上办事大厅 http://{host}:{port}/hall/ 的演示办事人：{DEMO_APPLICANT['name']}，"
                   f"身份证号 {DEMO_APPLICANT['id_number']}，密码 {DEMO_APPLICANT_PASSWORD}")
    elif not users:
        click.echo("数据库中还没有用户，无法登录。先建立部门和第一个管理员，再加载事项目录，例如：")
        click.echo("  approvals department add zwfw 市政务服务管理办公室 --level city")
        click.echo("  approvals user add admin --role admin --department zwfw --display-name 管理员 --password '<密码>'")
        click.echo("  approvals catalogue load        # 事项目录中引用的部门须先建立")
        click.echo("试用请改用 approvals serve --demo（空数据库时加载演示数据）。")


time_limits.register(main, case)
register_db_commands(main)
replay.register(main, case)
catalogue.register(main)
operations.register(main)
integrity.register(main)
versions.register(main)
case_operations.register(main, case)

if __name__ == "__main__":
    main()
