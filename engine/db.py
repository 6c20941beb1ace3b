"""Database plumbing shared by every model and service: metadata, portable types, engines."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, String, Table, create_engine, event
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names: Alembic needs them to drop constraints portably and
# schema.sql stays byte-stable between runs.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if table is not None:
            never_reuse_ids(table)


def surrogate_key(table: Table) -> bool:
    """Whether the table's primary key is one integer column the database numbers (not a foreign key)."""
    columns = list(table.primary_key.columns)
    return (len(columns) == 1 and isinstance(columns[0].type, Integer) and not columns[0].foreign_keys
            and columns[0].autoincrement in (True, "auto"))


def never_reuse_ids(table: Table) -> None:
    """Number the table's rows with SQLite's AUTOINCREMENT: without it SQLite hands the id of a deleted
    newest row to the next insert, and a link or a stale reference made for the deleted row then names
    somebody else's (README "Security"). PostgreSQL sequences and MariaDB's persistent InnoDB counters
    never go back, so only SQLite needs telling; every model with a surrogate key gets it here."""
    if surrogate_key(table):
        table.dialect_kwargs["sqlite_autoincrement"] = True


class UTCDateTime(TypeDecorator):
    """Stores UTC instants in a plain DATETIME on all three databases.

    Naive datetimes are refused on bind: a naive value is a bug waiting for a DST change.
    MariaDB gets microsecond precision, which its DATETIME drops by default.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects.mysql import DATETIME

            return dialect.type_descriptor(DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


# High-volume tables want 64-bit keys, but only INTEGER PRIMARY KEY autoincrements on SQLite.
BigIntPK = BigInteger().with_variant(Integer, "sqlite")


def Str(length: int = 255) -> String:
    """A VARCHAR with the length MariaDB requires."""
    return String(length)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def make_sa_engine(url: str, **kwargs) -> SAEngine:
    """Create a SQLAlchemy engine with the per-dialect settings Sendmill relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return _track_writes(engine)
    if url.startswith(("mysql", "mariadb")):
        if "charset=" not in url:
            url += ("&" if "?" in url else "?") + "charset=utf8mb4"
        # READ COMMITTED, as PostgreSQL's default: every statement sees what others committed, and InnoDB
        # takes no gap locks on plain updates (REPEATABLE READ's gap locks made concurrent delivery workers
        # deadlock on the ledger's secondary index).
        kwargs.setdefault("isolation_level", "READ COMMITTED")
        return _track_writes(create_engine(url, pool_pre_ping=True, **kwargs))
    # PostgreSQL: no pre-ping on every checkout (with psycopg it was BEGIN and SELECT 1, two of a
    # Campaign.Get's seven round trips), only on a connection that idled in the pool (_ping_idle). A
    # connection the server dropped sooner is found by the first statement of the next call instead, which
    # SQLAlchemy then invalidates with the rest of the pool (engine/hot_sql.py does the same for its reads),
    # and protocol/dispatch.py runs that call again once, on a new connection.
    return _ping_idle(_track_writes(create_engine(url, **kwargs)))


_WROTE = "sendmill_wrote"
# Statements that change nothing a commit would keep; anything else counts as a write.
_READING = ("SELECT", "BEGIN")


# A SELECT that needs a transaction around it: a row lock, or a setting made for the transaction
# (engine/audience/time_limit.py sets statement_timeout with set_config(…, is_local => true)).
_TRANSACTIONAL_SELECT = ("FOR UPDATE", "FOR SHARE", "FOR NO KEY UPDATE", "FOR KEY SHARE", "set_config(")


def _track_writes(engine: SAEngine) -> SAEngine:
    """Note on each connection whether its transaction has sent anything but reads, so a unit of work
    that wrote nothing can end without a commit (UnitOfWork.finish); and start the transaction of a
    unit that began reading in autocommit (begin_autocommit_reads) before it writes or locks anything."""
    @event.listens_for(engine, "begin")
    def _reset(conn):
        conn.info[_WROTE] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _note(conn, cursor, statement, parameters, context, executemany):
        reading = statement.lstrip()[:6].upper().startswith(_READING)
        if not reading:
            conn.info[_WROTE] = True
        if conn.info.get(_AUTOCOMMITTING) and not (reading and not any(
                marker in statement for marker in _TRANSACTIONAL_SELECT)):
            _start_transaction(conn)

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn, record):
        if record is not None:
            record.info.pop(_AUTOCOMMITTING, None)

    return engine


