"""One installation, one database: opening it with clear answers, and the signing key it keeps.

Every process that reaches the database (web app, tick, worker, inbound, bounce) signs and verifies
links with the key `sendmill init-db` stored there, so a process started from another directory or
host never invents a key of its own: the links it mails stay valid for the others. Whatever keeps a
process from using the database (a bad URL, a missing driver, a server that refuses, a schema never
created) becomes one `SetupError` line that says what to do, never a traceback.
"""
from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Iterable

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from engine.db import make_sa_engine, utcnow
from engine.models.installation import InstallationSecret

SIGNING_KEY = "signing_key"
URL_FORMS = ("sqlite:////absolute/path/sendmill.db, postgresql+psycopg://USER:PASSWORD@HOST/DATABASE "
             "or mysql+pymysql://USER:PASSWORD@HOST/DATABASE (MariaDB, MySQL)")
INIT_DB = "run `sendmill init-db`"
# What the servers answer for a table or column the schema does not have yet: an older schema.
_UNDEFINED_SQLSTATES = {"42P01", "42703"}
_UNDEFINED_MYSQL_CODES = {1146, 1054}
_UNKNOWN_DATABASE_MYSQL_CODE = 1049


class SetupError(Exception):
    """The installation cannot run as configured; the message (one line) says what to do."""

    @property
    def message(self) -> str:
        return str(self.args[0])


def shown_url(url: str) -> str:
    """The URL as it may be printed: the password hidden (or the text cut short when it is no URL)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"(//[^/@:]*:)[^@/]*@", r"\1***@", url)[:80]


def open_database(url: str, *, creating: bool = False) -> SAEngine:
    """A SQLAlchemy engine for `url`, checked to be usable (SetupError otherwise).

    Without `creating`, a SQLite file that does not exist is an error rather than a new empty
    database: only `init-db` makes one."""
    try:
        parsed = make_url(url)
        sqlite_path = _sqlite_file(parsed)
        if sqlite_path is not None:
            if creating:
                sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            elif not sqlite_path.exists():
                raise SetupError(f"there is no database at {sqlite_path}: {INIT_DB} to create it "
                                 "(or point SENDMILL_DATABASE_URL or SENDMILL_DATA_DIR at the existing one)")
        db = make_sa_engine(url)
        with db.connect():
            pass
        return db
    except SetupError:
        raise
    except (SQLAlchemyError, ImportError) as exc:
        raise SetupError(explain(exc, url)) from exc


def stored_signing_key(db: SAEngine) -> str | None:
    """The key init-db stored; SetupError when the schema was never created (or predates the key)."""
    try:
        with db.connect() as conn:
            if not inspect(conn).has_table(InstallationSecret.__tablename__):
                raise SetupError(f"the database {shown_url(_url(db))} is not initialised (or its schema is older "
                                 f"than this Sendmill): {INIT_DB}")
            return conn.scalar(select(InstallationSecret.value).where(InstallationSecret.name == SIGNING_KEY))
    except SQLAlchemyError as exc:
        raise SetupError(explain(exc, _url(db))) from exc


def signing_key(db: SAEngine) -> str:
    """The installation's key; never a new one: SetupError when init-db has not stored it yet."""
    key = stored_signing_key(db)
    if not key:
        raise SetupError(f"the database {shown_url(_url(db))} holds no signing key yet: {INIT_DB}")
    return key


def ensure_signing_key(db: SAEngine, candidates: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """The stored key, else the first candidate (origin, key), else a new one; (key, where it came from).

    Insert-if-absent on the primary key: two init-db's racing both end up with the one that won."""
    existing = stored_signing_key(db)
    if existing:
        return existing, "kept"
    origin, key = next(((o, k) for o, k in candidates if k), ("generated", secrets.token_urlsafe(48)))
    try:
        with db.begin() as conn:
            conn.execute(InstallationSecret.__table__.insert().values(name=SIGNING_KEY, value=key,
                                                                     created_at=utcnow()))
    except IntegrityError:
        return signing_key(db), "kept"      # another init-db stored one first: everybody uses that
    return key, origin


def legacy_key_files(*folders: Path) -> list[tuple[str, str]]:
    """(origin, key) of the `secret.key` files earlier versions generated into their data folder."""
    found = []
    for folder in folders:
        path = folder / "secret.key"
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if key:
            found.append((f"imported from {path}", key))
    return found


def explain(exc: BaseException, url: str) -> str:
    """One line for an operator: what went wrong reaching the database, and what to do."""
    shown = shown_url(url) if url else "(SENDMILL_DATABASE_URL)"
    if isinstance(exc, ArgumentError) and not isinstance(exc, NoSuchModuleError):
        return f"SENDMILL_DATABASE_URL {shown!r} is not a database URL: use {URL_FORMS}"
    scheme = url.split("://", 1)[0] if "://" in url else url
    if isinstance(exc, NoSuchModuleError):
        return f"SENDMILL_DATABASE_URL names an unknown database or driver ({scheme}://): use {URL_FORMS}"
    if isinstance(exc, ImportError):
        missing = getattr(exc, "name", None) or str(exc)
        return (f"the database driver for {scheme}:// is not installed (no module {missing}): "
                f"use mysql+pymysql:// for MariaDB and MySQL, postgresql+psycopg:// for PostgreSQL "
                f"(both come with Sendmill)")
    detail = _one_line(getattr(exc, "orig", None) or exc)
    if is_undefined_object(exc):
        return f"the database {shown} lacks tables or columns this Sendmill needs ({detail}): {INIT_DB}"
    if isinstance(exc, DBAPIError) and url and _is_unknown_database(exc, detail):
        name = make_url(url).database
        return (f"the database {name!r} does not exist on the server of {shown}: create it "
                f"(e.g. CREATE DATABASE {name}), then {INIT_DB}")
    return f"cannot use the database {shown}: {detail}; check SENDMILL_DATABASE_URL and that the server is up"


def is_undefined_object(exc: BaseException) -> bool:
    """Whether the server said a table or column is missing: the schema is older than the code."""
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    if getattr(orig, "sqlstate", None) in _UNDEFINED_SQLSTATES:
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in _UNDEFINED_MYSQL_CODES:
        return True
    return bool(re.match(r"no such (table|column)", str(orig)))     # SQLite


def _is_unknown_database(exc: DBAPIError, detail: str) -> bool:
    args = getattr(exc.orig, "args", ())
    if args and args[0] == _UNKNOWN_DATABASE_MYSQL_CODE:
        return True
    return bool(re.search(r'database "[^"]*" does not exist', detail))    # PostgreSQL


def _one_line(error: BaseException) -> str:
    """The driver's message on one line (PostgreSQL's spans several, with hints and a caret)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " ".join(lines)[:300] or error.__class__.__name__


def _sqlite_file(url) -> Path | None:
    if not url.drivername.startswith("sqlite"):
        return None
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _url(db: SAEngine) -> str:
    return db.url.render_as_string(hide_password=False)
