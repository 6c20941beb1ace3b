"""A/B testing: SplitTest.Create (the legacy split test) and Campaign.ABTest.Get (campaigns.md)."""
from __future__ import annotations

from engine.errors import CampaignNotFound, SplitTestLocked
from engine.models.split_tests import WINNER_CRITERIA
from protocol.command import SCALAR, Command, Context
from protocol.params import Choice, Id, Int, LegacySchema
from protocol.views.split_tests import ab_test

# A week: longer tests leave the rest of the audience waiting for an answer that has gone stale.
MAX_TEST_DURATION = 7 * 24 * 3600


# --- SplitTest.Create ------------------------------------------------------------------------
class CreateParams(LegacySchema):
    CampaignID = Id(required=True, code=1)
    TestSize = Int(required=True, min_value=1, max_value=100, code=2)
    TestDuration = Int(required=True, min_value=0, max_value=MAX_TEST_DURATION, code=4)
    Winner = Choice(WINNER_CRITERIA, required=True, code=5)


def create(ctx: Context, p: dict) -> dict:
    test = ctx.uow.split_tests.create(ctx.actor, p["CampaignID"], test_size=p["TestSize"],
                                      test_duration=p["TestDuration"], criterion=p["Winner"])
    return {"SplitTestID": test.id}


SPLITTEST_CREATE = Command(
    name="SplitTest.Create", run=create, params=CreateParams, permission="Campaign.Create",
    errors={
        1: "Missing required parameter (CampaignID)",
        2: "Missing required parameter (TestSize)",
        4: "Missing required parameter (TestDuration)",
        5: "Missing required parameter (Winner)",
        6: "Campaign not found or doesn't belong to user",
        # Sendmill's addition (README "A/B split tests"): the legacy table has no code for it.
        7: "The campaign is being sent or was sent; its split test can no longer be changed",
    },
    raises={CampaignNotFound: 6, SplitTestLocked: 7},
)


# --- Campaign.ABTest.Get ---------------------------------------------------------------------
class ABTestGetParams(LegacySchema):
    CampaignID = Id(required=True, code=2)


def abtest_get(ctx: Context, p: dict) -> dict:
    report = ctx.uow.ab_reports.report(ctx.actor, p["CampaignID"])
    # No auto-resend in Sendmill: AutoResend and ParentCampaign are always null (not applicable).
    return {"CampaignID": p["CampaignID"], "ABTest": ab_test(report), "AutoResend": None, "ParentCampaign": None}


CAMPAIGN_ABTEST_GET = Command(
    name="Campaign.ABTest.Get", run=abtest_get, params=ABTestGetParams, permission="Campaign.Get",
    error_shape=SCALAR, error_text_key="ErrorMessage", read_only=True,
    errors={2: "CampaignID is not numeric", 3: "Campaign not found or access denied"},
    raises={CampaignNotFound: 3},
)

COMMANDS = (CAMPAIGN_ABTEST_GET, SPLITTEST_CREATE)
