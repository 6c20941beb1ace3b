"""The campaign chapter (legacy-api-campaign-commands.md), command by command."""
from __future__ import annotations

import json
import re

from marshmallow import ValidationError, validates_schema

from engine.campaigns.listing import CampaignQuery
from engine.campaigns.service import RecipientRef
from engine.errors import (
    AccountNotActive, CampaignNotFound, EmailNotFound, InvalidCampaignStatus, InvalidRecipients, InvalidRules,
    InvalidStatusTransition, InvalidValue, MissingMaxInstances, MissingRecurringDays, MissingRecurringHours,
    MissingRecurringMinutes, MissingRecurringMonths, MissingSendDate, MissingSendTime, MissingTimeZone,
    SenderNotAllowed, UnknownPersonalizationTags, VariationEmailNotFound,
)
from engine.models.campaigns import CAMPAIGN_STATUSES, SCHEDULE_TYPES
from engine.validation import MAX_ID, as_id
from protocol.ab_testing_params import ABTestingField
from protocol.command import ANY, KEYED, LIST, SCALAR, Command, Context
from protocol.params import Bool, Choice, Id, IdList, Int, JsonValue, LegacyField, LegacySchema, ParamError, Text
from protocol.schedule_params import CommaList, SendDateField, SendTimeField, TimeZoneField
from protocol.views.split_tests import ab_testing_options, variation_breakdowns
from protocol.views.campaigns import SORT_FIELDS, as_row_strings, campaign_row, statistics, tags

# Sendmill's addition to the commands the modern Campaign API mirrors (README "Email-marketing account"):
# they answer only while the caller's email-marketing account is ACTIVE.
ACCOUNT_NOT_ACTIVE = "The email marketing account is not ACTIVE"
# Sendmill's addition to the commands that arm or test-send a campaign (README "From addresses").
FROM_NOT_ALLOWED = "The From address is not allowed for this account (not a verified sender email, and its " \
    "domain is not allowed)"


def campaign_id_params(missing: int = 1, invalid: int = 2):
    """The parameters of a command that takes one CampaignID, with its two codes."""
    class Params(LegacySchema):
        CampaignID = Id(required=True, code=missing, invalid_code=invalid)
    return Params


# --- Campaign.Create -----------------------------------------------------------------------
class CreateParams(LegacySchema):
    CampaignName = Text(required=True, max_length=255, code=1)


def create(ctx: Context, p: dict) -> dict:
    campaign = ctx.uow.campaigns.create(ctx.actor, p["CampaignName"])
    return {"CampaignID": campaign.id}


CAMPAIGN_CREATE = Command(
    name="Campaign.Create", run=create, params=CreateParams, error_shape=SCALAR,
    errors={1: "The campaign name is required."},
)


# --- Campaign.Get --------------------------------------------------------------------------
class GetParams(LegacySchema):
    CampaignID = Id(required=True, code=1, invalid_code=2)
    RetrieveStatistics = Bool()
    RetrieveTags = Bool()
    FailOnNotFound = Bool()  # accepted; a missing campaign is always code 3 (protocol.md Part 1 §3)
    SplitABTestStatistics = Bool()


def get(ctx: Context, p: dict) -> dict:
    campaign = ctx.uow.campaigns.view(ctx.actor, p["CampaignID"])
    ledger = campaign.ledger   # read with the campaign, in the same statement
    row = campaign_row(campaign, ledger)
    if p.get("RetrieveStatistics"):
        row["Statistics"] = statistics(campaign, ledger)
    if p.get("RetrieveTags"):
        row["Tags"] = tags(ctx.uow.campaigns.get(ctx.actor, campaign.id))
    if p.get("SplitABTestStatistics"):
        report = ctx.uow.ab_reports.report(ctx.actor, campaign.id)
        row["Options"] = ab_testing_options(report)
        if "Statistics" in row:
            variation_breakdowns(row["Statistics"], report)
    per_second, duration = ctx.uow.campaign_reports.throughput(campaign)
    return {"Campaign": row, "CampaignThroughput": {"EmailsPerSecond": per_second, "Duration": duration}}


