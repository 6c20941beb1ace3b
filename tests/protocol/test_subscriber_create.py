"""Subscriber.Create through HTTP (and /api/v1/subscriber.create) — every code, stored state."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from engine.models import AutoResponderSend, Subscriber, SubscriberFieldValue, User
from protocol.commands import subscriber_create as commands
from tests.builders import (
    CodeRecorder, assert_codes_reached, load_subscriber, make_custom_field, make_email, make_list, make_reader,
    make_subscriber, set_list,
)
from tests.helpers import stored_state

SEEN: dict = {}
NEVER_EMITTED = {
    # OptInDate is optional in the page's own parameter table: nothing makes it missing.
    "Subscriber.Create": {15,
                          # The caller is the list's owner, authenticated: an owner that may not act never gets here.
                          22},
}
SUBSCRIBED = {"Status": "Subscribed", "SubscriptionDate": "2025-01-01 12:00:00", "SubscriptionIP": "192.168.1.1"}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


def load(engine, list_id, email):
    return load_subscriber(engine, list_id, email)[0]


def create(api, user, list_id, email="new@example.com", **params):
    return api("Subscriber.Create", user.session, ListID=list_id, EmailAddress=email, **{**SUBSCRIBED, **params})


def test_create_writes_the_subscriber_as_given(api, user, engine):
    list_id = make_list(engine, user)
    first = make_custom_field(engine, user, list_id, "First name")
    last = make_custom_field(engine, user, list_id, "Last name")
    answer = api("Subscriber.Create", user.session, ListID=list_id, EmailAddress="Subscriber@Example.com",
                 Status="Subscribed", SubscriptionDate="2025-01-01 12:00:00", SubscriptionIP="192.168.1.1",
                 Source="csvimport", SourceRef="campaign-abc-2025", BounceType="Soft",
                 **{f"CustomFields[{first}]": "John", f"CustomFields[{last}]": "Doe"})
    assert answer["Success"] is True and answer["ErrorCode"] == 0, answer
    info = answer["SubscriberInformation"]
    assert info["EmailAddress"] == "Subscriber@Example.com" and info["SubscriptionStatus"] == "Subscribed"
    assert info[f"CustomField{first}"] == "John" and info[f"CustomField{last}"] == "Doe"
    assert answer["Suppressed"] is False and answer["SubscriberTags"] == []
    row = load(engine, list_id, "subscriber@example.com")
    assert (row.subscription_status, row.subscription_ip, row.bounce_type, row.source, row.source_ref) == (
        "Subscribed", "192.168.1.1", "Soft", "CSVImport", "campaign-abc-2025")
    assert row.subscription_date == datetime(2025, 1, 1, 12, tzinfo=timezone.utc)
    assert row.confirmation_due_at is None and str(row.id) == info["SubscriberID"]


def test_create_through_api_v1_with_a_json_object_of_fields(client, user, engine):
    list_id = make_list(engine, user)
    field_id = make_custom_field(engine, user, list_id, "First name")
    response = client.post("/api/v1/subscriber.create", json={
        "SessionID": user.session, "ListID": list_id, "EmailAddress": "a@example.com", **SUBSCRIBED,
        "CustomFields": {str(field_id): "Ann"}})
    assert response.status_code == 200, response.get_json()
    with engine.uow() as uow:
        assert uow.session.scalar(select(SubscriberFieldValue.value_text)) == "Ann"
    response = client.post("/api/v1/subscriber.create", json={
        "SessionID": user.session, "ListID": list_id, "EmailAddress": "a@example.com", **SUBSCRIBED})
    assert response.status_code == 409 and response.get_json()["Errors"][0]["Code"] == 20


def test_create_unsubscribed_keeps_the_dates_and_triggers_nothing(api, user, engine):
    list_id = make_list(engine, user)
    answer = api("Subscriber.Create", user.session, ListID=list_id, EmailAddress="gone@example.com",
                 Status="Unsubscribed", UnsubscriptionDate="2024-05-06", UnsubscriptionIP="2001:db8::1")
    assert answer["Success"] is True, answer
    row = load(engine, list_id, "gone@example.com")
    assert (row.subscription_status, row.unsubscription_ip) == ("Unsubscribed", "2001:db8::1")
    assert row.unsubscription_date == datetime(2024, 5, 6, tzinfo=timezone.utc)


def test_opt_in_pending_is_mailed_only_when_asked(api, user, engine, clock):
    list_id = make_list(engine, user)
    pending = {"Status": "Opt-In Pending"}
    assert create(api, user, list_id, "quiet@example.com", **pending)["Success"] is True
    assert create(api, user, list_id, "mailed@example.com", SendConfirmationEmail="true", **pending)["Success"]
    assert load(engine, list_id, "quiet@example.com").confirmation_due_at is None
    assert load(engine, list_id, "mailed@example.com").confirmation_due_at == clock.now


def test_autoresponders_and_behaviours_run_only_when_asked(api, user, engine):
    list_id, other = make_list(engine, user, "Shop"), make_list(engine, user, "Also")
    set_list(engine, list_id, opt_in_subscribe_to_list_id=other)
    email_id = make_email(engine, user)
    assert api("AutoResponder.Create", user.session, SubscriberListID=list_id, AutoResponderName="Welcome",
               AutoResponderTriggerType="OnSubscription", EmailID=email_id, TriggerTimeType="Immediately")["Success"]
    create(api, user, list_id, "plain@example.com")
    with engine.uow() as uow:
        assert uow.session.scalar(select(AutoResponderSend)) is None
    create(api, user, list_id, "full@example.com", TriggerAutoResponders="1", ApplyBehaviors="1")
    with engine.uow() as uow:
        sends = uow.session.scalars(select(AutoResponderSend.subscriber_id)).all()
    assert sends == [load(engine, list_id, "full@example.com").id]
    assert load(engine, other, "full@example.com") is not None
    assert load(engine, other, "plain@example.com") is None


def test_duplicates_and_previously_unsubscribed(api, user, engine):
    list_id = make_list(engine, user)
    make_subscriber(engine, list_id, "dup@example.com")
    make_subscriber(engine, list_id, "left@example.com", subscription_status="Unsubscribed")
    before = stored_state(engine)
    assert create(api, user, list_id, "DUP@example.com")["ErrorCode"] == 20
    assert create(api, user, list_id, "left@example.com")["ErrorCode"] == 21
    assert create(api, user, list_id, "left@example.com", UpdateIfDuplicate="true")["ErrorCode"] == 21
    assert create(api, user, list_id, "dup@example.com", UpdateIfUnsubscribed="true")["ErrorCode"] == 20
    assert stored_state(engine) == before
    answer = create(api, user, list_id, "dup@example.com", UpdateIfDuplicate="true", BounceType="Hard")
    assert answer["Success"] is True and load(engine, list_id, "dup@example.com").bounce_type == "Hard"
    assert create(api, user, list_id, "left@example.com", UpdateIfUnsubscribed="true")["Success"] is True
    assert load(engine, list_id, "left@example.com").subscription_status == "Subscribed"
    with engine.uow() as uow:
        assert len(uow.session.scalars(select(Subscriber)).all()) == 2


@pytest.mark.parametrize("params,code", [
    ({"ListID": None}, 1), ({"EmailAddress": None}, 2), ({"EmailAddress": "not-an-address"}, 3),
    ({"ListID": "abc"}, 4), ({"BounceType": "Bouncy"}, 5), ({"Status": "Maybe"}, 6), ({"Status": "Opt-Out Pending"}, 6),
    ({"SubscriptionDate": "01/02/2025"}, 7), ({"SubscriptionDate": "0001-01-01"}, 7), ({"SubscriptionDate": None}, 8), ({"SubscriptionIP": None}, 9),
    ({"SubscriptionIP": "999.1.1.1"}, 10),
    ({"Status": "Unsubscribed", "UnsubscriptionIP": "10.0.0.1"}, 11),
    ({"Status": "Unsubscribed", "UnsubscriptionDate": "2025-01-01"}, 12),
    ({"Status": "Unsubscribed", "UnsubscriptionDate": "yesterday", "UnsubscriptionIP": "10.0.0.1"}, 13),
    ({"Status": "Unsubscribed", "UnsubscriptionDate": "2025-01-01", "UnsubscriptionIP": "nowhere"}, 14),
    ({"OptInDate": "2025-13-40"}, 16), ({"CustomFields": "[1, 2]"}, 17), ({"CustomFields": '{"abc": "x"}'}, 17),
    ({"EmailAddress": "a..b@example.com"}, 19), ({"OptInConfirmationEmailID": "x"}, 24),
])
def test_invalid_parameters_change_nothing(api, user, engine, params, code):
    list_id = make_list(engine, user)
    full = {"ListID": list_id, "EmailAddress": "new@example.com", **SUBSCRIBED, **params}
    before = stored_state(engine)
    answer = api("Subscriber.Create", user.session, **{k: v for k, v in full.items() if v is not None})
    assert answer["Success"] is False and answer["ErrorCode"] == code, answer
    assert answer["Errors"][0]["Code"] == code
    assert stored_state(engine) == before


def test_a_custom_field_of_another_list_is_17(api, user, engine):
    list_id, elsewhere = make_list(engine, user), make_list(engine, user, "Elsewhere")
    foreign = make_custom_field(engine, user, elsewhere, "Elsewhere only")
    before = stored_state(engine)
    assert create(api, user, list_id, CustomFields=f'{{"{foreign}": "x"}}')["ErrorCode"] == 17
    assert stored_state(engine) == before


def test_list_limit_owner_and_email_checks(api, user, other_user, engine):
    list_id = make_list(engine, user)
    theirs = make_list(engine, other_user)
    their_email = make_email(engine, other_user)
    make_subscriber(engine, list_id, "one@example.com")
    before = stored_state(engine)
    assert create(api, user, theirs)["ErrorCode"] == 23
    assert create(api, user, list_id, OptInConfirmationEmailID=their_email)["ErrorCode"] == 25
    with engine.uow() as uow:
        uow.session.get(User, user.id).group.limit_subscribers = 1
        uow.commit()
    before = stored_state(engine)
    assert create(api, user, list_id)["ErrorCode"] == 18
    assert stored_state(engine) == before


def test_custom_field_rules(api, user, engine):
    list_id = make_list(engine, user)
    required = make_custom_field(engine, user, list_id, "Required", is_required=True)
    unique = make_custom_field(engine, user, list_id, "Code", is_unique=True)
    numeric = make_custom_field(engine, user, list_id, "Age", validation_method="Numbers")
    make_subscriber(engine, list_id, "old@example.com", {unique: "A1"})
    before = stored_state(engine)
    assert create(api, user, list_id, EnforceRequiredFields="true")["ErrorCode"] == 26
    assert create(api, user, list_id, CustomFields=f'{{"{required}": "x", "{unique}": "A1"}}')["ErrorCode"] == 27
    assert create(api, user, list_id, CustomFields=f'{{"{required}": "x", "{numeric}": "old"}}')["ErrorCode"] == 28
    assert stored_state(engine) == before
    # Without EnforceRequiredFields an omitted required field is accepted, as the page says.
    assert create(api, user, list_id)["Success"] is True


def test_create_needs_the_subscribers_import_permission_and_credentials(api, engine):
    reader = make_reader(engine, api)
    list_id = make_list(engine, reader)
    before = stored_state(engine)
    assert create(api, reader, list_id)["ErrorCode"] == 99999
    assert api("Subscriber.Create", "stale", ListID=list_id, EmailAddress="a@example.com", **SUBSCRIBED)["ErrorCode"] == 99998
    assert stored_state(engine) == before


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, commands.COMMANDS, NEVER_EMITTED)
