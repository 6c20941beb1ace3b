"""The wire forms of the two generated PHP wrappers, for the commands Sendmill added for them (README "Legacy
PHP wrappers"): madscience/oempro-api posts HTTP/1.0 forms built by PHP's http_build_query (nulls left out,
`true` as 1, arrays as `Name[0]=` / `Name[key]=`); Bendells/OemPro-Php sends GET query strings it builds by
concatenation, values not URL-encoded, `SessionID` and `ResponseFormat` first."""
from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import select

from engine.models.webhooks import WebhookEndpoint
from protocol.commands.unavailable import UNAVAILABLE
from tests.builders import load_subscriber, make_custom_field, make_subscriber
from tests.helpers import stored_state
from tests.protocol.test_wire import decode

HTTP_1_0 = {"SERVER_PROTOCOL": "HTTP/1.0"}
FORM = "application/x-www-form-urlencoded"


def madscience(client, session: str | None, command: str, **options) -> dict:
    """Snoopy's submit(): POST path HTTP/1.0, http_build_query(SessionID, Command, ResponseFormat, options)."""
    head = {"SessionID": session} if session is not None else {}
    pairs = []
    for key, value in {**head, "Command": command, "ResponseFormat": "JSON", **options}.items():
        if value is None:
            continue   # http_build_query leaves nulls out
        if isinstance(value, dict):
            pairs += [(f"{key}[{k}]", v) for k, v in value.items()]
        elif isinstance(value, list):
            pairs += [(f"{key}[{i}]", v) for i, v in enumerate(value)]
        else:
            pairs.append((key, "1" if value is True else value))
    body = urlencode(pairs)
    return decode(client.post("/api.php", data=body, content_type=FORM, environ_overrides=HTTP_1_0,
                              headers={"Accept": "application/json", "User-Agent": "Snoopy v1.2.4"}))


def bendells(client, session: str, api_path: str) -> dict:
    """SessionData::getResponse(): url?SessionID=..&ResponseFormat=JSON& + the unencoded "Command=X&Name=value"."""
    return decode(client.get(f"/api.php?SessionID={session}&ResponseFormat=JSON&{api_path}"))


def test_madscience_list_integration_and_personalization(engine, client, user, list_id):
    added = madscience(client, user.session, "ListIntegration.AddURL", SubscriberListID=list_id,
                       Event="subscription", URL="https://crm.example.com/hook?source=oempro&x=1")
    assert added["Success"] is True and added["ServiceURL"] == "https://crm.example.com/hook?source=oempro&x=1"
    listed = madscience(client, user.session, "ListIntegration.GetURLs", SubscriberListID=list_id, Event="subscription")
    assert [u["WebServiceIntegrationID"] for u in listed["URLs"]] == [added["WebServiceIntegrationID"]]
    # The wrapper's unsubscription-form method sends the subscription command without CustomFields.
    form = madscience(client, user.session, "ListIntegration.GenerateSubscriptionFormHTMLCode",
                      SubscriberListID=list_id)
    assert form["Success"] is True and form["HTMLCode"][0].startswith("&lt;form")
    tags = madscience(client, user.session, "Email.PersonalizationTags", ListID=list_id,
                      Scope=["Subscriber", "CampaignLinks", "User"])
    assert {"%Subscriber:EmailAddress%", "%Link:WebBrowser%", "%User:FirstName%"} <= {
        t["Tag"] for t in tags["PersonalizationTags"]}
    assert madscience(client, user.session, "ListIntegration.DeleteURLs",
                      URLs=str(added["WebServiceIntegrationID"]))["Success"] is True
    with engine.uow() as uow:
        assert uow.session.scalars(select(WebhookEndpoint)).all() == []


def test_madscience_subscribers_update_and_user_switch(engine, client, admin, user, list_id):
    city = make_custom_field(engine, user, list_id, "City")
    one = make_subscriber(engine, list_id, "one@example.com")
    make_subscriber(engine, list_id, "two@example.com")
    answer = madscience(client, user.session, "Subscribers.Update", SubscriberListID=list_id,
                        Fields={f"CustomField{city}": "Ghent"}, Access="admin", SubscriberIDs=[one],
                        EmailAddresses=["two@example.com"])
    assert answer["Success"] is True and answer["TotalUpdated"] == 2
    assert load_subscriber(engine, list_id, "two@example.com")[1][city][0] == "Ghent"
    switched = madscience(client, admin.session, "User.Switch", UserID=user.id, PrivilegeType="Default")
    assert switched["UserInfo"]["UserID"] == user.id
    lists = madscience(client, switched["SessionID"], "Lists.Get", OrderField="ListID", OrderType="ASC")
    assert [int(row["ListID"]) for row in lists["Lists"]] == [list_id]


