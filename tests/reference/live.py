"""A new installation for the reference's recording: a fresh SQLite database (so IDs start at 1 every run),
a fixed clock and signing key, a loopback SMTP relay, and a DNS that answers from a table."""
from __future__ import annotations

from contextlib import contextmanager

from engine import bootstrap
from engine.config import Settings
from engine.db import Base, make_sa_engine
from protocol.app import create_app
from tests.conftest import FakeClock
from tests.e2e.support import loopback_relay
from tests.reference.scenario_senders import TXT_RECORDS


@contextmanager
def new_installation(directory):
    """(engine, Flask test client, SMTP recorder) of a new installation in `directory`."""
    url = f"sqlite:///{directory / 'reference.db'}"
    db = make_sa_engine(url)
    Base.metadata.create_all(db)
    settings = Settings(database_url=url, secret_key="reference-example-key", base_url="http://127.0.0.1:8080",
                        extra={"txt_lookup": lambda name: TXT_RECORDS.get(name, []),
                               # account mail (password resets) delivered in the call, not on a thread
                               "account_mail_runner": lambda job: job()})
    engine = bootstrap(settings, db=db, clock=FakeClock())
    try:
        with loopback_relay(engine) as smtp:
            yield engine, create_app(engine).test_client(), smtp
    finally:
        db.dispose()
