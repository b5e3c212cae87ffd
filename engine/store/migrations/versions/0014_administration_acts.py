"""The record of administrative commands on no case (organisation, catalogue, an item as a whole).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24

A plain CREATE TABLE on both databases; ``supervision_acts`` keeps the supervisors' acts.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('administration_acts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('command', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('inputs', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('administration_acts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_administration_acts_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_administration_acts_command'), ['command'], unique=False)


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
