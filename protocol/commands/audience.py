"""Campaign.Recipients.Get: the audience preview of an unsent campaign.

From v5.9.4/api-reference/campaigns.md (`campaign.recipients.get`): scalar codes with an
`ErrorMessage`, callable with a user or an administrator key, permission Campaign.Get.
Sendmill's additions: `CompiledSQL` in the answer (the query the audience is computed with,
values inlined for reading), and `RecordsPerRequest` (default 100, at most 1000) / `RecordsFrom`
to page through `Recipients`, which the documentation leaves unbounded.
"""
from __future__ import annotations

from engine.errors import CampaignNotFound, InvalidCampaignStatus, InvalidRecipients, InvalidRules, NoAudience
from protocol.command import ANY, SCALAR, Command, Context
from protocol.params import Bool, Id, Int, LegacySchema
from protocol.views.segments import preview

DEFAULT_PAGE = 100


class RecipientsParams(LegacySchema):
    CampaignID = Id(required=True, code=1, invalid_code=2)
    OnlyTotal = Bool()
    RecordsPerRequest = Int(min_value=1, max_value=1000, lenient=True)
    RecordsFrom = Int(min_value=0, max_value=10**12, lenient=True)


def recipients(ctx: Context, p: dict) -> dict:
    only_total = p.get("OnlyTotal", False)
    sample = 0 if only_total else p.get("RecordsPerRequest", DEFAULT_PAGE)
    result = ctx.uow.audience.preview(ctx.actor, p["CampaignID"], sample=sample, offset=p.get("RecordsFrom", 0))
    return preview(result, only_total)


CAMPAIGN_RECIPIENTS_GET = Command(
    name="Campaign.Recipients.Get", run=recipients, params=RecipientsParams, auth=ANY, permission="Campaign.Get",
    error_shape=SCALAR, error_text_key="ErrorMessage",
    errors={
        1: "Missing required parameter (CampaignID)",
        2: "Invalid CampaignID (must be numeric)",
        3: "Campaign not found or access denied",
        4: "Invalid campaign status (must be Draft, Ready, or Pending Approval)",
        5: "Campaign has no RulesJsonBundle or criteria defined",
        6: "A list or segment the campaign targets does not exist or does not belong to the user",
    },
    raises={CampaignNotFound: 3, InvalidCampaignStatus: 4, NoAudience: 5, InvalidRules: 5, InvalidRecipients: 6},
)

COMMANDS = (CAMPAIGN_RECIPIENTS_GET,)
