"""How campaigns look on the modern REST surface (modern-campaign-api.txt): objects, statistics,
recipient pages with cursors, publishing data, audiences; plus response schemas for /openapi.json.

The Campaign object itself is built by engine/campaigns/reports.campaign_object, because the
`created` event carries the same object and events are written by the engine.
"""
from __future__ import annotations

import base64
import binascii
import re

from marshmallow import Schema, ValidationError, fields

from engine.campaigns.reports import CampaignCard, Statistics, campaign_object, iso
from engine.campaigns.modern import Audience, Published

CURSOR_PREFIX = "r1:"


# --- presenters --------------------------------------------------------------------------------
def campaign(card: CampaignCard) -> dict:
    return campaign_object(card)


def statistics(s: Statistics) -> dict:
    return {"campaignId": str(s.campaign_id),
            "landingPage": {"opened": s.landing_page_opened, "clicked": 0},
            "email": {"delivered": s.delivered, "opened": s.opened, "clicked": s.clicked, "bounced": s.bounced,
                      "complained": s.complained, "notSent": s.not_sent, "unknown": s.unknown}}


def recipients_page(rows, has_next: bool) -> dict:
    metadata: dict = {"count": len(rows), "hasNext": has_next}
    if has_next and rows:
        metadata["cursors"] = {"next": encode_cursor(rows[-1][0])}
    return {"recipients": [{"contactId": str(sid), "lastActivityDate": iso(moment)} for sid, moment in rows],
            "pagingMetadata": metadata}


def publishing_data(p: Published) -> dict:
    return {"publishingData": {"landingPageUrl": p.landing_page_url, "datePublished": iso(p.date_published)}}


def audience(a: Audience) -> dict:
    # Our labels are lists (README "Modern campaign API"); contactsFilter is never produced.
    return {"audience": {"contactIds": [str(i) for i in a.contact_ids], "labelIds": [str(i) for i in a.list_ids],
                         "segmentIds": [str(i) for i in a.segment_ids], "activeContactsOnly": True}}


# --- cursors -----------------------------------------------------------------------------------
def encode_cursor(subscriber_id: int) -> str:
    """Opaque to clients: the last subscriber id of the page, keyset style."""
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{subscriber_id}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValidationError("not a cursor returned by this endpoint") from None
    match = re.fullmatch(re.escape(CURSOR_PREFIX) + r"(\d{1,18})", raw)
    if match is None:
        raise ValidationError("not a cursor returned by this endpoint")
    return int(match.group(1))


class CursorField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs) -> int:
        return decode_cursor(super()._deserialize(value, attr, data, **kwargs))


# --- response schemas (documentation for /openapi.json) --------------------------------------------
class CampaignPublishingDataSchema(Schema):
    landingPageUrl = fields.String()
    datePublished = fields.String()
    statistics = fields.Dict()


class CampaignObjectSchema(Schema):
    campaignId = fields.String()
    title = fields.String()
    firstImageUrl = fields.String()
    editorType = fields.String()
    status = fields.String(metadata={"enum": ["UNKNOWN", "ACTIVE", "ARCHIVED", "DELETED"]})
    visibilityStatus = fields.String(metadata={"enum": ["UNKNOWN", "DRAFT", "PUBLISHED", "TEMPLATE"]})
    distributionStatus = fields.String()
    publishingData = fields.Nested(CampaignPublishingDataSchema)
    dateCreated = fields.String()
    dateUpdated = fields.String()
    emailSubject = fields.String()


class CampaignResponseSchema(Schema):
    campaign = fields.Nested(CampaignObjectSchema)


class CampaignListResponseSchema(Schema):
    paging = fields.Dict()
    campaigns = fields.List(fields.Nested(CampaignObjectSchema))


class CampaignStatisticsEntrySchema(Schema):
    campaignId = fields.String()
    landingPage = fields.Dict()
    email = fields.Dict()


class CampaignStatisticsResponseSchema(Schema):
    statistics = fields.List(fields.Nested(CampaignStatisticsEntrySchema))


class CampaignRecipientSchema(Schema):
    contactId = fields.String()
    lastActivityDate = fields.String()


class CampaignRecipientsResponseSchema(Schema):
    recipients = fields.List(fields.Nested(CampaignRecipientSchema))
    pagingMetadata = fields.Dict()


class CampaignPublishResponseSchema(Schema):
    publishingData = fields.Nested(CampaignPublishingDataSchema)


class CampaignAudienceSchema(Schema):
    contactIds = fields.List(fields.String())
    labelIds = fields.List(fields.String())
    segmentIds = fields.List(fields.String())
    activeContactsOnly = fields.Boolean()


class CampaignAudienceResponseSchema(Schema):
    audience = fields.Nested(CampaignAudienceSchema)
