"""ScheduledPull: enrolling a batch of random subscribers of the trigger list (journeys.md "Scheduled Pull
Trigger"). scheduler/journeys.py decides when a pull is due; this module does one pull, set-based."""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from engine.automation.journeys.enroll import enroll
from engine.automation.journeys.triggers import UNITS
from engine.models import Journey, JourneyEnrollment as E, Subscriber


def pull_count(settings: dict, rng: random.Random | None = None) -> int:
    if settings["SubscriberCountMode"] == "random":
        return (rng or random).randint(settings["SubscriberCountMin"], settings["SubscriberCountMax"])
    return settings["SubscriberCountFixed"]


def pull(session, journey: Journey, now: datetime, rng: random.Random | None = None) -> int:
    """One pull: up to N random Subscribed rows of the list that are not in the journey now and are under
    the frequency cap, enrolled by one INSERT … SELECT; the pull time is recorded either way."""
    settings = json.loads(journey.trigger_parameters or "{}")
    # Compare-and-set on the last pull time: of two ticks (two hosts) that found the same pull due, one pulls.
    last = Journey.last_pull_at.is_(None) if journey.last_pull_at is None else Journey.last_pull_at == journey.last_pull_at
    taken = session.execute(update(Journey).where(Journey.id == journey.id, last).values(last_pull_at=now)
                            .execution_options(synchronize_session=False)).rowcount
    if taken != 1:
        return 0
    session.refresh(journey)
    count = pull_count(settings, rng)
    if count <= 0:
        return 0
    candidates = select(Subscriber.id).where(Subscriber.list_id == journey.trigger_list_id,
                                             Subscriber.subscription_status == "Subscribed")
    if settings.get("FrequencyCapEnabled"):
        since = now - timedelta(seconds=settings["FrequencyCapPeriod"] * UNITS[settings["FrequencyCapUnit"]])
        recent = (select(func.count()).select_from(E).where(E.journey_id == journey.id, E.subscriber_id == Subscriber.id,
                                                            E.created_at > since).scalar_subquery())
        candidates = candidates.where(recent < settings["FrequencyCapCount"])
    active = select(E.id).where(E.journey_id == journey.id, E.subscriber_id == Subscriber.id, E.state == "active")
    shuffle = func.rand() if session.bind.dialect.name in ("mysql", "mariadb") else func.random()
    # A derived table: MariaDB takes no LIMIT inside IN (…), but does inside FROM (…).
    picked = candidates.where(~active.exists()).order_by(shuffle).limit(count).subquery()
    return enroll(session, journey, journey.trigger_list_id, select(picked.c.id), now)
