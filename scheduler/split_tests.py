"""The tick's split-test step: when a test's duration is over, the winner goes to the rest of the audience.

Its own module so that the tick's other steps stay as they are. The engine picks and applies the winner
(engine/campaigns/split_tests.py) with a compare-and-set, so two ticks that both get here pick it once.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import DBAPIError

log = logging.getLogger("sendmill.scheduler")


def choose_winners(uow, now: datetime, summary, commit) -> None:
    """Decide every split test whose TestDuration has passed (campaign Sending); each in its own commit."""
    for instance_id in uow.split_tests.due_decisions(now):
        try:
            winner = uow.split_tests.decide(instance_id, now)
            commit()
        except DBAPIError:
            uow.rollback()
            summary.errors += 1
            log.exception("instance %s: choosing the split test's winner failed; the next tick retries", instance_id)
            continue
        if winner is None:
            log.info("instance %s: the split test's winner was chosen by another scheduler", instance_id)
            continue
        summary.winners += 1
        log.info("instance %s: split test over, email %s wins and goes to the rest of the audience",
                 instance_id, winner)
