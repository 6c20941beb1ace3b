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

    # Exports: a job, its status (Download=1 streams the file instead)
    Call("Subscribers.Export.Post", {"ListID": "{LIST_ID}", "RulesJSON": "[]", "RulesOperator": "and",
                                     "ExportFormat": "csv", "FieldsToExport": "EmailAddress,SubscriptionDate",
                                     "Target": "Active"}, save={"EXPORT_ID": "ExportID"}),
    Call("Subscribers.Export.Get", {"ListID": "{LIST_ID}", "ExportID": "{EXPORT_ID}"}),
    Call("Campaigns.Export.Post", {"CampaignStatus": "All", "FieldsToExport": "CampaignID,CampaignName,TotalSent"},
         save={"CAMPAIGN_EXPORT_ID": "JobID"}),
    Call("Campaigns.Export.Get", {"JobID": "{CAMPAIGN_EXPORT_ID}"}),
]
