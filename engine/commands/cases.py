"""Commands on a case that do not touch its clocks: the materials checklist and its scanned files,
copies for information."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select

from .. import alerts
from ..errors import BadInput, Conflict
from ..files import ACCEPTED, MAX_FILE_BYTES, MAX_FILES_PER_CASE, SIGNATURES, clean_filename
from engine.store.models import Attachment, User
from engine.authorization import (ACCEPTANCE_WINDOW, CASE_HANDLER_OR_APPLICANT, CASE_HANDLER_OR_OVERSIGHT,
                                  CASE_HANDLER_OR_WINDOW)
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


#: 不涉及 (na) only for a material the guide does not require (a 委托书 when the applicant came in person)
MATERIAL_STATES = {"received": "已收", "missing": "缺", "deferred": "容缺", "na": "不涉及"}
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
        guide = {m["name"]: m for m in case.row.started_guide.get("materials", [])}
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
            if status == "na" and guide[name].get("required"):
                raise BadInput(f"“{name}”是必需材料，不能标为不涉及")
            checklist[name] = {"status": status, **({"due_on": due.isoformat()} if status == "deferred" else {})}
        unmarked = [n for n in guide if n not in checklist]
        if unmarked:
            raise BadInput(f"请逐项核对材料，尚未核对：{'、'.join(unmarked)}")
        case.row.materials = checklist
        missing = [n for n, s in checklist.items() if s["status"] == "missing" and guide[n].get("required")]
        return Applied(checklist, {"materials": checklist, "missing_required": missing})


@dataclass(frozen=True)
class ReceiveDeferredMaterial(CaseCommand):
    """容缺受理's promise kept: a material the window accepted for later (容缺) has been brought in.
    The checklist marks it received (with the day); until every one is, the licence is not issued
    (``outcomes.check``: 领证前补齐)."""

    type = "receive_deferred_material"
    label = "收到容缺材料"
    policy = CASE_HANDLER_OR_WINDOW
    case: str
    material: str
    note: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        row = case.row
        if row.state != "running":
            raise Conflict("办件已办结或已终止，不能再登记容缺材料")
        checklist = dict(row.materials or {})
        entry = checklist.get(self.material) or {}
        if entry.get("status") != "deferred":
            raise Conflict(f"“{self.material}”不是待补齐的容缺材料")
        note = bounded_text(self.note, "说明", required=False)
        received = {"status": "received", "received_on": case.timekeeper.today.isoformat(),
                    "deferred_until": entry.get("due_on")}
        checklist[self.material] = received
        row.materials = checklist
        return Applied(received, {"material": self.material, **received, "note": note})


@dataclass(frozen=True)
class AttachMaterial(CaseCommand):
    """A scanned material received for the case (扫描件). The file is already in the file store
    (engine/files.py) under its sha256; the case records which material it is, its name, type
    and size, and who received it."""

    type = "attach_material"
    label = "上传材料扫描件"
    policy = CASE_HANDLER_OR_APPLICANT
    case: str
    material: str
    filename: str
    content_type: str
    size: int
    sha256: str

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        guide = {m["name"] for m in case.row.started_guide.get("materials", [])}
        if self.material not in guide:
            raise BadInput(f"“{self.material}”不是本事项的申请材料")
        if ctx.actor.kind == "applicant" and (case.row.state != "running"
                                              or case.row.acceptance not in (None, "supplement")):
            raise Conflict("办件已经受理或已办结，不能再在网上上传材料；如需补充，请与窗口联系")
        if self.content_type not in {t for _, t, _ in SIGNATURES}:
            raise BadInput(f"只接收 {ACCEPTED} 格式的扫描件")
        if not 0 < self.size <= MAX_FILE_BYTES:
            raise BadInput(f"扫描件大小应在 1 字节到 {MAX_FILE_BYTES // (1024 * 1024)} MB 之间")
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise BadInput("文件摘要（sha256）格式不正确")
        count = ctx.session.scalar(select(func.count(Attachment.id)).where(Attachment.case_id == case.row.id))
        if count >= MAX_FILES_PER_CASE:
            raise BadInput(f"每件最多上传 {MAX_FILES_PER_CASE} 个扫描件")
        row = Attachment(case_id=case.row.id, material=self.material, filename=clean_filename(self.filename),
                         content_type=self.content_type, size=self.size, sha256=self.sha256,
                         uploaded_at=ctx.at, uploaded_by=ctx.actor.name)
        ctx.session.add(row)
        ctx.session.flush()
        return Applied(row, {"attachment": row.id})
