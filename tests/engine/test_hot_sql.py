"""HotStatement: compiled once, run through the driver, with the same effect as Connection.execute."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.db import UTCDateTime
from engine.hot_sql import HotStatement

_metadata = MetaData()
_probe = Table("hot_sql_probe", _metadata,
               Column("id", Integer, primary_key=True, autoincrement=False),
               Column("state", String(16), nullable=False),
               Column("owner", String(32), nullable=False),
               Column("touched_at", UTCDateTime),
               Column("tries", Integer, nullable=False))
_c = _probe.c

MARK = HotStatement(update(_probe).where(
    _c.id.in_(bindparam("ids", expanding=True)), _c.owner == bindparam("owner"),
    _c.state.in_(("new", "held"))).values(
    state="done", touched_at=bindparam("at", type_=UTCDateTime), tries=_c.tries + 1), ("ids",))
READ = HotStatement(select(_c.id, _c.state, _c.touched_at).where(_c.id.in_(bindparam("ids", expanding=True)))
                    .order_by(_c.id), ("ids",))
AT = datetime(2026, 11, 23, 18, 30, 15, 250000, tzinfo=timezone.utc)


@pytest.fixture
def probe(sa_engine):
    _metadata.create_all(sa_engine)
    with sa_engine.begin() as conn:
        conn.execute(insert(_probe), [{"id": i, "state": "new" if i != 4 else "gone", "owner": "me" if i != 5 else "you",
                                       "touched_at": None, "tries": 0} for i in range(1, 8)])
    yield sa_engine
    _metadata.drop_all(sa_engine)


def test_an_update_changes_exactly_the_rows_its_conditions_name(probe):
    with probe.begin() as conn:
        result = MARK.execute(conn, {"ids": [1, 2, 4, 5, 6], "owner": "me", "at": AT})
        assert result.rowcount == 3        # 4 is in no listed state, 5 has another owner
        rows = {r.id: r for r in conn.execute(select(_probe))}
    assert {i for i, r in rows.items() if r.state == "done"} == {1, 2, 6}
    assert rows[1].tries == 1 and rows[3].tries == 0
    assert rows[1].touched_at == AT        # bound through UTCDateTime, read back through the ORM's types


def test_rows_are_converted_by_their_column_types(probe):
    with probe.begin() as conn:
        MARK.execute(conn, {"ids": [2], "owner": "me", "at": AT + timedelta(hours=1)})
        rows = READ.rows(conn, {"ids": [1, 2]})
    assert rows == [(1, "new", None), (2, "done", AT + timedelta(hours=1))]
    assert rows[1][2].tzinfo is timezone.utc


def test_lists_of_every_length_run_as_they_come(probe):
    with probe.begin() as conn:
        for ids in ([1], [2, 3, 6], [7, 1]):       # a new length compiles, a known one is reused
            MARK.execute(conn, {"ids": ids, "owner": "me", "at": AT})
        assert [r[0] for r in READ.rows(conn, {"ids": list(range(1, 8))}) if r[1] == "done"] == [1, 2, 3, 6, 7]
        assert conn.execute(select(_c.tries).where(_c.id == 1)).scalar() == 1   # done once, not twice


def test_an_empty_list_is_refused_before_reaching_the_database(probe):
    with probe.begin() as conn:
        with pytest.raises(ValueError, match="ids"):
            MARK.execute(conn, {"ids": [], "owner": "me", "at": AT})


def test_database_errors_arrive_as_sqlalchemy_exceptions(probe):
    """The delivery runner retries on DBAPIError subclasses: a HotStatement must raise those."""
    duplicate = HotStatement(insert(_probe).values(id=bindparam("id"), state="new", owner="me", tries=0))
    with probe.connect() as conn:
        with pytest.raises(IntegrityError):
            duplicate.execute(conn, {"id": 1})
        conn.rollback()


def test_read_answers_what_rows_answers_and_sees_its_own_transaction(probe):
    with probe.begin() as conn:
        MARK.execute(conn, {"ids": [3], "owner": "me", "at": AT})   # not committed yet
        assert READ.read(conn, {"ids": [1, 3, 99]}) == READ.rows(conn, {"ids": [1, 3, 99]}) == [
            (1, "new", None), (3, "done", AT)]
        named = READ.named(conn, {"ids": [3]})
        assert named[0].id == 3 and named[0].touched_at == AT and named[0].touched_at.tzinfo is timezone.utc
        assert READ.first(conn, {"ids": [3, 1]}).id == 1
        assert READ.first(conn, {"ids": [99]}) is None


def test_a_failing_read_raises_as_sqlalchemy_reports_it(probe):
    from sqlalchemy.exc import DBAPIError

    broken = HotStatement(select(_c.id).where(_c.id == bindparam("id")).where(
        Column("no_such_column", Integer) == 1))
    with probe.connect() as conn:
        conn.begin()
        with pytest.raises(DBAPIError):
            broken.read(conn, {"id": 1})
