"""Subscriber lists (api-reference/subscriber-lists.md, v5.7.2/api-reference/lists.md; protocol.md §3.3).

Error shapes: List.Get and Lists.Delete answer the keyed form ({"listid": 1}, {"lists": 1}) their
documentation shows; Lists.Get documents no command error (scalar); the others are lists.
"""
from __future__ import annotations

from marshmallow import ValidationError, validates_schema

from engine.errors import InvalidListSetting, ListLimitReached, ListNotFound
from engine.audience.lists import ListQuery
from engine.models.lists import OPT_IN_MODES, OPT_OUT_SCOPES
from engine.validation import normalize_email
from protocol.command import KEYED, SCALAR, Command, Context
from protocol.params import Bool, Choice, Id, IdList, Int, JsonValue, LegacyField, LegacySchema, ParamError, Text
from protocol.views.lists import ID_COLUMNS, LIST_COLUMNS, TRUE_FALSE_COLUMNS, YES_NO_COLUMNS, list_row

OK = {"ErrorText": ""}


class Flag(LegacyField):
    """A setting spelled Yes/No or true/false in the legacy columns; other words are invalid."""

    ON = {"yes", "true", "1", "on", "enabled"}
    OFF = {"no", "false", "0", "off", "disabled"}

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        text = self._scalar_text(value).strip().lower()
        if text in self.ON | self.OFF:
            return text in self.ON
        raise ValidationError("must be Yes/No (or true/false)")


