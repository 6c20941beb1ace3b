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


@contextmanager
def batch_keeping_ids(table: str):
    """`op.batch_alter_table` for a revision that changes a table with an integer surrogate key.

    On SQLite a batch that must rebuild the table (altering a column) builds a new one: it has to be
    created with AUTOINCREMENT again, and its counter must not fall back to the highest id still in the
    table, or the id of a deleted newest row would be handed out again (revision 0002's promise)."""
    from alembic import op

    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        with op.batch_alter_table(table) as batch:
            yield batch
        return
    before = bind.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).scalar() or 0
    with op.batch_alter_table(table, table_kwargs={"sqlite_autoincrement": True}) as batch:
        yield batch
    bind.exec_driver_sql("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (before, table))
    bind.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) SELECT ?, ? WHERE ? > 0 AND NOT EXISTS "
                         "(SELECT 1 FROM sqlite_sequence WHERE name = ?)", (table, before, before, table))
