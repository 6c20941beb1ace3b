"""What each action does to the batch of enrollments a runner claimed, set-based (journey-actions.md).

Every function takes the session, the claim token marking the batch (`journey_enrollments.claim`), the
action's row and parameters, and `now`; it runs a bounded number of statements whatever the batch size,
inside the runner's transaction (so the effect commits together with the step, or not at all). The
claimed rows are `claimed(token)`; a function that ends the run for them sets `state` (the runner then
leaves those rows where they are).
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import case, delete, exists, insert, literal, or_, select, update
from sqlalchemy.orm import aliased

from engine.audience.custom_fields.rules import parsed_forms
from engine.automation.journeys import hooks
from engine.automation.journeys.webhook import webhook
from engine.models import (
    CustomField, Journey, JourneyEnrollment as E, JourneySend, Subscriber, SubscriberFieldValue, SubscriberList,
    SubscriberTag, SubscriberTagAssignment,
)

log = logging.getLogger("sendmill.journeys")


def claimed(token: str):
    return select(E.subscriber_id).where(E.claim == token)


def _ids(session, query) -> list[int]:
    return list(session.scalars(query))


def end_runs(session, token: str, now: datetime) -> None:
    session.execute(update(E).where(E.claim == token, E.state == "active")
                    .values(state="exited", current_action_id=0, finished_at=now)
                    .execution_options(synchronize_session=False))


def send_email(session, token, action, p, now) -> None:
    """One ledger row per step (UNIQUE enrollment, action, step): the delivery side mails `pending` rows with
    every campaign rule (suppression, bounces, From policy); a row whose subscriber is not Subscribed is
    written `skipped`, so the step is still on record."""
    s = Subscriber
    status = (s.subscription_status == "Subscribed")
    query = (select(E.journey_id, literal(action.id), E.id, E.step_seq, s.id, s.email_address,
                    literal(int(p.get("EmailID", 0))), literal(now, JourneySend.due_at.type),
                    case((status, literal("pending")), else_=literal("skipped")), literal(""), literal(0),
                    literal(""), literal(""), literal(now, JourneySend.created_at.type))
             .join(s, s.id == E.subscriber_id).where(E.claim == token))
    session.execute(insert(JourneySend).from_select(
        ("journey_id", "action_id", "enrollment_id", "step_seq", "subscriber_id", "email_address", "email_id",
         "due_at", "state", "worker", "attempts", "last_error", "message_id", "created_at"), query))


def add_tag(session, token, action, p, now) -> None:
    tag = session.get(SubscriberTag, int(p.get("TargetTagID", 0)))
    if tag is None:
        return
    carries = exists().where(SubscriberTagAssignment.subscriber_id == E.subscriber_id,
                             SubscriberTagAssignment.tag_id == tag.id)
    fresh = (select(E.subscriber_id).join(Subscriber, Subscriber.id == E.subscriber_id)
             .where(E.claim == token, Subscriber.list_id == tag.list_id, ~carries))
    ids = _ids(session, fresh)
    if ids:
        session.execute(insert(SubscriberTagAssignment),
                        [{"subscriber_id": i, "tag_id": tag.id, "tagged_at": now} for i in ids])
        hooks.on_tagged(session, tag.id, ids, now)


def remove_tag(session, token, action, p, now) -> None:
    tag_id = int(p.get("TargetTagID", 0))
    ids = _ids(session, select(SubscriberTagAssignment.subscriber_id).where(
        SubscriberTagAssignment.tag_id == tag_id, SubscriberTagAssignment.subscriber_id.in_(claimed(token))))
    if ids:
        session.execute(delete(SubscriberTagAssignment).where(
            SubscriberTagAssignment.tag_id == tag_id, SubscriberTagAssignment.subscriber_id.in_(ids)))
        hooks.on_untagged(session, tag_id, ids, now)


def update_field(session, token, action, p, now) -> None:
    field = session.get(CustomField, int(p.get("TargetCustomFieldID", 0)))
    if field is None:
        return
    value = parsed_forms(str(p.get("NewCustomFieldValue", "")))
    applies = (select(E.subscriber_id).join(Subscriber, Subscriber.id == E.subscriber_id)
               .where(E.claim == token, or_(literal(field.list_id is None), Subscriber.list_id == field.list_id)))
    same = exists().where(SubscriberFieldValue.subscriber_id == E.subscriber_id,
                          SubscriberFieldValue.field_id == field.id, SubscriberFieldValue.value_text == value.text)
    changed = _ids(session, applies.where(~same))
    if not changed:
        return
    session.execute(delete(SubscriberFieldValue).where(SubscriberFieldValue.field_id == field.id,
                                                       SubscriberFieldValue.subscriber_id.in_(changed)))
    if value.text != "":
        session.execute(insert(SubscriberFieldValue), [
            {"subscriber_id": i, "field_id": field.id, "value_text": value.text, "value_number": value.number,
             "value_date": value.date} for i in changed])
    lists = session.execute(select(Subscriber.list_id, Subscriber.id).where(Subscriber.id.in_(changed))).all()
    for list_id in {row[0] for row in lists}:
        hooks.on_field_changed(session, list_id, field.id, [i for lid, i in lists if lid == list_id], now)


def subscribe(session, token, action, p, now) -> None:
    """Add the subscribers' addresses to the target list; an address already there (even unsubscribed) is
    left as it is: a journey never overrides an opt-out."""
    target = session.get(SubscriberList, int(p.get("TargetListID", 0)))
    if target is None:
        return
    present = aliased(Subscriber)
    there = exists().where(present.list_id == target.id, present.email_normalized == Subscriber.email_normalized)
    rows = session.execute(select(Subscriber.email_address, Subscriber.email_normalized)
                           .join(E, E.subscriber_id == Subscriber.id).where(E.claim == token, ~there).distinct()).all()
    if not rows:
        return
    session.execute(insert(Subscriber), [
        {"list_id": target.id, "email_address": a, "email_normalized": n, "subscription_status": "Subscribed",
         "subscription_date": now, "opt_in_date": now, "source": "Other", "source_ref": "journey"} for a, n in rows])
    new_ids = _ids(session, select(Subscriber.id).where(Subscriber.list_id == target.id,
                                                         Subscriber.email_normalized.in_([n for _, n in rows])))
    hooks.on_subscribed(session, target.id, new_ids, now)


def unsubscribe(session, token, action, p, now) -> None:
    target_id = int(p.get("TargetListID", 0))
    source = aliased(Subscriber)
    who = select(source.email_normalized).join(E, E.subscriber_id == source.id).where(E.claim == token)
    ids = _ids(session, select(Subscriber.id).where(
        Subscriber.list_id == target_id, Subscriber.subscription_status == "Subscribed",
        Subscriber.email_normalized.in_(who)))
    if ids:
        session.execute(update(Subscriber).where(Subscriber.id.in_(ids)).values(
            subscription_status="Unsubscribed", unsubscription_date=now, unsubscription_channel="Journey")
            .execution_options(synchronize_session=False))
        hooks.on_unsubscribed(session, target_id, ids, now)


def delete_subscriber(session, token, action, p, now) -> None:
    session.execute(delete(Subscriber).where(Subscriber.id.in_(_ids(session, claimed(token))))
                    .execution_options(synchronize_session=False))
    end_runs(session, token, now)


def start_journey(session, token, action, p, now) -> None:
    from engine.automation.journeys.enroll import enroll

    target = session.get(Journey, int(p.get("TargetJourneyID", 0)))
    if target is None or target.status != "Enabled":
        return
    for list_id in _ids(session, select(E.list_id).where(E.claim == token).distinct()):
        enroll(session, target, list_id, select(E.subscriber_id).where(E.claim == token, E.list_id == list_id), now)


def _exit_where(session, token, now, *conditions) -> None:
    session.execute(update(E).where(E.state == "active", E.subscriber_id.in_(_ids(session, claimed(token))),
                                    or_(E.claim.is_(None), E.claim != token), *conditions)
                    .values(state="exited", current_action_id=0, finished_at=now)
                    .execution_options(synchronize_session=False))


def exit_journeys(session, token, action, p, now) -> None:
    targets = p.get("TargetJourneyID") or []
    targets = targets if isinstance(targets, list) else [targets]
    _exit_where(session, token, now, E.journey_id.in_(targets))
    if action.journey_id in targets:
        end_runs(session, token, now)


def exit_this(session, token, action, p, now) -> None:
    end_runs(session, token, now)


def exit_others(session, token, action, p, now) -> None:
    _exit_where(session, token, now, E.journey_id != action.journey_id)


def exit_all(session, token, action, p, now) -> None:
    exit_others(session, token, action, p, now)
    end_runs(session, token, now)


def debug(session, token, action, p, now) -> None:
    count = session.scalar(select(literal(1)).where(E.claim == token).limit(1))
    log.info("journey %s Debug action %s: %s%s", action.journey_id, action.id, p.get("DebugMessage", ""),
             "" if count else " (nobody)")


def nothing(session, token, action, p, now) -> None:
    """Wait: its pause is in due_at."""


EFFECTS = {
    "SendEmail": send_email, "AddTag": add_tag, "RemoveTag": remove_tag, "UpdateCustomFieldValue": update_field,
    "Subscribe": subscribe, "Unsubscribe": unsubscribe, "DeleteSubscriber": delete_subscriber,
    "StartJourney": start_journey, "ExitJourney": exit_journeys, "ExitThisJourney": exit_this,
    "ExitAllOtherJourneys": exit_others, "ExitAllJourneys": exit_all, "Debug": debug, "Wait": nothing,
    "Webhook": webhook,
}
