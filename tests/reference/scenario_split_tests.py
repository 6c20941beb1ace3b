"""Example calls: an A/B campaign with a split test (two subject lines), its report, and Campaign.Get's
per-variation statistics.

Uses LIST_ID and EMAIL_ID (variation A) from the campaign steps; variation B is a second email.
"""
from __future__ import annotations

from tests.reference.recorder import Call

STEPS = [
    Call("Email.Create", {"EmailName": "Subject B"}, save={"EMAIL_B_ID": "EmailID"}, setup=True),
    Call("Email.Update", {"EmailID": "{EMAIL_B_ID}", "ValidateScope": "Campaign", "Subject": "Last chance: November",
                          "FromName": "Doe Trading", "FromEmail": "news@doe-trading.example",
                          "HTMLContent": '<p>Only this week!</p><p><a href="%Link:Unsubscribe%">Unsubscribe</a></p>'},
         setup=True),
    Call("Campaign.Create", {"CampaignName": "Which subject?"}, save={"AB_CAMPAIGN_ID": "CampaignID"}, setup=True),
    Call("SplitTest.Create", {"CampaignID": "{AB_CAMPAIGN_ID}", "TestSize": "20", "TestDuration": "86400",
                              "Winner": "Highest Open Rate"}),
    Call("Campaign.Update", {"CampaignID": "{AB_CAMPAIGN_ID}", "RecipientListsAndSegments": "{LIST_ID}:0",
                             "ABTesting[Variations][0][emailid]": "{EMAIL_ID}",
                             "ABTesting[Variations][0][weight]": "1",
                             "ABTesting[Variations][1][emailid]": "{EMAIL_B_ID}",
                             "ABTesting[Variations][1][weight]": "1"},
         note="A/B testing: the variations of the split test"),
    Call("Campaign.ABTest.Get", {"CampaignID": "{AB_CAMPAIGN_ID}"}),
    Call("Campaign.Get", {"CampaignID": "{AB_CAMPAIGN_ID}", "SplitABTestStatistics": "true"},
         note="With SplitABTestStatistics: Options.ABTesting.Variations"),
    Call("Campaign.Get", {"CampaignID": "{AB_CAMPAIGN_ID}", "RetrieveStatistics": "true",
                          "SplitABTestStatistics": "true"},
         note="With RetrieveStatistics too: per-variation breakdowns (Variations) in the statistics blocks"),
    Call("Campaign.ABTest.Get", {"CampaignID": "abc"}, expect=2),
    Call("Campaigns.Delete", {"Campaigns": "{AB_CAMPAIGN_ID}"}, setup=True),
]
