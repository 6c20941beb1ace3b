"""The models are the schema's one source of truth: schema.sql and the migrations must agree with them.

* text drift: the committed schema.sql is exactly what `python -m engine.schema` prints today;
* semantic drift: schema.sql loaded into SQLite reflects back to the models (Alembic compare);
* migrations: `upgrade head` on an empty database of every backend builds the models' schema
  (the `alembic check` of style.md §9), and a second upgrade changes nothing.
"""
from __future__ import annotations

import difflib
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

import engine.models  # noqa: F401 - registers every table
from engine.db import Base, make_sa_engine, surrogate_key
from engine.migrate import alembic_config, upgrade
from engine.schema import DIALECTS, HEADER, ddl, made_on
from tests.installation_support import fresh_database

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_SQL = ROOT / "schema.sql"
FIX = "python -m engine.migrations.regenerate_initial   (or: python -m engine.schema > schema.sql)"


def differences(db) -> list:
    with db.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True,
            # An index the models make on other backends only is rightly missing here.
            "include_object": lambda item, name, kind, reflected, compare_to:
                kind != "index" or reflected or made_on(item, db.dialect.name)})
        return compare_metadata(context, Base.metadata)


def statements(script: str) -> list[str]:
    body = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip()]


@pytest.fixture
def scratch_db(backend, tmp_path):
    """An empty database of its own (not the suite's shared one): migrations need a clean slate."""
    with fresh_database(backend, tmp_path) as url:
        if backend == "sqlite":   # a file that does not exist yet, in a folder that may not either
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        db = make_sa_engine(url)
        yield db
        db.dispose()


# --- schema.sql ---------------------------------------------------------------------------------
def test_schema_sql_is_what_the_models_generate():
    committed = SCHEMA_SQL.read_text(encoding="utf-8") if SCHEMA_SQL.exists() else ""
    generated = ddl("sqlite")
    if committed != generated:
        diff = "".join(difflib.unified_diff(
            committed.splitlines(keepends=True), generated.splitlines(keepends=True),
            "schema.sql (committed)", "python -m engine.schema (from the models)"))
        pytest.fail(f"schema.sql is out of date with engine/models; regenerate it with\n    {FIX}\n\n{diff}")


def test_schema_sql_says_it_is_generated():
    assert SCHEMA_SQL.read_text(encoding="utf-8").startswith(HEADER)


def test_schema_sql_loaded_into_sqlite_matches_the_models(tmp_path):
    path = tmp_path / "from_schema_sql.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA_SQL.read_text(encoding="utf-8"))
    db = create_engine(f"sqlite:///{path}")
    try:
        assert differences(db) == [], f"schema.sql and engine/models disagree; run {FIX}"
    finally:
        db.dispose()


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_every_table_and_index_is_in_the_ddl_of_every_dialect(dialect):
    script = ddl(dialect)
    name = DIALECTS[dialect]().name
    for table in Base.metadata.sorted_tables:
        assert f"CREATE TABLE {table.name} (" in script
        for index in table.indexes:
            assert (f"INDEX {index.name} ON {table.name}" in script) == made_on(index, name), index.name


def test_printed_ddl_builds_the_models_schema_on_each_backend(scratch_db):
    """`python -m engine.schema --dialect <backend>` is correct DDL for that backend."""
    dialect = {"mysql": "mariadb"}.get(scratch_db.dialect.name, scratch_db.dialect.name)
    with scratch_db.begin() as conn:
        for statement in statements(ddl(dialect)):
            conn.exec_driver_sql(statement)
    assert differences(scratch_db) == []


def test_every_integer_surrogate_key_is_autoincrement_on_sqlite():
    """SQLite without AUTOINCREMENT gives a deleted newest row's id to the next insert (README "Security")."""
    script = ddl("sqlite")
    keyed = [table.name for table in Base.metadata.sorted_tables if surrogate_key(table)]
    assert len(keyed) >= 24
    for name in keyed:
        create = script.split(f"CREATE TABLE {name} (", 1)[1].split(";", 1)[0]
        assert " PRIMARY KEY AUTOINCREMENT," in create, name


# --- migrations -----------------------------------------------------------------------------------
def test_there_is_one_head_and_the_initial_migration_uses_the_portable_types():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    initial = Path(script.get_revision("0001").path).read_text(encoding="utf-8")
    assert "import engine.db" in initial
    # Timestamps go through the UTC type decorator, never a bare DateTime that accepts naive values.
    assert "engine.db.UTCDateTime()" in initial and "sa.DateTime(" not in initial


def test_upgrade_head_on_an_empty_database_builds_the_models_schema(scratch_db):
    upgrade(scratch_db)
    found = set(inspect(scratch_db).get_table_names())
    assert set(Base.metadata.tables) <= found
    assert differences(scratch_db) == [], f"the migrations do not build engine/models; run {FIX}"


def test_a_second_upgrade_is_a_no_op_that_keeps_the_data(scratch_db):
    upgrade(scratch_db)
    with scratch_db.begin() as conn:
        conn.execute(text("INSERT INTO scheduler_leases (name, holder, expires_at) "
                          "VALUES ('probe', 'someone', '2030-01-01 00:00:00')"))
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()

    upgrade(scratch_db)

    with scratch_db.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
        assert conn.execute(text("SELECT holder FROM scheduler_leases WHERE name = 'probe'")).scalar() \
            == "someone"
    assert differences(scratch_db) == []


def declared_names(table, dialect) -> set[str]:
    """The names the models give, as this dialect spells them: SQLAlchemy shortens a name longer than
    the dialect allows (63 characters on PostgreSQL) with a stable hash suffix."""
    preparer = dialect.identifier_preparer
    return {preparer.format_constraint(item).strip('"`')
            for item in [*table.constraints, *table.indexes] if item.name and made_on(item, dialect.name)}



def reflected_names(inspector, table_name: str, dialect: str) -> set[str]:
    names = {inspector.get_pk_constraint(table_name).get("name")}
    names |= {c["name"] for c in inspector.get_unique_constraints(table_name)}
    names |= {c["name"] for c in inspector.get_foreign_keys(table_name)}
    names |= {c["name"] for c in inspector.get_indexes(table_name)}
    names |= {c["name"] for c in inspector.get_check_constraints(table_name)}
    if dialect == "sqlite":   # SQLite's reflection skips expression indexes (with a warning): ask it directly
        with inspector.bind.connect() as conn:
            names |= set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"),
                                      {"t": table_name}))
    if dialect == "mysql":
        names.add(f"pk_{table_name}")  # MySQL-family primary keys are always called PRIMARY
    if dialect == "sqlite" and Base.metadata.tables[table_name].dialect_options["sqlite"]["autoincrement"]:
        # `id INTEGER PRIMARY KEY AUTOINCREMENT` is declared on the column, where SQLAlchemy writes no
        # name; SQLite changes a primary key only by rebuilding the table, which needs none.
        names.add(f"pk_{table_name}")
    return {n for n in names if n}


def test_migrated_constraint_names_are_the_naming_conventions(scratch_db):
    """Alembic drops constraints by name: a later migration only works if every name is the model's."""
    upgrade(scratch_db)
    inspector = inspect(scratch_db)
    dialect = scratch_db.dialect
    missing = {table.name: sorted(declared_names(table, dialect) - reflected_names(inspector, table.name,
                                                                                      dialect.name))
               for table in Base.metadata.sorted_tables}
    assert {t: names for t, names in missing.items() if names} == {}
