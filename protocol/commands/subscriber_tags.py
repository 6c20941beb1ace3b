"""Subscriber tags (v5.9.4 subscribers.md: subscriber.tag, subscriber.untag, subscriber.tags.create /
update / get / delete; guide-tags.md; protocol.md §3.4).

Tags belong to one list. Codes are scalars, as every v5.9.4 example of these commands shows them.
The list is named `ListID` (v5.9.4) or `SubscriberListID` (v5.6.x, and subscriber.tag's table);
the tag name `TagName` or `Tag` (v5.6.x). Codes the v5.9.4 tables lack are Sendmill's additions
(README, "Error codes Sendmill adds").
"""
from __future__ import annotations

from marshmallow import validates_schema

from engine.audience.subscriber_tags import SubscriberTagExists, SubscriberTagNotFound
from engine.errors import EmptyTagName, InvalidRules, InvalidTagName, ListNotFound, SubscriberNotFound
from protocol.command import SCALAR, Command, Context
from protocol.commands.subscriber_params import RulesJsonText, rules_operator
from protocol.params import Id, IdList, LegacySchema, ParamError, Raw, Text
from protocol.views.subscriber_tags import tag_row

BAD_FORMAT = "Invalid tag format (only letters, numbers, spaces, hyphens and underscores allowed, and percent signs)"
MAX_DESCRIPTION = 1000


class OnList(LegacySchema):
    """A command on one list, named by `ListID` or `SubscriberListID`; `list_missing` is its code.

    A subclass with other codes declares both fields again: marshmallow shares one metadata dict between
    a schema's instances and its subclasses, so codes set while binding would change every other command
    (and the command reference, which reads the declarations)."""

    list_missing = 1
    ListID = Id(code=1, invalid_code=4)
    SubscriberListID = Id(code=1, invalid_code=4)

    @validates_schema
    def one_list(self, data, **kwargs):
        if "ListID" not in data and "SubscriberListID" not in data:
            raise ParamError(self.list_missing, "missing required parameter listid")


def _list_id(p: dict) -> int:
    return p.get("ListID") or p["SubscriberListID"]


class Described(OnList):
    TagDescription = Text(strip=False, max_length=MAX_DESCRIPTION, code=6)


# --- Subscriber.Tags.Create --------------------------------------------------------------------
class CreateParams(Described):
    TagName = Text(max_length=250, code=2, invalid_code=3)
    Tag = Text(max_length=250, code=2, invalid_code=3)

    @validates_schema
    def named(self, data, **kwargs):
        if "TagName" not in data and "Tag" not in data:
            raise ParamError(2, "missing required parameter tagname")


def create(ctx: Context, p: dict) -> dict:
    tag = ctx.uow.subscriber_tags.create(ctx.actor, _list_id(p), p.get("TagName") or p["Tag"],
                                         p.get("TagDescription", ""))
    return {"TagID": tag.id}


SUBSCRIBER_TAGS_CREATE = Command(
    name="Subscriber.Tags.Create", run=create, params=CreateParams, permission="List.Update", error_shape=SCALAR,
    errors={1: "Missing ListID parameter", 2: "Missing TagName parameter", 3: BAD_FORMAT, 4: "Invalid ListID",
            5: "Tag name already exists",
            6: f"Invalid TagDescription (at most {MAX_DESCRIPTION} characters)"},  # 6: Sendmill's addition
    raises={ListNotFound: 4, InvalidTagName: 3, EmptyTagName: 2, SubscriberTagExists: 5},
)


# --- Subscriber.Tags.Update --------------------------------------------------------------------
class UpdateParams(Described):
    TagID = Id(required=True, code=2, invalid_code=4)
    # Untrimmed, so that white space alone reaches the engine and answers 4 ("empty after trimming").
    TagName = Text(strip=False, max_length=260, code=4, invalid_code=3)
    Tag = Text(strip=False, max_length=260, code=4, invalid_code=3)


def update(ctx: Context, p: dict) -> dict:
    name = p.get("TagName", p.get("Tag"))
    ctx.uow.subscriber_tags.update(ctx.actor, _list_id(p), p["TagID"], name=name,
                                   description=p.get("TagDescription"))
    return {}


SUBSCRIBER_TAGS_UPDATE = Command(
    name="Subscriber.Tags.Update", run=update, params=UpdateParams, permission="List.Update", error_shape=SCALAR,
    errors={1: "Missing ListID parameter", 2: "Missing TagID parameter", 3: BAD_FORMAT,
            4: "Invalid ListID, Invalid TagID, or Tag cannot be empty after trimming whitespace",
            5: "Tag name already exists",
            6: f"Invalid TagDescription (at most {MAX_DESCRIPTION} characters)"},  # 6: Sendmill's addition
    raises={ListNotFound: 4, SubscriberTagNotFound: 4, EmptyTagName: 4, InvalidTagName: 3, SubscriberTagExists: 5},
)


