"""Per-task version and the inputs of history entries (added on main by fbf7467 with create_all).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

A database made before migrations by the code of fbf7467 has exactly these columns and is
stamped 0002 (``UNVERSIONED`` in engine/store/migrate.py).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: no table is copied, so case_history keeps its triggers.
    # Existing entries have no separate inputs (NULL); existing tasks start at version 1.
    op.add_column("case_history",
                  sa.Column("inputs", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True))
    op.add_column("tasks", sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
