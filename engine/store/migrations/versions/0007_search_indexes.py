"""An index on cases.started_at: the case search (engine/read/search.py) pages newest first and
filters by the day received; without it every search page sorts all readable cases. And one on
case_history (actor, command): 我的设置 lists the copies (抄送) a user sent and the 首问
registrations they made, which would otherwise read the whole history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""
from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_started_at", "cases", ["started_at"])
    op.create_index("ix_case_history_actor", "case_history", ["actor", "command"])


def downgrade() -> None:
    op.drop_index("ix_case_history_actor", table_name="case_history")
    op.drop_index("ix_cases_started_at", table_name="cases")
