"""Segments: named RulesJson criteria on one list (protocol.md §3.6, §5).

Rules are validated by the audience parser before anything is stored, against the list the
segment will belong to, so a stored segment always compiles (unless something it refers to is
deleted later, in which case it fails closed). A segment without rules selects nobody.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update

from engine.audience import rules
from engine.accounts.auth import Actor
from engine.errors import InvalidRules, ListNotFound, SegmentNotFound
from engine.models import AutoResponder, CampaignRecipient, Segment, SubscriberList
from engine.ownership import require_owned_ids

# Segments.Get OrderField (v5.9.4 allow-list) → how to sort; anything else falls back to the default.
ORDER_FIELDS = ("SegmentName", "SegmentID", "SegmentOperator", "SubscriberCount", "SubscriberCountLastCalculatedOn")


@dataclass
class RulesInput:
    """Criteria as a command received them: RulesJson, or the legacy SegmentRule* arrays."""

    rules_json: Any = None
    fields: list | None = None
    operators: list | None = None
    filters: list | None = None

    @property
    def given(self) -> bool:
        return self.rules_json is not None or any(x is not None for x in (self.fields, self.operators, self.filters))

    def document(self) -> Any:
        if self.rules_json is not None:
            return rules.load_json(self.rules_json)
        return rules.legacy_rule_arrays(_as_list(self.fields), _as_list(self.operators), _as_list(self.filters))


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, dict):  # `a[0]=x&a[1]=y` arrives as a map
        return [value[k] for k in sorted(value, key=lambda k: (len(str(k)), str(k)))]
    return value if isinstance(value, list) else [value]


@dataclass
class SegmentRow:
    segment: Segment
    subscriber_count: int | None  # None when totals were not asked for


class SegmentService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def get(self, actor: Actor, segment_id: int, *, for_update: bool = False) -> Segment:
        query = select(Segment).where(Segment.id == segment_id, Segment.owner_user_id == actor.id)
        if for_update:
            query = query.with_for_update()
        segment = self.s.scalar(query)
        if segment is None:
            raise SegmentNotFound()
        return segment

    def _owned_list(self, actor: Actor, list_id: int) -> SubscriberList:
        found = self.s.scalar(select(SubscriberList).where(
            SubscriberList.id == list_id, SubscriberList.owner_user_id == actor.id))
        if found is None:
            raise ListNotFound()
        return found

    def _checked_rules(self, actor: Actor, list_id: int, document: Any, operator: str) -> str:
        """Validate criteria for the list; return them as the JSON text to store."""
        self.uow.audience.parse_rules(actor.id, list_id, document, operator)
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))

    # --- commands --------------------------------------------------------------------------------
    def create(self, actor: Actor, list_id: int, name: str, operator: str, criteria: RulesInput) -> Segment:
        self._owned_list(actor, list_id)
        rules_json = ""
        if criteria.given:
            rules_json = self._checked_rules(actor, list_id, criteria.document(), operator)
        segment = Segment(owner_user_id=actor.id, list_id=list_id, name=name, rules_operator=operator,
                          rules_json=rules_json, created_at=self.uow.clock())
        self.s.add(segment)
        self.s.flush()
        return segment

    def update(self, actor: Actor, segment_id: int, name: str, *, list_id: int | None = None,
               operator: str | None = None, criteria: RulesInput | None = None) -> Segment:
        """Rename and optionally re-point, change the operator or replace the rules.

        Kept rules are re-validated when the segment moves, so moving it to a list where its custom
        fields do not exist is refused rather than stored broken.
        """
        segment = self.get(actor, segment_id, for_update=True)
        moved = list_id is not None and list_id != segment.list_id
        if moved:
            self._owned_list(actor, list_id)
            segment.list_id = list_id
        if operator is not None:
            segment.rules_operator = operator
        if criteria is not None and criteria.given:
            segment.rules_json = self._checked_rules(actor, segment.list_id, criteria.document(),
                                                     segment.rules_operator)
        elif moved and segment.rules_json.strip():
            self.uow.audience.parse_rules(actor.id, segment.list_id, segment.rules_json, segment.rules_operator)
        segment.name = name
        self.s.flush()
        self.uow.approval.targeting_edited(segment.owner_user_id)
        return segment

    def search(self, actor: Actor, list_id: int, *, segment_id: int | None = None, order_field: str | None = None,
               descending: bool = True, include_totals: bool = True) -> list[SegmentRow]:
        self._owned_list(actor, list_id)
        query = select(Segment).where(Segment.list_id == list_id, Segment.owner_user_id == actor.id)
        if segment_id is not None:
            query = query.where(Segment.id == segment_id)
        column = {"SegmentID": Segment.id, "SegmentOperator": Segment.rules_operator}.get(
            order_field, func.lower(Segment.name))
        tie = Segment.id.desc() if descending else Segment.id.asc()
        query = query.order_by(column.desc() if descending else column.asc(), tie)
        counting = include_totals or order_field == "SubscriberCount"
        result = [SegmentRow(s, self.count(s) if counting else None) for s in self.s.scalars(query)]
        if order_field == "SubscriberCount":
            result.sort(key=lambda r: (r.subscriber_count, r.segment.id), reverse=descending)
        if not include_totals:
            for row in result:
                row.subscriber_count = None
        return result

    def count(self, segment: Segment) -> int:
        """Subscribers the segment selects now; 0 when something it refers to no longer exists."""
        try:
            return self.uow.audience.segment_count(segment)
        except InvalidRules:
            return 0

    def delete(self, actor: Actor, segment_ids: list[int]) -> int:
        """Delete the caller's segments (all or nothing) and the campaign targeting that used them; the
        autoresponders scoped to them are disabled and lose the scope."""
        owned = require_owned_ids(self.s, Segment, segment_ids, actor, SegmentNotFound, "segment")
        self.s.execute(delete(CampaignRecipient).where(CampaignRecipient.segment_id.in_(owned)))
        # An autoresponder scoped to the segment is disabled before its scope goes: whole-list scope
        # must never start by itself (it is Disabled until its owner reviews it and enables it again).
        self.s.execute(update(AutoResponder).where(AutoResponder.segment_id.in_(owned))
                       .values(segment_id=None, status="Disabled"), execution_options={"synchronize_session": False})
        self.s.execute(delete(Segment).where(Segment.id.in_(owned)))
        # An excluded segment gone widens an audience: approved campaigns of an Untrusted owner wait again.
        self.uow.approval.targeting_edited(actor.id)
        return len(owned)
