"""The organisation (组织机构): departments in the city → county → township → village tree, users
with their roles and departments, AB岗, deactivation and password resets.

Every change is a command on no case (``load`` returns None): ``Engine.execute`` checks the policy
and records the act in ``administration_acts`` (who, when, inputs, result). A departing user's
open tasks are moved by ``ReassignTask``, a command on the task's case, so each case's history
says who took over and why. ``engine.organisation`` has the pages' queries and runs a
deactivation with its reassignments; the web pages and ``approvals user …`` only call these.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from engine import alerts, login_throttle
from engine.authorization import BACKUP_SETTER, ORGANISATION, Subject
from engine.errors import BadInput, Conflict, NotFound
from engine.people import LEVELS, MIN_PASSWORD, hash_password, set_away, set_backup
from engine.roles import resolve_role, role_name
from engine.store.models import ApplicantAccount, Department, Item, Task, User, UserRole
from .base import Applied, Command, CommandContext, OpenCase, TaskCommand

#: the Chinese names of the levels of the tree
LEVEL_NAMES = {"province": "省", "city": "市", "county": "县（区）", "township": "乡镇（街道）", "village": "村（社区）"}

_CODE = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_LOGIN = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
#: the letters of a temporary password: no 0/O, 1/l/I, which are misread when it is read out
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
TEMPORARY_LENGTH = 12


def temporary_password() -> str:
    """Random, with letters and digits both (the rule a chosen password must meet too)."""
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(max(TEMPORARY_LENGTH, MIN_PASSWORD)))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def _name(value: str, what: str, limit: int = 128) -> str:
    value = (value or "").strip()
    if not value:
        raise BadInput(f"{what}不能为空")
    if len(value) > limit:
        raise BadInput(f"{what}过长（上限 {limit} 字）")
    return value


def _department(session, code: str, *, active: bool = False, what: str = "部门") -> Department:
    row = session.scalar(select(Department).where(Department.code == (code or "").strip()))
    if row is None:
        raise BadInput(f"{what} {code} 不存在" if code else f"请选择{what}")
    if active and not row.active:
        raise BadInput(f"{what}“{row.name}”已停用")
    return row


def _user(session, username: str) -> User:
    row = session.scalar(select(User).where(User.username == (username or "").strip()))
    if row is None:
        raise NotFound(f"用户 {username} 不存在")
    return row


def _roles(texts) -> list[str]:
    codes = []
    for text in texts:
        role = resolve_role(text or "")
        if role is None:
            raise BadInput(f"未知角色 {text}")
        codes.append(role.code)
    if not codes:
        raise BadInput("请至少选择一个角色")
    return list(dict.fromkeys(codes))


def _level(level: str, parent: Department | None) -> str | None:
    if not level:
        return None
    if level not in LEVELS:
        raise BadInput(f"层级 {level} 无效（可选：{'、'.join(LEVEL_NAMES.values())}）")
    if parent is not None and parent.level and LEVELS.index(level) < LEVELS.index(parent.level):
        raise BadInput(f"层级“{LEVEL_NAMES[level]}”高于上级部门“{parent.name}”的层级“{LEVEL_NAMES[parent.level]}”")
    return level


def _sibling_named(session, name: str, parent_id: int | None, *, other_than: int | None = None) -> Department | None:
    query = select(Department).where(Department.name == name, Department.parent_id.is_(None) if parent_id is None
                                     else Department.parent_id == parent_id)
    if other_than is not None:
        query = query.where(Department.id != other_than)
    return session.scalar(query.limit(1))


def held_tasks(session, user_id: int) -> list[Task]:
    """The open tasks in one user's hands: claimed by, transferred or delegated to them, their
    co-signatures (加签), and the steps they delegated (委派), which come back to them."""
    return list(session.scalars(select(Task).where(Task.state == "ready", or_(
        Task.assignee_id == user_id, Task.delegated_by_id == user_id)).order_by(Task.id)))


def holders(session, role: str, department_id: int, *, other_than: int | None = None) -> list[User]:
    """Active users holding ``role`` in a department (by name), who can take over a task."""
    query = select(User).join(UserRole).where(UserRole.role == role, User.department_id == department_id,
                                              User.active.is_(True))
    if other_than is not None:
        query = query.where(User.id != other_than)
    return list(session.scalars(query.order_by(User.display_name, User.username)))


def _task_line(task: Task) -> str:
    return f"{task.case.number}“{task.name}”"


def _check_leaving(session, user: User, roles: set[str], department_id: int | None, what: str) -> None:
    """Refuse a change that takes ``user`` out of a role in their department (deactivation, a
    role removed, a move) while their tasks there are unreassigned, or while they are the last
    one who could take the department's unclaimed tasks in that role."""
    stranded = [t for t in held_tasks(session, user.id)
                if t.role not in roles or t.department_id != department_id]
    if stranded:
        lines = "、".join(_task_line(t) for t in stranded[:5]) + (" 等" if len(stranded) > 5 else "")
        raise Conflict(f"{user.display_name} 还有 {len(stranded)} 件待办未改派（{lines}），"
                       f"请先逐件改派给本部门同岗位人员，再{what}")
    check_last_holder(session, user, roles, department_id, what)


