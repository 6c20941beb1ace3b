"""List.Archive, List.Unarchive, List.Clone and List.Assets (v5.9.4 lists.md), Subscribers.Delete.All
(v5.9.4 subscribers.md).

The lists.md commands answer errors in the list form ("ErrorCode": [2], "ErrorText": [...]) the pages show;
Subscribers.Delete.All a scalar code. A list that
is not the caller's is reported like a missing one, with the code each page gives an invalid list.
"""
from __future__ import annotations

from engine.errors import ListLimitReached, ListNotFound
from protocol.command import SCALAR, Command, Context
from protocol.commands.lists import _view
from protocol.params import Bool, Id, LegacySchema, Text
from protocol.views.autoresponders import listed_row
from protocol.views.lists import custom_field_row
from protocol.views.segments import segment_row
from protocol.views.subscriber_tags import tag_row

OK = {"ErrorText": ""}


class ListParams(LegacySchema):
    SubscriberListID = Id(required=True, code=1, invalid_code=2)


# --- List.Archive / List.Unarchive -------------------------------------------------------------
def archive(ctx: Context, p: dict) -> dict:
    ctx.uow.list_lifecycle.archive(ctx.actor, p["SubscriberListID"])
    return {}


def unarchive(ctx: Context, p: dict) -> dict:
    ctx.uow.list_lifecycle.unarchive(ctx.actor, p["SubscriberListID"])
    return {}


ARCHIVE_ERRORS = {
    1: "Missing subscriber list id",
    2: "Invalid subscriber list id (not found or not owned by the authenticated user)",
}
LIST_ARCHIVE = Command(name="List.Archive", run=archive, params=ListParams, permission="List.Update",
                       success_extra=OK, errors=ARCHIVE_ERRORS, raises={ListNotFound: 2})
LIST_UNARCHIVE = Command(name="List.Unarchive", run=unarchive, params=ListParams, permission="List.Update",
                         success_extra=OK, errors=ARCHIVE_ERRORS, raises={ListNotFound: 2})


# --- List.Clone --------------------------------------------------------------------------------
class CloneParams(LegacySchema):
    SubscriberListID = Id(required=True, code=1, invalid_code=2)
    Name = Text(required=True, max_length=255, code=2)
    IncludeCustomFields = Bool()


def clone(ctx: Context, p: dict) -> dict:
    row, copied = ctx.uow.list_lifecycle.clone(ctx.actor, p["SubscriberListID"], p["Name"],
                                               include_custom_fields=p.get("IncludeCustomFields", True))
    return {"ListID": row.id, "CustomFieldsCloned": copied}


LIST_CLONE = Command(
    name="List.Clone", run=clone, params=CloneParams, permission="List.Create", success_extra=OK,
    errors={
        1: "Missing source subscriber list id",
        2: "Missing new list name (or invalid source list — not found or not owned by the authenticated user)",
        3: "Subscriber list quota exceeded (LimitLists group setting)",
        4: "Failed to clone the list (e.g. custom-field replication failed; the new list has been rolled back)",
    },
    raises={ListNotFound: 2, ListLimitReached: 3},
)


# --- List.Assets -------------------------------------------------------------------------------
class AssetsParams(LegacySchema):
    ListID = Id(required=True, code=1)


def assets(ctx: Context, p: dict) -> dict:
    found = ctx.uow.list_lifecycle.assets(ctx.actor, p["ListID"])
    return {
        "List": _view(ctx, found.list_row),
        "Segments": {"Success": True, "Segments": [segment_row(r.segment, r.subscriber_count) for r in found.segments]},
        "CustomFields": {"Success": True, "CustomFields": [custom_field_row(f) for f in found.custom_fields]},
        "SubscriberTags": {"Success": True, "Tags": [tag_row(t, n) for t, n in found.tags]},
        "AutoResponders": {"Success": True, "AutoResponders": [listed_row(r) for r in found.autoresponders]},
    }


LIST_ASSETS = Command(
    name="List.Assets", run=assets, params=AssetsParams, permission="List.Get", read_only=True,
    errors={1: "Missing list ID"},
    raises={ListNotFound: 1},  # the page documents no other code: a stranger's list reads as a missing one
)


# --- Subscribers.Delete.All --------------------------------------------------------------------
class DeleteAllParams(LegacySchema):
    ListID = Id(required=True, code=1, invalid_code=3)
    DeleteListTags = Bool()


def delete_all(ctx: Context, p: dict) -> dict:
    deleted = ctx.uow.list_lifecycle.empty(ctx.actor, p["ListID"], delete_tags=p.get("DeleteListTags", False))
    return {"TotalDeleted": deleted}


SUBSCRIBERS_DELETE_ALL = Command(
    name="Subscribers.Delete.All", run=delete_all, params=DeleteAllParams, permission="Subscribers.Delete",
    error_shape=SCALAR,
    errors={
        1: "Missing ListID parameter",
        3: "Invalid list ID",
        4: "Access denied to this list",
        5: "Failed to delete subscribers",
        6: "Failed to delete tag associations",
        7: "Failed to delete tag entities",
        8: "An error occurred during deletion",
    },
    raises={ListNotFound: 4},
)

COMMANDS = (LIST_ARCHIVE, LIST_UNARCHIVE, LIST_CLONE, LIST_ASSETS, SUBSCRIBERS_DELETE_ALL)
