"""The audience statement time limit on the three databases (engine/audience/time_limit.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from engine.errors import AudienceQueryTimeout
from engine.models import Segment, Subscriber, SubscriberFieldValue, SubscriberList
from tests.audience_stall import (
    STALLED_ROWS, FakeTimer, limit_audience_queries, make_stalled_audience, stalled_field_values,
)
from tests.properties.test_audience_differential import owner_id  # noqa: F401 - the fixture


def count_lists(uow) -> int:
    return uow.session.scalar(select(func.count()).select_from(SubscriberList))


def count_field_values(uow) -> int:
    """A statement long enough (hundreds of rows joined) for SQLite to call a progress handler."""
    return uow.session.scalar(select(func.count()).select_from(Subscriber).join(
        SubscriberFieldValue, SubscriberFieldValue.subscriber_id == Subscriber.id))


def test_a_stalled_count_raises_the_timeout_and_the_transaction_goes_on(engine, backend, owner_id, monkeypatch):
    audience = make_stalled_audience(engine, owner_id)
    limit_audience_queries(engine)
    with stalled_field_values(engine, backend, monkeypatch):
        with engine.uow() as uow:
            uow.session.add(SubscriberList(owner_user_id=owner_id, name="Written before", created_at=uow.clock()))
            uow.session.flush()
            segment = uow.session.get(Segment, audience.segment_id)
            with pytest.raises(AudienceQueryTimeout) as info:
                uow.audience.segment_count(segment)
            assert info.value.seconds == 0.3 and "0.3 s" in info.value.message
            # Only the stopped statement was undone: the same transaction still reads, writes and commits.
            uow.session.add(SubscriberList(owner_user_id=owner_id, name="Written after", created_at=uow.clock()))
            uow.commit()
    with engine.uow() as uow:
        names = set(uow.session.scalars(select(SubscriberList.name)))
        assert {"Written before", "Written after"} <= names
        # Without the stall the same count answers (c1, c10-c19, c100-c199).
        assert uow.audience.segment_count(uow.session.get(Segment, audience.segment_id)) == 111


def test_the_limit_ends_with_its_block(engine, backend, owner_id, monkeypatch):
    """Nothing of the limit stays on the connection: later statements of the transaction, and of the
    next transaction on the same pooled connection, run without it."""
    audience = make_stalled_audience(engine, owner_id)
    timer = FakeTimer()
    monkeypatch.setattr(engine, "timer", timer)
    with engine.uow() as uow:
        segment = uow.session.get(Segment, audience.segment_id)
        before = _server_limit(uow, backend)
        assert uow.audience.segment_count(segment) == 111
        assert _server_limit(uow, backend) == before
        timer.now += 10_000  # far past any deadline: a progress handler left behind would now abort
        assert count_field_values(uow) == STALLED_ROWS
    with engine.uow() as uow:
        assert _server_limit(uow, backend) == before
        assert count_field_values(uow) == STALLED_ROWS


def test_the_limit_is_set_inside_the_block(engine, backend, owner_id):
    if backend == "sqlite":
        pytest.skip("SQLite has no statement limit setting; its progress handler is covered above")
    seen = {}
    with engine.uow() as uow:
        with uow.audience.time_limit(2.5):
            if backend == "postgresql":
                seen["limit"] = uow.session.scalar(text("SELECT current_setting('statement_timeout')"))
            else:
                # SET STATEMENT applies to the one statement it prefixes, which then sees it.
                seen["limit"] = uow.session.scalar(text("SELECT @@max_statement_time"))
    assert seen["limit"] in ("2500ms", "2500", "2.5s") or float(seen["limit"]) == 2.5


def test_other_database_errors_pass_through(engine, backend, owner_id):
    with engine.uow() as uow:
        with pytest.raises(Exception) as info:
            with uow.audience.time_limit():
                uow.session.execute(text("SELECT no_such_column FROM subscriber_lists"))
        assert not isinstance(info.value, AudienceQueryTimeout)
        uow.rollback()
        assert count_lists(uow) == 0


def _server_limit(uow, backend: str):
    if backend == "postgresql":
        return uow.session.scalar(text("SELECT current_setting('statement_timeout')"))
    if backend == "mariadb":
        return float(uow.session.scalar(text("SELECT @@SESSION.max_statement_time")))
    return None


def test_the_limits_come_from_the_environment(monkeypatch, tmp_path):
    from engine.config import Settings

    monkeypatch.setenv("SENDMILL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SENDMILL_AUDIENCE_QUERY_TIMEOUT", raising=False)
    monkeypatch.delenv("SENDMILL_TICK_AUDIENCE_QUERY_TIMEOUT", raising=False)
    settings = Settings.from_env()
    assert (settings.audience_query_timeout, settings.tick_audience_query_timeout) == (5.0, 120.0)
    monkeypatch.setenv("SENDMILL_AUDIENCE_QUERY_TIMEOUT", "2.5")
    monkeypatch.setenv("SENDMILL_TICK_AUDIENCE_QUERY_TIMEOUT", "600")
    settings = Settings.from_env()
    assert (settings.audience_query_timeout, settings.tick_audience_query_timeout) == (2.5, 600.0)
    for bad in ("0", "-1", "soon", "nan", "inf"):
        monkeypatch.setenv("SENDMILL_AUDIENCE_QUERY_TIMEOUT", bad)
        with pytest.raises(ValueError, match="SENDMILL_AUDIENCE_QUERY_TIMEOUT"):
            Settings.from_env()
