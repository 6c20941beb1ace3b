"""One suite, three databases.

Every test that asks for `engine` (directly or through `client`) runs once per backend:
SQLite (always), PostgreSQL and MariaDB (when reachable; skipped locally when not, an error
under CI=true). `--db=sqlite,postgresql` narrows the set. Each pytest run creates its own
scratch databases, so parallel runs never share state.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, event, exists, literal, select, text, union_all

from engine import bootstrap
from engine.config import Settings
from engine.db import Base, make_sa_engine
import engine.models  # noqa: F401 - registers every table

BACKENDS = ("sqlite", "postgresql", "mariadb")
SERVER_URLS = {
    "postgresql": os.environ.get("SENDMILL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "mariadb": os.environ.get("SENDMILL_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
RUN_ID = uuid.uuid4().hex[:8]
# From domains the test installation allows (SENDMILL_ALLOWED_SENDER_DOMAINS for subprocesses).
TEST_SENDER_DOMAINS = ("example.com", "sender.example", "garden.example", "shop.example")
SENDER_DOMAINS_ENV = {"SENDMILL_ALLOWED_SENDER_DOMAINS": ",".join(TEST_SENDER_DOMAINS)}

# Property tests draw new examples on every local run (that is how they find bugs); under CI=true
# they draw the same ones every time, so a CI run's verdict is about the change, not the draw.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")


def pytest_addoption(parser):
    parser.addoption("--db", default=",".join(BACKENDS), help="comma list of backends to run on")
    parser.addoption("--update-reference", action="store_true",
                     help="record the command reference's examples again and rewrite docs/commands.md (tests/reference)")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        chosen = [b.strip() for b in metafunc.config.getoption("--db").split(",") if b.strip()]
        metafunc.parametrize("backend", chosen, scope="session")


class FakeClock:
    """An injected clock: tests move time instead of sleeping."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


