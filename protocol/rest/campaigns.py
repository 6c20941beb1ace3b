"""The modern Campaign API (modern-campaign-api.txt) over the campaign engine.

Paths, query/body names, enums and response shapes are the spec's. IDs are our integer IDs as
strings; a path or list ID that is not one of the caller's campaigns is 404 NOT_FOUND, exactly like
a missing one. Error codes (the `applicationError.code` of 4xx answers) are listed in the README.
"""
from __future__ import annotations

from datetime import timezone

from marshmallow import ValidationError, fields, validate, validates_schema

from engine.campaigns.modern_status import CAMPAIGN_STATUSES, VISIBILITY_STATUSES
from engine.campaigns.reports import ACTIVITIES, MAX_STATISTICS_IDS
from engine.errors import (
    AccountNotActive, CampaignAlreadyPublished, CampaignNotFound, CampaignNotPaused, CampaignNotScheduled,
    EmailBeingSent, InvalidCampaignStatus, InvalidRecipients, InvalidRules, QuotaExceeded, ScheduleError,
    SenderNotAllowed, SenderNotReady, SendTimeTooSoon, UnknownPersonalizationTags,
)
from engine.campaigns.modern import ALL_CONTACTS, Distribution
from engine.campaigns.test_sends import (
    PreviewContentMissing, PreviewDeliveryFailed, PreviewRateLimited, PreviewRecipientInvalid,
    PreviewRecipientSuppressed, SmtpNotConfigured,
)
from engine.validation import as_id
from protocol.rest.core import Endpoint, RestContext, RestSchema
from protocol.views import modern_campaigns as views

BASE = "/email-marketing/v1/campaigns"
TAG = "Campaigns"
DEFAULT_CAMPAIGNS_PAGE, MAX_CAMPAIGNS_PAGE = 50, 1000
DEFAULT_RECIPIENTS_PAGE, MAX_RECIPIENTS_PAGE = 40, 1000

NOT_READY = (428, "CAMPAIGN_NOT_READY")
# "Campaign API: Accessible only when email account status = ACTIVE" (modern-email-marketing-overview.txt):
# every endpoint here checks it first and answers this.
ACCOUNT_NOT_ACTIVE = {AccountNotActive: (428, "EMAIL_MARKETING_ACCOUNT_NOT_ACTIVE")}
FROM_NOT_ALLOWED = {SenderNotAllowed: (428, "FROM_ADDRESS_NOT_ALLOWED")}
PUBLISH_ERRORS = {
    **ACCOUNT_NOT_ACTIVE,
    **FROM_NOT_ALLOWED,
    CampaignAlreadyPublished: (428, "CAMPAIGN_ALREADY_PUBLISHED"),
    QuotaExceeded: (428, "EMAIL_MARKETING_QUOTA_EXCEEDED"),
    SenderNotReady: (428, "SENDER_DETAILS_NOT_VERIFIED"),
    # The campaign's email is also the content of an untrusted account's campaign that is sending right now.
    EmailBeingSent: (428, "EMAIL_BEING_SENT"),
    InvalidCampaignStatus: NOT_READY,
    ScheduleError: NOT_READY,
    SendTimeTooSoon: (400, "SEND_TIME_TOO_SOON"),
    InvalidRecipients: (400, "INVALID_AUDIENCE"),
    InvalidRules: (400, "INVALID_AUDIENCE"),
    UnknownPersonalizationTags: (428, "CAMPAIGN_HAS_UNKNOWN_TAGS"),
}


def _campaign_id(ctx: RestContext) -> int:
    campaign_id = as_id(ctx.path["campaignId"])
    if campaign_id is None:
        raise CampaignNotFound()   # not one of our IDs, so not one of the caller's campaigns
    return campaign_id


def _ids(values: list[str], field: str) -> tuple[int, ...]:
    ids = []
    for value in values:
        parsed = as_id(value)
        if parsed is None:
            raise InvalidRecipients(f"{field}: '{value}' is not an ID of this server")
        ids.append(parsed)
    return tuple(ids)


# --- List Campaigns --------------------------------------------------------------------------------
class CampaignListQuery(RestSchema):
    limit = fields.Integer(data_key="paging.limit", validate=validate.Range(min=0, max=MAX_CAMPAIGNS_PAGE))
    offset = fields.Integer(data_key="paging.offset", load_default=0, validate=validate.Range(min=0))
    optionIncludeStatistics = fields.Boolean(load_default=False)
    statuses = fields.List(fields.String(validate=validate.OneOf(CAMPAIGN_STATUSES)), load_default=list)
    visibilityStatuses = fields.List(fields.String(validate=validate.OneOf(VISIBILITY_STATUSES)),
                                     load_default=list)
    # The spec's own example writes the snake_case names.
    option_include_statistics = fields.Boolean()
    visibility_statuses = fields.List(fields.String(validate=validate.OneOf(VISIBILITY_STATUSES)))


