"""Deploy a BPMN file as an immutable version of an approval item."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.runtime.definitions import ProcessDefinition, parse_cached
from engine.runtime.values import check_text
from .errors import BadInput, BpmnError, NotFound
from engine.store.models import Department, Item, ProcessVersion, VersionActivation
from engine.timelimits.policy import TimePolicy


@dataclass(frozen=True)
class Deployment:
    version: ProcessVersion
    definition: ProcessDefinition
    created: bool


def deploy(session: Session, content: bytes, filename: str, item_code: str, *, deployed_by: str,
           at: datetime, department_code: str | None = None, item_name: str | None = None) -> Deployment:
    """Validate and store, and make a new version the one new cases use; the same content for the
    same item gives back the same version (and leaves the current one as it is)."""
    check_text(item_code, "事项代码", 64)  # the columns' lengths: PostgreSQL enforces them, SQLite does not
    check_text(filename, "文件名", 255)
    check_text(deployed_by, "部署人", 64)
    check_text(item_name or "", "事项名称", 255)
    check_text(department_code or "", "部门代码", 64)
    definition = parse_cached(content, filename)
    referenced = sorted({t.department for t in definition.user_tasks.values() if t.department})
    known = set(session.scalars(select(Department.code).where(Department.code.in_(referenced))))
    for task in definition.user_tasks.values():
        if task.department and task.department not in known:
            raise BpmnError(f"任务指定的部门 “{task.department}” 不存在", file=filename,
                            element=task.element_id, tag="userTask")
    item = session.scalar(select(Item).where(Item.code == item_code))
    if item is None:
        if not department_code:
            raise BadInput(f"审批事项 {item_code} 尚不存在：首次部署请用 --department 指定所属部门")
        department = session.scalar(select(Department).where(Department.code == department_code))
        if department is None:
            raise NotFound(f"部门 {department_code} 不存在")
        item = Item(code=item_code, name=item_name or definition.name, department=department, created_at=at)
        session.add(item)
        session.flush()
    existing = session.scalar(select(ProcessVersion).where(ProcessVersion.item_id == item.id,
                                                           ProcessVersion.content_hash == definition.content_hash))
    if existing is not None:
        return Deployment(existing, definition, created=False)
    number = (session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.item_id == item.id)) or 0) + 1
    version = ProcessVersion(item=item, version=number, content_hash=definition.content_hash,
                             process_id=definition.process_id, name=definition.name, filename=filename,
                             bpmn_xml=content.decode("utf-8"), deployed_by=deployed_by, deployed_at=at)
    session.add(version)
    session.flush()
    # a new version is the one new cases use (engine/versions.py); the record says who and when
    session.add(VersionActivation(item_id=item.id, version=version, act="deploy", reason="",
                                  actor=deployed_by, at=at))
    session.flush()
    return Deployment(version, definition, created=True)


def set_time_policy(session: Session, item_code: str, settings: dict) -> TimePolicy:
    """Validate and store an item's time limits; cases started before keep theirs (``Case.time_policy``)."""
    item = session.scalar(select(Item).where(Item.code == item_code))
    if item is None:
        raise NotFound(f"审批事项 {item_code} 不存在")
    policy = TimePolicy.from_dict(settings)
    item.time_policy = policy.to_dict()
    return policy
