"""Triggers → autoresponder ledger rows, in the transaction of the event that triggers them.

Every event site calls one function of this module with one line (journeys add theirs beside it):
* `on_subscribed(session, list_id, subscribers, at)` — rows became Subscribed on the list (public
  subscription, opt-in confirmation, the owner's status change, a list behaviour, an import that asks);
* `on_opened` / `on_clicked` — tracking recorded an open / a click of a campaign's message;
* `on_left(session, subscriber_ids, at)` — rows left their list (unsubscribed or deleted): their pending
  sends are skipped;
* `enqueue_date_triggers(session, now)` — the tick's pass over the OnSubscriberDate autoresponders.

Each is ONE `INSERT … SELECT` per event over every matching Enabled autoresponder of the list (the
autoresponders' sends are a small UNION ALL of bound literals joined to the subscribers), never a
statement per subscriber. The ledger's UNIQUE (autoresponder, subscriber, occurrence) and a NOT EXISTS
make a repeated event, a second tick or a race a no-op (duplicates are ignored, not errors).

Only triggers at or after the autoresponder's `enabled_at` enqueue; Disabled autoresponders enqueue
nothing (their queued sends still go out). Occurrences are "{anchor}/{n}": n counts the Repeat sends
from 0 (all of a trigger's sends are written at once, each with its due time); the anchor is "" for
subscription, open and click triggers (once per subscriber row and autoresponder: a second click does
not mail again, nor does subscribing again after an opt-out) and the local day (YYYY-MM-DD) for date
triggers (once per day the date falls on).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Iterable

from sqlalchemy import Integer, String, and_, exists, extract, insert, literal, select, true, tuple_, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql import Select

from engine.audience.compiler import day_bounds
from engine.automation.list_triggers import listening
from engine.automation.schedule import anniversary_days, day_start, due_times, local_day, zone
from engine.automation.triggers import field_ref, parse_date_schedule
from engine.db import UTCDateTime
from engine.errors import DomainError
from engine.models import AutoResponder, Subscriber, SubscriberFieldValue, User
from engine.models.automation import AutoResponderSend

SENDS = AutoResponderSend.__table__
_INSERTED = ("autoresponder_id", "subscriber_id", "email_address", "occurrence", "email_id", "due_at", "state",
             "worker", "attempts", "last_error", "message_id", "opens", "clicks", "bounce_type", "created_at")
# How far back the date pass looks: a day the scheduler missed entirely (downtime over midnight) is
# still mailed the next day, never more than that late.
DATE_CATCH_UP_DAYS = 1


def _enabled(list_id: int, trigger_type: str, at: datetime):
    return (select(AutoResponder).where(
        AutoResponder.list_id == list_id, AutoResponder.trigger_type == trigger_type,
        AutoResponder.status == "Enabled", AutoResponder.email_id.is_not(None),
        AutoResponder.enabled_at.is_not(None), AutoResponder.enabled_at <= at)
        .order_by(AutoResponder.id))


def _owner_zone(session, owner_id: int):
    return zone(session.scalar(select(User.time_zone).where(User.id == owner_id)))


def _plan(responders: Iterable[AutoResponder], trigger_at: datetime, anchor: str, tz) -> list[tuple]:
    """(autoresponder id, email id, occurrence, due time) of every send the trigger makes."""
    return [(r.id, r.email_id, f"{anchor}/{n}", due)
            for r in responders for n, due in enumerate(due_times(trigger_at, r, tz))]


def _plan_table(plan: list[tuple], keys: tuple = ()):
    """The plan as a derived table of bound literals (a UNION ALL: portable to all three databases);
    `keys` names and types the extra columns the date pass matches subscribers on."""
    columns = (("ar", Integer), ("email", Integer), ("occ", String(40)), ("due", UTCDateTime), *keys)
    rows = [select(*(literal(value, type_).label(name) for value, (name, type_) in zip(row, columns)))
            for row in plan]
    return (rows[0] if len(rows) == 1 else union_all(*rows)).subquery("plan")


def _insert(session, plan: list[tuple], who, now: datetime, *, where=(), dated=None) -> int:
    """INSERT … SELECT of plan × the subscribers `who` (ids) selects, Subscribed ones only; or, with
    `dated` = (field id, key columns, match(plan, value)), × the subscribers whose date value matches a plan
    row (one scan of the field's values for every day and Repeat send at once).

    Two transactions enqueueing the same occurrence at once both pass NOT EXISTS; the UNIQUE key then
    refuses the second, which must be a no-op (ON CONFLICT DO NOTHING / INSERT IGNORE), not an error that
    undoes the triggering event."""
    if not plan:
        return 0
    p = _plan_table(plan, dated[1] if dated else ())
    s = SENDS.c
    if dated is None:   # a few subscribers: one probe of the UNIQUE key each
        already = exists().where(s.autoresponder_id == p.c.ar, s.subscriber_id == Subscriber.id,
                                 s.occurrence == p.c.occ)
    else:
        # Thousands of subscribers: the rows already written for the plan's due times, read once through the
        # (autoresponder_id, due_at) index and hashed, instead of a probe per subscriber (a correlated NOT
        # EXISTS, which PostgreSQL runs as a nested loop when it underestimates the date matches).
        written = select(s.subscriber_id, s.occurrence).where(
            s.autoresponder_id.in_({row[0] for row in plan}),
            s.due_at.between(min(row[3] for row in plan), max(row[3] for row in plan)))
        already = tuple_(Subscriber.id, p.c.occ).in_(written)
    conditions = [Subscriber.subscription_status == "Subscribed", ~already, *where]
    if who is not None:
        conditions.append(Subscriber.id.in_(who))
    source = select(p.c.ar, Subscriber.id, Subscriber.email_address, p.c.occ, p.c.email, p.c.due,
                    literal("pending"), literal(""), literal(0), literal(""), literal(""), literal(0), literal(0),
                    literal(""), literal(now, UTCDateTime)).select_from(p)
    if dated is None:
        source = source.join(Subscriber, true())
    else:
        field_id, _keys, match = dated
        value = SubscriberFieldValue
        source = source.join(value, and_(value.field_id == field_id, value.value_date.is_not(None), match(p, value))) \
            .join(Subscriber, Subscriber.id == value.subscriber_id)
    source = source.where(*conditions)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # psycopg answers rowcount -1 for INSERT … SELECT … ON CONFLICT: count what RETURNING gives back.
        return len(conn.execute(pg_insert(SENDS).from_select(_INSERTED, source).on_conflict_do_nothing()
                                .returning(SENDS.c.id)).all())
    ignore = "OR IGNORE" if conn.dialect.name == "sqlite" else "IGNORE"
    return max(conn.execute(insert(SENDS).from_select(_INSERTED, source).prefix_with(ignore)).rowcount or 0, 0)


def _ids(subscribers) -> Select | list[int]:
    """What `Subscriber.id.in_()` takes: a select of ids as it is, any other iterable as a list."""
    return subscribers if isinstance(subscribers, Select) else list(subscribers)


# --- the event sites ---------------------------------------------------------------------------------
def on_subscribed(session, list_id: int, subscribers, at: datetime) -> int:
    """Subscriber rows (ids, or a select of ids) became Subscribed on the list at `at`."""
    if not listening(session, list_id):
        return 0   # no OnSubscription autoresponder in the account (engine/automation/list_triggers.py)
    responders = list(session.scalars(_enabled(list_id, "OnSubscription", at)))
    if not responders:
        return 0
    plan = _plan(responders, at, "", _owner_zone(session, responders[0].owner_user_id))
    return _insert(session, plan, _ids(subscribers), at, where=(Subscriber.list_id == list_id,))


def on_opened(session, campaign_id: int, subscriber_id: int, at: datetime) -> int:
    """The subscriber opened a message of the campaign."""
    list_id = session.scalar(select(Subscriber.list_id).where(Subscriber.id == subscriber_id))
    if list_id is None:
        return 0
    responders = [r for r in session.scalars(_enabled(list_id, "OnSubscriberCampaignOpen", at))
                  if r.trigger_value == str(campaign_id)]
    return _fire(session, responders, subscriber_id, at)


def on_clicked(session, campaign_id: int, subscriber_id: int, url: str, at: datetime) -> int:
    """The subscriber clicked `url` (as it stands in the content) in a message of the campaign."""
    list_id = session.scalar(select(Subscriber.list_id).where(Subscriber.id == subscriber_id))
    if list_id is None:
        return 0
    responders = [r for r in session.scalars(_enabled(list_id, "OnSubscriberLinkClick", at))
                  if r.trigger_value == url and r.trigger_value2 in ("", str(campaign_id))]
    return _fire(session, responders, subscriber_id, at)


def _fire(session, responders: list[AutoResponder], subscriber_id: int, at: datetime) -> int:
    if not responders:
        return 0
    plan = _plan(responders, at, "", _owner_zone(session, responders[0].owner_user_id))
    return _insert(session, plan, _ids([subscriber_id]), at)


def on_left(session, subscriber_ids, at: datetime, reason: str = "the subscriber left the list") -> int:
    """Rows left their list (ids, or a select of ids): their pending sends will never go out."""
    s = AutoResponderSend
    result = session.execute(
        update(s).where(s.subscriber_id.in_(_ids(subscriber_ids)), s.state == "pending")
        .values(state="skipped", last_error=reason, lease_until=None)
        .execution_options(synchronize_session=False))
    return max(result.rowcount or 0, 0)


# --- the tick's date pass ----------------------------------------------------------------------------
def enqueue_date_triggers(session, now: datetime) -> int:
    """Ledger rows for every Enabled OnSubscriberDate autoresponder whose date falls on today's local
    day (or the day before, when the scheduler missed it): one INSERT … SELECT per autoresponder."""
    written = 0
    responders = session.scalars(select(AutoResponder).where(
        AutoResponder.trigger_type == "OnSubscriberDate", AutoResponder.status == "Enabled",
        AutoResponder.email_id.is_not(None), AutoResponder.enabled_at.is_not(None),
        AutoResponder.enabled_at <= now).order_by(AutoResponder.id)).all()
    for responder in responders:
        try:
            field_id, schedule = field_ref(responder.trigger_value), parse_date_schedule(responder.trigger_value2)
        except DomainError:
            continue   # a stored value the rules no longer accept can never fire
        tz = _owner_zone(session, responder.owner_user_id)
        today = local_day(now, tz)
        first_day = max(today - timedelta(days=DATE_CATCH_UP_DAYS), local_day(responder.enabled_at, tz))
        days = [first_day + timedelta(days=n) for n in range((today - first_day).days + 1)]
        written += _enqueue_days(session, responder, field_id, schedule, days, tz, now)
    return written


def _enqueue_days(session, responder: AutoResponder, field_id: int, schedule, days: list[date], tz,
                  now: datetime) -> int:
    """One INSERT … SELECT for every day (and Repeat send) of one date autoresponder."""
    plan = []
    for day in days:
        # The stored date the day answers: the offset says "N days before / after" the date.
        target = day - timedelta(days=schedule.offset_days)
        sends = _plan([responder], day_start(day, tz), day.isoformat(), tz)
        if schedule.yearly:
            plan += [(*send, month, dom) for send in sends for month, dom in anniversary_days(target)]
        else:   # dates are stored as midnight UTC of the day (engine/audience/custom_fields/rules.py)
            plan += [(*send, *day_bounds(target)) for send in sends]
    # Each match also carries constant bounds, so the scan drops the other 99% of the dates before joining
    # the plan (one-off dates: an index range).
    if schedule.yearly:
        keys = (("month", Integer), ("dom", Integer))
        months, doms = sorted({row[4] for row in plan}), sorted({row[5] for row in plan})

        def match(p, value):
            month, dom = extract("month", value.value_date), extract("day", value.value_date)
            return and_(month.in_(months), dom.in_(doms), month == p.c.month, dom == p.c.dom)
    else:
        keys = (("low", UTCDateTime), ("high", UTCDateTime))
        lowest, highest = min(row[4] for row in plan), max(row[5] for row in plan)

        def match(p, value):
            return and_(value.value_date >= lowest, value.value_date < highest,
                        value.value_date >= p.c.low, value.value_date < p.c.high)
    return _insert(session, plan, None, now, where=(Subscriber.list_id == responder.list_id,),
                   dated=(field_id, keys, match))