def check_last_holder(session, user: User, roles: set[str], department_id: int | None, what: str) -> None:
    """Refuse to take the last active holder of a role out of a department where tasks of that
    role wait unclaimed: nobody would see them."""
    kept = roles if department_id == user.department_id else set()
    for role in sorted(set(user.role_codes) - kept):
        if holders(session, role, user.department_id, other_than=user.id):
            continue
        waiting = session.scalar(select(func.count(Task.id)).where(
            Task.state == "ready", Task.role == role, Task.department_id == user.department_id,
            Task.assignee_id.is_(None)))
        if waiting:
            raise Conflict(f"{what}后 {user.department.name} 将没有在岗的{role_name(role)}，而该岗位还有 {waiting} 件待办；"
                           f"请先为该部门增设{role_name(role)}（或给其他人员加上该角色）")


def _check_admins_left(session, user: User, what: str) -> None:
    if "admin" not in user.role_codes or not user.active:
        return
    others = session.scalar(select(func.count(User.id)).join(UserRole).where(
        UserRole.role == "admin", User.active.is_(True), User.id != user.id))
    if not others:
        raise Conflict(f"{user.display_name} 是最后一位管理员，不能{what}；请先为另一位人员加上管理员角色")


def _untie_backups(ctx: CommandContext, user: User, *, leaving: bool) -> list[str]:
    """AB岗 pairs that no longer hold (the user leaves, or shares no role or department with the
    other any more) are cleared; an away colleague left without a backup is back and told."""
    session, untied = ctx.session, []
    for other in session.scalars(select(User).where(User.backup_id == user.id)):
        if leaving or other.department_id != user.department_id or not set(other.role_codes) & set(user.role_codes):
            other.backup_id = None
            if other.away:
                other.away = False
                alerts.send(session, [other], case=None, kind="backup", at=ctx.at,
                            title="您的 B 岗已被取消，离岗状态已取消",
                            body=f"{user.display_name} 不再担任您的 B 岗；请重新指定 B 岗后再设离岗。")
            untied.append(other.username)
    mine = session.get(User, user.backup_id) if user.backup_id else None
    if mine is not None and (leaving or mine.department_id != user.department_id
                             or not set(mine.role_codes) & set(user.role_codes)):
        user.backup_id, user.away = None, False
        untied.append(user.username)
    return sorted(untied)


def check_deactivation(session, user: User, actor) -> None:
    """What stops a deactivation other than the user's own open tasks (which can be reassigned)."""
    if not user.active:
        raise Conflict(f"{user.display_name} 已停用")
    if user.id == actor.user_id:
        raise BadInput("不能停用自己的账号")
    _check_admins_left(session, user, "停用")
    check_last_holder(session, user, set(), None, "停用")


