"""Official documents (文书): one row per numbered document a case issued, and a department's
full official name for printing them (plain ADD COLUMN, nullable: no table is copied).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KINDS = ("acceptance_notice", "refusal_notice", "supplement_notice", "grant_decision", "denial_decision")


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=128), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")", name="ck_documents_kind"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number", name="uq_documents_number"),
    )
    op.create_index(op.f("ix_documents_case_id"), "documents", ["case_id"])
    op.add_column("departments", sa.Column("official_name", sa.String(length=128), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
