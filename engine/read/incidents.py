"""The incident list (故障事件) an administrator works from: deadlines whose firing failed — still
being retried by the sweep (重试中) or given up after ``MAX_ATTEMPTS`` (已放弃) — on running cases,
with the last error. Each is retried (``RetryDeadline``) or closed (``ResolveDeadline``) as a command."""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.clock import CHINA_TZ
from engine.store.enums import CaseState, ClockKind, DeadlineKind, DeadlineState
from engine.store.models import Case, Clock, Deadline, Item
from engine.timelimits.firing import MAX_ATTEMPTS

LIMIT = 500


def incidents(session: Session, limit: int = LIMIT) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Deadline, Case.number, Case.hold, Item.name, Clock.kind, Clock.detail)
        .join(Case, Deadline.case_id == Case.id).join(Item, Case.item_id == Item.id)
        .join(Clock, Deadline.clock_id == Clock.id)
        .where(Case.state == CaseState.RUNNING,
               or_(Deadline.state == DeadlineState.FAILED,
                   and_(Deadline.state == DeadlineState.ARMED, Deadline.attempts > 0)))
        .order_by(Deadline.state.desc(), Deadline.id).limit(limit)).all()
    out = []
    for deadline, number, hold, item, clock_kind, clock_detail in rows:
        failed = deadline.state == DeadlineState.FAILED
        out.append({
            "id": deadline.id, "case": number, "item": item, "key": deadline.key,
            "kind_label": DeadlineKind.label_of(deadline.kind), "clock_label": ClockKind.label_of(clock_kind),
            "timer": (clock_detail or {}).get("name", "") if clock_kind == "timer" else "",
            "attempts": deadline.attempts, "max_attempts": MAX_ATTEMPTS,
            "state_label": "已放弃" if failed else "重试中", "failed": failed,
            "next_try": "" if failed else deadline.due_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"),
            "error": deadline.last_error or "", "held": bool(hold),
        })
    return out
