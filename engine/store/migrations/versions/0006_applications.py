"""The application as registered at the window: the applicant's identity and the item's
application fields on the case, and the scanned materials received with it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

Plain ADD COLUMN and CREATE TABLE on both databases; existing cases keep NULL (an online
application in the applicant's own name, registered before these fields existed).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("cases", sa.Column("applicant_info", JSONType, nullable=True))
    op.add_column("cases", sa.Column("application", JSONType, nullable=True))
    op.create_table(
        "case_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("material", sa.String(length=255), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_case_attachments_case_id"), "case_attachments", ["case_id"])


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
