"""CustomFields.Copy and Segments.Copy (the Oempro 4 manual, in both generated PHP wrappers; no v5.9.4 page):
a list's own custom fields, or its segments, copied to another list of the same account.

All or nothing. Fields whose name the target list already has are left out (a second run copies nothing);
copies keep every setting but the merge-tag alias, which is unique per account. A segment is copied with its
rules, checked against the target list: rules that name a custom field the target does not have refuse the
whole copy (InvalidRules), so no segment ever selects on a field of another list.
"""
from __future__ import annotations

from sqlalchemy import func, select

from engine.accounts.auth import Actor
from engine.audience.segments import RulesInput
from engine.errors import CopySourceListNotFound, CopyTargetListNotFound, ListNotFound
from engine.models import CustomField, Segment
from engine.audience.custom_fields import DEFINITION_KEYS


class ListCopies:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def _lists(self, actor: Actor, source_id: int, target_id: int):
        try:
            source = self.uow.lists.get(actor, source_id)
        except ListNotFound:
            raise CopySourceListNotFound() from None
        try:
            return source, self.uow.lists.get(actor, target_id)
        except ListNotFound:
            raise CopyTargetListNotFound() from None

    def custom_fields(self, actor: Actor, source_id: int, target_id: int) -> int:
        """Returns how many fields were copied."""
        source, target = self._lists(actor, source_id, target_id)
        taken = set(self.s.scalars(select(func.lower(CustomField.name)).where(CustomField.list_id == target.id)))
        copied = 0
        own = select(CustomField).where(CustomField.list_id == source.id).order_by(CustomField.id)
        for field in self.s.scalars(own):
            if field.name.lower() in taken:
                continue
            copy = {k: getattr(field, k) for k in DEFINITION_KEYS}
            self.s.add(CustomField(**{**copy, "merge_tag_alias": ""}, owner_user_id=target.owner_user_id,
                                   list_id=target.id, options=field.options, created_at=self.uow.clock()))
            copied += 1
        self.s.flush()
        return copied

    def segments(self, actor: Actor, source_id: int, target_id: int) -> int:
        """Returns how many segments were copied."""
        source, target = self._lists(actor, source_id, target_id)
        rows = list(self.s.scalars(select(Segment).where(Segment.list_id == source.id).order_by(Segment.id)))
        for row in rows:
            criteria = RulesInput(rules_json=row.rules_json) if row.rules_json else RulesInput()
            self.uow.segments.create(actor, target.id, row.name, row.rules_operator, criteria)
        return len(rows)
