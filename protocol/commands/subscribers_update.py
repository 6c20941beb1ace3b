"""Subscribers.Update (the Oempro 4 manual as the generated PHP wrappers carry it; no v5.9.4 page): the same
custom-field values for many subscribers of one list (engine/audience/subscriber_field_bulk.py).

Parameters as madscience/oempro-api sends them: `SubscriberListID`, `Fields[CustomField<ID>]` (or top-level
`CustomField<ID>`), and `SubscriberIDs` and/or `EmailAddresses` (arrays or comma lists); `Access` is ignored.
Codes 1–4 are the wrappers' table; 4 ("Not all records updated") means a named subscriber is not on the list
and nothing was updated. 5–9 are Sendmill's (custom-field problems, as Subscriber.Update reports them).
"""
from __future__ import annotations

from marshmallow import validates_schema

from engine.errors import (
    CustomFieldInvalid, CustomFieldNotUnique, CustomFieldRequired, ListNotFound, SubscriberNotFound,
    UnknownCustomFields,
)
from protocol.command import Command, Context
from protocol.commands.subscriber_params import CUSTOM_FIELD_PARAMS, field_errors, field_values
from protocol.params import Id, IdList, LegacyField, LegacySchema, ParamError

FIELD_CODES = {CustomFieldRequired: 6, CustomFieldNotUnique: 7, CustomFieldInvalid: 8, UnknownCustomFields: 9}


class AddressList(LegacyField):
    """Email addresses: an array or a comma-separated list (each matched as the list stores it, case-insensitively)."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        return [str(i).strip()[:255] for i in self._list_items(value) if str(i).strip()]


class Params(LegacySchema):
    SubscriberListID = Id(required=True, code=1, invalid_code=3)
    SubscriberIDs = IdList(code=2, invalid_code=4)
    EmailAddresses = AddressList(code=2)

    @validates_schema
    def who(self, data, **kwargs):
        if not data.get("SubscriberIDs") and not data.get("EmailAddresses"):
            raise ParamError(2, "Either SubscriberIDs OR EmailAddresses is required")


def update(ctx: Context, p: dict) -> dict:
    values = field_values(ctx.params)
    if not values:
        raise ParamError(5, "give at least one Fields[CustomFieldN] or CustomFieldN value")
    with field_errors(FIELD_CODES, plural=True):
        updated = ctx.uow.subscriber_field_bulk.update(ctx.actor, p["SubscriberListID"], p.get("SubscriberIDs", []),
                                                       p.get("EmailAddresses", []), values)
    return {"TotalUpdated": updated}


SUBSCRIBERS_UPDATE = Command(
    name="Subscribers.Update", run=update, params=Params, permission="Subscriber.Update",
    extra_params=CUSTOM_FIELD_PARAMS,
    errors={1: "Missing subscriber list ID", 2: "Either SubscriberIDs OR EmailAddresses is required",
            3: "Subscriber list not found", 4: "Not all records updated (a subscriber is not on the list; "
                                               "nothing was updated)",
            5: "Missing Fields[CustomFieldN] values", 6: "Required custom field is missing.",
            7: "Custom field value is not unique.", 8: "Custom field value failed validation.",
            9: "Unknown custom field ID(s)"},
    raises={ListNotFound: 3, SubscriberNotFound: 4, **FIELD_CODES},
)

COMMANDS = (SUBSCRIBERS_UPDATE,)
