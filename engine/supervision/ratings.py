"""好差评 for the supervisors: the ratings applicants gave in a period, grade by grade, and each one
with its comment, the poor ones (差评) first to follow up (差评整改).

A rating is given online once a case concluded (``RateService``); it counts in the period it was
given (``cases.rated_at``), as in the statistics' 满意率."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.commands.applicant import RATINGS, SATISFIED, is_poor
from engine.store.models import Case, Department, Finding, HistoryEntry, Item

from .facts import day_range

#: the most ratings a page lists (the counts cover them all)
LISTED = 500


def ratings_view(session: Session, start: date, end: date, *, department_id: int | None = None,
                 poor_only: bool = False) -> dict[str, Any]:
    low, high = day_range(start, end)
    where = [Case.rated_at >= low, Case.rated_at < high]
    if department_id is not None:
        where.append(Item.department_id == department_id)
    counts = dict(session.execute(select(Case.rating, func.count(Case.id)).join(Item, Case.item_id == Item.id)
                                  .where(*where).group_by(Case.rating)).all())
    if poor_only:
        where.append(Case.rating < SATISFIED)
    rows = session.execute(
        select(Case.number, Case.rating, Case.rated_at, Case.applicant, Item.name.label("item"),
               Department.name.label("department"), HistoryEntry.inputs)
        .join(Item, Case.item_id == Item.id).join(Department, Item.department_id == Department.id)
        .join(HistoryEntry, (HistoryEntry.case_id == Case.id) & (HistoryEntry.command == "rate_service"))
        .where(*where).order_by(Case.rating, Case.rated_at.desc(), Case.id.desc()).limit(LISTED)).all()
    followed = dict(session.execute(select(Case.number, Finding.id).join(Finding, Finding.case_id == Case.id).where(
        Finding.kind == "poor_rating", Case.number.in_([r.number for r in rows if is_poor(r.rating)]))).all()) \
        if any(is_poor(r.rating) for r in rows) else {}
    total = sum(counts.values())
    satisfied = sum(n for score, n in counts.items() if score is not None and score >= SATISFIED)
    return {"start": start, "end": end, "total": total, "satisfied": satisfied,
            "rate": satisfied / total if total else None,
            "grades": [(score, words, counts.get(score, 0)) for score, words in RATINGS.items()],
            "rows": [{"number": r.number, "score": r.rating, "words": RATINGS.get(r.rating, ""), "poor": is_poor(r.rating),
                      "at": r.rated_at, "applicant": r.applicant, "item": r.item, "department": r.department,
                      "comment": str((r.inputs or {}).get("comment") or ""),
                      "finding": followed.get(r.number)} for r in rows],
            "listed": LISTED, "poor_only": poor_only}
