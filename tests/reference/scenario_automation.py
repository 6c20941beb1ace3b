"""Example calls: subscriber tags on the newsletter, and an autoresponder from creation to deletion.

Uses LIST_ID, SUBSCRIBER_ID (ada on it) and EVENTS_ID from the audience steps. The welcome email's
From is on doe-trading.example, the domain alice's user group may send as (scenario_accounts).
"""
from __future__ import annotations

from tests.reference.recorder import Call

WELCOME_HTML = ('<p>Welcome to the Doe Trading newsletter, %Subscriber:EmailAddress%!</p>'
                '<p><a href="%Link:Unsubscribe%">Unsubscribe</a></p>')

STEPS = [
    # Subscriber tags (one list's)
    Call("Subscriber.Tags.Create", {"ListID": "{LIST_ID}", "TagName": "VIP",
                                    "TagDescription": "Customers with a yearly plan"},
         save={"SUBSCRIBER_TAG_ID": "TagID"}),
    Call("Subscriber.Tags.Update", {"ListID": "{LIST_ID}", "TagID": "{SUBSCRIBER_TAG_ID}", "TagName": "Premium"}),
    Call("Subscriber.Tag", {"ListID": "{LIST_ID}", "TagID": "{SUBSCRIBER_TAG_ID}",
                            "SubscriberID": "{SUBSCRIBER_ID}"}),
    Call("Subscriber.Tags.Get", {"ListID": "{LIST_ID}"}),
    Call("Subscriber.Untag", {"ListID": "{LIST_ID}", "TagID": "{SUBSCRIBER_TAG_ID}",
                              "SubscriberID": "{SUBSCRIBER_ID}"}),
    Call("Subscriber.Tags.Delete", {"ListID": "{LIST_ID}", "TagIDs": "{SUBSCRIBER_TAG_ID}"}),

    # An autoresponder: a welcome email an hour after subscribing
    Call("Email.Create", {"EmailName": "Welcome"}, save={"WELCOME_EMAIL_ID": "EmailID"}, setup=True),
    Call("Email.Update", {"EmailID": "{WELCOME_EMAIL_ID}", "ValidateScope": "Campaign", "Subject": "Welcome!",
                          "FromName": "Doe Trading", "FromEmail": "news@doe-trading.example",
                          "HTMLContent": WELCOME_HTML}, setup=True),
    Call("AutoResponder.Create", {"SubscriberListID": "{LIST_ID}", "AutoResponderName": "Welcome",
                                  "AutoResponderTriggerType": "OnSubscription", "EmailID": "{WELCOME_EMAIL_ID}",
                                  "TriggerTimeType": "Hours later", "TriggerTime": "1"},
         save={"AUTORESPONDER_ID": "AutoResponderID"}),
    Call("AutoResponder.Get", {"AutoResponderID": "{AUTORESPONDER_ID}", "RetrieveStatistics": "true"}),
    Call("AutoResponder.Update", {"AutoResponderID": "{AUTORESPONDER_ID}", "TriggerTime": "2",
                                  "Repeat": "R3/P7D"}),
    Call("AutoResponder.Duplicate", {"AutoResponderID": "{AUTORESPONDER_ID}", "NamePrefix": "Copy of "},
         save={"AUTORESPONDER_COPY_ID": "AutoResponderID"}),
    Call("AutoResponders.Get", {"SubscriberListID": "{LIST_ID}", "OrderField": "AutoResponderName",
                                "OrderType": "ASC"}),
    Call("AutoResponders.Copy", {"SourceListID": "{LIST_ID}", "TargetListID": "{EVENTS_ID}",
                                 "TargetAutoResponderID": "{AUTORESPONDER_ID}"},
         save={"EVENTS_AUTORESPONDER_ID": "AutoResponderIDs.0"}),
    Call("AutoResponders.AcrossLists.Get", {"Status": "Disabled"}),
    Call("AutoResponder.Stats.Window.Get", {"AutoResponderID": "{AUTORESPONDER_ID}", "WindowDays": "7"}),
    Call("AutoResponder.Activity.Get", {"AutoResponderID": "{AUTORESPONDER_ID}", "RecordsPerRequest": "10"}),
    Call("AutoResponder.SendTest", {"AutoResponderID": "{AUTORESPONDER_ID}", "Recipients": "alice@example.com",
                                    "SubscriberID": "{SUBSCRIBER_ID}"}),
    Call("AutoResponders.Delete", {"AutoResponders": "{AUTORESPONDER_COPY_ID},{EVENTS_AUTORESPONDER_ID}"}),
]