class EmailText(Text):
    """An email address."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if normalize_email(text) is None:
            raise ValidationError("is not a valid email address")
        return text


def _setting(**kwargs):
    return Text(max_length=255, code=6, **kwargs)


class SettingsParams(LegacySchema):
    """The settings List.Create and List.Update share (wire name → engine key in SETTING_KEYS)."""

    Description = Text(max_length=65535, strip=False, code=6)
    OptInMode = Choice(OPT_IN_MODES, code=3)
    SenderName = _setting()
    SenderEmailAddress = _setting()
    SenderCompany = _setting()
    SenderAddress = Text(max_length=65535, code=6)


# Every column the list presenter shows is also a setting the commands accept, plus Options.
SETTING_KEYS = {**LIST_COLUMNS, **ID_COLUMNS, **YES_NO_COLUMNS, **TRUE_FALSE_COLUMNS, "Options": "options"}


def _settings(p: dict) -> dict:
    return {SETTING_KEYS[k]: v for k, v in p.items() if k in SETTING_KEYS}


def _view(ctx: Context, row) -> dict:
    counts = ctx.uow.lists.counts([row.id])[row.id]
    return list_row(row, counts, ctx.uow.lists.salted_id(row.id))


# --- List.Create -------------------------------------------------------------------------------
class CreateParams(SettingsParams):
    SubscriberListName = Text(required=True, max_length=255, code=1, invalid_code=6)
    OptInMode = Choice(OPT_IN_MODES, code=20)


def create(ctx: Context, p: dict) -> dict:
    row = ctx.uow.lists.create(ctx.actor, p["SubscriberListName"], _settings(p))
    return {"ListID": row.id}


LIST_CREATE = Command(
    name="List.Create", run=create, params=CreateParams, success_extra=OK,
    errors={
        1: "Missing subscriber list name",
        2: "Duplicate list name (this check is disabled)",
        3: "User has exceeded the maximum number of subscriber lists",
        # Sendmill's addition, with the meaning List.Update gives it (README, "Error codes").
        6: "Invalid setting",
        20: "Invalid OptInMode (Single or Double)",
    },
    raises={ListLimitReached: 3, InvalidListSetting: 6},
)


# --- List.Get ----------------------------------------------------------------------------------
class GetParams(LegacySchema):
    ListID = Id(required=True, code=1)
    GetStats = Bool()  # accepted; the counts are always included


def get(ctx: Context, p: dict) -> dict:
    return {"List": _view(ctx, ctx.uow.lists.get(ctx.actor, p["ListID"]))}


LIST_GET = Command(
    name="List.Get", run=get, params=GetParams, error_shape=KEYED, error_keys={1: "listid"},
    errors={1: "The 'ListID' parameter is missing or invalid."},
    raises={ListNotFound: 1},
)


# --- List.Update -------------------------------------------------------------------------------
class UpdateParams(SettingsParams):
    SubscriberListID = Id(required=True, code=1, invalid_code=2)
    Name = _setting()
    OptInConfirmationEmailID = Int(min_value=0, code=6)
    OptOutAddToSuppressionList = Flag(code=10)
    OptOutAddToGlobalSuppressionList = Flag(code=10)
    HideInSubscriberArea = Flag(code=6)
    SendServiceIntegrationFailedNotification = Flag(code=5)
    SendActivityNotification = Flag(code=5)
    SubscriptionConfirmationPendingPageURL = Text(max_length=2000, code=6)
    SubscriptionConfirmedPageURL = Text(max_length=2000, code=6)
    SubscriptionErrorPageURL = Text(max_length=2000, code=6)
    UnsubscriptionConfirmedPageURL = Text(max_length=2000, code=6)
    UnsubscriptionErrorPageURL = Text(max_length=2000, code=6)
    ReqByEmailSearchToAddress = EmailText(max_length=255, code=9)
    ReqByEmailSubscriptionCommand = _setting()
    ReqByEmailUnsubscriptionCommand = _setting()
    OptOutScope = Choice(OPT_OUT_SCOPES, code=4)
    OptInSubscribeTo = Int(min_value=0, code=6)
    OptInUnsubscribeFrom = Int(min_value=0, code=6)
    OptOutSubscribeTo = Int(min_value=0, code=6)
    OptOutUnsubscribeFrom = Int(min_value=0, code=6)
    Options = JsonValue(code=6)
    SyncStatus = Choice(("Enabled", "Disabled"), code=8)

    @validates_schema
    def sync_unsupported(self, data, **kwargs):
        if data.get("SyncStatus") == "Enabled":
            raise ParamError(8, "list synchronisation from an external MySQL database is not supported; "
                                "import the data with Subscribers.Import or `sendmill import` instead")


def update(ctx: Context, p: dict) -> dict:
    changes = _settings(p)
    if not changes and "SyncStatus" not in p:
        raise ParamError(11, "give at least one setting to change, e.g. Name or OptInMode")
    return {"List": _view(ctx, ctx.uow.lists.update(ctx.actor, p["SubscriberListID"], changes))}


LIST_UPDATE = Command(
    name="List.Update", run=update, params=UpdateParams, success_extra=OK,
    errors={
        1: "Subscriber list id is missing",
        2: "Invalid subscriber list id",
        3: "Invalid opt in mode",
        4: "Invalid opt out scope",
        5: "Invalid send service integration notification setting",
        6: "Invalid setting",
        8: "Data synchronization settings are invalid",
        9: "Invalid email address for reqbyemailsearchtoaddress",
        10: "Invalid opt out suppression list option",
        11: "Nothing to update",
    },
    raises={ListNotFound: 2, InvalidListSetting: 6},
)


# --- Lists.Get ---------------------------------------------------------------------------------
class ListParams(LegacySchema):
    RecordsPerRequest = Int(min_value=0, lenient=True)
    RecordsFrom = Int(min_value=0, lenient=True)
    OrderField = Text(lenient=True)
    OrderType = Choice(("ASC", "DESC"), lenient=True)
    Search = Text(lenient=True)
    # List.Archive's filter: anything but true/all is the default (active lists only), as the page says.
    Archived = Choice(("false", "true", "all"), lenient=True)


def list_lists(ctx: Context, p: dict) -> dict:
    rows, total = ctx.uow.lists.search(ctx.actor, ListQuery(
        order_field=p.get("OrderField", "").lower() or None, descending=p.get("OrderType") == "DESC",
        offset=p.get("RecordsFrom", 0), limit=p.get("RecordsPerRequest", 0), search=p.get("Search"),
        archived=p.get("Archived", "false")))
    counts = ctx.uow.lists.counts([r.id for r in rows])
    return {"TotalListCount": total,
            "Lists": [list_row(r, counts[r.id], ctx.uow.lists.salted_id(r.id)) for r in rows]}


LISTS_GET = Command(name="Lists.Get", run=list_lists, params=ListParams, error_shape=SCALAR, success_extra=OK)


# --- Lists.Delete ------------------------------------------------------------------------------
class DeleteParams(LegacySchema):
    Lists = IdList(required=True, code=1)


def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.lists.delete(ctx.actor, p["Lists"])
    return {}


LISTS_DELETE = Command(
    name="Lists.Delete", run=delete, params=DeleteParams, permission="List.Delete",
    error_shape=KEYED, error_keys={1: "lists"}, success_extra=OK,
    errors={1: "Subscriber list ids are missing"},
    raises={ListNotFound: 1},
)

COMMANDS = (LIST_CREATE, LIST_GET, LIST_UPDATE, LISTS_DELETE, LISTS_GET)
