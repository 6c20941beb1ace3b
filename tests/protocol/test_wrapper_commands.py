"""Commands of the generated PHP wrappers (README "Legacy PHP wrappers"): User.Switch, Email.PersonalizationTags,
Campaigns.Archive.GetURL and its public page, Subscribers.Update, and the 99997 refusals. Stored state is
re-read after refused calls (unchanged) and after successful ones (changed as asked)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine.models import Tag
from protocol.commands.unavailable import COMMANDS as UNAVAILABLE, UNAVAILABLE as CODE
from tests.builders import (
    load_row, load_subscriber, make_custom_field, make_email, make_list, make_subscriber, set_campaign, set_user,
)
from tests.helpers import codes, stored_state


# --- User.Switch ---------------------------------------------------------------------------------
def test_user_switch_gives_the_administrator_a_session_as_the_user(engine, api, admin, user, list_id):
    answer = api("User.Switch", admin.session, UserID=user.id, PrivilegeType="Full")
    assert answer["Success"] is True and answer["UserInfo"] == {"UserID": user.id, "Username": "alice"}
    # The new session acts as the user: it sees the user's list.
    lists = api("Lists.Get", answer["SessionID"])
    assert [int(row["ListID"]) for row in lists["Lists"]] == [list_id]
    assert api("User.Switch", admin.session, UserID=user.id)["Success"] is True   # PrivilegeType: Default


def test_user_switch_refusals(engine, api, admin, user, other_user):
    set_user(engine, other_user, account_status="Disabled")
    before = stored_state(engine)
    switch = lambda session=admin.session, **p: codes(api("User.Switch", session, **p))  # noqa: E731
    assert switch() == [1] and switch(UserID="x") == [2] and switch(UserID=999999) == [2]
    assert switch(UserID=user.id, PrivilegeType="Root") == [3]
    assert switch(UserID=other_user.id) == [4]
    assert switch(user.session, UserID=other_user.id) == [99999]   # administrators only
    assert stored_state(engine) == before


# --- Email.PersonalizationTags -------------------------------------------------------------------
def test_personalization_tags_by_scope(engine, api, user, list_id):
    field = make_custom_field(engine, user, list_id, "City")
    answer = api("Email.PersonalizationTags", user.session, **{"Scope[]": ["Subscriber", "OptLinks"]},
                 ListID=list_id)
    tags = {t["Tag"]: t for t in answer["PersonalizationTags"]}
    assert tags["%Subscriber:EmailAddress%"] == {"Tag": "%Subscriber:EmailAddress%",
                                                 "Description": "Subscriber email address", "Category": "Subscriber"}
    assert tags[f"%Subscriber:CustomField{field}%"]["Description"] == "City"
    assert {"%Link:Confirm%", "%Link:Reject%"} <= set(tags) and "%Link:Unsubscribe%" not in tags
    user_tags = api("Email.PersonalizationTags", user.session, Scope="User,AllLinks")["PersonalizationTags"]
    assert "%User:CompanyName%" in [t["Tag"] for t in user_tags]
    assert [t["Tag"] for t in user_tags if t["Category"] == "Links"] == [
        "%Link:Unsubscribe%", "%Link:WebBrowser%", "%Link:Confirm%", "%Link:Reject%"]


def test_personalization_tags_refusals(engine, api, user, other_user):
    foreign = make_list(engine, other_user)
    tags = lambda **p: codes(api("Email.PersonalizationTags", user.session, **p))  # noqa: E731
    assert tags() == [1] and tags(Scope="Subscriber") == [2]
    assert tags(Scope="Subscriber", ListID=foreign) == [3] and tags(Scope="Subscriber", ListID="x") == [3]
    assert tags(Scope="Everything") == [4]


# --- Campaigns.Archive.GetURL --------------------------------------------------------------------
def sent_campaign(engine, api, account, name: str, finished: datetime) -> int:
    campaign = api("Campaign.Create", account.session, CampaignName=name)["CampaignID"]
    set_campaign(engine, campaign, status="Sent", email_id=make_email(engine, account, subject=name),
                 send_process_finished_on=finished)
    return campaign


def test_archive_url_opens_a_page_of_the_tags_sent_campaigns(engine, api, user, client):
    tag = api("Tag.Create", user.session, Tag="Newsletters")["TagID"]
    march = sent_campaign(engine, api, user, "March <news>", datetime(2026, 3, 2, tzinfo=timezone.utc))
    april = sent_campaign(engine, api, user, "April news", datetime(2026, 4, 6, tzinfo=timezone.utc))
    draft = api("Campaign.Create", user.session, CampaignName="Draft news")["CampaignID"]
    api("Tag.AssignToCampaigns", user.session, TagID=tag, CampaignIDs=f"{march},{april},{draft}")
    url = api("Campaigns.Archive.GetURL", user.session, TagID=tag, TemplateURL="https://x.example/t")["URL"]
    assert url.startswith(engine.settings.base_url + "/archive/")
    assert load_row(engine, Tag, tag).public_nonce != ""
    assert api("Campaigns.Archive.GetURL", user.session, TagID=tag)["URL"] == url   # one link per tag
    page = client.get(url.removeprefix(engine.settings.base_url)).get_data(as_text=True)
    assert page.index("April news") < page.index("March &lt;news&gt;") and "Draft news" not in page
    assert "/so/" in page and "2026-04-06" in page
    code = url.rsplit("/", 1)[1]
    forged = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert client.get(f"/archive/{forged}").status_code == 404
    api("Tags.Delete", user.session, Tags=str(tag))
    assert client.get(f"/archive/{code}").status_code == 404   # deleting the tag ends the link


def test_archive_url_refusals(engine, api, user, other_user):
    theirs = api("Tag.Create", other_user.session, Tag="Theirs")["TagID"]
    before = stored_state(engine)
    url = lambda **p: codes(api("Campaigns.Archive.GetURL", user.session, **p))  # noqa: E731
    assert url() == [1] and url(TagID="x") == [2] and url(TagID=theirs) == [2] and url(TagID=999999) == [2]
    assert stored_state(engine) == before


# --- Subscribers.Update --------------------------------------------------------------------------
def test_subscribers_update_sets_fields_of_many_subscribers(engine, api, user, list_id):
    city = make_custom_field(engine, user, list_id, "City")
    one = make_subscriber(engine, list_id, "one@example.com", {city: "Ghent"})
    make_subscriber(engine, list_id, "two@example.com")
    three = make_subscriber(engine, list_id, "three@example.com", {city: "Liège"})
    answer = api("Subscribers.Update", user.session, SubscriberListID=list_id, **{
        "SubscriberIDs[]": [str(one)], "EmailAddresses": "TWO@example.com", f"Fields[CustomField{city}]": "Bruges",
        "Access": "admin"})
    assert answer["Success"] is True and answer["TotalUpdated"] == 2
    assert load_subscriber(engine, list_id, "one@example.com")[1][city][0] == "Bruges"
    assert load_subscriber(engine, list_id, "two@example.com")[1][city][0] == "Bruges"
    assert load_subscriber(engine, list_id, "three@example.com")[1][city][0] == "Liège"
    again = api("Subscribers.Update", user.session, SubscriberListID=list_id, SubscriberIDs=str(three),
                **{f"CustomField{city}": "Namur"})
    assert again["TotalUpdated"] == 1 and load_subscriber(engine, list_id, "three@example.com")[1][city][0] == "Namur"
    assert load_subscriber(engine, list_id, "one@example.com")[1][city][0] == "Bruges"
    # White space clears a field (an empty value is "not supplied", as for every legacy parameter).
    cleared = api("Subscribers.Update", user.session, SubscriberListID=list_id, SubscriberIDs=f"{one},{three}",
                  **{f"CustomField{city}": " "})
    assert cleared["TotalUpdated"] == 2 and load_subscriber(engine, list_id, "three@example.com")[1] == {}
    assert load_subscriber(engine, list_id, "two@example.com")[1][city][0] == "Bruges"


def test_subscribers_update_refusals_change_nothing(engine, api, user, other_user, list_id):
    city = make_custom_field(engine, user, list_id, "City")
    code = make_custom_field(engine, user, list_id, "Code", is_unique=True)
    must = make_custom_field(engine, user, list_id, "Must", is_required=True)
    number = make_custom_field(engine, user, list_id, "Age", validation_method="Numbers")
    one = make_subscriber(engine, list_id, "one@example.com")
    two = make_subscriber(engine, list_id, "two@example.com")
    foreign_list = make_list(engine, other_user)
    stranger = make_subscriber(engine, foreign_list, "x@example.com")
    before = stored_state(engine)
    up = lambda **p: codes(api("Subscribers.Update", user.session, **p))  # noqa: E731
    field = {f"CustomField{city}": "Ghent"}
    assert up(SubscriberIDs=one, **field) == [1]
    assert up(SubscriberListID=list_id, **field) == [2]
    assert up(SubscriberListID=foreign_list, SubscriberIDs=stranger, **field) == [3]
    assert up(SubscriberListID=list_id, SubscriberIDs=f"{one},{stranger}", **field) == [4]
    assert up(SubscriberListID=list_id, EmailAddresses="one@example.com,nobody@example.com", **field) == [4]
    assert up(SubscriberListID=list_id, SubscriberIDs=one) == [5]
    assert up(SubscriberListID=list_id, SubscriberIDs=one, **{f"CustomField{must}": "  "}) == [6]
    assert up(SubscriberListID=list_id, SubscriberIDs=f"{one},{two}", **{f"CustomField{code}": "A1"}) == [7]
    assert up(SubscriberListID=list_id, SubscriberIDs=one, **{f"CustomField{number}": "old"}) == [8]
    assert up(SubscriberListID=list_id, SubscriberIDs=one, CustomField999999="x") == [9]
    assert stored_state(engine) == before


# --- the 99997 refusals --------------------------------------------------------------------------
@pytest.mark.parametrize("command", [c.name for c in UNAVAILABLE])
def test_commands_sendmill_lacks_answer_99997_and_change_nothing(engine, api, admin, user, command):
    spec = next(c for c in UNAVAILABLE if c.name == command)
    session = admin.session if spec.auth == "admin" else user.session
    before = stored_state(engine)
    answer = api(command, session, EmailID=1, UserID=user.id, Credits=100)
    assert (answer["Success"], answer["ErrorCode"]) == (False, CODE)
    assert answer["ErrorText"] == spec.errors[CODE]
    assert stored_state(engine) == before


def test_client_login_is_refused_clearly_without_credentials(api):
    answer = api("Client.Login", Username="client", Password="secret")
    assert (answer["ErrorCode"], "Client accounts" in answer["ErrorText"]) == (CODE, True)
