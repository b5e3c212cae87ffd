"""Persistent ORM objects made from plain rows, for the few reads every command makes.

A command reads its case's clocks, live deadlines and open tasks as ORM objects, changes some of
them and lets the writer (``engine.store.writer``) write what changed. Loading them through the
ORM costs more per statement than running it: the ORM prepares its row processing anew on every
execution (``loading.instances``, ``_instance_processor``), whatever the statement cache holds.
``Plain`` does what the ORM's loading does for a simple mapped class — no inheritance, no deferred
columns, relationships lazy — from a Core row: the object with its column values, in the session's
identity map, persistent and clean, the session's ``loaded_as_persistent`` event told; a deferred
column not asked for is left out, to be loaded on first use as the ORM would. An object
the session already holds is returned as it is (the ORM does the same without
``populate_existing``), so a change the command made is never overwritten by a read.

``tests/test_plain.py`` checks that the objects are what the ORM would load.
"""
from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import instance_state


class Plain:
    """The loader of one mapped class; ``columns`` are what a statement selects for it, in order."""

    def __init__(self, cls: type, undefer: tuple[str, ...] = ()):
        mapper = inspect(cls)
        if mapper.inherits is not None or mapper.polymorphic_on is not None:
            raise TypeError(f"{cls.__name__}: plain loading does not handle inheritance")
        props = [prop for prop in mapper.column_attrs if not prop.deferred or prop.key in undefer]
        for prop in props:
            if len(prop.columns) != 1:
                raise TypeError(f"{cls.__name__}.{prop.key}: plain loading needs one column per attribute")
        for rel in mapper.relationships:
            if rel.lazy != "select":
                raise TypeError(f"{cls.__name__}.{rel.key}: plain loading leaves relationships to lazy loading")
        if mapper.class_manager.dispatch.load or mapper.class_manager.dispatch.refresh:
            raise TypeError(f"{cls.__name__}: plain loading does not fire load events (a listener is set)")
        if len(mapper.primary_key) != 1:
            raise TypeError(f"{cls.__name__}: plain loading needs a one-column primary key")
        self.cls = mapper.class_
        self.keys = tuple(prop.key for prop in props)
        self.columns = tuple(prop.columns[0] for prop in props)
        self._pk = self.columns.index(mapper.primary_key[0])
        self._new = mapper.class_manager.new_instance

    def load(self, session: Session, row: Sequence[Any], offset: int = 0) -> Any:
        """The object of ``row[offset:offset + len(columns)]``; None for the NULLs of an outer join."""
        ident = row[offset + self._pk]
        if ident is None:
            return None
        key = (self.cls, (ident,), None)
        identity_map = session.identity_map
        found = identity_map.get(key)
        if found is not None:
            return found
        obj = self._new()
        state = instance_state(obj)
        dict_ = state.dict
        for i, name in enumerate(self.keys, offset):
            dict_[name] = row[i]
        state.key, state.identity_token, state.session_id = key, None, session.hash_key
        identity_map._add_unpresent(state, key)
        state._commit_all(dict_, identity_map)
        if session.dispatch.loaded_as_persistent:
            session.dispatch.loaded_as_persistent(session, state)
        return obj


class PlainJoin:
    """Several classes' columns side by side in one statement (a join), loaded together; columns a
    statement selects after ``columns`` (a scalar subquery) are at ``row[len(columns)]`` on."""

    def __init__(self, *plains: Plain):
        self.plains = plains
        self.columns = tuple(column for plain in plains for column in plain.columns)
        offsets, at = [], 0
        for plain in plains:
            offsets.append(at)
            at += len(plain.columns)
        self._offsets = tuple(offsets)

    def load(self, session: Session, row: Sequence[Any]) -> tuple:
        """One object (or None, for an outer join's NULLs) per class, in the order given."""
        return tuple(plain.load(session, row, at) for plain, at in zip(self.plains, self._offsets))
