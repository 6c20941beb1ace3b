"""Sendmill's domain: campaigns, lists, subscribers, audiences, delivery, tracking.

Nothing here knows HTTP or the /api.php wire format. `bootstrap()` is the one composition
root; the web app, the CLI and the tests all build their Engine through it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.orm import sessionmaker

from engine.config import Settings
from engine.db import make_sa_engine, make_session_factory, utcnow
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

    def uow(self) -> UnitOfWork:
        """One transaction: `with engine.uow() as uow: ...; uow.commit()` (rolls back otherwise)."""
        return UnitOfWork(self.session_factory, self.clock, self.settings, timer=self.timer)


def bootstrap(settings: Settings | None = None, *, db: SAEngine | None = None,
              clock: Clock = utcnow, timer: Timer = time.monotonic) -> Engine:
    settings = settings or Settings.from_env()
    db = db or make_sa_engine(settings.database_url)
    return Engine(settings=settings, db=db, session_factory=make_session_factory(db), clock=clock, timer=timer)
