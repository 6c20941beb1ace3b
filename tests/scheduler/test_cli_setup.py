"""Setting an installation up: one signing key in the database, one data folder whatever the directory,
one clear line (never a traceback) when the database cannot be used, a lost admin password reset, and
`sendmill --help` naming every variable the code reads."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.db import make_sa_engine
from engine.installation import SIGNING_KEY, ensure_signing_key, stored_signing_key
from engine.models import Admin, AuthSession
from engine.models.installation import InstallationSecret
from scheduler.cli import main
from tests.conftest import SERVER_URLS
from tests.installation_support import ROOT, assert_one_clear_line, fresh_database, process_env, sendmill


def key_files(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.rglob("secret.key"))


# --- one key per installation ---------------------------------------------------------------------------
def test_init_db_stores_one_key_that_every_process_reads_from_any_directory(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        env = process_env(tmp_path, SENDMILL_DATABASE_URL=url)
        before = sendmill("tick", cwd=tmp_path / "elsewhere", env=env)
        assert_one_clear_line(before, "run `sendmill init-db`")        # never initialised: no key made up

        first = sendmill("init-db", cwd=tmp_path / "srv", env=env)
        assert first.returncode == 0, first.stderr
        assert "signing key: generated, stored in the database" in first.stdout
        db = make_sa_engine(url)
        try:
            key = stored_signing_key(db)
            assert key and len(key) >= 64
            again = sendmill("init-db", cwd=tmp_path / "elsewhere", env=env)
            assert "signing key: already in the database" in again.stdout
            assert stored_signing_key(db) == key                        # a second init-db never replaces it

            # Another directory, no SENDMILL_SECRET_KEY: the process signs with the stored key, and no
            # key file appears anywhere (the old default wrote ./data/secret.key in the current directory).
            probe = subprocess.run([sys.executable, "-c", "from engine import bootstrap; "
                                    "print(bootstrap().settings.secret_key)"],
                                   cwd=tmp_path / "elsewhere", env=env, capture_output=True, text=True, timeout=60)
            assert probe.stdout.strip() == key, probe.stderr
            assert sendmill("tick", cwd=tmp_path / "elsewhere", env=env).returncode == 0
            assert key_files(tmp_path) == [] and not (tmp_path / "elsewhere" / "data").exists()
        finally:
            db.dispose()


def test_init_db_imports_the_key_an_earlier_version_generated(tmp_path):
    legacy = tmp_path / "srv" / "data"
    legacy.mkdir(parents=True)
    (legacy / "secret.key").write_text("the-key-links-already-mailed-were-signed-with\n")
    url = f"sqlite:///{tmp_path / 'db' / 'sendmill.db'}"
    env = process_env(tmp_path, SENDMILL_DATABASE_URL=url)
    result = sendmill("init-db", cwd=tmp_path / "srv", env=env)
    assert result.returncode == 0, result.stderr
    assert f"signing key: imported from {legacy / 'secret.key'}, stored in the database" in result.stdout
    db = make_sa_engine(url)
    assert stored_signing_key(db) == "the-key-links-already-mailed-were-signed-with"
    db.dispose()


def test_init_db_keeps_the_key_of_secret_key_variable_an_installation_used(tmp_path):
    url = f"sqlite:///{tmp_path / 'sendmill.db'}"
    result = sendmill("init-db", cwd=tmp_path, env=process_env(tmp_path, SENDMILL_DATABASE_URL=url,
                                                               SENDMILL_SECRET_KEY="key-from-the-environment"))
    assert "signing key: taken from SENDMILL_SECRET_KEY, stored in the database" in result.stdout
    db = make_sa_engine(url)
    assert stored_signing_key(db) == "key-from-the-environment"
    db.dispose()


def test_two_init_dbs_racing_both_end_up_with_the_first_stored_key(engine, monkeypatch):
    import engine.installation as installation

    real = installation.stored_signing_key
    calls = []

    def competitor_stores_first(db):
        calls.append(db)
        if len(calls) == 1:       # this init-db found no key; the other one stores its own right then
            with db.begin() as conn:
                conn.execute(InstallationSecret.__table__.insert().values(
                    name=SIGNING_KEY, value="the-other-init-db-won", created_at=engine.clock()))
            return None
        return real(db)

    monkeypatch.setattr(installation, "stored_signing_key", competitor_stores_first)
    assert ensure_signing_key(engine.db, [("generated", "mine")]) == ("the-other-init-db-won", "kept")
    with engine.uow() as uow:
        assert list(uow.session.scalars(select(InstallationSecret.value))) == ["the-other-init-db-won"]


# --- the data folder ------------------------------------------------------------------------------------
def test_the_default_database_lives_in_the_per_user_data_folder_not_the_current_directory(tmp_path):
    env = process_env(tmp_path)
    assert sendmill("init-db", cwd=tmp_path / "a", env=env).returncode == 0
    assert (tmp_path / "xdg" / "sendmill" / "sendmill.db").exists()      # $XDG_DATA_HOME/sendmill on Linux
    assert not (tmp_path / "a" / "data").exists()
    from_elsewhere = sendmill("create-admin", "--username", "root", "--password", "pw-123456", cwd=tmp_path / "b",
                              env=env)
    assert from_elsewhere.returncode == 0, from_elsewhere.stderr          # the same database, found from b
    assert not (tmp_path / "b" / "data").exists() and key_files(tmp_path) == []


def test_a_database_left_in_the_old_default_folder_is_pointed_out_not_replaced(tmp_path):
    old = tmp_path / "srv" / "data"
    old.mkdir(parents=True)
    (old / "sendmill.db").write_bytes(b"")
    for command in ("tick", "init-db"):
        result = sendmill(command, cwd=tmp_path / "srv", env=process_env(tmp_path))
        assert_one_clear_line(result, f"found a database at {old / 'sendmill.db'}", f"SENDMILL_DATA_DIR={old}")
    assert not (tmp_path / "xdg" / "sendmill" / "sendmill.db").exists()  # no second, empty database


# --- one clear line instead of a traceback --------------------------------------------------------------
def _server_url(backend: str, database: str) -> str:
    url = SERVER_URLS[backend].rsplit("/", 1)[0] + "/" + database
    engine = make_sa_engine(SERVER_URLS[backend])
    try:
        engine.connect().close()
    except Exception as exc:  # noqa: BLE001 - the server is absent
        if os.environ.get("CI"):
            pytest.fail(f"{backend} is required in CI but unreachable: {exc}")
        pytest.skip(f"{backend} not reachable")
    finally:
        engine.dispose()
    return url


@pytest.mark.parametrize("command", [("tick",), ("worker", "--once"), ("serve",), ("set-password", "--username",
                                                                                     "root", "--generate")])
def test_a_database_never_initialised_is_one_line_naming_init_db(tmp_path, command):
    missing = tmp_path / "nowhere" / "sendmill.db"
    result = sendmill(*command, cwd=tmp_path, env=process_env(tmp_path, SENDMILL_DATABASE_URL=f"sqlite:///{missing}"))
    assert_one_clear_line(result, f"there is no database at {missing}", "run `sendmill init-db`")
    assert not missing.exists() and not missing.parent.exists()           # no empty database made up

    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    result = sendmill(*command, cwd=tmp_path, env=process_env(tmp_path, SENDMILL_DATABASE_URL=f"sqlite:///{empty}"))
    assert_one_clear_line(result, "is not initialised", "run `sendmill init-db`")


def test_a_url_without_its_driver_names_the_url_forms_that_work(tmp_path):
    if importlib.util.find_spec("MySQLdb"):
        pytest.skip("mysqlclient is installed here, so mysql:// has its driver")
    result = sendmill("tick", cwd=tmp_path, env=process_env(tmp_path,
                                                            SENDMILL_DATABASE_URL="mysql://root@127.0.0.1/sendmill"))
    assert_one_clear_line(result, "driver for mysql:// is not installed", "mysql+pymysql://")


@pytest.mark.parametrize("url, phrase", [("not a url", "is not a database URL"),
                                         ("oracle+nothing://u@h/d", "unknown database or driver"),
                                         ("postgresql+psycopg://postgres@127.0.0.1:1/sendmill",
                                          "cannot use the database")])
def test_a_wrong_url_is_one_line(tmp_path, url, phrase):
    result = sendmill("tick", cwd=tmp_path, env=process_env(tmp_path, SENDMILL_DATABASE_URL=url))
    assert_one_clear_line(result, phrase, "SENDMILL_DATABASE_URL")


@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_a_server_database_that_does_not_exist_says_to_create_it(tmp_path, server):
    url = _server_url(server, "sendmill_no_such_database")
    for command in ("tick", "init-db"):
        result = sendmill(command, cwd=tmp_path, env=process_env(tmp_path, SENDMILL_DATABASE_URL=url))
        assert_one_clear_line(result, "'sendmill_no_such_database' does not exist",
                              "CREATE DATABASE sendmill_no_such_database", "then run `sendmill init-db`")


def test_the_wsgi_app_started_on_a_database_never_initialised_says_so_in_one_line(tmp_path):
    # What gunicorn's workers import; 4 is gunicorn's "App failed to load", which stops the arbiter.
    env = process_env(tmp_path, SENDMILL_DATABASE_URL=f"sqlite:///{tmp_path / 'none.db'}")
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert_one_clear_line(result, "run `sendmill init-db`", status=4)


def test_a_schema_older_than_the_code_is_one_line_naming_init_db(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        db = make_sa_engine(url.replace("/fresh/", "/") if backend == "sqlite" else url)
        try:
            InstallationSecret.__table__.create(db)       # as if the other tables were never upgraded
            ensure_signing_key(db, [])
            url = db.url.render_as_string(hide_password=False)
        finally:
            db.dispose()
        result = sendmill("schedule", "1", cwd=tmp_path, env=process_env(tmp_path, SENDMILL_DATABASE_URL=url))
        assert_one_clear_line(result, "lacks tables or columns this Sendmill needs", "run `sendmill init-db`")


def test_a_malformed_variable_is_one_line_naming_it(tmp_path):
    env = process_env(tmp_path, SENDMILL_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
                      SENDMILL_SESSION_LIFETIME_DAYS="a month")
    assert_one_clear_line(sendmill("tick", cwd=tmp_path, env=env), "SENDMILL_SESSION_LIFETIME_DAYS")


# --- a lost administrator password ----------------------------------------------------------------------
@pytest.fixture
def cli(engine, monkeypatch):
    import scheduler.cli.common as common

    monkeypatch.setattr(common, "open_engine", lambda: engine)
    return lambda *args, **kwargs: CliRunner().invoke(main, list(args), **kwargs)


def password_hash(engine, username: str) -> str:
    with engine.uow() as uow:
        return uow.session.scalar(select(Admin.password_hash).where(Admin.username == username))


def test_set_password_replaces_a_lost_password_and_closes_the_old_sessions(cli, api, admin, engine):
    before = password_hash(engine, admin.username)
    result = cli("set-password", "--username", admin.username, input="n3w-pass-word\nn3w-pass-word\n")
    assert result.exit_code == 0, result.output
    assert f"administrator {admin.username}: password changed; 1 open session(s) closed" in result.output
    assert "n3w-pass-word" not in result.output                          # asked for without echo, never shown
    assert password_hash(engine, admin.username) != before
    assert api("Admin.Login", Username=admin.username, Password=admin.password)["Success"] is False
    assert api("Users.Get", admin.session)["ErrorCode"] == 99998          # whoever had the old one is out
    assert api("Admin.Login", Username=admin.username, Password="n3w-pass-word")["Success"] is True


def test_set_password_can_generate_one_and_print_it_once(cli, api, admin):
    result = cli("set-password", "--username", admin.username, "--generate")
    assert result.exit_code == 0, result.output
    password = re.search(r"password=(\S+);", result.output).group(1)
    assert api("Admin.Login", Username=admin.username, Password=password)["Success"] is True
    assert api("Admin.Login", Username=admin.username, Password=admin.password)["Success"] is False


def test_create_admin_reset_gives_an_existing_administrator_the_new_password(cli, api, admin, engine):
    refused = cli("create-admin", "--username", admin.username, "--password", "other-pass-1")
    assert refused.exit_code == 1 and "--reset" in refused.output
    assert api("Admin.Login", Username=admin.username, Password=admin.password)["Success"] is True   # unchanged
    result = cli("create-admin", "--username", admin.username, "--password", "other-pass-1", "--reset")
    assert result.exit_code == 0, result.output
    assert api("Admin.Login", Username=admin.username, Password="other-pass-1")["Success"] is True
    assert api("Admin.Login", Username=admin.username, Password=admin.password)["Success"] is False


def test_set_password_of_an_unknown_administrator_changes_nothing(cli, admin, engine):
    before = password_hash(engine, admin.username)
    result = cli("set-password", "--username", "nobody", "--password", "whatever-1")
    assert result.exit_code == 1 and "administrator 'nobody' does not exist" in result.output
    assert password_hash(engine, admin.username) == before
    with engine.uow() as uow:
        assert uow.session.scalar(select(AuthSession.id).where(AuthSession.admin_id == admin.id)) is not None


# --- sendmill --help ------------------------------------------------------------------------------------
def test_help_lists_every_environment_variable_the_code_reads():
    readers = [ROOT / "engine" / "config.py",
               *(p for p in (ROOT / "scheduler" / "cli").glob("*.py") if p.name != "environment.py")]
    read = {name for path in readers for name in re.findall(r'"(SENDMILL_[A-Z_]+)"', path.read_text())}
    assert {"SENDMILL_SMTP_URL", "SENDMILL_DATA_DIR", "SENDMILL_ADMIN_PASSWORD", "SENDMILL_ADMIN_USERNAME"} <= read
    shown = CliRunner().invoke(main, ["--help"]).output
    assert sorted(name for name in read if name not in shown) == []
