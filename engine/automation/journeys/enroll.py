"""Enrolling subscribers into a journey: one INSERT … SELECT per (journey, list), never a row at a time.

Rules (README "Journeys"):
* a subscriber row is in a journey at most once at a time: while its run is active, a new trigger is
  ignored; after it completes or exits, the next trigger starts run n+1;
* Trigger_Criteria and Run_Criteria (compiled per list) must hold;
* Rate_Limit_Per_Hour / Per_Day cap the enrollments of the last hour / day: subscribers over the cap are
  not enrolled (lowest subscriber IDs first);
* only Subscribed rows enter, except through the ListUnsubscription trigger (they have just left);
* the new run waits at the journey's first action (due at once, or when its Wait ends).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, exists, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from engine.automation.journeys.criteria import entry_predicate
from engine.automation.journeys.tree import first_action_id
from engine.automation.journeys.waits import arrival_due
from engine.models import Journey, JourneyAction, JourneyEnrollment, Subscriber

COLUMNS = ("journey_id", "subscriber_id", "list_id", "run_no", "state", "current_action_id", "due_at", "step_seq",
           "created_at", "finished_at")


def room(session, journey: Journey, now: datetime) -> int | None:
    """How many more may enter now under the journey's rate limits (None: no limit)."""
    caps = []
    for limit, span in ((journey.rate_limit_per_hour, timedelta(hours=1)), (journey.rate_limit_per_day, timedelta(days=1))):
        if limit:
            used = session.scalar(select(func.count()).select_from(JourneyEnrollment).where(
                JourneyEnrollment.journey_id == journey.id, JourneyEnrollment.created_at > now - span))
            caps.append(max(0, limit - used))
    return min(caps) if caps else None


def enroll(session, journey: Journey, list_id: int, who, now: datetime, *, subscribed_only: bool = True) -> int:
    """Enroll the subscriber rows of `list_id` selected by `who` (a list of IDs or a Select of IDs) into
    `journey`; returns how many entered. Races with a concurrent enrollment of the same row lose quietly."""
    cap = room(session, journey, now)
    if cap == 0:
        return 0
    first = first_action_id(session, journey.id)
    action = session.get(JourneyAction, first) if first else None
    earlier = aliased(JourneyEnrollment)
    run_no = (select(func.coalesce(func.max(earlier.run_no), 0) + 1)
              .where(earlier.journey_id == journey.id, earlier.subscriber_id == Subscriber.id).scalar_subquery())
    active = exists().where(earlier.journey_id == journey.id, earlier.subscriber_id == Subscriber.id,
                            earlier.state == "active")
    ids = who if isinstance(who, Select) else list(who)
    state, finished = ("active", None) if first else ("completed", now)
    query = (select(literal(journey.id), Subscriber.id, Subscriber.list_id, run_no, literal(state), literal(first),
                    literal(arrival_due(action, now), JourneyEnrollment.due_at.type), literal(0),
                    literal(now, JourneyEnrollment.created_at.type),
                    literal(finished, JourneyEnrollment.finished_at.type))
             .where(Subscriber.list_id == list_id, Subscriber.id.in_(ids), ~active,
                    entry_predicate(session, journey, list_id, now))
             .order_by(Subscriber.id))
    if subscribed_only:
        query = query.where(Subscriber.subscription_status == "Subscribed")
    if cap is not None:
        query = query.limit(cap)
    try:
        with session.begin_nested():
            # SQLAlchemy drops an INSERT … SELECT's row count unless asked to keep it.
            entered = session.execute(insert(JourneyEnrollment.__table__).from_select(COLUMNS, query)
                                      .execution_options(preserve_rowcount=True)).rowcount
    except IntegrityError:
        return 0  # a concurrent trigger enrolled the same row first; theirs stands
    return max(entered or 0, 0)
