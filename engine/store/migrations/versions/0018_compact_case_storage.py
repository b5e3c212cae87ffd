"""A case stores its time policy only once its item's changes; on PostgreSQL the history's JSON is
text (``json``), not ``jsonb`` (issue 13, point 4: a concluded case in at most 6 KB).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-25

``cases.time_policy`` NULL now means "the item's policy, unchanged since the case started" (as
``cases.guide`` already did); it used to mean "the defaults", for cases started while their item
had no policy. So:

1. a case whose policy is NULL (or JSON null) gets the defaults written out, if its item has a
   policy now; if the item has none either, the case keeps SQL NULL (the item's: the defaults);
2. a case whose policy is the item's as it stands is set to NULL (it reads the item's; the
   application copies the old policy onto such cases before an item's policy changes);
3. a JSON ``null`` in ``cases.guide``, ``applicant_info`` or ``application`` becomes SQL NULL: the
   application now writes None as SQL NULL there (``models.JSONOrNull``), so ``IS NULL`` and
   ``coalesce`` see every one.

The defaults are spelled out below as they stand at this revision (a revision never imports the
application).

On PostgreSQL the four JSON columns of ``case_history`` (inputs, payload, ready_tasks, observed)
become ``json``: JSONB spends about a fifth more than compact JSON text on documents this small,
and nothing needs its binary form (they are read whole, or by ``->>``/``#>>`` paths, which ``json``
has too; no index, equality, DISTINCT or containment uses them). Existing values are converted
as JSONB prints them, so they read back as the same values and the hash chain (computed over the
values as read back, sorted keys) still verifies. ``ALTER COLUMN TYPE`` rewrites the table
without firing the append-only row triggers, which stay in place.

The history's hashes (``case_history.hash``, ``cases.history_head``) are kept as their 32 bytes
instead of 64 hex characters (``models.HexDigest``; the application still speaks hex). On
PostgreSQL the columns become ``bytea`` here. On SQLite they keep their declared VARCHAR(64) —
changing a declared type would copy ``case_history``, and rewriting its values would need its
append-only triggers off — and hold either form: digests written before stay hex text and read
as they are, new ones are 32-byte blobs. SQLite keeps JSON as text already.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
#: engine.timelimits.policy.TimePolicy().to_dict() at this revision
DEFAULT_POLICY = {
    "statutory_days": 20, "promised_days": None, "acceptance_days": 5, "issue_days": 10,
    "extension_days": 10, "deemed_approval": False, "step_days": {},
    "warning": {"before_days": 1, "share": None},
    "escalation": {"warning": [{"to": "handler", "after_days": 0}],
                   "yellow": [{"to": "handler", "after_days": 0}, {"to": "head", "after_days": 1},
                              {"to": "supervisor", "after_days": 2}],
                   "red": [{"to": "handler", "after_days": 0}, {"to": "head", "after_days": 0},
                           {"to": "supervisor", "after_days": 0}]},
}
HISTORY_JSON = ("inputs", "payload", "ready_tasks", "observed")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    json_null = "'null'::jsonb" if postgres else "'null'"
    item_policy = "(SELECT items.time_policy FROM items WHERE items.id = cases.item_id)"
    # 1. NULL meant the defaults: say so where the item now has a policy of its own
    op.execute(sa.text(f"UPDATE cases SET time_policy = :defaults "
                       f"WHERE (time_policy IS NULL OR time_policy = {json_null}) "
                       f"AND {item_policy} IS NOT NULL AND {item_policy} <> {json_null}")
               .bindparams(sa.bindparam("defaults", DEFAULT_POLICY, type_=JSONType)))
    op.execute(f"UPDATE cases SET time_policy = NULL WHERE time_policy = {json_null}")
    # 2. the item's policy as it stands: read from the item
    op.execute(f"UPDATE cases SET time_policy = NULL WHERE time_policy IS NOT NULL AND time_policy = {item_policy}")
    # 3. the case's other JSON columns whose None is now SQL NULL (models.JSONOrNull)
    for name in ("guide", "applicant_info", "application"):
        op.execute(f"UPDATE cases SET {name} = NULL WHERE {name} = {json_null}")
    if postgres:
        op.execute("ALTER TABLE case_history "
                   + ", ".join(f"ALTER COLUMN {name} TYPE json USING {name}::json" for name in HISTORY_JSON)
                   + ", ALTER COLUMN hash TYPE bytea USING decode(hash, 'hex')")
        op.execute("ALTER TABLE cases ALTER COLUMN history_head TYPE bytea USING decode(history_head, 'hex')")


def downgrade() -> None:
    raise NotImplementedError("migrations only go forward: restore a backup instead")
