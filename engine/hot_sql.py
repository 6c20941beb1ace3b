"""Core statements compiled once and then executed straight through the database driver.

The delivery runner runs a handful of statements for every round of messages. For those, the work
SQLAlchemy does per execution (cache key, rendering a 100-element IN list, binding, building result
rows) costs several times what the database spends on them. A `HotStatement` compiles its statement
once per dialect and per length of its list parameters, with SQLAlchemy's own compiler, so the SQL is
exactly what `Connection.execute` would send; each execution then only lines up the values and hands
them to `exec_driver_sql` (which keeps SQLAlchemy's transaction, events and error wrapping). The
request path's reads (credentials, Campaign.Get, Subscribers.Get) use `read`, which also skips the result
object and fetches from the driver's cursor inside the unit of work's transaction.
"""
from __future__ import annotations

import weakref
from collections import namedtuple
from typing import Any, Mapping

from sqlalchemy.exc import DBAPIError

_CONSTANT, _SCALAR, _LIST = 0, 1, 2


class HotStatement:
    """`statement` with bind parameters named by the caller; `lists` names its expanding ones
    (`bindparam(name, expanding=True)`). Each distinct list length compiles once per dialect."""

    def __init__(self, statement, lists: tuple[str, ...] = ()):
        self.statement = statement
        self.lists = lists
        self._forms: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()      # dialect -> {lengths: form}
        self._results: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()    # dialect -> processors
        self._row_type = None   # first()'s named tuple, made on first use

    def execute(self, conn, params: Mapping[str, Any]):
        """The CursorResult; rows hold the driver's values (see `rows` for typed ones)."""
        sql, args = self.bound(conn.dialect, params)
        return conn.exec_driver_sql(sql, args)

    def bound(self, dialect, params: Mapping[str, Any]) -> tuple[str, tuple | dict]:
        """The SQL in the driver's paramstyle and its arguments, lined up as `execute` sends them (for a
        caller that hands both to a driver call of its own, such as psycopg's COPY)."""
        sql, positional, plan = self._form(dialect, params)
        if positional:
            args: list = []
            for kind, source, processor in plan:
                if kind == _LIST:
                    values = params[source]
                    args.extend(values if processor is None else [processor(v) for v in values])
                else:
                    value = source if kind == _CONSTANT else params[source]
                    args.append(value if processor is None or kind == _CONSTANT else processor(value))
            return sql, tuple(args)
        named: dict = {}
        for kind, (name, source), processor in plan:
            if kind == _LIST:
                values = params[source]
                if processor is not None:
                    values = [processor(v) for v in values]
                named.update(zip(name, values))
            elif kind == _CONSTANT:
                named[name] = source
            else:
                value = params[source]
                named[name] = value if processor is None else processor(value)
        return sql, named

    def rows(self, conn, params: Mapping[str, Any]) -> list[tuple]:
        """The selected rows as tuples, each value converted by its column's type (a SELECT only)."""
        return self._typed(conn.dialect, self.execute(conn, params).fetchall())

    def read(self, conn, params: Mapping[str, Any]) -> list[tuple]:
        """`rows`, fetched from a cursor of the connection's own driver connection: for a connection in a
        transaction already (a unit of work's `session.connection()`), on the request path. The result
        object `exec_driver_sql` builds reads the cursor's description column by column, which costs
        more than the statement for a wide row; this skips it (and SQLAlchemy's cursor events)."""
        return self._typed(conn.dialect, self._fetch(conn, params))

    def _typed(self, dialect, raw: list) -> list[tuple]:
        processors = self._result_processors(dialect)
        if not processors:
            return [tuple(row) for row in raw]
        return [tuple(value if p is None or value is None else p(value) for p, value in zip(processors, row))
                for row in raw]

    def _fetch(self, conn, params: Mapping[str, Any]) -> list:
        sql, args = self.bound(conn.dialect, params)
        dbapi_error = conn.dialect.loaded_dbapi.Error
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, args)
            return cursor.fetchall()
        except dbapi_error as exc:   # as SQLAlchemy reports it, so callers see one kind of error
            raise _wrapped(conn, sql, args, exc, cursor) from exc
        finally:
            cursor.close()

    @staticmethod
    def read_together(conn, reads: list[tuple["HotStatement", Mapping[str, Any]]]) -> list[list[tuple]]:
        """`read` of several statements whose parameters do not depend on each other's rows: on PostgreSQL
        sent in psycopg's pipeline mode, all in one write and one round trip (each statement still its own
        snapshot, as under READ COMMITTED in a transaction); elsewhere one after the other."""
        if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg" or len(reads) < 2:
            return [statement.read(conn, params) for statement, params in reads]
        raw = conn.connection.driver_connection
        bound = [statement.bound(conn.dialect, params) for statement, params in reads]
        cursors = [raw.cursor() for _ in reads]
        dbapi_error = conn.dialect.loaded_dbapi.Error
        try:
            with raw.pipeline():
                for cursor, (sql, args) in zip(cursors, bound):
                    cursor.execute(sql, args)
            return [statement._typed(conn.dialect, cursor.fetchall())
                    for (statement, _), cursor in zip(reads, cursors)]
        except dbapi_error as exc:
            raise _wrapped(conn, bound[0][0], bound[0][1], exc, None) from exc
        finally:
            for cursor in cursors:
                cursor.close()

    @property
    def row_type(self):
        """The named tuple of `named` rows (fields named like the statement's columns)."""
        if self._row_type is None:
            self._row_type = namedtuple("HotRow", list(self.statement.selected_columns.keys()))
        return self._row_type

    def named(self, conn, params: Mapping[str, Any]) -> list[tuple]:
        """The rows `read` answers as named tuples (fields named like the statement's columns)."""
        row_type = self.row_type
        return [row_type(*row) for row in self.read(conn, params)]

    def first(self, conn, params: Mapping[str, Any]):
        """The first of the `named` rows; None when there is none."""
        rows = self.named(conn, params)
        return rows[0] if rows else None

    # --- compiling ---------------------------------------------------------------------------------
    def _form(self, dialect, params):
        forms = self._forms.get(dialect)
        if forms is None:
            forms = self._forms[dialect] = {}
        key = tuple(len(params[name]) for name in self.lists)
        form = forms.get(key)
        if form is None:
            form = forms[key] = self._compile(dialect, params)
        return form

    def _compile(self, dialect, params):
        for name in self.lists:
            if not params[name]:
                raise ValueError(f"{name}: an empty list cannot be executed")
        compiled = self.statement.compile(dialect=dialect)
        state = compiled.construct_expanded_state(dict(params))
        element_of = {element: (source, i) for source, elements in state.parameter_expansion.items()
                      for i, element in enumerate(elements)}
        # The statement's own bind processors (UTCDateTime, …) and those of the expanded list elements.
        processors = {**compiled._bind_processors, **state.processors}
        plan: list = []
        names = state.positiontup if compiled.positional else list(state.parameters)
        for name in names:
            processor = processors.get(name)
            if name in element_of and element_of[name][0] in params:
                source, index = element_of[name]
                if index == 0:
                    plan.append([_LIST, source, processor, [name]])
                elif plan and plan[-1][:2] == [_LIST, source]:
                    plan[-1][3].append(name)
                else:
                    raise ValueError(f"{source}: a list parameter must appear once, its elements together")
            elif name in params:
                plan.append([_SCALAR, name, processor, [name]])
            else:   # a literal of the statement (state = 'claimed', state IN ('claimed', 'unknown'))
                value = state.parameters[name]
                plan.append([_CONSTANT, value if processor is None else processor(value), None, [name]])
        if compiled.positional:
            return state.statement, True, [(kind, source, processor) for kind, source, processor, _ in plan]
        return state.statement, False, [
            (kind, (tuple(names) if kind == _LIST else names[0], source), processor)
            for kind, source, processor, names in plan]

    def _result_processors(self, dialect) -> list:
        processors = self._results.get(dialect)
        if processors is None:
            # exported_columns: a SELECT's columns, or what an INSERT … RETURNING returns
            processors = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                          for column in self.statement.exported_columns]
            self._results[dialect] = processors = processors if any(processors) else []
        return processors


def _wrapped(conn, sql, args, exc, cursor) -> DBAPIError:
    """The driver's error as SQLAlchemy reports it. A dropped connection is invalidated with the rest of the
    pool, as SQLAlchemy does for the statements it runs itself, so that a caller may retry on a new one
    (protocol/dispatch.py)."""
    dropped = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
    if dropped:
        conn.engine.pool._invalidate(conn.connection, exc, _checkin=False)
        conn.invalidate(exc)
    return DBAPIError.instance(sql, args, exc, conn.dialect.loaded_dbapi.Error, connection_invalidated=dropped)
