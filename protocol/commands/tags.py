"""Campaign tags (v5.7.3/api-reference/campaigns.md, "Tags"; protocol.md §3.1).

Only tag.assigntocampaigns / tag.unassignfromcampaigns document a permission (Campaigns.Get);
the other tag commands need none beyond being a user. Command errors are lists (protocol.md
Part 1 §1), although one tag.create example shows a scalar.
"""
from __future__ import annotations

from marshmallow import validates_schema

from engine.errors import CampaignNotFound, EmptyTagName, InvalidTagName, TagExists, TagNotFound
from protocol.command import Command, Context
from protocol.params import Id, IdList, LegacySchema, ParamError, Text
from protocol.views.tags import tag_row

OK = {"ErrorText": ""}
BAD_FORMAT = "Invalid tag format (only letters, numbers, spaces, hyphens, underscores and % allowed)"
EMPTY = "Tag cannot be empty after trimming whitespace"
NOT_FOUND = "Tag does not exist or does not belong to the user"


class NamedTag(LegacySchema):
    """`Tag`, or its alias `TagName` (protocol.md §9.2 item 24); kept untrimmed so the engine can
    tell white space alone (code 4) from an absent name."""

    Tag = Text(strip=False, code=1, invalid_code=3)
    TagName = Text(strip=False, code=1, invalid_code=3)
    missing_code = 1

    @validates_schema
    def one_name(self, data, **kwargs):
        if "Tag" not in data and "TagName" not in data:
            raise ParamError(self.missing_code, "missing required parameter tag")


def _name(p: dict) -> str:
    return p["Tag"] if "Tag" in p else p["TagName"]


# --- Tags.Get ----------------------------------------------------------------------------------
def list_tags(ctx: Context, p: dict) -> dict:
    tags = ctx.uow.tags.search(ctx.actor)
    return {"TotalTagCount": len(tags), "Tags": [tag_row(t) for t in tags]}


TAGS_GET = Command(name="Tags.Get", run=list_tags, permission="", success_extra=OK)


# --- Tag.Create --------------------------------------------------------------------------------
def create(ctx: Context, p: dict) -> dict:
    return {"TagID": ctx.uow.tags.create(ctx.actor, _name(p)).id}


TAG_CREATE = Command(
    name="Tag.Create", run=create, params=NamedTag, permission="", success_extra=OK,
    errors={1: "Missing required parameter (Tag)", 2: "Tag already exists in the system", 3: BAD_FORMAT, 4: EMPTY},
    raises={TagExists: 2, InvalidTagName: 3, EmptyTagName: 4},
)


# --- Tag.Update --------------------------------------------------------------------------------
class UpdateParams(NamedTag):
    TagID = Id(required=True, code=1, invalid_code=5)
    missing_code = 2


def rename(ctx: Context, p: dict) -> dict:
    ctx.uow.tags.rename(ctx.actor, p["TagID"], _name(p))
    return {}


TAG_UPDATE = Command(
    name="Tag.Update", run=rename, params=UpdateParams, permission="", success_extra=OK,
    errors={
        1: "Missing required parameter (TagID)", 2: "Missing required parameter (Tag)", 3: BAD_FORMAT, 4: EMPTY,
        # Sendmill's additions: the legacy table has no code for these.
        5: NOT_FOUND, 6: "Tag already exists in the system",
    },
    raises={InvalidTagName: 3, EmptyTagName: 4, TagNotFound: 5, TagExists: 6},
)


# --- Tags.Delete -------------------------------------------------------------------------------
class DeleteParams(LegacySchema):
    Tags = IdList(required=True, code=1)


def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.tags.delete(ctx.actor, p["Tags"])
    return {}


TAGS_DELETE = Command(
    name="Tags.Delete", run=delete, params=DeleteParams, permission="", success_extra=OK,
    errors={1: "Missing required parameter (Tags)", 2: NOT_FOUND},  # 2: Sendmill's addition
    raises={TagNotFound: 2},
)


# --- Tag.AssignToCampaigns / Tag.UnassignFromCampaigns -----------------------------------------
class AssignParams(LegacySchema):
    TagID = Id(required=True, code=1, invalid_code=3)
    CampaignIDs = IdList(required=True, code=2)


ASSIGN_ERRORS = {
    1: "Missing required parameter (TagID)", 2: "Missing required parameter (CampaignIDs)",
    # Sendmill's additions: the legacy table has no code for these.
    3: NOT_FOUND, 4: "Campaign does not exist or does not belong to the user",
}


def assign(ctx: Context, p: dict) -> dict:
    ctx.uow.tags.assign(ctx.actor, p["TagID"], p["CampaignIDs"])
    return {}


def unassign(ctx: Context, p: dict) -> dict:
    ctx.uow.tags.unassign(ctx.actor, p["TagID"], p["CampaignIDs"])
    return {}


TAG_ASSIGN = Command(
    name="Tag.AssignToCampaigns", run=assign, params=AssignParams, permission="Campaigns.Get",
    success_extra=OK, errors=ASSIGN_ERRORS, raises={TagNotFound: 3, CampaignNotFound: 4},
)
TAG_UNASSIGN = Command(
    name="Tag.UnassignFromCampaigns", run=unassign, params=AssignParams, permission="Campaigns.Get",
    success_extra=OK, errors=ASSIGN_ERRORS, raises={TagNotFound: 3, CampaignNotFound: 4},
)

COMMANDS = (TAG_ASSIGN, TAG_CREATE, TAG_UNASSIGN, TAG_UPDATE, TAGS_DELETE, TAGS_GET)
