"""Administrators operate running cases (issue 14, point 8): a case or a whole item suspended
(挂起), and two more case states, terminated (已终止) and voided (已作废).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24

``cases.hold`` and ``items.hold`` are NULL unless suspended (who, when, why); existing rows stay
NULL. The CHECK on cases.state gains ``terminated`` and ``voided`` (on SQLite the table is rebuilt
in batch mode, which keeps its rows and indexes). No existing row changes.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

STATES = ('running', 'concluded', 'terminated', 'voided')


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    with op.batch_alter_table('items') as batch:
        batch.add_column(sa.Column('hold', json, nullable=True))
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('hold', json, nullable=True))
        batch.drop_constraint('ck_cases_state', type_='check')
        batch.create_check_constraint('ck_cases_state', f"state IN ({', '.join(repr(v) for v in STATES)})")


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