# Execution option of a PostgreSQL unit that will only read (UnitOfWork.read_only): each statement runs in
# autocommit, one round trip, with no BEGIN and no ROLLBACK round trips around them. Nothing a read sees
# changes: under READ COMMITTED, PostgreSQL's default and Sendmill's, every statement of a transaction takes
# a new snapshot anyway, so the reads of one call were never one snapshot; and a plain read takes no lock a
# transaction would hold. What does need a transaction is kept one: the first statement that writes, locks
# rows or makes a transaction-local setting starts it (psycopg sends BEGIN before it), so that the rest of
# the call commits or rolls back as a whole as before, from that statement on.
_AUTOCOMMITTING = "sendmill_autocommitting"


def autocommit_reads(engine: SAEngine) -> bool:
    """Whether read-only units of this engine read in autocommit (PostgreSQL through psycopg)."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


def begin_autocommit_reads(conn) -> None:
    """Called with the unit's connection (isolation level AUTOCOMMIT already set) before its first statement."""
    conn.info[_AUTOCOMMITTING] = True


def _start_transaction(conn) -> None:
    conn.info[_AUTOCOMMITTING] = False
    # psycopg allows this between statements: the connection is idle in autocommit. SQLAlchemy still
    # believes it autocommits, but it calls the driver's commit() and rollback() all the same, which now
    # end the transaction; the pool resets autocommit when the connection comes back.
    conn.connection.driver_connection.autocommit = False


# A connection back from the pool after idling this long is pinged before use: firewalls, poolers and
# idle_session_timeout drop idle connections, and a busy server's connections never idle this long.
PING_AFTER_IDLE_SECONDS = 10.0
_CHECKED_IN_AT = "sendmill_checked_in_at"


def _ping_idle(engine: SAEngine) -> SAEngine:
    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn, record):
        if record is not None:
            record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, proxy):
        idle_since = record.info.get(_CHECKED_IN_AT)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:   # one round trip: in autocommit, no BEGIN (the connection is idle, so this may be switched)
            dbapi_conn.autocommit = True
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_conn.autocommit = False
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and every other one opened before now (a dropped connection
            # usually means a restarted server), and checks out or opens another.
            dropped = DisconnectionError(str(exc))
            dropped.invalidate_pool = True
            raise dropped from exc

    return engine


def dropped_connection(exc: BaseException) -> bool:
    """Whether a statement failed because the database connection was lost (SQLAlchemy invalidated it)."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def wrote_since_begin(conn) -> bool:
    """Whether the connection's transaction may have written (True when the engine does not track it)."""
    return conn.info.get(_WROTE, True)


# Server answers that mean "another transaction got in the way; run yours again": PostgreSQL's
# serialization failure and deadlock, MariaDB's deadlock and lock wait timeout.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}
_RETRYABLE_MYSQL_CODES = {1205, 1213}


def is_transient_conflict(exc: BaseException) -> bool:
    """Whether a failed statement may simply be retried in a new transaction."""
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    if getattr(orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    args = getattr(orig, "args", ())
    return bool(args) and args[0] in _RETRYABLE_MYSQL_CODES


# Execution option for a transaction that will only read: `session.connection(execution_options={READ_ONLY:
# True})` as its first statement. On SQLite it then starts deferred; the servers ignore it.
READ_ONLY = "sendmill_read_only"


def _configure_sqlite(engine: SAEngine) -> None:
    # SQLAlchemy's documented pysqlite recipe: let SQLAlchemy emit BEGIN itself so that
    # transactions and SAVEPOINTs behave as on the server databases.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # IMMEDIATE takes the write lock up front, so two writers queue instead of one of
        # them failing with "database is locked" half-way through a transaction. A transaction
        # that only reads may say so (READ_ONLY) and then neither waits for nor holds up a writer.
        if conn.get_execution_options().get(READ_ONLY):
            # Straight to the driver: a deferred BEGIN takes no lock and cannot wait or fail, and SQLAlchemy's
            # execution around it cost more than a read-only call's statements (README "Performance").
            conn.connection.driver_connection.execute("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: SAEngine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)
