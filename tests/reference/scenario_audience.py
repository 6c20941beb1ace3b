"""Example calls: alice's lists, custom fields, subscribers, segments, suppression and email subscriptions.

Names the later steps use: LIST_ID (the newsletter, with subscribers), FIELD_ID (its City field),
SUBSCRIBER_ID (ada@example.org on it), SEGMENT_ID (Londoners).
"""
from __future__ import annotations

import json

from tests.reference.recorder import Call

LONDON = json.dumps([[{"type": "fields", "field_id": "{FIELD_ID}", "operator": "is", "value": "London"}]])
GMAIL = json.dumps([[{"type": "fields", "field_id": "EmailAddress", "operator": "ends with", "value": "@gmail.com"}]])
IMPORT_CSV = "EmailAddress,City\ngrace@example.org,Arlington\nalan@example.org,London\nnot-an-address,Paris\n"

STEPS = [
    # Lists
    Call("List.Create", {"SubscriberListName": "Newsletter", "OptInMode": "Single"}, save={"LIST_ID": "ListID"}),
    Call("List.Update", {"SubscriberListID": "{LIST_ID}", "Name": "Monthly newsletter",
                         "SenderName": "Doe Trading", "SenderEmailAddress": "news@doe-trading.example"}),
    Call("List.Get", {"ListID": "{LIST_ID}"}),
    Call("List.Create", {"SubscriberListName": "Events", "OptInMode": "Double"}, save={"EVENTS_ID": "ListID"},
         setup=True),
    Call("Lists.Get", {"OrderField": "Name", "OrderType": "ASC"}),

    # Custom fields
    Call("CustomField.Create", {"SubscriberListID": "{LIST_ID}", "FieldName": "Town", "FieldType": "Single line"},
         save={"FIELD_ID": "CustomFieldID"}),
    Call("CustomField.Update", {"CustomFieldID": "{FIELD_ID}", "FieldName": "City", "FieldType": "Single line",
                                "MergeTagAlias": "City"}),
    Call("CustomField.Create", {"SubscriberListID": "{LIST_ID}", "FieldName": "Plan", "FieldType": "Drop down",
                                "OptionLabel[]": ["Free", "Paid"], "OptionValue[]": ["free", "paid"]},
         save={"PLAN_FIELD_ID": "CustomFieldID"}, setup=True),
    Call("CustomFields.Get", {"SubscriberListID": "{LIST_ID}"}),
    Call("CustomFields.Delete", {"CustomFields": "{PLAN_FIELD_ID}"}),

    # Subscribers
    Call("Subscriber.Subscribe", {"ListID": "{LIST_ID}", "EmailAddress": "ada@example.org",
                                  "IPAddress": "203.0.113.7", "CustomField{FIELD_ID}": "London"},
         session=None, save={"SUBSCRIBER_ID": "SubscriberID"}),
    Call("Subscribers.Import", {"ListID": "{LIST_ID}", "ImportData": IMPORT_CSV}),
    Call("Subscriber.Get", {"ListID": "{LIST_ID}", "EmailAddress": "ada@example.org"}),
    Call("Subscriber.Update", {"SubscriberID": "{SUBSCRIBER_ID}", "SubscriberListID": "{LIST_ID}",
                               "EmailAddress": "ada.lovelace@example.org", "CustomField{FIELD_ID}": "Marylebone"}),
    Call("Subscribers.Get", {"SubscriberListID": "{LIST_ID}", "SubscriberSegment": "Active",
                             "RecordsPerRequest": "2"}),
    Call("Subscriber.Subscribe", {"ListID": "{EVENTS_ID}", "EmailAddress": "grace@example.org",
                                  "IPAddress": "198.51.100.4"}, session=None, save={"PENDING_ID": "SubscriberID"},
         setup=True),
    Call("Subscriber.OptIn", {"ListID": "{EVENTS_ID}", "SubscriberID": "{PENDING_ID}"},
         note="The list owner confirms without the code; anyone else sends the ConfirmationCode of the "
              "confirmation email."),
    Call("Subscriber.Unsubscribe", {"ListID": "{LIST_ID}", "EmailAddress": "alan@example.org",
                                    "IPAddress": "203.0.113.9"}, session=None),
    Call("Subscriber.Subscribe", {"ListID": "{EVENTS_ID}", "EmailAddress": "old@example.org",
                                  "IPAddress": "198.51.100.5"}, session=None, save={"OLD_ID": "SubscriberID"},
         setup=True),
    Call("Subscribers.Delete", {"SubscriberListID": "{EVENTS_ID}", "Subscribers": "{OLD_ID}"}),

    # Segments
    Call("Segment.Create", {"SubscriberListID": "{LIST_ID}", "SegmentName": "Gmail readers",
                            "SegmentOperator": "and", "RulesJson": GMAIL}, save={"GMAIL_SEGMENT_ID": "SegmentID"}),
    Call("Segment.Create", {"SubscriberListID": "{LIST_ID}", "SegmentName": "Londoners", "SegmentOperator": "and",
                            "RulesJson": LONDON}, save={"SEGMENT_ID": "SegmentID"}, setup=True),
    Call("Segment.Update", {"SegmentID": "{SEGMENT_ID}", "SegmentName": "Londoners", "SegmentOperator": "or",
                            "RulesJson": LONDON}),
    Call("Segments.Get", {"SubscriberListID": "{LIST_ID}"}),
    Call("Segments.Delete", {"Segments": "{GMAIL_SEGMENT_ID}"}),

    # Suppression
    Call("Suppression.Import", {"EmailAddressesBulk": "bounced@example.net\ncomplained@example.net",
                                "SuppressionSource": "Administrator", "Reason": "Old bounces"}),
    Call("Suppression.Browse", {"RetrieveCount": "10"}),
    Call("Suppression.Delete", {"EmailAddress": "bounced@example.net"}),

    # Email subscriptions (account-wide)
    Call("EmailSubscription.Upsert", {"EmailAddress": "ada.lovelace@example.org", "SubscriptionStatus": "SUBSCRIBED"}),
    Call("EmailSubscriptions.BulkUpsert", {"Subscriptions": json.dumps([
        {"EmailAddress": "grace@example.org", "SubscriptionStatus": "UNSUBSCRIBED"},
        {"EmailAddress": "not-an-address", "SubscriptionStatus": "SUBSCRIBED"}])}),
    Call("EmailSubscriptions.Query", {"EmailAddresses": "ada.lovelace@example.org,grace@example.org"}),
    # The link's token signs the subscription's random nonce, so it differs every run.
    Call("EmailSubscription.UnsubscribeLink", {"EmailAddress": "ada.lovelace@example.org"},
         hide={"UNSUBSCRIBE_TOKEN": ("UnsubscribeLink", r"/t/u/(\S+)$")}),
]

# After the campaigns: the second list goes.
CLOSING = [
    Call("Lists.Delete", {"Lists": "{EVENTS_ID}"}),
]
