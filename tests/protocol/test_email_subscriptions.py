"""Email subscriptions through HTTP: the REST endpoints and the /api.php commands — shapes, every error,
owner isolation, the changed events, and the unsubscribe link page."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.models import EmailSubscription, OutboxEvent, Suppression
from protocol.commands import email_subscriptions as commands
from tests.builders import CodeRecorder, assert_codes_reached, make_list, make_subscriber
from tests.helpers import stored_state

BASE = "/email-marketing/v1/email-subscriptions"
SEEN: dict = {}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


def upsert(rest, who, email, **statuses):
    return rest.post(BASE, who.session, json={"subscription": {"email": email, **statuses}})


def events(engine) -> list[dict]:
    with engine.uow() as uow:
        return [{"owner": e.owner_user_id, "fqdn": e.entity_fqdn, "slug": e.slug, "entity": e.entity_id,
                 **json.loads(e.payload)["subscription"]}
                for e in uow.session.scalars(select(OutboxEvent).where(
                    OutboxEvent.slug == "email_subscription_changed").order_by(OutboxEvent.id))]


def records(engine) -> list[tuple]:
    with engine.uow() as uow:
        return sorted((r.owner_user_id, r.email_normalized, r.subscription_status, r.deliverability_status)
                      for r in uow.session.scalars(select(EmailSubscription)))


def account_suppressions(engine) -> list[tuple]:
    with engine.uow() as uow:
        return sorted((s.owner_user_id, s.email_normalized, s.source) for s in uow.session.scalars(
            select(Suppression).where(Suppression.list_id.is_(None))))


# --- upsert ------------------------------------------------------------------------------------------
def test_upsert_creates_then_updates_and_records_one_event_per_change(rest, engine, user, clock):
    created = upsert(rest, user, "Ann@Example.com", subscriptionStatus="SUBSCRIBED")
    assert created.status == 200
    sub = created.body["subscription"]
    assert sub == {"id": sub["id"], "email": "Ann@Example.com", "subscriptionStatus": "SUBSCRIBED",
                   "deliverabilityStatus": "NOT_SET", "createdDate": clock.now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                   "updatedDate": clock.now.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    clock.advance(minutes=5)
    same = upsert(rest, user, "ann@example.com", subscriptionStatus="SUBSCRIBED").body["subscription"]
    assert same["id"] == sub["id"] and same["updatedDate"] == sub["updatedDate"]   # nothing changed
    changed = upsert(rest, user, "ANN@example.com", deliverabilityStatus="INACTIVE").body["subscription"]
    assert (changed["subscriptionStatus"], changed["deliverabilityStatus"]) == ("SUBSCRIBED", "INACTIVE")
    assert changed["updatedDate"] == clock.now.strftime("%Y-%m-%dT%H:%M:%S.000Z") != changed["createdDate"]
    assert records(engine) == [(user.id, "ann@example.com", "SUBSCRIBED", "INACTIVE")]
    got = events(engine)
    assert [(e["slug"], e["fqdn"], e["owner"], e["entity"], e["subscriptionStatus"], e["deliverabilityStatus"])
            for e in got] == [
        ("email_subscription_changed", "wix.email_marketing.v1.email_subscription", user.id, sub["id"],
         "SUBSCRIBED", "NOT_SET"),
        ("email_subscription_changed", "wix.email_marketing.v1.email_subscription", user.id, sub["id"],
         "SUBSCRIBED", "INACTIVE")]
    assert set(got[1]) >= {"id", "email", "createdDate", "updatedDate"}


@pytest.mark.parametrize("body, field", [
    ({}, "subscription"),
    ({"subscription": {}}, "subscription.email"),
    ({"subscription": {"email": "a@example.com", "subscriptionStatus": "MAYBE"}}, "subscription.subscriptionStatus"),
    ({"subscription": {"email": "a@example.com", "subscriptionStatus": "UNKNOWN"}}, "subscription.subscriptionStatus"),
    ({"subscription": {"email": "a@example.com", "deliverabilityStatus": "valid?"}},
     "subscription.deliverabilityStatus"),
    ({"subscription": "a@example.com"}, "subscription"),
])
def test_upsert_refuses_malformed_bodies(rest, engine, user, body, field):
    answer = rest.post(BASE, user.session, json=body)
    assert answer.status == 400 and answer.code == "INVALID_ARGUMENT"
    violations = answer.body["details"]["validationError"]["fieldViolations"]
    assert any(v["field"].startswith(field) for v in violations), violations
    assert records(engine) == [] and events(engine) == []


def test_upsert_refuses_an_invalid_address(rest, engine, user):
    answer = upsert(rest, user, "not-an-address", subscriptionStatus="SUBSCRIBED")
    assert answer.status == 400 and answer.code == "INVALID_ARGUMENT" and "not-an-address" in answer.body["message"]
    assert records(engine) == []


def test_endpoints_need_credentials(rest, engine, user):
    before = stored_state(engine)
    for path, body in ((f"{BASE}/query", {}), (BASE, {"subscription": {"email": "a@example.com"}}),
                       (f"{BASE}/bulk", {"subscriptions": [{"email": "a@example.com"}]}),
                       (f"{BASE}/unsubscribe-link", {"emailAddress": "a@example.com"})):
        assert rest.post(path, None, json=body).status == 401
        assert rest.post(path, "stale-key", json=body).status == 401
    assert stored_state(engine) == before


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for path in (BASE, f"{BASE}/query", f"{BASE}/bulk", f"{BASE}/unsubscribe-link"):
        assert "post" in paths[path], path


# --- query -------------------------------------------------------------------------------------------
def test_query_by_in_eq_and_bare_value_with_paging(rest, engine, user):
    for n in range(5):
        upsert(rest, user, f"p{n}@example.com", subscriptionStatus="SUBSCRIBED")
    wanted = ["P3@example.com", "p1@example.com", "p4@example.com", "nobody@example.com"]
    page = rest.post(f"{BASE}/query", user.session,
                     json={"filter": {"email": {"$in": wanted}}, "paging": {"limit": 2, "offset": 1}})
    assert page.status == 200
    assert [s["email"] for s in page.body["subscriptions"]] == ["p3@example.com", "p4@example.com"]
    assert page.body["metadata"] == {"count": 2, "offset": 1, "total": 3, "tooManyToCount": False}
    eq = rest.post(f"{BASE}/query", user.session, json={"filter": {"email": {"$eq": "P0@EXAMPLE.com"}}})
    assert [s["email"] for s in eq.body["subscriptions"]] == ["p0@example.com"]
    bare = rest.post(f"{BASE}/query", user.session, json={"filter": {"email": "p2@example.com"}})
    assert [s["subscriptionStatus"] for s in bare.body["subscriptions"]] == ["SUBSCRIBED"]
    everything = rest.post(f"{BASE}/query", user.session, json={})
    assert everything.body["metadata"]["total"] == 5 and len(everything.body["subscriptions"]) == 5


@pytest.mark.parametrize("body", [
    {"filter": "ann@example.com"},
    {"filter": {"contactId": {"$in": ["1"]}}},
    {"filter": {"email": {"$in": "ann@example.com"}}},
    {"filter": {"email": {"$in": [1, 2]}}},
    {"filter": {"email": {"$hasSome": ["a@example.com"]}}},
    {"filter": {"email": {"$in": [f"a{n}@example.com" for n in range(1001)]}}},
    {"paging": {"limit": 1001}},
    {"paging": {"offset": -1}},
    {"paging": {"limit": "ten"}},
])
def test_query_refuses_unsupported_filters_and_paging(rest, user, body):
    answer = rest.post(f"{BASE}/query", user.session, json=body)
    assert answer.status == 400 and answer.code == "INVALID_ARGUMENT"


def test_query_refuses_a_malformed_address(rest, user):
    answer = rest.post(f"{BASE}/query", user.session, json={"filter": {"email": {"$in": ["ok@example.com", "x@"]}}})
    assert answer.status == 400 and answer.code == "INVALID_ARGUMENT"


def test_query_reads_the_legacy_state_of_addresses_without_a_record(rest, engine, user):
    list_id = make_list(engine, user)
    make_subscriber(engine, list_id, "old@example.com")
    make_subscriber(engine, list_id, "gone@example.com", subscription_status="Unsubscribed", bounce_type="Hard")
    answer = rest.post(f"{BASE}/query", user.session,
                       json={"filter": {"email": {"$in": ["old@example.com", "gone@example.com", "new@example.com"]}}})
    assert [(s["email"], s["subscriptionStatus"], s["deliverabilityStatus"]) for s in answer.body["subscriptions"]] \
        == [("gone@example.com", "UNSUBSCRIBED", "BOUNCED"), ("old@example.com", "SUBSCRIBED", "NOT_SET")]
    assert events(engine) == []   # reading is not a change


def test_owners_never_see_or_change_each_other(rest, engine, user, other_user):
    upsert(rest, user, "shared@example.com", subscriptionStatus="UNSUBSCRIBED")
    theirs = rest.post(f"{BASE}/query", other_user.session, json={"filter": {"email": {"$in": ["shared@example.com"]}}})
    assert theirs.body["subscriptions"] == [] and theirs.body["metadata"]["total"] == 0
    upsert(rest, other_user, "shared@example.com", subscriptionStatus="SUBSCRIBED")
    assert records(engine) == sorted([(user.id, "shared@example.com", "UNSUBSCRIBED", "NOT_SET"),
                                      (other_user.id, "shared@example.com", "SUBSCRIBED", "NOT_SET")])
    assert account_suppressions(engine) == [(user.id, "shared@example.com", "Unsubscribe")]
    mine = rest.post(f"{BASE}/query", user.session, json={})
    assert [s["subscriptionStatus"] for s in mine.body["subscriptions"]] == ["UNSUBSCRIBED"]


# --- bulk --------------------------------------------------------------------------------------------
def test_bulk_reports_each_item(rest, engine, user):
    answer = rest.post(f"{BASE}/bulk", user.session, json={"subscriptions": [
        {"email": "one@example.com", "subscriptionStatus": "SUBSCRIBED"},
        {"email": "broken", "subscriptionStatus": "SUBSCRIBED"},
        {"email": "two@example.com", "subscriptionStatus": "UNKNOWN"},
        "three@example.com",
        {"email": "two@example.com", "subscriptionStatus": "PENDING", "deliverabilityStatus": "VALID"},
    ]})
    assert answer.status == 200
    results = answer.body["results"]
    assert [(r["itemMetadata"]["originalIndex"], r["itemMetadata"]["success"]) for r in results] == [
        (0, True), (1, False), (2, False), (3, False), (4, True)]
    assert results[0]["item"]["email"] == "one@example.com" and results[0]["itemMetadata"]["id"] == \
        results[0]["item"]["id"]
    assert results[1]["itemMetadata"]["error"]["code"] == "INVALID_ARGUMENT" and "item" not in results[1]
    assert "subscriptionStatus" in results[2]["itemMetadata"]["error"]["description"]
    assert results[4]["item"]["subscriptionStatus"] == "PENDING"
    assert answer.body["bulkActionMetadata"] == {"totalSuccesses": 2, "totalFailures": 3, "undetailedFailures": 0}
    assert records(engine) == [(user.id, "one@example.com", "SUBSCRIBED", "NOT_SET"),
                               (user.id, "two@example.com", "PENDING", "VALID")]


@pytest.mark.parametrize("body", [{}, {"subscriptions": []}, {"subscriptions": "a@example.com"},
                                  {"subscriptions": [{"email": f"a{n}@example.com"} for n in range(101)]}])
def test_bulk_refuses_a_missing_empty_or_oversized_list(rest, engine, user, body):
    answer = rest.post(f"{BASE}/bulk", user.session, json=body)
    assert answer.status == 400 and answer.code == "INVALID_ARGUMENT"
    assert records(engine) == []


# --- the unsubscribe link ----------------------------------------------------------------------------
def test_unsubscribe_link_page_asks_then_unsubscribes_on_post(rest, client, engine, user):
    upsert(rest, user, "ann@example.com", subscriptionStatus="SUBSCRIBED")
    answer = rest.post(f"{BASE}/unsubscribe-link", user.session,
                       json={"emailAddress": "Ann@example.com", "language": "en", "metadata": {"a": "b"}})
    assert answer.status == 200
    link = answer.body["link"]
    assert link.startswith("http://sendmill.test/t/u/")
    path = link.removeprefix("http://sendmill.test")
    page = client.get(path)
    assert page.status_code == 200 and b"<form method=\"post\"" in page.data and b"ann@example.com" in page.data
    assert records(engine) == [(user.id, "ann@example.com", "SUBSCRIBED", "NOT_SET")]   # a GET changes nothing
    done = client.post(path, data={"confirm": "1"})
    assert done.status_code == 200 and b"You are unsubscribed" in done.data
    assert records(engine) == [(user.id, "ann@example.com", "UNSUBSCRIBED", "NOT_SET")]
    assert account_suppressions(engine) == [(user.id, "ann@example.com", "Unsubscribe")]
    assert events(engine)[-1]["subscriptionStatus"] == "UNSUBSCRIBED"
    assert b"You are unsubscribed" in client.get(path).data


def test_unsubscribe_link_for_a_new_address_and_one_click(rest, client, engine, user):
    link = rest.post(f"{BASE}/unsubscribe-link", user.session, json={"emailAddress": "new@example.com"}).body["link"]
    assert records(engine) == [(user.id, "new@example.com", "NOT_SET", "NOT_SET")] and events(engine) == []
    path = link.removeprefix("http://sendmill.test")
    one_click = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and one_click.data == b"Unsubscribed\n"
    assert records(engine) == [(user.id, "new@example.com", "UNSUBSCRIBED", "NOT_SET")]
    tampered = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    before = stored_state(engine)
    assert client.post(tampered).status_code == 404
    assert client.get(tampered).status_code == 404
    assert stored_state(engine) == before


@pytest.mark.parametrize("body, status", [({}, 400), ({"emailAddress": "nope"}, 400),
                                          ({"emailAddress": "a@example.com", "language": "english"}, 400)])
def test_unsubscribe_link_errors(rest, engine, user, body, status):
    answer = rest.post(f"{BASE}/unsubscribe-link", user.session, json=body)
    assert answer.status == status and answer.code == "INVALID_ARGUMENT"
    assert records(engine) == []


# --- /api.php ----------------------------------------------------------------------------------------
def test_api_upsert_query_bulk_and_link(api, engine, user):
    answer = api("EmailSubscription.Upsert", user.session, EmailAddress="Ann@Example.com",
                 SubscriptionStatus="subscribed", DeliverabilityStatus="Valid")
    assert answer["Success"] is True and answer["ErrorCode"] == 0
    sub = answer["Subscription"]
    assert (sub["EmailAddress"], sub["SubscriptionStatus"], sub["DeliverabilityStatus"]) == \
        ("Ann@Example.com", "SUBSCRIBED", "VALID")
    bulk = api("EmailSubscriptions.BulkUpsert", user.session, Subscriptions=json.dumps([
        {"EmailAddress": "bob@example.com", "SubscriptionStatus": "UNSUBSCRIBED"}, {"EmailAddress": "x"}]))
    assert (bulk["TotalSucceeded"], bulk["TotalFailed"]) == (1, 1)
    assert [r["Success"] for r in bulk["Results"]] == [True, False] and bulk["Results"][1]["ErrorText"]
    found = api("EmailSubscriptions.Query", user.session, EmailAddresses="ann@example.com, BOB@example.com")
    assert found["TotalRecords"] == 2
    assert [(s["EmailAddress"], s["SubscriptionStatus"]) for s in found["Subscriptions"]] == [
        ("Ann@Example.com", "SUBSCRIBED"), ("bob@example.com", "UNSUBSCRIBED")]
    paged = api("EmailSubscriptions.Query", user.session, EmailAddresses='["ann@example.com", "bob@example.com"]',
                Offset=1, Limit=1)
    assert [s["EmailAddress"] for s in paged["Subscriptions"]] == ["bob@example.com"]
    link = api("EmailSubscription.UnsubscribeLink", user.session, EmailAddress="ann@example.com", Language="EN")
    assert link["UnsubscribeLink"].startswith("http://sendmill.test/t/u/")
    assert account_suppressions(engine) == [(user.id, "bob@example.com", "Unsubscribe")]


def test_api_query_refuses_a_bracket_map_whose_index_is_not_a_number(api, user):
    # "²" passes str.isdigit() but int() refuses it: a validation error, not an internal one
    answer = api("EmailSubscriptions.Query", user.session, **{"EmailAddresses[²]": "ann@example.com"})
    assert answer["Success"] is False and answer["ErrorCode"] != 100005
    assert "array" in json.dumps(answer)


def test_api_bulk_accepts_bracket_maps(api, engine, user):
    answer = api("EmailSubscriptions.BulkUpsert", user.session, **{
        "Subscriptions[0][EmailAddress]": "a@example.com", "Subscriptions[0][SubscriptionStatus]": "PENDING",
        "Subscriptions[1][EmailAddress]": "b@example.com"})
    assert answer["TotalSucceeded"] == 2
    assert records(engine) == [(user.id, "a@example.com", "PENDING", "NOT_SET"),
                               (user.id, "b@example.com", "NOT_SET", "NOT_SET")]


@pytest.mark.parametrize("command, params, code", [
    ("EmailSubscriptions.Query", {"EmailAddresses": "[broken"}, 1),
    ("EmailSubscriptions.Query", {"EmailAddresses": "a@example.com, nope"}, 1),
    ("EmailSubscriptions.Query", {"EmailAddresses": json.dumps([f"a{n}@x.com" for n in range(1001)])}, 1),
    ("EmailSubscriptions.Query", {"Limit": "1001"}, 2),
    ("EmailSubscriptions.Query", {"Offset": "-1"}, 2),
    ("EmailSubscription.Upsert", {}, 1),
    ("EmailSubscription.Upsert", {"EmailAddress": "nope"}, 2),
    ("EmailSubscription.Upsert", {"EmailAddress": "a@example.com", "SubscriptionStatus": "UNKNOWN"}, 3),
    ("EmailSubscription.Upsert", {"EmailAddress": "a@example.com", "DeliverabilityStatus": "Fine"}, 4),
    ("EmailSubscriptions.BulkUpsert", {}, 1),
    ("EmailSubscriptions.BulkUpsert", {"Subscriptions": "not json"}, 2),
    ("EmailSubscriptions.BulkUpsert", {"Subscriptions": "[]"}, 2),
    ("EmailSubscriptions.BulkUpsert", {"Subscriptions": json.dumps([{}] * 101)}, 2),
    ("EmailSubscription.UnsubscribeLink", {}, 1),
    ("EmailSubscription.UnsubscribeLink", {"EmailAddress": "nope"}, 2),
    ("EmailSubscription.UnsubscribeLink", {"EmailAddress": "a@example.com", "Language": "eng"}, 3),
])
def test_api_errors(api, engine, user, command, params, code):
    before = stored_state(engine)
    answer = api(command, user.session, **params)
    assert answer["Success"] is False and answer["ErrorCode"] == code
    assert records(engine) == [] and account_suppressions(engine) == []
    assert stored_state(engine) == before  # no changed event either


def test_api_owner_isolation_and_credentials(api, engine, user, other_user):
    api("EmailSubscription.Upsert", user.session, EmailAddress="a@example.com", SubscriptionStatus="SUBSCRIBED")
    assert records(engine) == [(user.id, "a@example.com", "SUBSCRIBED", "NOT_SET")]
    theirs = api("EmailSubscriptions.Query", other_user.session, EmailAddresses="a@example.com")
    assert theirs["TotalRecords"] == 0 and theirs["Subscriptions"] == []
    before = stored_state(engine)
    for command in (c.name for c in commands.COMMANDS):
        assert api(command, "stale", EmailAddress="a@example.com", SubscriptionStatus="UNSUBSCRIBED",
                   Subscriptions=json.dumps([{"EmailAddress": "b@example.com"}]))["ErrorCode"] == 99998
    assert stored_state(engine) == before


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, commands.COMMANDS, {})
