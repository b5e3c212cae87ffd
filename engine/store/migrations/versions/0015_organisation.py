"""The organisation in the web: a department can be deactivated (kept for the cases and records
that name it), and a password reset by an administrator must be changed at the next login.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24

Two columns with server defaults on both databases: every existing department stays active,
and no existing user has to change their password.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
