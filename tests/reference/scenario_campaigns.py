"""Example calls: email content, campaigns from draft to sending, tags, scheduling, the modern operations.

Uses LIST_ID, FIELD_ID and SEGMENT_ID from the audience steps; the administrator approves with ADMIN.
"""
from __future__ import annotations

from engine.delivery.runner import DeliveryRunner, smtp_transport
from scheduler.tick import tick
from tests.reference.recorder import Call, Hook

HTML = ('<p>Hello from %Subscriber:CustomField{FIELD_ID}%!</p><p><a href="https://doe-trading.example/offers">'
        'This month\'s offers</a></p><p><a href="%Link:Unsubscribe%">Unsubscribe</a></p>')
PLAIN = "Hello!\nThis month's offers: https://doe-trading.example/offers\nUnsubscribe: %Link:Unsubscribe%"


def run_tick(recording) -> dict:
    """The scheduler's minute: a Ready campaign whose time has come starts Sending."""
    tick(recording.engine)
    return {}


def deliver(recording) -> dict:
    """What `sendmill worker --once` does: the Sending campaign's messages go to the (loopback) relay."""
    DeliveryRunner(recording.engine, smtp_transport(recording.engine.settings), worker_id="reference").run_once(30)
    return {}


STEPS = [
    # Email content
    Call("Email.Create", {"EmailName": "November news"}, save={"EMAIL_ID": "EmailID"}),
    Call("Email.Update", {"EmailID": "{EMAIL_ID}", "ValidateScope": "Campaign", "Mode": "Editor",
                          "Subject": "November at Doe Trading", "FromName": "Doe Trading",
                          "FromEmail": "news@doe-trading.example", "HTMLContent": HTML, "PlainContent": PLAIN}),
    Call("Email.Get", {"EmailID": "{EMAIL_ID}"}),
    Call("Email.Duplicate", {"EmailID": "{EMAIL_ID}"}, save={"EMAIL_COPY_ID": "EmailID"}),
    Call("Emails.Get", {"Fields": "EmailID,EmailName,Subject"}),
    Call("Email.Delete", {"EmailID": "{EMAIL_COPY_ID}"}),
    Call("Email.EmailPreview", {"EmailID": "{EMAIL_ID}", "EmailAddress": "alice@example.com"}),

    # A campaign from draft to sending
    Call("Campaign.Create", {"CampaignName": "November news"}, save={"CAMPAIGN_ID": "CampaignID"}),
    Call("Campaign.Update", {"CampaignID": "{CAMPAIGN_ID}", "RelEmailID": "{EMAIL_ID}",
                             "RecipientListsAndSegments": "{LIST_ID}:0",
                             "Exclude_RecipientListsAndSegments": "{LIST_ID}:{SEGMENT_ID}"}),
    Call("Campaign.Get", {"CampaignID": "{CAMPAIGN_ID}", "RetrieveStatistics": "true"}),
    Call("Campaign.Recipients.Get", {"CampaignID": "{CAMPAIGN_ID}"}),
    Call("Campaign.SendTest", {"CampaignID": "{CAMPAIGN_ID}", "EmailAddress": "alice@example.com",
                               "Subject": "[Test] November at Doe Trading"}),
    # The address carries the campaign's random nonce and its signature, so it differs every run.
    Call("Campaign.LandingPage.Publish", {"CampaignID": "{CAMPAIGN_ID}"},
         hide={"LANDING_PAGE_KEY": ("LandingPageURL", r"/so/\d+-(\S+)$")}),
    Call("Campaign.Approve", {"CampaignID": "{CAMPAIGN_ID}"}, session="ADMIN"),
    Call("Campaign.Copy", {"CampaignID": "{CAMPAIGN_ID}"}, save={"COPY_ID": "NewCampaignID"}),
    Call("Campaign.Update", {"CampaignID": "{CAMPAIGN_ID}", "ScheduleType": "Immediate", "CampaignStatus": "Ready"},
         setup=True),
    Hook(run_tick),
    Call("Campaign.Pause", {"CampaignID": "{CAMPAIGN_ID}"}),
    Call("Campaign.Audience.Get", {"CampaignID": "{CAMPAIGN_ID}"}),
    Call("Campaign.Resume", {"CampaignID": "{CAMPAIGN_ID}"}),
    Hook(deliver),
    Call("Campaign.Statistics.List", {"CampaignIDs": "{CAMPAIGN_ID}"}),
    Call("Campaign.Recipients.ByActivity", {"CampaignID": "{CAMPAIGN_ID}", "Activity": "DELIVERED", "Limit": "10"}),
    Call("Campaigns.Get", {"CampaignStatus": "All", "RecordsPerRequest": "10", "OrderField": "CampaignName"}),

    # Tags
    Call("Tag.Create", {"Tag": "Monthly"}, save={"TAG_ID": "TagID"}),
    Call("Tag.Update", {"TagID": "{TAG_ID}", "Tag": "Monthly news"}),
    Call("Tag.AssignToCampaigns", {"TagID": "{TAG_ID}", "CampaignIDs": "{CAMPAIGN_ID},{COPY_ID}"}),
    Call("Tags.Get"),
    Call("Tag.UnassignFromCampaigns", {"TagID": "{TAG_ID}", "CampaignIDs": "{COPY_ID}"}),
    Call("Tags.Delete", {"Tags": "{TAG_ID}"}),

    # Scheduling the copy
    Call("Campaign.Publish", {"CampaignID": "{COPY_ID}", "ScheduledAt": "2026-11-24T09:00:00Z"}),
    Call("Campaign.Schedule.Preview", {"CampaignID": "{COPY_ID}", "Count": "3"}),
    Call("Campaign.Reschedule", {"CampaignID": "{COPY_ID}", "SendAt": "2026-11-25T09:00:00+01:00"}),
    Call("Campaign.PauseScheduling", {"CampaignID": "{COPY_ID}"}),
    Call("Campaign.Publish", {"CampaignID": "{COPY_ID}"}, setup=True),
    Call("Campaign.Cancel", {"CampaignID": "{COPY_ID}"}),
    Call("Campaign.Reuse", {"CampaignID": "{CAMPAIGN_ID}"}, save={"REUSED_ID": "Campaign.CampaignID"}),
    Call("Campaigns.Delete", {"Campaigns": "{COPY_ID},{REUSED_ID}"}),
]
