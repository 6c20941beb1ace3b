"""Suppression lists through HTTP: Suppression.Import / Browse / Delete — every code, stored state,
and what a suppressed address means for subscriptions and audiences."""
from __future__ import annotations

import json

import pytest

from engine.models import Suppression
from protocol.commands import suppression as commands
from tests.builders import CodeRecorder, assert_codes_reached
from tests.helpers import stored_state

SEEN: dict = {}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


def stored(engine):
    with engine.uow() as uow:
        return sorted((s.owner_user_id, s.list_id, s.email_normalized, s.source, s.reason)
                      for s in uow.session.query(Suppression))


# --- Suppression.Import --------------------------------------------------------------------------
def test_import_counts_new_rows_and_reports_malformed_addresses(api, engine, user):
    answer = api("Suppression.Import", user.session,
                 EmailAddresses=json.dumps(["One@Example.com", "not-an-address", "two@example.com"]),
                 EmailAddressesBulk="one@example.COM\n\nthree@example.com\n")
    assert answer == {"Success": True, "ErrorCode": 0, "TotalImported": 3, "TotalFailed": 1,
                      "FailedEmailAddresses": ["not-an-address"]}
    assert stored(engine) == [(user.id, None, e, "User", "Suppression List Import")
                              for e in ("one@example.com", "three@example.com", "two@example.com")]
    again = api("Suppression.Import", user.session, EmailAddressesBulk="two@example.com")
    assert (again["TotalImported"], again["TotalFailed"]) == (0, 0)  # already suppressed: neither


def test_import_into_a_list_scope_with_source_and_reason(api, engine, user, list_id):
    answer = api("Suppression.Import", user.session, EmailAddressesBulk="a@example.com", ListID=list_id,
                 SuppressionSource="Hard Bounced", Reason="550 " + "x" * 400)
    assert answer["TotalImported"] == 1
    (row,) = stored(engine)
    assert row[:4] == (user.id, list_id, "a@example.com", "Hard Bounced") and len(row[4]) == 250


@pytest.mark.parametrize("params, code", [
    ({}, 1), ({"EmailAddresses": "[not json"}, 2), ({"EmailAddresses": '{"a": [1]}'}, 2),
    ({"EmailAddressesBulk": "a@example.com", "SuppressionSource": "Whim"}, 3),
    ({"EmailAddressesBulk": "a@example.com", "ListID": "999999"}, 4),
])
def test_import_errors(api, engine, user, params, code):
    answer = api("Suppression.Import", user.session, **params)
    assert answer["Success"] is False and answer["ErrorCode"] == [code]
    assert stored(engine) == []


def test_import_into_another_account_s_list_is_4(api, engine, other_user, list_id):
    answer = api("Suppression.Import", other_user.session, EmailAddressesBulk="a@example.com", ListID=list_id)
    assert answer["ErrorCode"] == [4]
    assert stored(engine) == []


# --- Suppression.Browse --------------------------------------------------------------------------
def test_browse_is_a_map_keyed_by_address_filtered_and_paged(api, user, other_user, list_id):
    api("Suppression.Import", user.session, EmailAddressesBulk="b@example.com\na@example.com\nc@other.example")
    api("Suppression.Import", user.session, EmailAddressesBulk="x@example.com", SuppressionSource="SPAM complaint")
    api("Suppression.Import", user.session, EmailAddressesBulk="listed@example.com", ListID=list_id)
    api("Suppression.Import", other_user.session, EmailAddressesBulk="theirs@example.com")
    answer = api("Suppression.Browse", user.session, SearchPattern="*@EXAMPLE.com", StartFrom=1, RetrieveCount=2)
    assert answer["Success"] is True and answer["TotalRecords"] == 3
    assert list(answer["SuppressedEmails"]) == ["b@example.com", "x@example.com"]
    row = answer["SuppressedEmails"]["b@example.com"]
    assert row["RelListID"] == "0" and row["RelOwnerUserID"] == str(user.id) and row["SuppressionSource"] == "User"
    spam = api("Suppression.Browse", user.session, SuppressionSource="SPAM complaint,Hard Bounced")
    assert list(spam["SuppressedEmails"]) == ["x@example.com"]
    scoped = api("Suppression.Browse", user.session, ListID=list_id)
    assert list(scoped["SuppressedEmails"]) == ["listed@example.com"]


def test_browse_treats_like_wildcards_literally(api, user):
    api("Suppression.Import", user.session, EmailAddressesBulk="a_b@example.com\naxb@example.com")
    answer = api("Suppression.Browse", user.session, SearchPattern="a_b@*")
    assert list(answer["SuppressedEmails"]) == ["a_b@example.com"]