# --- Subscriber.Tags.Get -----------------------------------------------------------------------
class GetParams(OnList):
    ListID = Id(code=1, invalid_code=2)
    SubscriberListID = Id(code=1, invalid_code=2)


def list_tags(ctx: Context, p: dict) -> dict:
    rows = ctx.uow.subscriber_tags.search(ctx.actor, _list_id(p))
    return {"TagCount": len(rows), "Tags": [tag_row(tag, count) for tag, count in rows]}


SUBSCRIBER_TAGS_GET = Command(
    name="Subscriber.Tags.Get", run=list_tags, params=GetParams, permission="List.Update", error_shape=SCALAR,
    errors={1: "Missing ListID parameter", 2: "Invalid ListID"},
    raises={ListNotFound: 2},
)


# --- Subscriber.Tags.Delete --------------------------------------------------------------------
class DeleteParams(OnList):
    list_missing = 2
    ListID = Id(code=2, invalid_code=4)
    SubscriberListID = Id(code=2, invalid_code=4)
    TagIDs = IdList(required=True, code=5)


def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.subscriber_tags.delete(ctx.actor, _list_id(p), p["TagIDs"])
    return {}


SUBSCRIBER_TAGS_DELETE = Command(
    name="Subscriber.Tags.Delete", run=delete, params=DeleteParams, permission="List.Update", error_shape=SCALAR,
    errors={2: "Missing SubscriberListID parameter",
            4: "Invalid SubscriberListID (list not found or not owned by you)",
            5: "Tag ids are missing (TagIDs absent, empty, or has no valid positive integer ID)",
            6: "Invalid TagIDs (a tag is not a tag of this list; nothing was deleted)"},  # 6: Sendmill's addition
    raises={ListNotFound: 4, SubscriberTagNotFound: 6},
)


# --- Subscriber.Tag / Subscriber.Untag ---------------------------------------------------------
class TaggingParams(OnList):
    list_missing = 2
    ListID = Id(code=2, invalid_code=4)
    SubscriberListID = Id(code=2, invalid_code=4)
    TagID = IdList(required=True, code=1, invalid_code=6)
    SubscriberID = IdList(code=5)
    RulesJSON = RulesJsonText(code=7)
    RulesOperator = Text(lenient=True)
    TriggerEvents = Raw()  # accepted and ignored: tagging always fires the Tag / UnTag journeys (README "Journeys")

    @validates_schema
    def selector(self, data, **kwargs):
        if "RulesJSON" in data:
            data["RulesOperator"] = rules_operator(data, 7)
        elif "SubscriberID" not in data:
            raise ParamError(6, "missing required parameter rulesjson (or SubscriberID)")


TAGGING_ERRORS = {
    1: "Missing TagID parameter",
    2: "Missing SubscriberListID parameter",
    4: "Invalid SubscriberListID",
    5: "Invalid SubscriberID (not a subscriber of this list)",  # v5.6.x's code; not in the v5.9.4 table
    6: "Missing RulesJSON parameter (when SubscriberID is not supplied), or invalid TagID (no matching tag found)",
    7: "Missing RulesOperator parameter (when SubscriberID is not supplied), or invalid RulesJSON syntax. "
       "It must be a properly formatted JSON payload",
    8: "Invalid query builder response",
}
TAGGING_RAISES = {ListNotFound: 4, SubscriberNotFound: 5, SubscriberTagNotFound: 6, InvalidRules: 7}


def _selection(p: dict) -> dict:
    rules = (p["RulesJSON"], p["RulesOperator"]) if "RulesJSON" in p else None
    return {"subscriber_ids": p.get("SubscriberID"), "rules": rules}


def tag(ctx: Context, p: dict) -> dict:
    ctx.uow.subscriber_tags.tag(ctx.actor, _list_id(p), p["TagID"], **_selection(p))
    return {}


def untag(ctx: Context, p: dict) -> dict:
    ctx.uow.subscriber_tags.untag(ctx.actor, _list_id(p), p["TagID"], **_selection(p))
    return {}


SUBSCRIBER_TAG = Command(
    name="Subscriber.Tag", run=tag, params=TaggingParams, permission="Subscriber.Update", error_shape=SCALAR,
    errors=TAGGING_ERRORS, raises=TAGGING_RAISES,
)
SUBSCRIBER_UNTAG = Command(
    name="Subscriber.Untag", run=untag, params=TaggingParams, permission="Subscriber.Update", error_shape=SCALAR,
    errors=TAGGING_ERRORS, raises=TAGGING_RAISES,
)

COMMANDS = (SUBSCRIBER_TAG, SUBSCRIBER_UNTAG, SUBSCRIBER_TAGS_CREATE, SUBSCRIBER_TAGS_DELETE, SUBSCRIBER_TAGS_GET,
            SUBSCRIBER_TAGS_UPDATE)