def test_madscience_refusals_read_as_the_wrapper_reads_them(engine, client, admin, user):
    before = stored_state(engine)
    # clientLogin: no SessionID, RememberMe null (left out); the 99997 reaches _error_description_format.
    login = madscience(client, None, "Client.Login", Username="c", Password="p", RememberMe=None)
    spam = madscience(client, user.session, "Email.SpamTest", EmailID=1)
    credits = madscience(client, admin.session, "User.AddCredits", UserID=user.id, Credits=100)
    assert [a["ErrorCode"] for a in (login, spam, credits)] == [UNAVAILABLE] * 3
    assert all(a["Success"] is False and a["ErrorText"] for a in (login, spam, credits))
    assert stored_state(engine) == before


def test_bendells_list_integration_with_unencoded_values(engine, client, user, list_id):
    field = make_custom_field(engine, user, list_id, "Town")
    added = bendells(client, user.session, f"Command=ListIntegration.AddURL&SubscriberListID={list_id}"
                                           f"&Event=subscription&URL=https://crm.example.com/oempro/hook")
    assert added["Success"] is True and added["ServiceURL"] == "https://crm.example.com/oempro/hook"
    assert bendells(client, user.session, f"Command=ListIntegration.GetURLs&SubscriberListID={list_id}"
                                          f"&Event=subscription")["URLs"][0]["EventType"] == "subscription"
    form = bendells(client, user.session, f"Command=ListIntegration.GenerateSubscriptionFormHTMLCode"
                                          f"&SubscriberListID={list_id}&CustomFields={field}")
    assert any(f"CustomField{field}" in line for line in form["HTMLCode"])
    unform = bendells(client, user.session, f"Command=ListIntegration.GenerateUnsubscriptionFormHTMLCode"
                                            f"&SubscriberListID={list_id}")
    assert any("Subscriber.Unsubscribe" in line for line in unform["HTMLCode"])
    # personalizationTags($listID, $scope) with a comma list; Bendells sends "Scope=Subscriber,OptLinks".
    tags = bendells(client, user.session,
                    f"Command=Email.PersonalizationTags&ListID={list_id}&Scope=Subscriber,OptLinks")
    assert f"%Subscriber:CustomField{field}%" in {t["Tag"] for t in tags["PersonalizationTags"]}
    # An empty optional value is sent as "TemplateURL=" (archive_GetURLAll($tagID, '')).
    tag = bendells(client, user.session, "Command=Tag.Create&Tag=Newsletters")["TagID"]
    url = bendells(client, user.session, f"Command=Campaigns.Archive.GetURL&TagID={tag}&TemplateURL=")
    assert "/archive/" in url["URL"]
    deleted = bendells(client, user.session,
                       f"Command=ListIntegration.DeleteURLs&URLs={added['WebServiceIntegrationID']}")
    assert deleted["Success"] is True


def test_bendells_admin_and_refused_commands(engine, client, admin, user):
    switched = bendells(client, admin.session, f"Command=User.Switch&UserID={user.id}&PrivilegeType=Default")
    assert switched["Success"] is True
    before = stored_state(engine)
    for path in ("Command=User.PaymentPeriods&UserID=1&PaymentStatus=Unpaid&ReturnFormatted=No",
                 "Command=Theme.Update&ThemeID=1", "Command=Settings.Update"):
        answer = bendells(client, admin.session, path)
        assert (answer["Success"], answer["ErrorCode"]) == (False, UNAVAILABLE), path
    for path in ("Command=Client.AssignSubscriberLists&ClientID=1&SubscriberListIDs=1", "Command=Media.Browse",
                 "Command=Email.DesignPreview.GetCredits"):
        assert bendells(client, user.session, path)["ErrorCode"] == UNAVAILABLE, path
    assert stored_state(engine) == before


def test_copies_in_both_wire_forms(engine, client, user, list_id):
    from tests.builders import make_list

    target = make_list(engine, user, "Target")
    make_custom_field(engine, user, list_id, "City")
    copied = madscience(client, user.session, "CustomFields.Copy", SourceListID=list_id, TargetListID=target)
    assert copied["Success"] is True and copied["TotalCopied"] == 1
    made = bendells(client, user.session, f"Command=Segment.Create&SubscriberListID={list_id}&SegmentName=All"
                                          f"&SegmentOperator=and")
    assert made["Success"] is True, made
    segments = bendells(client, user.session, f"Command=Segments.Copy&SourceListID={list_id}&TargetListID={target}")
    assert segments["Success"] is True and segments["TotalCopied"] == 1