class OrganisationCommand(Command):
    """A change of the organisation: on no case, recorded in ``administration_acts``. Its
    refusals are not 流程错误 of a case and are not recorded."""

    ledger = "administration"
    records_refusals = False
    policy = ORGANISATION

    def load(self, ctx: CommandContext) -> None:
        return None

    def apart_subject(self, ctx: CommandContext) -> Subject:
        return Subject(None, None)


# ---------------------------------------------------------------- departments

@dataclass(frozen=True)
class AddDepartment(OrganisationCommand):
    """新增部门: a department under a parent (or a new top of the tree)."""

    type = "add_department"
    label = "新增部门"
    code: str = ""
    name: str = ""
    parent: str = ""
    level: str = ""
    official_name: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        session = ctx.session
        code = (self.code or "").strip()
        if not code:
            raise BadInput("部门代码不能为空")
        if not _CODE.fullmatch(code):
            raise BadInput(f"部门代码 {code} 无效：只能包含字母、数字、下划线和连字符，至多 64 个字符")
        name = _name(self.name, "部门名称")
        official = (self.official_name or "").strip() or None
        if official is not None:
            _name(official, "部门全称")
        if session.scalar(select(Department.id).where(Department.code == code)) is not None:
            raise BadInput(f"部门代码 {code} 已存在")
        parent = _department(session, self.parent, active=True, what="上级部门") if self.parent else None
        if _sibling_named(session, name, parent.id if parent else None) is not None:
            raise BadInput(f"{parent.name if parent else '顶层'}下已有名为“{name}”的部门")
        row = Department(code=code, name=name, level=_level(self.level, parent), parent=parent,
                         official_name=official, active=True)
        session.add(row)
        session.flush()
        return Applied(row, {"department": code, "name": name, "parent": parent.code if parent else None})


@dataclass(frozen=True)
class RenameDepartment(OrganisationCommand):
    """部门更名: a new short name and, optionally, the full official name printed on documents."""

    type = "rename_department"
    label = "部门更名"
    code: str = ""
    name: str = ""
    official_name: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        row = _department(ctx.session, self.code)
        name = _name(self.name, "部门名称")
        official = (self.official_name or "").strip() or None
        if official is not None:
            _name(official, "部门全称")
        if name == row.name and official == row.official_name:
            raise BadInput("名称没有变化，无需保存")
        if _sibling_named(ctx.session, name, row.parent_id, other_than=row.id) is not None:
            raise BadInput(f"{row.parent.name if row.parent else '顶层'}下已有名为“{name}”的部门")
        before = {"name": row.name, "official_name": row.official_name}
        row.name, row.official_name = name, official
        return Applied(row, {"department": row.code, "before": before, "name": name, "official_name": official})


@dataclass(frozen=True)
class MoveDepartment(OrganisationCommand):
    """调整上级部门: the department (with everything under it) moves under another parent."""

    type = "move_department"
    label = "调整上级部门"
    code: str = ""
    parent: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        session = ctx.session
        row = _department(session, self.code)
        parent = _department(session, self.parent, active=True, what="上级部门") if self.parent else None
        if (parent.id if parent else None) == row.parent_id:
            raise BadInput("上级部门没有变化，无需保存")
        walk = parent
        while walk is not None:
            if walk.id == row.id:
                raise BadInput(f"不能把“{row.name}”移到它自己或它的下级部门“{parent.name}”之下：部门树会形成循环")
            walk = walk.parent
        if row.level:
            _level(row.level, parent)
        if _sibling_named(session, row.name, parent.id if parent else None, other_than=row.id) is not None:
            raise BadInput(f"{parent.name if parent else '顶层'}下已有名为“{row.name}”的部门")
        before = row.parent.code if row.parent else None
        row.parent = parent
        return Applied(row, {"department": row.code, "from": before, "to": parent.code if parent else None})


