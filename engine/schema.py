"""Print the database schema (CREATE TABLE / CREATE INDEX) generated from the models.

    python -m engine.schema > schema.sql              # SQLite, the committed file
    python -m engine.schema --dialect postgresql      # to read, not to apply: use `sendmill init-db`
    python -m engine.schema --dialect mariadb

The models in engine/models are the one source of truth; `schema.sql` is generated from them and
tests/unit/test_schema.py fails when the two drift apart. After changing a model, regenerate both
`schema.sql` and (until the first release) the initial migration:

    python -m engine.migrations.regenerate_initial
"""
from __future__ import annotations

import argparse
import sys

from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

import engine.models  # noqa: F401 - registers every table
from engine.db import Base

HEADER = ("-- generated from engine/models — do not edit; "
          "run `python -m engine.schema > schema.sql`\n")
DIALECTS = {
    "sqlite": sqlite.dialect,
    "postgresql": postgresql.dialect,
    # MariaDB is spoken through SQLAlchemy's MySQL dialect flagged as MariaDB, as a live connection does.
    "mariadb": lambda: mysql.dialect(is_mariadb=True),
}


def ddl(dialect_name: str = "sqlite") -> str:
    """The DDL of every table and index, tables in dependency order, indexes by name."""
    dialect = DIALECTS[dialect_name]()
    parts = [HEADER + f"-- dialect: {dialect_name}\n"]
    for table in Base.metadata.sorted_tables:
        parts.append(_statement(CreateTable(table), dialect))
        for index in sorted(table.indexes, key=lambda ix: ix.name or ""):
            if made_on(index, dialect.name):
                parts.append(_statement(CreateIndex(index), dialect))
    return "\n".join(parts)


def made_on(item, dialect_name: str) -> bool:
    """False for an index the models create on other backends only (`Index(...).ddl_if(dialect=...)`,
    e.g. an expression index MariaDB cannot have)."""
    condition = getattr(item, "_ddl_if", None)
    if condition is None or condition.dialect is None:
        return True
    wanted = (condition.dialect,) if isinstance(condition.dialect, str) else tuple(condition.dialect)
    return dialect_name in wanted or (dialect_name == "mysql" and "mariadb" in wanted)


def _statement(element, dialect) -> str:
    # Compiled DDL carries tab indentation and trailing blanks that vary by dialect; normalise
    # them so the committed file diffs cleanly.
    text = str(element.compile(dialect=dialect)).strip()
    lines = [line.replace("\t", "    ").rstrip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line) + ";\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.schema", description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=sorted(DIALECTS), default="sqlite")
    args = parser.parse_args(argv)
    sys.stdout.write(ddl(args.dialect))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
