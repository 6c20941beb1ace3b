"""Subscribers (api-reference/subscribers.md, v5.6.x and v5.9.4 subscribers.md; protocol.md §3.4, §6).

Subscriber.Subscribe, Subscriber.Unsubscribe and Subscriber.OptIn are public (Part 1 §12): they
work without credentials and ignore a blank, 0 or stale SessionID. Command errors are lists
(`"ErrorCode": [9]`, as the official WordPress widget counts and loops them), except
Subscribers.Get, whose documented scalar shape is kept (legacy-clients.md §6).
"""
from __future__ import annotations

import ipaddress
import json
import re
from contextlib import contextmanager

from marshmallow import ValidationError, validates_schema

from engine.errors import (
    AlreadyUnsubscribed, CampaignNotFound, ConfirmationCodeRequired, CustomFieldInvalid,
    CustomFieldNotUnique, CustomFieldRequired, CustomFieldValueError, EmailMappedTwice, EmailNotFound,
    EmailNotMapped, ImportFormatError, InvalidConfirmationCode, InvalidEmailAddress, InvalidFieldMapping,
    InvalidRules, InvalidSearchField, ListNotFound, ListOwnerUnavailable, SegmentUnavailable, SubscriberExists,
    SubscriberLimitReached, SubscriberNotFound, UnknownCustomFields,
)
from engine.custom_fields import iso_datetime
from engine.importer import ImportOptions
from engine.models.subscribers import BOUNCE_TYPES, SUBSCRIBER_SOURCES, SUBSCRIPTION_STATUSES
from engine.subscribers import NAMED_SEGMENTS, SubscriberQuery
from engine.validation import as_id, normalize_email
from protocol.command import PUBLIC, SCALAR, Command, Context
from protocol.params import (
    MISSING, Bool, Choice, Id, IdList, Int, LegacyField, LegacySchema, ParamError, Text,
)
from protocol.views.subscribers import import_report, subscribed, subscriber_row

OK = {"ErrorText": ""}
DEFAULT_PAGE = 25
# Subscribers.Get answers are built in memory: a page holds at most this many rows (TotalSubscribers
# always gives the full count, so a client can page through any list).
MAX_PAGE = 50_000
_FIELD_KEY = re.compile(r"customfield(\d{1,18})")
_NESTED_FIELD_KEY = re.compile(r"(?:customfield)?(\d{1,18})")
STATUS_ALIASES = {"Confirmation Pending": "Opt-In Pending", "Pending": "Opt-In Pending", "Active": "Subscribed"}


