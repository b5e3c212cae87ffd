"""Catalogue commands: an administrator edits an item's guide (办事指南) and its time limits in the
web. They concern no case: ``Engine.execute`` checks the policy and records the act in
``administration_acts``. Cases keep the guide and limits they started with."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.authorization import ADMINISTRATOR, Subject
from engine.errors import BadInput, Conflict
from engine.guides import GuideProblems, edit, fingerprint
from engine.catalogue import CatalogueError
from engine.catalogue import store_entry
from .base import Applied, Command, CommandContext, bounded_text


@dataclass(frozen=True)
class EditGuide(Command):
    """修改办事指南: the guide's conditions, materials, fees, legal basis, complaint channel and the
    item's limits, checked as a catalogue file is (``engine/guides.py``). A change of any time limit
    needs a reason, and the act records each limit's old and new value (时限变更记录). Cases already
    started keep their limits, deadlines and materials; new applications get the new guide.
    ``expected`` is the item's state the form was rendered from (not recorded)."""

    type = "edit_guide"
    label = "修改办事指南"
    policy = ADMINISTRATOR
    ledger = "administration"
    records_refusals = False  # not a 流程错误 of a case
    unrecorded = frozenset({"expected"})
    item: str = ""
    guide: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    expected: str = ""

    def load(self, ctx: CommandContext) -> None:
        return None

    def apart_subject(self, ctx: CommandContext) -> Subject:
        return Subject(None, None)

    def apply(self, ctx: CommandContext, case: None) -> Applied:
        if not isinstance(self.guide, dict):
            raise BadInput("办事指南应为映射（字段: 值）")
        edited = edit(ctx.session, self.item, self.guide)
        if self.expected and self.expected != fingerprint(edited.item):
            raise Conflict(f"“{edited.item.name}”的办事指南已被他人修改，请刷新后重新修改")
        try:
            reason = bounded_text(self.reason, "变更理由", required=bool(edited.limits))
        except BadInput as exc:
            message = "修改时限须说明理由" if edited.limits else exc.message
            raise GuideProblems([CatalogueError("", None, "reason", message)]) from None
        if not edited.changed and not edited.limits:
            raise BadInput("没有修改任何内容")
        store_entry(edited.item, edited.data, edited.policy)
        result = {"item": edited.item.code, "name": edited.item.name, "changed": edited.changed,
                  "limits": edited.limits, "reason": reason}
        return Applied(result, result)
