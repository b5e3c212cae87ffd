"""An item's process versions: which one new cases use, what changed between them, deploying a
designer's draft, rolling back, and whether a running case can move to another version.

Versions are immutable (``engine/deploy.py``); which one is *current* — the one new cases start
on — is the latest ``VersionActivation`` of the item (a deploy or a rollback, with who, when and
why); an item without activations (deployed before they existed) uses its newest version.
Running cases stay on their version until migrated (``MigrateCase``, engine/commands/versions.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.clock import CHINA_TZ
from engine.deploy import deploy
from engine.errors import BadInput, NotAllowed, NotFound
from engine.people import display_names
from engine.roles import role_name
from engine.runtime.definitions import ProcessDefinition, UserTaskInfo
from engine.runtime.lint import lint
from engine.runtime.spiff import waiting_timers
from engine.store.models import Case, HistoryEntry, Item, ProcessDraft, ProcessVersion, Task, VersionActivation
from engine.timelimits.policy import policy_from_json

ADMIN = "admin"
ACTS = {"deploy": "部署", "rollback": "回退"}
MAX_REASON = 500


def require_admin(actor: Actor) -> None:
    if not actor.has_role(ADMIN):
        raise NotAllowed("只有管理员可以部署、回退版本和迁移办件")


def item_by_code(session: Session, code: str) -> Item:
    item = session.scalar(select(Item).where(Item.code == code))
    if item is None:
        raise NotFound(f"审批事项 {code} 不存在")
    return item


def current_version(session: Session, item: Item) -> ProcessVersion | None:
    """The version new cases of ``item`` start on."""
    activation = session.scalar(select(VersionActivation).where(VersionActivation.item_id == item.id)
                                .order_by(VersionActivation.id.desc()).limit(1))
    if activation is not None:
        return activation.version
    return session.scalar(select(ProcessVersion).where(ProcessVersion.item_id == item.id)
                          .order_by(ProcessVersion.version.desc()).limit(1))


def version_by_number(session: Session, item: Item, number: int) -> ProcessVersion:
    version = session.scalar(select(ProcessVersion).where(ProcessVersion.item_id == item.id,
                                                          ProcessVersion.version == number))
    if version is None:
        raise NotFound(f"审批事项“{item.name}”没有第 {number} 版")
    return version


def record_activation(session: Session, version: ProcessVersion, act: str, *, actor: str, at: datetime,
                      reason: str = "", draft: ProcessDraft | None = None) -> VersionActivation:
    row = VersionActivation(item_id=version.item_id, version=version, act=act, draft_id=draft.id if draft else None,
                            reason=reason, actor=actor, at=at)
    session.add(row)
    session.flush()
    return row


def _reason(reason: str, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise BadInput("请填写理由")
    if len(reason) > MAX_REASON:
        raise BadInput(f"理由过长（上限 {MAX_REASON} 字）")
    return reason


# ---------------------------------------------------------------------------- deploy and roll back

def deploy_draft(session: Session, actor: Actor, draft_id: int, *, at: datetime, reason: str = "") -> ProcessVersion:
    """Deploy a designer's draft of an existing item and make it the version new cases use.
    Lint must find no error; the same diagram as an existing version makes that one current."""
    require_admin(actor)
    reason = _reason(reason, required=False)
    draft = session.get(ProcessDraft, draft_id)
    if draft is None:
        raise NotFound(f"草稿 {draft_id} 不存在")
    if draft.item is None:
        raise BadInput("这份草稿不属于任何审批事项，不能在此部署")
    content = draft.bpmn_xml.encode("utf-8")
    report = lint(content, draft.filename, policy_from_json(draft.item.time_policy))
    if report.errors:
        raise BadInput("草稿未通过校验，不能部署：" + "；".join(p.reason for p in report.errors[:5])
                       + ("……" if len(report.errors) > 5 else ""))
    deployment = deploy(session, content, draft.filename, draft.item.code, deployed_by=actor.name, at=at)
    current = current_version(session, draft.item)
    if deployment.created:  # deploy() recorded the activation; add the draft and the reason
        activation = session.scalar(select(VersionActivation).where(VersionActivation.version_id == deployment.version.id)
                                    .order_by(VersionActivation.id.desc()).limit(1))
        activation.draft_id, activation.reason = draft.id, reason
    elif current is None or current.id != deployment.version.id:
        record_activation(session, deployment.version, "deploy", actor=actor.name, at=at, reason=reason, draft=draft)
    else:
        raise BadInput(f"草稿与当前版本（第 {deployment.version.version} 版）相同，无需部署")
    return deployment.version


def rollback(session: Session, actor: Actor, item_code: str, number: int, *, at: datetime, reason: str) -> ProcessVersion:
    """Make an earlier version the one new cases use; running cases are not touched."""
    require_admin(actor)
    reason = _reason(reason, required=True)
    item = item_by_code(session, item_code)
    version = version_by_number(session, item, number)
    current = current_version(session, item)
    if current is not None and current.id == version.id:
        raise BadInput(f"第 {number} 版已是当前版本")
    record_activation(session, version, "rollback", actor=actor.name, at=at, reason=reason)
    return version


# ---------------------------------------------------------------------------- what changed

def _fields(info: UserTaskInfo) -> dict[str, Any]:
    return {f.id: f.to_dict() for f in info.form}


def step_changes(old: UserTaskInfo, new: UserTaskInfo, labels: dict[str, str] | None = None) -> list[str]:
    """What differs between two versions of one step, in words (``labels``: form field id → label)."""
    out = []
    if old.name != new.name:
        out.append(f"名称 “{old.name}” 改为 “{new.name}”")
    if old.role != new.role:
        out.append(f"办理角色 {role_name(old.role)} 改为 {role_name(new.role)}")
    if old.department != new.department:
        out.append(f"办理部门 {old.department or '事项所属部门'} 改为 {new.department or '事项所属部门'}")
    before, after = _fields(old), _fields(new)
    added = [after[k]["label"] for k in after if k not in before]
    removed = [before[k]["label"] for k in before if k not in after]
    changed = [after[k]["label"] for k in after if k in before and before[k] != after[k]]
    if added:
        out.append("表单新增 " + "、".join(added))
    if removed:
        out.append("表单删除 " + "、".join(removed))
    if changed:
        out.append("表单修改 " + "、".join(changed))
    before, after = old.rules.describe(labels), new.rules.describe(labels)  # the step's settings (环节设置)
    for what in dict.fromkeys([*before, *after]):
        if before.get(what) != after.get(what):
            out.append(f"{what} 改为 {after[what]}" if what in after else f"{what} 取消（{before[what]}）")
    return out


def _step_words(info: UserTaskInfo, labels: dict[str, str]) -> list[str]:
    """A new step as an administrator reads it before deploying: its form and its settings."""
    out = ["表单 " + "、".join(f.label for f in info.form)] if info.form else []
    return out + [f"{what}：{value}" for what, value in info.rules.describe(labels).items()]


def _labels(*definitions: ProcessDefinition) -> dict[str, str]:
    return {f.id: f.label for d in definitions for info in d.user_tasks.values() for f in info.form}


def change_summary(old: ProcessDefinition | None, new: ProcessDefinition) -> dict[str, Any]:
    """Steps (user tasks, compared by id) added, removed and changed from ``old`` to ``new``."""
    if old is None:
        return {"first": True, "added": [], "removed": [], "changed": [], "same": False}
    a, b = old.user_tasks, new.user_tasks
    labels = _labels(old, new)
    added = [{"id": k, "name": b[k].name, "role": role_name(b[k].role), "details": _step_words(b[k], labels)}
             for k in b if k not in a]
    removed = [{"id": k, "name": a[k].name, "role": role_name(a[k].role)} for k in a if k not in b]
    changed = [{"id": k, "name": b[k].name, "changes": step_changes(a[k], b[k], labels)}
               for k in b if k in a and step_changes(a[k], b[k], labels)]
    return {"first": False, "added": added, "removed": removed, "changed": changed,
            "same": not (added or removed or changed)}


def _china(at: datetime) -> str:
    return at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


#: who loaded a version when no user did: the demo seed, the system
NOT_A_USER = {"demo": "演示数据导入", "system": "系统"}


def _names(session: Session, usernames: set[str]) -> dict[str, str]:
    found = {u: d or u for u, d in display_names(session, usernames).items()}
    return {**{u: NOT_A_USER[u] for u in usernames if u in NOT_A_USER and u not in found}, **found}


def waiting_drafts(session: Session, item: Item, versions: list[ProcessVersion] | None = None) -> list[ProcessDraft]:
    """The item's drafts waiting for an administrator (待管理员部署), newest first: saved after
    the last deployed draft, not the same diagram as a version, one per diagram."""
    if versions is None:
        versions = list(session.scalars(select(ProcessVersion).where(ProcessVersion.item_id == item.id)))
    deployed = session.scalar(select(VersionActivation.draft_id).where(VersionActivation.item_id == item.id,
                                                                      VersionActivation.draft_id.is_not(None))
                              .order_by(VersionActivation.draft_id.desc()).limit(1)) or 0
    seen = {v.content_hash for v in versions}
    out = []
    for draft in session.scalars(select(ProcessDraft).where(ProcessDraft.item_id == item.id, ProcessDraft.id > deployed)
                                 .order_by(ProcessDraft.id.desc()).limit(50)):
        if draft.content_hash not in seen:
            seen.add(draft.content_hash)
            out.append(draft)
    return out


def versions_view(session: Session, actor: Actor, item_code: str, definitions,
                  draft_id: int | None = None) -> dict[str, Any]:
    """What the versions page shows: every version (newest first) with who deployed it, when, its
    hash, what changed from the one before, how many running cases are on it and whether it is
    current; the record of deploys and rollbacks; the drafts waiting to be deployed and, for the
    chosen one (``draft_id``, else the newest), what it changes against the current version and
    what lint says. ``definitions(session, version)`` gives a version's parsed definition
    (``Engine.definition``)."""
    require_admin(actor)
    item = item_by_code(session, item_code)
    versions = list(session.scalars(select(ProcessVersion).where(ProcessVersion.item_id == item.id)
                                    .order_by(ProcessVersion.version)))
    current = current_version(session, item)
    running: dict[int, int] = {}
    for version_id in session.scalars(select(Case.process_version_id).where(Case.item_id == item.id,
                                                                             Case.state == "running")):
        running[version_id] = running.get(version_id, 0) + 1
    activations = list(session.scalars(select(VersionActivation).where(VersionActivation.item_id == item.id)
                                       .order_by(VersionActivation.id.desc())))
    waiting = waiting_drafts(session, item, versions)
    draft = next((d for d in waiting if d.id == draft_id), None) if draft_id else None
    if draft_id and draft is None:
        raise NotFound(f"草稿 {draft_id} 不是“{item.name}”待部署的草稿")
    draft = draft or (waiting[0] if waiting else None)
    names = _names(session, {v.deployed_by for v in versions} | {a.actor for a in activations}
                   | {d.saved_by for d in waiting})
    rows, previous = [], None
    for version in versions:
        definition = definitions(session, version)
        rows.append({"id": version.id, "number": version.version, "hash": version.content_hash,
                     "name": version.name, "filename": version.filename, "deployed_by": version.deployed_by,
                     "deployed_by_name": names.get(version.deployed_by, version.deployed_by),
                     "deployed_at": _china(version.deployed_at), "current": current is not None and version.id == current.id,
                     "running": running.get(version.id, 0), "changes": change_summary(previous, definition)})
        previous = definition
    draft_view = None
    if draft is not None:
        report = lint(draft.bpmn_xml.encode("utf-8"), draft.filename, policy_from_json(item.time_policy))
        draft_view = {"id": draft.id, "hash": draft.content_hash, "title": draft.title, "saved_by_name": names.get(draft.saved_by, draft.saved_by),
                      "saved_at": _china(draft.saved_at), "errors": [p.reason for p in report.errors],
                      "deployed": any(v.content_hash == draft.content_hash for v in versions),
                      "changes": change_summary(definitions(session, current) if current else None, report.definition)
                      if report.definition is not None else None}
    return {"item": {"code": item.code, "name": item.name}, "versions": rows[::-1],
            "current": current.version if current else None, "draft": draft_view,
            "drafts": [{"id": d.id, "title": d.title, "saved_by_name": names.get(d.saved_by, d.saved_by),
                        "saved_at": _china(d.saved_at), "errors": d.errors} for d in waiting],
            "activations": sorted(
                [{"act": ACTS.get(a.act, a.act), "version": a.version.version,
                  "actor_name": names.get(a.actor, a.actor), "at": _china(a.at), "reason": a.reason,
                  "draft": a.draft_id} for a in activations] + _migrations(session, item),
                key=lambda row: row["at"], reverse=True)}


def _migrations(session: Session, item: Item) -> list[dict[str, Any]]:
    """The item's migrations for the 部署与回退记录: each run (one administrator, one target, one
    reason, in the same minute) as one row with its count, from the moved cases' histories."""
    runs: dict[tuple, dict[str, Any]] = {}
    for at, actor, inputs, payload, number in session.execute(
            select(HistoryEntry.at, HistoryEntry.actor, HistoryEntry.inputs, HistoryEntry.payload, Case.number)
            .join(Case, HistoryEntry.case_id == Case.id)
            .where(Case.item_id == item.id, HistoryEntry.command == "migrate_case")
            .order_by(HistoryEntry.at.desc()).limit(5000)):
        reason = str((inputs or {}).get("reason") or "")
        key = (actor, (payload or {}).get("to_version"), reason, _china(at))
        run = runs.setdefault(key, {"act": "迁移办件", "version": key[1], "actor": actor, "at": key[3],
                                    "reason": reason, "cases": []})
        run["cases"].append(number)
    names = _names(session, {r["actor"] for r in runs.values()})
    out = []
    for run in runs.values():
        cases = sorted(run["cases"])
        listed = "、".join(cases[:5]) + (f" 等 {len(cases)} 件" if len(cases) > 5 else f"（{len(cases)} 件）")
        out.append({"act": run["act"], "version": run["version"], "actor_name": names.get(run["actor"], run["actor"]),
                    "at": run["at"], "reason": f"{run['reason']}：{listed}" if run["reason"] else listed, "draft": None})
    return out


