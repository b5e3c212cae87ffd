"""Case numbers (办件编号): a prefix, the date, and a sequence per prefix and day.

An item's catalogue entry may give its rule: ``{"prefix": "SCJG-SP", "digits": 5,
"separator": "-"}``; without one the prefix is the item code.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .clock import CHINA_TZ
from engine.store.models import Sequence


def next_value(session: Session, name: str) -> int:
    """Atomically increment and return a named counter (an upsert, safe under concurrency)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Sequence.__table__  # a Core statement: it needs no flush of the command's pending rows first
    statement = insert(table).values(name=name, value=1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.name], set_={"value": table.c.value + 1}
    ).returning(table.c.value)
    with session.no_autoflush:  # the counter's row is no pending ORM object's business
        return session.execute(statement).scalar_one()


def case_number(session: Session, item_code: str, at: datetime, rule: dict | None = None) -> str:
    rule = rule or {}
    prefix, separator = rule.get("prefix") or item_code, rule.get("separator", "-")
    digits = int(rule.get("digits", 5))
    day = at.astimezone(CHINA_TZ).strftime("%Y%m%d")
    sequence = next_value(session, f"case:{prefix}:{day}")
    return f"{prefix}{separator}{day}{separator}{sequence:0{digits}d}"
