"""Admin.Campaign.RetryFailed (v5.9.4 campaigns.md; also POST /api/v1/admin.campaign.retryfailed)."""
from __future__ import annotations

from engine.campaigns.retry_failed import CampaignNeverSent, CampaignNotFinished, NoFailedRecipients, retry_failed
from engine.errors import CampaignNotFound
from protocol.command import ADMIN, SCALAR, Command, Context
from protocol.params import Id, LegacySchema


class RetryParams(LegacySchema):
    CampaignID = Id(required=True, code=1)


def retry(ctx: Context, p: dict) -> dict:
    done = retry_failed(ctx.uow, ctx.actor, p["CampaignID"])
    return {"RetriedCount": done.retried, "BatchesCreated": done.instances,
            "Message": f"{done.retried} failed recipients queued for retry in {done.instances} batch(es)."}


ADMIN_CAMPAIGN_RETRY_FAILED = Command(
    name="Admin.Campaign.RetryFailed", run=retry, params=RetryParams, auth=ADMIN, error_shape=SCALAR,
    success_extra={"ErrorText": ""},
    errors={
        1: "campaign_id parameter is required",
        2: "Campaign not found",
        3: "Campaign is not in Sent or Failed status",
        4: "Queue table does not exist for this campaign",
        5: "No failed recipients found for this campaign",
        6: "Database error during retry operation, or the retry was committed but the campaign could not be "
           "dispatched to the delivery queue",
    },
    raises={CampaignNotFound: 2, CampaignNotFinished: 3, CampaignNeverSent: 4, NoFailedRecipients: 5},
)

COMMANDS = (ADMIN_CAMPAIGN_RETRY_FAILED,)