def _scratch_database(backend: str, tmp_path_factory) -> tuple[str, callable]:
    """Create a database for this run; return its URL and a function that drops it."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "sendmill.db"
        return f"sqlite:///{path}", lambda: None
    server = SERVER_URLS[backend]
    name = f"sendmill_t_{RUN_ID}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text(f"CREATE DATABASE {name}"))
            if backend == "postgresql":
                # A scratch database: a commit need not wait for the WAL flush (a killed client still
                # loses nothing it committed; only a crash of this machine would).
                conn.execute(text(f"ALTER DATABASE {name} SET synchronous_commit TO off"))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "server absent"
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"{backend} is required in CI but unreachable: {exc}")
        pytest.skip(f"{backend} not reachable: {exc.__class__.__name__}")
    url = server.rsplit("/", 1)[0] + "/" + name

    def drop():
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(
                    f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
                    "AND pid <> pg_backend_pid()"))
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()

    return url, drop


def _cheap_commits_on_mariadb():
    """Commits that skip the disk flush: the suite commits tens of thousands of times, and durability
    against a power cut is not what it tests (a killed process still loses nothing committed). Returns
    what puts the server's setting back."""
    server = create_engine(SERVER_URLS["mariadb"], isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        original = conn.execute(text("SELECT @@GLOBAL.innodb_flush_log_at_trx_commit")).scalar()
        conn.execute(text("SET GLOBAL innodb_flush_log_at_trx_commit = 2"))

    def restore():
        with server.connect() as conn:
            conn.execute(text("SET GLOBAL innodb_flush_log_at_trx_commit = :value"), {"value": int(original)})
        server.dispose()
    return restore


def _no_sqlite_sync(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


class _Databases:
    """One scratch database and engine per backend for the whole run, made when first asked for and
    dropped at its end. Not a parametrized session fixture: pytest would drop and rebuild one every time
    the order of the tests switches backends (a module run whole by one xdist worker switches three times)."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.made: dict[str, tuple] = {}
        self.cleanups: list = []

    def get(self, backend: str) -> tuple[str, object]:
        if backend not in self.made:
            try:
                url, drop = _scratch_database(backend, self.tmp_path_factory)
            except BaseException as exc:   # skipped or failed: every test of the backend says the same
                self.made[backend] = ("refused", exc)
                raise
            self.cleanups.append(drop)
            if backend == "mariadb":
                self.cleanups.append(_cheap_commits_on_mariadb())
            engine = make_sa_engine(url)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _no_sqlite_sync)
            Base.metadata.create_all(engine)
            self.cleanups.append(engine.dispose)
            self.made[backend] = (url, engine)
        made = self.made[backend]
        if made[0] == "refused":
            raise made[1]
        return made

    def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            cleanup()


@pytest.fixture(scope="session")
def _databases(tmp_path_factory):
    databases = _Databases(tmp_path_factory)
    yield databases
    databases.close()


@pytest.fixture
def database_url(backend, _databases):
    return _databases.get(backend)[0]


@pytest.fixture
def sa_engine(backend, _databases):
    return _databases.get(backend)[1]


_CHILDREN_FIRST = tuple(reversed(Base.metadata.sorted_tables))
# One round trip names the tables that hold rows: a test touches a handful of the ~50 tables, and a DELETE
# per empty table cost 30-100 ms per test (most of the suite's time on PostgreSQL and MariaDB).
_TABLES_WITH_ROWS = union_all(*(select(literal(position)).where(exists().select_from(table))
                                for position, table in enumerate(_CHILDREN_FIRST)))


def wipe(sa_engine) -> None:
    """Delete every row, children first (Mailman's reset): real commits stay real in tests."""
    with sa_engine.begin() as conn:
        for position in sorted(conn.execute(_TABLES_WITH_ROWS).scalars()):
            conn.execute(_CHILDREN_FIRST[position].delete())


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing():
    """Still argon2, but with minimal cost parameters: the suite logs in thousands of times."""
    from argon2 import PasswordHasher

    import engine.accounts.passwords

    original = engine.accounts.passwords._hasher
    engine.accounts.passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    engine.accounts.passwords._hasher = original


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def engine(sa_engine, database_url, clock):
    wipe(sa_engine)
    # The From policy stays on: the fixtures' accounts (…@example.com), emails (…@sender.example) and lists
    # (…@garden.example) may send from those domains, as an administrator would allow them; the policy's
    # own tests use others.
    settings = Settings(database_url=database_url, secret_key="test-secret", base_url="http://sendmill.test",
                        allowed_sender_domains=TEST_SENDER_DOMAINS)
    return bootstrap(settings, db=sa_engine, clock=clock)


@pytest.fixture(scope="session")
def _shared_app():
    """One Flask app for the whole run (building one compiles every route); each test points it at
    its own engine through protocol.app.use_engine."""
    return {}


@pytest.fixture
def app(engine, _shared_app):
    from protocol.app import create_app, use_engine

    if "app" not in _shared_app:
        _shared_app["app"] = create_app(engine)
        _shared_app["app"].config["TESTING"] = True
    app = _shared_app["app"]
    use_engine(app, engine)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client):
    """Call /api.php with form parameters and return the decoded JSON answer."""
    from tests.helpers import ApiCaller

    return ApiCaller(client)


@pytest.fixture
def list_id(engine, user):
    """A subscriber list of the `user` fixture."""
    from tests.builders import make_list

    return make_list(engine, user)


@pytest.fixture
def rest(client):
    """Call the REST surface: `rest.get(path, credential)`, `rest.post(path, credential, json={...})`."""
    from tests.helpers import RestCaller

    return RestCaller(client)


@pytest.fixture
def admin(engine, api):
    """An administrator, logged in: `admin.session` is its SessionID."""
    from tests.helpers import make_admin

    return make_admin(engine, api)


@pytest.fixture
def user(engine, api):
    """A user in the default all-permissions group, logged in (`user.session`)."""
    from tests.helpers import make_user

    return make_user(engine, api, "alice")


@pytest.fixture
def other_user(engine, api):
    from tests.helpers import make_user

    return make_user(engine, api, "mallory")
