"""Departments, users and their roles. Passwords are stored as Werkzeug hashes (scrypt)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .actors import Actor
from .errors import BadInput, NotFound
from .models import Department, User, UserRole
from .roles import resolve_role

LEVELS = ("province", "city", "county", "township", "village")

#: Werkzeug hash method. Tests lower the work factor; production keeps scrypt.
PASSWORD_HASH_METHOD = "scrypt"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_HASH_METHOD)


def add_department(session: Session, code: str, name: str, *, parent: str | None = None,
                   level: str | None = None) -> Department:
    if session.scalar(select(Department).where(Department.code == code)) is not None:
        raise BadInput(f"部门代码 {code} 已存在")
    if level is not None and level not in LEVELS:
        raise BadInput(f"层级 {level} 无效（可用：{'、'.join(LEVELS)}）")
    parent_row = department(session, parent) if parent else None
    row = Department(code=code, name=name, level=level, parent=parent_row)
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
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在")
    return user


def actor_for(session: Session, username: str) -> Actor:
    user = user_by_name(session, username)
    if not user.active:
        raise BadInput(f"用户 {username} 已停用")
    return Actor.from_user(user)


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not user.password_hash:
        return None
    return user if check_password_hash(user.password_hash, password) else None
