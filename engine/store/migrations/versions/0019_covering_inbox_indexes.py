"""The inbox's two role indexes also carry ``id`` and ``assignee_id``, so that its pieces are read
from the index alone, and the applicant's index carries the case number, so that its search does
not read the cases (issue 13, point 5).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-25

A holder's piece of the inbox (engine/read/queries.py ``_inbox_pieces``) filters on the task's
department, role and due date — the index — and on its assignee (nobody's, or the holder's), which
was not in the index: counting a full tab (1,000 steps, the most the page counts) looked up 1,000
table rows, about 1.5 ms of the 1.7 ms the count took on SQLite. With ``assignee_id`` after
``due_on, id`` the index still gives the ``due_on, id`` order the pieces are read in, and answers
the whole piece: the same count takes 0.3 ms (an index-only scan on PostgreSQL too, where the
visibility map allows). ``ix_tasks_alert`` (预警, 超期) likewise.

A search for part of a number or of a name (``LIKE '%…%'`` on either) cannot use an index range;
it scanned the cases themselves, the workflow state and all, about 1 µs a case on SQLite. With the
number beside the applicant in ``ix_cases_applicant`` it scans that narrow index instead (less
than half the time). A whole case number is found by the number's own unique index first.
"""
from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BEFORE = {
    ("tasks", "ix_tasks_inbox"): ["state", "department_id", "role", "due_on"],
    ("tasks", "ix_tasks_alert"): ["state", "department_id", "role", "alert", "due_on", "id"],
    ("cases", "ix_cases_applicant"): ["applicant"],
}
AFTER = {
    ("tasks", "ix_tasks_inbox"): ["state", "department_id", "role", "due_on", "id", "assignee_id"],
    ("tasks", "ix_tasks_alert"): ["state", "department_id", "role", "alert", "due_on", "id", "assignee_id"],
    ("cases", "ix_cases_applicant"): ["applicant", "number"],
}


def _replace(indexes: dict[tuple[str, str], list[str]]) -> None:
    for (table, name), columns in indexes.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)


def upgrade() -> None:
    _replace(AFTER)


def downgrade() -> None:
    _replace(BEFORE)