CAMPAIGN_GET = Command(
    name="Campaign.Get", run=get, params=GetParams, error_shape=SCALAR, error_text_key="ErrorMessage",
    read_only=True,
    errors={
        1: "Required parameter 'campaignid' is missing.",
        2: "The 'campaignid' parameter must be numeric.",
        3: "Campaign not found.",
        4: ACCOUNT_NOT_ACTIVE,
    },
    raises={CampaignNotFound: 3, AccountNotActive: 4}, requires_active_account=True,
)


# --- Campaign.Approve / Cancel / Pause / Resume --------------------------------------------
def approve(ctx: Context, p: dict) -> dict:
    ctx.uow.campaigns.approve(ctx.actor, p["CampaignID"])
    return {}


CAMPAIGN_APPROVE = Command(
    name="Campaign.Approve", run=approve, params=campaign_id_params(1, 2), auth=ANY,
    error_shape=SCALAR,
    errors={1: "Missing required parameter: CampaignID", 2: "Campaign not found"},
    raises={CampaignNotFound: 2},
)


def cancel(ctx: Context, p: dict) -> dict:
    ctx.uow.campaigns.cancel(ctx.actor, p["CampaignID"])
    return {}


CAMPAIGN_CANCEL = Command(
    name="Campaign.Cancel", run=cancel, params=campaign_id_params(1, 2), permission="Campaign.Update",
    error_shape=SCALAR,
    errors={1: "Missing required field: CampaignID",
            2: "Campaign does not belong to the user or does not exist"},
    raises={CampaignNotFound: 2},
)


def pause(ctx: Context, p: dict) -> dict:
    ctx.uow.campaigns.pause(ctx.actor, p["CampaignID"])
    return {}


CAMPAIGN_PAUSE = Command(
    name="Campaign.Pause", run=pause, params=campaign_id_params(1, 2), permission="Campaign.Update",
    error_shape=SCALAR,
    errors={1: "Missing required parameter: CampaignID", 2: "Campaign does not belong to the user",
            3: "Campaign is not in a 'Sending' state"},
    raises={CampaignNotFound: 2, InvalidStatusTransition: 3},
)


def resume(ctx: Context, p: dict) -> dict:
    ctx.uow.campaigns.resume(ctx.actor, p["CampaignID"])
    return {}


CAMPAIGN_RESUME = Command(
    name="Campaign.Resume", run=resume, params=campaign_id_params(1, 2), permission="Campaign.Update",
    error_shape=SCALAR,
    errors={1: "Missing required parameter: CampaignID", 2: "Campaign does not belong to the user",
            3: "Campaign is not in a 'Paused' state"},
    raises={CampaignNotFound: 2, InvalidStatusTransition: 3},
)


# --- Campaign.Copy -------------------------------------------------------------------------
def copy(ctx: Context, p: dict) -> dict:
    new = ctx.uow.campaign_copies.copy(ctx.actor, p["CampaignID"])
    return {"NewCampaignID": str(new.id)}  # a string, as the spec's example shows


CAMPAIGN_COPY = Command(
    name="Campaign.Copy", run=copy, params=campaign_id_params(1, 1), permission="Campaign.Create",
    error_shape=LIST,
    errors={1: "Invalid source campaign", 2: ACCOUNT_NOT_ACTIVE},
    raises={CampaignNotFound: 1, AccountNotActive: 2}, requires_active_account=True,
)


