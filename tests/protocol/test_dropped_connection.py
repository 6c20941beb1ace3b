"""A connection the database dropped, and reads in autocommit (README "Performance").

The pool no longer pings every connection it hands out (engine/db.py): only one that idled. A call whose
first statement meets a dropped connection runs again once on a new one (protocol/dispatch.py), so killing
the server's backends between two calls costs nobody an answer. Read-only commands on PostgreSQL read in
autocommit, and a write in one of them still commits or rolls back as a whole."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import create_engine, func, select, text, update

from engine import db as db_module
from engine.models import Campaign

RETRIED = "the database connection was dropped"


@pytest.fixture
def postgresql(backend, sa_engine):
    if backend != "postgresql":
        pytest.skip("kills PostgreSQL backends")
    yield
    sa_engine.dispose()   # the next test starts with new connections, whatever this one left in the pool


def kill_other_backends(database_url) -> int:
    """Terminate every other connection to the test's database, as a server restart or an idle timeout would."""
    killer = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with killer.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all())
    finally:
        killer.dispose()


def campaigns(engine):
    with engine.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Campaign))


def test_a_read_after_the_server_killed_the_pooled_connections_still_succeeds(
        postgresql, api, user, engine, database_url, caplog):
    campaign = api("Campaign.Create", user.session, CampaignName="Spring")["CampaignID"]
    assert api("Campaign.Get", user.session, CampaignID=campaign)["Success"] is True
    assert kill_other_backends(database_url) >= 1
    with caplog.at_level(logging.WARNING, logger="sendmill.api"):
        answer = api("Campaign.Get", user.session, CampaignID=campaign)
    assert answer["Success"] is True and answer["Campaign"]["CampaignName"] == "Spring"
    assert RETRIED in caplog.text   # the call met the dropped connection and was run again
    assert api("Campaign.Get", user.session, CampaignID=campaign)["Success"] is True


def test_a_write_after_the_server_killed_the_pooled_connections_is_made_once(
        postgresql, api, user, engine, database_url, caplog):
    api("Campaign.Create", user.session, CampaignName="Spring")
    kill_other_backends(database_url)
    with caplog.at_level(logging.WARNING, logger="sendmill.api"):
        answer = api("Campaign.Create", user.session, CampaignName="Summer")
    assert answer["Success"] is True
    assert RETRIED in caplog.text
    assert campaigns(engine) == 2


def test_a_connection_that_idled_is_pinged_and_replaced_before_use(
        postgresql, api, user, engine, database_url, caplog, monkeypatch):
    campaign = api("Campaign.Create", user.session, CampaignName="Spring")["CampaignID"]
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    kill_other_backends(database_url)
    invalidated_before = engine.db.pool._invalidate_time
    with caplog.at_level(logging.WARNING, logger="sendmill.api"):
        answer = api("Campaign.Get", user.session, CampaignID=campaign)
    assert answer["Success"] is True
    assert RETRIED not in caplog.text   # the pool found the dead connection itself
    # and recycles every connection opened before (a dropped connection usually means a restarted server)
    assert engine.db.pool._invalidate_time > invalidated_before
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 10.0)
    assert api("Campaign.Get", user.session, CampaignID=campaign)["Success"] is True   # and dropped the others
    assert RETRIED not in caplog.text


class Statements:
    """The statements and transaction commands the driver sends (psycopg), first words only."""

    def __init__(self, monkeypatch):
        import psycopg
        from psycopg.connection import BaseConnection

        self.seen: list[str] = []
        execute, command = psycopg.Cursor.execute, BaseConnection._exec_command

        def counted_execute(cursor, query, params=None, **kwargs):
            self.seen.append(str(query).split()[0].upper())
            return execute(cursor, query, params, **kwargs)

        def counted_command(conn, sql, *args, **kwargs):
            self.seen.append((sql.decode() if isinstance(sql, bytes) else str(sql)).split()[0].upper())
            return (yield from command(conn, sql, *args, **kwargs))

        monkeypatch.setattr(psycopg.Cursor, "execute", counted_execute)
        monkeypatch.setattr(BaseConnection, "_exec_command", counted_command)


def test_a_read_only_command_reads_in_autocommit_on_postgresql(postgresql, api, user, engine, monkeypatch):
    campaign = api("Campaign.Create", user.session, CampaignName="Spring")["CampaignID"]
    api("Campaign.Get", user.session, CampaignID=campaign)   # the session's use is written: not due again
    statements = Statements(monkeypatch)
    assert api("Campaign.Get", user.session, CampaignID=campaign)["Success"] is True
    assert statements.seen and set(statements.seen) == {"SELECT"}, statements.seen


def names(engine):
    with engine.uow() as uow:
        return uow.session.scalars(select(Campaign.name)).all()


def test_a_read_only_unit_that_writes_commits_its_writes_in_one_transaction(
        postgresql, api, user, engine, monkeypatch):
    api("Campaign.Create", user.session, CampaignName="Spring")
    statements = Statements(monkeypatch)
    with engine.uow() as uow:
        uow.read_only()
        assert uow.session.scalar(select(Campaign.name)) == "Spring"
        uow.session.execute(update(Campaign).values(name="Summer"))
        uow.session.execute(update(Campaign).values(status_reason="renamed"))
        uow.finish()
    # A statement is noted when the cursor is asked to run it, before psycopg sends the BEGIN it needs first.
    assert statements.seen == ["SELECT", "UPDATE", "BEGIN", "UPDATE", "COMMIT"], statements.seen
    assert names(engine) == ["Summer"]


def test_a_read_only_unit_that_fails_after_writing_leaves_nothing_written(postgresql, api, user, engine):
    api("Campaign.Create", user.session, CampaignName="Spring")
    with pytest.raises(RuntimeError), engine.uow() as uow:
        uow.read_only()
        uow.session.execute(update(Campaign).values(name="Summer"))
        raise RuntimeError("the command failed half-way")
    assert names(engine) == ["Spring"]


def test_a_locking_read_in_autocommit_starts_the_transaction_first(postgresql, engine):
    with engine.uow() as uow:
        uow.read_only()
        conn = uow.session.connection()
        assert conn.connection.driver_connection.autocommit is True
        uow.session.execute(select(Campaign.id).with_for_update())
        assert conn.connection.driver_connection.autocommit is False
        assert conn.connection.driver_connection.info.transaction_status.name == "INTRANS"
    with engine.db.connect() as conn:   # back in the pool: the next unit starts as the engine's default
        assert conn.connection.driver_connection.autocommit is False
