"""效能告诫: formal warnings to a clerk, a unit, or a unit's head, and the rule that two warnings to
a unit's staff in one calendar year propose a warning to the unit's head, for the supervisor to
confirm (or dismiss). Listed per person and per unit."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import china_date
from engine.errors import BadInput
from engine.store.enums import WarningState, WarningTarget
from engine.store.models import EfficiencyWarning, User, UserRole

#: warnings to a unit's staff in one calendar year that bring a proposed warning to its head
STAFF_WARNINGS_FOR_HEAD = 2


def staff_warnings(session: Session, department_id: int, year: int) -> int:
    return session.scalar(select(func.count(EfficiencyWarning.id)).where(
        EfficiencyWarning.department_id == department_id, EfficiencyWarning.year == year,
        EfficiencyWarning.target == WarningTarget.PERSON, EfficiencyWarning.state == WarningState.ISSUED)) or 0


def unit_head(session: Session, department_id: int) -> User | None:
    return session.scalar(select(User).join(UserRole).where(User.department_id == department_id, UserRole.role == "head",
                                                            User.active.is_(True)).order_by(User.id).limit(1))


def propose_head_warning(session: Session, department_id: int, at: datetime, by: str) -> EfficiencyWarning | None:
    """The two-warnings rule: once the unit's staff have ``STAFF_WARNINGS_FOR_HEAD`` warnings this
    calendar year, propose one to its head (once a year per unit)."""
    year = china_date(at).year
    count = staff_warnings(session, department_id, year)
    if count < STAFF_WARNINGS_FOR_HEAD:
        return None
    already = session.scalar(select(EfficiencyWarning.id).where(
        EfficiencyWarning.department_id == department_id, EfficiencyWarning.year == year,
        EfficiencyWarning.target == WarningTarget.HEAD).limit(1))
    if already is not None:
        return None
    head = unit_head(session, department_id)
    row = EfficiencyWarning(target=WarningTarget.HEAD, user_id=head.id if head else None, department_id=department_id,
                            year=year, state=WarningState.PROPOSED,
                            reason=f"{year} 年本单位工作人员已受效能告诫 {count} 次，拟对单位负责人进行效能告诫",
                            cases=[], findings=[], created_by=by, created_at=at)
    session.add(row)
    session.flush()
    return row


def warning_dict(w: EfficiencyWarning) -> dict[str, Any]:
    return {"id": w.id, "target": w.target, "user": w.user.username if w.user else None,
            "person": w.user.display_name if w.user else None, "department": w.department.name, "year": w.year,
            "state": w.state, "reason": w.reason, "cases": list(w.cases), "findings": list(w.findings),
            "created_by": w.created_by, "created_at": w.created_at.isoformat()}


def warnings_list(session: Session, *, department_id: int | None = None, year: int | None = None) -> list[EfficiencyWarning]:
    query = select(EfficiencyWarning).order_by(EfficiencyWarning.id.desc())
    if department_id is not None:
        query = query.where(EfficiencyWarning.department_id == department_id)
    if year is not None:
        query = query.where(EfficiencyWarning.year == year)
    return list(session.scalars(query))


_FINDING_TITLE = re.compile(r"第?\s*(\d+)\s*号")
_SEPARATORS = re.compile(r"[,，、;；\s]+")


def parse_finding_numbers(text: str) -> tuple[int, ...]:
    """The findings a warning concerns, as typed on the form: their numbers as the findings page
    titles them (第 8 号, 第8号) or bare (8), separated by commas, 、 or spaces. Anything else is
    refused with what was not understood — never silently dropped."""
    numbers: list[int] = []
    unreadable: list[str] = []
    for token in _SEPARATORS.split(_FINDING_TITLE.sub(r" \1 ", text or "")):
        if not token:
            continue
        if re.fullmatch(r"\d{1,9}", token):
            numbers.append(int(token))
        else:
            unreadable.append(token)
    if unreadable:
        raise BadInput(f"相关监察事项编号看不懂：{'、'.join(unreadable[:5])}。请填写监察事项页标题中的编号，"
                       f"如“第 8 号”或“8”，多个用逗号分隔")
    return tuple(dict.fromkeys(numbers))
