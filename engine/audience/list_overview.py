"""Lists.Overview: every list of an account with, on request, its custom fields, segments and subscriber
tags, in four queries whatever the number of lists (a picker's one round trip)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from engine.accounts.auth import Actor
from engine.models import CustomField, Segment, SubscriberList, SubscriberTag

ORDER_FIELDS = {"listid": SubscriberList.id, "name": func.lower(SubscriberList.name),
                "createdon": SubscriberList.created_at}


@dataclass
class ListOverview:
    list_row: SubscriberList
    custom_fields: list[CustomField] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    tags: list[SubscriberTag] = field(default_factory=list)


def overview(session, actor: Actor, *, search: str | None, order_field: str | None, descending: bool,
             archived: str) -> list[ListOverview]:
    """The owner's lists (`archived`: "active", "archived" or "all") with everything hung on them."""
    query = select(SubscriberList).where(SubscriberList.owner_user_id == actor.id)
    if archived != "all":
        is_archived = SubscriberList.archived_at.is_not(None)
        query = query.where(is_archived if archived == "archived" else ~is_archived)
    if search:
        query = query.where(or_(SubscriberList.name.icontains(search, autoescape=True),
                                SubscriberList.description.icontains(search, autoescape=True)))
    column = ORDER_FIELDS.get((order_field or "").lower(), ORDER_FIELDS["name"])
    tie = SubscriberList.id.desc() if descending else SubscriberList.id.asc()
    rows = [ListOverview(r) for r in session.scalars(query.order_by(column.desc() if descending else column.asc(), tie))]
    by_id = {r.list_row.id: r for r in rows}
    if not rows:
        return rows
    global_fields, own_fields = [], defaultdict(list)
    for f in session.scalars(select(CustomField).where(CustomField.owner_user_id == actor.id).order_by(CustomField.id)):
        (global_fields if f.list_id is None else own_fields[f.list_id]).append(f)
    for list_id, r in by_id.items():
        r.custom_fields = sorted(own_fields[list_id] + global_fields, key=lambda f: f.id)
    for s in session.scalars(select(Segment).where(Segment.owner_user_id == actor.id, Segment.list_id.in_(by_id))
                             .order_by(Segment.id)):
        by_id[s.list_id].segments.append(s)
    for t in session.scalars(select(SubscriberTag).where(SubscriberTag.owner_user_id == actor.id,
                                                         SubscriberTag.list_id.in_(by_id))
                             .order_by(func.lower(SubscriberTag.name), SubscriberTag.id)):
        by_id[t.list_id].tags.append(t)
    return rows
