"""Searching a list's subscribers: a segment, an optional keyword in one field, sorted and paged."""
from __future__ import annotations

import re
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, exists, false, func, or_, select

from engine.accounts.auth import Actor
from engine.errors import InvalidRules, InvalidSearchField, SegmentUnavailable
from engine.audience.lists import active_condition
from engine.models import Segment, Subscriber, SubscriberFieldValue, SubscriberList, Suppression
from engine.validation import as_id

# SubscriberSegment names (lower-cased, spaces removed) → canonical name.
NAMED_SEGMENTS = {
    "active": "Active", "unsubscribed": "Unsubscribed", "suppressed": "Suppressed", "softbounced": "Soft bounced",
    "hardbounced": "Hard bounced", "optinpending": "Opt-In Pending", "confirmationpending": "Opt-In Pending",
    "all": "All",
}
ORDER_COLUMNS = {
    "emailaddress": lambda: func.lower(Subscriber.email_address), "subscriberid": lambda: Subscriber.id,
    "subscriptiondate": lambda: Subscriber.subscription_date, "subscriptionip": lambda: Subscriber.subscription_ip,
    "optindate": lambda: Subscriber.opt_in_date, "subscriptionstatus": lambda: Subscriber.subscription_status,
    "bouncetype": lambda: Subscriber.bounce_type, "unsubscriptiondate": lambda: Subscriber.unsubscription_date,
}


@dataclass
class SubscriberQuery:
    segment: str | int = "Active"   # a NAMED_SEGMENTS value or a segment ID
    search_field: str | int | None = None  # "EmailAddress", "SubscriberID", "SubscriptionDate",
    keyword: str | None = None             # "SubscriptionIP", "OptInDate", or a custom field ID
    order_field: str | None = None  # lower-cased wire name; unknown → EmailAddress
    descending: bool = False
    offset: int = 0
    limit: int = 25


# What a subscriber's wire row shows (protocol/views/subscribers.py), by attribute name.
ROW_COLUMNS = (Subscriber.id, Subscriber.email_address, Subscriber.subscription_status, Subscriber.bounce_type,
               Subscriber.subscription_date, Subscriber.subscription_ip, Subscriber.unsubscription_date,
               Subscriber.unsubscription_ip, Subscriber.opt_in_date, Subscriber.source, Subscriber.source_ref,
               Subscriber.list_id)


class SubscriberSearchService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def search(self, actor: Actor, list_id: int, q: SubscriberQuery) -> tuple[SubscriberList, list, int]:
        """The owned list, the page of its subscribers `q` selects and how many it selects in all. The rows
        carry ROW_COLUMNS, read as tuples: loading them as Subscriber objects cost more than the search."""
        order = q.order_field if q.order_field in ORDER_COLUMNS else "emailaddress"
        list_row = self.uow.lists.get(actor, list_id)
        query = select(*ROW_COLUMNS).where(Subscriber.list_id == list_row.id,
                                           self._segment_filter(list_row, q.segment))
        if q.keyword is not None:
            query = query.where(self._search_filter(list_row, q.search_field or "EmailAddress", q.keyword))
        in_order = ordered(query, order, q.descending)
        # A segment's criteria run inside these statements: they get the audience time limit.
        with self.uow.audience.time_limit() if isinstance(q.segment, int) else nullcontext():
            total = self.s.scalar(select(func.count()).select_from(query.subquery()))
            rows = self.s.execute(in_order.offset(q.offset).limit(q.limit)).all() if q.limit else []
        return list_row, rows, total

    def target_filter(self, list_row: SubscriberList, segment: str | int):
        """The condition selecting a named segment (NAMED_SEGMENTS values) or a segment's members of the list
        (SegmentUnavailable when the segment is not the list's); exports select their Target with it."""
        return self._segment_filter(list_row, segment)

    def _segment_filter(self, list_row: SubscriberList, segment: str | int):
        if isinstance(segment, int):
            return Subscriber.id.in_(self._segment_members(list_row, segment))
        return named_segment_filter(list_row, segment)

    def _segment_members(self, list_row: SubscriberList, segment_id: int):
        segment = self.s.scalar(select(Segment).where(Segment.id == segment_id, Segment.list_id == list_row.id))
        if segment is None:
            raise SegmentUnavailable(f"segment {segment_id} does not exist in list {list_row.id}")
        try:
            return self.uow.audience.segment_subscriber_ids(segment)
        except InvalidRules as exc:
            raise SegmentUnavailable(f"segment {segment_id} cannot be evaluated: {exc.message}") from None

    def _search_filter(self, list_row: SubscriberList, search_field: str | int, keyword: str):
        if isinstance(search_field, int):
            field_ids = {f.id for f in self.uow.custom_fields.applicable(list_row)}
            if search_field not in field_ids:
                raise InvalidSearchField(f"custom field {search_field} is not a field of list {list_row.id}")
            return exists().where(SubscriberFieldValue.subscriber_id == Subscriber.id,
                                  SubscriberFieldValue.field_id == search_field,
                                  SubscriberFieldValue.value_text.icontains(keyword, autoescape=True))
        if search_field == "EmailAddress":
            return Subscriber.email_address.icontains(keyword, autoescape=True)
        if search_field == "SubscriptionIP":
            return Subscriber.subscription_ip.icontains(keyword, autoescape=True)
        if search_field == "SubscriberID":
            subscriber_id = as_id(keyword)
            return Subscriber.id == subscriber_id if subscriber_id is not None else false()
        column = Subscriber.subscription_date if search_field == "SubscriptionDate" else Subscriber.opt_in_date
        span = _date_prefix_span(keyword)
        return and_(column >= span[0], column < span[1]) if span else false()


def named_segment_filter(list_row, segment: str):
    """A NAMED_SEGMENTS value's condition; `list_row`: its id and owner_user_id (values or bound parameters)."""
    if segment == "Active":
        return active_condition()
    if segment in ("Unsubscribed", "Opt-In Pending"):
        return Subscriber.subscription_status == segment
    if segment in ("Soft bounced", "Hard bounced"):
        return Subscriber.bounce_type == segment.split()[0]
    if segment == "Suppressed":
        return exists().where(Suppression.owner_user_id == list_row.owner_user_id,
                              Suppression.email_normalized == Subscriber.email_normalized,
                              or_(Suppression.list_id.is_(None), Suppression.list_id == list_row.id))
    return Subscriber.id.isnot(None)  # "All"


def ordered(query, order: str, descending: bool):
    column = ORDER_COLUMNS[order]()
    tie = Subscriber.id.desc() if descending else Subscriber.id.asc()
    return query.order_by(column.desc() if descending else column.asc(), tie)


def _date_prefix_span(keyword: str) -> tuple[datetime, datetime] | None:
    """YYYY, YYYY-MM or YYYY-MM-DD as a [start, end) range of UTC instants."""
    match = re.fullmatch(r"\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*", keyword)
    if not match:
        return None
    year, month, day = int(match.group(1)), match.group(2), match.group(3)
    try:
        if day:
            start = datetime(year, int(month), int(day), tzinfo=timezone.utc)
            return start, start + timedelta(days=1)
        if month:
            start = datetime(year, int(month), 1, tzinfo=timezone.utc)
            end = datetime(year + (start.month == 12), start.month % 12 + 1, 1, tzinfo=timezone.utc)
            return start, end
        return datetime(year, 1, 1, tzinfo=timezone.utc), datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    except ValueError:
        return None
