"""Example calls: reports and exports (README "Reports and exports").

Uses LIST_ID, SUBSCRIBER_ID (ada on it), CAMPAIGN_ID and TAG_ID from the earlier steps.
"""
from __future__ import annotations

import json

from tests.reference.recorder import Call

ORG = json.dumps([[{"type": "fields", "field_id": "EmailAddress", "operator": "ends with", "value": "@example.org"}]])

STEPS = [
    # Campaign reports
    Call("Campaign.LinkClicks.Get", {"CampaignID": "{CAMPAIGN_ID}", "GroupBy": "Links", "RecordsPerRequest": "25"}),
    Call("Campaign.Recipients.Activity.Get", {"CampaignID": "{CAMPAIGN_ID}", "Activity": "open",
                                              "RecordsPerRequest": "25"}),
    Call("Campaigns.Counts", {"date_from": "2026-01-01", "date_to": "2026-12-31"}),

    # Subscriber reports
    Call("Subscriber.Exists", {"ListID": "{LIST_ID}", "EmailAddress": "ada.lovelace@example.org"}),
    Call("Subscriber.Get.Activity", {"SubscriberID": "{SUBSCRIBER_ID}", "SubscriberListID": "{LIST_ID}"}),
    Call("Subscribers.Search", {"ListID": "{LIST_ID}", "Operator": "and", "RulesJSON": ORG,
                                "RecordsPerRequest": "10"}),

    # Accounts' usage and figures
    Call("User.Stats", {"StartDate": "2026-11-01", "EndDate": "2026-11-30", "Aggregation": "weekly"}),
    Call("User.Usage.Get", {"UserID": "{USER_ID}"}, session="ADMIN"),
    Call("Users.Usage.Get", {"StartDate": "2026-11-01", "EndDate": "2026-11-30", "Aggregation": "daily"},
         session="ADMIN"),

    # List analytics
    Call("Lists.Stats", {"Days": "30"}),
    Call("Lists.Overview", {"IncludeCustomFields": "true", "IncludeSegments": "true",
                            "IncludeSubscriberTags": "true"}),
    Call("List.GetActivitySeries", {"ListID": "{LIST_ID}", "Days": "7"}),
    Call("List.GetBounceTrend", {"ListID": "{LIST_ID}", "Weeks": "2"}),
    Call("List.GetSubscriberStatusBreakdown", {"ListID": "{LIST_ID}"}),
    Call("List.GetEngagementTiers", {"ListID": "{LIST_ID}"}),
    Call("List.GetSendTimeHeatmap", {"ListID": "{LIST_ID}", "Days": "30", "Event": "open"}),
    Call("List.GetESPBreakdown", {"ListID": "{LIST_ID}", "Event": "subscribers", "Top": "5"}),
    Call("List.GetTenureDistribution", {"ListID": "{LIST_ID}"}),
    Call("List.GetCTRRetentionMatrix", {"ListID": "{LIST_ID}", "LastNCampaigns": "5", "CohortDepth": "3"}),
    Call("List.GetSourceBreakdown", {"ListID": "{LIST_ID}"}),

    # Exports: a job, its status (Download=1 streams the file instead)
    Call("Subscribers.Export.Post", {"ListID": "{LIST_ID}", "RulesJSON": "[]", "RulesOperator": "and",
                                     "ExportFormat": "csv", "FieldsToExport": "EmailAddress,SubscriptionDate",
                                     "Target": "Active"}, save={"EXPORT_ID": "ExportID"}),
    Call("Subscribers.Export.Get", {"ListID": "{LIST_ID}", "ExportID": "{EXPORT_ID}"}),
    Call("Campaigns.Export.Post", {"CampaignStatus": "All", "FieldsToExport": "CampaignID,CampaignName,TotalSent"},
         save={"CAMPAIGN_EXPORT_ID": "JobID"}),
    Call("Campaigns.Export.Get", {"JobID": "{CAMPAIGN_EXPORT_ID}"}),
]
