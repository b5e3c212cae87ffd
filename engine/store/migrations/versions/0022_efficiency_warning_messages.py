"""Messages about a 效能告诫 get a kind of their own.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-25

A 效能告诫 issued (【效能告诫】…) and a warning to a unit's head proposed (【拟告诫单位负责人】…)
were stored with ``kind = 'warning'``, the kind of a time limit's 预警 as well, so the message box
could not tell them apart and led every 【预警】 to the 效能告诫 page. They are now
``efficiency_warning`` (``engine.alerts.EFFICIENCY_WARNING``); this revision gives the messages
already sent the same kind, by the titles the commands have always given them. No schema change.
"""
from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_TITLES = "(title LIKE '【效能告诫】%' OR title LIKE '【拟告诫单位负责人】%')"


def upgrade() -> None:
    op.execute(f"UPDATE messages SET kind = 'efficiency_warning' WHERE kind = 'warning' AND {_TITLES}")


def downgrade() -> None:
    op.execute(f"UPDATE messages SET kind = 'warning' WHERE kind = 'efficiency_warning' AND {_TITLES}")
