"""Subscribers through HTTP: the public Subscribe / OptIn / Unsubscribe flow and the owner's
Subscriber.Get / Subscriber.Update / Subscribers.Get / Subscribers.Delete — every code, stored state."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from engine.models import Campaign, Segment, Subscriber, SubscriberActivity, Suppression, User
from protocol.commands import public_subscription, subscribers
from tests.builders import (
    CodeRecorder, assert_codes_reached, load_row, load_subscriber, make_custom_field, make_email, make_list,
    make_subscriber, set_list,
)
from tests.helpers import stored_state

SEEN: dict = {}
NEVER_EMITTED = {
    "Subscriber.Subscribe": {10, 101},     # no plugins; a lost insert race answers 9
    "Subscriber.Unsubscribe": {5, 11},      # an opt-out never depends on the owner's account state;
    "Subscribers.Delete": {6},              # criteria the compiler accepts always compile (bad ones are 7)
}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


def subscribe(api, list_id, email="ann@example.com", session=None, **params):
    params.setdefault("IPAddress", "203.0.113.7")
    return api("Subscriber.Subscribe", session, ListID=list_id, EmailAddress=email, **params)


# --- Subscriber.Subscribe ------------------------------------------------------------------------
@pytest.mark.parametrize("session", [None, "", "0", "stale-session-id"])
def test_public_subscribe_works_without_or_with_stale_credentials(api, engine, list_id, clock, session):
    set_list(engine, list_id, subscription_confirmed_page_url="https://alice.example/welcome")
    answer = subscribe(api, list_id, "Ann@Example.COM", session=session)
    assert answer["Success"] is True and answer["ErrorCode"] == 0
    assert isinstance(answer["SubscriberID"], int)
    assert answer["Subscriber"] == {"SubscriberID": answer["SubscriberID"], "EmailAddress": "Ann@Example.COM",
                                    "SubscriptionStatus": "Subscribed"}
    assert answer["RedirectURL"] == "https://alice.example/welcome"
    row, _ = load_subscriber(engine, list_id, "ann@example.com")
    assert (row.id, row.email_normalized, row.subscription_status, row.subscription_ip, row.source) == \
        (answer["SubscriberID"], "ann@example.com", "Subscribed", "203.0.113.7", "API")
    assert row.opt_in_date == clock.now and row.confirmation_due_at is None


def test_subscribe_with_the_owner_session_and_by_get(api, engine, user, list_id):
    assert subscribe(api, list_id, session=user.session)["Success"] is True
    assert load_subscriber(engine, list_id, "ann@example.com")[0].subscription_ip == "203.0.113.7"
    answer = api("Subscriber.Subscribe", None, method="GET", ListID=list_id, EmailAddress="bob@example.com",
                 IPAddress="198.51.100.1, 10.0.0.1")
    assert answer["Success"] is True
    assert load_subscriber(engine, list_id, "bob@example.com")[0].subscription_ip == "198.51.100.1"


@pytest.mark.parametrize("given, kept", [
    ("198.51.100.1, 10.0.0.1", "198.51.100.1"),             # a proxied form: the client comes first
    ("198.51.100.1,10.0.0.1,10.0.0.2", "198.51.100.1"),
    ("unknown, 203.0.113.9, 10.0.0.1", "203.0.113.9"),       # the first *valid* address
    ("2001:db8::1, 10.0.0.1", "2001:db8::1"),
    ("not an address", "not an address"),                  # stored as given: it is only a record
])
def test_a_forwarded_for_list_as_ip_address_keeps_the_first_address(api, engine, user, list_id, given, kept):
    assert subscribe(api, list_id, IPAddress=given)["Success"] is True
    assert load_subscriber(engine, list_id, "ann@example.com")[0].subscription_ip == kept
    assert api("Subscriber.Unsubscribe", None, ListID=list_id, EmailAddress="ann@example.com",
               IPAddress=given)["Success"] is True
    assert load_subscriber(engine, list_id, "ann@example.com")[0].unsubscription_ip == kept
    sid = load_subscriber(engine, list_id, "ann@example.com")[0].id
    assert api("Subscriber.Update", user.session, SubscriberID=sid, SubscriberListID=list_id,
               UnsubscriptionIP=given)["Success"] is True
    assert load_row(engine, Subscriber, sid).unsubscription_ip == kept


def test_custom_fields_arrive_top_level_and_in_fields_in_any_casing(api, engine, user, list_id):
    city = make_custom_field(engine, user, list_id, "City")
    age = make_custom_field(engine, user, list_id, "Age", validation_method="Numbers")
    born = make_custom_field(engine, user, list_id, "Born", field_type="Date field")
    answer = api("Subscriber.Subscribe", None, listid=list_id, emailaddress="ann@example.com",
                 ipaddress="203.0.113.7", **{f"CUSTOMFIELD{city}": "Paris", f"fields[customField{age}]": "42",
                                             f"CustomField{born}[]": ["25", "12", "1990"],
                                             "CustomFieldX": "", "CustomField999999": "ignored"})
    assert answer["Success"] is True, answer
    _, values = load_subscriber(engine, list_id, "ann@example.com")
    assert values[city][0] == "Paris"
    assert values[age][:2] == ("42", Decimal("42"))
    assert values[born][0] == "1990-12-25" and values[born][2] == datetime(1990, 12, 25, tzinfo=timezone.utc)


def test_checkbox_values_as_a_php_array(api, engine, user, list_id):
    topics = make_custom_field(engine, user, list_id, "Topics", field_type="Checkboxes",
                               options=[{"label": "News", "value": "news"}, {"label": "Deals", "value": "deals"}])
    answer = subscribe(api, list_id, **{f"CustomField{topics}[]": ["news", "Deals"]})
    assert answer["Success"] is True
    assert load_subscriber(engine, list_id, "ann@example.com")[1][topics][0] == "news||||deals"


def test_subscribe_in_a_json_body(api, engine, user, list_id):
    city = make_custom_field(engine, user, list_id, "City")
    answer = api.json({"Command": "Subscriber.Subscribe", "ListID": list_id, "EmailAddress": "j@example.com",
                       "IPAddress": "203.0.113.9", "Fields": {f"CustomField{city}": "Rome"}})
    assert answer["Success"] is True
    assert load_subscriber(engine, list_id, "j@example.com")[1][city][0] == "Rome"


def test_list_defaults_fill_omitted_fields(api, engine, user, list_id):
    country = make_custom_field(engine, user, list_id, "Country", default_value="France")
    subscribe(api, list_id)
    assert load_subscriber(engine, list_id, "ann@example.com")[1][country][0] == "France"


def test_subscribe_to_several_lists_at_once(api, engine, user, list_id):
    second = make_list(engine, user, "Second")
    city = make_custom_field(engine, user, list_id, "City")
    answer = subscribe(api, f"{list_id},{second}", **{f"CustomField{city}": "Oslo"})
    assert answer["Success"] is True
    assert load_subscriber(engine, second, "ann@example.com")[0].subscription_status == "Subscribed"
    assert load_subscriber(engine, list_id, "ann@example.com")[0].id == answer["SubscriberID"]


@pytest.mark.parametrize("email", ["ann@example.com", "ANN@EXAMPLE.COM", " ann@Example.com "])
def test_the_same_address_twice_is_9_as_an_array(api, engine, list_id, email):
    subscribe(api, list_id)
    answer = subscribe(api, list_id, email)
    assert answer["Success"] is False and answer["ErrorCode"] == [9]
    assert answer["ErrorText"] == ["Duplicate email address"]
    with engine.uow() as uow:
        assert uow.session.query(Subscriber).count() == 1


def test_an_idn_domain_is_the_same_subscriber(api, engine, list_id):
    assert subscribe(api, list_id, "max@bücher.example")["Success"] is True
    before = stored_state(engine)
    assert subscribe(api, list_id, "MAX@xn--bcher-kva.example")["ErrorCode"] == [9]
    assert stored_state(engine) == before


def test_update_if_exists_with_the_owner_s_credentials_updates_the_fields(api, engine, user, admin, list_id):
    city = make_custom_field(engine, user, list_id, "City")
    first = subscribe(api, list_id, **{f"CustomField{city}": "Paris"})
    answer = subscribe(api, list_id, session=user.session, UpdateIfExists="true", **{f"CustomField{city}": "Lyon"})
    assert answer["Success"] is True and answer["SubscriberID"] == first["SubscriberID"]
    assert load_subscriber(engine, list_id, "ann@example.com")[1][city][0] == "Lyon"
    subscribe(api, list_id, session=admin.session, UpdateIfExists="true", **{f"CustomField{city}": "Nice"})
    assert load_subscriber(engine, list_id, "ann@example.com")[1][city][0] == "Nice"


@pytest.mark.parametrize("who", ["anonymous", "stale", "another account"])
def test_update_if_exists_without_the_owner_s_credentials_overwrites_nothing(api, engine, user, other_user, list_id,
                                                                             clock, who):
    # A public form sent again for an address already on the list: the answer is "already subscribed",
    # and what is stored about the subscriber stays as it was (security issue item 11).
    session = {"anonymous": None, "stale": "stale-session", "another account": other_user.session}[who]
    city = make_custom_field(engine, user, list_id, "City")
    company = make_custom_field(engine, user, list_id, "Company", is_required=True)
    first = subscribe(api, list_id, **{f"CustomField{city}": "Paris", f"CustomField{company}": "ACME"})
    before, before_values = load_subscriber(engine, list_id, "ann@example.com")
    clock.advance(hours=1)
    answer = subscribe(api, list_id, "ANN@example.com", session=session, UpdateIfExists="1", EnforceRequiredFields="1",
                       **{f"CustomField{city}": "Lyon", f"CustomField{company}": ""})
    assert answer["Success"] is True and answer["Subscriber"] == {
        "SubscriberID": first["SubscriberID"], "EmailAddress": "ann@example.com", "SubscriptionStatus": "Subscribed"}
    after, after_values = load_subscriber(engine, list_id, "ann@example.com")
    assert after_values == before_values and after_values[city][0] == "Paris"
    assert (after.email_address, after.subscription_date, after.subscription_ip, after.opt_in_date) == \
        (before.email_address, before.subscription_date, before.subscription_ip, before.opt_in_date)


def test_update_if_exists_resubscribes_an_unsubscribed_address_without_touching_its_fields(api, engine, user,
                                                                                           list_id):
    city = make_custom_field(engine, user, list_id, "City")
    make_subscriber(engine, list_id, "ann@example.com", {city: "Paris"}, subscription_status="Unsubscribed")
    answer = subscribe(api, list_id, UpdateIfExists="1", **{f"CustomField{city}": "Lyon"})
    assert answer["Subscriber"]["SubscriptionStatus"] == "Subscribed"
    row, values = load_subscriber(engine, list_id, "ann@example.com")
    assert (row.subscription_status, values[city][0]) == ("Subscribed", "Paris")


def test_double_opt_in_leaves_the_subscriber_pending_until_opt_in(api, engine, list_id, clock):
    set_list(engine, list_id, opt_in_mode="Double", subscription_confirmation_pending_page_url="https://x.example/p",
             subscription_confirmed_page_url="https://x.example/ok")
    answer = subscribe(api, list_id)
    assert answer["Subscriber"]["SubscriptionStatus"] == "Opt-In Pending"
    assert answer["RedirectURL"] == "https://x.example/p"
    row, _ = load_subscriber(engine, list_id, "ann@example.com")
    assert row.confirmation_due_at == clock.now and row.opt_in_date is None
    with engine.uow() as uow:
        code = uow.subscribers.confirmation_code(uow.session.get(Subscriber, row.id))
    pending = stored_state(engine)
    assert api("Subscriber.OptIn", None, ListID=list_id, SubscriberID=row.id,
               ConfirmationCode="0" * 24)["ErrorCode"] == [4]
    assert stored_state(engine) == pending
    clock.advance(hours=1)
    again = subscribe(api, list_id, UpdateIfExists="true")  # the form sent twice: the email is due again
    assert again["SubscriberID"] == row.id and again["Subscriber"]["SubscriptionStatus"] == "Opt-In Pending"
    assert load_row(engine, Subscriber, row.id).confirmation_due_at == clock.now
    clock.advance(hours=2)
    confirmed = api("Subscriber.OptIn", "stale", ListID=list_id, SubscriberID=row.id, ConfirmationCode=code)
    assert confirmed["Success"] is True and confirmed["RedirectURL"] == "https://x.example/ok"
    assert confirmed["Subscriber"]["SubscriptionStatus"] == "Subscribed" and confirmed["ProcessedMode"] == "Confirm"
    row, _ = load_subscriber(engine, list_id, "ann@example.com")
    assert (row.subscription_status, row.opt_in_date, row.confirmation_due_at) == ("Subscribed", clock.now, None)
    # A second click on the same link changes nothing and still succeeds.
    assert api("Subscriber.OptIn", None, ListID=list_id, SubscriberID=row.id, ConfirmationCode=code)["Success"]


def test_opt_in_reject_unsubscribes_the_pending_address(api, engine, list_id):
    set_list(engine, list_id, opt_in_mode="Double")
    sid = subscribe(api, list_id)["SubscriberID"]
    with engine.uow() as uow:
        code = uow.subscribers.confirmation_code(uow.session.get(Subscriber, sid))
    answer = api("Subscriber.OptIn", None, ListID=list_id, SubscriberID=sid, ConfirmationCode=code, Mode="Reject")
    assert answer["Success"] is True and answer["ProcessedMode"] == "Reject"
    assert load_subscriber(engine, list_id, "ann@example.com")[0].subscription_status == "Unsubscribed"
    before = stored_state(engine)
    assert api("Subscriber.OptIn", None, ListID=list_id, SubscriberID=sid, ConfirmationCode=code)["ErrorCode"] == [4]
    assert stored_state(engine) == before  # still unsubscribed


def test_the_owner_confirms_without_a_code(api, engine, user, list_id):
    set_list(engine, list_id, opt_in_mode="Double")
    sid = subscribe(api, list_id)["SubscriberID"]
    before = stored_state(engine)
    assert api("Subscriber.OptIn", None, ListID=list_id, SubscriberID=sid)["ErrorCode"] == [3]
    assert stored_state(engine) == before
    assert api("Subscriber.OptIn", user.session, ListID=list_id, SubscriberID=sid)["Success"] is True
    assert load_row(engine, Subscriber, sid).subscription_status == "Subscribed"


@pytest.mark.parametrize("params, code", [
    ({"ListID": None}, 1), ({"SubscriberID": None}, 2), ({"ListID": "999999"}, 5), ({"SubscriberID": "999999"}, 5),
    ({"Mode": "Maybe"}, 6),
])
def test_opt_in_errors(api, engine, list_id, params, code):
    set_list(engine, list_id, opt_in_mode="Double")
    sid = subscribe(api, list_id)["SubscriberID"]
    base = {"ListID": list_id, "SubscriberID": sid, "ConfirmationCode": "abc", **params}
    before = stored_state(engine)
    assert api("Subscriber.OptIn", None, **{k: v for k, v in base.items() if v is not None})["ErrorCode"] == [code]
    assert stored_state(engine) == before


def test_opt_in_behaviour_subscribes_to_another_list(api, engine, user, list_id):
    welcome = make_list(engine, user, "Welcome")
    set_list(engine, list_id, opt_in_subscribe_to_list_id=welcome)
    subscribe(api, list_id)
    assert load_subscriber(engine, welcome, "ann@example.com")[0].subscription_status == "Subscribed"


@pytest.mark.parametrize("params, code", [
    ({"ListID": None}, 1), ({"EmailAddress": None}, 2), ({"IPAddress": None}, 3), ({"IPAddress": "  "}, 3),
    ({"ListID": "999999"}, 4), ({"ListID": "first"}, 4), ({"EmailAddress": "not-an-address"}, 5),
    ({"EmailAddress": "a@b@example.com"}, 5),
])
def test_subscribe_parameter_errors(api, engine, list_id, params, code):
    base = {"ListID": list_id, "EmailAddress": "ann@example.com", "IPAddress": "203.0.113.7", **params}
    answer = api("Subscriber.Subscribe", None, **{k: v for k, v in base.items() if v is not None})
    assert answer["Success"] is False and answer["ErrorCode"] == [code], answer
    with engine.uow() as uow:
        assert uow.session.query(Subscriber).count() == 0


def test_a_required_field_submitted_blank_is_6_with_the_field(api, engine, user, list_id):
    field = make_custom_field(engine, user, list_id, "Company", is_required=True)
    before = stored_state(engine)
    answer = subscribe(api, list_id, **{f"CustomField{field}": "   "})
    assert answer["ErrorCode"] == [6]
    assert (answer["ErrorCustomFieldID"], answer["ErrorCustomFieldTitle"]) == (field, "Company")
    assert stored_state(engine) == before
    assert subscribe(api, list_id)["Success"] is True  # omitted: not checked (legacy lax rule)
    assert load_subscriber(engine, list_id, "ann@example.com")[0] is not None


def test_enforce_required_fields_checks_omitted_fields(api, engine, user, list_id):
    make_custom_field(engine, user, list_id, "Company", is_required=True)
    make_custom_field(engine, user, list_id, "Plan", is_required=True, default_value="Free")
    before = stored_state(engine)
    answer = subscribe(api, list_id, EnforceRequiredFields="yes")
    assert answer["ErrorCode"] == [6] and answer["ErrorCustomFieldTitle"] == "Company"
    assert stored_state(engine) == before


def test_a_unique_field_value_already_used_is_7(api, engine, user, list_id):
    field = make_custom_field(engine, user, list_id, "Member number", is_unique=True)
    subscribe(api, list_id, "a@example.com", **{f"CustomField{field}": "M-1"})
    before = stored_state(engine)
    answer = subscribe(api, list_id, "b@example.com", **{f"CustomField{field}": "m-1"})
    assert answer["ErrorCode"] == [7] and answer["ErrorCustomFieldID"] == field
    assert stored_state(engine) == before


@pytest.mark.parametrize("spec, value, reason", [
    ({"validation_method": "Numbers"}, "forty", "must be a number"),
    ({"validation_method": "Email address"}, "nope", "must be an email address"),
    ({"validation_method": "Custom", "validation_rule": "/^[A-Z]{2}$/"}, "abc", "validation rule"),
    ({"field_type": "Drop down", "options": [{"label": "Yes", "value": "y"}]}, "maybe", "not one of"),
    ({"field_type": "Date field"}, "31/02/2024", "YYYY-MM-DD"),
    ({"field_type": "Date field"}, "2024-02-31", "not a calendar date"),
    ({"field_type": "Date field", "years": "2000-2010"}, "1999-01-01", "between 2000 and 2010"),
    ({"field_type": "Time field"}, "25:00", "between 00:00 and 23:59"),
])
def test_an_invalid_field_value_is_8_with_a_description(api, engine, user, list_id, spec, value, reason):
    field = make_custom_field(engine, user, list_id, "Field", **spec)
    before = stored_state(engine)
    answer = subscribe(api, list_id, **{f"CustomField{field}": value})
    assert answer["ErrorCode"] == [8], answer
    assert stored_state(engine) == before
    assert answer["ErrorCustomFieldID"] == field and reason in answer["ErrorCustomFieldDescription"]


def test_the_account_subscriber_limit_is_12_and_writes_nothing(api, engine, user, list_id):
    other_list = make_list(engine, user, "Other")
    make_subscriber(engine, other_list, "old@example.com")  # every list of the account counts
    with engine.uow() as uow:
        uow.session.get(User, user.id).group.limit_subscribers = 2
        uow.commit()
    assert subscribe(api, list_id, "first@example.com")["Success"] is True
    answer = subscribe(api, list_id, "second@example.com")
    assert answer["ErrorCode"] == [12] and "2 subscribers" in answer["ErrorText"][0]
    assert load_subscriber(engine, list_id, "second@example.com")[0] is None
    # Updating an address already on the list needs no new place.
    assert subscribe(api, list_id, "first@example.com", UpdateIfExists="1")["Success"] is True


def test_a_disabled_owner_is_11(api, engine, user, list_id):
    with engine.uow() as uow:
        uow.session.get(User, user.id).account_status = "Disabled"
        uow.commit()
    before = stored_state(engine)
    assert subscribe(api, list_id)["ErrorCode"] == [11]
    assert stored_state(engine) == before


# --- Subscriber.Unsubscribe ----------------------------------------------------------------------
def test_unsubscribe_moves_the_address_from_active_to_unsubscribed(api, engine, user, list_id, clock):
    set_list(engine, list_id, unsubscription_confirmed_page_url="https://alice.example/bye")
    subscribe(api, list_id)
    subscribe(api, list_id, "bob@example.com")
    answer = api("Subscriber.Unsubscribe", None, ListID=list_id, EmailAddress="ANN@example.com",
                 IPAddress="198.51.100.4", CampaignID="", EmailID="", Preview="0")
    assert answer == {"Success": True, "ErrorCode": 0, "RedirectURL": "https://alice.example/bye"}
    row, _ = load_subscriber(engine, list_id, "ann@example.com")
    assert (row.subscription_status, row.unsubscription_ip, row.unsubscription_date) == \
        ("Unsubscribed", "198.51.100.4", clock.now)
    active = api("Subscribers.Get", user.session, SubscriberListID=list_id, SubscriberSegment="Active")
    gone = api("Subscribers.Get", user.session, SubscriberListID=list_id, SubscriberSegment="Unsubscribed")
    assert [s["EmailAddress"] for s in active["Subscribers"]] == ["bob@example.com"]
    assert [s["EmailAddress"] for s in gone["Subscribers"]] == ["ann@example.com"]


def test_unsubscribe_by_id_records_the_campaign(api, engine, user, list_id):
    sid = subscribe(api, list_id)["SubscriberID"]
    campaign_id = api("Campaign.Create", user.session, CampaignName="C")["CampaignID"]
    email_id = make_email(engine, user)
    answer = api("Subscriber.Unsubscribe", user.session, ListID=list_id, SubscriberID=sid, IPAddress="1.2.3.4",
                 CampaignID=campaign_id, EmailID=email_id, Channel="Link")
    assert answer["Success"] is True
    row = load_row(engine, Subscriber, sid)
    assert (row.unsubscription_campaign_id, row.unsubscription_email_id, row.unsubscription_channel) == \
        (campaign_id, email_id, "Link")
    assert load_row(engine, Campaign, campaign_id).total_unsubscriptions == 1
    with engine.uow() as uow:
        activity = [(a.subscriber_id, a.campaign_id, a.email_id, a.kind) for a in uow.session.query(SubscriberActivity)]
    assert activity == [(sid, campaign_id, email_id, "unsubscribe")]


@pytest.mark.parametrize("who", ["anonymous", "stale", "another account"])
def test_a_subscriber_id_alone_needs_the_owner_s_credentials(api, engine, user, other_user, list_id, who):
    # Sequential IDs are easy to guess: without the owner's credentials the caller names the address
    # (security issue item 11). Nothing moves: status, suppression list, campaign counters, activity.
    session = {"anonymous": None, "stale": "stale-session", "another account": other_user.session}[who]
    set_list(engine, list_id, opt_out_add_to_suppression_list=True)
    sid = subscribe(api, list_id)["SubscriberID"]
    subscribe(api, list_id, "bob@example.com")
    campaign_id = api("Campaign.Create", user.session, CampaignName="C")["CampaignID"]
    by_id = dict(ListID=list_id, SubscriberID=sid, IPAddress="1.2.3.4", CampaignID=campaign_id,
                 AddToGlobalSuppression="1")
    refused = api("Subscriber.Unsubscribe", session, **by_id)
    assert refused["Success"] is False and refused["ErrorCode"] == [3], refused
    mismatched = api("Subscriber.Unsubscribe", session, EmailAddress="bob@example.com", **by_id)
    assert mismatched["ErrorCode"] == [7]   # the address and the ID must name the same subscriber
    assert load_row(engine, Subscriber, sid).subscription_status == "Subscribed"
    assert load_subscriber(engine, list_id, "bob@example.com")[0].subscription_status == "Subscribed"
    assert load_row(engine, Campaign, campaign_id).total_unsubscriptions == 0
    with engine.uow() as uow:
        assert uow.session.query(Suppression).count() == 0 and uow.session.query(SubscriberActivity).count() == 0
    # Naming the address (with or without the ID) works for anyone.
    assert api("Subscriber.Unsubscribe", session, EmailAddress="ANN@example.com", **by_id)["Success"] is True
    assert load_row(engine, Subscriber, sid).subscription_status == "Unsubscribed"
    assert load_row(engine, Campaign, campaign_id).total_unsubscriptions == 1


def test_unsubscribe_preview_changes_nothing(api, engine, list_id):
    subscribe(api, list_id)
    answer = api("Subscriber.Unsubscribe", None, ListID=list_id, EmailAddress="ann@example.com",
                 IPAddress="1.2.3.4", Preview="1")
    assert answer["Success"] is True
    assert load_subscriber(engine, list_id, "ann@example.com")[0].subscription_status == "Subscribed"


def test_unsubscribe_behaviours_all_lists_and_suppression(api, engine, user, list_id):
    other = make_list(engine, user, "Other")
    set_list(engine, list_id, opt_out_scope="All lists", opt_out_add_to_suppression_list=True)
    subscribe(api, list_id)
    subscribe(api, other)
    api("Subscriber.Unsubscribe", None, ListID=list_id, EmailAddress="ann@example.com", IPAddress="1.2.3.4",
        AddToGlobalSuppression="true")
    assert load_subscriber(engine, other, "ann@example.com")[0].subscription_status == "Unsubscribed"
    with engine.uow() as uow:
        scopes = sorted((s.list_id or 0, s.source) for s in uow.session.query(Suppression))
    assert scopes == [(0, "Unsubscribe"), (list_id, "Unsubscribe")]


@pytest.mark.parametrize("params, code", [
    ({"ListID": None}, 1), ({"IPAddress": None}, 2), ({"EmailAddress": None}, 3), ({"ListID": "999999"}, 4),
    ({"EmailAddress": "nope"}, 6), ({"EmailAddress": "nobody@example.com"}, 7), ({"CampaignID": "999999"}, 8),
    ({"CampaignID": "x"}, 8), ({"EmailID": "999999"}, 10),
])
def test_unsubscribe_errors(api, engine, list_id, params, code):
    subscribe(api, list_id)
    base = {"ListID": list_id, "EmailAddress": "ann@example.com", "IPAddress": "1.2.3.4", **params}
    before = stored_state(engine)
    answer = api("Subscriber.Unsubscribe", None, **{k: v for k, v in base.items() if v is not None})
    assert answer["Success"] is False and answer["ErrorCode"] == [code], answer
    assert load_subscriber(engine, list_id, "ann@example.com")[0].subscription_status == "Subscribed"
    assert stored_state(engine) == before  # no suppression, activity or counter either


@pytest.mark.parametrize("rules", [
    '[[{"type":"fields"}]]', "[]", "[[]]", "[[{}]]", "0", "not json", '[[{"type":"fields","field_id":"Password",'
    '"operator":"is","value":"x"}]]',
])
def test_unusable_rules_json_of_the_owner_is_7_and_changes_nothing(api, engine, user, list_id, rules):
    subscribe(api, list_id)
    before = stored_state(engine)
    answer = api("Subscriber.Unsubscribe", user.session, ListID=list_id, IPAddress="1.2.3.4", RulesJSON=rules,
                 RulesOperator="and")
    assert answer["ErrorCode"] == [7] and "RulesJSON" in answer["ErrorText"][0]
    assert load_subscriber(engine, list_id, "ann@example.com")[0].subscription_status == "Subscribed"
    assert stored_state(engine) == before


def test_rules_json_without_a_valid_operator_is_7(api, engine, user, list_id):
    subscribe(api, list_id)
    rules = '[[{"type":"fields","field_id":"EmailAddress","operator":"contains","value":"ann"}]]'
    before = stored_state(engine)
    for operator in ({}, {"RulesOperator": "xor"}):
        answer = api("Subscriber.Unsubscribe", user.session, ListID=list_id, IPAddress="1.2.3.4", RulesJSON=rules,
                     **operator)
        assert answer["ErrorCode"] == [7] and "RulesOperator" in answer["ErrorText"][0]
    assert load_subscriber(engine, list_id, "ann@example.com")[0].subscription_status == "Subscribed"
    assert stored_state(engine) == before


def test_unsubscribing_twice_is_9(api, engine, list_id, clock):
    subscribe(api, list_id)
    params = dict(ListID=list_id, EmailAddress="ann@example.com", IPAddress="1.2.3.4")
    assert api("Subscriber.Unsubscribe", None, **params)["Success"] is True
    clock.advance(hours=1)  # a second unsubscription would move the date
    before = stored_state(engine)
    assert api("Subscriber.Unsubscribe", None, **params)["ErrorCode"] == [9]
    assert stored_state(engine) == before


def test_a_campaign_of_another_account_is_8(api, engine, other_user, list_id):
    subscribe(api, list_id)
    foreign = api("Campaign.Create", other_user.session, CampaignName="Theirs")["CampaignID"]
    before = stored_state(engine)
    answer = api("Subscriber.Unsubscribe", None, ListID=list_id, EmailAddress="ann@example.com",
                 IPAddress="1.2.3.4", CampaignID=foreign)
    assert answer["ErrorCode"] == [8]
    assert stored_state(engine) == before  # neither the address nor their campaign's counters moved


# --- Subscriber.Get ------------------------------------------------------------------------------
def test_get_returns_the_information_with_custom_field_keys(api, engine, user, list_id):
    city = make_custom_field(engine, user, list_id, "City")
    note = make_custom_field(engine, user, list_id, "Note")
    sid = subscribe(api, list_id, **{f"CustomField{city}": "Paris"})["SubscriberID"]
    answer = api("Subscriber.Get", user.session, ListID=list_id, EmailAddress="ANN@example.com")
    assert answer["Success"] is True and answer["Suppressed"] is False
    info = answer["SubscriberInformation"]
    assert info["SubscriberID"] == str(sid) and info["EmailAddress"] == "ann@example.com"
    assert info["SubscriptionStatus"] == "Subscribed" and info["SubscriptionIP"] == "203.0.113.7"
    assert info[f"CustomField{city}"] == "Paris" and info[f"CustomField{note}"] == ""
    assert answer["SubscriberTags"] == [] and answer["SubscriberSegments"] == []
    assert api("Subscriber.Get", user.session, ListID=list_id, SubscriberID=sid)["SubscriberInformation"] == info


@pytest.mark.parametrize("params, code", [
    ({"EmailAddress": None}, 1), ({"ListID": None}, 2), ({"EmailAddress": "nobody@example.com"}, 3),
    ({"ListID": "999999"}, 4),
])
def test_get_errors(api, user, list_id, params, code):
    base = {"ListID": list_id, "EmailAddress": "ann@example.com", **params}
    answer = api("Subscriber.Get", user.session, **{k: v for k, v in base.items() if v is not None})
    assert answer["Success"] is False and answer["ErrorCode"] == [code]


def test_get_of_another_account_s_list_is_4(api, other_user, list_id):
    subscribe(api, list_id)
    answer = api("Subscriber.Get", other_user.session, ListID=list_id, EmailAddress="ann@example.com")
    assert answer["ErrorCode"] == [4] and "SubscriberInformation" not in answer


# --- Subscriber.Update ---------------------------------------------------------------------------
def test_update_changes_address_status_bounce_and_fields(api, engine, user, list_id, clock):
    city = make_custom_field(engine, user, list_id, "City")
    tier = make_custom_field(engine, user, list_id, "Tier")
    sid = subscribe(api, list_id, **{f"CustomField{city}": "Paris", f"CustomField{tier}": "Gold"})["SubscriberID"]
    answer = api("Subscriber.Update", user.session, SubscriberID=sid, SubscriberListID=list_id,
                 EmailAddress="ann.new@example.com", SubscriptionStatus="Unsubscribed", BounceType="Soft",
                 UnsubscriptionIP="9.9.9.9", **{f"fields[CUSTOMFIELD{city}]": "Rome"})
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    row, values = load_subscriber(engine, list_id, "ann.new@example.com")
    assert (row.id, row.subscription_status, row.bounce_type, row.unsubscription_ip, row.unsubscription_date) == \
        (sid, "Unsubscribed", "Soft", "9.9.9.9", clock.now)
    assert values[city][0] == "Rome" and values[tier][0] == "Gold"  # omitted fields stay


@pytest.mark.parametrize("params, code", [
    ({"SubscriberID": None}, 1), ({"SubscriberListID": None}, 2), ({"EmailAddress": "   "}, 3),
    ({"EmailAddress": "broken@"}, 4), ({"SubscriberListID": "999999"}, 5), ({"SubscriberID": "999999"}, 6),
    ({"EmailAddress": "BOB@example.com"}, 7), ({"SubscriptionStatus": "Opt-Out Pending"}, 12),
    ({"BounceType": "Bouncy"}, 12),
])
def test_update_errors(api, engine, user, list_id, params, code):
    sid = subscribe(api, list_id)["SubscriberID"]
    subscribe(api, list_id, "bob@example.com")
    base = {"SubscriberID": sid, "SubscriberListID": list_id, "BounceType": "Hard", **params}
    before = stored_state(engine)
    answer = api("Subscriber.Update", user.session, **{k: v for k, v in base.items() if v is not None})
    assert answer["Success"] is False and answer["ErrorCode"] == [code], answer
    assert load_row(engine, Subscriber, sid).email_address == "ann@example.com"
    assert stored_state(engine) == before  # the bounce type sent beside the bad value is not half-written


def test_update_custom_field_errors_carry_the_field(api, engine, user, list_id):
    required = make_custom_field(engine, user, list_id, "Company", is_required=True)
    unique = make_custom_field(engine, user, list_id, "Code", is_unique=True)
    number = make_custom_field(engine, user, list_id, "Age", validation_method="Numbers")
    sid = subscribe(api, list_id, **{f"CustomField{required}": "ACME"})["SubscriberID"]
    subscribe(api, list_id, "bob@example.com", **{f"CustomField{required}": "X", f"CustomField{unique}": "C1"})
    base = {"SubscriberID": sid, "SubscriberListID": list_id, "BounceType": "Hard"}
    before = stored_state(engine)
    blank = api("Subscriber.Update", user.session, **base, **{f"Fields[CustomField{required}]": " "})
    assert blank["ErrorCode"] == [8] and blank["ErrorCustomFieldIDs"] == str(required)
    taken = api("Subscriber.Update", user.session, **base, **{f"Fields[CustomField{unique}]": "C1"})
    assert taken["ErrorCode"] == [9] and taken["ErrorCustomFieldTitles"] == "Code"
    bad = api("Subscriber.Update", user.session, **base, **{f"Fields[CustomField{number}]": "old"})
    assert bad["ErrorCode"] == [10] and "number" in bad["ErrorCustomFieldDescriptions"]
    unknown = api("Subscriber.Update", user.session, **base, **{"Fields[CustomField999999]": "x"})
    assert unknown["ErrorCode"] == [11] and unknown["ErrorCustomFieldIDs"] == "999999"
    assert load_subscriber(engine, list_id, "ann@example.com")[1][required][0] == "ACME"
    assert stored_state(engine) == before


def test_update_of_another_account_s_subscriber_is_5(api, engine, other_user, list_id):
    sid = subscribe(api, list_id)["SubscriberID"]
    before = stored_state(engine)
    answer = api("Subscriber.Update", other_user.session, SubscriberID=sid, SubscriberListID=list_id,
                 EmailAddress="owned@example.com")
    assert answer["ErrorCode"] == [5]
    assert stored_state(engine) == before


# --- Subscribers.Get -----------------------------------------------------------------------------
@pytest.fixture
def crowd(engine, user, list_id):
    city = make_custom_field(engine, user, list_id, "City")
    ids = {
        "active": make_subscriber(engine, list_id, "carol@a.example", values={city: "Paris"}),
        "bob": make_subscriber(engine, list_id, "Bob@b.example", values={city: "Berlin"}),
        "gone": make_subscriber(engine, list_id, "dan@a.example", subscription_status="Unsubscribed"),
        "pending": make_subscriber(engine, list_id, "eve@b.example", subscription_status="Opt-In Pending"),
        "soft": make_subscriber(engine, list_id, "fay@a.example", bounce_type="Soft"),
        "hard": make_subscriber(engine, list_id, "gus@b.example", bounce_type="Hard"),
    }
    return city, ids


@pytest.mark.parametrize("segment, expected", [
    ("Active", ["Bob@b.example", "carol@a.example", "fay@a.example"]),
    ("Unsubscribed", ["dan@a.example"]), ("Opt-In Pending", ["eve@b.example"]),
    ("Confirmation Pending", ["eve@b.example"]), ("Soft bounced", ["fay@a.example"]),
    ("hard bounced", ["gus@b.example"]),
])
def test_named_segments(api, user, list_id, crowd, segment, expected):
    answer = api("Subscribers.Get", user.session, SubscriberListID=list_id, SubscriberSegment=segment)
    assert answer["Success"] is True and answer["ErrorText"] == ""
    assert [s["EmailAddress"] for s in answer["Subscribers"]] == expected
    assert answer["TotalSubscribers"] == len(expected)


def test_rows_carry_custom_fields_and_page_with_the_full_total(api, user, list_id, crowd):
    city, ids = crowd
    answer = api("Subscribers.Get", user.session, SubscriberListID=list_id, SubscriberSegment="Active",
                 OrderField="SubscriberID", OrderType="DESC", RecordsFrom=1, RecordsPerRequest=1,
                 SearchField="", SearchKeyword="")
    assert answer["TotalSubscribers"] == 3 and len(answer["Subscribers"]) == 1
    row = answer["Subscribers"][0]
    assert row["SubscriberID"] == str(ids["bob"]) and row[f"CustomField{city}"] == "Berlin"


@pytest.mark.parametrize("field, keyword, expected", [
    ("EmailAddress", "A.EXAMPLE", ["carol@a.example", "fay@a.example"]),
    ("CustomField{city}", "par", ["carol@a.example"]), ("{city}", "BER", ["Bob@b.example"]),
    ("SubscriptionDate", "2026-11", ["Bob@b.example", "carol@a.example", "fay@a.example"]),
    ("SubscriptionDate", "2025", []), ("SubscriberID", "abc", []), ("EmailAddress", "%", []),
])
def test_search(api, user, list_id, crowd, field, keyword, expected):
    city, _ = crowd
    answer = api("Subscribers.Get", user.session, SubscriberListID=list_id, SubscriberSegment="Active",
                 SearchField=field.format(city=city), SearchKeyword=keyword)
    assert [s["EmailAddress"] for s in answer["Subscribers"]] == expected


def test_a_segment_id_lists_its_members(api, engine, user, list_id, crowd):
    with engine.uow() as uow:
        segment = Segment(owner_user_id=user.id, list_id=list_id, name="A domain", rules_operator="and",
                          rules_json='[[{"type":"fields","field_id":"EmailAddress","operator":"contains",'
                                     '"value":"@a.example"}]]', created_at=uow.clock())
        uow.session.add(segment)
        uow.commit()
        segment_id = segment.id
    answer = api("Subscribers.Get", user.session, SubscriberListID=list_id, SubscriberSegment=segment_id)
    assert sorted(s["EmailAddress"] for s in answer["Subscribers"]) == \
        ["carol@a.example", "dan@a.example", "fay@a.example"]


def test_an_empty_list_answers_an_empty_array(api, user, list_id):
    answer = api("Subscribers.Get", user.session, SubscriberListID=list_id, SubscriberSegment="Active")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "Subscribers": [], "TotalSubscribers": 0}


@pytest.mark.parametrize("params, code", [
    ({"SubscriberListID": None}, 1), ({"SubscriberSegment": None}, 2), ({"SubscriberListID": "999999"}, 3),
    ({"SearchField": "Password", "SearchKeyword": "x"}, 4), ({"SearchField": "CustomField999999",
                                                              "SearchKeyword": "x"}, 4),
    ({"SubscriberSegment": "Nobody"}, 5), ({"SubscriberSegment": "999999"}, 5),
])
def test_subscribers_get_errors_are_scalar(api, user, list_id, params, code):
    base = {"SubscriberListID": list_id, "SubscriberSegment": "Active", **params}
    answer = api("Subscribers.Get", user.session, **{k: v for k, v in base.items() if v is not None})
    assert answer["Success"] is False and answer["ErrorCode"] == code, answer
    assert isinstance(answer["ErrorText"], str)


def test_subscribers_of_another_account_are_3(api, other_user, list_id, crowd):
    answer = api("Subscribers.Get", other_user.session, SubscriberListID=list_id, SubscriberSegment="Active")
    assert answer["ErrorCode"] == 3 and "Subscribers" not in answer


# --- Subscribers.Delete --------------------------------------------------------------------------
RULES = '[[{"type":"fields","field_id":"EmailAddress","operator":"contains","value":"@a.example"}]]'


def test_delete_removes_only_subscribers_of_that_list(api, engine, user, list_id, crowd):
    _, ids = crowd
    other = make_list(engine, user, "Other")
    elsewhere = make_subscriber(engine, other, "carol@a.example")
    answer = api("Subscribers.Delete", user.session, SubscriberListID=list_id,
                 Subscribers=f"{ids['active']},{ids['bob']},{elsewhere}")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "TotalDeleted": 2}
    assert load_row(engine, Subscriber, ids["active"]) is None and load_row(engine, Subscriber, ids["bob"]) is None
    assert load_row(engine, Subscriber, elsewhere) is not None


def test_delete_suppressed_lifts_the_suppression_and_keeps_the_subscriber(api, engine, user, list_id, crowd):
    _, ids = crowd
    api("Suppression.Import", user.session, EmailAddressesBulk="carol@a.example\nbob@b.example")
    answer = api("Subscribers.Delete", user.session, SubscriberListID=list_id, Subscribers=ids["active"],
                 Suppressed="true")
    assert answer["Success"] is True and load_row(engine, Subscriber, ids["active"]) is not None
    with engine.uow() as uow:
        assert [s.email_normalized for s in uow.session.query(Suppression)] == ["bob@b.example"]


@pytest.mark.parametrize("params, code", [
    ({"Subscribers": None}, 1), ({"SubscriberListID": None}, 2), ({"SubscriberListID": "999999"}, 5),
    ({"Subscribers": None, "RulesOperator": "and"}, 3), ({"Subscribers": None, "RulesJSON": RULES}, 4),
    ({"Subscribers": None, "RulesJSON": RULES, "RulesOperator": "nor"}, 4),
    ({"Subscribers": None, "RulesJSON": "[[]]", "RulesOperator": "and"}, 7),
    ({"Subscribers": None, "RulesJSON": "{not json", "RulesOperator": "or"}, 7),
    ({"RulesJSON": '[[{"type":"fields","field_id":"CustomField999999","operator":"is","value":"x"}]]',
      "RulesOperator": "and"}, 7),
    ({"Subscribers": "1,two"}, 8), ({"Subscribers": "-3"}, 8),
])
def test_delete_errors(api, engine, user, list_id, crowd, params, code):
    _, ids = crowd
    base = {"SubscriberListID": list_id, "Subscribers": str(ids["active"]), **params}
    before = stored_state(engine)
    answer = api("Subscribers.Delete", user.session, **{k: v for k, v in base.items() if v is not None})
    assert answer["Success"] is False and answer["ErrorCode"] == [code], answer
    assert load_row(engine, Subscriber, ids["active"]) is not None and stored_state(engine) == before


def test_delete_in_another_account_s_list_is_5(api, engine, other_user, list_id, crowd):
    _, ids = crowd
    before = stored_state(engine)
    answer = api("Subscribers.Delete", other_user.session, SubscriberListID=list_id, Subscribers=ids["active"])
    assert answer["ErrorCode"] == [5] and load_row(engine, Subscriber, ids["active"]) is not None
    assert stored_state(engine) == before


def test_owner_commands_require_credentials(api, engine, list_id):
    sid = subscribe(api, list_id)["SubscriberID"]
    before = stored_state(engine)
    for command in ("Subscriber.Get", "Subscriber.Update", "Subscribers.Get", "Subscribers.Delete"):
        assert api(command, None, ListID=list_id, SubscriberListID=list_id, SubscriberID=sid, Subscribers=sid,
                   EmailAddress="taken@example.com")["ErrorCode"] == 99998
    assert stored_state(engine) == before


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, [*public_subscription.COMMANDS, *subscribers.COMMANDS], NEVER_EMITTED)


@pytest.mark.parametrize("segment", ["Active", "All", "Unsubscribed", "Opt-In Pending", "Soft bounced",
                                     "Hard bounced", "Suppressed"])
@pytest.mark.parametrize("order", [{}, {"OrderField": "SubscriberID", "OrderType": "DESC"},
                                   {"OrderField": "SubscriptionDate"}, {"OrderField": "nonsense", "OrderType": "DESC"}])
def test_a_page_without_keyword_answers_as_the_general_search(api, user, engine, list_id, crowd, segment, order):
    # Without a keyword a named segment's page runs prebuilt statements; a keyword every address matches
    # ("@") takes the general path: the two must agree row for row, and on the total.
    suppressed = api("Subscribers.Get", user.session, SubscriberListID=list_id, SubscriberSegment="All")
    with engine.uow() as uow:
        uow.session.add(Suppression(owner_user_id=user.id, list_id=list_id,
                                    email_address=suppressed["Subscribers"][0]["EmailAddress"],
                                    email_normalized=suppressed["Subscribers"][0]["EmailAddress"].lower()))
        uow.commit()
    page = {"RecordsFrom": 1, "RecordsPerRequest": 2, **order}
    prebuilt = api("Subscribers.Get", user.session, SubscriberListID=list_id, SubscriberSegment=segment, **page)
    general = api("Subscribers.Get", user.session, SubscriberListID=list_id, SubscriberSegment=segment,
                  SearchField="EmailAddress", SearchKeyword="@", **page)
    assert prebuilt["Success"] is True and prebuilt == general


def test_a_page_of_another_users_list_is_code_3_on_the_prebuilt_path(api, user, other_user, list_id, crowd):
    answer = api("Subscribers.Get", other_user.session, SubscriberListID=list_id, SubscriberSegment="Active")
    assert answer["ErrorCode"] == 3 and "Subscribers" not in answer
