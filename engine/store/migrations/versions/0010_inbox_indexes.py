"""Indexes for the inbox read as ordered pieces (engine/read/queries.py ``_inbox_pieces``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24

The inbox reads each tab as a union of pieces, each one ordered index range: a holder's
department and role (``ix_tasks_inbox``, already there), the same with an alert — 预警 and 超期
filter on it — (``ix_tasks_alert``), and a 负责人's whole department in 预警 and 超期
(``ix_tasks_department_due``, ``ix_tasks_department_alert``). ``id`` closes each index so that
PostgreSQL reads the ``due_on, id`` order straight from it (SQLite has the rowid there anyway).
Plain CREATE INDEX on both databases.
"""
from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_tasks_alert": ["state", "department_id", "role", "alert", "due_on", "id"],
    "ix_tasks_department_due": ["state", "department_id", "due_on", "id"],
    "ix_tasks_department_alert": ["state", "department_id", "alert", "due_on", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "tasks", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="tasks")
