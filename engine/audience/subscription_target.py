"""What a subscription reads before it writes, in one statement: the lists it names, their owner, the
owner's LimitSubscribers, whether each list has an integration URL for subscriptions, whether any custom
field applies to it, the address's row on each list, the owner's email-subscription record of it and whether
any of the owner's lists or account-wide suppressions knows the address.

Subscriber.Subscribe is public and answers every form post on the Internet; these were nine small reads
per call (the lists, the owner, the group's limit twice, the integration URLs, the fields, the address's
row, the record, the address's legacy state). The list and owner rows go to the session's identity map as
before, so later `session.get` calls (the automation hooks' users.list_triggers flag,
engine/automation/list_triggers.py) read nothing more. How the service uses each answer, and where it
still asks again: engine/audience/subscribers.py (subscribe) and email_subscriptions.py (known).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, exists, or_, select
from sqlalchemy.orm import aliased

from engine.audience.custom_fields import applicable_to
from engine.audience.list_integrations import listens
from engine.errors import ListNotFound
from engine.models import EmailSubscription, Subscriber, SubscriberList, Suppression, User, UserGroup


@dataclass
class SubscriptionTarget:
    lists: list[SubscriberList]        # in the order named (a list named twice is there twice)
    owner: User | None                 # the first list's owner; None when that account is gone
    subscriber_limit: int | None       # the owner's group's LimitSubscribers as stored (0 or less: none)
    listening: dict[int, bool]         # list ID -> an enabled integration URL for "subscription"
    has_fields: dict[int, bool]        # list ID -> a custom field applies to the list's subscribers
    subscriber_ids: dict[int, int | None]   # list ID -> the ID of the address's row on it, when there is one
    record: EmailSubscription | None   # the owner's record of the address (engine/audience/email_subscriptions.py)
    address_known: bool                # a list row of the owner's or an account-wide suppression has the address


_OwnLists = aliased(SubscriberList)
# Built once (building it costs more CPU than the database spends running it); SQLAlchemy caches its SQL.
_TARGET = (select(SubscriberList, User, UserGroup.limit_subscribers,
                  listens(SubscriberList.id, "subscription").label("listening"),
                  exists().where(applicable_to(SubscriberList)).label("has_fields"),
                  select(Subscriber.id).where(Subscriber.list_id == SubscriberList.id,
                                              Subscriber.email_normalized == bindparam("email"))
                  .scalar_subquery().label("subscriber_id"),
                  EmailSubscription,
                  or_(exists().where(_OwnLists.owner_user_id == SubscriberList.owner_user_id,
                                     Subscriber.list_id == _OwnLists.id, Subscriber.email_normalized == bindparam("email")),
                      exists().where(Suppression.owner_user_id == SubscriberList.owner_user_id,
                                     Suppression.list_scope == 0, Suppression.email_normalized == bindparam("email"))
                      ).label("address_known"))
           .join(User, User.id == SubscriberList.owner_user_id, isouter=True)
           .join(UserGroup, UserGroup.id == User.group_id, isouter=True)
           .join(EmailSubscription, and_(EmailSubscription.owner_user_id == SubscriberList.owner_user_id,
                                         EmailSubscription.email_normalized == bindparam("email")), isouter=True)
           .where(SubscriberList.id.in_(bindparam("ids", expanding=True))))


def subscription_target(session, list_ids: list[int], normalized: str | None) -> SubscriptionTarget:
    """The lists by ID, as ListService.get_public reads them (ListNotFound for the first one missing);
    `normalized`: the address (None when it is not one: nothing of it is read)."""
    rows = session.execute(_TARGET, {"ids": sorted(set(list_ids)), "email": normalized or ""}).all()
    found = {row[0].id: row for row in rows}
    missing = next((i for i in list_ids if i not in found), None)
    if missing is not None:
        raise ListNotFound()
    first = found[list_ids[0]]
    return SubscriptionTarget(lists=[found[i][0] for i in list_ids], owner=first[1], subscriber_limit=first[2],
                              listening={i: bool(row[3]) for i, row in found.items()},
                              has_fields={i: bool(row[4]) for i, row in found.items()},
                              subscriber_ids={i: row[5] for i, row in found.items()},
                              record=first[6] if normalized else None,
                              address_known=bool(first[7]) if normalized else True)
