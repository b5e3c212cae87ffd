"""流程错误 and the report's trend (issue 15, second pass): the record of refused case commands,
the ``process_error`` finding kind, and the cached figures of finished months.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24

Two new tables; the CHECK on supervision_findings.kind gains ``process_error`` (on SQLite the
table is rebuilt in batch mode, which keeps its rows and indexes). No existing rows change.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

KINDS = ('overdue', 'irregular_acceptance', 'duplicate', 'refusal', 'deemed', 'repeated_notice', 'off_system',
         'process_error')


def upgrade() -> None:
    op.create_table('command_refusals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('command', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('command_refusals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_command_refusals_case_id'), ['case_id'], unique=False)

    op.create_table('trend_figures',
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('scheme', sa.String(length=64), nullable=False),
    sa.Column('calendar_version', sa.Integer(), nullable=False),
    sa.Column('figures', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('period', 'scheme')
    )

    with op.batch_alter_table('supervision_findings') as batch:
        batch.drop_constraint('ck_supervision_findings_kind', type_='check')
        batch.create_check_constraint('ck_supervision_findings_kind',
                                      f"kind IN ({', '.join(repr(v) for v in KINDS)})")


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
