"""Finding autoresponders: one list's (AutoResponders.Get) or all of the owner's lists'
(AutoResponders.AcrossLists.Get), filtered, ordered and paged in SQL."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, func, literal, select

from engine.audience.compiler import ESCAPE, like_escape
from engine.audience.sqlfuncs import folded, prepare_connection
from engine.accounts.auth import Actor
from engine.models import AutoResponder
from engine.models.automation import COUNTER_COLUMNS

# OrderField (wire name) → column; anything else sorts by name, as the documented default does.
ORDER_COLUMNS = {
    "AutoResponderName": func.lower(AutoResponder.name), "AutoResponderID": AutoResponder.id,
    "Status": AutoResponder.status, "RelListID": AutoResponder.list_id, "TotalRevenue": AutoResponder.total_revenue,
    **{"".join(part.capitalize() for part in column.split("_")): getattr(AutoResponder, column)
       for column in COUNTER_COLUMNS},
}


@dataclass
class AutoResponderQuery:
    list_id: int | None = None          # None: every list of the owner
    keyword: str | None = None          # case-insensitive substring of the name
    trigger_type: str | None = None
    trigger_value: str | None = None    # only with trigger_type
    status: str | None = None
    order_field: str | None = None
    descending: bool = False
    offset: int = 0
    limit: int = 0                      # 0: every row


class AutoResponderQueries:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def search(self, actor: Actor, q: AutoResponderQuery, *, list_required: bool = True
               ) -> tuple[list[AutoResponder], int]:
        """(the page, the filtered total). With `list_required` the list must be the caller's
        (ListNotFound); without, a list that is not the caller's simply has no autoresponders."""
        if q.list_id is not None and list_required:
            self.uow.lists.get(actor, q.list_id)
        query = select(AutoResponder).where(AutoResponder.owner_user_id == actor.id)
        if q.list_id is not None:
            query = query.where(AutoResponder.list_id == q.list_id)
        if q.keyword:
            prepare_connection(self.s)  # SQLite: the Unicode-aware lower() behind folded()
            pattern = literal(f"%{like_escape(q.keyword)}%", String())
            query = query.where(folded(AutoResponder.name).like(folded(pattern), escape=ESCAPE))
        if q.trigger_type is not None:
            query = query.where(AutoResponder.trigger_type == q.trigger_type)
            if q.trigger_value is not None:
                query = query.where(AutoResponder.trigger_value == q.trigger_value)
        if q.status is not None:
            query = query.where(AutoResponder.status == q.status)
        total = self.s.scalar(select(func.count()).select_from(query.subquery()))
        column = ORDER_COLUMNS.get(q.order_field or "", ORDER_COLUMNS["AutoResponderName"])
        tie = AutoResponder.id.desc() if q.descending else AutoResponder.id.asc()
        query = query.order_by(column.desc() if q.descending else column.asc(), tie).offset(q.offset)
        if q.limit:
            query = query.limit(q.limit)
        return list(self.s.scalars(query)), total
