"""Subscriber.Create (v5.9.4 subscribers.md): the list owner writes one subscriber with the status, dates
and IPs it gives. Errors are scalar codes with the /api/v1 `Errors` array beside them, as the page shows.

Sendmill's choices where the page leaves room (README, "Subscriber.Create"): dates are UTC; "Opt-Out
Pending" is refused with code 6 (Sendmill has no opt-out confirmation step, so no state to put it in);
custom-field values always pass their field's rules (a value Sendmill could not read back is never
stored), EnforceRequiredFields adds the check of required fields left out.
"""
from __future__ import annotations

from marshmallow import ValidationError, validates_schema

from engine.audience.subscriber_create import NewSubscriber, PreviouslyUnsubscribed
from engine.errors import (
    CustomFieldInvalid, CustomFieldNotUnique, CustomFieldRequired, EmailNotFound, InvalidEmailAddress, ListNotFound,
    SubscriberExists, SubscriberLimitReached, UnknownCustomFields,
)
from engine.models.subscribers import BOUNCE_TYPES
from protocol.command import ERRORS, Command, Context
from protocol.commands.apikeys import IPAddress
from protocol.commands.public_subscription import _source  # the Source rule Subscriber.Subscribe applies
from protocol.commands.subscriber_params import LegacyDateTime
from protocol.params import Bool, Choice, Id, Int, JsonValue, LegacySchema, ParamError, Text
from protocol.commands.subscribers import _subscriber_info
from protocol.views.subscriber_tags import subscriber_tag

STATUSES = ("Subscribed", "Opt-In Pending", "Opt-Out Pending", "Unsubscribed")
FIELD_CODES = {CustomFieldRequired: 26, CustomFieldNotUnique: 27, CustomFieldInvalid: 28}


class AddressText(Text):
    """Something shaped like an email address (local@domain); the engine decides whether it can be mailed."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        local, at, domain = text.rpartition("@")
        if not (local and at and domain) or any(c.isspace() for c in text):
            raise ValidationError("is not an email address")
        return text


class StoredDateTime(LegacyDateTime):
    """A date to store: years 1900–9999, which every backend's DATETIME holds (MariaDB's documented range
    starts at 1000, and no subscriber subscribed before 1900)."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.year < 1900:
            raise ValidationError("must be a date from 1900 on")
        return moment


class FieldMap(JsonValue):
    """CustomFields: {CustomFieldID: value}, as an object or a JSON string of one."""

    def _deserialize(self, value, attr, data, **kwargs) -> dict[int, object]:
        found = super()._deserialize(value, attr, data, **kwargs)
        if not isinstance(found, dict):
            raise ValidationError("must be an object of CustomFieldID: value")
        values = {}
        for key, item in found.items():
            text = str(key).strip().lower().removeprefix("customfield")
            if not text.isdigit() or int(text) <= 0:
                raise ValidationError(f"'{key}' is not a custom field ID")
            if isinstance(item, (dict, list)):
                raise ValidationError(f"the value of custom field {key} must be a single value")
            values[int(text)] = item
        return values


class CreateParams(LegacySchema):
    ListID = Id(required=True, code=1, invalid_code=4)
    EmailAddress = AddressText(required=True, max_length=255, code=2, invalid_code=3)
    Status = Choice(STATUSES, code=6)
    BounceType = Choice(BOUNCE_TYPES, code=5)
    SubscriptionDate = StoredDateTime(code=7)
    SubscriptionIP = IPAddress(code=10)
    UnsubscriptionDate = StoredDateTime(code=13)
    UnsubscriptionIP = IPAddress(code=14)
    OptInDate = StoredDateTime(code=16)
    CustomFields = FieldMap(code=17)
    EnforceRequiredFields = Bool()
    OptInConfirmationEmailID = Int(min_value=0, code=24)
    UpdateIfDuplicate = Bool()
    UpdateIfUnsubscribed = Bool()
    ApplyBehaviors = Bool()
    SendConfirmationEmail = Bool()
    UpdateStatistics = Bool()       # accepted: Sendmill's list figures are counted when read, never stale
    TriggerWebServices = Bool()     # accepted: Sendmill has no list web-service integrations to call
    TriggerAutoResponders = Bool()
    Source = Text(lenient=True)
    SourceRef = Text(lenient=True)

    @validates_schema
    def status_needs(self, data, **kwargs):
        status = data.get("Status", "Subscribed")
        if status == "Opt-Out Pending":
            raise ParamError(6, "Sendmill has no opt-out confirmation step, so no subscriber can wait in "
                                "Opt-Out Pending; create it Unsubscribed (or Subscribed) instead")
        needs = ((8, "SubscriptionDate"), (9, "SubscriptionIP")) if status in ("Subscribed", "Opt-In Pending") \
            else ((11, "UnsubscriptionDate"), (12, "UnsubscriptionIP"))
        for code, name in needs:
            if name not in data:
                raise ParamError(code, f"missing required parameter {name} (Status is {status})")


