"""SQL building blocks that behave the same on SQLite, PostgreSQL and MariaDB.

Case-insensitive text comparison (Part 1 §16) is "fold both sides, then compare exactly":

* PostgreSQL: `lower(x)`; `=` and `LIKE` are exact under the database's deterministic collation.
* MariaDB: `lower(x) COLLATE utf8mb4_nopad_bin`. The default utf8mb4_general_ci collation would
  also make `'e' = 'é'` and `'a' = 'a '` true, so the comparison is forced to exact code points.
* SQLite: its built-in `lower()` folds ASCII only, so `sendmill_lower(x)` (Python's `str.lower`)
  is registered on every connection the audience code uses, together with `sendmill_regexp`.

`sendmill_regexp` matches with RE2, not Python's `re`: RE2 never backtracks, so one call costs at
most (value length × pattern cost), where `re` needs minutes for `.*a.*b.*c` on a 1000-character
value. That matters beyond speed: SQLite cannot interrupt a function call, so the statement time
limit (engine/audience/time_limit.py) only holds if each call is short.

Registration happens through `prepare_connection(session)`, which the audience service calls
before it runs a query: it installs an engine "connect" listener (for connections opened later)
and registers the functions on the session's current connection (already pooled ones).
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Boolean, String, event
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

SQLITE_LOWER = "sendmill_lower"
SQLITE_REGEXP = "sendmill_regexp"
MARIADB_EXACT = "utf8mb4_nopad_bin"


class folded(FunctionElement):
    """`x` lower-cased for an exact comparison (see the module docstring)."""

    type = String()
    name = "folded"
    inherit_cache = True


@compiles(folded)
def _folded_default(element, compiler, **kw):
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(folded, "sqlite")
def _folded_sqlite(element, compiler, **kw):
    return f"{SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


@compiles(folded, "mysql")
@compiles(folded, "mariadb")
def _folded_mariadb(element, compiler, **kw):
    return f"(lower({compiler.process(element.clauses, **kw)}) COLLATE {MARIADB_EXACT})"


class datetime_text(FunctionElement):
    """A stored UTC instant as the text "YYYY-MM-DD HH:MM:SS" (NULL stays NULL), formatted by the database:
    exports write millions of them, and Python's strftime on each costs more than the query."""

    type = String()
    name = "datetime_text"
    inherit_cache = True


