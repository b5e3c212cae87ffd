"""Baseline: the schema when migrations began (the models of main at 965e8ec).

A database made before migrations, by ``metadata.create_all``, has exactly this schema
and is stamped 0001 instead of running it (``engine.store.migrate``).

Like every revision, this file is frozen: it does not import the application's models,
which will move on; types are spelled out here.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: engine.store.models.JSONType and UTCDateTime as they stand at this revision
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTCDateTime = sa.DateTime(timezone=True)

#: case_history is append-only: the database refuses UPDATE and DELETE
APPEND_ONLY_SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS case_history_no_update BEFORE UPDATE ON case_history "
    "BEGIN SELECT RAISE(ABORT, 'case_history is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS case_history_no_delete BEFORE DELETE ON case_history "
    "BEGIN SELECT RAISE(ABORT, 'case_history is append-only'); END",
]
APPEND_ONLY_POSTGRES = [
    "CREATE OR REPLACE FUNCTION approvals_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER case_history_append_only BEFORE UPDATE OR DELETE ON case_history "
    "FOR EACH ROW EXECUTE FUNCTION approvals_append_only()",
]


def upgrade() -> None:
    op.create_table(
        'calendar_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('day')
    )
    op.create_index(op.f('ix_calendar_days_year'), 'calendar_days', ['year'])
    op.create_table(
        'calendar_years',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('source', sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint('year')
    )
    op.create_table(
        'departments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('level', sa.String(length=16), nullable=True),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['parent_id'], ['departments.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code')
    )
    op.create_table(
        'meta',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint('key')
    )
    op.create_table(
        'sequences',
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name')
    )
    op.create_table(
        'items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime, nullable=False),
        sa.Column('time_policy', JSONType, nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=True),
        sa.Column('guide', JSONType, nullable=True),
        sa.Column('numbering', JSONType, nullable=True),
        sa.Column('catalogue_file', sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code')
    )
    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=128), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=True),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('backup_id', sa.Integer(), nullable=True),
        sa.Column('away', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['backup_id'], ['users.id']),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('username')
    )
    op.create_index(op.f('ix_users_backup_id'), 'users', ['backup_id'])
    op.create_index(op.f('ix_users_department_id'), 'users', ['department_id'])
    op.create_table(
        'process_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('process_id', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('bpmn_xml', sa.Text(), nullable=True),
        sa.Column('deployed_by', sa.String(length=64), nullable=False),
        sa.Column('deployed_at', UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['items.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('item_id', 'content_hash'),
        sa.UniqueConstraint('item_id', 'version')
    )
    op.create_index(op.f('ix_process_versions_content_hash'), 'process_versions', ['content_hash'])
    op.create_index(op.f('ix_process_versions_item_id'), 'process_versions', ['item_id'])
    op.create_table(
        'user_roles',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('user_id', 'role')
    )
    op.create_table(
        'cases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=64), nullable=False),
        sa.Column('key', sa.String(length=36), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('process_version_id', sa.Integer(), nullable=False),
        sa.Column('applicant', sa.String(length=255), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('started_at', UTCDateTime, nullable=False),
        sa.Column('concluded_at', UTCDateTime, nullable=True),
        sa.Column('last_event_at', UTCDateTime, nullable=False),
        sa.Column('last_seq', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('acceptance', sa.String(length=16), nullable=True),
        sa.Column('accepted_at', UTCDateTime, nullable=True),
        sa.Column('decision', sa.String(length=16), nullable=True),
        sa.Column('decided_at', UTCDateTime, nullable=True),
        sa.Column('card', sa.String(length=8), nullable=True),
        sa.Column('certificate_no', sa.String(length=128), nullable=True),
        sa.Column('materials', JSONType, nullable=True),
        sa.Column('time_policy', JSONType, nullable=True),
        sa.Column('suspended', sa.Boolean(), nullable=False),
        sa.Column('workflow_state', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['item_id'], ['items.id']),
        sa.ForeignKeyConstraint(['process_version_id'], ['process_versions.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
        sa.UniqueConstraint('number')
    )
    op.create_index(op.f('ix_cases_applicant'), 'cases', ['applicant'])
    op.create_index(op.f('ix_cases_card'), 'cases', ['card'])
    op.create_index(op.f('ix_cases_item_id'), 'cases', ['item_id'])
    op.create_index(op.f('ix_cases_state'), 'cases', ['state'])
    op.create_table(
        'case_history',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('command', sa.String(length=64), nullable=False),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('at', UTCDateTime, nullable=False),
        sa.Column('payload', JSONType, nullable=False),
        sa.Column('ready_tasks', JSONType, nullable=False),
        sa.Column('case_state', sa.String(length=16), nullable=False),
        sa.Column('observed', JSONType, nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'seq')
    )
    op.create_table(
        'case_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('detail', JSONType, nullable=False),
        sa.Column('created_at', UTCDateTime, nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_case_notices_case_id'), 'case_notices', ['case_id'])
    op.create_table(
        'case_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('detail', JSONType, nullable=False),
        sa.Column('requested_by', sa.String(length=128), nullable=False),
        sa.Column('requested_at', UTCDateTime, nullable=False),
        sa.Column('decided_by', sa.String(length=128), nullable=True),
        sa.Column('decided_at', UTCDateTime, nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id']),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_case_requests_case_id'), 'case_requests', ['case_id'])
    op.create_index('ix_case_requests_pending', 'case_requests', ['kind', 'state', 'department_id'])
    op.create_table(
        'messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('title', sa.String(length=255), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', UTCDateTime, nullable=False),
        sa.Column('read_at', UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_messages_inbox', 'messages', ['user_id', 'read_at'])
    op.create_table(
        'tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('spiff_id', sa.String(length=36), nullable=False),
        sa.Column('element_id', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('created_at', UTCDateTime, nullable=False),
        sa.Column('completed_at', UTCDateTime, nullable=True),
        sa.Column('completed_by_id', sa.Integer(), nullable=True),
        sa.Column('opinion', sa.Text(), nullable=True),
        sa.Column('form_data', JSONType, nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('deemed', sa.Boolean(), nullable=False),
        sa.Column('followup_of_id', sa.Integer(), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('alert', sa.String(length=8), nullable=True),
        sa.Column('draft', JSONType, nullable=True),
        sa.Column('delegated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['assignee_id'], ['users.id']),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['completed_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['delegated_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id']),
        sa.ForeignKeyConstraint(['followup_of_id'], ['tasks.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('spiff_id')
    )
    op.create_index('ix_tasks_assignee_state', 'tasks', ['assignee_id', 'state'])
    op.create_index('ix_tasks_case_state', 'tasks', ['case_id', 'state'])
    op.create_index('ix_tasks_done', 'tasks', ['completed_by_id', 'completed_at'])
    op.create_index('ix_tasks_inbox', 'tasks', ['state', 'department_id', 'role', 'due_on'])
    op.create_table(
        'case_clocks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('started_at', UTCDateTime, nullable=False),
        sa.Column('started_on', sa.Date(), nullable=False),
        sa.Column('limit_days', sa.Integer(), nullable=False),
        sa.Column('statutory_days', sa.Integer(), nullable=True),
        sa.Column('extended_days', sa.Integer(), nullable=False),
        sa.Column('suspended_days', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('paused_on', sa.Date(), nullable=True),
        sa.Column('stopped_at', UTCDateTime, nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('detail', JSONType, nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'key')
    )
    op.create_index(op.f('ix_case_clocks_case_id'), 'case_clocks', ['case_id'])
    op.create_table(
        'deadlines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('clock_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('offset_days', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('due_at', UTCDateTime, nullable=False),
        sa.Column('provisional', sa.Boolean(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('detail', JSONType, nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('fired_at', UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['clock_id'], ['case_clocks.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'key')
    )
    op.create_index(op.f('ix_deadlines_case_id'), 'deadlines', ['case_id'])
    op.create_index('ix_deadlines_due', 'deadlines', ['state', 'due_at'])
    op.create_index('ix_deadlines_provisional', 'deadlines', ['provisional', 'state'])
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": APPEND_ONLY_SQLITE, "postgresql": APPEND_ONLY_POSTGRES}.get(dialect, [])
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
