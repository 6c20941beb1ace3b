"""Sendmill's domain: campaigns, lists, subscribers, audiences, delivery, tracking.

Nothing here knows HTTP or the /api.php wire format. `bootstrap()` is the one composition
root; the web app, the CLI and the tests all build their Engine through it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable

from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.orm import sessionmaker

from engine.accounts.credential_use import KeyUseCounter
from engine.config import Settings
from engine.db import make_session_factory, utcnow
from engine.installation import open_database, signing_key, stored_signing_key
from engine.uow import UnitOfWork

Clock = Callable[[], datetime]
# Seconds from an arbitrary start, for time limits (time.monotonic); tests inject their own.
Timer = Callable[[], float]


@dataclass
class Engine:
    settings: Settings
    db: SAEngine
    session_factory: sessionmaker
    clock: Clock
    timer: Timer = time.monotonic
    key_uses: KeyUseCounter = field(default_factory=KeyUseCounter)
    # Per rate-limit bucket prefix, the window whose predecessors this process purged last (protocol/dispatch.py).
    purged_windows: dict[str, int] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        """One transaction: `with engine.uow() as uow: ...; uow.commit()` (rolls back otherwise)."""
        return UnitOfWork(self.session_factory, self.clock, self.settings, timer=self.timer,
                          key_uses=self.key_uses)


def bootstrap(settings: Settings | None = None, *, db: SAEngine | None = None,
              clock: Clock = utcnow, timer: Timer = time.monotonic) -> Engine:
    """The Engine for `settings` (default: the environment's).

    When it opens the database itself, it checks that the database can be used and was initialised
    (engine.installation.SetupError says what to do otherwise). Settings without a secret key get the
    installation's, stored in the database by `sendmill init-db`; none is ever generated here."""
    settings = settings or Settings.from_env()
    if db is None:
        db = open_database(settings.database_url)
        if settings.secret_key:
            stored_signing_key(db)   # only to find a database that was never initialised now, not mid-command
    if not settings.secret_key:
        settings = replace(settings, secret_key=signing_key(db))
    return Engine(settings=settings, db=db, session_factory=make_session_factory(db), clock=clock, timer=timer)
