"""What the applicant is told in writing (告知书): the one-time notice of missing materials,
a suspended period, an extension, a deemed acceptance or approval. Each notice is a row
in ``case_notices``; the texts are here so that their wording changes in one place."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from engine.store.models import Notice

if TYPE_CHECKING:
    from engine.timelimits.case_time import CaseTime


def notice(t: "CaseTime", kind: str, body: str, detail: dict[str, Any]) -> Notice:
    row = Notice(case_id=t.row.id, kind=kind, body=body, detail=detail, created_at=t.at,
                 created_by=t.ctx.actor.name)
    t.session.add(row)
    return row


def supplement_text(materials: list[str], note: str, defects: bool = False) -> str:
    lines = "\n".join(f"{i}. {m}" for i, m in enumerate(materials, 1))
    head = ("您补正的材料仍存在问题，请对以下已补正的材料予以更正：" if defects
            else "您的申请材料不齐全，请一次性补正以下材料：")
    return f"{head}\n{lines}" + (f"\n{note}" if note else "")


def suspension_text(name: str, since: date, days: int, ends: date, reason: str) -> str:
    return (f"因{name}，办理时限自 {since:%Y-%m-%d} 起中止计算，"
            f"所需时间约 {days} 个工作日（预计至 {ends:%Y-%m-%d}）。{reason}")


def extension_text(reason: str, approver: str, days: int, until: date, paused: bool) -> str:
    after = "（特别程序所需时间不计算在内，届时顺延）" if paused else ""
    return f"因{reason}，经{approver}批准，办理期限延长 {days} 个工作日，至 {until:%Y-%m-%d}{after}。"


def deemed_acceptance_text(arrived: date) -> str:
    return f"您的申请已于 {arrived:%Y-%m-%d} 视为受理。"


DEEMED_APPROVAL_TEXT = "法定期限内未作出决定，依规定视为准予许可。"
