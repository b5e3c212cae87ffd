"""Tamper-evident history: a hash on every history entry, the chain's head on the case; TRUNCATE
of the history refused on PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

Plain ADD COLUMN on both databases (no table is copied). The entries that exist are hashed here,
case by case in seq order, with the canonical form of engine/audit.py spelled out below (a
revision never imports the application, which moves on). The append-only triggers refuse
UPDATE, so they are dropped for the backfill and created again, all in the one transaction of
the upgrade.
"""
from __future__ import annotations

import hashlib
import json
from datetime import timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
GENESIS = "approvals-history-chain/1:"
JSON_FIELDS = ("inputs", "payload", "ready_tasks", "observed")

SQLITE_TRIGGERS = ("case_history_no_update", "case_history_no_delete")
APPEND_ONLY_SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS case_history_no_update BEFORE UPDATE ON case_history "
    "BEGIN SELECT RAISE(ABORT, 'case_history is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS case_history_no_delete BEFORE DELETE ON case_history "
    "BEGIN SELECT RAISE(ABORT, 'case_history is append-only'); END",
]
APPEND_ONLY_POSTGRES = [
    "CREATE TRIGGER case_history_append_only BEFORE UPDATE OR DELETE ON case_history "
    "FOR EACH ROW EXECUTE FUNCTION approvals_append_only()",
    # new: TRUNCATE skips row triggers, so it is refused by a statement trigger
    "CREATE TRIGGER case_history_no_truncate BEFORE TRUNCATE ON case_history "
    "FOR EACH STATEMENT EXECUTE FUNCTION approvals_append_only()",
]

cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("key", sa.String),
                 sa.column("history_head", sa.String))
history = sa.table("case_history", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer),
                   sa.column("seq", sa.Integer), sa.column("command", sa.String), sa.column("actor", sa.String),
                   sa.column("at", sa.DateTime(timezone=True)), sa.column("case_state", sa.String),
                   sa.column("hash", sa.String), *(sa.column(name, JSONType) for name in JSON_FIELDS))


def _utc_text(value) -> str:
    """engine.audit.utc_text: UTC with microseconds (SQLite hands back naive UTC)."""
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hash(previous: str, row) -> str:
    body = {"seq": row.seq, "command": row.command, "actor": row.actor, "at": _utc_text(row.at),
            "case_state": row.case_state, **{name: getattr(row, name) for name in JSON_FIELDS}}
    entry = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(previous.encode("ascii") + b"\n" + entry).hexdigest()


def upgrade() -> None:
    op.add_column("case_history", sa.Column("hash", sa.String(length=64), nullable=True))
    op.add_column("cases", sa.Column("history_head", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_history_append_only ON case_history")
    for case_id, key in bind.execute(sa.select(cases.c.id, cases.c.key).order_by(cases.c.id)).all():
        head = None
        previous = GENESIS + key
        rows = bind.execute(sa.select(history).where(history.c.case_id == case_id)
                            .order_by(history.c.seq, history.c.id)).all()
        for row in rows:
            previous = head = _hash(previous, row)
            bind.execute(history.update().where(history.c.id == row.id).values(hash=head))
        if head is not None:
            bind.execute(cases.update().where(cases.c.id == case_id).values(history_head=head))
    for statement in {"sqlite": APPEND_ONLY_SQLITE, "postgresql": APPEND_ONLY_POSTGRES}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
