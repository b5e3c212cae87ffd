"""Commands on a case that do not touch its clocks: the materials checklist, copies for information."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .. import alerts
from ..errors import BadInput
from engine.store.models import User
from engine.authorization import ACCEPTANCE_WINDOW, CASE_HANDLER_OR_OVERSIGHT
from .base import Applied, CaseCommand, CommandContext, OpenCase, bounded_text


@dataclass(frozen=True)
class CopyCase(CaseCommand):
    """抄送: send the case to colleagues for information; they may read it from then on."""

    type = "copy_case"
    label = "抄送"
    policy = CASE_HANDLER_OR_OVERSIGHT
    case: str
    to: tuple[str, ...] = ()
    note: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        actor = ctx.actor
        names = sorted(set(self.to))
        if not names:
            raise BadInput("请选择抄送对象")
        users = list(ctx.session.scalars(select(User).where(User.username.in_(names), User.active.is_(True))))
        missing = sorted(set(names) - {u.username for u in users})
        if missing:
            raise BadInput(f"用户不存在或已停用：{'、'.join(missing)}")
        note = bounded_text(self.note, "抄送说明", required=False)
        notified = alerts.send(ctx.session, users, case=case.row, kind="copy",
                               title=f"【抄送】{case.row.number} {case.row.item.name}（{actor.display_name or actor.name} 抄送）",
                               body=note, at=ctx.at)
        return Applied(notified, {"notified": notified})


MATERIAL_STATES = {"received": "已收", "missing": "缺", "deferred": "容缺"}
DEFERRAL_DAYS = 5


@dataclass(frozen=True)
class RecordMaterials(CaseCommand):
    """The window's materials checklist: each material of the item's guide received, missing,
    or — where the guide allows 容缺 — accepted for later, due within 5 working days."""

    type = "record_materials"
    label = "核对材料"
    policy = ACCEPTANCE_WINDOW
    case: str
    statuses: tuple[tuple[str, str], ...] = ()

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        self.acceptance_task(ctx, case)
        guide = {m["name"]: m for m in (case.row.item.guide or {}).get("materials", [])}
        if not guide:
            raise BadInput("本事项的办事指南没有列出申请材料")
        checklist: dict[str, dict] = {}
        due = case.timekeeper.calendar.add(case.timekeeper.today, DEFERRAL_DAYS).value
        for name, status in self.statuses:
            if name not in guide:
                raise BadInput(f"“{name}”不是本事项的申请材料")
            if status not in MATERIAL_STATES:
                raise BadInput(f"材料状态应为 {'、'.join(MATERIAL_STATES)} 之一")
            if status == "deferred" and not guide[name].get("deficiency_allowed"):
                raise BadInput(f"“{name}”不允许容缺受理")
            checklist[name] = {"status": status, **({"due_on": due.isoformat()} if status == "deferred" else {})}
        unmarked = [n for n in guide if n not in checklist]
        if unmarked:
            raise BadInput(f"请逐项核对材料，尚未核对：{'、'.join(unmarked)}")
        case.row.materials = checklist
        missing = [n for n, s in checklist.items() if s["status"] == "missing" and guide[n].get("required")]
        return Applied(checklist, {"materials": checklist, "missing_required": missing})
