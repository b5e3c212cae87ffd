"""Supervision (issue 15): findings with their evidence and state, 效能告诫, and the record of
supervision acts (commands that concern no single case history).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24

Three new tables and an index on cases.concluded_at, for statistics by period (started_at has one
since 0007);
nothing copied, no existing rows touched.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('supervision_acts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('command', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('inputs', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('supervision_acts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_acts_at'), ['at'], unique=False)

    op.create_table('efficiency_warnings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('cases', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('findings', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=128), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('issued', 'proposed', 'dismissed')", name='ck_efficiency_warnings_state'),
    sa.CheckConstraint("target IN ('person', 'unit', 'head')", name='ck_efficiency_warnings_target'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('efficiency_warnings', schema=None) as batch_op:
        batch_op.create_index('ix_efficiency_warnings_unit', ['department_id', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_efficiency_warnings_user_id'), ['user_id'], unique=False)

    op.create_table('supervision_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('trail', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.CheckConstraint("kind IN ('overdue', 'irregular_acceptance', 'duplicate', 'refusal', 'deemed', 'repeated_notice', 'off_system')", name='ck_supervision_findings_kind'),
    sa.CheckConstraint("state IN ('open', 'explaining', 'explained', 'confirmed', 'closed')", name='ck_supervision_findings_state'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'kind', 'key')
    )
    with op.batch_alter_table('supervision_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_findings_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_supervision_findings_state', ['state', 'department_id'], unique=False)



    # statistics select the cases concluded in a period (those received use 0007's ix_cases_started_at)
    op.create_index("ix_cases_concluded_at", "cases", ["concluded_at"])


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
