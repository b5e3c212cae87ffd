"""Departments, users and their roles. Passwords are stored as Werkzeug hashes (scrypt)."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .actors import Actor
from .errors import BadInput, NotFound
from engine.store.models import Department, Message, User, UserRole
from .roles import resolve_role
from engine.runtime.values import check_text

LEVELS = ("province", "city", "county", "township", "village")

log = logging.getLogger("approvals.people")

#: the shortest password one may choose
MIN_PASSWORD = 8
MAX_PASSWORD = 128

#: Werkzeug hash method. Tests lower the work factor; production keeps scrypt.
PASSWORD_HASH_METHOD = "scrypt"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_HASH_METHOD)


def add_department(session: Session, code: str, name: str, *, parent: str | None = None,
                   level: str | None = None, official_name: str | None = None) -> Department:
    check_text(code, "部门代码", 64)
    check_text(name, "部门名称", 128)
    if official_name is not None:
        check_text(official_name, "部门全称", 128)
    if session.scalar(select(Department).where(Department.code == code)) is not None:
        raise BadInput(f"部门代码 {code} 已存在")
    if level is not None and level not in LEVELS:
        raise BadInput(f"层级 {level} 无效（可用：{'、'.join(LEVELS)}）")
    parent_row = department(session, parent) if parent else None
    row = Department(code=code, name=name, level=level, parent=parent_row, official_name=official_name or None)
    session.add(row)
    session.flush()
    return row


def department(session: Session, code: str) -> Department:
    row = session.scalar(select(Department).where(Department.code == code))
    if row is None:
        raise NotFound(f"部门 {code} 不存在")
    return row


def add_user(session: Session, username: str, *, roles: list[str], department_code: str,
             password: str | None = None, display_name: str | None = None) -> User:
    check_text(username, "用户名", 64)
    check_text(display_name or "", "姓名", 128)
    check_text(password or "", "密码", 1024)
    if not username or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise BadInput(f"用户名 {username!r} 无效：只能包含字母、数字、下划线、连字符和点")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise BadInput(f"用户 {username} 已存在")
    if not roles:
        raise BadInput("至少需要一个角色（--role）")
    codes = []
    for text in roles:
        role = resolve_role(text)
        if role is None:
            raise BadInput(f"未知角色 {text}")
        codes.append(role.code)
    user = User(username=username, display_name=display_name or username,
                password_hash=hash_password(password) if password else None,
                department=department(session, department_code), active=True,
                roles=[UserRole(role=c) for c in dict.fromkeys(codes)])
    session.add(user)
    session.flush()
    return user


def user_by_name(session: Session, username: str) -> User:
    check_text(username, "用户名", 64)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在")
    return user


def active_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username, User.active.is_(True)))


_HOLDERS_WHERE = (UserRole.role == bindparam("role"), User.department_id == bindparam("department_id"),
                  User.active.is_(True))
#: built once: building a statement costs more than running it
_ROLE_HOLDERS = select(User).join(UserRole).where(*_HOLDERS_WHERE).order_by(User.username)
_ROLE_HOLDER_NAMES = (select(User.id, User.username).join(UserRole, UserRole.user_id == User.id)
                      .where(*_HOLDERS_WHERE).order_by(User.username))


def role_holders(session: Session, role: str, department_id: int, *, plain: bool = False) -> list[User]:
    """The active users holding ``role`` in a department, by user name. ``plain``: just their ids
    and user names, as plain rows (``.id``, ``.username``): what a message needs, without the cost
    of loading users with their departments and roles (the timer sweep tells them on every firing)."""
    params = {"role": role, "department_id": department_id}
    if plain:
        return list(session.connection().execute(_ROLE_HOLDER_NAMES, params))
    return list(session.scalars(_ROLE_HOLDERS, params))


def display_names(session: Session, usernames) -> dict[str, str]:
    """The names of the people behind these user names (history actors, recipients), for those
    that are users; one query."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    return dict(session.execute(select(User.username, User.display_name).where(User.username.in_(wanted))).all())


def actor_for(session: Session, username: str, *, on_behalf_of: str | None = None) -> Actor:
    """The user as an actor, with the away colleagues they stand in for (AB岗). A replay names
    the one it acted for (``on_behalf_of``), whatever the away flags say today."""
    user = user_by_name(session, username)
    if not user.active:
        raise BadInput(f"用户 {username} 已停用")
    if on_behalf_of is not None:
        return Actor.from_user(user, [user_by_name(session, on_behalf_of)])
    return Actor.from_user(user, principals_of(session, user.id))