def list_campaigns(ctx: RestContext) -> dict:
    a = ctx.args
    limit = a.get("limit") or DEFAULT_CAMPAIGNS_PAGE
    cards = ctx.uow.campaign_reports.campaigns(
        ctx.actor, limit=limit, offset=a["offset"], statuses=a["statuses"],
        visibilities=a["visibilityStatuses"] + a.get("visibility_statuses", []),
        with_statistics=a["optionIncludeStatistics"] or a.get("option_include_statistics", False))
    return {"paging": {"limit": limit, "offset": a["offset"]}, "campaigns": [views.campaign(c) for c in cards]}


# --- Get / Delete Campaign -------------------------------------------------------------------------
class CampaignGetQuery(RestSchema):
    optionIncludeStatistics = fields.Boolean(load_default=False)


def get_campaign(ctx: RestContext) -> dict:
    campaign = ctx.uow.campaigns.get(ctx.actor, _campaign_id(ctx))
    return {"campaign": views.campaign(ctx.uow.campaign_reports.card(campaign, ctx.args["optionIncludeStatistics"]))}


def delete_campaign(ctx: RestContext) -> dict:
    campaign = ctx.uow.campaigns.get(ctx.actor, _campaign_id(ctx))
    ctx.uow.campaigns.delete(ctx.actor, [campaign.id])
    return {}


# --- List Statistics / List Recipients -------------------------------------------------------------
class CampaignStatisticsQuery(RestSchema):
    campaignIds = fields.List(fields.String(), required=True,
                              validate=validate.Length(min=1, max=MAX_STATISTICS_IDS))


def list_statistics(ctx: RestContext) -> dict:
    ids = []
    for value in ctx.args["campaignIds"]:
        campaign_id = as_id(value)
        if campaign_id is None:
            raise CampaignNotFound(f"campaign '{value}' does not exist")
        ids.append(campaign_id)
    return {"statistics": [views.statistics(s) for s in ctx.uow.campaign_reports.statistics(ctx.actor, ids)]}


class CampaignRecipientsQuery(RestSchema):
    activity = fields.String(required=True, validate=validate.OneOf(ACTIVITIES))
    limit = fields.Integer(data_key="paging.limit", validate=validate.Range(min=0, max=MAX_RECIPIENTS_PAGE))
    cursor = views.CursorField(data_key="paging.cursor")


def list_recipients(ctx: RestContext) -> dict:
    rows, has_next = ctx.uow.campaign_reports.recipients(ctx.actor, _campaign_id(ctx), ctx.args["activity"],
                                              limit=ctx.args.get("limit") or DEFAULT_RECIPIENTS_PAGE,
                                              after=ctx.args.get("cursor", 0))
    return views.recipients_page(rows, has_next)


# --- Publish ---------------------------------------------------------------------------------------
class CampaignDistributionOptions(RestSchema):
    emailSubject = fields.String(validate=validate.Length(max=1000))
    labelIds = fields.List(fields.String(), load_default=list)
    listIds = fields.List(fields.String(), load_default=list)
    segmentIds = fields.List(fields.String(), load_default=list)
    contactIds = fields.List(fields.String(), load_default=list)
    contactsFilter = fields.Dict()
    activeContactsOnly = fields.Boolean()
    sendAt = fields.AwareDateTime(format="iso", default_timezone=timezone.utc)

    @validates_schema
    def supported(self, data, **kwargs):
        if data.get("contactsFilter"):
            raise ValidationError("contactsFilter is not supported; name contactIds instead", "contactsFilter")
        if data.get("activeContactsOnly") is False:
            raise ValidationError("only active (subscribed) contacts are ever mailed", "activeContactsOnly")


class CampaignPublishBody(RestSchema):
    emailDistributionOptions = fields.Nested(CampaignDistributionOptions)
    # Sendmill's: arm even though the content has tags nobody can fill in (else 428 CAMPAIGN_HAS_UNKNOWN_TAGS).
    ignoreUnknownTags = fields.Boolean(load_default=False)


def publish(ctx: RestContext) -> dict:
    options = ctx.body.get("emailDistributionOptions")
    distribution = None
    if options is not None:
        labels = [v for v in options["labelIds"] if v != ALL_CONTACTS]
        distribution = Distribution(
            subject=options.get("emailSubject") or None, all_contacts=len(labels) != len(options["labelIds"]),
            list_ids=_ids(labels, "labelIds") + _ids(options["listIds"], "listIds"),
            segment_ids=_ids(options["segmentIds"], "segmentIds"),
            contact_ids=_ids(options["contactIds"], "contactIds"), send_at=options.get("sendAt"),
            allow_unknown_tags=ctx.body["ignoreUnknownTags"])
    return views.publishing_data(ctx.uow.modern_campaigns.publish(ctx.actor, _campaign_id(ctx), distribution))


# --- Send Test -------------------------------------------------------------------------------------
class CampaignSendTestBody(RestSchema):
    emailSubject = fields.String(validate=validate.Length(max=1000))
    toEmailAddress = fields.Email(required=True)