@compiles(datetime_text)
def _datetime_text_postgresql(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD HH24:MI:SS')"


@compiles(datetime_text, "mysql")
@compiles(datetime_text, "mariadb")
def _datetime_text_mariadb(element, compiler, **kw):
    return f"date_format({compiler.process(element.clauses, **kw)}, '%%Y-%%m-%%d %%H:%%i:%%s')"


@compiles(datetime_text, "sqlite")
def _datetime_text_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m-%d %H:%M:%S', {compiler.process(element.clauses, **kw)})"


# Report buckets as text, so that a GROUP BY on them is alike on every backend (UTC).
_BUCKETS = {"day": ("YYYY-MM-DD", "%Y-%m-%d", "%Y-%m-%d"), "hour": ("YYYY-MM-DD HH24", "%Y-%m-%d %H", "%Y-%m-%d %H"),
            "month": ("YYYY-MM", "%Y-%m", "%Y-%m")}


class time_bucket(FunctionElement):
    """The day ("YYYY-MM-DD"), hour ("YYYY-MM-DD HH") or month ("YYYY-MM") of a stored UTC instant, as text."""

    type = String()
    name = "time_bucket"
    inherit_cache = True
    # The unit is part of the statement's cache key: a day bucket and an hour bucket compile differently.
    _traverse_internals = FunctionElement._traverse_internals + [("unit", InternalTraversal.dp_string)]

    def __init__(self, column, unit: str):
        self.unit = unit
        super().__init__(column)


@compiles(time_bucket)
def _time_bucket_postgresql(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, '{_BUCKETS[element.unit][0]}')"


@compiles(time_bucket, "mysql")
@compiles(time_bucket, "mariadb")
def _time_bucket_mariadb(element, compiler, **kw):
    pattern = _BUCKETS[element.unit][1].replace("%H", "%%H").replace("%Y", "%%Y").replace("%m", "%%m").replace(
        "%d", "%%d")
    return f"date_format({compiler.process(element.clauses, **kw)}, '{pattern}')"


@compiles(time_bucket, "sqlite")
def _time_bucket_sqlite(element, compiler, **kw):
    return f"strftime('{_BUCKETS[element.unit][2]}', {compiler.process(element.clauses, **kw)})"


class email_domain(FunctionElement):
    """The part of an address after its last "@" (the addresses are stored normalized: lower-case domain)."""

    type = String()
    name = "email_domain"
    inherit_cache = True


@compiles(email_domain)
def _email_domain_postgresql(element, compiler, **kw):
    return f"substring({compiler.process(element.clauses, **kw)} from '@([^@]*)$')"


@compiles(email_domain, "mysql")
@compiles(email_domain, "mariadb")
def _email_domain_mariadb(element, compiler, **kw):
    return f"substring_index({compiler.process(element.clauses, **kw)}, '@', -1)"


@compiles(email_domain, "sqlite")
def _email_domain_sqlite(element, compiler, **kw):
    # Addresses hold one "@" once normalized (engine.validation.normalize_email), so the first is the last.
    column = compiler.process(element.clauses, **kw)
    return f"substr({column}, instr({column}, '@') + 1)"


class matches_regex(FunctionElement):
    """True when `value` matches `pattern` case-insensitively, `.` matching line breaks too."""

    type = Boolean()
    name = "matches_regex"
    inherit_cache = True


def _parts(element, compiler, **kw) -> tuple[str, str]:
    value, pattern = list(element.clauses)
    return compiler.process(value, **kw), compiler.process(pattern, **kw)


@compiles(matches_regex)
def _regex_postgresql(element, compiler, **kw):
    value, pattern = _parts(element, compiler, **kw)
    return f"({value} ~* {pattern})"


@compiles(matches_regex, "mysql")
@compiles(matches_regex, "mariadb")
def _regex_mariadb(element, compiler, **kw):
    value, pattern = _parts(element, compiler, **kw)
    return f"({value} REGEXP CONCAT('(?is)', {pattern}))"


@compiles(matches_regex, "sqlite")
def _regex_sqlite(element, compiler, **kw):
    value, pattern = _parts(element, compiler, **kw)
    return f"({SQLITE_REGEXP}({pattern}, {value}) = 1)"


# --- SQLite functions ---------------------------------------------------------------------
def _lower(value):
    return value.lower() if isinstance(value, str) else value


@lru_cache(maxsize=1)
def _re2():
    """RE2 and its options, loaded by the first SQLite regular expression: only SQLite calls back into
    Python for them, and RE2 is about 2 MB of a delivery worker's 80 MB budget (bench/memory.py)."""
    import re2

    options = re2.Options()
    options.case_sensitive = False
    options.dot_nl = True          # `.` matches a line break, as on PostgreSQL
    options.never_capture = True   # only yes/no is asked
    options.log_errors = False
    return re2, options


@lru_cache(maxsize=256)
def _compiled(pattern: str):
    re2, options = _re2()
    return re2.compile(pattern, options)


def _regexp(pattern, value):
    if pattern is None or value is None:
        return None
    try:
        return 1 if _compiled(pattern).search(value) else 0
    except _re2()[0].error:
        return 0  # validated patterns compile; anything else matches nothing


def register_sqlite_functions(dbapi_connection) -> None:
    dbapi_connection.create_function(SQLITE_LOWER, 1, _lower, deterministic=True)
    dbapi_connection.create_function(SQLITE_REGEXP, 2, _regexp, deterministic=True)


def _on_connect(dbapi_connection, _record) -> None:
    register_sqlite_functions(dbapi_connection)


def prepare_connection(session) -> None:
    """Make sure the session's database connection has the audience SQL functions."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return
    engine = getattr(bind, "engine", bind)
    if not event.contains(engine, "connect", _on_connect):
        event.listen(engine, "connect", _on_connect)
    register_sqlite_functions(session.connection().connection.dbapi_connection)
