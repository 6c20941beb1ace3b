"""Example calls: the commands of the generated PHP wrappers (README "Legacy PHP wrappers")."""
from __future__ import annotations

from protocol.command import ADMIN, PUBLIC
from protocol.commands.unavailable import COMMANDS as UNAVAILABLE, UNAVAILABLE as CODE
from tests.reference.recorder import Call


def _refused(command) -> Call:
    session = {ADMIN: "ADMIN", PUBLIC: None}.get(command.auth, "SID")
    return Call(command.name, {}, session=session, expect=CODE,
                note="Sendmill has no such feature: the reason is in ErrorText, nothing changes.")


STEPS = [
    # List integrations (list-scoped webhooks) and form HTML
    Call("ListIntegration.AddURL", {"SubscriberListID": "{LIST_ID}", "Event": "subscription",
                                    "URL": "https://crm.doe-trading.example/oempro-hook"},
         save={"INTEGRATION_ID": "WebServiceIntegrationID"}),
    Call("ListIntegration.GetURLs", {"SubscriberListID": "{LIST_ID}", "Event": "subscription"}),
    Call("ListIntegration.TestURL", {"URL": "http://10.0.0.7/hook"}, expect=2,
         note="A private address is refused (the webhook guard); a public URL gets a test POST at once."),
    Call("ListIntegration.DeleteURLs", {"URLs": "{INTEGRATION_ID}"}),
    Call("ListIntegration.GenerateSubscriptionFormHTMLCode", {"SubscriberListID": "{LIST_ID}",
                                                               "CustomFields": "{FIELD_ID}",
                                                               "SubscribeButtonString": "Join"}),
    Call("ListIntegration.GenerateUnsubscriptionFormHTMLCode", {"SubscriberListID": "{LIST_ID}",
                                                                 "HTMLSpecialChars": "false"}),

    # Personalisation tags, the campaign archive, many subscribers at once, switching to a user
    Call("Email.PersonalizationTags", {"Scope": "Subscriber,OptLinks", "ListID": "{LIST_ID}"}),
    Call("Tag.Create", {"Tag": "Public archive"}, save={"ARCHIVE_TAG_ID": "TagID"}, setup=True),
    Call("Campaigns.Archive.GetURL", {"TagID": "{ARCHIVE_TAG_ID}"}, hide={"ARCHIVE_CODE": ("URL", r"/archive/(.+)$")}),
    Call("Subscriber.Subscribe", {"ListID": "{LIST_ID}", "EmailAddress": "wrapper@doe-trading.example",
                                  "IPAddress": "192.0.2.40"}, setup=True),
    Call("Subscribers.Update", {"SubscriberListID": "{LIST_ID}", "EmailAddresses": "wrapper@doe-trading.example",
                                "CustomField{FIELD_ID}": "Antwerp"}),
    Call("List.Create", {"SubscriberListName": "Newsletter (copy)"}, save={"COPY_LIST_ID": "ListID"}, setup=True),
    Call("CustomFields.Copy", {"SourceListID": "{LIST_ID}", "TargetListID": "{COPY_LIST_ID}"}),
    Call("Segments.Copy", {"SourceListID": "{LIST_ID}", "TargetListID": "{COPY_LIST_ID}"}, expect=5,
         note="The newsletter has a segment on its own custom field, which the copy list lacks: nothing is copied."),
    Call("Lists.Delete", {"Lists": "{COPY_LIST_ID}"}, setup=True),
    Call("User.Switch", {"UserID": "{USER_ID}", "PrivilegeType": "Default"}, session="ADMIN",
         hide={"SWITCHED_SID": "SessionID"}),

    *(_refused(command) for command in UNAVAILABLE),
]
