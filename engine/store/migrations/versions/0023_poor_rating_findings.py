"""差评整改: a poor 好差评 rating becomes a supervision finding.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-25

The CHECK on supervision_findings.kind gains ``poor_rating`` (on SQLite the table is rebuilt in
batch mode, which keeps its rows and indexes). No existing rows change; the next scan
(``detect_findings``) finds the poor ratings already given. Downgrading removes those findings.
"""
from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

KINDS = ("overdue", "irregular_acceptance", "duplicate", "refusal", "deemed", "repeated_notice", "off_system",
         "process_error", "poor_rating")


def _kinds(kinds: tuple[str, ...]) -> None:
    with op.batch_alter_table("supervision_findings") as batch:
        batch.drop_constraint("ck_supervision_findings_kind", type_="check")
        batch.create_check_constraint("ck_supervision_findings_kind", f"kind IN ({', '.join(repr(v) for v in kinds)})")


def upgrade() -> None:
    _kinds(KINDS)


def downgrade() -> None:
    """Back to 0022: the 差评整改 findings go (the ratings themselves stay in the histories; the
    next scan after upgrading again finds them once more)."""
    op.execute("DELETE FROM supervision_findings WHERE kind = 'poor_rating'")
    _kinds(KINDS[:-1])
