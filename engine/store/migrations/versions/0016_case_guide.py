"""Each case keeps the guide (办事指南) it was registered under: administrators edit an item's guide
in the web, and its materials and application fields apply to new applications only.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24

A nullable column, filled for existing cases from their item's guide as it is now (the guide they
were registered under, since the guide could not change before).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guide', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                                      nullable=True))
    op.execute("UPDATE cases SET guide = (SELECT items.guide FROM items WHERE items.id = cases.item_id)")


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
