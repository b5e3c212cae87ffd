"""Moving a running case to another version of its item's process (迁移): an administrator's act,
recorded in the case's history like any other."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.authorization import ADMINISTRATOR
from engine.errors import Conflict, NotFound
from engine.runtime.spiff import migrate
from engine.store.models import ProcessVersion
from engine.versions import check_move
from .base import Applied, CaseCommand, CommandContext, OpenCase, bounded_text


@dataclass(frozen=True)
class MigrateCase(CaseCommand):
    """迁移: move a running case onto another version of its item's process. Refused (nothing
    changes) when the version has nowhere to put the case: its current step removed or changed,
    a waiting timer removed or changed, a done step SpiffWorkflow cannot place. ``to`` is the
    target version's content hash (the same in every database, so a replay finds it)."""

    type = "migrate_case"
    label = "迁移到新版本"
    policy = ADMINISTRATOR
    case: str
    to: str
    reason: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        reason = bounded_text(self.reason, "迁移理由", required=False)
        target = ctx.session.scalar(select(ProcessVersion).where(ProcessVersion.item_id == case.row.item_id,
                                                                 ProcessVersion.content_hash == self.to))
        if target is None:
            raise NotFound(f"审批事项“{case.row.item.name}”没有版本 {self.to[:12]}")
        source_version = case.row.process_version
        definition = ctx.engine.definition(ctx.session, target)
        check = check_move(ctx.session, case.row, case.workflow, case.definition, definition, target)
        if not check.movable:
            raise Conflict(f"办件 {case.row.number} 不能迁移到第 {target.version} 版：" + "；".join(check.reasons))
        stranded = migrate(case.workflow, definition.spec, definition.subprocess_specs, ctx.engine.codec.registry)
        if stranded:  # the transaction rolls back: the workflow object changed here is thrown away
            raise Conflict(f"办件 {case.row.number} 不能迁移到第 {target.version} 版：" + "；".join(
                f"已到达的环节“{t.name}”在新版本中没有对应" for t in stranded))
        case.row.process_version = target
        case.definition = definition
        case.advance()
        for row in case.ready_rows():  # a step the new version renamed is called by its new name everywhere
            info = definition.user_tasks.get(row.element_id) if row.kind == "bpmn" else None
            if info is not None and info.name and row.name != info.name:
                row.name = info.name
        return Applied(target, {"from": source_version.content_hash, "from_version": source_version.version,
                                "to_version": target.version, "reason": reason})
