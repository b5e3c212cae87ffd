"""The one-time notice of missing materials (一次性告知) and the arrival of the supplement.

Two rules of the law shape it:

* the notice is due within the acceptance limit: once that limit has passed, the
  application counts as accepted from the day it arrived (行政许可法 art. 32), so a
  late notice is refused rather than undoing the deemed acceptance;
* everything missing is told at once: after the supplement arrived, a second notice
  may only concern defects in the materials supplied (those named in an earlier
  notice). It is recorded as such and reported to the supervisors (电子监察).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import alerts
from engine.errors import Conflict
from engine.store.models import Notice
from engine.timelimits import clocks, notices, planning
from engine.timelimits.case_time import CaseTime


def request_supplement(t: CaseTime, materials: list[str], note: str) -> dict[str, Any]:
    clock = next(iter(t.clocks("acceptance")), None)
    if clock is not None:
        due = t.limit_due(clock)
        if t.today > due:
            raise Conflict(f"受理期限已于 {due:%Y-%m-%d} 届满，依照《行政许可法》第三十二条，逾期未告知的，"
                           f"自收到申请材料之日起即为受理，不能再发出一次性告知；请予以受理（或待系统按视为受理处理），"
                           f"材料问题在审查中依法处理")
    earlier = _earlier_materials(t)
    if earlier:
        outside = [m for m in materials if m not in earlier]
        if outside:
            raise Conflict(f"一次性告知制：补正后再次告知只能针对已补正材料本身的问题；"
                           f"“{'、'.join(outside)}”不在此前告知补正的材料（{'、'.join(earlier)}）中，"
                           f"应当在第一次告知时一并告知")
    if clock is not None:
        clocks.stop(t, clock)
    t.row.acceptance = "supplement"
    defects = bool(earlier)
    detail: dict[str, Any] = {"materials": materials}
    record: dict[str, Any] = {"materials": materials, "note": note,
                              "in_time": clock is None or clock.outcome == "on_time"}
    if defects:
        number = len(t.session.scalars(select(Notice.id).where(Notice.case_id == t.row.id,
                                                               Notice.kind == "supplement")).all()) + 1
        detail.update(defects_in_supplied=True, round=number)
        record.update(defects_in_supplied=True, round=number, notified=_report(t, materials, note, number))
    notices.notice(t, "supplement", notices.supplement_text(materials, note, defects=defects), detail)
    return record


def _earlier_materials(t: CaseTime) -> list[str]:
    """The materials named in the case's earlier one-time notices, in order, once each."""
    names: dict[str, None] = {}
    for detail in t.session.scalars(select(Notice.detail).where(Notice.case_id == t.row.id,
                                                                Notice.kind == "supplement").order_by(Notice.id)):
        names.update((m, None) for m in detail.get("materials", []))
    return list(names)


def _report(t: CaseTime, materials: list[str], note: str, number: int) -> list[str]:
    """A second notice is reported to supervision (电子监察): it may hide a first notice
    that was not complete."""
    title = f"【再次告知】{t.row.number} 补正后第 {number} 次告知补正"
    body = (f"{t.row.item.name}，申请人 {t.row.applicant}。{t.ctx.actor.display_name or t.ctx.actor.name} "
            f"就已补正材料的问题再次告知：{'、'.join(materials)}。{note}")
    return alerts.send(t.session, alerts.supervisors(t.session, t.row), case=t.row, kind="resupplement",
                       title=title, body=body, at=t.at)


def receive_supplement(t: CaseTime) -> dict[str, Any]:
    """The supplement is complete: a new acceptance period, and the checklist's materials that the
    last notice asked for, marked missing until now, are received."""
    t.row.acceptance = None
    clock = planning.start_acceptance(t, detail={"after_supplement": True})
    record: dict[str, Any] = {"acceptance_due": t.limit_due(clock).isoformat()}
    last = t.session.scalar(select(Notice.detail).where(Notice.case_id == t.row.id, Notice.kind == "supplement")
                            .order_by(Notice.id.desc()).limit(1)) or {}
    checklist = dict(t.row.materials or {})
    received = [m for m in last.get("materials", []) if (checklist.get(m) or {}).get("status") == "missing"]
    if received:
        for name in received:
            checklist[name] = {"status": "received"}
        t.row.materials = checklist
        record["received"] = received
    return record
