"""A scratch installation for the benchmarks that need one account with one list (bench/import_request.py,
bench/list_triggers.py): the schema, the engine, a user `bench` (password bench-pass-1) and its list."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass

import engine.models  # noqa: F401 - registers every table
from engine import bootstrap
from engine.config import Settings
from engine.db import Base, make_sa_engine
from engine.models import SubscriberList


@dataclass
class OneList:
    db: object
    engine: object
    owner_id: int
    list_id: int


def one_list(database_url: str | None, **settings) -> OneList:
    """SQLite in a new scratch folder unless `database_url` names an empty database."""
    url = database_url or f"sqlite:///{tempfile.mkdtemp(prefix='sendmill-bench-')}/bench.db"
    db = make_sa_engine(url)
    Base.metadata.create_all(db)
    engine = bootstrap(Settings(database_url=url, secret_key="bench-secret", **settings), db=db)
    with engine.uow() as uow:
        user = uow.accounts.create_user(username="bench", password="bench-pass-1", email="bench@example.com")
        uow.session.flush()
        row = SubscriberList(owner_user_id=user.id, name="Bench", created_at=uow.clock())
        uow.session.add(row)
        uow.commit()
        return OneList(db, engine, user.id, row.id)
