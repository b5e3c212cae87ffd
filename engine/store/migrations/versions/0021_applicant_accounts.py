"""The online hall (网上办事大厅): applicants' accounts, the case an account applied for, and the
applicant's rating of the service (好差评).

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-25

``applicant_accounts`` holds one account per 居民身份证号码 or 统一社会信用代码 (``login``), with the
applicant as a window would register them (``info``), a Werkzeug password hash, and whether the
password is a temporary one an administrator set (the applicant came to the window with their ID).

``cases.account_id`` names the account that applied online (NULL for a walk-in application). It
has no foreign key on purpose: a replay runs the case's history in a throw-away database that has
no accounts, and the history keeps the number.

``cases.rating`` is the applicant's 好差评 (1 非常不满意 … 5 非常满意), set once by the command that
records it in the history, and ``cases.rated_at`` when: statistics count a rating in the period it
was given (the index finds those cases; the figures themselves are read from the histories), pages
read both from here.

``cases.query_code`` is the 查询码 printed on the 收件凭证: with the case number, what 办件查询 asks
for. Cases started before this revision have none (the window tells them how their case stands).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "applicant_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("info", JSONType, nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("login"),
    )
    # plain ADD COLUMN: a batch operation would copy ``cases`` on SQLite and lose its triggers (0020)
    op.add_column("cases", sa.Column("account_id", sa.Integer(), nullable=True))
    op.add_column("cases", sa.Column("rating", sa.Integer(), nullable=True))
    op.add_column("cases", sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("query_code", sa.String(length=8), nullable=True))
    op.create_index(op.f("ix_cases_account_id"), "cases", ["account_id"])
    op.create_index(op.f("ix_cases_rated_at"), "cases", ["rated_at"])


def downgrade() -> None:
    """Back to 0020 (tests step down through it to check 0020's own upgrade): the accounts and the
    two columns go, with what they held."""
    op.drop_index(op.f("ix_cases_rated_at"), table_name="cases")
    op.drop_index(op.f("ix_cases_account_id"), table_name="cases")
    op.drop_column("cases", "query_code")
    op.drop_column("cases", "rated_at")
    op.drop_column("cases", "rating")
    op.drop_column("cases", "account_id")
    op.drop_table("applicant_accounts")
