"""Example calls: the v5.9.4 pages' remaining commands (issue 17) — a list cloned, archived and emptied, a
subscriber written as it is, an email rendered and converted, a month's snapshot, a group patched, and
the failed recipients of a campaign retried.

Uses LIST_ID, EMAIL_ID, CAMPAIGN_ID, USER_ID (alice), GROUP_ID and the ADMIN session of the earlier steps.
"""
from __future__ import annotations

from engine.delivery.runner import DeliveryRunner, smtp_transport
from scheduler.tick import tick
from tests.reference.recorder import Call, Hook

REFUSED = "ada.lovelace@example.org"


def refuse_one(recording) -> dict:
    """The relay refuses one address for a while (a full mailbox), so the campaign ends with a failure."""
    recording.smtp.reject[REFUSED] = "552 5.2.2 Mailbox full"
    return {}


def accept_all(recording) -> dict:
    recording.smtp.reject.pop(REFUSED, None)
    return {}


def send_and_finish(recording) -> dict:
    """`sendmill tick` starts the campaign, `sendmill worker --once` sends it, the next tick closes it."""
    tick(recording.engine)
    DeliveryRunner(recording.engine, smtp_transport(recording.engine.settings), worker_id="reference").run_once(30)
    tick(recording.engine)
    return {}


def a(command: str, params: dict | None = None, **kwargs) -> Call:
    return Call(command, params or {}, session="ADMIN", **kwargs)


STEPS = [
    # Lists
    Call("List.Clone", {"SubscriberListID": "{LIST_ID}", "Name": "Newsletter (archive copy)"},
         save={"CLONE_ID": "ListID"}),
    Call("List.Assets", {"ListID": "{LIST_ID}"}),
    Call("Subscriber.Create", {"ListID": "{CLONE_ID}", "EmailAddress": "mary@example.org", "Status": "Subscribed",
                               "SubscriptionDate": "2026-11-01 09:00:00", "SubscriptionIP": "203.0.113.20",
                               "Source": "Manual", "SourceRef": "crm-sync"}),
    Call("Subscribers.Delete.All", {"ListID": "{CLONE_ID}", "DeleteListTags": "false"}),
    Call("List.Archive", {"SubscriberListID": "{CLONE_ID}"}),
    Call("Lists.Get", {"Archived": "true"}, setup=True),
    Call("List.Unarchive", {"SubscriberListID": "{CLONE_ID}"}),

    # Emails
    Call("Email.Html2Text", {"HTMLContent": '<h1>Hello</h1><p>Visit <a href="https://doe-trading.example">our '
                                            'site</a> for details.</p>'}),
    Call("Email.Render", {"UserID": "{USER_ID}", "ListID": "{LIST_ID}", "SubscriberID": "0", "CampaignID": "0",
                          "AutoResponderID": "0", "EmailID": "{EMAIL_ID}", "QueueRowID": "0", "IsPreview": "1",
                          "DisablePersonalization": "0"}),
    Call("Email.Smtp.Render", {"CampaignID": "{CAMPAIGN_ID}", "IsPreview": "1"},
         hide={"SMTP_HEADERS": "SMTPHeaders", "SMTP_BODY": "SMTPBody"}),
    Call("Attachment.Delete", {"AttachmentID": "1"},
         note="Sendmill stores no attachments: the call succeeds and deletes nothing."),
    a("Email.Delivery.Test"),

    # Accounts
    Call("User.Snapshot", {"Month": "2026-11"}),
    a("UserGroup.Patch", {"UserGroupID": "{GROUP_ID}", "LimitSubscribers": "50000", "XMailer": "Doe Mailer"}),

    # Retrying the failed recipients of a sent campaign
    Call("Campaign.Create", {"CampaignName": "Retry demo"}, save={"RETRY_CAMPAIGN_ID": "CampaignID"}, setup=True),
    Call("Campaign.Update", {"CampaignID": "{RETRY_CAMPAIGN_ID}", "RelEmailID": "{EMAIL_ID}",
                             "RecipientListsAndSegments": "{LIST_ID}:0", "ScheduleType": "Immediate",
                             "CampaignStatus": "Ready"}, setup=True),
    Hook(refuse_one),
    Hook(send_and_finish),
    Hook(accept_all),
    a("Admin.Campaign.RetryFailed", {"CampaignID": "{RETRY_CAMPAIGN_ID}"}),
    Hook(send_and_finish),
]