# --- shared parameter types and helpers --------------------------------------------------------
class IpText(Text):
    """The subscriber's IP address. Proxied PHP forms send X-Forwarded-For lists ("a, b"): the
    first valid address is kept; anything else is stored as given (it is only a record)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        for part in text.split(","):
            try:
                return str(ipaddress.ip_address(part.strip()))
            except ValueError:
                continue
        return text[:64]


class EmailText(Text):
    def __init__(self, **kwargs):
        super().__init__(max_length=255, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if normalize_email(text) is None:
            raise ValidationError(f"'{text}' is not a valid email address")
        return text


class RulesJsonText(Text):
    """RulesJSON criteria: a JSON document sent as a string (v5.9.3: a nested array or object in a
    JSON body is refused, not guessed at). Parsed and checked by the engine's audience compiler."""

    def __init__(self, **kwargs):
        super().__init__(strip=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if not isinstance(value, str):
            raise ValidationError("send RulesJSON as a JSON-encoded string, not as a nested array or object")
        return super()._deserialize(value, attr, data, **kwargs)


def rules_operator(data: dict, code: int) -> str:
    """The RulesOperator that must accompany RulesJSON: "and" or "or"; anything else is `code`
    (no silent default: a wrong connector would select more subscribers than meant)."""
    operator = data.get("RulesOperator", "").strip().lower()
    if operator not in ("and", "or"):
        raise ParamError(code, 'RulesOperator must be "and" or "or" when RulesJSON is given')
    return operator


class LegacyDateTime(LegacyField):
    """"YYYY-MM-DD" or "YYYY-MM-DD HH:MM[:SS]" (UTC)."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = iso_datetime(self._scalar_text(value).strip())
        if moment is None:
            raise ValidationError("must be YYYY-MM-DD or YYYY-MM-DD HH:MM:SS")
        return moment


def field_values(params: dict) -> dict[int, object]:
    """Custom-field values from top-level `CustomField<ID>` keys and from `Fields[CustomField<ID>]`
    (or `Fields[<ID>]`); the request parser has already lower-cased every key at every depth."""
    values = {int(m.group(1)): v for k, v in params.items() if (m := _FIELD_KEY.fullmatch(k))}
    nested = params.get("fields")
    if isinstance(nested, dict):
        values.update({int(m.group(1)): v for k, v in nested.items()
                       if (m := _NESTED_FIELD_KEY.fullmatch(str(k).lower()))})
    return values


class FieldParamError(ParamError):
    """A custom-field failure with the keys legacy clients read beside the code."""

    def __init__(self, code: int, message: str, extra: dict):
        super().__init__(code, message)
        self.extra = extra


@contextmanager
def field_errors(codes: dict[type, int], *, plural: bool):
    """Report custom-field failures with ErrorCustomFieldID/Title/Description (Subscribe) or the
    comma-joined ErrorCustomFieldIDs/Titles/Descriptions (Update) that cubica's client prints."""
    try:
        yield
    except CustomFieldValueError as exc:
        code = next(c for cls, c in codes.items() if isinstance(exc, cls))
        if plural:
            extra = {"ErrorCustomFieldIDs": str(exc.field_id), "ErrorCustomFieldTitles": exc.field_name,
                     "ErrorCustomFieldDescriptions": exc.reason}
        else:
            extra = {"ErrorCustomFieldID": exc.field_id, "ErrorCustomFieldTitle": exc.field_name,
                     "ErrorCustomFieldDescription": exc.reason}
        raise FieldParamError(code, exc.message, extra) from None
    except UnknownCustomFields as exc:
        raise FieldParamError(codes[UnknownCustomFields], exc.message,
                              {"ErrorCustomFieldIDs": ",".join(str(i) for i in exc.field_ids)}) from None


def _source(value: str | None) -> str:
    if not value:
        return "API"
    return next((s for s in SUBSCRIBER_SOURCES if s.lower() == value.strip().lower()), "Unknown")


def _subscriber_info(ctx: Context, subscriber, list_row) -> dict:
    field_ids = [f.id for f in ctx.uow.custom_fields.applicable(list_row)]
    values = ctx.uow.subscribers.values_of([subscriber.id])[subscriber.id]
    return subscriber_row(subscriber, values, field_ids)


# --- Subscriber.Subscribe ----------------------------------------------------------------------
class SubscribeParams(LegacySchema):
    ListID = IdList(required=True, code=1, invalid_code=4)
    EmailAddress = Text(required=True, max_length=255, code=2, invalid_code=5)
    IPAddress = IpText(required=True, code=3)
    UpdateIfExists = Bool()
    EnforceRequiredFields = Bool()
    Source = Text(lenient=True)
    SourceRef = Text(lenient=True)


SUBSCRIBE_FIELD_CODES = {CustomFieldRequired: 6, CustomFieldNotUnique: 7, CustomFieldInvalid: 8}


def subscribe(ctx: Context, p: dict) -> dict:
    with field_errors(SUBSCRIBE_FIELD_CODES, plural=False):
        result = ctx.uow.subscribers.subscribe(
            p["ListID"], p["EmailAddress"], p["IPAddress"], field_values(ctx.params),
            update_if_exists=p.get("UpdateIfExists", False), enforce_required=p.get("EnforceRequiredFields", False),
            source=_source(p.get("Source")), source_ref=p.get("SourceRef", "")[:64])
    return subscribed(result.subscriber, result.redirect_url)


SUBSCRIBER_SUBSCRIBE = Command(
    name="Subscriber.Subscribe", run=subscribe, params=SubscribeParams, auth=PUBLIC,
    errors={
        1: "Missing ListID parameter",
        2: "Missing EmailAddress parameter",
        3: "Missing IPAddress parameter",
        4: "Invalid ListID",
        5: "Invalid EmailAddress",
        6: "Required custom field missing",
        7: "Custom field value is not unique",
        8: "Invalid custom field value",
        9: "Duplicate email address",
        10: "Subscription failed",
        11: "Invalid user information",
        12: "Subscriber limit reached (LimitSubscribers of the list owner's user group)",  # Sendmill's addition
        101: "Plugin validation failed",
    },
    raises={ListNotFound: 4, InvalidEmailAddress: 5, SubscriberExists: 9, ListOwnerUnavailable: 11,
            SubscriberLimitReached: 12, **SUBSCRIBE_FIELD_CODES},
)


# --- Subscriber.OptIn --------------------------------------------------------------------------
class OptInParams(LegacySchema):
    ListID = Id(required=True, code=1, invalid_code=5)
    SubscriberID = Id(required=True, code=2, invalid_code=5)
    ConfirmationCode = Text(max_length=128, code=3, invalid_code=4)
    Mode = Choice(("Confirm", "Reject"), code=6)


def opt_in(ctx: Context, p: dict) -> dict:
    mode = p.get("Mode", "Confirm")
    subscriber, redirect = ctx.uow.subscribers.opt_in(ctx.actor, p["ListID"], p["SubscriberID"],
                                                      p.get("ConfirmationCode"), reject=mode == "Reject")
    return {"RedirectURL": redirect, "ProcessedMode": mode, **subscribed(subscriber, redirect)}


SUBSCRIBER_OPTIN = Command(
    name="Subscriber.OptIn", run=opt_in, params=OptInParams, auth=PUBLIC,
    errors={
        1: "Missing ListID parameter",
        2: "Missing SubscriberID parameter",
        3: "Missing ConfirmationCode parameter",
        4: "Invalid confirmation code",
        5: "Subscriber not found",
        6: "Invalid Mode (Confirm or Reject)",  # Sendmill's addition (the Oempro 4 Mode parameter)
    },
    raises={ConfirmationCodeRequired: 3, InvalidConfirmationCode: 4, ListNotFound: 5, SubscriberNotFound: 5},
)


# --- Subscriber.Unsubscribe --------------------------------------------------------------------
class UnsubscribeParams(LegacySchema):
    ListID = Id(required=True, code=1, invalid_code=4)
    IPAddress = IpText(required=True, code=2)
    EmailAddress = Text(max_length=255, code=3, invalid_code=6)
    SubscriberID = Id(code=3, invalid_code=7)
    CampaignID = Int(min_value=0, code=8)
    EmailID = Int(min_value=0, code=10)
    AutoResponderID = Int(min_value=0, lenient=True)  # accepted; there are no autoresponders to credit
    Channel = Text(max_length=64, lenient=True)
    Preview = Bool()
    AddToGlobalSuppression = Bool()
    RulesJSON = RulesJsonText(code=7)
    RulesOperator = Text(lenient=True)

    @validates_schema
    def selector(self, data, **kwargs):
        if "RulesJSON" in data:
            data["RulesOperator"] = rules_operator(data, 7)
        elif "EmailAddress" not in data and "SubscriberID" not in data:
            raise ParamError(3, "give EmailAddress or SubscriberID (or, as the list owner, RulesJSON)")


def unsubscribe(ctx: Context, p: dict) -> dict:
    """One address, or (list owner only) every subscriber the RulesJSON criteria select."""
    common = dict(ip=p["IPAddress"], email=p.get("EmailAddress"), subscriber_id=p.get("SubscriberID"),
                  campaign_id=p.get("CampaignID"), email_id=p.get("EmailID"), channel=p.get("Channel", "API"),
                  preview=p.get("Preview", False), add_to_global_suppression=p.get("AddToGlobalSuppression", False))
    if "RulesJSON" in p:
        count, redirect = ctx.uow.subscribers.unsubscribe_matching(ctx.actor, p["ListID"], p["RulesJSON"],
                                                                   p["RulesOperator"], **common)
        return {"RedirectURL": redirect, "TotalUnsubscribed": count}
    _, redirect = ctx.uow.subscribers.unsubscribe(p["ListID"], **common)
    return {"RedirectURL": redirect}


SUBSCRIBER_UNSUBSCRIBE = Command(
    name="Subscriber.Unsubscribe", run=unsubscribe, params=UnsubscribeParams, auth=PUBLIC,
    errors={
        1: "List ID is required.",
        2: "IP address is required.",
        3: "Either email address or subscriber ID must be provided.",
        4: "Invalid list ID or list does not exist.",
        5: "User information could not be retrieved.",
        6: "Invalid email address format.",
        7: "Subscriber does not exist or does not belong to the list, or invalid RulesJSON syntax.",
        8: "Invalid campaign ID or autoresponder ID.",
        9: "Subscriber is already unsubscribed.",
        10: "Invalid email ID.",
        11: "Invalid query builder response.",
    },
    raises={ListNotFound: 4, InvalidEmailAddress: 6, SubscriberNotFound: 7, InvalidRules: 7, CampaignNotFound: 8,
            AlreadyUnsubscribed: 9, EmailNotFound: 10},
)


# --- Subscriber.Get ----------------------------------------------------------------------------
class GetParams(LegacySchema):
    ListID = Id(required=True, code=2, invalid_code=4)
    EmailAddress = Text(max_length=255, code=1, invalid_code=3)
    SubscriberID = Id(code=1, invalid_code=3)

    @validates_schema
    def selector(self, data, **kwargs):
        if "EmailAddress" not in data and "SubscriberID" not in data:
            raise ParamError(1, "give EmailAddress or SubscriberID")


def get(ctx: Context, p: dict) -> dict:
    subscriber = ctx.uow.subscribers.get(ctx.actor, p["ListID"], subscriber_id=p.get("SubscriberID"),
                                         email=p.get("EmailAddress"))
    info = _subscriber_info(ctx, subscriber, ctx.uow.lists.get(ctx.actor, p["ListID"]))
    suppressed = ctx.uow.subscribers.is_suppressed(subscriber)
    info["Suppressed"] = suppressed  # v5.6.x shows it here, v5.9.4 at the top level: both
    return {"SubscriberInformation": info, "Suppressed": suppressed, "SubscriberTags": [],
            "SubscriberSegments": [], "SubscriberJourneys": [], "SubscriberActivity": [],
            "SubscriberWebsiteEvents": [], "TotalRevenue": 0}


SUBSCRIBER_GET = Command(
    name="Subscriber.Get", run=get, params=GetParams, permission="Subscribers.Get",
    errors={1: "Email address is required.", 2: "List ID is required.", 3: "Subscriber not found.",
            4: "List not found."},
    raises={SubscriberNotFound: 3, ListNotFound: 4},
)


# --- Subscriber.Update -------------------------------------------------------------------------
class UpdateParams(LegacySchema):
    SubscriberID = Id(required=True, code=1, invalid_code=6)
    SubscriberListID = Id(required=True, code=2, invalid_code=5)
    EmailAddress = EmailText(code=3, invalid_code=4)
    SubscriptionStatus = Choice(SUBSCRIPTION_STATUSES, aliases=STATUS_ALIASES, code=12)
    BounceType = Choice(BOUNCE_TYPES, aliases={"Soft bounced": "Soft", "Hard bounced": "Hard"}, code=12)
    UnsubscriptionIP = IpText(code=12)
    UnsubscriptionDate = LegacyDateTime(code=12)
    EnforceRequiredFields = Bool()
    # Accepted for old clients; only the fields given ever change, so it changes nothing.
    IgnoreAllOtherCustomFieldsExceptGivenOnes = Bool()


UPDATE_FIELD_CODES = {CustomFieldRequired: 8, CustomFieldNotUnique: 9, CustomFieldInvalid: 10,
                      UnknownCustomFields: 11}
UPDATE_KEYS = {"EmailAddress": "email", "SubscriptionStatus": "subscription_status", "BounceType": "bounce_type",
               "UnsubscriptionIP": "unsubscription_ip", "UnsubscriptionDate": "unsubscription_date"}


def update(ctx: Context, p: dict) -> dict:
    changes = {UPDATE_KEYS[k]: v for k, v in p.items() if k in UPDATE_KEYS}
    with field_errors(UPDATE_FIELD_CODES, plural=True):
        ctx.uow.subscribers.update(ctx.actor, p["SubscriberListID"], p["SubscriberID"], changes,
                                   field_values(ctx.params), enforce_required=p.get("EnforceRequiredFields", False))
    return {}


SUBSCRIBER_UPDATE = Command(
    name="Subscriber.Update", run=update, params=UpdateParams, success_extra=OK,
    errors={
        1: "Required field 'subscriberid' is missing.",
        2: "Required field 'subscriberlistid' is missing.",
        3: "Email address is empty.",
        4: "Email address is invalid.",
        5: "Subscriber list does not exist or does not belong to the user.",
        6: "Subscriber does not exist.",
        7: "Email address is a duplicate.",
        8: "Required custom field is missing.",
        9: "Custom field value is not unique.",
        10: "Custom field value failed validation.",
        11: "Unknown custom field ID(s)",
        12: "Invalid SubscriptionStatus, BounceType or unsubscription value",  # Sendmill's addition
    },
    raises={InvalidEmailAddress: 4, ListNotFound: 5, SubscriberNotFound: 6, SubscriberExists: 7,
            **UPDATE_FIELD_CODES},
)


# --- Subscribers.Get ---------------------------------------------------------------------------
class SegmentParam(LegacyField):
    """A named segment (Active, Unsubscribed, Suppressed, Soft bounced, Hard bounced, Opt-In Pending
    — also spelled "Confirmation Pending" as the WordPress widget does — or All) or a segment ID."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = self._scalar_text(value).strip()
        if text.isdigit():
            if as_id(text) is None:
                raise ValidationError(f"'{text}' is not a segment ID")
            return int(text)
        key = re.sub(r"[\s_-]+", "", text.lower())
        if key not in NAMED_SEGMENTS:
            raise ValidationError(f"'{text}' is neither a named segment nor a segment ID")
        return NAMED_SEGMENTS[key]


class SearchFieldParam(LegacyField):
    """The SearchField allow-list (v5.9.4): subscriber columns or a custom field (ID or CustomField<ID>)."""

    NAMES = {n.lower(): n for n in ("EmailAddress", "SubscriberID", "SubscriptionDate", "SubscriptionIP",
                                    "OptInDate")}

    def _deserialize(self, value, attr, data, **kwargs):
        text = self._scalar_text(value).strip().lower()
        if text in self.NAMES:
            return self.NAMES[text]
        match = re.fullmatch(r"(?:customfield)?(\d{1,18})", text)
        if match and as_id(match.group(1)) is not None:
            return int(match.group(1))
        raise ValidationError(f"'{text}' is not a searchable field")


class ListParams(LegacySchema):
    SubscriberListID = Id(required=True, code=1, invalid_code=3)
    SubscriberSegment = SegmentParam(required=True, code=2, invalid_code=5)
    SearchField = SearchFieldParam(code=4)
    SearchKeyword = Text(strip=False, lenient=True)
    OrderField = Text(lenient=True)
    OrderType = Choice(("ASC", "DESC"), lenient=True)
    RecordsFrom = Int(min_value=0, lenient=True)
    RecordsPerRequest = Int(min_value=0, lenient=True)


def list_subscribers(ctx: Context, p: dict) -> dict:
    keyword = p.get("SearchKeyword")
    query = SubscriberQuery(
        segment=p["SubscriberSegment"], search_field=p.get("SearchField"),
        keyword=keyword if keyword and keyword.strip() else None,
        order_field=p.get("OrderField", "").lower() or None, descending=p.get("OrderType") == "DESC",
        offset=p.get("RecordsFrom", 0), limit=min(p.get("RecordsPerRequest") or DEFAULT_PAGE, MAX_PAGE))
    rows, total = ctx.uow.subscribers.search(ctx.actor, p["SubscriberListID"], query)
    list_row = ctx.uow.lists.get(ctx.actor, p["SubscriberListID"])
    field_ids = [f.id for f in ctx.uow.custom_fields.applicable(list_row)]
    values = ctx.uow.subscribers.values_of([r.id for r in rows])
    return {"Subscribers": [subscriber_row(r, values[r.id], field_ids) for r in rows], "TotalSubscribers": total}


SUBSCRIBERS_GET = Command(
    name="Subscribers.Get", run=list_subscribers, params=ListParams, error_shape=SCALAR, success_extra=OK,
    errors={
        1: "SubscriberListID is a required field.",
        2: "SubscriberSegment is a required field.",
        3: "The list does not belong to the authenticated user.",
        4: "Invalid SearchField (not a default search field or a numeric custom-field ID)",
        5: "Invalid SubscriberSegment (a named segment or a segment ID of this list)",  # Sendmill's addition
    },
    raises={ListNotFound: 3, InvalidSearchField: 4, SegmentUnavailable: 5},
)


# --- Subscribers.Delete ------------------------------------------------------------------------
class DeleteParams(LegacySchema):
    SubscriberListID = Id(required=True, code=2, invalid_code=5)
    Subscribers = IdList(code=1, invalid_code=8)
    RulesJSON = RulesJsonText(code=7)
    RulesOperator = Text(lenient=True)
    Suppressed = Bool()

    @validates_schema
    def selector(self, data, **kwargs):
        if "RulesJSON" in data:
            data["RulesOperator"] = rules_operator(data, 4)
        elif "RulesOperator" in data and "Subscribers" not in data:
            raise ParamError(3, "RulesOperator was given without RulesJSON")
        elif "Subscribers" not in data:
            raise ParamError(1, "missing required parameter subscribers (or RulesJSON)")


def delete(ctx: Context, p: dict) -> dict:
    """By IDs, by RulesJSON criteria, or both (the listed subscribers that match)."""
    rules = (p["RulesJSON"], p["RulesOperator"]) if "RulesJSON" in p else None
    suppression_only = p.get("Suppressed", False)
    count = ctx.uow.subscribers.delete(ctx.actor, p["SubscriberListID"], p.get("Subscribers"), rules=rules,
                                       suppression_only=suppression_only)
    return {"TotalUnsuppressed" if suppression_only else "TotalDeleted": count}


SUBSCRIBERS_DELETE = Command(
    name="Subscribers.Delete", run=delete, params=DeleteParams, success_extra=OK,
    errors={
        1: "Missing subscribers parameter",
        2: "Missing subscriber list id",
        3: "Missing RulesJSON parameter",
        4: "Missing RulesOperator parameter",
        5: "Invalid list id",
        6: "Invalid query builder response",
        7: "Invalid RulesJSON syntax. It must be a properly formatted JSON payload",
        8: "Invalid Subscribers value (contains a non-integer subscriber ID)",
    },
    raises={ListNotFound: 5, InvalidRules: 7},
)


# --- Subscribers.Import ------------------------------------------------------------------------
class CsvSource(LegacyField):
    """CSV text in the parameter, or an uploaded file (multipart) under the same name."""

    def _deserialize(self, value, attr, data, **kwargs):
        if hasattr(value, "stream") or hasattr(value, "read"):
            return getattr(value, "stream", value)
        text = self._scalar_text(value)
        if not text.strip():
            raise ValidationError(MISSING)
        return text


class Mapping(LegacyField):
    """MappedFields: {column: target} (columns by header name or FIELD<n>), a positional list of
    targets, or either of them as a JSON string."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValidationError("must be an object or a list (or the same as JSON)")
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        if isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value):
            return [str(v) for v in value]
        raise ValidationError("must be an object or a list of field names")


