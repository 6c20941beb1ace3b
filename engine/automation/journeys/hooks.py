"""Event sites call these, one line each, in the transaction of the event: the enabled journeys whose
trigger matches enroll the subscribers (enroll.py: one INSERT … SELECT per journey).

Each takes the session, what happened, the subscriber row IDs (a list or a Select of IDs) and when. They
never raise for a journey's sake: a journey whose criteria no longer compile enrolls nobody (criteria.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

from engine.automation.list_triggers import listening
from engine.models import Journey, SubscriberList


def _journeys(session, owner_id: int, trigger: str, *conditions) -> list[Journey]:
    return list(session.scalars(select(Journey).where(
        Journey.owner_user_id == owner_id, Journey.trigger == trigger, Journey.status == "Enabled", *conditions)
        .order_by(Journey.id)))


def _owner(session, list_id: int) -> int | None:
    list_row = session.get(SubscriberList, list_id)   # mostly in the identity map already
    return list_row.owner_user_id if list_row is not None else None


def _run(session, journeys, list_id, ids, at, **kwargs) -> int:
    from engine.automation.journeys.enroll import enroll

    if not journeys or (not isinstance(ids, Select) and not ids):
        return 0
    return sum(enroll(session, journey, list_id, ids, at, **kwargs) for journey in journeys)


def on_subscribed(session, list_id: int, subscriber_ids, at: datetime) -> int:
    if not listening(session, list_id):
        return 0   # the account has no journey a list event starts (engine/automation/list_triggers.py)
    owner = _owner(session, list_id)
    return _run(session, _journeys(session, owner, "ListSubscription", Journey.trigger_list_id.in_((0, list_id))),
                list_id, subscriber_ids, at)


def on_unsubscribed(session, list_id: int, subscriber_ids, at: datetime) -> int:
    if not listening(session, list_id):
        return 0
    owner = _owner(session, list_id)
    return _run(session, _journeys(session, owner, "ListUnsubscription", Journey.trigger_list_id.in_((0, list_id))),
                list_id, subscriber_ids, at, subscribed_only=False)


def _tag_event(session, trigger: str, tag_id: int, subscriber_ids, at: datetime) -> int:
    from engine.models import SubscriberTag

    tag = session.get(SubscriberTag, tag_id)
    if tag is None:
        return 0
    return _run(session, _journeys(session, tag.owner_user_id, trigger, Journey.trigger_value == str(tag_id)),
                tag.list_id, subscriber_ids, at)


def on_tagged(session, tag_id: int, subscriber_ids, at: datetime) -> int:
    return _tag_event(session, "Tag", tag_id, subscriber_ids, at)


def on_untagged(session, tag_id: int, subscriber_ids, at: datetime) -> int:
    return _tag_event(session, "UnTag", tag_id, subscriber_ids, at)


def _email_event(session, trigger: str, list_id: int, email_id: int, subscriber_ids, at: datetime) -> int:
    owner = _owner(session, list_id)
    return _run(session, _journeys(session, owner, trigger, Journey.trigger_email_id.in_((0, email_id or 0))),
                list_id, subscriber_ids, at)


def on_opened(session, list_id: int, email_id: int, subscriber_ids, at: datetime) -> int:
    return _email_event(session, "EmailOpen", list_id, email_id, subscriber_ids, at)


def on_clicked(session, list_id: int, email_id: int, subscriber_ids, at: datetime) -> int:
    return _email_event(session, "EmailLinkClick", list_id, email_id, subscriber_ids, at)


def on_field_changed(session, list_id: int, field_id: int, subscriber_ids, at: datetime) -> int:
    owner = _owner(session, list_id)
    journeys = _journeys(session, owner, "CustomFieldValueChanged", Journey.trigger_list_id.in_((0, list_id)),
                         Journey.trigger_value.in_(("", "0", str(field_id))))
    return _run(session, journeys, list_id, subscriber_ids, at)


def on_completed(session, journey: Journey, list_id: int, subscriber_ids, at: datetime) -> int:
    """Subscribers finished `journey`: the journeys triggered by its completion take them in. A chain
    advances one link per runner step, so a cycle of journeys re-enrolls at the runner's pace, never in a
    loop inside one transaction (README "Journeys")."""
    journeys = _journeys(session, journey.owner_user_id, "JourneyCompleted", Journey.trigger_value == str(journey.id),
                         Journey.id != journey.id)
    return _run(session, journeys, list_id, subscriber_ids, at)


def on_tag_pairs(session, pairs: list[tuple[int, int]], at: datetime) -> int:
    """Tags just put on subscribers, as (tag ID, subscriber ID) pairs (Subscriber.Tag)."""
    by_tag: dict[int, list[int]] = {}
    for tag_id, subscriber_id in pairs:
        by_tag.setdefault(tag_id, []).append(subscriber_id)
    return sum(on_tagged(session, tag_id, ids, at) for tag_id, ids in by_tag.items())


def before_untag(session, tag_ids, subscriber_ids: list[int], at: datetime) -> int:
    """Tags about to be taken off (Subscriber.Untag): the UnTag journeys take in those who carry them now."""
    from engine.models import SubscriberTagAssignment as A

    entered = 0
    for tag_id in sorted(tag_ids):
        carriers = select(A.subscriber_id).where(A.tag_id == tag_id, A.subscriber_id.in_(subscriber_ids))
        entered += on_untagged(session, tag_id, carriers, at)
    return entered


def field_texts(session, subscriber_id: int, field_ids: list[int]) -> dict[int, str]:
    """The subscriber's stored texts of these fields (absent: no value), read before they change."""
    from engine.models import SubscriberFieldValue as V

    if not field_ids:
        return {}
    return dict(session.execute(select(V.field_id, V.value_text).where(
        V.subscriber_id == subscriber_id, V.field_id.in_(field_ids))).all())


def after_update(session, list_id: int, subscriber_id: int, status_before: str, status_after: str,
                 texts_before: dict[int, str], values: dict, at: datetime) -> int:
    """Subscriber.Update: a status change fires the list triggers, a changed custom field its trigger."""
    entered = 0
    if status_after != status_before and status_after == "Subscribed":
        entered += on_subscribed(session, list_id, [subscriber_id], at)
    if status_after != status_before and status_after == "Unsubscribed":
        entered += on_unsubscribed(session, list_id, [subscriber_id], at)
    for field_id, value in values.items():
        if (getattr(value, "text", None) if value is not None else None) != texts_before.get(field_id):
            entered += on_field_changed(session, list_id, field_id, [subscriber_id], at)
    return entered
