"""A time limit for audience statements, on every backend (README, "Audience query limits").

Counting a segment, previewing or writing a campaign's audience runs criteria chosen by a user
(regular expressions included) over every subscriber of a list. However cheap each pattern is
(engine/audience/regex.py), enough rows make a statement slow, and a slow statement must neither
hang a request nor hold up the tick. So the statements run under a limit:

* PostgreSQL: `statement_timeout`, set with `set_config(…, is_local => true)` and put back after;
  every statement inside gets the full limit.
* MariaDB: each statement is sent as `SET STATEMENT max_statement_time=N FOR …`, so the limit can
  never stay behind on a pooled connection; every statement gets the full limit.
* SQLite: a progress handler on the raw connection aborts once the deadline has passed; the block
  as a whole gets the limit. Its clock is the engine's injectable `timer`. A function call cannot
  be interrupted, which is why `sendmill_regexp` uses RE2 (bounded per call).

The block runs in a SAVEPOINT: a stopped statement is rolled back alone and the transaction can
go on (PostgreSQL would refuse every later statement of it otherwise). Being stopped raises
AudienceQueryTimeout; any other database error passes through unchanged.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from engine.errors import AudienceQueryTimeout

# SQLite calls the progress handler every this many virtual-machine instructions (~ microseconds).
PROGRESS_STEPS = 1000
# How the servers say "stopped by the limit": PostgreSQL's query_canceled, MariaDB's
# ER_STATEMENT_TIMEOUT (1969) and MySQL's ER_QUERY_TIMEOUT (3024).
_PG_CANCELED = "57014"
_MYSQL_TIMEOUT_CODES = (1969, 3024)


@contextmanager
def time_limited(session, seconds: float, timer: Callable[[], float]) -> Iterator[None]:
    """Run the statements of the block under a limit of `seconds`; AudienceQueryTimeout when exceeded."""
    dialect = session.get_bind().dialect.name
    limiter = {"postgresql": _postgresql, "sqlite": _sqlite}.get(dialect, _mariadb)
    stopped = _Stopped()
    try:
        with session.begin_nested():
            with limiter(session, seconds, timer, stopped):
                yield
    except DBAPIError as exc:
        if stopped.by_handler or _stopped_by_server(exc):
            raise AudienceQueryTimeout(seconds) from None
        raise


class _Stopped:
    by_handler = False


@contextmanager
def _postgresql(session, seconds: float, _timer, _stopped) -> Iterator[None]:
    previous = session.scalar(text("SELECT current_setting('statement_timeout')"))
    _set_pg_timeout(session, str(max(1, round(seconds * 1000))))
    yield
    # Only reached without an error; after one, rolling back to the savepoint undoes the setting.
    _set_pg_timeout(session, previous)


def _set_pg_timeout(session, value: str) -> None:
    session.execute(text("SELECT set_config('statement_timeout', :value, true)"), {"value": value})


@contextmanager
def _mariadb(session, seconds: float, _timer, _stopped) -> Iterator[None]:
    connection = session.connection()
    # A number Sendmill formats itself, never caller input: safe to write into the statement.
    prefix = f"SET STATEMENT max_statement_time={max(seconds, 0.001):.3f} FOR "

    def limit(_conn, _cursor, statement, parameters, _context, _executemany):
        return prefix + statement, parameters

    event.listen(connection, "before_cursor_execute", limit, retval=True)
    try:
        yield
    finally:
        event.remove(connection, "before_cursor_execute", limit)


@contextmanager
def _sqlite(session, seconds: float, timer: Callable[[], float], stopped: _Stopped) -> Iterator[None]:
    raw = session.connection().connection.dbapi_connection
    deadline = timer() + seconds

    def check() -> int:
        if timer() >= deadline:
            stopped.by_handler = True
            return 1  # non-zero: SQLite abandons the statement ("interrupted")
        return 0

    raw.set_progress_handler(check, PROGRESS_STEPS)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)


def _stopped_by_server(exc: BaseException | None) -> bool:
    # The savepoint's rollback may raise in turn; the server's answer is then in the context chain.
    while exc is not None:
        orig = getattr(exc, "orig", None)
        if getattr(orig, "sqlstate", None) == _PG_CANCELED:
            return True
        args = getattr(orig, "args", ())
        if args and args[0] in _MYSQL_TIMEOUT_CODES:
            return True
        exc = exc.__context__
    return False
