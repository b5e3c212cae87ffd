"""The index a search for part of a case number or of an applicant's name goes through (migration
0020): the short pieces (grams) of each case's text, so that ``LIKE '%…%'`` on a few candidates
replaces a scan of every case.

A case's text is its applicant and its number. Its grams are every piece of one, two and three
characters of each run of letters and digits in it, with ASCII letters folded to lower case
(``document``). A searched term gives the grams it must contain (``required``): its runs of
three characters or more give their three-character pieces, shorter runs themselves. Any text
that contains the term contains all of them, so the index yields a superset of the cases found,
and the ``LIKE`` that follows on those few keeps the meaning of the search exactly as it was.

- SQLite: an FTS5 table without content, ``case_grams`` (rowid = the case's id), one token per
  gram — written as the hex of its UTF-8, so that FTS5's tokenizer never splits nor folds a
  gram: the tokens are exactly the grams —, kept by triggers on ``cases`` that call ``approvals_grams`` (``document``), a function
  registered on every connection (``engine.store.db``). Its rows are an inverted index, as a
  GIN index is on PostgreSQL; what it spends per case is in docs/performance.md.
- PostgreSQL: a GIN index on ``approvals_grams(applicant, number)``, an SQL function of the
  migration that gives the pieces of the whole text (punctuation too: a superset of these).

The function's output is frozen by the migration that built the index from it: the triggers
delete a case's old tokens by computing them again. Changing ``document`` needs a migration that
rebuilds ``case_grams``.
"""
from __future__ import annotations

import re

from sqlalchemy import Text, bindparam, column, func, literal_column, select, table
from sqlalchemy.dialects import postgresql

from engine.store.models import Case

#: the name of the SQLite function and of the PostgreSQL one (migration 0020)
FUNCTION = "approvals_grams"
TABLE = "case_grams"
#: the PostgreSQL index on approvals_grams(applicant, number)
PG_INDEX = "ix_cases_grams"

_RUNS = re.compile(r"[^\W_]+")  # letters and digits, any script
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _runs(text: str) -> list[str]:
    return _RUNS.findall(text.translate(_ASCII_LOWER))


def grams_of(applicant: str | None, number: str | None) -> list[str]:
    """The grams of a case's applicant and number, each once."""
    grams: dict[str, None] = {}
    for run in _runs(f"{applicant or ''} {number or ''}"):
        for size in (1, 2, 3):
            for i in range(len(run) - size + 1):
                grams[run[i:i + size]] = None
    return list(grams)


def _token(gram: str) -> str:
    return gram.encode().hex()


def document(applicant: str | None, number: str | None) -> str:
    """SQLite's ``approvals_grams``: the tokens of a case's grams, space separated."""
    return " ".join(_token(g) for g in grams_of(applicant, number))


def required(term: str) -> list[str]:
    """The grams every text containing ``term`` has; [] when it has no letter or digit (then
    only a scan can answer)."""
    grams: dict[str, None] = {}
    for run in _runs(term):
        if len(run) < 3:
            grams[run] = None
        for i in range(len(run) - 2):
            grams[run[i:i + 3]] = None
    return list(grams)


def fts_query(grams: list[str]) -> str:
    """An FTS5 query for the rows with every one of ``grams``."""
    return " AND ".join(_token(g) for g in grams)


def register(dbapi_connection) -> None:
    """Make ``approvals_grams`` known to an SQLite connection (the triggers on ``cases`` call it)."""
    dbapi_connection.create_function(FUNCTION, 2, document, deterministic=True)


#: the FTS5 table on SQLite, and its condition "has every gram of :grams"
_FTS = table(TABLE, column("rowid"))


def _matches(grams):
    return literal_column(TABLE).op("MATCH")(grams)


def case_ids(dialect: str):
    """``SELECT cases.id`` of the cases whose applicant and number have every gram of ``:grams``
    (bound to ``bind_value(dialect, term)``): a superset of those containing the term, found
    through the index. On SQLite the FTS5 table drives a join, so a ``LIMIT`` stops it early."""
    if dialect == "postgresql":
        return select(Case.id).where(condition(dialect))
    return select(Case.id).select_from(_FTS).join(Case, Case.id == _FTS.c.rowid).where(_matches(bindparam("grams")))


def condition(dialect: str, value=None):
    """The same as a condition on ``Case``, for a query that has its own order and limit (on
    SQLite the cases' ids from the FTS5 table, as a list the rows are looked up by); ``value``:
    that of ``:grams``, if known now."""
    if dialect == "postgresql":
        grams = bindparam("grams", value, type_=postgresql.ARRAY(Text))
        return func.approvals_grams(Case.applicant, Case.number).op("@>")(grams)
    return Case.id.in_(select(_FTS.c.rowid).where(_matches(bindparam("grams", value))))


def bind_value(dialect: str, term: str) -> str | list[str] | None:
    """The value of ``:grams`` for a term; None when the term has no letter or digit."""
    needed = required(term)
    if not needed:
        return None
    return needed if dialect == "postgresql" else fts_query(needed)
