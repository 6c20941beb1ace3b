"""The /api/v1 journey paths: the same commands as /api.php, JSON bodies, the Errors envelope and HTTP
statuses (422 invalid, 404 not found, 409 conflict, 401 credentials)."""
from __future__ import annotations

from protocol.registry import COMMANDS
from protocol.v1 import ROUTES
from tests.helpers import stored_state


def test_every_route_names_a_registered_command():
    assert all(route.command.lower() in COMMANDS for route in ROUTES)


def v1(client, method, path, body=None, headers=None, query=None):
    response = client.open(f"/api/v1/{path}", method=method, json=body, headers=headers or {}, query_string=query)
    assert response.mimetype == "application/json"
    return response.status_code, response.get_json()


def test_create_get_update_enable_through_v1(client, user, engine, list_id):
    status, body = v1(client, "POST", "journey", {"Command": "journey.create", "SessionID": user.session,
                                                  "Name": "Welcome Series", "Trigger": "ListSubscription",
                                                  "Trigger_ListID": list_id, "Notes": "Onboarding"})
    assert status == 200 and body["Journey"]["Trigger"] == "ListSubscription"
    journey_id = body["JourneyID"]
    status, body = v1(client, "GET", "journey", {"SessionID": user.session, "JourneyID": journey_id})
    assert status == 200 and body["JourneyName"] == "Welcome Series"
    status, body = v1(client, "PATCH", "journey", {"SessionID": user.session, "JourneyID": journey_id, "Name": "V2"})
    assert status == 200 and body["Journey"]["JourneyName"] == "V2"
    assert v1(client, "GET", "journey.enable", {"SessionID": user.session, "JourneyID": journey_id})[0] == 200
    before = stored_state(engine)
    status, body = v1(client, "GET", "journey.enable", {"SessionID": user.session, "JourneyID": journey_id})
    assert status == 409 and body["Errors"] == [{"Code": 4, "Message": "Journey is already enabled"}]
    status, body = v1(client, "GET", "journey", {"SessionID": user.session, "JourneyID": 9999})
    assert status == 404 and body["Errors"][0]["Code"] == 3
    status, body = v1(client, "GET", "journeys", {"SessionID": user.session, "StatsStartDate": "2026-02-31",
                                                  "StatsEndDate": "2026-1-5"})
    assert status == 422 and [e["Code"] for e in body["Errors"]] == [4, 5]
    assert stored_state(engine) == before


def test_api_key_header_credentials_and_unknown_paths(client, user, engine):
    from tests.builders import user_actor

    with engine.uow() as uow:
        key, _row = uow.auth.create_api_key(user_actor(user), note="v1")
        uow.commit()
    status, body = v1(client, "GET", "journeys", {}, headers={"APIKey": key})
    assert status == 200 and body["Journeys"] == []
    status, body = v1(client, "GET", "journeys", {})
    assert status == 401 and body["ErrorCode"] == 99998 and body["Errors"][0]["Code"] == 99998
    status, body = v1(client, "GET", "journey.nope", {"SessionID": user.session})
    assert status == 404 and body["ErrorCode"] == 100003
    status, body = v1(client, "DELETE", "journey", {"SessionID": user.session})
    assert status == 404


def test_subscriber_journey_trigger_through_v1(client, user, engine, list_id):
    from tests.builders import make_subscriber

    sid = make_subscriber(engine, list_id, "a@example.com")
    journey_id = v1(client, "POST", "journey", {"SessionID": user.session, "Name": "J"})[1]["JourneyID"]
    status, body = v1(client, "POST", "subscriber.journey.trigger", {"SessionID": user.session, "JourneyID": [journey_id],
                                                                     "ListID": list_id, "SubscriberID": sid})
    assert status == 404 and body["SkippedJourneys"] == [{"JourneyID": journey_id, "Reason": "Journey is disabled"}]
    status, body = v1(client, "POST", "subscriber.journey.trigger", {
        "SessionID": user.session, "JourneyID": journey_id, "ListID": list_id, "SubscriberID": sid,
        "BypassJourneyStatusCheck": True})
    assert status == 200 and body["JourneyIDs"] == [journey_id]