def test_browse_of_nothing_is_an_empty_array(api, user):
    assert api("Suppression.Browse", user.session) == {"Success": True, "ErrorCode": 0, "TotalRecords": 0,
                                                       "SuppressedEmails": []}


@pytest.mark.parametrize("params, code", [({"SuppressionSource": "Bored"}, 1), ({"ListID": "999999"}, 4)])
def test_browse_errors(api, user, params, code):
    assert api("Suppression.Browse", user.session, **params)["ErrorCode"] == [code]


# --- Suppression.Delete --------------------------------------------------------------------------
def test_delete_one_address_from_the_account_scope_only(api, engine, user, list_id):
    api("Suppression.Import", user.session, EmailAddressesBulk="a@example.com")
    api("Suppression.Import", user.session, EmailAddressesBulk="a@example.com", ListID=list_id)
    assert api("Suppression.Delete", user.session, EmailAddress="A@example.com") == {"Success": True, "ErrorCode": 0}
    assert [(r[1], r[2]) for r in stored(engine)] == [(list_id, "a@example.com")]


def test_delete_in_bulk_reports_counts(api, engine, user):
    api("Suppression.Import", user.session, EmailAddressesBulk="a@example.com\nb@example.com\nc@example.com")
    answer = api("Suppression.Delete", user.session, EmailAddresses='["a@example.com", "bad"]',
                 EmailAddressesBulk="b@example.com\nnobody@example.com")
    assert answer == {"Success": True, "ErrorCode": 0, "TotalDeleted": 2, "TotalFailed": 1,
                      "FailedEmailAddresses": ["bad"]}
    assert [r[2] for r in stored(engine)] == ["c@example.com"]


@pytest.mark.parametrize("params, code", [
    ({}, 1), ({"EmailAddress": "broken"}, 2), ({"EmailAddress": "missing@example.com"}, 2),
    ({"EmailAddresses": "[oops"}, 2), ({"EmailAddress": "a@example.com", "ListID": "999999"}, 4),
])
def test_delete_errors(api, engine, user, params, code):
    api("Suppression.Import", user.session, EmailAddressesBulk="a@example.com")
    before = stored_state(engine)
    assert api("Suppression.Delete", user.session, **params)["ErrorCode"] == [code]
    assert len(stored(engine)) == 1 and stored_state(engine) == before


def test_another_account_cannot_delete_my_suppressions(api, engine, user, other_user):
    api("Suppression.Import", user.session, EmailAddressesBulk="a@example.com")
    before = stored_state(engine)
    assert api("Suppression.Delete", other_user.session, EmailAddress="a@example.com")["ErrorCode"] == [2]
    assert len(stored(engine)) == 1 and stored_state(engine) == before


# --- what suppression does -----------------------------------------------------------------------
def test_a_suppressed_address_can_subscribe_but_is_never_in_the_audience(api, engine, user, list_id):
    api("Suppression.Import", user.session, EmailAddressesBulk="blocked@example.com")
    for email in ("blocked@example.com", "fine@example.com"):
        answer = api("Subscriber.Subscribe", None, ListID=list_id, EmailAddress=email, IPAddress="1.2.3.4")
        assert answer["Success"] is True
    got = api("Subscriber.Get", user.session, ListID=list_id, EmailAddress="BLOCKED@example.com")
    assert got["Suppressed"] is True and got["SubscriberInformation"]["SubscriptionStatus"] == "Subscribed"
    segment = api("Subscribers.Get", user.session, SubscriberListID=list_id, SubscriberSegment="Suppressed")
    assert [s["EmailAddress"] for s in segment["Subscribers"]] == ["blocked@example.com"]
    campaign_id = api("Campaign.Create", user.session, CampaignName="News")["CampaignID"]
    api("Campaign.Update", user.session, CampaignID=campaign_id, RecipientListsAndSegments=f"{list_id}:0")
    preview = api("Campaign.Recipients.Get", user.session, CampaignID=campaign_id)
    assert preview["TotalRecipients"] == 1
    assert [r["EmailAddress"] for r in preview["Recipients"]] == ["fine@example.com"]


def test_suppression_commands_require_credentials(api, engine, user):
    api("Suppression.Import", user.session, EmailAddressesBulk="a@example.com")
    before = stored_state(engine)
    for command in ("Suppression.Import", "Suppression.Browse", "Suppression.Delete"):
        assert api(command, "stale", EmailAddress="a@example.com", EmailAddressesBulk="b@example.com")[
            "ErrorCode"] == 99998
    assert stored_state(engine) == before


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, commands.COMMANDS, {})
