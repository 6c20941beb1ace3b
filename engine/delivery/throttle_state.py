"""Saving and restoring the SMTP pool's adapted rates, so a restart does not forget a throttling relay."""
from __future__ import annotations

import json
import logging

from sqlalchemy.exc import SQLAlchemyError

from engine.models.sending import ThrottleState

log = logging.getLogger("sendmill.delivery")
NAME = "smtp"


def load_throttle_state(engine) -> dict:
    with engine.uow() as uow:
        row = uow.session.get(ThrottleState, NAME)
        if row is None:
            return {}
        try:
            state = json.loads(row.payload)
        except ValueError:
            return {}
        return state if isinstance(state, dict) else {}


def save_throttle_state(engine, state: dict) -> None:
    """Best effort: failing to save only means the next worker starts at full speed."""
    try:
        with engine.uow() as uow:
            row = uow.session.get(ThrottleState, NAME, with_for_update=True)
            if row is None:
                row = ThrottleState(name=NAME)
                uow.session.add(row)
            row.payload = json.dumps(state)
            row.updated_at = uow.clock()
            uow.commit()
    except SQLAlchemyError:
        log.warning("could not save the adapted sending rates", exc_info=True)
