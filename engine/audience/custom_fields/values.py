"""Custom-field values of a list's subscribers: checked together (required, unique) and stored."""
from __future__ import annotations

from sqlalchemy import delete, func, select

from engine.audience.custom_fields.rules import MAX_VALUE_CHARS, FieldRules, FieldValue, is_blank, parsed_forms
from engine.errors import CustomFieldInvalid, CustomFieldNotUnique, CustomFieldRequired, UnknownCustomFields
from engine.models import CustomField, Subscriber, SubscriberFieldValue, SubscriberList


class FieldValues:
    """Reads, checks and stores the custom-field values of the subscribers of one list.

    Rules, in the order the legacy server applies them (v5.9.4 subscribers.md): per submitted
    field, in field-ID order, required → validation → uniqueness; then, only with
    `enforce_required`, the required fields the request left out.
    """

    def __init__(self, session, list_row: SubscriberList, fields: list[CustomField]):
        self.s = session
        self.list = list_row
        self.fields = {f.id: f for f in fields}
        self._rules: dict[int, FieldRules] = {}

    def rules(self, field_id: int) -> FieldRules:
        if field_id not in self._rules:
            self._rules[field_id] = FieldRules(self.fields[field_id])
        return self._rules[field_id]

    def check(self, submitted: dict[int, object], *, subscriber_id: int | None = None, strict: bool = False,
              enforce_required: bool = False) -> dict[int, FieldValue | None]:
        """The values to store (None = clear the field). Unknown field IDs are dropped, or with
        `strict` refused. `subscriber_id` is None for a subscriber about to be created."""
        unknown = sorted(i for i in submitted if i not in self.fields)
        if unknown and strict:
            raise UnknownCustomFields(unknown)
        values: dict[int, FieldValue | None] = {}
        for field_id in sorted(i for i in submitted if i in self.fields):
            field, raw = self.fields[field_id], submitted[field_id]
            if is_blank(raw):
                if field.is_required:
                    raise CustomFieldRequired(field, "is required")
                values[field_id] = None
                continue
            value = self.rules(field_id).parse(raw)
            if field.is_unique and value.text and self.taken(field, value.text, subscriber_id):
                raise CustomFieldNotUnique(field, f"'{value.text}' is already used by another subscriber")
            values[field_id] = value
        if enforce_required:
            stored = self.stored_ids(subscriber_id) if subscriber_id else set()
            for field in sorted(self.fields.values(), key=lambda f: f.id):
                if field.is_required and field.id not in values and field.id not in stored and not (
                        subscriber_id is None and field.list_id is not None and field.default_value.strip()):
                    raise CustomFieldRequired(field, "is required")
        return values

    def defaults(self, submitted: dict[int, object]) -> dict[int, FieldValue]:
        """A new subscriber's values for the list's own fields left out (their default values).
        Global fields are never defaulted, as on the legacy server."""
        values = {}
        for field in self.fields.values():
            if field.id in submitted or field.list_id is None or not field.default_value.strip():
                continue
            try:
                values[field.id] = self.rules(field.id).parse(field.default_value)
            except CustomFieldInvalid:
                values[field.id] = parsed_forms(field.default_value.strip()[:MAX_VALUE_CHARS])
        return values

    def taken(self, field: CustomField, text: str, subscriber_id: int | None) -> bool:
        query = select(SubscriberFieldValue.subscriber_id).join(
            Subscriber, Subscriber.id == SubscriberFieldValue.subscriber_id).where(
            SubscriberFieldValue.field_id == field.id, Subscriber.list_id == self.list.id,
            func.lower(SubscriberFieldValue.value_text) == text.lower())
        if subscriber_id is not None:
            query = query.where(SubscriberFieldValue.subscriber_id != subscriber_id)
        return self.s.scalar(query.limit(1)) is not None

    def stored_ids(self, subscriber_id: int) -> set[int]:
        return set(self.s.scalars(select(SubscriberFieldValue.field_id).where(
            SubscriberFieldValue.subscriber_id == subscriber_id)))

    def store(self, subscriber_id: int, values: dict[int, FieldValue | None]) -> None:
        if not values:
            return
        self.s.execute(delete(SubscriberFieldValue).where(
            SubscriberFieldValue.subscriber_id == subscriber_id,
            SubscriberFieldValue.field_id.in_(list(values))), execution_options={"synchronize_session": False})
        rows = [value_row(subscriber_id, field_id, v) for field_id, v in values.items() if v is not None]
        if rows:
            self.s.execute(SubscriberFieldValue.__table__.insert(), rows)


def value_row(subscriber_id: int, field_id: int, value: FieldValue) -> dict:
    return {"subscriber_id": subscriber_id, "field_id": field_id, "value_text": value.text,
            "value_number": value.number, "value_date": value.date}
