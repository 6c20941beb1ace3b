"""Campaigns.Archive.GetURL (v5.9.4 campaigns.md, "Get Campaign Archive URL"): the public archive link of a
tag's sent campaigns (engine/campaigns/archive.py). `TemplateURL` is accepted and not used: the page is
Sendmill's own, and fetching a caller's URL to render it would let anyone make the server fetch anything.
"""
from __future__ import annotations

from engine.errors import TagNotFound
from protocol.command import Command, Context
from protocol.params import Id, LegacySchema, Text


class Params(LegacySchema):
    TagID = Id(required=True, code=1, invalid_code=2)
    TemplateURL = Text(lenient=True)


def archive_url(ctx: Context, p: dict) -> dict:
    return {"URL": ctx.uow.campaign_archive.url(ctx.actor, p["TagID"])}


CAMPAIGNS_ARCHIVE_GET_URL = Command(
    name="Campaigns.Archive.GetURL", run=archive_url, params=Params, permission="Campaigns.Get",
    errors={1: "Missing required parameter (TagID)", 2: "Tag not found or doesn't belong to user"},
    raises={TagNotFound: 2},
)

COMMANDS = (CAMPAIGNS_ARCHIVE_GET_URL,)
