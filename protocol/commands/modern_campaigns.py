"""Modern campaign operations without a legacy command, spoken in the /api.php style (README
"Commands Sendmill adds"): statistics of several campaigns, recipients by activity, reuse, the
audience of a paused campaign, the landing-page-only publish and the test send.

They call the same engine services as protocol/rest/campaigns.py; answers use legacy PascalCase
names, and IDs are numbers.
"""
from __future__ import annotations

from engine.campaigns.reports import ACTIVITIES, MAX_STATISTICS_IDS, iso
from engine.errors import (
    AccountNotActive, CampaignAlreadyPublished, CampaignNotFound, CampaignNotPaused, InvalidCampaignStatus,
    SenderNotAllowed,
)
from engine.campaigns.test_sends import (
    PreviewContentMissing, PreviewDeliveryFailed, PreviewRateLimited, PreviewRecipientInvalid,
    PreviewRecipientSuppressed, SmtpNotConfigured,
)
from protocol.command import SCALAR, Command, Context
from protocol.commands.campaigns import ACCOUNT_NOT_ACTIVE, FROM_NOT_ALLOWED, campaign_id_params
from protocol.params import Choice, Id, IdList, Int, LegacyField, LegacySchema, ParamError, Text
from protocol.views.campaigns import campaign_row
from protocol.views.modern_campaigns import decode_cursor, encode_cursor


# --- Campaign.Statistics.List ------------------------------------------------------------------
class StatisticsParams(LegacySchema):
    CampaignIDs = IdList(required=True, code=1, invalid_code=2)


def statistics(ctx: Context, p: dict) -> dict:
    if len(set(p["CampaignIDs"])) > MAX_STATISTICS_IDS:
        raise ParamError(2, f"at most {MAX_STATISTICS_IDS} campaign IDs")
    rows = ctx.uow.campaign_reports.statistics(ctx.actor, p["CampaignIDs"])
    return {"Statistics": [{
        "CampaignID": s.campaign_id,
        "LandingPage": {"Opened": s.landing_page_opened, "Clicked": 0},
        "Email": {"Delivered": s.delivered, "Opened": s.opened, "Clicked": s.clicked, "Bounced": s.bounced,
                  "Complained": s.complained, "NotSent": s.not_sent, "Unknown": s.unknown}} for s in rows]}


CAMPAIGN_STATISTICS_LIST = Command(
    name="Campaign.Statistics.List", run=statistics, params=StatisticsParams, permission="Campaign.Get",
    error_shape=SCALAR,
    errors={
        1: "Missing required parameter: CampaignIDs",
        2: f"CampaignIDs must be a comma-separated list of at most {MAX_STATISTICS_IDS} campaign IDs",
        3: "A campaign does not belong to the user or does not exist",
        4: ACCOUNT_NOT_ACTIVE,
    },
    raises={CampaignNotFound: 3, AccountNotActive: 4}, requires_active_account=True,
)


# --- Campaign.Recipients.ByActivity --------------------------------------------------------------
class Cursor(LegacyField):
    """The NextCursor an earlier answer of the same command gave (opaque)."""

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        return decode_cursor(self._scalar_text(value).strip())


class RecipientsParams(LegacySchema):
    CampaignID = Id(required=True, code=1, invalid_code=2)
    Activity = Choice(ACTIVITIES, required=True, code=3)
    Limit = Int(min_value=1, max_value=1000, code=4)
    Cursor = Cursor(code=5)


def recipients(ctx: Context, p: dict) -> dict:
    rows, has_next = ctx.uow.campaign_reports.recipients(ctx.actor, p["CampaignID"], p["Activity"],
                                                         limit=p.get("Limit", 40), after=p.get("Cursor", 0))
    return {"Recipients": [{"SubscriberID": sid, "LastActivityDate": iso(moment)} for sid, moment in rows],
            "NextCursor": encode_cursor(rows[-1][0]) if has_next and rows else ""}


CAMPAIGN_RECIPIENTS_BY_ACTIVITY = Command(
    name="Campaign.Recipients.ByActivity", run=recipients, params=RecipientsParams, permission="Campaign.Get",
    error_shape=SCALAR,
    errors={
        1: "Missing required parameter: CampaignID",
        2: "Campaign does not belong to the user or does not exist",
        3: f"Activity is required: one of {', '.join(ACTIVITIES)}",
        4: "Limit must be a whole number from 1 to 1000",
        5: "Cursor is not a NextCursor returned by this command",
        6: ACCOUNT_NOT_ACTIVE,
    },
    raises={CampaignNotFound: 2, AccountNotActive: 6}, requires_active_account=True,
)


