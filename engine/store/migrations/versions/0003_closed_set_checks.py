"""CHECK constraints on every column that holds a closed set of values (engine/store/enums.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

A row with a value outside its set makes this upgrade fail and change nothing; the values
are spelled out here (revisions never import the application's code, which moves on).
On SQLite the tables are rebuilt (batch mode), which keeps their rows and indexes.
"""
from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CHECKS: dict[str, dict[str, tuple[str, ...]]] = {
    "cases": {"state": ("running", "concluded"),
              "acceptance": ("supplement", "accepted", "deemed", "refused"),
              "decision": ("grant", "deny", "deemed_grant"),
              "card": ("yellow", "red")},
    "tasks": {"state": ("ready", "completed", "returned", "taken_back", "cancelled"),
              "kind": ("bpmn", "followup", "cosign"),
              "alert": ("warning", "yellow", "red")},
    "case_clocks": {"kind": ("acceptance", "decision", "preliminary", "step", "issue", "followup", "suspension",
                             "timer"),
                    "state": ("running", "paused", "stopped"),
                    "outcome": ("on_time", "late", "deemed", "cancelled", "ended", "fired")},
    "deadlines": {"kind": ("warning", "yellow", "red", "deemed", "escalate", "resume", "timer"),
                  "state": ("armed", "paused", "fired", "cancelled", "failed")},
    "case_requests": {"kind": ("extension",),
                      "state": ("pending", "approved", "refused")},
    "calendar_days": {"kind": ("off", "makeup")},
}


def upgrade() -> None:
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            for column, values in columns.items():
                batch.create_check_constraint(f"ck_{table}_{column}",
                                              f"{column} IN ({', '.join(repr(v) for v in values)})")


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
