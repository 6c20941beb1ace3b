"""One new row written at once by a prebuilt INSERT … RETURNING id instead of a unit-of-work flush.

The public Subscriber.Subscribe writes a subscriber row and an outbox event per call; SQLAlchemy's flush
(sorting the unit of work, collecting the columns, building the statement's parameters and result, then
refreshing the object) cost several times the INSERT itself. `insert_now` sends the object's columns
through a statement compiled once per table and dialect (engine/hot_sql.py) and hands the object to the
session as loaded, as a flush would leave it. For tables whose Python-side defaults are constants or
functions of nothing (`utcnow`, `new_nonce`): a default that reads the statement's context is refused.

SQLite and PostgreSQL answer RETURNING; on MariaDB the object is added and flushed as before.
"""
from __future__ import annotations

from sqlalchemy import bindparam, insert
from sqlalchemy.orm import make_transient_to_detached, object_mapper

from engine.hot_sql import HotStatement

_STATEMENTS: dict[object, tuple[HotStatement, list]] = {}


def _statement(mapper) -> tuple[HotStatement, list]:
    """The table's INSERT of every column but the numbered key, and (attribute, column) of those columns."""
    table = mapper.local_table
    found = _STATEMENTS.get(table)
    if found is None:
        columns = [(mapper.get_property_by_column(c).key, c) for c in table.columns if not c.primary_key]
        for _key, column in columns:
            default = column.default
            if default is not None and not (default.is_scalar or default.is_callable):
                raise ValueError(f"{table.name}.{column.name}: its default cannot be computed before the INSERT")
        (key_column,) = table.primary_key.columns
        statement = insert(table).values({c.name: bindparam(c.name) for _key, c in columns}) \
            .returning(key_column)
        found = _STATEMENTS[table] = (HotStatement(statement), columns)
    return found


def insert_now(session, obj) -> None:
    """INSERT `obj` (a new object whose key the database numbers) and attach it to the session as loaded.
    Errors come as SQLAlchemy's (an IntegrityError for a duplicate), as from a flush."""
    conn = session.connection()
    if conn.dialect.name not in ("sqlite", "postgresql"):
        session.add(obj)
        session.flush()
        return
    if session.new or session.dirty or session.deleted:
        session.flush()   # what the row may refer to (a user created in this unit) goes first, as in a flush
    mapper = object_mapper(obj)
    statement, columns = _statement(mapper)
    values, loaded = {}, obj.__dict__
    for key, column in columns:
        if key in loaded:
            value = loaded[key]
        elif column.default is None:
            value = None
        else:
            value = column.default.arg(None) if column.default.is_callable else column.default.arg
            setattr(obj, key, value)
        values[column.name] = value
    (new_id,), = statement.read(conn, values)
    setattr(obj, mapper.get_property_by_column(mapper.local_table.primary_key.columns[0]).key, new_id)
    make_transient_to_detached(obj)   # its columns count as loaded: nothing left for a flush to write
    session.add(obj)
