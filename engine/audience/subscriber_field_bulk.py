"""Subscribers.Update (the Oempro 4 manual, in the generated PHP wrappers): the same custom-field values for
many subscribers of one list at once, named by ID or by address.

All or nothing: every named subscriber must be on the list (otherwise nothing changes), the values are
checked once, and each field is written with one DELETE and one INSERT … SELECT over the matched
subscribers. A unique field cannot take one value for several subscribers. Journeys triggered by a custom
field change hear of the subscribers whose value changed, as with Subscriber.Update.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, insert, literal, or_, select

from engine.accounts.auth import Actor
from engine.automation.journeys import hooks as journey_hooks
from engine.errors import CustomFieldNotUnique, SubscriberNotFound
from engine.models import Subscriber, SubscriberFieldValue
from engine.validation import normalize_email


class SubscriberFieldBulkUpdate:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def update(self, actor: Actor, list_id: int, subscriber_ids: list[int], emails: list[str],
               submitted: dict[int, object]) -> int:
        """Returns how many subscribers were updated."""
        list_row = self.uow.lists.get(actor, list_id)
        normalized = {normalize_email(e) or e.strip().lower() for e in emails}
        matched = list(self.s.scalars(select(Subscriber.id).where(
            Subscriber.list_id == list_row.id,
            or_(Subscriber.id.in_(subscriber_ids), Subscriber.email_normalized.in_(normalized)))
            .order_by(Subscriber.id).with_for_update()))
        found_emails = set(self.s.scalars(select(Subscriber.email_normalized).where(Subscriber.id.in_(matched))))
        missing = [i for i in subscriber_ids if i not in matched] + sorted(normalized - found_emails)
        if missing:
            raise SubscriberNotFound(f"{missing[0]} is not a subscriber of this list (nothing was updated)")
        fields = self.uow.custom_fields.values_for(list_row)
        values = fields.check(submitted, subscriber_id=matched[0] if len(matched) == 1 else None, strict=True)
        for field_id, value in values.items():
            if value is not None and fields.fields[field_id].is_unique and len(matched) > 1:
                raise CustomFieldNotUnique(fields.fields[field_id], "one value cannot be unique to several subscribers")
        now = self.uow.clock()
        for field_id, value in values.items():
            self._store(list_row.id, matched, field_id, value, now)
        return len(matched)

    def _store(self, list_id: int, subscriber_ids: list[int], field_id: int, value, now: datetime) -> None:
        v = SubscriberFieldValue
        having = select(v.subscriber_id).where(v.field_id == field_id, v.subscriber_id.in_(subscriber_ids))
        if value is None:   # clearing: unchanged where there is no value
            unchanged = set(subscriber_ids) - set(self.s.scalars(having))
        else:
            unchanged = set(self.s.scalars(having.where(v.value_text == value.text)))
        self.s.execute(delete(v).where(and_(v.field_id == field_id, v.subscriber_id.in_(subscriber_ids))),
                       execution_options={"synchronize_session": False})
        if value is not None:
            self.s.execute(insert(v).from_select(
                ["subscriber_id", "field_id", "value_text", "value_number", "value_date"],
                select(Subscriber.id, literal(field_id), literal(value.text, v.value_text.type),
                       literal(value.number, v.value_number.type), literal(value.date, v.value_date.type))
                .where(Subscriber.id.in_(subscriber_ids))))
        changed = [i for i in subscriber_ids if i not in unchanged]
        if changed:
            journey_hooks.on_field_changed(self.s, list_id, field_id, changed, now)
