"""Which version an item's new cases start on: every deploy and rollback, with who, when and why.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24

A plain CREATE TABLE on both databases; existing items have no activation and keep starting
new cases on their newest version.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "version_activations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("act", sa.String(length=16), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["process_versions.id"]),
        sa.ForeignKeyConstraint(["draft_id"], ["process_drafts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_version_activations_item_id"), "version_activations", ["item_id"])


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