# --- Campaign.Reuse ---------------------------------------------------------------------------------
def reuse(ctx: Context, p: dict) -> dict:
    copy = ctx.uow.modern_campaigns.reuse(ctx.actor, p["CampaignID"])
    return {"Campaign": campaign_row(copy)}


CAMPAIGN_REUSE = Command(
    name="Campaign.Reuse", run=reuse, params=campaign_id_params(), permission="Campaign.Create", error_shape=SCALAR,
    errors={1: "Missing required parameter: CampaignID",
            2: "Campaign does not belong to the user or does not exist",
            3: ACCOUNT_NOT_ACTIVE},
    raises={CampaignNotFound: 2, AccountNotActive: 3}, requires_active_account=True,
)


# --- Campaign.Audience.Get ---------------------------------------------------------------------------
def audience(ctx: Context, p: dict) -> dict:
    a = ctx.uow.modern_campaigns.audience(ctx.actor, p["CampaignID"])
    return {"Audience": {"ListIDs": a.list_ids, "SegmentIDs": a.segment_ids, "SubscriberIDs": a.contact_ids}}


CAMPAIGN_AUDIENCE_GET = Command(
    name="Campaign.Audience.Get", run=audience, params=campaign_id_params(), permission="Campaign.Get",
    error_shape=SCALAR,
    errors={1: "Missing required parameter: CampaignID",
            2: "Campaign does not belong to the user or does not exist",
            3: "The campaign is not paused",
            4: ACCOUNT_NOT_ACTIVE},
    raises={CampaignNotFound: 2, CampaignNotPaused: 3, AccountNotActive: 4}, requires_active_account=True,
)


# --- Campaign.LandingPage.Publish ---------------------------------------------------------------------
def publish_landing_page(ctx: Context, p: dict) -> dict:
    published = ctx.uow.modern_campaigns.publish(ctx.actor, p["CampaignID"], None)
    return {"LandingPageURL": published.landing_page_url, "DatePublished": iso(published.date_published)}


CAMPAIGN_LANDING_PAGE_PUBLISH = Command(
    name="Campaign.LandingPage.Publish", run=publish_landing_page, params=campaign_id_params(),
    permission="Campaign.Update", error_shape=SCALAR,
    errors={1: "Missing required parameter: CampaignID",
            2: "Campaign does not belong to the user or does not exist",
            3: "The campaign is already published",
            4: "The campaign has no email content",
            5: ACCOUNT_NOT_ACTIVE},
    raises={CampaignNotFound: 2, CampaignAlreadyPublished: 3, InvalidCampaignStatus: 4, AccountNotActive: 5},
    requires_active_account=True,
)


# --- Campaign.SendTest ----------------------------------------------------------------------------------
class SendTestParams(LegacySchema):
    CampaignID = Id(required=True, code=1, invalid_code=2)
    EmailAddress = Text(required=True, max_length=254, code=3)
    Subject = Text(max_length=1000, code=4)


def send_test(ctx: Context, p: dict) -> dict:
    ctx.uow.test_sends.send_campaign_test(ctx.actor, p["CampaignID"], p["EmailAddress"], p.get("Subject"))
    return {}


CAMPAIGN_SEND_TEST = Command(
    name="Campaign.SendTest", run=send_test, params=SendTestParams, permission="Campaign.Update",
    error_shape=SCALAR,
    errors={1: "Missing required parameter: CampaignID",
            2: "Campaign does not belong to the user or does not exist",
            3: "A valid EmailAddress is required",
            4: "Subject is longer than 1000 characters",
            5: "Too many test messages; try again later (RetryAfter seconds)",
            6: "The campaign has no email content",
            7: "The address is on the account's suppression list",
            8: "The test message could not be sent (no SMTP relay, or the relay refused it)",
            9: ACCOUNT_NOT_ACTIVE,
            10: FROM_NOT_ALLOWED},
    raises={CampaignNotFound: 2, PreviewRecipientInvalid: 3, PreviewRateLimited: 5, PreviewContentMissing: 6,
            PreviewRecipientSuppressed: 7, SmtpNotConfigured: 8, PreviewDeliveryFailed: 8, AccountNotActive: 9,
            SenderNotAllowed: 10},
    requires_active_account=True,
)

COMMANDS = (CAMPAIGN_STATISTICS_LIST, CAMPAIGN_RECIPIENTS_BY_ACTIVITY, CAMPAIGN_REUSE, CAMPAIGN_AUDIENCE_GET,
            CAMPAIGN_LANDING_PAGE_PUBLISH, CAMPAIGN_SEND_TEST)