@dataclass(frozen=True)
class DeactivateDepartment(OrganisationCommand):
    """停用部门: only one that nobody works in any more and nothing waits in. Its cases, items'
    history and documents keep naming it."""

    type = "deactivate_department"
    label = "停用部门"
    code: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        session = ctx.session
        row = _department(session, self.code)
        if not row.active:
            raise Conflict(f"部门“{row.name}”已停用")
        blocks = []
        users = list(session.scalars(select(User.display_name).where(User.department_id == row.id,
                                                                     User.active.is_(True)).order_by(User.username)))
        if users:
            blocks.append(f"在岗人员 {len(users)} 人（{'、'.join(users[:5])}{' 等' if len(users) > 5 else ''}），请先调出或停用")
        children = list(session.scalars(select(Department.name).where(Department.parent_id == row.id,
                                                                      Department.active.is_(True))))
        if children:
            blocks.append(f"下级部门 {len(children)} 个（{'、'.join(children[:5])}），请先停用或调整其上级")
        tasks = session.scalar(select(func.count(Task.id)).where(Task.department_id == row.id, Task.state == "ready"))
        if tasks:
            blocks.append(f"待办 {tasks} 件，请先办结或改派")
        items = list(session.scalars(select(Item.name).where(Item.department_id == row.id).order_by(Item.code)))
        if items:
            blocks.append(f"主管事项 {len(items)} 项（{'、'.join(items[:3])}{' 等' if len(items) > 3 else ''}），"
                          "请先把事项改由其他部门主管")
        if blocks:
            raise Conflict(f"部门“{row.name}”不能停用：" + "；".join(blocks))
        row.active = False
        return Applied(row, {"department": row.code})


@dataclass(frozen=True)
class ReactivateDepartment(OrganisationCommand):
    """启用部门: a deactivated department is back (under an active parent)."""

    type = "reactivate_department"
    label = "启用部门"
    code: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        row = _department(ctx.session, self.code)
        if row.active:
            raise Conflict(f"部门“{row.name}”没有停用")
        if row.parent is not None and not row.parent.active:
            raise BadInput(f"上级部门“{row.parent.name}”已停用，请先启用上级部门")
        row.active = True
        return Applied(row, {"department": row.code})


# ---------------------------------------------------------------- users

@dataclass(frozen=True)
class AddUser(OrganisationCommand):
    """新增人员: a login, a name, a department and roles. With ``temporary_password`` the engine
    makes a one-time password (returned once, never recorded) that must be changed at the first
    login; the command line may give ``password`` instead (never recorded either)."""

    type = "add_user"
    label = "新增人员"
    unrecorded = frozenset({"password"})
    username: str = ""
    display_name: str = ""
    department: str = ""
    roles: tuple[str, ...] = ()
    password: str = ""
    temporary_password: bool = False

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        session = ctx.session
        username = (self.username or "").strip()
        if not username:
            raise BadInput("登录名不能为空")
        if not _LOGIN.fullmatch(username):
            raise BadInput(f"登录名 {username} 无效：只能包含字母、数字、下划线、连字符和点，至多 64 个字符")
        name = _name(self.display_name, "姓名")
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise BadInput(f"登录名 {username} 已被使用，请换一个")
        department = _department(session, self.department, active=True)
        roles = _roles(self.roles)
        if self.password and self.temporary_password:
            raise BadInput("请给出密码或生成临时密码，二选一")
        temporary = temporary_password() if self.temporary_password else None
        password = temporary or self.password or None
        user = User(username=username, display_name=name, department=department, active=True,
                    password_hash=hash_password(password) if password else None,
                    must_change_password=temporary is not None, roles=[UserRole(role=c) for c in roles])
        session.add(user)
        session.flush()
        return Applied((user, temporary), {"user": username, "department": department.code, "roles": roles,
                                           "password": "temporary" if temporary else ("set" if password else "none")})


