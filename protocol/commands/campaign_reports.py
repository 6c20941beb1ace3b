"""Campaign.LinkClicks.Get, Campaign.Recipients.Activity.Get and Campaigns.Counts (v5.9.4 campaigns.md).

The two sent-campaign reports answer scalar codes with `ErrorMessage`, as their pages show; a missing
CampaignID answers 2 like a non-numeric one (the pages list no other code for it). Codes the pages lack
are Sendmill's additions (README, "Error codes Sendmill adds").
"""
from __future__ import annotations

from engine.campaigns.link_reports import RECIPIENT_ACTIVITIES
from engine.errors import CampaignNotFound
from protocol.command import ANY, SCALAR, Command, Context
from protocol.params import Choice, Id, IdList, Int, LegacySchema, Text
from protocol.schedule_params import SendDateField

DEFAULT_PAGE, MAX_PAGE = 25, 1000
NOT_FOUND = "Campaign not found or access denied"


class PagedReport(LegacySchema):
    CampaignID = Id(required=True, code=2)
    # The page size is capped, not refused (the pages say "hard cap: 1000"); unreadable values take the default.
    RecordsFrom = Int(min_value=0, lenient=True)
    RecordsPerRequest = Int(min_value=1, lenient=True)


def _page(p: dict) -> dict:
    return {"offset": p.get("RecordsFrom", 0), "limit": min(p.get("RecordsPerRequest", DEFAULT_PAGE), MAX_PAGE)}


# --- Campaign.LinkClicks.Get -------------------------------------------------------------------
class LinkClicksParams(PagedReport):
    GroupBy = Choice(("Links", "Subscribers"), code=4)


def link_clicks(ctx: Context, p: dict) -> dict:
    group_by = p.get("GroupBy", "Links")
    answer = {"CampaignID": p["CampaignID"], "GroupBy": group_by}
    if group_by == "Links":
        rows, total = ctx.uow.campaign_activity.link_clicks(ctx.actor, p["CampaignID"], **_page(p))
        # Sendmill stores no link titles: the URL stands for one. UniqueClicks is Sendmill's addition.
        answer.update(TotalRecords=total, Links=[
            {"LinkTitle": r.url, "LinkURL": r.url, "TotalClicks": r.total, "UniqueClicks": r.unique} for r in rows])
    else:
        rows, total = ctx.uow.campaign_activity.subscriber_clicks(ctx.actor, p["CampaignID"], **_page(p))
        answer.update(TotalRecords=total, Subscribers=[
            {"SubscriberID": r.subscriber_id, "ListID": r.list_id, "EmailAddress": r.email, "TotalClicks": r.total}
            for r in rows])
    return answer


CAMPAIGN_LINK_CLICKS_GET = Command(
    name="Campaign.LinkClicks.Get", run=link_clicks, params=LinkClicksParams, auth=ANY, permission="Campaign.Get",
    error_shape=SCALAR, error_text_key="ErrorMessage", read_only=True,
    errors={2: "CampaignID is not numeric", 3: NOT_FOUND,
            4: "Invalid GroupBy. Allowed: Links, Subscribers"},  # 4: Sendmill's addition
    raises={CampaignNotFound: 3},
)


# --- Campaign.Recipients.Activity.Get ----------------------------------------------------------
class RecipientsActivityParams(PagedReport):
    Activity = Choice(tuple(RECIPIENT_ACTIVITIES), required=True, code=4)
    SearchKeyword = Text(max_length=255, lenient=True)
    EmailAddress = Text(max_length=255, lenient=True)


def recipients_activity(ctx: Context, p: dict) -> dict:
    activity = p["Activity"]
    rows, total = ctx.uow.campaign_activity.recipients(
        ctx.actor, p["CampaignID"], activity, keyword=p.get("SearchKeyword") or p.get("EmailAddress"), **_page(p))
    recipients = []
    for r in rows:
        row = {"SubscriberID": r.subscriber_id, "ListID": r.list_id, "ListName": r.list_name,
               "EmailAddress": r.email, "ActivityCount": r.count, "LastActivityDate": r.last_at}
        if activity == "bounce":
            row["BounceType"] = "Hard" if r.bounce_type == "Hard" else "Soft"
        recipients.append(row)
    return {"CampaignID": p["CampaignID"], "Activity": activity, "TotalRecords": total, "Recipients": recipients}


CAMPAIGN_RECIPIENTS_ACTIVITY_GET = Command(
    name="Campaign.Recipients.Activity.Get", run=recipients_activity, params=RecipientsActivityParams, auth=ANY,
    permission="Campaign.Get", error_shape=SCALAR, error_text_key="ErrorMessage", read_only=True,
    errors={2: "CampaignID is not numeric", 3: NOT_FOUND,
            4: "Invalid activity. Allowed: " + ", ".join(RECIPIENT_ACTIVITIES)},
    raises={CampaignNotFound: 3},
)


# --- Campaigns.Counts --------------------------------------------------------------------------
class CountsParams(LegacySchema):
    Tags = IdList(code=1)
    date_from = SendDateField(code=2)
    date_to = SendDateField(code=2)


def counts(ctx: Context, p: dict) -> dict:
    by_status, buckets = ctx.uow.campaign_activity.status_counts(
        ctx.actor, tag_ids=p.get("Tags", []), date_from=p.get("date_from"), date_to=p.get("date_to"))
    return {"Counts": by_status, "Buckets": buckets}


CAMPAIGNS_COUNTS = Command(
    name="Campaigns.Counts", run=counts, params=CountsParams, permission="Campaigns.Get", error_shape=SCALAR,
    success_extra={"ErrorText": ""}, read_only=True,
    # Sendmill's additions: the page documents no code but 0.
    errors={1: "Tags must be a comma-separated list of tag IDs", 2: "date_from and date_to must be YYYY-MM-DD"},
)

COMMANDS = (CAMPAIGN_LINK_CLICKS_GET, CAMPAIGN_RECIPIENTS_ACTIVITY_GET, CAMPAIGNS_COUNTS)