# --- Campaign.Update -----------------------------------------------------------------------
class RecipientRefs(LegacyField):
    """`ListID:SegmentID[,…]` with segment 0 = the whole list; a bare `ListID` means `ListID:0`."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[RecipientRef]:
        refs: dict[RecipientRef, None] = {}  # an ordered set: dropping repeats costs one lookup per entry
        for item in self._list_items(value):
            text = str(item).strip()
            if not text:
                continue
            match = re.fullmatch(r"(\d{1,18})\s*(?::\s*(\d{1,18}))?", text)
            if not match or not 1 <= int(match.group(1)) <= MAX_ID or int(match.group(2) or 0) > MAX_ID:
                raise ValidationError(f"'{text[:40]}' is not a ListID:SegmentID pair")
            refs[RecipientRef(int(match.group(1)), int(match.group(2) or 0))] = None
        return list(refs)


class UpdateParams(LegacySchema):
    CampaignID = Id(required=True, code=1, invalid_code=2)
    CampaignStatus = Choice(CAMPAIGN_STATUSES, aliases={"Pending": "Pending Approval"}, code=3)
    CampaignName = Text(max_length=255, code=30)
    RelEmailID = Int(min_value=0, code=4)
    ScheduleType = Choice(SCHEDULE_TYPES, aliases={"Recurring": "Recursive"}, code=5)
    SendDate = SendDateField(code=6)
    SendTime = SendTimeField(code=7)
    SendTimeZone = TimeZoneField(code=13)
    ScheduleRecDaysOfWeek = CommaList(0, 7, wildcard_zero=True, code=8)
    ScheduleRecDaysOfMonth = CommaList(0, 31, wildcard_zero=True, code=8)
    ScheduleRecMonths = CommaList(0, 12, wildcard_zero=True, code=9)
    ScheduleRecHours = CommaList(0, 23, wildcard_zero=False, code=10)
    ScheduleRecMinutes = CommaList(0, 59, wildcard_zero=False, code=11)
    ScheduleRecSendMaxInstance = Int(min_value=0, max_value=1_000_000, code=12)
    ApprovalUserExplanation = Text(strip=False, max_length=65535, code=30)
    GoogleAnalyticsDomains = Text(strip=False, max_length=65535, code=30)
    PublishOnRSS = Choice(("Enabled", "Disabled"), aliases={"true": "Enabled", "1": "Enabled", "yes": "Enabled",
                                                           "false": "Disabled", "0": "Disabled", "no": "Disabled"},
                          code=30)
    S2SEnabled = Bool()
    RulesJsonBundle = JsonValue(code=29)
    RecipientListsAndSegments = RecipientRefs(code=28)
    Exclude_RecipientListsAndSegments = RecipientRefs(code=28)
    ABTesting = ABTestingField(code=17)
    IgnoreUnknownTags = Bool()   # Sendmill's: arm even though the content has tags nobody can fill in (code 31)

    @validates_schema
    def bundle_shape(self, data, **kwargs):
        if "RulesJsonBundle" in data:
            bundle_list_ids(data["RulesJsonBundle"])


def bundle_list_ids(bundle) -> list[int]:
    """Check a RulesJsonBundle's shape (criteria syntax, protocol.md §5.4) before the engine
    validates its rules; return its list IDs."""
    def fail(why: str):
        raise ParamError(29, f"RulesJsonBundle is invalid: {why}")

    if not isinstance(bundle, dict):
        fail("it must be a JSON object")
    bundle = {str(k).lower(): v for k, v in bundle.items()}
    if str(bundle.get("operator", "")).lower() not in ("and", "or"):
        fail('"operator" must be "and" or "or"')
    criteria = bundle.get("criteria")
    if not isinstance(criteria, list) or not criteria:
        fail('"criteria" must be a non-empty list')
    list_ids = []
    for group in criteria:
        if not isinstance(group, dict):
            fail("each criteria entry must be an object")
        group = {str(k).lower(): v for k, v in group.items()}
        list_id = group.get("list_id")
        if as_id(list_id) is None:
            fail('each criteria entry needs a positive "list_id"')
        if str(group.get("operator", "and")).lower() not in ("and", "or"):
            fail('a criteria entry\'s "operator" must be "and" or "or"')
        rules = group.get("rules", [])
        if not isinstance(rules, list) or not all(isinstance(r, (dict, list)) for r in rules):
            fail('"rules" must be a list of rule objects')
        list_ids.append(int(list_id))
    return list_ids


UPDATE_FIELD_MAP = {
    "CampaignName": "name", "ScheduleType": "schedule_type", "SendDate": "send_date", "SendTime": "send_time",
    "SendTimeZone": "send_timezone", "ScheduleRecDaysOfWeek": "schedule_rec_days_of_week",
    "ScheduleRecDaysOfMonth": "schedule_rec_days_of_month", "ScheduleRecMonths": "schedule_rec_months",
    "ScheduleRecHours": "schedule_rec_hours", "ScheduleRecMinutes": "schedule_rec_minutes",
    "ScheduleRecSendMaxInstance": "schedule_rec_send_max_instance",
    "ApprovalUserExplanation": "approval_user_explanation", "GoogleAnalyticsDomains": "google_analytics_domains",
    "PublishOnRSS": "publish_on_rss", "S2SEnabled": "s2s_enabled", "CampaignStatus": "status",
    "RecipientListsAndSegments": "recipients", "Exclude_RecipientListsAndSegments": "excluded_recipients",
}


def update(ctx: Context, p: dict) -> dict:
    changes = {UPDATE_FIELD_MAP[k]: v for k, v in p.items() if k in UPDATE_FIELD_MAP}
    if p.get("RelEmailID"):  # 0 means "none" in legacy clients, not a change
        changes["email_id"] = p["RelEmailID"]
    if "ABTesting" in p:
        changes["variations"] = p["ABTesting"]
    if "RulesJsonBundle" in p:
        changes["rules_json_bundle"] = json.dumps(p["RulesJsonBundle"], separators=(",", ":"))
        changes.pop("recipients", None)
        changes.pop("excluded_recipients", None)
    ctx.uow.campaigns.update(ctx.actor, p["CampaignID"], changes,
                             allow_unknown_tags=p.get("IgnoreUnknownTags", False))
    return {}


CAMPAIGN_UPDATE = Command(
    name="Campaign.Update", run=update, params=UpdateParams, error_shape=SCALAR,
    errors={
        1: "Campaign ID is required",
        2: "Campaign does not belong to the user",
        3: "Invalid campaign status",
        4: "Email ID does not belong to the user",
        5: "Invalid schedule type",
        6: "Send date is required for future scheduled campaigns",
        7: "Send time is required for future scheduled campaigns",
        8: "Either days of the week or days of the month must be specified for recursive campaigns",
        9: "Months are required for recursive campaigns",
        10: "Hours are required for recursive campaigns",
        11: "Minutes are required for recursive campaigns",
        12: "Maximum instances are required for recursive campaigns",
        13: "Timezone is required for scheduled campaigns",
        17: "Invalid ABTesting parameter format (must be array)",
        18: "Invalid ABTesting variations format (must be array)",
        19: "Email variation not found or doesn't belong to user",
        21: "Minimum 2 A/B test variations required",
        22: "Maximum 5 A/B test variations allowed",
        23: "Missing required fields in A/B variation (EmailID, Weight)",
        24: "Invalid EmailID or Weight in A/B variation",
        25: "A/B variation distribution percentage below 1%",
        # Sendmill's additions (README, "Error codes"): the legacy table has no code for these.
        28: "Recipient list or segment does not exist or does not belong to the user",
        29: "RulesJsonBundle is invalid",
        30: "Invalid parameter value",
        31: FROM_NOT_ALLOWED,
        32: "The email content has personalisation tags that cannot be filled in (named in the text and in "
            "UnknownTags); correct them, or pass IgnoreUnknownTags=true to send them as empty text",
    },
    raises={
        CampaignNotFound: 2, InvalidCampaignStatus: 3, EmailNotFound: 4, MissingSendDate: 6,
        MissingSendTime: 7, MissingRecurringDays: 8, MissingRecurringMonths: 9, MissingRecurringHours: 10,
        MissingRecurringMinutes: 11, MissingMaxInstances: 12, MissingTimeZone: 13, InvalidRecipients: 28,
        InvalidRules: 29, SenderNotAllowed: 31, UnknownPersonalizationTags: 32, VariationEmailNotFound: 19,
    },
)


# --- Campaigns.Get -------------------------------------------------------------------------
STATUS_FILTERS = ("All", *CAMPAIGN_STATUSES, "Scheduled")


class ListParams(LegacySchema):
    RecordsPerRequest = Int(min_value=0, lenient=True)
    RecordsFrom = Int(min_value=0, lenient=True)
    CampaignStatus = Choice(STATUS_FILTERS, aliases={"Pending": "Pending Approval"}, lenient=True)
    Status = Choice(STATUS_FILTERS, aliases={"Pending": "Pending Approval"}, lenient=True)  # CH/OC spelling
    SearchKeyword = Text(lenient=True)
    SearchKeyowrd = Text(lenient=True)  # a typo some clients send
    OrderField = Text(lenient=True)
    OrderType = Choice(("ASC", "DESC"), lenient=True)
    RetrieveTags = Bool()
    Tags = IdList(lenient=True)
    RetrieveStatistics = Bool()


def list_campaigns(ctx: Context, p: dict) -> dict:
    order_field = p.get("OrderField", "").lower()
    query = CampaignQuery(
        status=p.get("CampaignStatus") or p.get("Status") or "All",
        keyword=p.get("SearchKeyword") or p.get("SearchKeyowrd"),
        order_field=order_field if order_field.startswith("sort-by-") else SORT_FIELDS.get(order_field),
        order_type=p.get("OrderType"),
        offset=p.get("RecordsFrom", 0), limit=p.get("RecordsPerRequest", 0),
        tag_ids=tuple(p.get("Tags", ())),
    )
    campaigns, total = ctx.uow.campaign_listing.search(ctx.actor, query)
    ledgers = ctx.uow.campaign_reports.ledger_counts([c.id for c in campaigns])
    rows = []
    for campaign in campaigns:
        row = campaign_row(campaign, ledgers[campaign.id])
        if p.get("RetrieveStatistics"):
            row["Statistics"] = statistics(campaign, ledgers[campaign.id])
        if p.get("RetrieveTags"):
            row["Tags"] = tags(campaign)
        rows.append(as_row_strings(row))
    return {"Campaigns": rows, "TotalCampaigns": total}


CAMPAIGNS_GET = Command(
    name="Campaigns.Get", run=list_campaigns, params=ListParams, error_shape=SCALAR,
    success_extra={"ErrorText": ""},
    errors={1: ACCOUNT_NOT_ACTIVE}, raises={AccountNotActive: 1}, requires_active_account=True,
)


# --- Campaigns.Delete ----------------------------------------------------------------------
class DeleteParams(LegacySchema):
    Campaigns = IdList(required=True, code=1)


def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.campaigns.delete(ctx.actor, p["Campaigns"])
    return {}


CAMPAIGNS_DELETE = Command(
    name="Campaigns.Delete", run=delete, params=DeleteParams, permission="Campaign.Delete",
    error_shape=KEYED, error_keys={1: "campaigns", 2: "account"}, success_extra={"ErrorText": ""},
    errors={1: "The 'campaigns' parameter is missing or invalid.", 2: ACCOUNT_NOT_ACTIVE},
    raises={InvalidValue: 1, AccountNotActive: 2}, requires_active_account=True,
)

COMMANDS = (
    CAMPAIGN_APPROVE, CAMPAIGN_CANCEL, CAMPAIGN_COPY, CAMPAIGN_CREATE, CAMPAIGN_GET, CAMPAIGN_PAUSE,
    CAMPAIGN_RESUME, CAMPAIGN_UPDATE, CAMPAIGNS_DELETE, CAMPAIGNS_GET,
)