def send_test(ctx: RestContext) -> dict:
    ctx.uow.test_sends.send_campaign_test(ctx.actor, _campaign_id(ctx), ctx.body["toEmailAddress"],
                                          ctx.body.get("emailSubject") or None)
    return {}


# --- Pause Scheduling / Reschedule / Reuse / Get Audience ---------------------------------------------
def pause_scheduling(ctx: RestContext) -> dict:
    ctx.uow.scheduling.pause_scheduling(ctx.actor, _campaign_id(ctx))
    return {}


class CampaignRescheduleBody(RestSchema):
    sendAt = fields.AwareDateTime(required=True, format="iso", default_timezone=timezone.utc)


def reschedule(ctx: RestContext) -> dict:
    ctx.uow.scheduling.reschedule(ctx.actor, _campaign_id(ctx), ctx.body["sendAt"])
    return {}


def reuse(ctx: RestContext) -> dict:
    copy = ctx.uow.modern_campaigns.reuse(ctx.actor, _campaign_id(ctx))
    return {"campaign": views.campaign(ctx.uow.campaign_reports.card(copy))}


def get_audience(ctx: RestContext) -> dict:
    return views.audience(ctx.uow.modern_campaigns.audience(ctx.actor, _campaign_id(ctx)))


NOT_SCHEDULED = {CampaignNotScheduled: (428, "CAMPAIGN_NOT_SCHEDULED")}


def _endpoint(method: str, path: str, run, summary: str, *, errors=None, **kwargs) -> Endpoint:
    """A Campaign API endpoint: answers only while the caller's account is ACTIVE."""
    return Endpoint(method, path, run, summary, TAG, errors={**ACCOUNT_NOT_ACTIVE, **(errors or {})},
                    requires_active_account=True, **kwargs)


ENDPOINTS = [
    _endpoint("GET", BASE, list_campaigns, "List Campaigns", query_params=CampaignListQuery,
              response=views.CampaignListResponseSchema, permission="Campaigns.Get"),
    _endpoint("GET", f"{BASE}/statistics", list_statistics, "List Statistics", query_params=CampaignStatisticsQuery,
              response=views.CampaignStatisticsResponseSchema, permission="Campaign.Get"),
    _endpoint("GET", f"{BASE}/{{campaignId}}", get_campaign, "Get Campaign", query_params=CampaignGetQuery,
              response=views.CampaignResponseSchema, permission="Campaign.Get"),
    _endpoint("DELETE", f"{BASE}/{{campaignId}}", delete_campaign, "Delete Campaign", permission="Campaign.Delete"),
    _endpoint("GET", f"{BASE}/{{campaignId}}/statistics/recipients", list_recipients, "List Recipients",
              query_params=CampaignRecipientsQuery, response=views.CampaignRecipientsResponseSchema,
              permission="Campaign.Get"),
    _endpoint("POST", f"{BASE}/{{campaignId}}/publish", publish, "Publish Campaign", body=CampaignPublishBody,
              response=views.CampaignPublishResponseSchema, errors=PUBLISH_ERRORS, permission="Campaign.Update"),
    _endpoint("POST", f"{BASE}/{{campaignId}}/test", send_test, "Send Test", body=CampaignSendTestBody,
              errors={PreviewRateLimited: (429, "TOO_MANY_REQUESTS"),
                      PreviewRecipientInvalid: (400, "INVALID_EMAIL_ADDRESS"),
                      PreviewRecipientSuppressed: (428, "RECIPIENT_SUPPRESSED"),
                      PreviewContentMissing: (428, "CAMPAIGN_HAS_NO_CONTENT"),
                      SmtpNotConfigured: (428, "SMTP_NOT_CONFIGURED"),
                      PreviewDeliveryFailed: (502, "TEST_EMAIL_NOT_DELIVERED"), **FROM_NOT_ALLOWED},
              permission="Campaign.Update"),
    _endpoint("POST", f"{BASE}/{{campaignId}}/pause-scheduling", pause_scheduling, "Pause Scheduling",
              errors=NOT_SCHEDULED, permission="Campaign.Update"),
    _endpoint("POST", f"{BASE}/{{campaignId}}/reschedule", reschedule, "Reschedule", body=CampaignRescheduleBody,
              errors={**NOT_SCHEDULED, SendTimeTooSoon: (400, "SEND_TIME_TOO_SOON"), ScheduleError: NOT_READY},
              permission="Campaign.Update"),
    _endpoint("POST", f"{BASE}/{{campaignId}}/reuse", reuse, "Reuse Campaign",
              response=views.CampaignResponseSchema, permission="Campaign.Create"),
    _endpoint("POST", f"{BASE}/{{campaignId}}/audience", get_audience, "Get Audience",
              response=views.CampaignAudienceResponseSchema,
              errors={CampaignNotPaused: (428, "CAMPAIGN_NOT_PAUSED")}, permission="Campaign.Get"),
]