@dataclass(frozen=True)
class EditUser(OrganisationCommand):
    """修改人员: name, department and roles. Refused while it would strand the user's open tasks,
    leave a department's waiting tasks with nobody, or remove the last administrator."""

    type = "edit_user"
    label = "修改人员信息"
    username: str = ""
    display_name: str = ""
    department: str = ""
    roles: tuple[str, ...] = ()

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        session = ctx.session
        user = _user(session, self.username)
        name = _name(self.display_name, "姓名")
        roles = _roles(self.roles)
        department = _department(session, self.department)
        if department.id != user.department_id and not department.active:
            raise BadInput(f"部门“{department.name}”已停用")
        before = {"display_name": user.display_name, "department": user.department.code, "roles": user.role_codes}
        after = {"display_name": name, "department": department.code, "roles": sorted(roles)}
        if before == after:
            raise BadInput("没有需要保存的修改")
        if "admin" not in roles:
            _check_admins_left(session, user, "移除其管理员角色")
        if user.active:
            _check_leaving(session, user, set(roles), department.id, "调整岗位或部门")
        user.display_name, user.department = name, department
        user.department_id = department.id
        user.roles = [r for r in user.roles if r.role in roles] + [
            UserRole(role=c) for c in roles if c not in user.role_codes]
        session.flush()
        untied = _untie_backups(ctx, user, leaving=False)
        return Applied(user, {"user": user.username, "before": before, "after": after, "untied_backups": untied})


@dataclass(frozen=True)
class DeactivateUser(OrganisationCommand):
    """停用人员: refused while the user still holds open tasks (each is first reassigned, in its
    case's history: ``ReassignTask``), for the last administrator and for oneself. AB岗 pairs
    with the user are cleared. The user can no longer log in; their records keep their name."""

    type = "deactivate_user"
    label = "停用人员"
    username: str = ""
    reason: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        session = ctx.session
        user = _user(session, self.username)
        reason = (self.reason or "").strip()
        if len(reason) > 500:
            raise BadInput("停用原因过长（上限 500 字）")
        check_deactivation(session, user, ctx.actor)
        _check_leaving(session, user, set(), None, "停用")
        untied = _untie_backups(ctx, user, leaving=True)
        user.active, user.away = False, False
        return Applied(user, {"user": user.username, "untied_backups": untied, "reason": reason})


@dataclass(frozen=True)
class ReactivateUser(OrganisationCommand):
    """启用人员: a deactivated user may log in again (in an active department)."""

    type = "reactivate_user"
    label = "启用人员"
    username: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        user = _user(ctx.session, self.username)
        if user.active:
            raise Conflict(f"{user.display_name} 没有停用")
        if not user.department.active:
            raise BadInput(f"{user.display_name} 所在部门“{user.department.name}”已停用，请先把其调到其他部门")
        user.active = True
        return Applied(user, {"user": user.username})


@dataclass(frozen=True)
class ResetPassword(OrganisationCommand):
    """重置密码: a one-time temporary password, returned once to show to the administrator and never
    recorded; the user must choose their own at the next login. The account's failed-login count
    is cleared, and the user's message box says when it happened."""

    type = "reset_password"
    label = "重置密码"
    username: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        user = _user(ctx.session, self.username)
        if not user.active:
            raise Conflict(f"{user.display_name} 已停用，不能重置密码；请先启用")
        temporary = temporary_password()
        user.password_hash, user.must_change_password = hash_password(temporary), True
        login_throttle.record_success(ctx.session, user.username)
        alerts.send(ctx.session, [user], case=None, kind="password", at=ctx.at, title="您的登录密码已由管理员重置",
                    body="请用管理员告知的临时密码登录，并按提示设置新密码。如非您本人申请，请联系管理员。")
        return Applied(temporary, {"user": user.username})