class ImportParams(LegacySchema):
    ListID = Id(code=1, invalid_code=4)
    SubscriberListID = Id(code=1, invalid_code=4)
    ImportData = CsvSource(code=2)
    ImportFile = CsvSource(code=2)
    ImportType = Choice(("Copy", "File", "MySQL"), code=17)
    MappedFields = Mapping(code=13)
    UpdateDuplicates = Bool()
    UpdateExisting = Bool()
    FieldTerminator = Text(strip=False, max_length=4, code=5)
    FieldEncloser = Text(strip=False, max_length=1, code=5)

    @validates_schema
    def source(self, data, **kwargs):
        if "ListID" not in data and "SubscriberListID" not in data:
            raise ParamError(1, "missing required parameter listid")
        if data.get("ImportType") == "MySQL":
            raise ParamError(17, "importing from a MySQL server is not supported; export a CSV file and "
                                 "import that (Subscribers.Import or `sendmill import`)")
        if "ImportData" not in data and "ImportFile" not in data:
            raise ParamError(2, "send the CSV text in ImportData or upload it as the file ImportFile")


def import_subscribers(ctx: Context, p: dict) -> dict:
    options = ImportOptions(mapping=p.get("MappedFields"), delimiter=p.get("FieldTerminator", ","),
                            quotechar=p.get("FieldEncloser", '"'),
                            update_existing=p.get("UpdateDuplicates", False) or p.get("UpdateExisting", False))
    source = p.get("ImportFile", p.get("ImportData"))
    report = ctx.uow.subscribers.import_csv(ctx.actor, p.get("ListID") or p["SubscriberListID"], source, options)
    return import_report(report)


SUBSCRIBERS_IMPORT = Command(
    name="Subscribers.Import", run=import_subscribers, params=ImportParams, success_extra=OK,
    errors={
        1: "Missing ListID parameter",
        2: "Missing ImportData parameter",
        4: "Invalid ListID",
        5: "Failed to parse CSV data",
        7: "EmailAddress field mapped more than once",
        8: "EmailAddress field not mapped",
        13: "Invalid MappedFields parameter",
        17: "Import type not supported",
    },
    raises={ListNotFound: 4, ImportFormatError: 5, EmailMappedTwice: 7, EmailNotMapped: 8, InvalidFieldMapping: 13},
)

COMMANDS = (
    SUBSCRIBER_GET, SUBSCRIBER_OPTIN, SUBSCRIBER_SUBSCRIBE, SUBSCRIBER_UNSUBSCRIBE, SUBSCRIBER_UPDATE,
    SUBSCRIBERS_DELETE, SUBSCRIBERS_GET, SUBSCRIBERS_IMPORT,
)
