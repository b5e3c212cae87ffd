"""A lighter flush for the rows a command changes most: the case, its tasks, clocks, deadlines,
documents and messages.

SQLAlchemy's unit of work costs about 0.3 ms per object on this project's commands — sorting
mappers and their dependencies, building and grouping the statements, firing attribute events —
against about 0.1 ms for the statement itself: a third of a command went into ``Session.flush``
(docs/performance.md, "Where a command's time goes"). ``WriterSession.flush`` first writes the
pending and changed objects of these simple classes with one Core statement each (updates of the
same columns of one table in one executemany), exactly as the unit of work would — the same
columns, the same defaults, the case's optimistic ``version`` check — then marks them persistent
and clean in the session with the call the unit of work itself ends with, and leaves whatever else
is pending (other classes, deletions, an object that refers to one it does not handle) to the
ordinary flush that follows.

What it relies on of SQLAlchemy beyond the public API (``Session._register_persistent``, the
mapper's ``_insert_cols_as_none`` and ``_insert_cols_evaluating_none``, ``identity_map._modified``)
is pinned in setup.cfg and checked by tests/test_writer.py against the ordinary flush.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.interfaces import MANYTOONE

from engine.store.models import Case, Clock, Deadline, Document, Message, Task

#: the classes written here, in the order their new rows are inserted (a task refers to its case,
#: a clock may refer to a new task, a deadline to a new clock)
CLASSES = (Case, Task, Clock, Deadline, Document, Message)
_RANK = {cls: rank for rank, cls in enumerate(CLASSES)}


class _Plan:
    """What writing one class needs, worked out once from its mapper."""

    def __init__(self, cls: type):
        mapper = inspect(cls)
        self.mapper = mapper
        self.table = table = mapper.local_table
        self.insert = insert(table)
        (self.pk,) = mapper.primary_key
        self.pk_key = mapper.get_property_by_column(self.pk).key
        #: (attribute key, column) of every mapped column but the primary key
        self.columns = [(mapper.get_property_by_column(c).key, c) for c in table.columns if c is not self.pk]
        self.column_of = dict(self.columns)
        self.as_none = mapper._insert_cols_as_none[table]
        self.eval_none = mapper._insert_cols_evaluating_none[table]
        self.defaults = {}
        for key, column in self.columns:
            default = column.default
            if default is not None:
                if not default.is_scalar:
                    raise TypeError(f"{cls.__name__}.{key}: only scalar column defaults are written here")
                self.defaults[key] = default.arg
            elif column.server_default is not None:
                raise TypeError(f"{cls.__name__}.{key}: a server default would need a read back")
        #: many-to-one relationships: (attribute key, [(local attribute key, remote attribute key)])
        self.relations = []
        for rel in mapper.relationships:
            if rel.direction is not MANYTOONE or rel.secondary is not None:
                raise TypeError(f"{cls.__name__}.{rel.key}: only many-to-one relationships are written here")
            pairs = [(mapper.get_property_by_column(local).key,
                      rel.mapper.get_property_by_column(remote).key) for local, remote in rel.local_remote_pairs]
            self.relations.append((rel.key, pairs))
        self.version = mapper.version_id_col
        self.version_key = mapper.get_property_by_column(self.version).key if self.version is not None else None
        self._updates: dict[tuple[str, ...], Any] = {}

    def update_statement(self, keys: tuple[str, ...]):
        statement = self._updates.get(keys)
        if statement is None:
            where = self.pk == bindparam("_pk")
            if self.version is not None:
                where = where & (self.version == bindparam("_version"))
            statement = self._updates[keys] = update(self.table).where(where)
        return statement


_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _Plan(cls)
    return plan


class WriterSession(Session):
    """The session of a write transaction (``Database.transaction``): its flush writes the
    command's common rows by Core statements first (see the module's text)."""

    def flush(self, objects=None) -> None:
        if objects is None and not self._flushing and (self._new or self.identity_map._modified):
            write_changes(self)
        super().flush(objects)


def _related_ready(state, plan: _Plan, handled: set) -> bool:
    """Whether every object ``state`` refers to has its id by the time ``state`` is written."""
    dict_ = state.dict
    for key, _pairs in plan.relations:
        other = dict_.get(key)
        if other is not None:
            other_state = inspect(other)
            if other_state.key is None and other_state not in handled:
                return False
    return True


def _sync_relations(state, plan: _Plan, new: bool) -> None:
    """Copy the ids of the objects set on many-to-one relationships into their columns, as the
    unit of work does before it writes (for a changed object only when the relationship changed)."""
    dict_ = state.dict
    obj = state.obj()
    for key, pairs in plan.relations:
        if key in dict_ and (new or key in state.committed_state):
            other = dict_[key]
            for local, remote in pairs:
                value = None if other is None else getattr(other, remote)
                if new:
                    dict_[local] = value
                elif dict_.get(local) != value:
                    setattr(obj, local, value)


def write_changes(session: Session) -> None:
    """Write the session's pending and changed objects of ``CLASSES`` (see the module's text)."""
    if session._deleted:
        return  # deletions: the unit of work orders them with everything else
    new = [s for s in session._new if s.class_ in _RANK]
    new.sort(key=lambda s: (_RANK[s.class_], s.insert_order))
    handled = set(new)
    for state in new:
        if not _related_ready(state, _plan(state.class_), handled):
            return  # refers to a new object of another class: all of it to the unit of work
    dirty = [s for s in session.identity_map._modified if s.class_ in _RANK and s.key is not None]
    if not new and not dirty:
        return
    for state in dirty:
        dict_ = state.dict
        if any(hasattr(dict_.get(key), "__clause_element__") for key in state.committed_state):
            return  # an SQL expression as a value: the unit of work renders it
    connection = session.connection()
    written = set()
    for state in new:
        _insert(connection, state)
        written.add(state)
    updates: dict[tuple[_Plan, tuple[str, ...]], list[tuple[Any, dict]]] = {}
    for state in dirty:
        plan = _plan(state.class_)
        params = _update_params(connection, state, plan)
        if params is None:
            written.add(state)  # set to what it was: nothing to write, nothing left changed
        else:
            updates.setdefault((plan, tuple(sorted(params))), []).append((state, params))
    for (plan, keys), rows in updates.items():
        statement = plan.update_statement(keys)
        if plan.version is None:
            connection.execute(statement, [params for _state, params in rows])
        else:  # one at a time: not every driver counts the rows of an executemany
            for _state, params in rows:
                if connection.execute(statement, params).rowcount != 1:
                    raise StaleDataError(f"UPDATE statement on table '{plan.table.name}' expected to "
                                         f"update 1 row(s); 0 were matched.")
        for state, _params in rows:
            mapper = plan.mapper
            if mapper.dispatch.after_update:
                mapper.dispatch.after_update(mapper, connection, state)
            written.add(state)
    if written:
        session._register_persistent(written)


def _insert(connection, state) -> None:
    """INSERT a new object's row as the unit of work would: the values set (None only where it
    means something: JSON), else the column's default, else None; its id read back."""
    plan = _plan(state.class_)
    mapper = plan.mapper
    if mapper.dispatch.before_insert:
        mapper.dispatch.before_insert(mapper, connection, state)
    _sync_relations(state, plan, new=True)
    dict_ = state.dict
    params = {}
    for key, column in plan.columns:
        value = dict_.get(key)
        if key in dict_ and (value is not None or column in plan.eval_none):
            params[column.key] = value
        elif key in plan.defaults:
            params[column.key] = dict_[key] = plan.defaults[key]
        elif column.key in plan.as_none:
            params[column.key] = None
    if plan.version is not None:
        params[plan.version.key] = dict_[plan.version_key] = mapper.version_id_generator(None)
    pk = dict_.get(plan.pk_key)
    if pk is not None:
        params[plan.pk.key] = pk
    result = connection.execute(plan.insert, params)
    if pk is None:
        dict_[plan.pk_key] = result.inserted_primary_key[0]
    if mapper.dispatch.after_insert:
        mapper.dispatch.after_insert(mapper, connection, state)


def _update_params(connection, state, plan: _Plan) -> dict | None:
    """The UPDATE parameters of a changed object (the columns whose value differs from the one
    loaded, its id, the case's version check), or None when nothing differs."""
    mapper = plan.mapper
    if mapper.dispatch.before_update:
        mapper.dispatch.before_update(mapper, connection, state)
    _sync_relations(state, plan, new=False)
    dict_, committed = state.dict, state.committed_state
    params = {}
    for key in committed:
        column = plan.column_of.get(key)
        if column is not None and key != plan.version_key and \
                state.manager[key].impl.is_equal(dict_.get(key), committed[key]) is not True:
            params[column.key] = dict_.get(key)
    if not params:
        return None
    params["_pk"] = dict_[plan.pk_key]
    if plan.version is not None:
        old = committed.get(plan.version_key, dict_[plan.version_key])
        params["_version"] = old
        params[plan.version.key] = dict_[plan.version_key] = mapper.version_id_generator(old)
    return params
