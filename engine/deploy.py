"""Deploy a BPMN file as an immutable version of an approval item."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, object_session

from engine.runtime.definitions import ProcessDefinition, parse_cached
from engine.runtime.values import check_text
from .errors import BadInput, BpmnError, NotFound
from engine.store.models import Case, Department, Item, ProcessVersion, VersionActivation
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
    """Validate and store an item's time limits; cases started before keep theirs (``Case.started_policy``)."""
    item = session.scalar(select(Item).where(Item.code == item_code))
    if item is None:
        raise NotFound(f"审批事项 {item_code} 不存在")
    policy = TimePolicy.from_dict(settings)
    keep_started(item, policy=policy.to_dict() != item.time_policy)  # cases started before keep theirs
    item.time_policy = policy.to_dict()
    return policy


def keep_started(item: Item, *, guide: bool = False, policy: bool = False) -> None:
    """Before the item's guide (``guide``) or time policy (``policy``) changes: give the guide or
    policy as it is now to the item's cases that read it from the item. A case keeps the guide it
    was registered under (``Case.started_guide``) and the time limits it started with
    (``Case.started_policy``), but stores them only once the item's have changed since: until then
    they are the item's (0.7 KB and 0.45 KB a case saved; docs/performance.md). The item row is
    locked first, and ``StartCase`` reads the item with a share lock, so no case started under the
    old guide or policy is committed after this update."""
    if not (guide or policy):
        return
    session = object_session(item)
    session.execute(select(Item.id).where(Item.id == item.id).with_for_update())
    kept = []
    if guide:
        session.execute(update(Case).where(Case.item_id == item.id, Case.guide.is_(None))
                        .values(guide=item.guide or {}).execution_options(synchronize_session=False))
        kept.append("guide")
    if policy:  # an item without a policy has the defaults: the case keeps them written out
        session.execute(update(Case).where(Case.item_id == item.id, Case.time_policy.is_(None))
                        .values(time_policy=item.time_policy or TimePolicy().to_dict())
                        .execution_options(synchronize_session=False))
        kept.append("time_policy")
    for case in list(session.identity_map.values()):  # a case row already loaded reads the copy
        if isinstance(case, Case) and case.item_id == item.id:
            stale = [name for name in kept if name in case.__dict__ and getattr(case, name) is None]
            if stale:
                session.expire(case, stale)
