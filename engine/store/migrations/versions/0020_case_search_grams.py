"""An index of the short pieces (grams) of each case's applicant and number, so that a search for
part of a name or number looks at a few candidates instead of every case (issue 13, point 5).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-25

``LIKE '%…%'`` cannot use an index range, so the inbox's search and 办件查询 scanned every case
(since 0019 the narrow ``ix_cases_applicant``): 6 ms at 1,000 cases, 122 ms at 100,000 on SQLite.
A case's grams are every piece of one, two and three characters of each run of letters and
digits in its applicant and number, ASCII letters in lower case; a term's runs give the grams any
text containing it must have (``engine/store/grams.py``). The index finds the cases with all of
them and the ``LIKE`` then checks those few, so what a search finds does not change.

- SQLite: ``case_grams``, an FTS5 table without content (rowid = the case's id; ``detail=none``,
  no sizes: it answers "which rows have these tokens" and nothing else). A token is the hex of a
  gram's UTF-8, so the tokenizer keeps each gram whole. Triggers on ``cases`` keep it, through
  ``approvals_grams(applicant, number)``, a function the application registers on every
  connection. A deletion from a contentless table needs the tokens it deletes, which the
  function computes again: so its output is frozen here, and it is written out below as it
  stands (a revision never imports the application). A later batch rebuild of ``cases`` must
  create the triggers again.
- PostgreSQL: ``approvals_grams(applicant, number)`` is an SQL function (IMMUTABLE) giving the
  pieces of the whole text, punctuation included, and ``ix_cases_grams`` a GIN index on it; the
  database keeps it as it keeps any index.
"""
from __future__ import annotations

import re

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_RUNS = re.compile(r"[^\W_]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _document(applicant, number) -> str:
    """``engine.store.grams.document`` at this revision."""
    grams: dict[str, None] = {}
    for run in _RUNS.findall(f"{applicant or ''} {number or ''}".translate(_ASCII_LOWER)):
        for size in (1, 2, 3):
            for i in range(len(run) - size + 1):
                grams[run[i:i + size]] = None
    return " ".join(g.encode().hex() for g in grams)


SQLITE = [
    "CREATE VIRTUAL TABLE case_grams USING fts5(grams, content='', columnsize=0, detail=none, tokenize='ascii')",
    """CREATE TRIGGER cases_grams_insert AFTER INSERT ON cases BEGIN
  INSERT INTO case_grams(rowid, grams) VALUES (new.id, approvals_grams(new.applicant, new.number));
END""",
    """CREATE TRIGGER cases_grams_update AFTER UPDATE OF applicant, number ON cases BEGIN
  INSERT INTO case_grams(case_grams, rowid, grams) VALUES ('delete', old.id, approvals_grams(old.applicant, old.number));
  INSERT INTO case_grams(rowid, grams) VALUES (new.id, approvals_grams(new.applicant, new.number));
END""",
    """CREATE TRIGGER cases_grams_delete AFTER DELETE ON cases BEGIN
  INSERT INTO case_grams(case_grams, rowid, grams) VALUES ('delete', old.id, approvals_grams(old.applicant, old.number));
END""",
]

POSTGRESQL = [
    """CREATE FUNCTION approvals_grams(applicant text, number text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(t, i, n)), '{}')
  FROM (SELECT translate(coalesce(applicant, '') || ' ' || coalesce(number, ''),
                         'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') AS t) AS s,
       generate_series(1, char_length(t)) AS i, generate_series(1, 3) AS n
  WHERE i + n - 1 <= char_length(t)
$$""",
    "CREATE INDEX ix_cases_grams ON cases USING gin (approvals_grams(applicant, number))",
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in POSTGRESQL:
            op.execute(statement)
        return
    bind.connection.driver_connection.create_function("approvals_grams", 2, _document, deterministic=True)
    for statement in SQLITE:
        op.execute(statement)
    op.execute("INSERT INTO case_grams(rowid, grams) SELECT id, approvals_grams(applicant, number) FROM cases")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_cases_grams")
        op.execute("DROP FUNCTION approvals_grams(text, text)")
        return
    for trigger in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER cases_grams_{trigger}")
    op.execute("DROP TABLE case_grams")