def principals_of(session: Session, user_id: int) -> list[User]:
    return list(session.scalars(select(User).where(User.backup_id == user_id, User.away.is_(True),
                                                   User.active.is_(True)).order_by(User.username)))


def set_backup(session: Session, username: str, backup: str | None) -> User:
    """Name (or with None clear) the colleague who stands in while ``username`` is away."""
    user = user_by_name(session, username)
    if backup is None:
        user.backup_id = None
        return user
    other = user_by_name(session, backup)
    if other.id == user.id:
        raise BadInput("不能指定自己为 B 岗")
    if not other.active:
        raise BadInput(f"{other.display_name} 已停用，不能作为 B 岗")
    if other.department_id != user.department_id:
        raise BadInput(f"{other.display_name} 不在 {user.department.name}，B 岗须为本部门同岗位的同事")
    if not set(other.role_codes) & set(user.role_codes):
        raise BadInput(f"{other.display_name} 没有与 {user.display_name} 相同的岗位角色，不能作为 B 岗")
    user.backup_id = other.id
    return user


def set_away(session: Session, username: str, away: bool) -> User:
    user = user_by_name(session, username)
    if away and user.backup_id is None:
        raise BadInput(f"{user.display_name} 还没有指定 B 岗，不能设为离岗")
    user.away = away
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    try:
        check_text(username, "用户名", 64)
    except BadInput:
        return None  # no such user: the login page says so
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not user.password_hash:
        return None
    return user if check_password_hash(user.password_hash, password) else None


def check_new_password(new: str, repeated: str, login: str, what: str = "新密码") -> None:
    """A password one chooses: at least ``MIN_PASSWORD`` characters of at least two kinds (letters
    or 汉字, digits, symbols: 12345678 is refused), not the login, typed twice alike."""
    check_text(new, what, MAX_PASSWORD)
    if len(new) < MIN_PASSWORD:
        raise BadInput(f"{what}至少 {MIN_PASSWORD} 个字符（现在 {len(new)} 个）")
    if not new.strip():
        raise BadInput(f"{what}不能全是空格")
    kinds = sum((any(c.isalpha() for c in new), any(c.isdigit() for c in new),
                 any(not c.isalnum() and not c.isspace() for c in new)))
    if kinds < 2 or new.strip().lower() == login.lower():
        raise BadInput(f"{what}太容易被猜到：须同时含有字母（或汉字）和数字或符号，且不能与登录名相同")
    if new != repeated:
        raise BadInput(f"两次输入的{what}不一致，请重新输入")


def changed_password_hash(password_hash: str | None, current: str, new: str, repeated: str, login: str) -> str:
    """The hash of a password one changes: the current one right (``password_hash`` None: no
    password may be changed), the new one by ``check_new_password`` and different. Staff and
    applicants (engine/online.py) alike."""
    if not current:
        raise BadInput("请填写当前密码")
    if not password_hash or not check_password_hash(password_hash, current):
        raise BadInput("当前密码不正确，密码未修改")
    check_new_password(new, repeated, login)
    if new == current:
        raise BadInput("新密码与当前密码相同，请换一个")
    return hash_password(new)


def change_password(session: Session, username: str, current: str, new: str, repeated: str, *,
                    at: datetime) -> User:
    """A user changes their own password: the current one must be right, the new one typed twice
    alike, at least ``MIN_PASSWORD`` characters of at least two kinds (letters or 汉字, digits,
    symbols: 12345678 is refused), not the login, and different from the current one.

    Not a command: commands change cases and their history; an account is not a case (as
    ``set_backup``/``set_away``). The change is recorded where it can be checked: a message in
    the user's own box (站内消息, kept with its time, which tells the user if someone else did it)
    and the log line ``approvals.people``."""
    user = user_by_name(session, username)
    user.password_hash = changed_password_hash(user.password_hash if user.active else None, current, new,
                                               repeated, username)
    user.must_change_password = False  # a temporary password set by an administrator is gone
    session.add(Message(user_id=user.id, case_id=None, kind="password", title="您的登录密码已修改",
                        body="如果不是您本人修改的，请立即联系管理员。", created_at=at))
    log.info("password changed by user %s", user.username)
    return user
