"""Demo data: a small administrative tree, one user per role, and the demo process.

Loaded by ``approvals serve`` on an empty database and by ``approvals demo``.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import people
from .deploy import deploy, set_time_policy
from .models import Department

ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "demo123"

#: code, name, level, parent
DEPARTMENTS = [
    ("city", "某市人民政府", "city", None),
    ("zwfw", "市政务服务管理办公室", "city", "city"),
    ("scjg", "市市场监督管理局", "city", "city"),
    ("mz", "市民政局", "city", "city"),
    ("wsjk", "市卫生健康委员会", "city", "city"),
    ("county", "某县人民政府", "county", "city"),
    ("county_scjg", "县市场监督管理局", "county", "county"),
    ("township", "某镇人民政府", "township", "county"),
    ("village", "某村便民服务点", "village", "township"),
]

#: username, display name, roles, department
USERS = [
    ("chuangkou", "王窗口", ["window_clerk"], "scjg"),
    ("shencha", "李审查", ["reviewer"], "scjg"),
    ("fuzeren", "赵负责", ["head"], "scjg"),
    ("mz_chuangkou", "陈窗口", ["window_clerk"], "mz"),
    ("mz_shencha", "周审查", ["reviewer"], "mz"),
    ("mz_fuzeren", "吴负责", ["head"], "mz"),
    ("ws_chuangkou", "郑窗口", ["window_clerk"], "wsjk"),
    ("ws_shencha", "冯审查", ["reviewer"], "wsjk"),
    ("ws_fuzeren", "褚负责", ["head"], "wsjk"),
    ("jiancha", "孙监察", ["supervisor"], "zwfw"),
    ("admin", "钱管理", ["admin"], "zwfw"),
    ("sheji", "何设计", ["designer"], "zwfw"),
]

#: item code, item name, department, BPMN file, time limits
ITEMS = [
    ("GENERAL", "通用审批（演示）", "scjg", "bpmn/general_approval.bpmn",
     {"statutory_days": 20, "promised_days": 10}),
    ("JOINT", "联合审查（演示联办件）", "scjg", "bpmn/joint_review.bpmn",
     {"statutory_days": 45, "promised_days": 20, "extension_days": 15}),
]


def is_seeded(session: Session) -> bool:
    return session.scalar(select(Department.id).limit(1)) is not None


def seed(session: Session, at: datetime) -> None:
    for code, name, level, parent in DEPARTMENTS:
        people.add_department(session, code, name, level=level, parent=parent)
    for username, display, roles, department in USERS:
        people.add_user(session, username, roles=roles, department_code=department,
                        password=DEMO_PASSWORD, display_name=display)
    for code, name, department, path, limits in ITEMS:
        deploy(session, (ROOT / path).read_bytes(), Path(path).name, code, deployed_by="demo", at=at,
               department_code=department, item_name=name)
        set_time_policy(session, code, limits)


def logins() -> list[tuple[str, str, str]]:
    """(username, display name, roles) for printing at start-up."""
    from .roles import role_name

    return [(u, d, "、".join(role_name(r) for r in roles)) for u, d, roles, _ in USERS]
