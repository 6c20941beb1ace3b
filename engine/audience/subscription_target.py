"""What a subscription reads before it writes, in one statement: the lists it names, their owner, the
owner's LimitSubscribers, whether each list has an integration URL for subscriptions and whether any custom
field applies to it.

Subscriber.Subscribe is public and answers every form post on the Internet; these were four to five
small reads per call (the lists, the owner, the group's limit twice, the integration URLs, the fields). The list and
owner rows go to the session's identity map as before, so later `session.get` calls (the automation
hooks' users.list_triggers flag, engine/automation/list_triggers.py) read nothing more.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, select

from engine.audience.custom_fields import applicable_to
from engine.audience.list_integrations import listens
from engine.errors import ListNotFound
from engine.models import SubscriberList, User, UserGroup


@dataclass
class SubscriptionTarget:
    lists: list[SubscriberList]        # in the order named (a list named twice is there twice)
    owner: User | None                 # the first list's owner; None when that account is gone
    subscriber_limit: int | None       # the owner's group's LimitSubscribers as stored (0 or less: none)
    listening: dict[int, bool]         # list ID -> an enabled integration URL for "subscription"
    has_fields: dict[int, bool]        # list ID -> a custom field applies to the list's subscribers


# Built once (building it costs more CPU than the database spends running it); SQLAlchemy caches its SQL.
_TARGET = (select(SubscriberList, User, UserGroup.limit_subscribers,
                  listens(SubscriberList.id, "subscription").label("listening"),
                  exists().where(applicable_to(SubscriberList)).label("has_fields"))
           .join(User, User.id == SubscriberList.owner_user_id, isouter=True)
           .join(UserGroup, UserGroup.id == User.group_id, isouter=True)
           .where(SubscriberList.id.in_(bindparam("ids", expanding=True))))


def subscription_target(session, list_ids: list[int]) -> SubscriptionTarget:
    """The lists by ID, as ListService.get_public reads them (ListNotFound for the first one missing)."""
    rows = session.execute(_TARGET, {"ids": sorted(set(list_ids))}).all()
    found = {row[0].id: row for row in rows}
    missing = next((i for i in list_ids if i not in found), None)
    if missing is not None:
        raise ListNotFound()
    first = found[list_ids[0]]
    return SubscriptionTarget(lists=[found[i][0] for i in list_ids], owner=first[1], subscriber_limit=first[2],
                              listening={i: bool(row[3]) for i, row in found.items()},
                              has_fields={i: bool(row[4]) for i, row in found.items()})
