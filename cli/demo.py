"""Demo data: a small administrative tree, users for every role, and the whole catalogue.

Loaded by ``approvals serve --demo`` on an empty database and by ``approvals demo``; never
by a plain ``serve``, so a production database gets no users with a known password.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import content, online, people
from engine.catalogue import item_files, load_file
from engine.roles import role_name
from engine.store.models import Department

DEMO_PASSWORD = "demo123"
#: an applicant's account in the online hall (网上办事大厅, /hall/): an applicant's password follows the
#: rules of a password one chooses (engine.people.check_new_password), which demo123 does not
DEMO_APPLICANT = {"kind": "natural", "name": "王小红", "id_number": "110105198803152024", "phone": "13900139000"}
DEMO_APPLICANT_PASSWORD = "hall2026"

#: code, name, level, parent
DEPARTMENTS = [
    ("city", "某市人民政府", "city", None),
    ("zwfw", "市政务服务管理办公室", "city", "city"),
    ("scjg", "市市场监督管理局", "city", "city"),
    ("mz", "市民政局", "city", "city"),
    ("wsjk", "市卫生健康委员会", "city", "city"),
    ("nync", "市农业农村局", "city", "city"),
    ("fgw", "市发展和改革委员会", "city", "city"),
    ("zrzy", "市自然资源和规划局", "city", "city"),
    ("sthj", "市生态环境局", "city", "city"),
    ("zjj", "市住房和城乡建设局", "city", "city"),
    ("county", "某县人民政府", "county", "city"),
    ("county_scjg", "县市场监督管理局", "county", "county"),
    ("township", "某镇人民政府", "township", "county"),
    ("village", "某村便民服务点", "village", "township"),
]

#: full official names printed on documents (the short names above are how staff say them)
OFFICIAL_NAMES = {"zwfw": "某市政务服务管理办公室", "scjg": "某市市场监督管理局", "mz": "某市民政局",
                  "wsjk": "某市卫生健康委员会", "nync": "某市农业农村局", "fgw": "某市发展和改革委员会",
                  "zrzy": "某市自然资源和规划局", "sthj": "某市生态环境局", "zjj": "某市住房和城乡建设局",
                  "county_scjg": "某县市场监督管理局"}

#: username, display name, roles, department
USERS = [
    ("chuangkou", "王窗口", ["window_clerk"], "scjg"),
    ("shencha", "李审查", ["reviewer"], "scjg"),
    ("shencha_b", "卫审查", ["reviewer"], "scjg"),
    ("fuzeren", "赵负责", ["head"], "scjg"),
    ("mz_chuangkou", "陈窗口", ["window_clerk"], "mz"),
    ("mz_shencha", "周审查", ["reviewer"], "mz"),
    ("mz_fuzeren", "吴负责", ["head"], "mz"),
    ("ws_chuangkou", "郑窗口", ["window_clerk"], "wsjk"),
    ("ws_shencha", "冯审查", ["reviewer"], "wsjk"),
    ("ws_fuzeren", "褚负责", ["head"], "wsjk"),
    ("nync_chuangkou", "蒋窗口", ["window_clerk"], "nync"),
    ("nync_shencha", "沈审查", ["reviewer"], "nync"),
    ("nync_fuzeren", "韩负责", ["head"], "nync"),
    ("fgw_chuangkou", "杨窗口", ["window_clerk"], "fgw"),
    ("fgw_shencha", "朱审查", ["reviewer"], "fgw"),
    ("fgw_fuzeren", "秦负责", ["head"], "fgw"),
    ("zrzy_shencha", "尤审查", ["reviewer"], "zrzy"),
    ("sthj_shencha", "许审查", ["reviewer"], "sthj"),
    ("zjj_shencha", "何审查", ["reviewer"], "zjj"),
    ("zjj_fuzeren", "吕负责", ["head"], "zjj"),
    ("xian_chuangkou", "施窗口", ["window_clerk"], "county_scjg"),
    ("xian_shencha", "张审查", ["reviewer"], "county_scjg"),
    ("xian_fuzeren", "孔负责", ["head"], "county_scjg"),
    ("rexian", "曹热线", ["window_clerk"], "zwfw"),
    ("fushizhang", "林副市长", ["gov_head"], "city"),
    ("jiancha", "孙监察", ["supervisor"], "zwfw"),
    ("admin", "钱管理", ["admin"], "zwfw"),
    ("sheji", "严设计", ["designer"], "zwfw"),
]

def is_seeded(session: Session) -> bool:
    return session.scalar(select(Department.id).limit(1)) is not None


def seed(session: Session, at: datetime) -> None:
    for code, name, level, parent in DEPARTMENTS:
        people.add_department(session, code, name, level=level, parent=parent, official_name=OFFICIAL_NAMES.get(code))
    for username, display, roles, department in USERS:
        people.add_user(session, username, roles=roles, department_code=department,
                        password=DEMO_PASSWORD, display_name=display)
    for path in item_files(content.catalogue()):
        load_file(session, path, content.diagrams(), loaded_by="demo", at=at)
    online.open_account(session, DEMO_APPLICANT, DEMO_APPLICANT_PASSWORD, DEMO_APPLICANT_PASSWORD, at=at)


def logins() -> list[tuple[str, str, str]]:
    """(username, display name, roles) for printing at start-up."""
    return [(u, d, "、".join(role_name(r) for r in roles)) for u, d, roles, _ in USERS]
