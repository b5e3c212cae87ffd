"""Closed sets of values: enums in code, CHECK constraints in the database, listed in the docs."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from engine.store.enums import CHECKED, TaskState
from engine.store.models import CalendarDay, Task

DOCS = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def test_every_stored_value_is_listed_in_the_docs_with_its_name():
    text = DOCS.read_text(encoding="utf-8")
    for table, columns in CHECKED.items():
        for column, enum in columns.items():
            row = next((line for line in text.splitlines() if line.startswith(f"| `{table}.{column}` |")), None)
            assert row is not None, f"{table}.{column} is not in docs/architecture.md"
            for member in enum:
                assert f"`{member.value}` {member.label}" in row, f"{table}.{column}: {member.value}"


def test_a_member_is_its_stored_text_and_has_a_chinese_name():
    assert TaskState.READY == "ready" and TaskState("completed") is TaskState.COMPLETED
    assert TaskState.label_of("taken_back") == "被拿回" and TaskState.label_of(None, "—") == "—"


def test_the_database_refuses_a_value_outside_the_set(flow):
    case = flow.start()
    with pytest.raises(IntegrityError, match="ck_tasks_state"):
        with flow.db.transaction() as session:
            session.execute(update(Task).where(Task.case_id == case.id).values(state="bogus"))
    with pytest.raises(IntegrityError, match="ck_calendar_days_kind"):
        with flow.db.transaction() as session:
            session.add(CalendarDay(day=date(2031, 1, 1), year=2031, kind="holiday", name="元旦"))
    with flow.db.reader() as session:
        assert set(session.scalars(select(Task.state).where(Task.case_id == case.id))) == {"ready"}
