"""Case numbers (办件编号): a prefix, the date, and a sequence per prefix and day.

An item's catalogue entry may give its rule: ``{"prefix": "SCJG-SP", "digits": 5,
"separator": "-"}``; without one the prefix is the item code.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .clock import CHINA_TZ
from engine.store.models import Sequence


def next_value(session: Session, name: str) -> int:
    """Atomically increment and return a named counter (an upsert, safe under concurrency)."""
    statement = _NEXT_VALUE[session.get_bind().dialect.name == "postgresql"]
    with session.no_autoflush:  # the counter's row is no pending ORM object's business
        return session.execute(statement, {"name": name}).scalar_one()


def _next_value(insert):
    table = Sequence.__table__  # a Core statement: it needs no flush of the command's pending rows first
    return (insert(table).values(name=bindparam("name"), value=1)
            .on_conflict_do_update(index_elements=[table.c.name], set_={"value": table.c.value + 1})
            .returning(table.c.value))


#: by "is PostgreSQL" (built once: building a statement costs more than running it)
_NEXT_VALUE = {True: _next_value(postgresql.insert), False: _next_value(sqlite.insert)}


def case_number(session: Session, item_code: str, at: datetime, rule: dict | None = None) -> str:
    rule = rule or {}
    prefix, separator = rule.get("prefix") or item_code, rule.get("separator", "-")
    digits = int(rule.get("digits", 5))
    day = at.astimezone(CHINA_TZ).strftime("%Y%m%d")
    sequence = next_value(session, f"case:{prefix}:{day}")
    return f"{prefix}{separator}{day}{separator}{sequence:0{digits}d}"
