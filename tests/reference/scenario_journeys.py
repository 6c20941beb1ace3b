"""Example calls: a welcome journey on the newsletter, from creation to deletion.

Uses LIST_ID, SUBSCRIBER_ID (ada on it), WELCOME_EMAIL_ID (scenario_automation), USER_ID and ADMIN
(scenario_accounts)."""
from __future__ import annotations

import json

from tests.reference.recorder import Call

ACTIONS = json.dumps([
    {"Action": "SendEmail", "EmailID": "{WELCOME_EMAIL_ID}", "Published": True,
     "From": {"Name": "Doe Trading", "Email": "news@doe-trading.example"}},
    {"Action": "Wait", "WaitUnit": "days", "WaitAmount": 2, "Published": True},
    {"Action": "Decision", "Published": True, "CriteriaOperator": "and",
     "Criteria": [[{"type": "fields", "field_id": "EmailAddress", "operator": "ends with", "value": ".example"}]],
     "Actions": {"True": [{"Action": "ExitThisJourney", "Published": True}], "False": []}},
])

STEPS = [
    Call("Journey.Create", {"Name": "Welcome Series", "Trigger": "ListSubscription", "Trigger_ListID": "{LIST_ID}",
                            "Notes": "Onboarding journey for new subscribers"},
         save={"JOURNEY_ID": "JourneyID"}),
    Call("Journey.Actions.Update", {"JourneyID": "{JOURNEY_ID}", "Actions": ACTIONS},
         save={"JOURNEY_SEND_ACTION_ID": "Actions.0.ActionID", "JOURNEY_WAIT_ACTION_ID": "Actions.1.ActionID"}),
    Call("Journey.Actions.Published", {"JourneyID": "{JOURNEY_ID}",
                                       "Actions": '[{"actionid": "{JOURNEY_WAIT_ACTION_ID}", "published": "true"}]'}),
    Call("Journey.Update", {"JourneyID": "{JOURNEY_ID}", "Name": "Welcome Series V2", "Rate_Limit_Per_Day": "500"}),
    Call("Journey.Enable", {"JourneyID": "{JOURNEY_ID}"}),
    Call("Journey.Enable", {"JourneyID": "{JOURNEY_ID}"}, expect=4, note="Enabling it twice"),
    Call("Subscriber.Journey.Trigger", {"JourneyID": "{JOURNEY_ID}", "ListID": "{LIST_ID}",
                                        "SubscriberID": "{SUBSCRIBER_ID}"}),
    Call("Subscriber.Journey.List", {"ListID": "{LIST_ID}", "SubscriberID": "{SUBSCRIBER_ID}"}),
    Call("Journey.Get", {"JourneyID": "{JOURNEY_ID}", "IncludeActivityCounters": "1"}),
    Call("Journey.List", {"SkipStats": "1"}),
    Call("Journey.Action.Subscribers", {"JourneyID": "{JOURNEY_ID}", "ActionID": "{JOURNEY_SEND_ACTION_ID}"}),
    Call("Journey.Stats.ByAction", {"JourneyID": "{JOURNEY_ID}"}),
    Call("Journey.Stats.ByISP", {"JourneyID": "{JOURNEY_ID}", "EmailID": "{JOURNEY_SEND_ACTION_ID}"}),
    Call("Journey.SendEmailActions", {}),
    Call("Subscriber.Journey.Exit", {"JourneyID": "{JOURNEY_ID}", "ListID": "{LIST_ID}",
                                     "SubscriberID": "{SUBSCRIBER_ID}"}),
    Call("Subscriber.Journey.Remove", {"JourneyID": "{JOURNEY_ID}", "ListID": "{LIST_ID}",
                                       "SubscriberID": "{SUBSCRIBER_ID}"}),
    Call("Journey.Clone", {"JourneyID": "{JOURNEY_ID}", "NewJourneyName": "Welcome Series Copy"},
         save={"JOURNEY_COPY_ID": "Journey.JourneyID"}),
    Call("Journeys.Clone", {"JourneyIDs": "{JOURNEY_ID}", "NameSuffix": "(backup)"},
         save={"JOURNEY_BACKUP_ID": "ClonedJourneys.0.NewJourneyID"}),
    Call("Journey.CopyToUser", {"JourneyID": "{JOURNEY_ID}", "SourceUserID": "{USER_ID}", "TargetUserID": "{USER_ID}",
                                "NewJourneyName": "Welcome Series (template)"}, session="ADMIN",
         save={"JOURNEY_TEMPLATE_ID": "JourneyID"}),
    Call("Account.Journey.Benchmark", {}),
    Call("Journey.Export.Submit", {"Status": "Enabled", "IncludeActions": "1"}, save={"JOURNEY_EXPORT_ID": "ExportID"}),
    Call("Journey.Export.Get", {"ExportID": "{JOURNEY_EXPORT_ID}"}),
    Call("Journey.Disable", {"JourneyID": "{JOURNEY_ID}"}),
    Call("Journeys.Enable", {"JourneyIDs": "{JOURNEY_ID},{JOURNEY_COPY_ID}"}),
    Call("Journeys.Disable", {"JourneyIDs": "{JOURNEY_ID},{JOURNEY_COPY_ID}"}),
    Call("Journey.Delete", {"JourneyID": "{JOURNEY_COPY_ID}"}),
    Call("Journeys.Delete", {"Journeys": "{JOURNEY_ID},{JOURNEY_BACKUP_ID},{JOURNEY_TEMPLATE_ID}"}),
]
