"""Database creation and upgrades through Alembic, so an existing database keeps its data."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SAEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(db: SAEngine, revision: str = "head") -> None:
    """Bring the database to the newest schema (idempotent: a current database is left alone).
    `revision`: an older one, for tests that build a database as an earlier release left it."""
    config = alembic_config(db.url.render_as_string(hide_password=False))
    with db.connect() as connection, _sqlite_foreign_keys_off(connection):
        with connection.begin():
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            _check_foreign_keys(connection)


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection):
    """SQLite changes a table by building a new one and dropping the old (Alembic's batch mode). With
    foreign keys on, that DROP deletes the old rows first and ON DELETE CASCADE empties every child table.
    The pragma only works outside a transaction, so it is set on the driver's connection before BEGIN
    (make_sa_engine's connections run in autocommit until SQLAlchemy begins), and set back after."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: Connection) -> None:
    """With the checks off during the upgrade, check once before committing that every reference holds."""
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the upgrade left rows whose foreign keys point nowhere: {broken[:10]}")