def create(ctx: Context, p: dict) -> dict:
    subscriber, _ = ctx.uow.subscriber_creation.create(ctx.actor, p["ListID"], NewSubscriber(
        email=p["EmailAddress"], status=p.get("Status", "Subscribed"), bounce_type=p.get("BounceType", "Not Bounced"),
        subscription_date=p.get("SubscriptionDate"), subscription_ip=p.get("SubscriptionIP", ""),
        unsubscription_date=p.get("UnsubscriptionDate"), unsubscription_ip=p.get("UnsubscriptionIP", ""),
        opt_in_date=p.get("OptInDate"), values=p.get("CustomFields", {}),
        enforce_required=p.get("EnforceRequiredFields", False),
        confirmation_email_id=p.get("OptInConfirmationEmailID") or None,
        update_if_duplicate=p.get("UpdateIfDuplicate", False), update_if_unsubscribed=p.get("UpdateIfUnsubscribed", False),
        apply_behaviours=p.get("ApplyBehaviors", False), send_confirmation_email=p.get("SendConfirmationEmail", False),
        trigger_autoresponders=p.get("TriggerAutoResponders", False),
        source=_source(p.get("Source")), source_ref=p.get("SourceRef", "")))
    tags = ctx.uow.subscriber_tags.tags_of([subscriber.id])[subscriber.id]   # an updated duplicate keeps its tags
    return {
        "SubscriberInformation": _subscriber_info(ctx, subscriber, ctx.uow.lists.get(ctx.actor, p["ListID"])),
        "Suppressed": ctx.uow.subscribers.is_suppressed(subscriber),
        "SubscriberTags": [subscriber_tag(t) for t in tags],
        # As Subscriber.Get answers them: Sendmill computes no segment membership or journey list per subscriber here.
        "SubscriberSegments": [], "SubscriberJourneys": [], "SubscriberWebsiteEvents": [],
    }


SUBSCRIBER_CREATE = Command(
    name="Subscriber.Create", run=create, params=CreateParams, permission="Subscribers.Import", error_shape=ERRORS,
    errors={
        1: "Missing ListID parameter",
        2: "Missing EmailAddress parameter",
        3: "Invalid EmailAddress",
        4: "Invalid ListID",
        5: "Invalid BounceType value",
        6: "Invalid Status value",
        7: "Invalid SubscriptionDate value",
        8: "Missing SubscriptionDate parameter",
        9: "Missing SubscriptionIP parameter",
        10: "Invalid SubscriptionIP value",
        11: "Missing UnsubscriptionDate parameter",
        12: "Missing UnsubscriptionIP parameter",
        13: "Invalid UnsubscriptionDate value",
        14: "Invalid UnsubscriptionIP value",
        15: "Missing OptInDate parameter",
        16: "Invalid OptInDate value",
        17: "Invalid Custom Field value",
        18: "Subscriber create limit is exceeded",
        19: "Invalid EmailAddress",
        20: "Duplicate EmailAddress",
        21: "Previously unsubscribed EmailAddress",
        22: "Invalid user information",
        23: "Invalid list information",
        24: "Invalid OptInConfirmationEmailID value",
        25: "Invalid OptInConfirmationEmailID (email does not exist or does not belong to user)",
        26: "Required custom field is empty or was omitted",
        27: "Unique custom field value already exists",
        28: "Custom field value failed its validation method",
    },
    raises={ListNotFound: 23, InvalidEmailAddress: 19, SubscriberExists: 20, PreviouslyUnsubscribed: 21,
            SubscriberLimitReached: 18, EmailNotFound: 25, UnknownCustomFields: 17, **FIELD_CODES},
)

COMMANDS = (SUBSCRIBER_CREATE,)