@dataclass(frozen=True)
class ResetApplicantPassword(OrganisationCommand):
    """重置办事人密码: an applicant who forgot their password, or whose identity someone else
    registered, shows their ID at the window; an administrator gives the account a one-time
    temporary password (returned once, never recorded), which they replace at the next login."""

    type = "reset_applicant_password"
    label = "重置办事人密码"
    login: str = ""

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        login = (self.login or "").strip().upper()[:18]
        account = ctx.session.scalar(select(ApplicantAccount).where(ApplicantAccount.login == login))
        if account is None:
            raise NotFound(f"没有证件号码为 {login} 的网上办事账号")
        temporary = temporary_password()
        account.password_hash, account.must_change_password = hash_password(temporary), True
        login_throttle.record_success(ctx.session, f"hall:{login}")
        return Applied(temporary, {"account": account.id})


@dataclass(frozen=True)
class SetBackup(OrganisationCommand):
    """设置AB岗: a user's backup (B岗, a colleague of the same department with a role in common)
    and whether the user is away. Set by the user, their department's head, or an administrator."""

    type = "set_backup"
    label = "设置AB岗"
    policy = BACKUP_SETTER
    username: str = ""
    backup: str = ""
    away: bool = False

    def apart_subject(self, ctx: CommandContext) -> Subject:
        return Subject(None, None, record=_user(ctx.session, self.username))

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        user = _user(ctx.session, self.username)
        before = {"backup": user.backup_id, "away": user.away}
        set_backup(ctx.session, user.username, self.backup or None)
        set_away(ctx.session, user.username, bool(self.away))
        if before == {"backup": user.backup_id, "away": user.away}:
            return Applied(user, {"user": user.username, "unchanged": True})
        return Applied(user, {"user": user.username, "backup": self.backup or None, "away": bool(self.away)})


# ---------------------------------------------------------------- a departing user's tasks

@dataclass(frozen=True)
class ReassignTask(TaskCommand):
    """改派: an administrator moves an open task out of one user's hands (``holder``: who claimed
    it, was transferred, delegated or asked to co-sign it, or who delegated it) to another active
    holder of its role in its department, or with no ``to`` back to the department's shared
    inbox. Recorded in the case's history; the new handler is told."""

    type = "reassign_task"
    label = "改派"
    policy = ORGANISATION
    task: int | str
    holder: str = ""
    to: str = ""
    reason: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = case.task_row(self.task)
        if row.state != "ready":
            raise Conflict(f"任务“{row.name}”已不在待办中，无需改派")
        holder = _user(ctx.session, self.holder)
        reason = (self.reason or "").strip()
        if len(reason) > 500:
            raise BadInput("改派理由过长（上限 500 字）")
        target = None
        if self.to:
            target = ctx.session.scalar(select(User).where(User.username == self.to, User.active.is_(True)))
            if target is None:
                raise BadInput(f"用户 {self.to} 不存在或已停用")
            if target.id == holder.id:
                raise BadInput("改派对象不能是原办理人")
            if row.role not in target.role_codes or target.department_id != row.department_id:
                raise BadInput(f"{target.display_name} 不是 {row.department.name} 的{role_name(row.role)}，不能改派给他")
        if row.delegated_by_id == holder.id:  # the step holder.id delegated: it comes back to the target
            if target is None:
                raise BadInput(f"“{row.name}”是 {holder.display_name} 委派出去的环节，请选择接替的人员")
            row.delegated_by_id = target.id
        elif row.assignee_id == holder.id:
            if target is None and (row.kind != "bpmn" or row.delegated_by_id is not None):
                raise BadInput(f"“{row.name}”须指定接替的人员，不能退回共享待办")
            row.assignee_id = target.id if target else None
        else:
            raise BadInput(f"任务“{row.name}”不在 {holder.display_name} 名下")
        if target is not None:
            alerts.send(ctx.session, [target], case=case.row, kind="transfer", at=ctx.at, body=reason,
                        title=f"【改派】{case.row.number} “{row.name}”由 {holder.display_name} 改派给您")
        return Applied(row, {"element": row.element_id, "holder": holder.username,
                             "assignee": target.username if target else None})