# ---------------------------------------------------------------------------- can a case move

@dataclass
class MoveCheck:
    """Whether a running case can move to a version, and why not."""

    case: str
    version: int | None  # None: an undeployed draft (a dry run only)
    at_steps: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    replay: str | None = None  # what a replay of its history against the target says, in a sentence
    replay_detail: str = ""  # where it parted, entry by entry (for the curious: expected and actual)
    target: str = ""  # 第 2 版, or 草稿 7（未部署）

    @property
    def movable(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "version": self.version, "target": self.target, "at_steps": self.at_steps, "movable": self.movable,
                "reasons": self.reasons, "replay": self.replay, "replay_detail": self.replay_detail}


def check_move(session: Session, case: Case, workflow, source: ProcessDefinition, target: ProcessDefinition,
               target_version: ProcessVersion | None, *, label: str | None = None) -> MoveCheck:
    """The domain rules for moving ``case`` (its ``workflow`` on ``source``) to ``target``: the
    case must be running on another version; each open step must exist in the target with the
    same role, department and form; each waiting timer must exist with the same expression.
    (What SpiffWorkflow itself cannot place — a done step that was removed — is found by trying
    the migration on a copy: ``engine/migration.py``.) ``target_version`` is None for a draft
    not yet deployed (a dry run), named by ``label``."""
    label = label or f"第 {target_version.version} 版"
    check = MoveCheck(case.number, target_version.version if target_version is not None else None, target=label)
    open_steps = list(session.scalars(select(Task).where(Task.case_id == case.id, Task.state == "ready",
                                                          Task.kind == "bpmn").order_by(Task.id)))
    check.at_steps = [t.name for t in open_steps]
    if case.state != "running":
        check.reasons.append("办件已办结")
        return check
    if target_version is not None and case.process_version_id == target_version.id:
        check.reasons.append(f"已在{label}上")
        return check
    for step in open_steps:
        new = target.user_tasks.get(step.element_id)
        old = source.user_tasks.get(step.element_id)
        if new is None:
            check.reasons.append(f"当前环节“{step.name}”在{label}中已删除")
        elif old is not None:
            for change in step_changes(old, new):
                if not change.startswith("名称"):
                    check.reasons.append(f"当前环节“{step.name}”已改变：{change}")
    for timer in waiting_timers(workflow):
        spec = target.spec.task_specs.get(timer.element)
        definition = getattr(spec, "event_definition", None)
        if spec is None:
            check.reasons.append(f"正在等待的计时“{timer.name}”在{label}中已删除")
        elif getattr(definition, "expression", None) != timer.expression:
            check.reasons.append(f"正在等待的计时“{timer.name}”的时限已改变")
    return check
