"""Migrating an item's running cases to another version: the dry run (every running case, whether
it can move and why not, and what a replay of its history against the version says) and the real
run (each movable case moved by its own ``MigrateCase`` command, one transaction per case; the
rest are left where they are)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.actors import Actor
from engine.commands.versions import MigrateCase
from engine.errors import ApprovalError
from engine.executor import Engine
from engine.replay import Replayer, export_case
from engine.runtime.spiff import command_scope, migrate
from engine.store.models import Case, ProcessVersion
from engine.versions import MoveCheck, check_move, item_by_code, require_admin, version_by_number


@dataclass
class MigrationReport:
    item: str
    item_name: str
    version: int
    dry_run: bool
    cases: list[MoveCheck] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)

    @property
    def movable(self) -> int:
        return sum(1 for c in self.cases if c.movable)

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "item_name": self.item_name, "version": self.version, "dry_run": self.dry_run,
                "movable": self.movable, "moved": self.moved, "cases": [c.to_dict() for c in self.cases]}


def _check(engine: Engine, session, case: Case, target: ProcessVersion, at: datetime,
           replayer: Replayer | None) -> MoveCheck:
    source = engine.definition(session, case.process_version)
    definition = engine.definition(session, target)
    workflow = engine.codec.load(case.workflow_state, source.spec, source.subprocess_specs)
    workflow.script_engine = engine.script_engine
    check = check_move(session, case, workflow, source, definition, target)
    if check.movable:  # what SpiffWorkflow itself cannot place: try on this throw-away copy
        with command_scope(max(at, case.last_event_at), case.key, case.last_seq + 1,
                           calendar=lambda: engine.calendar(session)):
            stranded = migrate(workflow, definition.spec, definition.subprocess_specs, engine.codec.registry)
        check.reasons.extend(f"已到达的环节“{t.name}”在第 {target.version} 版中没有对应" for t in stranded)
    if replayer is not None:
        bpmn = session.scalar(select(ProcessVersion.bpmn_xml).where(ProcessVersion.id == target.id))
        try:
            result = replayer.replay(export_case(session, case), bpmn.encode("utf-8"), target.filename)
            check.replay = ("历史按该版本重放一致" if result.same
                            else f"历史按该版本重放在第 {result.divergence.seq} 条出现分歧：{result.divergence.message()}")
        except ApprovalError as exc:
            check.replay = f"历史不能按该版本重放：{exc.message}"
    return check


def plan(engine: Engine, actor: Actor, item_code: str, version: int, *, at: datetime,
         replay: bool = True) -> MigrationReport:
    """The dry run: every running case of the item not yet on ``version``, whether it can move."""
    require_admin(actor)
    replayer = Replayer() if replay else None
    try:
        with engine.db.reader() as session:
            item = item_by_code(session, item_code)
            target = version_by_number(session, item, version)
            report = MigrationReport(item.code, item.name, target.version, dry_run=True)
            cases = session.scalars(select(Case).where(Case.item_id == item.id, Case.state == "running",
                                                       Case.process_version_id != target.id).order_by(Case.number))
            report.cases = [_check(engine, session, case, target, at, replayer) for case in cases]
    finally:
        if replayer is not None:
            replayer.close()
    return report


def run(engine: Engine, actor: Actor, item_code: str, version: int, *, at: datetime | None = None,
        reason: str = "") -> MigrationReport:
    """Move every case that can move, each in its own transaction; leave the rest with the reason."""
    at = at or engine.now()
    report = plan(engine, actor, item_code, version, at=at, replay=False)
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
