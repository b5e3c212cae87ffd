"""Migrating an item's running cases to another version: the dry run (every running case, whether
it can move and why not, and what a replay of its history against the version says) and the real
run (each movable case moved by its own ``MigrateCase`` command, one transaction per case; the
rest are left where they are).

A dry run can also target a designer's draft that is not deployed yet (待管理员部署), so that an
administrator sees what deploying it would mean for the running cases before deploying; it
reads only. Cases move only to a deployed version."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.actors import Actor
from engine.commands.versions import MigrateCase
from engine.errors import ApprovalError, BadInput, NotFound
from engine.executor import Engine
from engine.commands import COMMANDS
from engine.replay import Replayer, export_case
from engine.runtime.spiff import command_scope, migrate
from engine.runtime.definitions import ProcessDefinition
from engine.runtime.lint import lint
from engine.store.models import Case, Item, ProcessDraft, ProcessVersion
from engine.timelimits.policy import policy_from_json
from engine.versions import MoveCheck, check_move, item_by_code, require_admin, version_by_number


@dataclass
class Target:
    """What the running cases would move to: a deployed version, or an undeployed draft."""

    label: str  # 第 2 版 / 草稿 7（未部署）
    version: ProcessVersion | None
    draft: int | None
    definition: ProcessDefinition
    bpmn: bytes
    filename: str


def _version_target(engine: Engine, session, version: ProcessVersion) -> Target:
    bpmn = session.scalar(select(ProcessVersion.bpmn_xml).where(ProcessVersion.id == version.id))
    return Target(f"第 {version.version} 版", version, None, engine.definition(session, version),
                  bpmn.encode("utf-8"), version.filename)


def _draft_target(engine: Engine, session, item: Item, draft_id: int) -> Target:
    draft = session.get(ProcessDraft, draft_id)
    if draft is None or draft.item_id != item.id:
        raise NotFound(f"“{item.name}”没有草稿 {draft_id}")
    same = session.scalar(select(ProcessVersion).where(ProcessVersion.item_id == item.id,
                                                       ProcessVersion.content_hash == draft.content_hash))
    if same is not None:  # already deployed: it is that version
        return _version_target(engine, session, same)
    content = draft.bpmn_xml.encode("utf-8")
    report = lint(content, draft.filename, policy_from_json(item.time_policy))
    if report.errors or report.definition is None:
        raise BadInput(f"草稿 {draft.id} 未通过校验，不能试运行迁移：" + "；".join(p.reason for p in report.errors[:5])
                       + ("……" if len(report.errors) > 5 else ""))
    return Target(f"草稿 {draft.id}（未部署）", None, draft.id, report.definition, content, draft.filename)


@dataclass
class MigrationReport:
    item: str
    item_name: str
    version: int | None  # None: a dry run against an undeployed draft
    dry_run: bool
    cases: list[MoveCheck] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    draft: int | None = None
    target: str = ""

    @property
    def movable(self) -> int:
        return sum(1 for c in self.cases if c.movable)

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "item_name": self.item_name, "version": self.version, "draft": self.draft,
                "target": self.target, "dry_run": self.dry_run,
                "movable": self.movable, "moved": self.moved, "cases": [c.to_dict() for c in self.cases]}


def _check(engine: Engine, session, case: Case, target: Target, at: datetime,
           replayer: Replayer | None) -> MoveCheck:
    source = engine.definition(session, case.process_version)
    definition = target.definition
    workflow = engine.codec.load(case.workflow_state, source.spec, source.subprocess_specs)
    workflow.script_engine = engine.script_engine
    check = check_move(session, case, workflow, source, definition, target.version, label=target.label)
    if check.movable:  # what SpiffWorkflow itself cannot place: try on this throw-away copy
        with command_scope(max(at, case.last_event_at), case.key, case.last_seq + 1,
                           calendar=lambda: engine.calendar(session)):
            stranded = migrate(workflow, definition.spec, definition.subprocess_specs, engine.codec.registry)
        check.reasons.extend(f"已到达的环节“{t.name}”在{target.label}中没有对应" for t in stranded)
    if replayer is not None:
        try:
            result = replayer.replay(export_case(session, case), target.bpmn, target.filename)
            if result.same:
                check.replay = "一致：已办的各步按新流程重做，结果相同"
            else:
                d = result.divergence
                command = COMMANDS.get(d.command)
                step = f"第 {d.seq} 步（{command.label if command else d.command}）"
                check.replay_detail = d.message()
                if d.what.startswith("被拒绝"):
                    # what was recorded is invalid under the target (a value it no longer offers):
                    # the case does not move (the real run replays too, so it moves exactly the
                    # cases the dry run calls movable)
                    check.replay = f"不同：按新流程重做到{step}时，{d.what}"
                    check.reasons.append(f"已办的{step}按{target.label}不被接受")
                else:
                    # the target would have routed the done steps otherwise (a step added before
                    # the current one): a move does not redo them, the case goes on from where it is
                    check.replay = (f"不同：按新流程重做到{step}时，{d.what}与原记录不同。迁移不重做已办的步骤，"
                                    f"办件从当前环节按新流程继续")
        except ApprovalError as exc:
            check.replay = f"历史不能按该版本重放：{exc.message}"
    return check


def plan(engine: Engine, actor: Actor, item_code: str, version: int | None = None, *, at: datetime,
         replay: bool = True, draft: int | None = None) -> MigrationReport:
    """The dry run: every running case of the item not yet on the target — ``version``, or the
    undeployed ``draft`` — whether it can move and why not. It only reads."""
    require_admin(actor)
    if (version is None) == (draft is None):
        raise BadInput("请选择一个目标版本或一份草稿")
    replayer = Replayer() if replay else None
    try:
        with engine.db.reader() as session:
            item = item_by_code(session, item_code)
            target = (_version_target(engine, session, version_by_number(session, item, version)) if version is not None
                      else _draft_target(engine, session, item, draft))
            report = MigrationReport(item.code, item.name, target.version.version if target.version else None,
                                     dry_run=True, draft=target.draft, target=target.label)
            query = select(Case).where(Case.item_id == item.id, Case.state == "running")
            if target.version is not None:
                query = query.where(Case.process_version_id != target.version.id)
            cases = session.scalars(query.order_by(Case.number))
            report.cases = [_check(engine, session, case, target, at, replayer) for case in cases]
    finally:
        if replayer is not None:
            replayer.close()
    return report


def run(engine: Engine, actor: Actor, item_code: str, version: int, *, at: datetime | None = None,
        reason: str = "") -> MigrationReport:
    """Move every case that can move, each in its own transaction; leave the rest with the reason.
    Moving running cases needs a reason, written into each case's history (as rolling back does)."""
    if not (reason or "").strip():
        raise BadInput("请写明迁移理由：它记入每一件被迁移办件的办理记录")
    at = at or engine.now()
    report = plan(engine, actor, item_code, version, at=at)  # with the replay: the dry run's verdict
    report.dry_run = False
    with engine.db.reader() as session:
        target = version_by_number(session, item_by_code(session, item_code), version).content_hash
    for check in report.cases:
        if not check.movable:
            continue
        try:
            engine.execute(MigrateCase(case=check.case, to=target, reason=reason), actor, at=at)
            report.moved.append(check.case)
        except ApprovalError as exc:  # changed since the check (a step done meanwhile): left, with why
            check.reasons.append(exc.message)
    return report
