"""Subscribers.Get's page: the owned list, how many subscribers the query selects, the page of them, the custom
fields that apply to the list and the page's values of those fields.

A named segment without a keyword (the common page of a list) runs prebuilt statements through the driver
(engine/hot_sql.py); the list, the count, the page and the field ids depend only on the call's parameters,
so on PostgreSQL they go together in one round trip (psycopg's pipeline), the page with its subscribers'
custom-field values: with the credentials, two round trips where there were nine (pre-ping, BEGIN, six
statements, ROLLBACK). Each statement of the first four checks the owner itself, so a list that is not the caller's
costs no more than a missing one. Any other query goes through SubscriberSearchService.search.
"""
from __future__ import annotations

import functools
from collections import namedtuple
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import bindparam, exists, func, select

from engine.accounts.auth import Actor
from engine.audience.custom_fields import applicable_to
from engine.audience.subscriber_search import ORDER_COLUMNS, ROW_COLUMNS, SubscriberQuery, named_segment_filter, ordered
from engine.errors import ListNotFound
from engine.hot_sql import HotStatement
from engine.models import CustomField, Subscriber, SubscriberFieldValue, SubscriberList


@dataclass
class SubscriberPage:
    list_row: object                        # the list's id and owner_user_id
    rows: list                              # ROW_COLUMNS by name, in page order
    total: int                              # how many the query selects in all
    field_ids: list[int]                    # the custom fields that apply to the list, by id
    values: dict[int, dict[int, str]]       # subscriber id → field id → text


class SubscriberPages:
    def __init__(self, uow):
        self.uow = uow

    def page(self, actor: Actor, list_id: int, q: SubscriberQuery) -> SubscriberPage:
        """The owned list's page `q` selects (ListNotFound when the list is not the caller's)."""
        return subscriber_page(self.uow, actor, list_id, q)


def subscriber_page(uow, actor: Actor, list_id: int, q: SubscriberQuery) -> SubscriberPage:
    if not (isinstance(q.segment, str) and q.keyword is None and not actor.is_admin):
        list_row, rows, total = uow.subscriber_search.search(actor, list_id, q)
        return SubscriberPage(list_row, rows, total, uow.custom_fields.applicable_ids(list_row),
                              uow.subscribers.values_of([r.id for r in rows]))
    uow.session.flush()   # read past the ORM: what this unit changed must be sent first
    conn = uow.session.connection()
    order = q.order_field if q.order_field in ORDER_COLUMNS else "emailaddress"
    count, page = _prebuilt(q.segment, order, q.descending)
    params = {"list_id": list_id, "owner_id": actor.id}
    reads = [(_OWNED_LIST, params), (count, params), (_APPLICABLE_IDS, params)]
    if q.limit:
        reads.append((page, {**params, "offset": q.offset, "limit": q.limit}))
    found = HotStatement.read_together(conn, reads)
    if not found[0]:
        raise ListNotFound()
    list_row = SimpleNamespace(id=found[0][0][0], owner_user_id=found[0][0][1])
    rows, values = _rows_and_values(found[3] if q.limit else [])
    return SubscriberPage(list_row, rows, found[1][0][0], [field_id for field_id, in found[2]], values)


def _rows_and_values(joined: list[tuple]) -> tuple[list, dict[int, dict[int, str]]]:
    """The page's rows (a row per subscriber and custom-field value, in page order) folded back into one
    row per subscriber and their values."""
    rows: list = []
    values: dict[int, dict[int, str]] = {}
    width = len(_ROW_NAMES)
    for row in joined:
        found = values.get(row[0])
        if found is None:
            found = values[row[0]] = {}
            rows.append(_Row(*row[:width]))
        if row[width] is not None:
            found[row[width]] = row[width + 1]
    return rows, values


_OWNER = SimpleNamespace(id=bindparam("list_id"), owner_user_id=bindparam("owner_id"))
_OWNED_LIST = HotStatement(select(SubscriberList.id, SubscriberList.owner_user_id).where(
    SubscriberList.id == _OWNER.id, SubscriberList.owner_user_id == _OWNER.owner_user_id))
_APPLICABLE_IDS = HotStatement(select(CustomField.id).where(applicable_to(_OWNER)).order_by(CustomField.id))
_ROW_NAMES = tuple(select(*ROW_COLUMNS).selected_columns.keys())
_Row = namedtuple("SubscriberRow", _ROW_NAMES)


@functools.cache   # at most NAMED_SEGMENTS × ORDER_COLUMNS × 2 pairs
def _prebuilt(segment: str, order: str, descending: bool) -> tuple[HotStatement, HotStatement]:
    """The count and the page statement for a named segment without a keyword, each checking the owner. The
    page carries its subscribers' custom-field values (a row per value, joined to the page once it is cut:
    the values of the page's people only)."""
    owned = exists().where(SubscriberList.id == Subscriber.list_id, SubscriberList.owner_user_id == _OWNER.owner_user_id)
    query = select(*ROW_COLUMNS).where(Subscriber.list_id == _OWNER.id, owned, named_segment_filter(_OWNER, segment))
    count = HotStatement(select(func.count()).select_from(query.subquery()))
    page = (ordered(query.add_columns(ORDER_COLUMNS[order]().label("sort_key")), order, descending)
            .offset(bindparam("offset")).limit(bindparam("limit")).subquery("page"))
    sort_key, tie = (page.c.sort_key.desc(), page.c.id.desc()) if descending else (page.c.sort_key, page.c.id)
    with_values = (select(*(page.c[name] for name in _ROW_NAMES), SubscriberFieldValue.field_id,
                          SubscriberFieldValue.value_text)
                   .select_from(page).outerjoin(SubscriberFieldValue, SubscriberFieldValue.subscriber_id == page.c.id)
                   .order_by(sort_key, tie, SubscriberFieldValue.field_id))
    return count, HotStatement(with_values)
